# Cold directory walks (`ls -lR`: readdir and lstat of every name, by
# benchtool walk) of vda (tools/bench.sh's metadata image, made by
# bench-mkimg): /big, one directory of 50 000 entries in a two-level htree,
# and /tree, a normal source tree; rext4 against the in-kernel ext4, same
# image, same VM, every cache dropped before each walk, runs alternating
# between the two. Also, for a slow walk's diagnosis, the sub-steps on
# /big: readdir alone (cold), lstat alone of names already listed (cold
# dcache, inode and device caches), and the walk again with everything
# warm. Prints "BENCH <bench> <fs> <run> <microseconds>".
SCENARIO=bench-walk
. /scenarios/lib.sh
load_rext4
runs=$(sed -n 's/.*rext4\.bench_runs=\([0-9]*\).*/\1/p' /proc/cmdline)
runs=${runs:-5}
i=1
while [ $i -le $runs ]; do
    for fs in ext4 rext4; do
        bench_mount $fs || { fail "$fs mount" "mount failed"; exit 1; }
        drop_caches; bench_timed walk-big benchtool walk /mnt/big
        bench_timed walk-big-warm benchtool walk /mnt/big
        drop_caches; bench_timed walk-tree benchtool walk /mnt/tree
        drop_caches; bench_timed readdir-big benchtool readdir /mnt/big
        bench_timed lookup-big benchtool lookup /mnt/big
        bench_timed lookup-big-bufwarm benchtool lookup /mnt/big slab
        bench_timed lookup-big-absent benchtool lookup /mnt/big absent
        umount /mnt
    done
    i=$((i + 1))
done
pass "benchmark ran"
