# Failed metadata writes caught at completion by rext4's block-device
# hook, with nothing but background writeback running. vda is put under a
# device-mapper target (linear, later error) so that writes can be made
# to fail at will. For rext4 with errors=remount-ro and errors=continue,
# and for the in-kernel ext4 (the comparison):
#   1. periodic writeback off; files written and fsync'ed: the journal
#      commits, and the committed metadata blocks wait dirty in the
#      device's page cache;
#   2. the table switched to one where every write fails and reads work
#      (dm-flakey, error_writes; suspended without freezing the
#      filesystem), periodic writeback on again (expiry 0.1 s), and the
#      test does nothing but watch the kernel log;
#   3. rext4 must mark the filesystem in error within 15 s (the log says
#      how long after the failed write's completion it did: the
#      detection latency); for ext4 the time it takes is measured: the
#      same 15 s with nothing running, then one file operation (ext4
#      hears of failed writes only when it writes its superblock or
#      next touches the journal);
#   4. the table back to linear, unmount: the superblock's error record
#      (dumpe2fs -h) and, for remount-ro, EROFS before the unmount.
SCENARIO=write-error
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1
mkdir -p /mnt
sectors=$(blockdev --getsz /dev/vda)
table_linear="0 $sectors linear /dev/vda 0"
# Writes fail, reads work (dm-flakey, always "down", error_writes).
table_error="0 $sectors flakey /dev/vda 0 0 1 1 error_writes"
check "dm: linear target over vda" dmsetup create rx --table "$table_linear"
# No udev in the guest: devtmpfs names the device dm-0.
dev=/dev/dm-0
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# switch TABLE: load and resume without freezing the filesystem.
switch() {
    dmsetup suspend --nolockfs --noflush rx && dmsetup load rx --table "$1" && dmsetup resume rx
}
sbfield() { dumpe2fs -h /dev/vda 2>/dev/null | sed -n "s/^$1: *//p"; }
# waitlog PATTERN SECONDS: whether the kernel log matches within SECONDS.
waitlog() {
    local t=0
    while [ $t -lt $(($2 * 10)) ]; do
        dmesg | grep -Eq "$1" && return 0
        sleep 0.1
        t=$((t + 1))
    done
    return 1
}

for run in remount-ro continue ext4; do
    L=$run
    fs=rext4 opts="data=journal,errors=$run"
    [ $run = ext4 ] && fs=ext4 opts="data=journal,errors=remount-ro"
    check "$L: mkfs.ext4" mkfs.ext4 -q -F -b 4096 $dev
    check "$L: mount" mount -t $fs -o $opts $dev /mnt
    echo 0 > /proc/sys/vm/dirty_writeback_centisecs
    check "$L: write and fsync" sh -c 'mkdir /mnt/d && for i in 1 2 3 4 5 6 7 8; do
        head -c 20000 /dev/urandom > /mnt/d/f$i; done && sync /mnt/d/f8 && sync /mnt/d'
    check "$L: metadata dirty in the device cache" sh -c 'grep -q "Dirty: *[1-9]" /proc/meminfo'
    mark_dmesg
    check "$L: dm: switch to the error target" switch "$table_error"
    t0=$(now_ms)
    echo 10 > /proc/sys/vm/dirty_expire_centisecs
    echo 10 > /proc/sys/vm/dirty_writeback_centisecs
    if [ $fs = rext4 ]; then
        if waitlog "rext4 \\(dm-0\\): .*write\\(s\\) to the device failed" 15; then
            pass "$L: caught by the hook with no operation running" "$(( $(now_ms) - t0 )) ms after writeback was enabled"
            lat=$(dmesg | sed -n 's/.*caught \([0-9]*\) us after its completion.*/\1/p' | head -1)
            if [ -n "$lat" ] && [ "$lat" -lt 5000000 ]; then
                pass "$L: detection latency reported" "$lat us from the failed write's completion"
            else
                fail "$L: detection latency reported" "log: $(dmesg | grep rext4 | tail -3)"
            fi
        else
            fail "$L: caught by the hook with no operation running" "no report in 15 s: $(dmesg | tail -5)"
            fail "$L: detection latency reported" "nothing caught"
        fi
        if [ $run = remount-ro ]; then
            dmesg_has "$L: remounted read-only" "rext4 \\(dm-0\\): Remounting filesystem read-only"
            # (An overwrite of a file already looked up: a path walk might
            # read a directory block whose write failed, which the cache
            # no longer holds as up to date.)
            check "$L: a change fails with EROFS" sh -c \
                'dd if=/dev/zero of=/mnt/d/f1 bs=4096 count=1 conv=notrunc 2>&1 | grep -q "Read-only file system"'
        else
            check_fails "$L: not remounted read-only" sh -c 'dmesg | grep -q "Remounting filesystem read-only"'
        fi
    else
        # ext4: the write errors are logged by the block layer, but the
        # filesystem is not told until its next journal access.
        # The comparison, measured: how long ext4 takes to mark itself in
        # error with nothing but writeback running (it learns of the
        # failed writes only when it next writes its superblock or
        # touches the journal), and if not within 15 s, how long after
        # one file operation. (ext4 warns about each failed data write it
        # submitted itself; that is not the filesystem marked in error.)
        noticed="EXT4-fs error.*dm-0|Aborting journal on device dm-0|Detected aborted journal|Remounting filesystem read-only"
        if waitlog "$noticed" 15; then
            pass "$L: time to notice measured" "$(( $(now_ms) - t0 )) ms after writeback was enabled, with no operation: $(dmesg | grep -E "$noticed" | head -1 | cut -c16-)"
        else
            t1=$(now_ms)
            touch /mnt/d/new 2>/dev/null
            if waitlog "$noticed" 5; then
                pass "$L: time to notice measured" "not within 15 s of writeback; $(( $(now_ms) - t1 )) ms after the next file operation"
            else
                fail "$L: time to notice measured" "not even after a file operation: $(dmesg | tail -5)"
            fi
        fi
    fi
    echo 0 > /proc/sys/vm/dirty_writeback_centisecs
    check "$L: dm: back to linear" switch "$table_linear"
    # (Under continue the mount may still end up unable to write: jbd2
    # aborts the journal itself when its own commit writes fail, as they
    # do here. What continue decides is rext4's policy: no shutdown.)
    check "$L: umount" umount /mnt
    echo 3000 > /proc/sys/vm/dirty_expire_centisecs
    echo 500 > /proc/sys/vm/dirty_writeback_centisecs
    if [ $fs = rext4 ]; then
        n=$(sbfield "FS Error count")
        if [ "${n:-0}" -ge 1 ]; then pass "$L: error recorded in the superblock" "count $n, last error: $(sbfield 'Last error function'):$(sbfield 'Last error line #') $(sbfield 'Last error err')"
        else fail "$L: error recorded in the superblock" "count '$n'"; fi
    fi
