# The demo `make run` shows: every command echoed, kernel messages inline.
# Disks: vda demo.img (a small tree), vdb badcsum.img (corrupt superblock).
SCENARIO=demo
. /scenarios/lib.sh
run() { echo "\$ $*"; "$@" 2>&1; }
run insmod /rext4/rext4.ko
run grep rext4 /proc/filesystems
run mount -t rext4 -o ro,data=journal,journal_checksum /dev/vda /mnt && pass "demo image mounted" || fail "demo image mounted" "mount failed"
run grep /mnt /proc/mounts
run ls -la /mnt /mnt/rext4
run df -h /mnt
run cat /mnt/README | head -n 3
(cd /mnt && run md5sum -c MD5SUMS) && pass "checksums match" || fail "checksums match" "md5sum -c failed"
run tail -c 21 /mnt/sparse-1G
run umount /mnt
run mount -t rext4 -o ro /dev/vdb /mnt && fail "corrupt image refused" "mounted" || pass "corrupt image refused"
run rmmod rext4 && pass "rmmod" || fail "rmmod" "rmmod failed"
