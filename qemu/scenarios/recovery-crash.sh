# Boot 1 of the journal-recovery test (recovery.sh is boot 2): the
# in-kernel ext4 writes to two fresh mkfs.ext4 images (1 KiB and 4 KiB
# blocks) with data=journal, fsyncs
# some files, and the guest is reset at once (sysrq-b), so the journal holds
# committed transactions that were never written to their home blocks
# (periodic writeback is off, and nothing syncs the device). This boot
# ends in the crash: qemu/vm.sh runs it with REXT4_VM_CRASH=1, so the
# "finished" check wants the REXT4-CRASH-NOW marker instead of the end of
# the script.
# Disks: vda the 1 KiB-block image, vdb the 4 KiB-block one (written).
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
# write DIR: the tree recovery.sh checks (in a subshell: set -e, cd).
write() (
    set -e
    cd "$1"
    mkdir -p dir/sub
    # fsync'ed (busybox's `sync FILE` is fsync(2) of FILE): there, with
    # this content, after recovery.
    for n in 1 4096 70000 300000; do
        content synced-$n $n > dir/synced-$n
        sync dir/synced-$n
    done
    ln -s synced-4096 dir/link
    ln dir/synced-1 dir/sub/hardlink
    mkfifo dir/fifo
    i=0
    while [ $i -lt 200 ]; do content entry-$i 100 > dir/sub/entry-$i; i=$((i + 1)); done
    rm dir/sub/entry-7
    content renamed 5000 > dir/before
    mv dir/before dir/after
    chmod 0751 dir/after
    # The last one fsyncs the directory too: everything above commits.
    content last 123456 > dir/last
    sync dir/last
    sync dir
    sync dir/sub
)
for disk in "1k vda" "4k vdb"; do
    set -- $disk
    mkdir -p "/mnt/$1"
    check "$1: ext4: mount -o data=journal" mount -t ext4 -o data=journal,commit=600 "/dev/$2" "/mnt/$1"
    check "$1: ext4: write and fsync" write "/mnt/$1"
done
# The marker that tells the host this boot ends here on purpose.
echo "REXT4-CRASH-NOW $SCENARIO"
echo b > /proc/sysrq-trigger
sleep 10
fail "crash" "the guest did not reset"
