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
# write    read-write, -o data=journal,journal_checksum on both: 1 GiB
#          sequential write + fsync; 4096 random 4 KiB writes with an fsync
#          every 32; 10 000 files of 1 KiB created (+syncfs), stat'ed cold
#          and deleted (+syncfs), in one directory and across 100;
#          stress-ng --mmap --mmap-file (qemu/scenarios/bench-write.sh;
#          BENCH_WRITE_RUNS mounts per filesystem, default 3,
#          BENCH_MMAP_SECS seconds of stress-ng, default 20). The image is
#          checked with e2fsck after every rext4 mount. The VM's drives are
#          cache=unsafe: a sync costs the guest's commit, not a device
#          flush.
#
# The chart ($REXT4_OUT/results.png, gnuplot) shows every row as rext4's
# speed relative to ext4 (ext4's time / rext4's, or rext4's rate / ext4's):
# 1.0 is parity, higher is faster.
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
command -v gnuplot >/dev/null || tools/deps.sh --bench
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

# The write image: fresh every time (the write benchmarks change it), inode
# tables and journal initialised now so ext4 has no lazy-init work.
wimg=$out/write.img
rm -f "$wimg"
fallocate -l 2G "$wimg" 2>/dev/null || truncate -s 2G "$wimg"
mke2fs -q -F -t ext4 -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 -L bench-write "$wimg"

REXT4_VM_APPEND="rext4.bench_runs=${BENCH_RUNS:-7} ${REXT4_VM_APPEND:-}" qemu/vm.sh bench-read "$out/bench-read" "$img" || {
    cat "$out/bench-read"; exit 1; }
REXT4_VM_APPEND="rext4.bench_runs=${BENCH_WALK_RUNS:-5} ${REXT4_VM_APPEND:-}" qemu/vm.sh bench-walk "$out/bench-walk" "$meta:ro" || {
    cat "$out/bench-walk"; exit 1; }
REXT4_VM_APPEND="rext4.bench_runs=${BENCH_MAP_RUNS:-5} rext4.bench_reps=${BENCH_MAP_REPS:-3} ${REXT4_VM_APPEND:-}" \
    qemu/vm.sh bench-map "$out/bench-map" "$meta:ro" || {
    cat "$out/bench-map"; exit 1; }
wruns=${BENCH_WRITE_RUNS:-3} wsecs=${BENCH_MMAP_SECS:-20}
REXT4_VM_TIMEOUT=${BENCH_WRITE_TIMEOUT:-$((600 + wruns * (900 + 2 * wsecs)))} REXT4_VM_MEM=2048 \
    REXT4_VM_APPEND="rext4.bench_runs=$wruns rext4.bench_secs=$wsecs ${REXT4_VM_APPEND:-}" \
    qemu/vm.sh bench-write "$out/bench-write" "$wimg" || {
    cat "$out/bench-write"; exit 1; }

# bench-read prints "BENCH <fs> <run> <bytes> <centiseconds>", the others
# "BENCH <bench> <fs> <run> <microseconds>" or "BENCHRATE <bench> <fs> <run>
# <per second>". Besides the table, chart.dat gets one line per row: the
# label and rext4's relative speed.
cat "$out/bench-read.log" "$out/bench-walk.log" "$out/bench-map.log" "$out/bench-write.log" | tr -d '\r' | awk -v chart="$out/chart.dat" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" '
    function add(b, fs, v) { val[b, fs, ++n[b, fs]] = v }
    /^BENCH (ext4|rext4) / { add("read", $2, $4 / 1048576 / ($5 / 100)); next }
    /^BENCH / { add($2, $3, $5 / 1000) }
    /^BENCHRATE / { add($2, $3, $5) }
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
    # row(b, what, unit): unit ms is a time (lower is better), the others
    # are rates (higher is better).
    function row(b, what, unit,   speed, label) {
        if (n[b, "ext4"] == 0 || n[b, "rext4"] == 0) { printf "%-44s no results\n", what; bad = 1; return }
        e = median(b, "ext4"); r = median(b, "rext4")
        speed = unit == "ms" ? (r > 0 ? e / r : 0) : (e > 0 ? r / e : 0)
        label = what; gsub(/"/, "", label); sub(/^ +/, "", label)
        printf "\"%s\" %.4f\n", label, speed > chart
        printf "%-44s %-6s %3d %8s %8s %7.2f   %s / %s\n", what, unit, n[b, "rext4"], num(e), num(r), (e > 0 ? r / e : 0), spread(b, "ext4"), spread(b, "rext4")
    }
    END {
        printf "rext4 benchmarks, bench kernel, %s; medians of N runs alternating\n", date
        printf "between the filesystems; ratio = rext4/ext4 (MiB/s, ops/s: higher is better\n"
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
        row("seqwrite", "write 1 GiB + fsync (data=journal)", "ms")
        row("randwrite", "4096 random 4 KiB writes, fsync/32", "ms")
        row("files1-create", "10000 files, 1 dir: create + syncfs", "ms")
        row("files1-stat", "10000 files, 1 dir: lstat, cold", "ms")
        row("files1-delete", "10000 files, 1 dir: unlink + syncfs", "ms")
        row("files100-create", "10000 files, 100 dirs: create + syncfs", "ms")
        row("files100-stat", "10000 files, 100 dirs: lstat, cold", "ms")
        row("files100-delete", "10000 files, 100 dirs: unlink + syncfs", "ms")
        row("mmap", "stress-ng --mmap --mmap-file", "ops/s")
        exit bad
    }' > "$out/results.txt.tmp" || { cat "$out/results.txt.tmp"; exit 1; }
mv "$out/results.txt.tmp" "$out/results.txt"
cat "$out/results.txt"
# The chart: one horizontal bar per row, rext4's speed relative to ext4,
# the first row at the top.
rows=$(wc -l < "$out/chart.dat")
gnuplot <<GP
set terminal pngcairo size 1000,$((120 + 24 * rows)) font "sans,9"
set output "$out/results.png.tmp"
set title "rext4 relative to the in-kernel ext4 (bench kernel; 1.0 = as fast, higher = faster)"
set style fill solid 0.6 border -1
stats "$out/chart.dat" using 2 nooutput
set xrange [0:(STATS_max > 1 ? STATS_max : 1) * 1.12]
set yrange [-0.7:$rows - 0.3]
set ytics nomirror
set grid xtics
set key off
set termoption noenhanced
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 dt 2
plot "$out/chart.dat" using (\$2 / 2):($rows - 1 - \$0):(\$2 / 2):(0.35):ytic(1) with boxxyerror, \\
     "" using 2:($rows - 1 - \$0):(sprintf(" %.2f", \$2)) with labels left
GP
mv "$out/results.png.tmp" "$out/results.png"
echo "(written to $out/results.txt, chart $out/results.png; every run in $out/bench-*.log)"
