# Read-write mounts, first slice: attribute changes (chmod, chown, utimes)
# journalled through jbd2 with data=journal. For a 1 KiB and a 4 KiB
# image (vda, vdb; made here by mkfs.ext4 -d of a small tree): read-write
# mounts are refused without the module parameter experimental_write and
# without data=journal; with both, changed attributes are what ext4 reads
# after the unmount, e2fsck -fn is clean, and needs_recovery is set only
# while mounted read-write (cleared by remount read-only and by a freeze);
# fsync commits; what needs xattr writes (chmod of a file with an ACL,
# chown of a file with capabilities) is refused, and so is a remount
# read-write of an image with a feature rext4 can only read (vdc).
# The boot ends by resetting the guest with one more change committed to
# the journal but not yet written home (commit=1, then a reset well
# before the page cache's 30 s writeback): write-replay.sh, the next boot,
# replays it.
SCENARIO=write-attrs
. /scenarios/lib.sh
load_rext4

needs_recovery() { dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'; }
manifest() { sh /scenarios/manifest.sh "$1"; }
# The attribute changes under test, applied to the tree at $1.
change() {
    chmod 0640 "$1/a.txt" &&
        chown 1234:5678 "$1/a.txt" &&
        rext4probe utimens "$1/a.txt" 1000000000 5 1967612889 123456789 &&
        rext4probe utimens "$1/sub/b.bin" 0 0 -14182940 999999999 &&
        chmod 1777 "$1/sub" &&
        chown -h 42:43 "$1/link" &&
        rext4probe utimens "$1/link" 1 2 1500000000 7 &&
        chmod 0600 "$1/fifo" &&
        chown 70000:80000 "$1/sub/b.bin"
}

mkdir -p /t/tree/sub /mnt
echo hello > /t/tree/a.txt
yes 0123456789 | head -c 70000 > /t/tree/sub/b.bin
ln -s a.txt /t/tree/link
mkfifo /t/tree/fifo

for dev in vda vdb; do
    case $dev in vda) L=1k; B=1024 ;; *) L=4k; B=4096 ;; esac
    check "$L: mkfs.ext4 -d" mkfs.ext4 -q -F -b $B -d /t/tree /dev/$dev
    mark_dmesg
    check_fails "$L: read-write mount refused without experimental_write" \
        mount -w -t rext4 -o data=journal /dev/$dev /mnt
    dmesg_has "$L: message names the parameter" "rext4 \\($dev\\): read-write mounts are experimental.*experimental_write=1"
done
check "reload with experimental_write=1" sh -c 'rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1'

