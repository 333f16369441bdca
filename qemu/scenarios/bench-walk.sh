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
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# timed BENCH CMD...: CMD prints "<what> usec T ..."; BENCH names the row.
timed() {
    local name=$1 out; shift
    if out=$("$@" 2>&1); then
        echo "BENCH $name $fs $i $(echo "$out" | awk '{ print $3 }')"
    else
        fail "$fs $name" "$out"
    fi
}
i=1
while [ $i -le $runs ]; do
    for fs in ext4 rext4; do
        opts=ro
        [ $fs = ext4 ] && opts=ro,noload
        mount -t $fs -o $opts /dev/vda /mnt || { fail "$fs mount" "mount failed"; exit 1; }
        drop; timed walk-big benchtool walk /mnt/big
        timed walk-big-warm benchtool walk /mnt/big
        drop; timed walk-tree benchtool walk /mnt/tree
        drop; timed readdir-big benchtool readdir /mnt/big
        timed lookup-big benchtool lookup /mnt/big
        timed lookup-big-bufwarm benchtool lookup /mnt/big slab
        timed lookup-big-absent benchtool lookup /mnt/big absent
        umount /mnt
    done
    i=$((i + 1))
done
pass "benchmark ran"
