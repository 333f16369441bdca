# `make run`, second boot (after demo-crash.sh reset the machine): the
# crashed filesystem recovered (journal replay, no checksum error), e2fsck
# clean, then a metadata write made to fail under the mounted filesystem
# (device-mapper) with nothing running but background writeback: rext4's
# block-device hook catches it at completion, the filesystem goes
# read-only (errors=remount-ro), sysfs and dumpe2fs show the error.
# Disks: vda, the crashed demo filesystem; vdb, an empty one.
SCENARIO=demo
. /scenarios/lib.sh
say() { echo "REXT4-SAY $*"; }
run() { echo "\$ $*"; "$@" 2>&1; }
needs_recovery() { dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'; }
run insmod /rext4/rext4.ko experimental_write=1
mkdir -p /mnt
say "1. recovery of the crashed filesystem"
if needs_recovery /dev/vda; then pass "the crash left the journal to replay"; else fail "the crash left the journal to replay" "no needs_recovery"; fi
mark_dmesg
run mount -t rext4 -o data=journal,journal_checksum /dev/vda /mnt && pass "mount replays the journal" ||
    fail "mount replays the journal" "mount failed"
dmesg | grep -E 'rext4|JBD2' | cut -c16-
if dmesg | grep -v 'mounted filesystem' | grep -E -i 'checksum|JBD2: .*(error|invalid)' > /tmp/bad; then
    fail "no journal checksum error at the replay" "$(head -n 2 /tmp/bad)"
    replay="replay FAILED: $(head -n 1 /tmp/bad | cut -c16-)"
else
    pass "no journal checksum error at the replay"
    replay="journal replayed, no checksum error"
fi
run ls /mnt/stress
run umount /mnt
if run e2fsck -fn /dev/vda; then pass "e2fsck -fn clean"; fsck=clean; else fail "e2fsck -fn clean" "see above"; fsck="NOT clean"; fi
echo "REXT4-SUMMARY crash in the middle of stress-ng --mmap: $replay; e2fsck -fn $fsck"

say "2. a failed metadata write, caught at completion"
sectors=$(blockdev --getsz /dev/vdb)
run dmsetup create demo --table "0 $sectors linear /dev/vdb 0"
run mkfs.ext4 -q -F -b 4096 /dev/dm-0
run mount -t rext4 -o data=journal,journal_checksum,errors=remount-ro /dev/dm-0 /mnt
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
run sh -c 'mkdir /mnt/d && for i in 1 2 3 4; do head -c 20000 /dev/urandom > /mnt/d/f$i; done && sync /mnt/d/f4 && sync /mnt/d'
say "the journal has committed; its blocks wait dirty in the device cache. Now every write to the device fails:"
run dmsetup suspend --nolockfs --noflush demo
run dmsetup load demo --table "0 $sectors flakey /dev/vdb 0 0 1 1 error_writes"
run dmsetup resume demo
mark_dmesg
say "background writeback on again; the demo does nothing else and watches the kernel log"
echo 10 > /proc/sys/vm/dirty_expire_centisecs
echo 10 > /proc/sys/vm/dirty_writeback_centisecs
t=0
while [ $t -lt 150 ] && ! dmesg | grep -q 'Remounting filesystem read-only'; do sleep 0.1; t=$((t + 1)); done
dmesg | grep -E 'rext4 \(dm-0\)' | cut -c16- | head -n 4
# The first report's latency (sysfs keeps the last one's).
lat=$(dmesg | sed -n 's/.*caught \([0-9]*\) us after its completion.*/\1/p' | head -1)
n=$(cat /sys/fs/rext4/dm-0/write_errors 2>/dev/null)
run grep . /sys/fs/rext4/dm-0/errors_count /sys/fs/rext4/dm-0/write_errors /sys/fs/rext4/dm-0/write_error_latency_us /sys/fs/rext4/dm-0/last_error_block
if dmesg | grep -q 'Remounting filesystem read-only' && [ "${n:-0}" -gt 0 ]; then
    pass "the hook caught the failed write" "$n failed writes, ${lat} us from completion to the filesystem error"
else
    fail "the hook caught the failed write" "$(dmesg | tail -n 3)"
fi
# (An overwrite of a file already looked up: a path walk could need a
# directory block whose write failed, which the cache no longer has.)
if dd if=/dev/zero of=/mnt/d/f1 bs=4096 count=1 conv=notrunc 2>&1 | grep -q 'Read-only'; then
    pass "remounted read-only"
else
    fail "remounted read-only" "a change did not fail with EROFS"
fi
echo "REXT4-SUMMARY failed metadata write: caught by the block-device hook ${lat:-?} us after the write completed ($n writes failed); errors=remount-ro made the filesystem read-only"
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
run dmsetup suspend --nolockfs --noflush demo
run dmsetup load demo --table "0 $sectors linear /dev/vdb 0"
run dmsetup resume demo
run umount /mnt
echo 500 > /proc/sys/vm/dirty_writeback_centisecs
echo 3000 > /proc/sys/vm/dirty_expire_centisecs
run sh -c "dumpe2fs -h /dev/dm-0 2>/dev/null | grep -E '^(Filesystem state|FS Error count|Last error)'"
cnt=$(dumpe2fs -h /dev/dm-0 2>/dev/null | sed -n 's/^FS Error count: *//p')
if [ "${cnt:-0}" -ge 1 ]; then pass "dumpe2fs shows the error" "count $cnt"; else fail "dumpe2fs shows the error" "count '$cnt'"; fi
echo "REXT4-SUMMARY the superblock's error record (dumpe2fs -h): FS Error count ${cnt:-0}"
run dmsetup remove demo
run rmmod rext4 && pass "rmmod" || fail "rmmod" "rmmod failed"
