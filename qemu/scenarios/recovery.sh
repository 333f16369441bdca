# Boot 2 of the journal-recovery test: copies of the two images (1 KiB and
# 4 KiB blocks) that recovery-crash.sh left by resetting the guest under
# the in-kernel ext4 (data=journal). For each, rext4 mounts copy A
# read-only and replays the journal;
# the in-kernel ext4 replays copy B the same way; both trees must match
# (content and metadata, qemu/scenarios/manifest.sh), every fsync'ed file
# must hold what was written, and after rext4's unmount copy A is clean for
# e2fsck with needs_recovery cleared. Copy C of the 1 KiB image is on a
# read-only device, where recovery is impossible: rext4 refuses it with
# EROFS, as ext4 does.
# Disks: 1 KiB image: vda copy A, vdb copy B (both written), vdc copy C
# (read-only); 4 KiB image: vdd copy A, vde copy B.
SCENARIO=recovery
. /scenarios/lib.sh
load_rext4

content() { yes "$1 reproducible content line" | head -c "$2"; }
error_count_is() { dumpe2fs -h "$2" 2>/dev/null | grep -E -q "^FS Error count: +$1\$"; }
needs_recovery() { dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'; }

# replayed NAME DEV-A DEV-B: rext4 replays DEV-A, ext4 DEV-B; compared.
replayed() {
    local L=$1 a=$2 b=$3
    check "$L: crashed image needs recovery" needs_recovery "/dev/$a"
    # An error record written outside the journal after the crash (as
    # ext4 records errors): the replay puts back the journalled, older
    # superblock, and both must keep the record, as ext4 does.
    check "$L: error count recorded" sh -c \
        "debugfs -w -R 'ssv error_count 5' /dev/$a && debugfs -w -R 'ssv error_count 5' /dev/$b"
    mark_dmesg
    check "$L: rext4: mount -o ro replays the journal" mount -t rext4 -o ro "/dev/$a" /mnt/a
    dmesg_has "$L: rext4: recovery logged" "rext4 \\($a\\): recovery complete"
    check "$L: ext4: mount -o ro replays the journal" mount -t ext4 -o ro "/dev/$b" /mnt/b
    check "$L: rext4: manifest" sh -c 'sh /scenarios/manifest.sh /mnt/a > /tmp/a.manifest'
    check "$L: ext4: manifest" sh -c 'sh /scenarios/manifest.sh /mnt/b > /tmp/b.manifest'
    if [ -s /tmp/b.manifest ] && cmp -s /tmp/a.manifest /tmp/b.manifest; then
        pass "$L: rext4 tree equals ext4 tree" "$(wc -l < /tmp/a.manifest) entries"
    else
        fail "$L: rext4 tree equals ext4 tree" "$(diff /tmp/b.manifest /tmp/a.manifest | head -6)"
    fi
    check "$L: rext4: fsync'ed files hold what was written" synced
    check "$L: rext4: umount" umount /mnt/a
    check "$L: ext4: umount" umount /mnt/b
    check_fails "$L: rext4: needs_recovery cleared" needs_recovery "/dev/$a"
    check "$L: rext4: e2fsck -fn clean after replay" e2fsck -fn "/dev/$a"
    check "$L: rext4: error record kept" error_count_is 5 "/dev/$a"
    check "$L: ext4: error record kept" error_count_is 5 "/dev/$b"
}
synced() {
    for f in synced-1 synced-4096 synced-70000 synced-300000 last; do
        n=${f#synced-}
        [ "$f" = last ] && n=123456
        want=$(content "$f" "$n" | sha256sum | cut -d' ' -f1)
        got=$(sha256sum < "/mnt/a/dir/$f" | cut -d' ' -f1)
        [ "$want" = "$got" ] || { echo "$f: $got, want $want"; return 1; }
    done
}
mkdir -p /mnt/a /mnt/b
replayed 1k vda vdb
replayed 4k vdd vde
# A read-only device: recovery cannot write, the mount is refused.
mark_dmesg
if mount -t rext4 -o ro /dev/vdc /mnt/a >/tmp/m.out 2>&1; then
    fail "read-only device: mount refused with EROFS" "mount succeeded"
    umount /mnt/a
elif grep -q "Read-only file system" /tmp/m.out; then
    pass "read-only device: mount refused with EROFS"
else
    fail "read-only device: mount refused with EROFS" "$(cat /tmp/m.out)"
fi
dmesg_has "read-only device: message" "rext4 \(vdc\): write access unavailable, cannot proceed"
check "read-only device: image still needs recovery" needs_recovery /dev/vdc
check "rmmod" rmmod rext4
