# htree upkeep on read-write mounts (data=journal,journal_checksum):
#   vda "1k"     mkfs.ext4 -b 1024 here (128 MiB, 40000 inodes)
#   vdb "4k"     mkfs.ext4 -b 4096 here (128 MiB)
#   vdc "nlink"  made by the in-kernel ext4 (mkwide): many/ with 64990
#                subdirectories, an htree of two levels
# On 1k and 4k: one directory grows under rext4 from one block to an
# indexed one (6000 names on 1k: two index levels; 3000 on 4k: one),
# rext4 lists and looks up every name and no absent one, and e2fsck -fn
# (which checks every index block, its checksum and the hash ranges of the
# leaves) is clean; ext4 lists the same names and looks each up. Then, on
# 1k, rext4 removes every third name, adds names again, reads the
# directory while adding more (every name listed once), renames inside
# the directory and out of it, makes and removes subdirectories, moves a
# directory in (link count 2 + subdirectories), moves the indexed
# directory to another parent (its ".." in the index root) and back, and
# e2fsck and ext4 agree again. On nlink, dir_nlink: rext4 takes many/
# past 65000 subdirectories, its link count reads 1 under rext4, ext4 and
# e2fsck, and stays 1 when one is removed; ext4 lists the same names. No
# error-level kernel message from the filesystems.
SCENARIO=write-htree
. /scenarios/lib.sh

check "load rext4" sh -c 'if grep -q "^rext4 " /proc/modules; then rmmod rext4 || exit 1; fi
    insmod /rext4/rext4.ko experimental_write=1'
OPTS=data=journal,journal_checksum
mark_dmesg

# levels DEV DIR: "Indirect levels" of DIR's htree root (debugfs), or
# "none" when DIR is not indexed.
levels() {
    debugfs -R "htree_dump $2" "$1" 2>/dev/null | sed -n 's/^[[:space:]]*Indirect levels: *//p' | head -1 | grep . || echo none
}
# listing DIR OUT: the sorted names of DIR.
listing() { ls -a "$1" | LC_ALL=C sort > "$2"; }
same_list() { # NAME A B
    if cmp -s "$2" "$3"; then pass "$1"
    else fail "$1" "$(wc -l < "$2") vs $(wc -l < "$3") names: $(diff "$2" "$3" | grep '^[<>]' | head -3 | tr '\n' ' ')"; fi
}
expect_eq() { # NAME GOT WANT
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}
# ext4_agrees L DEV [lookup] DIR...: e2fsck, then ext4 lists what rext4
# listed last (/tmp/L-DIR.r) and, with "lookup", finds every name.
ext4_agrees() {
    l=$1 dev=$2
    shift 2
    lookup=
    [ "$1" = lookup ] && { lookup=1; shift; }
    check "$l: e2fsck -fn clean" e2fsck -fn "$dev"
    check "$l: ext4 mounts" mount -t ext4 -o ro,noload "$dev" /mnt
    for d in "$@"; do
        listing "/mnt/$d" "/tmp/$l-$d.e"
        same_list "$l: ext4 lists $d as rext4 did" "/tmp/$l-$d.r" "/tmp/$l-$d.e"
        [ -n "$lookup" ] && check "$l: ext4 finds every name of $d" benchtool lookup "/mnt/$d"
    done
    check "$l: ext4 umount" umount /mnt
}

grow() { # L DEV N LEVELS
    l=$1 dev=$2 n=$3
    check "$l: rext4 mount" mount -t rext4 -o $OPTS "$dev" /mnt
    mkdir -p /mnt/d /mnt/other
    check "$l: $n files in one directory" widegen files /mnt/d "$n"
    listing /mnt/d "/tmp/$l-d.r"
    expect_eq "$l: rext4 lists every name" "$(wc -l < "/tmp/$l-d.r")" $((n + 2))
    check "$l: rext4 finds every name" benchtool lookup /mnt/d
    check "$l: rext4 finds no absent name" benchtool lookup /mnt/d absent
    check "$l: umount" umount /mnt
    expect_eq "$l: index levels under the root" "$(levels "$dev" /d)" "$4"
    ext4_agrees "$l" "$dev" lookup d
}

