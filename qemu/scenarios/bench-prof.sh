# The profiled workload of tools/profile.sh: lookups of the 50 000 names of
# /big on vda (tools/bench.sh's metadata image) with the device's buffers
# warm (dentries and inodes dropped before each pass), on the filesystem
# given as rext4.prof_fs=ext4|rext4 (rext4.prof_mode=absent: names that
# are not there, the lookups alone); then /proc/kallsyms (kernel and module
# symbols) onto vdb, for the host to name the sampled addresses.
SCENARIO=bench-prof
. /scenarios/lib.sh
load_rext4
fs=$(sed -n 's/.*rext4\.prof_fs=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
passes=$(sed -n 's/.*rext4\.prof_passes=\([0-9]*\).*/\1/p' /proc/cmdline)
mode=$(sed -n 's/.*rext4\.prof_mode=\([a-z]*\).*/\1/p' /proc/cmdline)
bench_mount "$fs" || { fail "$fs mount" "mount failed"; exit 1; }
benchtool lookup /mnt/big slab > /dev/null
i=0
while [ "$i" -lt "${passes:-8}" ]; do
    benchtool lookup /mnt/big "${mode:-slab}" > /dev/null || fail "lookups" "benchtool failed"
    i=$((i + 1))
done
cat /proc/kallsyms > /dev/vdb
sync
umount /mnt
pass "profiled lookups"