done
# The errseq backstop: a failed write the hook does not see. Only writes
# to the inode table of group 0 fail (dm-flakey, error_writes: reads
# work, and so does the journal); with no
# writeback and no sync, files are created and fsync'ed one by one until
# the journal is full and jbd2 checkpoints, writing the inode table
# blocks itself (write_dirty_buffer, not the device's writepages). The
# next handle rext4 starts finds the device's error sequence moved.
L=checkpoint
check "$L: mkfs.ext4" mkfs.ext4 -q -F -b 4096 -J size=4 $dev
it=$(dumpe2fs /dev/dm-0 2>/dev/null | sed -n 's/^ *Inode table at \([0-9]*\)-\([0-9]*\).*/\1 \2/p' | head -1)
set -- $it
table_it="0 $(($1 * 8)) linear /dev/vda 0
$(($1 * 8)) $((($2 + 1 - $1) * 8)) flakey /dev/vda $(($1 * 8)) 0 1 1 error_writes
$((($2 + 1) * 8)) $((sectors - ($2 + 1) * 8)) linear /dev/vda $((($2 + 1) * 8))"
check "$L: mount" mount -t rext4 -o data=journal,errors=continue,commit=600 $dev /mnt
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
mark_dmesg
check "$L: dm: group 0's inode table fails" switch "$table_it"
i=0
while [ $i -lt 600 ]; do
    echo $i > /mnt/c$i 2>/dev/null && sync /mnt/c$i 2>/dev/null || break
    dmesg | grep -q "found by its error sequence" && break
    i=$((i + 1))
done
if dmesg | grep -q "write(s) to the device failed"; then
    fail "$L: not a write the hook sees" "$(dmesg | grep 'to the device failed' | head -1)"
else
    pass "$L: not a write the hook sees"
fi
# The operation that made jbd2 checkpoint fails itself (jbd2 aborts
# the journal when its checkpoint write fails); the next one is where
# rext4 looks at the error sequence.
touch /mnt/next 2>/dev/null
if dmesg | grep -q "rext4 (dm-0): metadata write error on the device .*found by its error sequence"; then
    pass "$L: caught by the errseq backstop" "after $i files"
else
    fail "$L: caught by the errseq backstop" "$i files; log: $(dmesg | grep -E 'rext4|JBD2|Buffer I/O' | tail -4)"
fi
check "$L: dm: back to linear" switch "$table_linear"
umount /mnt
echo 500 > /proc/sys/vm/dirty_writeback_centisecs
n=$(sbfield "FS Error count")
if [ "${n:-0}" -ge 1 ]; then pass "$L: error recorded in the superblock" "count $n"; else fail "$L: error recorded in the superblock" "count '$n'"; fi
# Unmount with writes in flight, then unload the module at once: the
# hook's teardown and the module's wait leave nothing of rext4 running.
L=unload
check "$L: mkfs.ext4" mkfs.ext4 -q -F -b 4096 $dev
check "$L: mount" mount -t rext4 -o data=journal $dev /mnt
check "$L: writes in flight at umount" sh -c '
    (i=0; while [ $i -lt 40 ]; do head -c 65536 /dev/zero > /mnt/w$i; i=$((i + 1)); done) &
    sleep 1; wait; umount /mnt'
check "$L: rmmod right after" rmmod rext4
check "$L: insmod again" insmod /rext4/rext4.ko experimental_write=1
check "$L: e2fsck -fn clean" e2fsck -fn $dev
check "dm: remove" dmsetup remove rx
