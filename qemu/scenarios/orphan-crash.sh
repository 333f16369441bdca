# The orphan file (mkfs.ext4 -O orphan_file), boot 1 of 2 (orphan-replay.sh
# is boot 2). On a 1 KiB (vda) and a 4 KiB (vdb) image made here, rext4
# read-write: orphan_present is set while mounted read-write and cleared by
# a clean unmount (and by remount read-only, and by a freeze unless the
# orphan file holds an entry); a file unlinked while open takes an orphan
# file slot (its inode number in the file, no classic chain) and gives it
# back at its last close; e2fsck is clean after each.
# Then, on both, a file with blocks and a directory are unlinked while
# open, synced, and the guest is reset (sysrq-b) with them still open. On
# vdc the in-kernel ext4 does the same (a file unlinked while open, synced,
# the reset): its orphan file entry is for rext4 to process in boot 2.
# vde: an orphan file of one block (254 slots) and 256 files unlinked
# while open: the last two go on the classic chain; all are freed at their
# last close; then the same again, held open across the reset for boot 2
# to clean up. The free counts before the files (right after mkfs; for
# vde after the first round, which grew the root directory) go to vdd,
# one line per image, for boot 2 to compare with after the cleanup.
SCENARIO=orphan-crash
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1

# slots DEV BS: the inode numbers in the orphan file's slots (the last 8
# bytes of each block, magic and checksum, left out), one per line.
slots() {
    debugfs -R "cat <12>" "$1" 2>/dev/null | od -An -tu4 -v -w"$2" |
        awk '{ for (i = 1; i <= NF - 2; i++) if ($i != 0) print $i }'
}
in_slots() { slots "$1" "$2" | grep -qx "$3"; }
no_slots() { [ -z "$(slots "$1" "$2")" ]; }
nslots() { [ "$(slots "$1" "$2" | wc -l)" = "$3" ]; }
last_orphan() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^First orphan inode: *//p'; }

mkdir -p /mnt /w
notes=
for dev in vda vdb; do
    case $dev in vda) L=1k; B=1024; fd=3 ;; *) L=4k; B=4096; fd=4 ;; esac
    check "$L: mkfs.ext4 -O orphan_file" mkfs.ext4 -q -F -O orphan_file -b $B /dev/$dev
    check "$L: orphan_file feature" sh -c "dumpe2fs -h /dev/$dev 2>/dev/null | grep -q '^Orphan file inode: *12'"
    check "$L: the orphan file is empty" no_slots /dev/$dev $B
    notes="$notes$L $(counts /dev/$dev)
