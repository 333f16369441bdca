# Data writeback errors with data=journal: reported by fsync once per open
# file (errseq), and integrity writeback that goes on past them. vda is
# put under a device-mapper target so that writes to some blocks can be
# made to fail.
#
# A 64-page file is written and unmounted (its blocks found with debugfs),
# then for two and three descriptors in turn: the file is overwritten in
# place, the journal commits it (commit=1; periodic writeback off), so its
# folios wait dirty to be written home; the descriptors are opened; pages
# 20-29 are put on an error target; then each descriptor's fsync writes
# home what is dirty. Checks: every descriptor's first fsync returns EIO,
# its second 0, and one opened after the error 0; every page outside
# 20-29 was written home even so (read back from the raw device: the
# integrity writeback did not stop at the first failed folio), the pages
# inside were not; the block-device hook caught the failed writes at
# completion (errors=continue: counted, recorded in the superblock, the
# filesystem goes on, which is why the second fsync is clean).
SCENARIO=fsync-error
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1
mkdir -p /mnt
sectors=$(blockdev --getsz /dev/vda)
table_linear="0 $sectors linear /dev/vda 0"
check "dm: linear target over vda" dmsetup create rx --table "$table_linear"
dev=/dev/dm-0
switch() {
    dmsetup suspend --nolockfs --noflush rx && dmsetup load rx --table "$1" && dmsetup resume rx
}
opts=data=journal,journal_checksum,errors=continue,commit=1
pages=64
check "mkfs.ext4" mkfs.ext4 -q -F -b 4096 $dev
check "write the file" sh -c "mount -t rext4 -o $opts $dev /mnt && errseqtool fill /mnt/f $pages 1 && umount /mnt"
blk=$(debugfs -R "stat /f" $dev 2>/dev/null | grep -o "(0-$((pages - 1))):[0-9]*" | cut -d: -f2)
if [ -n "$blk" ]; then
    pass "the file is one extent" "blocks $blk-$((blk + pages - 1))"
else
    fail "the file is one extent" "$(debugfs -R "stat /f" $dev 2>&1 | tail -n 3)"
    blk=0
fi
# Pages 20-29 of the file on an error target (dm-flakey, writes fail).
s0=$((blk * 8 + 20 * 8)) s1=$((blk * 8 + 30 * 8))
table_err="0 $s0 linear /dev/vda 0
$s0 $((s1 - s0)) flakey /dev/vda $s0 0 1 1 error_writes
$s1 $((sectors - s1)) linear /dev/vda $s1"
middle_bad="$(printf '=%.0s' $(seq 20))$(printf '.%.0s' $(seq 10))$(printf '=%.0s' $(seq 34))"

