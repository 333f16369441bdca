# The orphan file, boot 2 of 2 (after orphan-crash.sh's reset). vda (1 KiB)
# and vdb (4 KiB): rext4 crashed with a file and a directory unlinked while
# open, both in orphan file slots; vdc: the in-kernel ext4 crashed with a
# file unlinked while open in its orphan file; vdd: the free counts each
# image had before those files were made (right after mkfs; for vdh,
# after a first round, which grew the root directory). For each, a rext4
# read-write mount replays the journal and deletes the orphans,
# orphan_present stays set while mounted and goes at the unmount, and the
# image is e2fsck-clean with those free counts back (nothing leaked).
# vde (1 KiB, made on the host): a truncation a crash interrupted, in an
# orphan file slot (tools/ext4disk's ext4img orphan-set; the file's size
# cut, its blocks past it still there, orphan_present set): a remount
# read-write of a read-only mount is refused while the slot is used, a
# read-write mount finishes the truncation.
# vdf (4 KiB, a bad ob_magic) and vdg (1 KiB, a slot changed without its
# checksum): a read-write mount is refused with a message naming the block,
# writes nothing, and a read-only mount works; so does vdi (1 KiB), whose
# orphan file mke2fs made 1024 blocks long (ext4 refuses more than 512).
# vdh: boot 1's full orphan file (254 slots) with two more orphans on the
# classic chain: all 256 deleted.
SCENARIO=orphan-replay
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1

free_blocks() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Free blocks: *//p'; }
slots() {
    debugfs -R "cat <12>" "$1" 2>/dev/null | od -An -tu4 -v -w"$2" |
        awk '{ for (i = 1; i <= NF - 2; i++) if ($i != 0) print $i }'
}
nslots() { [ "$(slots "$1" "$2" | wc -l)" = "$3" ]; }
head -c 4096 /dev/vdd | tr -d '\0' > /tmp/notes
mkdir -p /mnt
for set in "1k vda 1024 2" "4k vdb 4096 2" "ext4 vdc 4096 1" "full vdh 1024 256"; do
    set -- $set
    L=$1 dev=$2 B=$3 n=$4
    check "$L: crashed image needs recovery, orphan_present" sh -c \
        "dumpe2fs -h /dev/$dev 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery' &&
         dumpe2fs -h /dev/$dev 2>/dev/null | grep -Eq '^Filesystem features:.* orphan_present( |\$)'"
    mark_dmesg
    check "$L: rext4 read-write mount" mount -w -t rext4 -o data=journal /dev/$dev /mnt
    dmesg_has "$L: journal replayed" "rext4 \\($dev\\): recovery complete"
    dmesg_has "$L: orphans in the orphan file deleted" \
        "rext4 \\($dev\\): $n orphan inodes deleted, 0 truncates cleaned up"
    check "$L: orphan_present while mounted" has_feature /dev/$dev orphan_present
    check "$L: umount" umount /mnt
    check_fails "$L: orphan_present cleared at unmount" has_feature /dev/$dev orphan_present
    check_fails "$L: needs_recovery cleared" has_feature /dev/$dev needs_recovery
    check "$L: orphan file empty" nslots /dev/$dev $B 0
    check "$L: e2fsck -fn clean" e2fsck -fn /dev/$dev
    want=$(sed -n "s/^$L //p" /tmp/notes)
    got=$(counts /dev/$dev)
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        pass "$L: free blocks and inodes as before the files" "$got"
    else
        fail "$L: free blocks and inodes as before the files" "got '$got', want '$want'"
    fi
done

# A truncation in an orphan file slot.
check "truncate: the slot and orphan_present" sh -c \
    "[ \"\$(debugfs -R 'cat <12>' /dev/vde 2>/dev/null | od -An -tu4 -v -w1024 | awk '{print \$1; exit}')\" != 0 ] &&
     dumpe2fs -h /dev/vde 2>/dev/null | grep -q '^Filesystem features:.* orphan_present'"
check "truncate: read-only mount" mount -t rext4 -o ro,data=journal /dev/vde /mnt
mark_dmesg
check_fails "truncate: remount read-write refused with an orphan waiting" mount -o remount,rw /mnt
dmesg_has "truncate: remount message" "rext4 \\(vde\\): couldn't remount read-write because of unprocessed orphan inode list"
check "truncate: umount the read-only mount" umount /mnt
before=$(free_blocks /dev/vde)
mark_dmesg
check "truncate: read-write mount" mount -w -t rext4 -o data=journal /dev/vde /mnt
dmesg_has "truncate: truncation finished" "rext4 \\(vde\\): 0 orphan inodes deleted, 1 truncates cleaned up"
check "truncate: the file keeps its first 3000 bytes" sh -c \
    "[ \$(stat -c %s /mnt/t) = 3000 ] && yes 0123456789 | head -c 3000 | cmp - /mnt/t"
check "truncate: umount" umount /mnt
after=$(free_blocks /dev/vde)
if [ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) = 17 ]; then
    pass "truncate: the 17 blocks past the size freed" "$before -> $after"
else
    fail "truncate: the 17 blocks past the size freed" "free blocks $before -> $after"
fi
check "truncate: orphan file empty" nslots /dev/vde 1024 0
check_fails "truncate: orphan_present cleared" has_feature /dev/vde orphan_present
check "truncate: e2fsck -fn clean" e2fsck -fn /dev/vde

# Corrupt orphan file blocks.
for set in "magic vdf 1 ob_magic" "checksum vdg 2 orphan file block checksum mismatch"; do
    set -- $set
    what=$1 dev=$2 blk=$3; shift 3
    msg="$*"
    sb_before=$(dumpe2fs -h /dev/$dev 2>/dev/null | md5sum)
    mark_dmesg
    check_fails "bad $what: read-write mount refused" mount -w -t rext4 -o data=journal /dev/$dev /mnt
    dmesg_has "bad $what: message names the block" \
        "rext4 \\($dev\\): orphan file \\(inode #12\\) block $blk \\(device block [0-9]+\\): .*$msg.*run e2fsck"
    check "bad $what: nothing written" [ "$(dumpe2fs -h /dev/$dev 2>/dev/null | md5sum)" = "$sb_before" ]
    check "bad $what: read-only mount works" mount -t rext4 -o ro,data=journal /dev/$dev /mnt
    check "bad $what: files readable" cat /mnt/f
    mark_dmesg
    check_fails "bad $what: remount read-write refused" mount -o remount,rw /mnt
    dmesg_has "bad $what: remount message" "rext4 \\($dev\\): orphan file \\(inode #12\\) block $blk"
    check "bad $what: umount" umount /mnt
done
sb_before=$(dumpe2fs -h /dev/vdi 2>/dev/null | md5sum)
mark_dmesg
check_fails "too big: read-write mount refused" mount -w -t rext4 -o data=journal /dev/vdi /mnt
dmesg_has "too big: message" "rext4 \\(vdi\\): orphan file \\(inode #12\\): too big: 1048576 bytes"
check "too big: nothing written" [ "$(dumpe2fs -h /dev/vdi 2>/dev/null | md5sum)" = "$sb_before" ]
check "too big: read-only mount works" mount -t rext4 -o ro,data=journal /dev/vdi /mnt
check "too big: umount" umount /mnt
check "rmmod" rmmod rext4