for dev in vda vdb; do
    case $dev in vda) L=1k ;; *) L=4k ;; esac
    mark_dmesg
    check_fails "$L: data=ordered read-write refused" mount -w -t rext4 -o data=ordered /dev/$dev /mnt
    dmesg_has "$L: data=ordered message" "rext4 \\($dev\\): read-write mounts need data=journal"
    check "$L: mount read-write" mount -w -t rext4 -o data=journal,journal_checksum /dev/$dev /mnt
    dmesg_has "$L: mount message says read-write" "rext4 \\($dev\\): mounted filesystem .* read-write"
    check "$L: needs_recovery while mounted read-write" needs_recovery /dev/$dev
    check "$L: chmod, chown, utimes" change /mnt
    check "$L: fsync" sync /mnt/a.txt
    check_fails "$L: xattr writes not supported yet" setfattr -n user.x -v 1 /mnt/a.txt
    manifest /mnt > /tmp/want.$dev
    got=$(grep '^a.txt	' /tmp/want.$dev)
    want="a.txt	f	0640	1234	5678	1	6	1967612889.123456789"
    case $got in
        "$want	"*) pass "$L: changes visible before unmount" ;;
        *) fail "$L: changes visible before unmount" "manifest line: $got" ;;
    esac
    check "$L: umount" umount /mnt
    check_fails "$L: needs_recovery cleared at unmount" needs_recovery /dev/$dev
    check "$L: e2fsck -fn clean" e2fsck -fn /dev/$dev
    check "$L: ext4 reads it" mount -t ext4 -o ro /dev/$dev /mnt
    manifest /mnt > /tmp/got.$dev
    umount /mnt
    if [ -s /tmp/want.$dev ] && cmp -s /tmp/want.$dev /tmp/got.$dev; then
        pass "$L: ext4 sees what rext4 wrote" "$(wc -l < /tmp/got.$dev) entries"
    else
        fail "$L: ext4 sees what rext4 wrote" "$(diff /tmp/want.$dev /tmp/got.$dev | head -6)"
    fi

    # The change counter (i_version; debugfs prints "Version: 0xHI:LO"):
    # rext4 stores both halves, a chmod, a data write and a new entry in a
    # directory step it, a truncate to the same size does not, a new inode
    # starts at 1, and the mount keeps i_version across a remount.
    ver() { debugfs -R "stat $1" /dev/$dev 2>/dev/null | sed -n 's/.*Version: 0x\([0-9a-f]*\):\([0-9a-f]*\).*/0x\1\2/p'; }
    # vcheck WHAT PATH CMD WANT: CMD under a read-write mount leaves PATH's
    # counter above what it was (WANT "grew"), as it was ("same"), or at
    # the value WANT.
    vcheck() {
        local before after ok=
        before=$(ver "$2")
        if mount -w -t rext4 -o data=journal /dev/$dev /mnt && sh -c "$3" && umount /mnt; then
            after=$(ver "$2")
            if [ -n "$before" ] && [ -n "$after" ]; then
                case $4 in
                    grew) [ $((after)) -gt $((before)) ] && ok=1 ;;
                    same) [ $((after)) -eq $((before)) ] && ok=1 ;;
                    *) [ $((after)) -eq $(($4)) ] && ok=1 ;;
                esac
            fi
            if [ -n "$ok" ]; then
                pass "$L: i_version: $1" "$before -> $after"
            else
                fail "$L: i_version: $1" "version '$before' -> '$after', want $4"
            fi
        else
            fail "$L: i_version: $1" "'$3' failed"; umount /mnt 2>/dev/null
        fi
    }
    vcheck "stepped by chmod" /a.txt "chmod 0641 /mnt/a.txt" grew
    vcheck "stepped by a write" /a.txt "echo more >> /mnt/a.txt" grew
    vcheck "a directory's stepped by a new entry" /sub "touch /mnt/sub/new" grew
    vcheck "a new inode starts at 1" /sub/new "true" 1
    vcheck "kept by a truncate to the same size" /a.txt \
        'truncate -s $(stat -c %s /mnt/a.txt) /mnt/a.txt' same
    check "$L: i_version: debugfs sets 0x1ffffffff" debugfs -w -R "sif /a.txt version 0x1ffffffff" /dev/$dev
    vcheck "the high half read and written" /a.txt "chmod 0640 /mnt/a.txt" 0x200000000
    # The VFS steps it on a write only under SB_I_VERSION, which a
    # remount must keep.
    vcheck "stepped by a write after remount ro, rw" /a.txt \
        "mount -o remount,ro /mnt && mount -o remount,rw /mnt && echo again >> /mnt/a.txt" grew
    check "$L: i_version: changes undone" sh -c 'mount -w -t rext4 -o data=journal /dev/'$dev' /mnt &&
        rm /mnt/sub/new && echo hello > /mnt/a.txt && chmod 0640 /mnt/a.txt && umount /mnt'

    # Remount read-only and back; freeze.
    check "$L: mount again" mount -w -t rext4 -o data=journal /dev/$dev /mnt
    check "$L: chmod 0604" chmod 0604 /mnt/a.txt
    check "$L: remount read-only" mount -o remount,ro /mnt
    check_fails "$L: needs_recovery cleared by remount read-only" needs_recovery /dev/$dev
    check_fails "$L: chmod refused read-only" chmod 0600 /mnt/a.txt
    check "$L: e2fsck -fn clean while read-only" e2fsck -fn /dev/$dev
    check "$L: remount read-write" mount -o remount,rw /mnt
    check "$L: needs_recovery set again" needs_recovery /dev/$dev
    check "$L: chmod 0644" chmod 0644 /mnt/a.txt
    check "$L: fsfreeze" fsfreeze --freeze /mnt
    check_fails "$L: frozen: needs_recovery cleared" needs_recovery /dev/$dev
    check "$L: frozen: e2fsck -fn clean" e2fsck -fn /dev/$dev
    check "$L: frozen: chmod 0644 on disk" sh -c "debugfs -R 'stat /a.txt' /dev/$dev 2>/dev/null | grep -q 'Mode:  0644'"
    check "$L: thaw" fsfreeze --unfreeze /mnt
    check "$L: thawed: needs_recovery set" needs_recovery /dev/$dev

    check "$L: umount after the thaw" umount /mnt
done

# What needs xattr writes is refused, not done halfway: a chmod must
# rewrite an access ACL's mask, a chown must drop file capabilities.
check "xattr: mkfs.ext4" mkfs.ext4 -q -F -b 4096 /dev/vdc
check "xattr: ext4 sets an ACL and capabilities" sh -c 'mount -t ext4 /dev/vdc /mnt &&
    echo x > /mnt/acl && setfacl -m u:1000:rw /mnt/acl && echo y > /mnt/cap &&
    setfattr -n security.capability -v 0x0000000201000000000000000000000000000000 /mnt/cap &&
    echo z > /mnt/plain && umount /mnt'
