# Block mapping cost (get_block) through extent trees of depth 2 on vda
# (tools/bench.sh's metadata image, made by bench-mkimg): /frag, 4000
# one-block extents of data with holes between, and /unwritten, 4000
# one-block unwritten extents (nothing to read from the device: the time is
# the mapping and the zeroing). Each mount first reads both files and walks
# their extents once, so the device's buffers (the extent tree blocks) and
# the inodes are warm; then every timed read starts with the file's page
# cache dropped (posix_fadvise DONTNEED, benchtool read), and FIEMAP and
# SEEK_DATA/SEEK_HOLE loops walk /frag's extents. rext4 against the
# in-kernel ext4, same image, same VM, mounts alternating between the two,
# rext4.bench_reps timed repetitions per mount. Prints
# "BENCH <bench> <fs> <run> <microseconds>".
SCENARIO=bench-map
. /scenarios/lib.sh
load_rext4
runs=$(sed -n 's/.*rext4\.bench_runs=\([0-9]*\).*/\1/p' /proc/cmdline)
reps=$(sed -n 's/.*rext4\.bench_reps=\([0-9]*\).*/\1/p' /proc/cmdline)
runs=${runs:-5}
reps=${reps:-3}
i=1
while [ $i -le $runs ]; do
    for fs in ext4 rext4; do
        bench_mount $fs || { fail "$fs mount" "mount failed"; exit 1; }
        drop_caches
        for f in frag unwritten; do
            benchtool read /mnt/$f 1 >/dev/null || fail "$fs warm $f" "read failed"
            benchtool fiemap /mnt/$f 1 >/dev/null || fail "$fs warm $f" "fiemap failed"
        done
        bench_timed read-frag benchtool read /mnt/frag $reps
        bench_timed read-unwritten benchtool read /mnt/unwritten $reps
        bench_timed fiemap-frag benchtool fiemap /mnt/frag $reps
        bench_timed seek-frag benchtool seek /mnt/frag $reps
        umount /mnt
    done
    i=$((i + 1))
done
pass "benchmark ran"