"
    mark_dmesg
    check "$L: mount read-write" mount -w -t rext4 -o data=journal,commit=1 /dev/$dev /w
    check "$L: orphan_present while mounted read-write" has_feature /dev/$dev orphan_present
    check "$L: remount read-only" mount -o remount,ro /w
    check_fails "$L: orphan_present cleared by remount read-only" has_feature /dev/$dev orphan_present
    check "$L: remount read-write" mount -o remount,rw /w
    check "$L: orphan_present set again" has_feature /dev/$dev orphan_present
    # A file unlinked while open: in the orphan file, not the chain.
    check "$L: a file to hold open" sh -c "yes orphan | head -c 30000 > /w/open && sync"
    ino=$(stat -c %i /w/open)
    exec 5< /w/open
    check "$L: rm while open" rm /w/open
    check "$L: sync" sync
    check "$L: the unlinked inode is in an orphan file slot" in_slots /dev/$dev $B $ino
    check "$L: and not on the classic chain" [ -z "$(last_orphan /dev/$dev)" ]
    # A freeze leaves the image clean (needs_recovery cleared) but keeps
    # orphan_present while the orphan file holds an entry, as ext4 does.
    check "$L: fsfreeze with an orphan" fsfreeze --freeze /w
    check_fails "$L: frozen: needs_recovery cleared" has_feature /dev/$dev needs_recovery
    check "$L: frozen: orphan_present kept with an orphan" has_feature /dev/$dev orphan_present
    check "$L: thaw" fsfreeze --unfreeze /w
    exec 5<&-
    check "$L: sync after the last close" sync
    check "$L: its slot is free again" no_slots /dev/$dev $B
    check "$L: fsfreeze without orphans" fsfreeze --freeze /w
    check_fails "$L: frozen: orphan_present cleared without orphans" has_feature /dev/$dev orphan_present
    check "$L: thaw again" fsfreeze --unfreeze /w
    check "$L: thawed: orphan_present set" has_feature /dev/$dev orphan_present
    check "$L: umount" umount /w
    check_fails "$L: orphan_present cleared at unmount" has_feature /dev/$dev orphan_present
    check "$L: e2fsck -fn clean" e2fsck -fn /dev/$dev
    check "$L: free counts back to mkfs's" [ "$(counts /dev/$dev)" = "$(echo "$notes" | sed -n "s/^$L //p")" ]

    # The crash: a file with blocks and a directory unlinked while open.
    M=/mnt/$L
    mkdir -p $M
    check "$L: mount for the crash" mount -w -t rext4 -o data=journal,commit=1 /dev/$dev $M
    check "$L: a file and a directory to hold open" sh -c \
        "yes held | head -c 50000 > $M/held && mkdir $M/gonedir && sync"
    eval "exec $fd< $M/held"
    check "$L: rm while open (crash)" rm $M/held
    check "$L: rmdir while open (crash)" sh -c "cd $M/gonedir && rmdir $M/gonedir && sleep 600 &"
    check "$L: sync before the crash" sync
    check "$L: two orphan file slots in use" nslots /dev/$dev $B 2
    check "$L: the classic chain unused" [ -z "$(last_orphan /dev/$dev)" ]
done

# The in-kernel ext4 crashes with an orphan in its orphan file.
check "ext4: mkfs.ext4 -O orphan_file" mkfs.ext4 -q -F -O orphan_file -b 4096 /dev/vdc
notes="${notes}ext4 $(counts /dev/vdc)
"
mkdir -p /mnt/ext4
check "ext4: mount" mount -t ext4 -o commit=1 /dev/vdc /mnt/ext4
check "ext4: a file to hold open" sh -c "yes ext4 | head -c 40000 > /mnt/ext4/held && sync"
ino=$(stat -c %i /mnt/ext4/held)
exec 6< /mnt/ext4/held
check "ext4: rm while open" rm /mnt/ext4/held
check "ext4: sync" sync
check "ext4: its orphan file slot" in_slots /dev/vdc 4096 $ino
# A full orphan file: on vde (1 KiB blocks, an orphan file of one block,
# 254 slots), 256 files unlinked while open take every slot and then the
# classic chain (as ext4: the file does not grow); all are freed at their
# last close. Then the same again, and the reset with all 256 open.
check "full: mkfs.ext4 -O orphan_file, one block" \
    mkfs.ext4 -q -F -O orphan_file -E orphan_file_size=1 -b 1024 /dev/vde
mkfs_counts=$(counts /dev/vde)
M=/mnt/full
mkdir -p $M
check "full: mount read-write" mount -w -t rext4 -o data=journal,commit=1 /dev/vde $M
dir_before=$(stat -c %s $M)
# hold N: N files written and unlinked, each held open by a sleep.
hold() {
    pids=
    for i in $(seq 1 "$1"); do
        echo "$i" > $M/f$i || return 1
        sleep 600 < $M/f$i &
        pids="$pids $!"
    done
    # Every sleep has its file open before the names go.
    for p in $pids; do
        n=0
        until readlink /proc/$p/fd/0 | grep -q "^$M/f"; do
            n=$((n + 1))
            [ $n -lt 100 ] || return 1
            sleep 0.1
        done
    done
    for i in $(seq 1 "$1"); do rm $M/f$i || return 1; done
    sync
}
check "full: 256 files unlinked while open" hold 256
check "full: every slot taken" nslots /dev/vde 1024 254
check "full: the other two on the classic chain" sh -c "[ -n \"\$(dumpe2fs -h /dev/vde 2>/dev/null | sed -n 's/^First orphan inode: *//p')\" ]"
kill $pids
wait
check "full: sync after the last closes" sync
check "full: the slots free again" no_slots /dev/vde 1024
check "full: the chain empty again" [ -z "$(last_orphan /dev/vde)" ]
dir_after=$(stat -c %s $M)
check "full: umount" umount $M
check "full: e2fsck -fn clean" e2fsck -fn /dev/vde
# The root directory grew by the 256 names (a directory keeps its
# blocks); every other block and every inode is free again.
set -- $mkfs_counts
want="$(($1 - (dir_after - dir_before) / 1024)) $2 "
if [ "$(counts /dev/vde)" = "$want" ]; then
    pass "full: free counts back to mkfs's but the directory's growth" "$want"
else
    fail "full: free counts back to mkfs's but the directory's growth" "got '$(counts /dev/vde)', want '$want'"
fi
# What boot 2 compares with: the directory no longer grows.
notes="${notes}full $(counts /dev/vde)
"
check "full: mount for the crash" mount -w -t rext4 -o data=journal,commit=1 /dev/vde $M
check "full: 256 files unlinked while open (crash)" hold 256
check "full: every slot taken (crash)" nslots /dev/vde 1024 254
check "full: and the chain (crash)" [ -n "$(last_orphan /dev/vde)" ]
check "write the free counts to vdd" sh -c "printf '%s' \"$notes\" | dd of=/dev/vdd bs=4096 conv=sync,fsync 2>/dev/null"
sleep 2
echo "REXT4-CRASH-NOW $SCENARIO"
echo b > /proc/sysrq-trigger
sleep 10
fail "crash" "the guest did not reset"
