# Boot 2 of the write test: copies of the two images write-attrs.sh left
# by resetting the guest with a chown committed to rext4's journal but not
# written home. For each, the inode on disk still has the old owner (so
# the journal holds the change); rext4 replays copy A (mount -o ro) and
# the in-kernel ext4 replays copy B; both show the new owner, and both are
# clean for e2fsck afterwards, copy A with needs_recovery cleared and its
# orphan list (a file and a directory unlinked while open) processed by a
# read-write mount.
# Disks: 1 KiB image: vda copy A, vdb copy B; 4 KiB image: vdc, vdd.
SCENARIO=write-replay
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1

needs_recovery() { dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'; }
owner_is() { stat -c %u:%g "$1" | grep -qx "$2"; }
mkdir -p /mnt/a /mnt/b
for set in "1k vda vdb" "4k vdc vdd"; do
    set -- $set
    L=$1 a=$2 b=$3
    check "$L: crashed image needs recovery" needs_recovery /dev/$a
    check "$L: the home inode has the old owner" sh -c \
        "debugfs -R 'stat /a.txt' /dev/$a 2>/dev/null | grep -Eq 'User: +1234 +Group: +5678'"
    mark_dmesg
    check "$L: rext4 replays its journal (mount -o ro)" mount -t rext4 -o ro /dev/$a /mnt/a
    dmesg_has "$L: recovery logged" "rext4 \\($a\\): recovery complete"
    check "$L: rext4: replayed owner 7:8" owner_is /mnt/a/a.txt 7:8
    check "$L: ext4 replays rext4's journal" mount -t ext4 -o ro /dev/$b /mnt/b
    check "$L: ext4: replayed owner 7:8" owner_is /mnt/b/a.txt 7:8
    check "$L: rext4: umount" umount /mnt/a
    check "$L: ext4: umount" umount /mnt/b
    check_fails "$L: rext4: needs_recovery cleared" needs_recovery /dev/$a
    # The file and the directory unlinked while open at the crash are on
    # the orphan list: a read-write mount frees them.
    check "$L: replayed orphan list" sh -c \
        "dumpe2fs -h /dev/$a 2>/dev/null | grep -q '^First orphan inode'"
    mark_dmesg
    check "$L: rext4: read-write mount" mount -w -t rext4 -o data=journal /dev/$a /mnt/a
    dmesg_has "$L: rext4: orphans deleted" "rext4 \\($a\\): 2 orphan inodes deleted"
    check "$L: rext4: umount after the cleanup" umount /mnt/a
    check "$L: rext4: e2fsck -fn clean after replay" e2fsck -fn /dev/$a
    check "$L: ext4: e2fsck -fn clean after replay" e2fsck -fn /dev/$b
done
check "rmmod" rmmod rext4