check "xattr: mount read-write" mount -w -t rext4 -o data=journal /dev/vdc /mnt
check_fails "xattr: chmod of a file with an ACL refused" chmod 0600 /mnt/acl
check "xattr: its ACL mask unchanged" sh -c 'getfacl -c /mnt/acl | grep -qx "mask::rw-"'
check_fails "xattr: chown of a file with capabilities refused" chown 1:1 /mnt/cap
check "xattr: capabilities kept" sh -c 'getfattr -n security.capability /mnt/cap | grep -q capability'
check "xattr: chown of a plain file" chown 1:1 /mnt/plain
check "xattr: umount" umount /mnt
check "xattr: e2fsck -fn clean" e2fsck -fn /dev/vdc
# A feature rext4 reads but cannot write (quota): read-only mounts only,
# and a remount read-write is refused too.
check "ro feature: tune2fs -O quota" tune2fs -O quota /dev/vdc
mark_dmesg
check_fails "ro feature: read-write mount refused" mount -w -t rext4 -o data=journal /dev/vdc /mnt
dmesg_has "ro feature: message" "rext4 \(vdc\): cannot mount read-write: .*mount read-only"
check "ro feature: read-only mount" mount -t rext4 -o ro,data=journal /dev/vdc /mnt
check_fails "ro feature: remount read-write refused" mount -o remount,rw /mnt
check "ro feature: umount" umount /mnt
# An orphan list (an inode unlinked while open at a crash, made here
# with debugfs): a read-write mount frees its inodes, reports it, and
# leaves the image clean with the inode and its block free again.
check "orphans: mkfs.ext4 and an orphaned inode" sh -c \
    "mkfs.ext4 -q -F -b 1024 /dev/vdc && mount -t ext4 /dev/vdc /mnt && mkdir /mnt/d &&
     echo data > /mnt/d/gone && umount /mnt &&
     debugfs -w -R 'unlink /d/gone' /dev/vdc && debugfs -w -R 'sif <13> links_count 0' /dev/vdc &&
     debugfs -w -R 'ssv last_orphan 13' /dev/vdc"
free_inodes() { dumpe2fs -h /dev/vdc 2>/dev/null | sed -n 's/^Free inodes: *//p'; }
before=$(free_inodes)
mark_dmesg
check "orphans: read-write mount" mount -w -t rext4 -o data=journal /dev/vdc /mnt
dmesg_has "orphans: cleanup message" "rext4 \(vdc\): 1 orphan inodes deleted, 0 truncates cleaned up"
check "orphans: umount" umount /mnt
check "orphans: e2fsck -fn clean" e2fsck -fn /dev/vdc
check "orphans: the inode is free again" [ "$(free_inodes)" = "$((before + 1))" ]
check "orphans: s_last_orphan cleared" sh -c \
    "dumpe2fs -h /dev/vdc 2>/dev/null | grep -q '^First orphan inode' && exit 1 || exit 0"
# A truncation a crash interrupted: a file with blocks past its size on
# the orphan list is cut to its size (its blocks past it freed).
check "orphans: a truncation on the list" sh -c \
    'mount -t ext4 /dev/vdc /mnt && head -c 20000 /dev/urandom > /mnt/t && cp /mnt/t /tmp/t &&
     ino=$(stat -c %i /mnt/t) && umount /mnt && debugfs -w -R "sif /t size 3000" /dev/vdc &&
     debugfs -w -R "ssv last_orphan $ino" /dev/vdc'
free_blocks() { dumpe2fs -h /dev/vdc 2>/dev/null | sed -n 's/^Free blocks: *//p'; }
before=$(free_blocks)
mark_dmesg
check "orphans: read-write mount finishes the truncation" mount -w -t rext4 -o data=journal /dev/vdc /mnt
dmesg_has "orphans: truncation message" "rext4 \(vdc\): 0 orphan inodes deleted, 1 truncates cleaned up"
check "orphans: truncated file keeps its first 3000 bytes" sh -c \
    "[ \$(stat -c %s /mnt/t) = 3000 ] && head -c 3000 /tmp/t | cmp - /mnt/t"
check "orphans: umount after the truncation" umount /mnt
check "orphans: blocks past the size freed" [ "$(free_blocks)" -gt "$before" ]
check "orphans: e2fsck -fn clean after the truncation" e2fsck -fn /dev/vdc

# The crash: a change committed (commit=1 s) but not checkpointed.
mkdir -p /mnt/1k /mnt/4k
for disk in "1k vda" "4k vdb"; do
    set -- $disk
    check "$1: mount read-write, commit=1" mount -w -t rext4 -o data=journal,commit=1 /dev/$2 /mnt/$1
    check "$1: chown 7:8" chown 7:8 /mnt/$1/a.txt
    # An inode unlinked while open: on the orphan list at the crash.
    check "$1: a file and a directory to hold open" sh -c "touch /mnt/$1/held && mkdir /mnt/$1/gonedir"
    case $1 in 1k) exec 3< /mnt/1k/held ;; *) exec 4< /mnt/4k/held ;; esac
    check "$1: rm while open" rm /mnt/$1/held
    check "$1: rmdir while open" sh -c "cd /mnt/$1/gonedir && rmdir /mnt/$1/gonedir && sleep 8 &"
done
sleep 3
# The marker that tells the host this boot ends here on purpose.
echo "REXT4-CRASH-NOW $SCENARIO"
echo b > /proc/sysrq-trigger
sleep 10
fail "crash" "the guest did not reset"