churn() { # L DEV N LEVELS
    l=$1 dev=$2 n=$3
    check "$l: rext4 mount again" mount -t rext4 -o $OPTS "$dev" /mnt
    (cd /mnt/d && ls | awk 'NR % 3 == 0' | xargs rm -f --)
    expect_eq "$l: a third of the names removed" "$(ls /mnt/d | wc -l)" $((n - n / 3))
    check "$l: names added again" widegen files /mnt/d $((n / 2)) "$n"
    # Read in hash order: names moved by splits under a reader are listed
    # once; a position sought back to resumes at the next name.
    check "$l: readdir while leaves split" widegen readdirchurn /mnt/d 1500 $((n - n / 3 + n / 2))
    i=0
    ok=0
    for f in $(ls /mnt/d | head -150); do
        if [ $((i % 2)) = 0 ]; then mv "/mnt/d/$f" "/mnt/d/renamed-$f-with-a-longer-name" && ok=$((ok + 1))
        else mv "/mnt/d/$f" "/mnt/other/$f" && ok=$((ok + 1)); fi
        i=$((i + 1))
    done
    expect_eq "$l: 150 renames" "$ok" 150
    check "$l: 40 subdirectories" widegen mkdirs /mnt/d 40
    check "$l: 10 removed" sh -c 'for i in 0 1 2 3 4 5 6 7 8 9; do rmdir /mnt/d/s00000$i || exit 1; done'
    # A directory moves in from elsewhere: its ".." changes, the parents'
    # link counts follow.
    mkdir /mnt/other/sub
    check "$l: a directory moves into the indexed one" mv /mnt/other/sub /mnt/d/sub-moved-in
    expect_eq "$l: its .. names the indexed directory" "$(stat -c %i /mnt/d/sub-moved-in/..)" "$(stat -c %i /mnt/d)"
    expect_eq "$l: link count 2 + 31 subdirectories" "$(stat -c %h /mnt/d)" 33
    # An indexed directory moves under another parent: ".." in its root.
    check "$l: an indexed directory moves" mv /mnt/d /mnt/other/d
    expect_eq "$l: its .. is the new parent" "$(stat -c %i /mnt/other/d/..)" "$(stat -c %i /mnt/other)"
    check "$l: and back" mv /mnt/other/d /mnt/d
    listing /mnt/d "/tmp/$l-churn-d.r"
    listing /mnt/other "/tmp/$l-churn-other.r"
    check "$l: rext4 finds every name after the changes" benchtool lookup /mnt/d
    check "$l: umount after the changes" umount /mnt
    expect_eq "$l: still indexed" "$(levels "$dev" /d)" "$4"
    ext4_agrees "$l-churn" "$dev" lookup d other
}

check "1k: mkfs" mkfs.ext4 -q -F -b 1024 -N 40000 /dev/vda
grow 1k /dev/vda 6000 1
churn 1k /dev/vda 6000 1

check "4k: mkfs" mkfs.ext4 -q -F -b 4096 /dev/vdb
grow 4k /dev/vdb 3000 0

# dir_nlink: past 65000 subdirectories the link count reads 1.
check "nlink: rext4 mount" mount -t rext4 -o $OPTS /dev/vdc /mnt
expect_eq "nlink: link count 64992" "$(stat -c %h /mnt/many)" 64992
check "nlink: 20 more subdirectories" sh -c 'for i in $(seq 1 20); do mkdir /mnt/many/x$i || exit 1; done'
expect_eq "nlink: link count 1 past 65000" "$(stat -c %h /mnt/many)" 1
check "nlink: rmdir of one" rmdir /mnt/many/x1
expect_eq "nlink: link count stays 1" "$(stat -c %h /mnt/many)" 1
listing /mnt/many /tmp/nlink-many.r
expect_eq "nlink: rext4 lists every subdirectory" "$(wc -l < /tmp/nlink-many.r)" $((64990 + 19 + 2))
check "nlink: umount" umount /mnt
ext4_agrees nlink /dev/vdc many
check "nlink: ext4 mounts again" mount -t ext4 -o ro,noload /dev/vdc /mnt
expect_eq "nlink: ext4 reads link count 1" "$(stat -c %h /mnt/many)" 1
check "nlink: ext4 umount again" umount /mnt

if dmesg -r | grep -E '^<[0-3]>.*(rext4|EXT4-fs)' > /tmp/errs; then
    fail "no error-level messages from the filesystems" "$(head -3 /tmp/errs)"
else
    pass "no error-level messages from the filesystems"
fi
