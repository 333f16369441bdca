# Crash recovery under a shared-mmap write load with data=journal and
# journal_checksum, one boot of a chain (tools/mmap-crash.sh runs it; make
# test a short chain, make soak a long one). Disk: vda, the filesystem
# under test.
#
# Boot k (kernel argument rext4.cycle=k) first checks what boot k-1 left:
# the image needs recovery, rext4 replays the journal with no checksum or
# journal error (a block stored to through a mapping while its
# transaction committed fails its checksum here: the bug this design
# prevents), and e2fsck -fn is clean after the replay. Then, unless
# rext4.last=1, it starts stress-ng --mmap with --mmap-file on rext4
# (flusher and commits made frequent, a syncfs every 0.1 s) and resets the
# guest with sysrq-b after 3 to 7 seconds. Two vCPUs: the commit and the
# stores run at the same time.
SCENARIO=mmap-crash
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1

arg() { sed -n "s/.*rext4\.$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
needs_recovery() { dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'; }
cycle=$(arg cycle)
last=$(arg last)
opts=data=journal,journal_checksum
mkdir -p /mnt

if [ "$cycle" -gt 1 ]; then
    p=$((cycle - 1))
    check "cycle $p: the crash left the image needing recovery" needs_recovery /dev/vda
    mark_dmesg
    check "cycle $p: rext4 replays the journal" mount -w -t rext4 -o $opts /dev/vda /mnt
    dmesg > /tmp/replay
    bad='checksum|JBD2: .*(error|invalid|corrupt)|rext4 \(vda\): .*(corrupt|bad|error)'
    if grep -v 'mounted filesystem' /tmp/replay | grep -E -i "$bad" > /tmp/bad; then
        echo "REXT4-INFO $SCENARIO: cycle $p: replay errors: $(grep -c -i checksum /tmp/bad) checksum lines"
        fail "cycle $p: no checksum or journal error at the replay" "$(head -n 3 /tmp/bad)"
    else
        pass "cycle $p: no checksum or journal error at the replay"
    fi
    grep -q ' /mnt ' /proc/mounts && umount /mnt
    check "cycle $p: e2fsck -fn clean after the replay" e2fsck -fn /dev/vda
    # A failed replay leaves the journal as it was: start the next cycle
    # from a repaired image so each cycle counts on its own.
    needs_recovery /dev/vda && e2fsck -fy /dev/vda > /dev/null 2>&1
fi
[ "$last" = 1 ] && exit 0

echo 100 > /proc/sys/vm/dirty_writeback_centisecs
echo 100 > /proc/sys/vm/dirty_expire_centisecs
check "cycle $cycle: mount" sh -c "mount -w -t rext4 -o $opts,commit=1 /dev/vda /mnt && rm -rf /mnt/s && mkdir /mnt/s"
stress-ng --mmap 2 --mmap-file --mmap-bytes 1M --temp-path /mnt/s --timeout 120s \
    > /tmp/stress.log 2>&1 &
st=$!
# A syncfs every 0.1 s besides: the mapped pages are journalled and
# committed while the stressors keep storing to them.
(while :; do sync -f /mnt/s; sleep 0.1; done) &
sleep $((3 + cycle % 5))
if kill -0 $st 2>/dev/null && ls /mnt/s | grep -q .; then
    pass "cycle $cycle: stress-ng --mmap running at the crash"
else
    fail "cycle $cycle: stress-ng --mmap running at the crash" "$(tail -n 2 /tmp/stress.log)"
fi
echo "REXT4-CRASH-NOW $SCENARIO"
# The console drains first (with two vCPUs the reset can otherwise beat
# the serial output of the lines above).
sleep 1
echo b > /proc/sysrq-trigger
sleep 10
fail "crash" "the guest did not reset"
