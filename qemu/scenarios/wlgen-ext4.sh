# The write-path workload generator (tools/guest/wlgen.c) against the
# in-kernel ext4 with data=journal,journal_checksum on 1 KiB and 4 KiB
# images made here: every operation's result and the final tree must match
# wlgen's model, and e2fsck -fn must be clean after the unmount. This checks
# the checker (the model against a real ext4, in the guest) before the
# write path runs it against rext4; and a fault injected into one operation
# must be reported (WLGEN_FAULT), so a mismatch cannot go unseen.
SCENARIO=wlgen-ext4
. /scenarios/lib.sh

mkdir -p /mnt/w
for set in "1k 1024 vda 11" "4k 4096 vdb 12"; do
    set -- $set
    L=$1 B=$2 dev=$3 seed=$4
    check "$L: mkfs.ext4" mkfs.ext4 -q -F -b "$B" "/dev/$dev"
    check "$L: mount data=journal" mount -t ext4 -o data=journal,journal_checksum "/dev/$dev" /mnt/w
    if wlgen run /mnt/w "$seed" 3000 --check-every 1000 --fsync-log /tmp/fsync.$L > /tmp/wl.$L 2>&1; then
        pass "$L: 3000 operations match the model" "$(tail -n 2 /tmp/wl.$L | tr '\n' ' ')"
    else
        fail "$L: 3000 operations match the model" "$(tail -n 3 /tmp/wl.$L)"
    fi
    check "$L: fsync'ed files hold their content" wlgen check-fsynced /mnt/w /tmp/fsync.$L
    check "$L: umount" umount /mnt/w
    check "$L: e2fsck -fn clean" e2fsck -fn "/dev/$dev"
done
# The control: one operation of the run done wrong is a reported mismatch.
check "fault: mkfs.ext4" mkfs.ext4 -q -F -b 4096 /dev/vdb
check "fault: mount" mount -t ext4 -o data=journal /dev/vdb /mnt/w
if WLGEN_FAULT=300 wlgen run /mnt/w 12 1000 > /tmp/wl.fault 2>&1; then
    fail "fault: injected fault is reported" "wlgen passed: $(tail -n 1 /tmp/wl.fault)"
elif grep -q "MISMATCH" /tmp/wl.fault; then
    pass "fault: injected fault is reported" "$(grep -m1 MISMATCH /tmp/wl.fault)"
else
    fail "fault: injected fault is reported" "$(tail -n 2 /tmp/wl.fault)"
fi
check "fault: umount" umount /mnt/w
