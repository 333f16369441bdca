# Crash recovery under a write load, one boot of a chain (tools/test.sh
# runs the chain; `make soak` runs a long one). Disks: vda, the filesystem
# under test (rext4, data=journal,journal_checksum); vdb, an ext4 disk for
# wlgen's fsync logs, which must outlive the crashes.
#
# Boot k (kernel argument rext4.cycle=k) first checks what boot k-1 left:
# the image needs recovery, rext4 replays the journal with no checksum or
# journal error, every file wlgen fsync'ed before the crash holds what it
# held at that fsync (`wlgen check-fsynced`), e2fsck -fn is clean after the
# replay, and the previous run's tree can be deleted. Then, unless
# rext4.last=1, it starts a new wlgen run (seed and crash time from k) and
# resets the guest in the middle of it with sysrq-b.
SCENARIO=crash-cycle
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1

arg() { sed -n "s/.*rext4\.$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
needs_recovery() { dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'; }
cycle=$(arg cycle)
last=$(arg last)
opts=data=journal,journal_checksum
mkdir -p /mnt /log
check "log disk" mount -t ext4 /dev/vdb /log

if [ "$cycle" -gt 1 ]; then
    p=$((cycle - 1))
    check "cycle $p: the crash left the image needing recovery" needs_recovery /dev/vda
    mark_dmesg
    check "cycle $p: rext4 replays the journal" mount -w -t rext4 -o $opts /dev/vda /mnt
    dmesg_has "cycle $p: recovery logged" "rext4 \\(vda\\): recovery complete"
    # The mount line itself names journal_checksum and metadata_csum.
    bad='checksum|JBD2: .*(error|invalid|corrupt)|rext4 \(vda\): .*(corrupt|bad|error)'
    if dmesg | grep -v 'mounted filesystem' | grep -E -i "$bad" > /tmp/bad; then
        fail "cycle $p: no checksum or journal error at the replay" "$(head -n 3 /tmp/bad)"
    else
        pass "cycle $p: no checksum or journal error at the replay"
    fi
    # The run must have synced something, or the check proved nothing
    # (a file changed again after its last sync is not checked: some
    # cycles check none, which the INFO line shows).
    if wlgen check-fsynced /mnt/w$p /log/fsync$p > /tmp/cf 2>&1 &&
        ! grep -q 'lines=0 ' /tmp/cf; then
        pass "cycle $p: fsync'ed files hold their content" "$(tail -n 1 /tmp/cf)"
    else
        fail "cycle $p: fsync'ed files hold their content" "$(tail -n 2 /tmp/cf)"
    fi
    check "cycle $p: umount after the replay" umount /mnt
    check "cycle $p: e2fsck -fn clean after the replay" e2fsck -fn /dev/vda
    check "cycle $p: the tree can be deleted" sh -c \
        "mount -w -t rext4 -o $opts /dev/vda /mnt && rm -rf /mnt/w$p && umount /mnt && e2fsck -fn /dev/vda"
fi
[ "$last" = 1 ] && exit 0

check "cycle $cycle: mount" sh -c "mount -w -t rext4 -o $opts,commit=1 /dev/vda /mnt && mkdir /mnt/w$cycle"
# wlgen stops at the first mismatch with the model: it must still be
# running when the guest is reset.
wlgen run /mnt/w$cycle $((1000 + cycle)) 3000 --max-bytes 24000000 \
    --fsync-log /log/fsync$cycle > /log/wl$cycle 2>&1 &
wl=$!
sleep $((4 + cycle % 5))
if kill -0 $wl 2>/dev/null; then
    pass "cycle $cycle: wlgen running at the crash"
else
    fail "cycle $cycle: wlgen running at the crash" "$(tail -n 2 /log/wl$cycle)"
fi
sync -f /log/fsync$cycle 2>/dev/null
echo "REXT4-CRASH-NOW $SCENARIO"
echo b > /proc/sysrq-trigger
sleep 10
fail "crash" "the guest did not reset"
