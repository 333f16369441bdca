# Boot 1 of the journal-recovery test (recovery.sh is boot 2): the
# in-kernel ext4 writes to a fresh mkfs.ext4 image with data=journal, fsyncs
# some files, and the guest is reset at once (sysrq-b), so the journal holds
# committed transactions that were never written to their home blocks
# (periodic writeback is off, and nothing syncs the device). This boot
# ends in the crash: qemu/vm.sh runs it with REXT4_VM_CRASH=1, so the
# "finished" check wants the REXT4-CRASH-NOW marker instead of the end of
# the script.
# Disks: vda the fresh image (written).
SCENARIO=recovery-crash
. /scenarios/lib.sh

# content NAME SIZE: reproducible bytes for file NAME (recovery.sh makes
# the same to compare).
content() { yes "$1 reproducible content line" | head -c "$2"; }

check "sysrq enabled" sh -c 'echo 1 > /proc/sys/kernel/sysrq'
# No periodic or age-based writeback: what is not checkpointed stays only
# in the journal.
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
echo 360000 > /proc/sys/vm/dirty_expire_centisecs
check "ext4: mount -o data=journal" mount -t ext4 -o data=journal,commit=600 /dev/vda /mnt
write() {
    set -e
    mkdir -p /mnt/dir/sub
    # fsync'ed (busybox's `sync FILE` is fsync(2) of FILE): there, with
    # this content, after recovery.
    for n in 1 4096 70000 300000; do
        content synced-$n $n > /mnt/dir/synced-$n
        sync /mnt/dir/synced-$n
    done
    ln -s synced-4096 /mnt/dir/link
    ln /mnt/dir/synced-1 /mnt/dir/sub/hardlink
    mkfifo /mnt/dir/fifo
    i=0
    while [ $i -lt 200 ]; do content entry-$i 100 > /mnt/dir/sub/entry-$i; i=$((i + 1)); done
    rm /mnt/dir/sub/entry-7
    content renamed 5000 > /mnt/dir/before
    mv /mnt/dir/before /mnt/dir/after
    chmod 0751 /mnt/dir/after
    # The last one fsyncs the directory too: everything above commits.
    content last 123456 > /mnt/dir/last
    sync /mnt/dir/last
    sync /mnt/dir
    sync /mnt/dir/sub
}
check "ext4: write and fsync" write
# The marker that tells the host this boot ends here on purpose.
echo "REXT4-CRASH-NOW $SCENARIO"
echo b > /proc/sysrq-trigger
sleep 10
fail "crash" "the guest did not reset"
