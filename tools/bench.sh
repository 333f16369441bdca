#!/bin/bash
# rext4's benchmarks (`make bench`): ratios against the in-kernel ext4 on
# the same image in the same VM, on the non-debug bench kernel, never
# absolute numbers in tests. Every figure is a median over runs that
# alternate between the two filesystems (the host is shared and noisy: one
# disturbed run does not move a median).
#
# read     sequential read of a 256 MiB file, cold page cache
#          (qemu/scenarios/bench-read.sh; BENCH_RUNS runs, default 7).
# walk     cold `ls -lR` (readdir + lstat of every name) of one directory of
#          50 000 entries (two-level htree) and of a normal source tree,
#          plus the big directory's sub-steps: readdir alone, lookups alone
#          (cold; device buffers warm; names that do not exist), and the
#          walk again warm (qemu/scenarios/bench-walk.sh; BENCH_WALK_RUNS
#          runs, default 5).
# map      block mapping through extent trees of depth 2 (4000 one-block
#          extents): reads of a fragmented file and of an unwritten one with
#          the device's buffers warm and the file's page cache dropped,
#          FIEMAP and SEEK_DATA/SEEK_HOLE loops (qemu/scenarios/bench-map.sh;
#          BENCH_MAP_RUNS mounts per filesystem, default 5, BENCH_MAP_REPS
#          timed repetitions per mount, default 3).
#
# The table goes to stdout and to $REXT4_OUT/results.txt (default
# /tmp/rext4-bench); the consoles with every single run's figure next to it.
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
# The metadata image (walk, map): mke2fs -d puts a normal tree in /tree
# (the fs/ and include/ directories of the kernel source package, about
# 9000 names), then the in-kernel ext4 adds the big directory and the
# fragmented files (qemu/scenarios/bench-mkimg.sh). Made again when its
# recipe changes.
meta=$out/meta.img
mkey=$({ cat qemu/scenarios/bench-mkimg.sh tools/guest/widegen.c tools/guest/benchtool.c
         sed -n '/^# The metadata image/,/^fi$/p' "$0"
         dpkg-query -W -f='${Version}\n' linux-source-6.12; } | sha256sum | cut -c1-16)
if [ "$(cat "$meta.key" 2>/dev/null)" != "$mkey" ]; then
    rm -f "$meta" "$meta.key"
    tree=$(mktemp -d)
    mkdir "$tree/tree"
    tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$tree/tree" --strip-components=1 \
        linux-source-6.12/fs linux-source-6.12/include
    truncate -s 1G "$meta.tmp"
    mke2fs -q -F -t ext4 -b 4096 -N 90000 -L bench-meta -d "$tree" "$meta.tmp"
    rm -rf "$tree"
    qemu/vm.sh bench-mkimg "$out/bench-mkimg" "$meta.tmp" || {
        cat "$out/bench-mkimg"; rm -f "$meta.tmp"; exit 1; }
    mv "$meta.tmp" "$meta"
    echo "$mkey" > "$meta.key"
fi

REXT4_VM_APPEND="rext4.bench_runs=${BENCH_RUNS:-7} ${REXT4_VM_APPEND:-}" qemu/vm.sh bench-read "$out/bench-read" "$img" || {
    cat "$out/bench-read"; exit 1; }
REXT4_VM_APPEND="rext4.bench_runs=${BENCH_WALK_RUNS:-5} ${REXT4_VM_APPEND:-}" qemu/vm.sh bench-walk "$out/bench-walk" "$meta:ro" || {
    cat "$out/bench-walk"; exit 1; }
REXT4_VM_APPEND="rext4.bench_runs=${BENCH_MAP_RUNS:-5} rext4.bench_reps=${BENCH_MAP_REPS:-3} ${REXT4_VM_APPEND:-}" \
    qemu/vm.sh bench-map "$out/bench-map" "$meta:ro" || {
    cat "$out/bench-map"; exit 1; }

# bench-read prints "BENCH <fs> <run> <bytes> <centiseconds>", the others
# "BENCH <bench> <fs> <run> <microseconds>".
cat "$out/bench-read.log" "$out/bench-walk.log" "$out/bench-map.log" | tr -d '\r' | awk -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" '
    function add(b, fs, v) { val[b, fs, ++n[b, fs]] = v }
    /^BENCH (ext4|rext4) / { add("read", $2, $4 / 1048576 / ($5 / 100)); next }
    /^BENCH / { add($2, $3, $5 / 1000) }
    function median(b, fs,   i, j, t, a, k) {
        k = n[b, fs]
        for (i = 1; i <= k; i++) a[i] = val[b, fs, i]
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    function num(v) { return v >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v) }
    # spread(b, fs): lowest and highest single figure, for the noise.
    function spread(b, fs,   i, lo, hi) {
        lo = hi = val[b, fs, 1]
        for (i = 2; i <= n[b, fs]; i++) { if (val[b, fs, i] < lo) lo = val[b, fs, i]; if (val[b, fs, i] > hi) hi = val[b, fs, i] }
        return num(lo) "-" num(hi)
    }
    function row(b, what, unit) {
        if (n[b, "ext4"] == 0 || n[b, "rext4"] == 0) { printf "%-44s no results\n", what; bad = 1; return }
        e = median(b, "ext4"); r = median(b, "rext4")
        printf "%-44s %-6s %3d %8s %8s %7.2f   %s / %s\n", what, unit, n[b, "rext4"], num(e), num(r), (e > 0 ? r / e : 0), spread(b, "ext4"), spread(b, "rext4")
    }
    END {
        printf "rext4 benchmarks, bench kernel, %s; medians of N runs alternating\n", date
        printf "between the filesystems; ratio = rext4/ext4 (MiB/s: higher is better\n"
        printf "for rext4; ms: lower is better, 1.00 = as fast as ext4)\n\n"
        printf "%-44s %-6s %3s %8s %8s %7s   %s\n", "benchmark", "unit", "N", "ext4", "rext4", "ratio", "range ext4 / rext4"
        row("read", "read 256 MiB, cold", "MiB/s")
        row("walk-big", "walk big dir (50000 names), cold", "ms")
        row("walk-tree", "walk source tree (9000 names), cold", "ms")
        row("readdir-big", "  big dir: readdir alone, cold", "ms")
        row("lookup-big", "  big dir: lstat of listed names, cold", "ms")
        row("lookup-big-bufwarm", "  big dir: same, device buffers warm", "ms")
        row("lookup-big-absent", "  big dir: absent names, buffers warm", "ms")
        row("walk-big-warm", "  big dir: walk again, warm", "ms")
        row("read-frag", "read 4000-extent file, buffers warm", "ms")
        row("read-unwritten", "read 4000 unwritten extents, buffers warm", "ms")
        row("fiemap-frag", "FIEMAP over the 4000 extents", "ms")
        row("seek-frag", "SEEK_DATA/SEEK_HOLE over the 4000 extents", "ms")
        exit bad
    }' > "$out/results.txt.tmp" || { cat "$out/results.txt.tmp"; exit 1; }
mv "$out/results.txt.tmp" "$out/results.txt"
cat "$out/results.txt"
echo "(written to $out/results.txt; every run in $out/bench-*.log)"
