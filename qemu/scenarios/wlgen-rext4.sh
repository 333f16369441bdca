# The write-path workload generator (tools/guest/wlgen.c) against rext4's
# read-write mounts (experimental_write=1, data=journal,journal_checksum)
# on 1 KiB and 4 KiB images made here, restricted to what the namespace
# slice does: create, mkdir, unlink, rmdir, link, symlink, mkfifo, chmod,
# utimes, fsync (no data written, no rename, no truncate). Every
# operation's result and the tree (every 500 operations and at the end)
# must match wlgen's model; the fsync log holds; after the unmount e2fsck
# -fn is clean, the in-kernel ext4 reads the same tree (manifest taken on
# the mount) and the fsync log holds on it, and a remount reads it too.
#
# Kernel arguments: rext4.fstype=ext4|rext4 (required): with ext4 the same
# run checks the checks (wlgen-ext4 covers ext4 with every kind).
SCENARIO=wlgen-rext4
. /scenarios/lib.sh

FS=$(sed -n 's/.*rext4\.fstype=\([^ ]*\).*/\1/p' /proc/cmdline)
case "$FS" in
    ext4 | rext4) echo "wlgen-rext4: filesystem type $FS" ;;
    *)
        fail "filesystem type given" "rext4.fstype=ext4|rext4 missing from the kernel arguments (got '$FS')"
        exit 1 ;;
esac
if [ "$FS" = rext4 ]; then
    check "load the filesystem" sh -c 'if grep -q "^rext4 " /proc/modules; then rmmod rext4 || exit 1; fi
        insmod /rext4/rext4.ko experimental_write=1'
else
    check "load the filesystem" grep -qw ext4 /proc/filesystems
fi
KINDS=create,mkdir,unlink,rmdir,link,symlink,mkfifo,chmod,utimes,fsync
manifest() { sh /scenarios/manifest.sh "$1"; }
# difference A B: how many manifest lines differ, then the first line
# only in A and the first only in B (the whole diff is on the console).
difference() {
    diff "$1" "$2" > /tmp/diff.out
    echo "$(grep -c '^-[^-]' /tmp/diff.out) lines only in $1, $(grep -c '^+[^+]' /tmp/diff.out) only in $2;" \
        "first: $(grep -m1 '^-[^-]' /tmp/diff.out) / $(grep -m1 '^+[^+]' /tmp/diff.out)"
    head -40 /tmp/diff.out >&2
}

mkdir -p /mnt/w /mnt/e
for set in "1k 1024 vda 21" "4k 4096 vdb 22"; do
    set -- $set
    L=$1 B=$2 dev=/dev/$3 seed=$4
    mark_dmesg
    check "$L: mkfs.ext4" mkfs.ext4 -q -F -b "$B" $dev
    check "$L: mount read-write" mount -w -t $FS -o data=journal,journal_checksum $dev /mnt/w || continue
    if wlgen run /mnt/w "$seed" 6000 --only $KINDS --check-every 500 --fsync-log /tmp/fsync.$L > /tmp/wl.$L 2>&1; then
        pass "$L: namespace operations of 6000 match the model" "$(tail -n 2 /tmp/wl.$L | tr '\n' ' ')"
    else
        fail "$L: namespace operations of 6000 match the model" "$(tail -n 3 /tmp/wl.$L)"
    fi
    check "$L: fsync log holds" wlgen check-fsynced /mnt/w /tmp/fsync.$L
    manifest /mnt/w > /tmp/m.$L
    check "$L: umount" umount /mnt/w
    check "$L: e2fsck -fn clean" e2fsck -fn $dev
    check "$L: ext4 mounts it" mount -t ext4 -o ro $dev /mnt/e
    manifest /mnt/e > /tmp/e.$L
    check "$L: fsync log holds on ext4" wlgen check-fsynced /mnt/e /tmp/fsync.$L
    umount /mnt/e
    if [ -s /tmp/m.$L ] && cmp -s /tmp/m.$L /tmp/e.$L; then
        pass "$L: ext4 reads the same tree" "$(wc -l < /tmp/e.$L) entries"
    else
        fail "$L: ext4 reads the same tree" "$(difference /tmp/m.$L /tmp/e.$L)"
    fi
    check "$L: mount again" mount -t $FS -o ro $dev /mnt/w
    manifest /mnt/w > /tmp/r.$L
    umount /mnt/w
    if cmp -s /tmp/m.$L /tmp/r.$L; then
        pass "$L: remount reads the same tree"
    else
        fail "$L: remount reads the same tree" "$(difference /tmp/m.$L /tmp/r.$L)"
    fi
    if dmesg -r | grep -E '^<[0-3]>.*(rext4|EXT4-fs)' > /tmp/errs; then
        fail "$L: no filesystem errors logged" "$(head -3 /tmp/errs)"
    else
        pass "$L: no filesystem errors logged"
    fi
done
