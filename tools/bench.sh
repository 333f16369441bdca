#!/bin/bash
# rext4's benchmarks (`make bench`): ratios against the in-kernel ext4 on
# the same image in the same VM, never absolute numbers in tests.
#
# read: sequential read of a 256 MiB file with a cold page cache
#       (BENCH_RUNS alternating runs per filesystem, default 5).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/env.sh
out=${REXT4_OUT:-/tmp/rext4-bench}
mkdir -p "$out"
make -s deps kernel initramfs module
img=$out/bench.img
if [ ! -f "$img" ]; then
    tree=$(mktemp -d)
    head -c $((256 << 20)) /dev/urandom > "$tree/big"
    truncate -s 400M "$img"
    mke2fs -q -F -t ext4 -b 4096 -d "$tree" "$img"
    rm -rf "$tree"
fi
REXT4_VM_APPEND="${REXT4_VM_APPEND:-}" qemu/vm.sh bench-read "$out/bench-read" "$img" || {
    cat "$out/bench-read"; exit 1; }
tr -d '\r' < "$out/bench-read.log" | awk '
    /^BENCH / { bytes[$2] += $4; cs[$2] += $5; n[$2]++
                printf "  %-6s run %d: %6.1f MiB/s\n", $2, $3, $4 / 1048576 / ($5 / 100) }
    END {
        if (n["ext4"] == 0 || n["rext4"] == 0) { print "no results"; exit 1 }
        e = bytes["ext4"] / 1048576 / (cs["ext4"] / 100)
        r = bytes["rext4"] / 1048576 / (cs["rext4"] / 100)
        printf "read 256 MiB, cold cache: ext4 %.1f MiB/s, rext4 %.1f MiB/s, rext4/ext4 = %.2f\n", e, r, r / e
    }'
