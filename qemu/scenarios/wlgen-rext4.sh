# The write-path workload generator (tools/guest/wlgen.c) against rext4's
# read-write mounts (experimental_write=1, data=journal) with every kind
# of operation (writes, appends, truncates, renames, links, shared-mapping
# and O_SYNC writes, fsync...): a 1 KiB image with journal_checksum and a
# 4 KiB one without (vda, vdb, made here). Every operation's result and
# the tree (every 500 operations and at the end) must match wlgen's model;
# the fsync log holds; after the unmount e2fsck -fn is clean, the
# in-kernel ext4 reads the same tree (manifest taken on the mount) and
# the fsync log holds on it, and a remount reads it too. Then (vdc) a tree
# written by the in-kernel ext4 is modified by rext4 (files deleted,
# appended to, truncated, directories renamed, files with their own and
# with a shared attribute block deleted, and a new wlgen run beside it),
# and ext4 reads what rext4's mount showed, e2fsck clean.
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
for set in "1k 1024 vda 21 ,journal_checksum" "4k 4096 vdb 22 ,nojournal_checksum"; do
    set -- $set
    L=$1 B=$2 dev=/dev/$3 seed=$4 csum=$5
    mark_dmesg
    check "$L: mkfs.ext4" mkfs.ext4 -q -F -b "$B" $dev
    check "$L: mount read-write" mount -w -t $FS -o data=journal$csum $dev /mnt/w || continue
    if wlgen run /mnt/w "$seed" 2500 --check-every 500 --fsync-log /tmp/fsync.$L > /tmp/wl.$L 2>&1; then
        pass "$L: 2500 operations match the model" "$(tail -n 2 /tmp/wl.$L | tr '\n' ' ')"
    else
        fail "$L: 2500 operations match the model" "$(tail -n 3 /tmp/wl.$L)"
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

# A tree ext4 wrote, changed by rext4.
L=x dev=/dev/vdc
mark_dmesg
check "$L: mkfs.ext4" mkfs.ext4 -q -F -b 1024 $dev
check "$L: ext4 writes a tree" sh -c "mount -t ext4 -o data=journal $dev /mnt/e && mkdir /mnt/e/x &&
    wlgen run /mnt/e/x 23 1500 > /tmp/wl.x 2>&1; r=\$?; umount /mnt/e && exit \$r"
# Attribute blocks: one file's own, and one two files share (ext4 shares
# identical blocks, h_refcount 2).
check "$L: ext4 writes files with attribute blocks" sh -c 'mount -t ext4 -o data=journal /dev/vdc /mnt/e &&
    v=$(head -c 600 /dev/zero | tr "\0" a) && mkdir /mnt/e/xa && echo 1 > /mnt/e/xa/solo &&
    setfattr -n user.big -v "$v" /mnt/e/xa/solo && for f in s1 s2; do
        echo 2 > /mnt/e/xa/$f && setfattr -n user.big -v "b$v" /mnt/e/xa/$f || exit 1; done &&
    [ "$(debugfs -R "stat /xa/s1" /dev/vdc 2>/dev/null | grep -c "File ACL: [1-9]")" = 1 ]; r=$?
    umount /mnt/e; exit $r'
check "$L: mount read-write" mount -w -t $FS -o data=journal $dev /mnt/w
check "$L: ext4's files deleted, appended to, truncated" sh -c 'cd /mnt/w/x && n=0
    for f in $(find . -type f | sort); do
        n=$((n + 1))
        case $((n % 3)) in
            0) rm "$f" ;;
            1) echo appended >> "$f" ;;
            *) truncate -s 100 "$f" ;;
        esac || exit 1
    done
    [ $n -gt 10 ]'
check "$L: ext4's directories renamed" sh -c 'cd /mnt/w/x && for d in $(find . -mindepth 1 -maxdepth 1 -type d | sort | head -n 5); do mv "$d" "$d.moved" || exit 1; done'
check "$L: files with attribute blocks deleted" sh -c \
    'rm /mnt/w/xa/solo /mnt/w/xa/s1 && getfattr -n user.big /mnt/w/xa/s2 > /dev/null'
check "$L: a new run beside it matches the model" sh -c "mkdir /mnt/w/y && wlgen run /mnt/w/y 24 1000 > /tmp/wl.y 2>&1"
manifest /mnt/w > /tmp/m.$L
check "$L: umount" umount /mnt/w
check "$L: e2fsck -fn clean" e2fsck -fn $dev
check "$L: ext4 mounts it" mount -t ext4 -o ro $dev /mnt/e
manifest /mnt/e > /tmp/e.$L
umount /mnt/e
if [ -s /tmp/m.$L ] && cmp -s /tmp/m.$L /tmp/e.$L; then
    pass "$L: ext4 reads what rext4 wrote" "$(wc -l < /tmp/e.$L) entries"
else
    fail "$L: ext4 reads what rext4 wrote" "$(difference /tmp/m.$L /tmp/e.$L)"
fi
if dmesg -r | grep -E '^<[0-3]>.*(rext4|EXT4-fs)' > /tmp/errs; then
    fail "$L: no filesystem errors logged" "$(head -3 /tmp/errs)"
else
    pass "$L: no filesystem errors logged"
fi

# Filling the filesystem (vdd, 16 MiB): the write that finds no space
# gets ENOSPC, the file written so far is intact, deleting it gives every
# block back, and the space is usable again at once (blocks freed by an
# uncommitted transaction are released by a commit when an allocation
# would fail), e2fsck clean.
L=full dev=/dev/vdd
avail() { stat -f -c %a /mnt/w; }
check "$L: mkfs.ext4" mkfs.ext4 -q -F -b 1024 $dev
check "$L: mount read-write" mount -w -t $FS -o data=journal $dev /mnt/w
before=$(avail)
check "$L: writing until full ends in ENOSPC" sh -c \
    'head -c 30000000 /dev/urandom > /tmp/big; dd if=/tmp/big of=/mnt/w/fill bs=64k 2>/tmp/dd.err; r=$?
     grep -q "No space left on device" /tmp/dd.err && [ $r -ne 0 ]'
check "$L: what was written is intact" sh -c \
    'sync && n=$(stat -c %s /mnt/w/fill) && [ $n -gt 8000000 ] && head -c $n /tmp/big | cmp - /mnt/w/fill'
check "$L: no block left for others" [ "$(avail)" -eq 0 ]
check "$L: deleting gives the space back" sh -c "rm /mnt/w/fill && [ \$(stat -f -c %a /mnt/w) -eq $before ]"
check "$L: the space is usable again at once" sh -c \
    'dd if=/tmp/big of=/mnt/w/again bs=64k count=150 2>/tmp/dd.err && [ $(stat -c %s /mnt/w/again) -eq 9830400 ]'
check "$L: umount" umount /mnt/w
check "$L: e2fsck -fn clean" e2fsck -fn $dev
