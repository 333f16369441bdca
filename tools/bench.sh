#!/bin/bash
# rext4's benchmarks (`make bench`): ratios against the in-kernel ext4 on
# the same image in the same VM, on the non-debug bench kernel, never
# absolute numbers in tests.
#
# read: sequential read of a 256 MiB file with a cold page cache
#       (BENCH_RUNS alternating runs per filesystem, default 7; medians,
#       so one run disturbed by the host does not move the ratio).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/env.sh
out=${REXT4_OUT:-/tmp/rext4-bench}
mkdir -p "$out"
# The bench kernel: same source, no KASAN/lockdep/debug options (built on
# demand, cached like the test kernel), and the modules built for it in a
# copy of the sources, so the test kernel's modules in the tree stay as they
# are.
make -s deps initramfs
qemu/kernel.sh build bench
bkdir=$(qemu/kernel.sh path bench)
moddir=$REXT4_CACHE/modbuild-$(basename "$bkdir")
mkdir -p "$moddir"
tar -C "$top" --exclude=.git --exclude='*.o' --exclude='*.ko' -cf - . | tar -C "$moddir" -xf -
make -s -C "$moddir" module KDIR="$bkdir"
export REXT4_KERNEL=bench REXT4_MODDIR=$moddir
img=$out/bench.img
if [ ! -f "$img" ]; then
    tree=$(mktemp -d)
    head -c $((256 << 20)) /dev/urandom > "$tree/big"
    truncate -s 400M "$img"
    mke2fs -q -F -t ext4 -b 4096 -d "$tree" "$img"
    rm -rf "$tree"
fi
REXT4_VM_APPEND="rext4.bench_runs=${BENCH_RUNS:-7} ${REXT4_VM_APPEND:-}" qemu/vm.sh bench-read "$out/bench-read" "$img" || {
    cat "$out/bench-read"; exit 1; }
tr -d '\r' < "$out/bench-read.log" | awk '
    /^BENCH / { r = $4 / 1048576 / ($5 / 100); rate[$2, ++n[$2]] = r
                printf "  %-6s run %d: %6.1f MiB/s\n", $2, $3, r }
    function median(fs,   i, j, t, a, k) {
        k = n[fs]
        for (i = 1; i <= k; i++) a[i] = rate[fs, i]
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
        if (n["ext4"] == 0 || n["rext4"] == 0) { print "no results"; exit 1 }
        e = median("ext4"); r = median("rext4")
        printf "read 256 MiB, cold cache, median of %d runs: ext4 %.1f MiB/s, rext4 %.1f MiB/s, rext4/ext4 = %.2f\n", n["ext4"], e, r, r / e
    }'
