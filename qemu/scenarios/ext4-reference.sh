# The in-kernel ext4 mounts the same kind of image with the options rext4's
# users use (data=journal,journal_checksum), writes, and e2fsck is clean:
# the reference for later comparisons works on this kernel.
SCENARIO=ext4-reference
. /scenarios/lib.sh
check "mount ext4 data=journal,journal_checksum" mount -t ext4 -o data=journal,journal_checksum /dev/vda /mnt
check "options in effect" grep -q "/mnt ext4 rw.*data=journal" /proc/mounts
check "write 8 MiB" dd if=/dev/urandom of=/mnt/f bs=1M count=8
sum1=$(md5sum /mnt/f | cut -d' ' -f1)
check "sync" sync
check "umount" umount /mnt
check "remount" mount -t ext4 -o data=journal,journal_checksum /dev/vda /mnt
sum2=$(md5sum /mnt/f | cut -d' ' -f1)
[ "$sum1" = "$sum2" ] && pass "data survives remount" || fail "data survives remount" "$sum1 != $sum2"
check "umount again" umount /mnt
check "e2fsck -fn clean" e2fsck -fn /dev/vda
