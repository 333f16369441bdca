# The demo `make run` shows: every command echoed, kernel messages inline.
SCENARIO=demo
. /scenarios/lib.sh
run() { echo "\$ $*"; "$@" 2>&1; }
run insmod /rext4/rext4.ko
run grep rext4 /proc/filesystems
run dumpe2fs -h /dev/vda 2>/dev/null | grep -E '^(Filesystem features|Block count|Inode count|Block size):'
run mount -t rext4 /dev/vda /mnt && fail "probe mount refused" "mounted" || pass "probe mount refused"
run mount -t rext4 /dev/vdb /mnt && fail "corrupt image refused" "mounted" || pass "corrupt image refused"
run rmmod rext4 && pass "rmmod" || fail "rmmod" "rmmod failed"
