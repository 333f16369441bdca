# Several filesystems and readers at once, under memory pressure:
#
#   /dev/vda  read-tree default image (rext4)     /dev/vdb  its manifest disk
#   /dev/vdc  read-tree nocsum image (rext4)      /dev/vdd  read-tree linear
#                                                             image (ext4)
#
# - two rext4 mounts and an ext4 mount at once; rmmod rext4 is refused while
#   rext4 is mounted;
# - four walkers (manifest.sh: stat, readlink, read and hash everything) on
#   the two rext4 mounts at once inside a memory cgroup far smaller than the
#   tree (memory.max 40 MiB for 48 MiB of file data plus inodes and dentries),
#   while dentries and inodes are dropped in a loop: every walk still equals
#   the manifest, and reclaim really happened (memory.stat pgscan > 0);
# - `umount -l` with a file open and another mapped: both still read the
#   same bytes after the detach; after the last close the filesystem is
#   gone for good (rmmod then succeeds).
SCENARIO=concurrent
. /scenarios/lib.sh
check "insmod rext4.ko" load_rext4

# The expected manifest.
load_manifest /dev/vdb || exit 1

mkdir -p /mnt/a /mnt/b /mnt/c /mnt/l
check "mount rext4 vda" mount -t rext4 -o ro /dev/vda /mnt/a
check "mount rext4 vdc (second rext4 at once)" mount -t rext4 -o ro /dev/vdc /mnt/b
check "mount ext4 vdd (ext4 beside rext4)" mount -t ext4 -o ro,noload /dev/vdd /mnt/c
check "three mounts listed" test "$(grep -c ' /mnt/[abc] ' /proc/mounts)" = 3
check_fails "rmmod refused while mounted" rmmod rext4
check "rext4 still registered" grep -qw rext4 /proc/filesystems

# Walkers in a small memory cgroup, with inode and dentry drops beside them.
# A sibling of init's scenario cgroup: cgroup v2 gives no controllers to
# the children of a cgroup that holds processes.
cg=/sys/fs/cgroup/rext4-small
mkdir -p $cg
if ! echo 40M > $cg/memory.max; then
    fail "small memory cgroup" "cannot set $cg/memory.max: $(ls $cg | tr '\n' ' ')"
fi
sync
echo 3 > /proc/sys/vm/drop_caches
walk() { # N DIR: the walker moves itself into the small cgroup first
    sh -c 'echo $$ > "$0/cgroup.procs" && exec sh /scenarios/manifest.sh "$1"' "$cg" "$2" \
        > "/tmp/walk.$1" 2> "/tmp/walk.$1.err"
    echo $? > "/tmp/walk.$1.rc"
}
t0=$(date +%s)
for i in 1 2; do walk a$i /mnt/a & done
for i in 1 2; do walk b$i /mnt/b & done
(while [ ! -f /tmp/walkers.done ]; do echo 2 > /proc/sys/vm/drop_caches; sleep 1; done) &
dropper=$!
for i in a1 a2 b1 b2; do
    while [ ! -f "/tmp/walk.$i.rc" ]; do sleep 1; done
done
touch /tmp/walkers.done
wait $dropper
echo "REXT4-INFO concurrent: four walkers in $(($(date +%s) - t0)) s"
bad=
for i in a1 a2 b1 b2; do
    if [ "$(cat /tmp/walk.$i.rc)" != 0 ] || ! cmp -s /tmp/expected "/tmp/walk.$i"; then
        bad="$bad $i(rc $(cat /tmp/walk.$i.rc), $(diff /tmp/expected /tmp/walk.$i | grep -c '^[-+][^-+]') diff lines, $(head -c 100 /tmp/walk.$i.err))"
    fi
done
[ -z "$bad" ] && pass "concurrent walkers match the manifest" || fail "concurrent walkers match the manifest" "$bad"
scan=$(awk '$1 == "pgscan" { print $2 }' $cg/memory.stat)
oom=$(awk '$1 == "oom_kill" { print $2 }' $cg/memory.events)
echo "REXT4-INFO concurrent: small cgroup: pgscan $scan, oom_kill $oom, $(grep -E '^(max|high) ' $cg/memory.events | tr '\n' ' ')"
[ "${scan:-0}" -gt 0 ] && pass "memory pressure forced reclaim" "pgscan $scan" ||
    fail "memory pressure forced reclaim" "pgscan '$scan': the cgroup was not small enough"
[ "${oom:-0}" = 0 ] && pass "no OOM kill in the cgroup" || fail "no OOM kill in the cgroup" "oom_kill $oom"

check "umount ext4" umount /mnt/c
check "umount rext4 vdc" umount /mnt/b
check "umount rext4 vda" umount /mnt/a

# umount -l with an open file and a mapped one.
check "mount rext4 for umount -l" mount -t rext4 -o ro /dev/vda /mnt/l
f1=$(awk -F '\t' '$2 == "f" && $7 > 100000 && $7 < 10000000 { print $1; exit }' /tmp/expected)
f2=$(awk -F '\t' '$2 == "f" && $7 > 100000 && $7 < 10000000 { n++ } n == 2 { print $1; exit }' /tmp/expected)
sum1=$(awk -F '\t' -v p="$f1" '$1 == p { print $9 }' /tmp/expected)
mkfifo /tmp/ctl
widegen mmaphold "/mnt/l/$f2" < /tmp/ctl > /tmp/mh.out 2>&1 &
holder=$!
exec 4> /tmp/ctl
exec 3< "/mnt/l/$f1"
sleep 1
h0=$(sed -n 1p /tmp/mh.out)
check "umount -l with busy files" umount -l /mnt/l
check_fails "detached from the namespace" grep -q ' /mnt/l ' /proc/mounts
got=$(sha256sum <&3 | cut -d' ' -f1)
[ -n "$sum1" ] && [ "$got" = "$sum1" ] && pass "open file reads after umount -l" ||
    fail "open file reads after umount -l" "$f1: $got, expected $sum1"
echo 3 > /proc/sys/vm/drop_caches
echo again >&4
sleep 1
h1=$(sed -n 2p /tmp/mh.out)
[ -n "$h0" ] && [ "$h0" = "$h1" ] && pass "mapping reads after umount -l and a cache drop" ||
    fail "mapping reads after umount -l and a cache drop" "'$h0' then '$h1': $(cat /tmp/mh.out)"
exec 3<&-
exec 4>&-
wait $holder
check "mapping holder exits cleanly" test $? = 0
sleep 1
# The last close ended the superblock: nothing holds the module now.
check "rmmod after the last close" rmmod rext4
check "insmod again" insmod /rext4/rext4.ko
check "mount again after umount -l" mount -t rext4 -o ro /dev/vda /mnt/l
check "umount" umount /mnt/l
check "e2fsck -fn clean (vda)" e2fsck -fn /dev/vda