base=1
for n in 2 3; do
    L="$n descriptors"
    base=$((base + 64))
    check "$L: mount" mount -t rext4 -o $opts $dev /mnt
    echo 0 > /proc/sys/vm/dirty_writeback_centisecs
    check "$L: overwrite in place" errseqtool fill /mnt/f $pages $base
    # The periodic commit (1 s) makes the folios dirty to be written home.
    sleep 3
    if grep -q "Dirty: *[1-9][0-9][0-9] kB" /proc/meminfo || grep -q "Dirty: *[0-9]\{4,\} kB" /proc/meminfo; then
        pass "$L: committed data waits dirty to be written home"
    else
        fail "$L: committed data waits dirty to be written home" "$(grep Dirty: /proc/meminfo)"
    fi
    mark_dmesg
    got=$(errseqtool fsyncs /mnt/f $n "dmsetup suspend --nolockfs --noflush rx && dmsetup load rx --table '$table_err' && dmsetup resume rx" 2>&1)
    want="first:$(printf ' EIO%.0s' $(seq $n)) second:$(printf ' 0%.0s' $(seq $n)) new: 0"
    if [ "$got" = "$want" ]; then
        pass "$L: each fsync reports the error once, a later open none" "$got"
    else
        fail "$L: each fsync reports the error once, a later open none" "got '$got', want '$want'"
    fi
    dmesg_has "$L: the failed writes were the file's" "Buffer I/O error on dev dm-0, logical block $((blk + 20))"
    echo 3 > /proc/sys/vm/drop_caches
    got=$(errseqtool cmp /dev/vda $blk $pages $base)
    if [ "$got" = "$middle_bad" ]; then
        pass "$L: every other page was written home"
    else
        fail "$L: every other page was written home" "per page (= new data): $got"
    fi
    dmesg_has "$L: caught at completion by the hook" "rext4 \\(dm-0\\): .*write\\(s\\) to the device failed"
    check "$L: the filesystem goes on (errors=continue)" sh -c 'echo more >> /mnt/g && sync /mnt/g'
    # /sys/fs/rext4/<dev>/: the hook's count and latency, the error record.
    S=/sys/fs/rext4/dm-0
    we=$(cat $S/write_errors 2>&1) lat=$(cat $S/write_error_latency_us 2>&1) hw=$(cat $S/hook_writes 2>&1)
    ec=$(cat $S/errors_count 2>&1) ft=$(cat $S/first_error_time 2>&1) lf=$(cat $S/last_error_func 2>&1)
    lc=$(cat $S/last_error_errcode 2>&1) lb=$(cat $S/last_error_block 2>&1)
    if [ "$we" = 10 ] && [ "$lat" -gt 0 ] && [ "$hw" -gt 0 ] && [ "$ec" -ge 1 ] &&
        [ "$ft" -gt 1700000000 ] && [ -n "$lf" ] && [ "$lc" = 2 ] && [ "$lb" = $((blk + 20)) ]; then
        pass "$L: sysfs shows the failed writes and the error record" \
            "write_errors $we, latency $lat us, hook_writes $hw, errors_count $ec, last error $lf code $lc block $lb"
    else
        fail "$L: sysfs shows the failed writes and the error record" \
            "write_errors '$we' latency '$lat' hook_writes '$hw' errors_count '$ec' first_error_time '$ft' last_error_func '$lf' errcode '$lc' block '$lb'"
    fi
    check "$L: dm: the table whole again" switch "$table_linear"
    echo 500 > /proc/sys/vm/dirty_writeback_centisecs
    check "$L: umount" umount /mnt
    n=$(dumpe2fs -h $dev 2>/dev/null | sed -n 's/^FS Error count: *//p')
    if [ "${n:-0}" -ge 1 ]; then pass "$L: error recorded in the superblock" "count $n"
    else fail "$L: error recorded in the superblock" "count '$n'"; fi
    # The record makes e2fsck check (and clear it); nothing else to fix.
    e2fsck -fy $dev > /tmp/fsck.out 2>&1
    check "$L: e2fsck -fn clean afterwards" e2fsck -fn $dev
done
# trigger_fs_error: an error with the message written, through the
# policy (continue: counted, the mount goes on); the directory goes with
# the unmount.
check "sysfs: mount" mount -t rext4 -o $opts $dev /mnt
S=/sys/fs/rext4/dm-0
ec=$(cat $S/errors_count)
mark_dmesg
check "sysfs: trigger_fs_error accepts a message" sh -c "echo 'rext4 test error' > $S/trigger_fs_error"
dmesg_has "sysfs: the message is a filesystem error" "rext4 \\(dm-0\\): .*rext4 test error"
ec2=$(cat $S/errors_count)
if [ "$ec2" = $((ec + 1)) ] && [ "$(cat $S/last_error_errcode)" = 5 ]; then
    pass "sysfs: the error counted (EFSCORRUPTED)" "errors_count $ec -> $ec2"
else
    fail "sysfs: the error counted (EFSCORRUPTED)" "errors_count $ec -> $ec2, code $(cat $S/last_error_errcode)"
fi
check_fails "sysfs: an empty message is refused" sh -c "echo > $S/trigger_fs_error"
jt=$(cat $S/journal_task)
if [ "$jt" -gt 0 ] && grep -q jbd2 /proc/$jt/comm; then pass "sysfs: journal_task is the jbd2 thread" "$(cat /proc/$jt/comm)"
else fail "sysfs: journal_task is the jbd2 thread" "'$jt'"; fi
kb=$(cat $S/session_write_kbytes)
if [ "$kb" -gt 0 ]; then pass "sysfs: session_write_kbytes" "$kb"; else fail "sysfs: session_write_kbytes" "'$kb'"; fi
check "sysfs: umount" umount /mnt
check_fails "sysfs: the directory went with the unmount" test -e $S
check "dm: remove" dmsetup remove rx
