# A file of 100 000 extents written by rext4 (1 KiB blocks, vda made
# here): two files written one block at a time, alternately, so that each
# file's next block finds the block after its last one taken by the other
# file. The extent tree grows to depth 3 (84 extents per 1 KiB node, 4
# in the inode: more than 28 224 extents need depth 3);
# rext4 reads it back, FIEMAP counts the extents, the second file is
# deleted (100 000 extents freed), e2fsck is clean and the in-kernel ext4
# reads the same bytes; then rext4 appends to it and truncates it to half
# (50 000 extents freed in chunks) and deletes it, and the free counts are
# back where they were before the first write.
# rext4.frag_blocks=N changes the 100 000 (make test runs 30 000, make
# soak 100 000).
SCENARIO=write-frag
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1
n=$(sed -n 's/.*rext4\.frag_blocks=\([0-9]*\).*/\1/p' /proc/cmdline)
n=${n:-100000}
half=$((n / 2))
mkdir -p /mnt
free_counts() { dumpe2fs -h /dev/vda 2>/dev/null | awk -F: '/^Free (blocks|inodes):/ { gsub(/ /, "", $2); printf "%s ", $2 }'; }
# extents FILE: FIEMAP's extent count.
extents() { benchtool fiemap "$1" 1 | awk '{ print $5 }'; }
# depth FILE (unmounted vda): the extent tree's depth, from debugfs.
# (`ex` lists the nodes as "level/ depth ...", the root's first.)
depth() { debugfs -R "ex $1" /dev/vda 2>/dev/null | awk 'NR == 2 { split($0, x, "/"); print x[2] + 0; exit }'; }

check "mkfs.ext4 -b 1024" mkfs.ext4 -q -F -b 1024 /dev/vda
before=$(free_counts)
check "mount read-write" mount -w -t rext4 -o data=journal,journal_checksum /dev/vda /mnt
check "write two files alternately, a block at a time" benchtool fragwrite /mnt/a /mnt/b $n 1024
got=$(extents /mnt/a)
if [ "$got" = "$n" ]; then pass "a has one extent per block" "$got"; else fail "a has one extent per block" "FIEMAP counts '$got', want $n"; fi
check "a reads back" benchtool fragcheck /mnt/a A $n 1024
check "b reads back" benchtool fragcheck /mnt/b B $n 1024
check "delete b" rm /mnt/b
check "umount" umount /mnt
check "e2fsck -fn clean" e2fsck -fn /dev/vda
# 4 extents in the inode, 84 in each 1 KiB node: the depth n extents need.
want=0 cap=4
while [ $cap -lt $n ]; do want=$((want + 1)); cap=$((cap * 84)); done
d=$(depth /a)
if [ "${d:-x}" = "$want" ]; then
    pass "a's extent tree is as deep as its extents need" "depth $d"
else
    fail "a's extent tree is as deep as its extents need" "debugfs shows depth '$d', want $want"
fi
check "ext4 mounts it" mount -t ext4 -o ro /dev/vda /mnt
check "ext4 reads a" benchtool fragcheck /mnt/a A $n 1024
got=$(extents /mnt/a)
if [ "$got" = "$n" ]; then pass "ext4 counts one extent per block" "$got"; else fail "ext4 counts one extent per block" "FIEMAP counts '$got', want $n"; fi
umount /mnt

check "mount read-write again" mount -w -t rext4 -o data=journal /dev/vda /mnt
check "append 1 MiB" sh -c 'head -c 1048576 /dev/zero >> /mnt/a'
check "truncate to half" truncate -s $((half * 1024)) /mnt/a
check "the first half reads back" benchtool fragcheck /mnt/a A $half 1024
got=$(extents /mnt/a)
if [ "$got" = "$half" ]; then pass "a has half its extents left" "$got"; else fail "a has half its extents left" "FIEMAP counts '$got', want $half"; fi
check "umount after the truncate" umount /mnt
check "e2fsck -fn clean after the truncate" e2fsck -fn /dev/vda
check "delete a" sh -c 'mount -w -t rext4 -o data=journal /dev/vda /mnt && rm /mnt/a && umount /mnt'
check "e2fsck -fn clean after the deletes" e2fsck -fn /dev/vda
after=$(free_counts)
if [ "$after" = "$before" ]; then
    pass "free blocks and inodes back" "$after"
else
    fail "free blocks and inodes back" "before '$before', after '$after'"
fi
