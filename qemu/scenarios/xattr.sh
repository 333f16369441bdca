# Extended attributes and POSIX ACLs: the in-kernel ext4 writes them on an
# empty image (/dev/vda, default features), then the same image is read
# by ext4 (read-only) and by rext4, and everything observable is
# compared: getfattr of every entry (as root and as an ordinary user),
# getxattr/listxattr results for buffer sizes around the value size, and
# the access decisions (open, readdir, lookup, access(2)) of several users
# and groups named in the ACLs. Then damaged attribute blocks: a bad
# checksum (vda), and a bad block entry and a bad in-inode entry on a
# filesystem without metadata_csum (/dev/vdb), are clean errors with a
# message.
SCENARIO=xattr
. /scenarios/lib.sh
M=/mnt
T=$M/t
O=/tmp/xattr
mkdir -p $O

# repeat CHAR N: CHAR N times.
repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; }

# Run in a subshell, outside any condition, so that set -e stops it.
build_tree() {
    set -e
    mkdir $T
    cd $T
    # Small values: in the inode body.
    echo small > small
    setfattr -n user.a -v 1 small
    setfattr -n user.bb -v two small
    setfattr -n security.sec -v hello small
    setfattr -n trusted.t -v x small
    setfattr -n user.empty small
    # A value too big for the inode body: the attribute block.
    echo big > big
    setfattr -n user.big -v "$(repeat A 3000)" big
    setfattr -n user.in -v i big
    # Many names: the inode body fills, the rest goes to the block.
    echo many > many
    i=0
    while [ $i -lt 40 ]; do
        setfattr -n "user.name$i" -v "value-$i-$(repeat x $((i % 7)))" many
        i=$((i + 1))
    done
    setfattr -n trusted.many -v "$(repeat t 100)" many
    # Identical attribute sets too big for the body: ext4 shares one block.
    for f in shared1 shared2; do
        echo $f > $f
        setfattr -n user.s1 -v "$(repeat s 200)" $f
        setfattr -n user.s2 -v "$(repeat r 300)" $f
    done
    # ACLs: named users and groups with a mask, denying what the mode bits
    # would grant (other has r).
    echo acl > acl-file
    chmod 0664 acl-file
    setfacl -m u:1001:r--,u:1002:---,g:2001:rw-,g:2002:---,m::rw- acl-file
    printf '#!/bin/sh\necho hi\n' > acl-exec
    chmod 0755 acl-exec
    setfacl -m u:1002:---,g:2001:r--,u:1003:rwx acl-exec
    echo owned > acl-owned
    chown 1001:2001 acl-owned
    chmod 0640 acl-owned
    setfacl -m u:1005:r--,g:2002:r--,m::r-- acl-owned
    # A directory with an access ACL (1002 may not list or search it) and
    # a default ACL, inherited by what is created in it afterwards.
    mkdir acl-dir
    chmod 0755 acl-dir
    echo before > acl-dir/before
    setfacl -m u:1002:---,g:2001:r-x,u:1004:--x acl-dir
    setfacl -d -m u:1001:rwx,u:1005:---,g:2002:r--,o::--- acl-dir
    echo inherited > acl-dir/file
    mkdir acl-dir/sub
    echo deeper > acl-dir/sub/file
    setfattr -n user.dir -v "on a directory" acl-dir
    # Special files with ACLs (write decisions are visible on them even on
    # a read-only mount).
    mkfifo acl-fifo
    chmod 0666 acl-fifo
    setfacl -m u:1002:r--,g:2001:---,m::rw- acl-fifo
    mknod acl-null c 1 3
    chmod 0666 acl-null
    setfacl -m u:1001:---,u:1003:r-- acl-null
    # Symlinks carry trusted./security. attributes (not user.).
    ln -s small link
    setfattr -h -n trusted.sym -v 1 link
    echo none > none
    cd /
}

# collect NAME: everything observable of the mounted tree into $O/NAME.*
collect() {
    local n=$1
    (cd $M && find t | sort) > $O/$n.entries
    rm -rf $O/$n.x
    mkdir -p $O/$n.x
    local p k=0
    while read -r p; do
        k=$((k + 1))
        getfattr -d -m - -h -e hex --absolute-names "$M/$p" > $O/$n.x/$k 2>&1
        echo "exit $?" >> $O/$n.x/$k
    done < $O/$n.entries
    # As an ordinary user: no trusted., user. only where readable (named
    # in sorted order: a recursive walk would follow readdir order).
    # shellcheck disable=SC2046
    aclcheck as 1005 1005 getfattr -d -m - -h -e hex --absolute-names \
        $(sed "s|^|$M/|" $O/$n.entries) > $O/$n.user 2>&1
    # The raw calls around the value sizes.
    {
        for a in "small user.a" "small user.bb" "small user.empty" "small trusted.t" \
                 "small security.sec" "small user.nope" "big user.big" "big user.in" \
                 "many user.name39" "many trusted.many" "shared2 user.s2" \
                 "acl-file system.posix_acl_access" "acl-dir system.posix_acl_default" \
                 "acl-dir system.posix_acl_access" "none system.posix_acl_access" \
                 "link system.posix_acl_access" "link trusted.sym" "small system.nope" \
                 "acl-fifo system.posix_acl_access"; do
            set -- $a
            size=$(aclcheck getx "$T/$1" "$2" 0 | sed 's/.*: //')
            for s in 0 1 "$size" 65536; do
                case "$s" in *[!0-9]*) continue ;; esac
                aclcheck getx "$T/$1" "$2" "$s"
                [ "$s" -gt 0 ] && aclcheck getx "$T/$1" "$2" $((s - 1))
            done
        done
        for f in small big many shared1 acl-dir acl-null link none; do
            size=$(aclcheck listx "$T/$f" 0 | sed 's/.*: //')
            aclcheck listx "$T/$f" 0
            aclcheck listx "$T/$f" "$size"
            [ "$size" -gt 0 ] && aclcheck listx "$T/$f" $((size - 1))
            aclcheck as 1005 1005 aclcheck listx "$T/$f" 65536
        done
        aclcheck getx $T/small bogus.x 100
        aclcheck as 1005 1005 aclcheck getx $T/small trusted.t 100
        aclcheck as 1002 1002 aclcheck getx $T/acl-file user.nope 100
        aclcheck as 1005 1005 aclcheck getx $T/acl-dir/file user.nope 100
    } > $O/$n.calls 2>&1
    # Access decisions.
    local paths
    paths=$(sed "s|^|$M/|" $O/$n.entries | tr '\n' ' ')
    for u in "0 0" "1001 1001" "1002 1002" "1003 2001" "1004 1004,2002" "1005 1005" "1006 1006,2001,2002"; do
        set -- $u
        # shellcheck disable=SC2086
        aclcheck access "$1" "$2" $paths > $O/$n.access-$1 2>&1
    done
}

# compare NAME FILE-A FILE-B: a check that FILE-B equals FILE-A.
compare() {
    if cmp -s "$2" "$3"; then
        pass "$1"
    else
        fail "$1" "$(diff "$2" "$3" | head -c 600)"
    fi
}

check "mount ext4" mount -t ext4 /dev/vda $M
(build_tree) > $O/build.log 2>&1
rc=$?
if [ $rc = 0 ]; then pass "ext4 writes the tree"; else fail "ext4 writes the tree" "rc $rc: $(tail -c 400 $O/build.log)"; fi
check "umount ext4" umount $M
acl2=$(debugfs -R "stat /t/shared2" /dev/vda 2>/dev/null | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')
acl1=$(debugfs -R "stat /t/shared1" /dev/vda 2>/dev/null | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')
if [ -n "$acl1" ] && [ "$acl1" != 0 ] && [ "$acl1" = "$acl2" ]; then
    pass "shared attribute block" "block $acl1"
else
    fail "shared attribute block" "shared1 $acl1, shared2 $acl2"
fi
bigblk=$(debugfs -R "stat /t/big" /dev/vda 2>/dev/null | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')
check "e2fsck -fn clean" e2fsck -fn /dev/vda

# The reference: ext4, read-only like rext4.
check "mount ext4 read-only" mount -t ext4 -o ro /dev/vda $M
collect ext4
check "umount ext4 read-only" umount $M

load_rext4
mark_dmesg
check "mount rext4" mount -t rext4 -o ro /dev/vda $M
collect rext4
check "umount rext4" umount $M
check "no errors logged" sh -c '! dmesg | grep -q "rext4 (vda):.*\(error\|corrupt\|mismatch\)"'

# For the log: what the comparisons compare.
cat $O/rext4.calls $O/rext4.access-1002 $O/rext4.access-1004
compare "entries" $O/ext4.entries $O/rext4.entries
k=0
while read -r p; do
    k=$((k + 1))
    compare "getfattr $p" $O/ext4.x/$k $O/rext4.x/$k
done < $O/ext4.entries
n=$(cat $O/ext4.x/* | grep -c '^[a-z]*\.')
if [ "$n" -ge 60 ]; then pass "attributes seen" "$n"; else fail "attributes seen" "only $n"; fi
compare "getfattr as uid 1005" $O/ext4.user $O/rext4.user
compare "getxattr and listxattr calls" $O/ext4.calls $O/rext4.calls
for u in 0 1001 1002 1003 1004 1005 1006; do
    compare "access as uid $u" $O/ext4.access-$u $O/rext4.access-$u
done
# The comparisons see what they should: ACLs deny what the mode allows.
check "ext4 denies uid 1002 by ACL" grep -q "^$T/acl-file open_r=EACCES" $O/ext4.access-1002
check "ext4 grants uid 1001 by ACL" grep -q "^$T/acl-dir/file open_r=ok" $O/ext4.access-1001
check "ERANGE on a short buffer" grep -q "^getx $T/big user.big 2999: ERANGE" $O/rext4.calls
check "listed names" grep -q "^listx $T/many [0-9]*: [0-9]* trusted.many user.name0 " $O/rext4.calls

# Mount options as 6.12's ext4 takes them.
check "acl,user_xattr accepted" mount -t rext4 -o ro,acl,user_xattr /dev/vda $M
check "umount after options" umount $M
check_fails "noacl refused (as ext4)" mount -t rext4 -o ro,noacl /dev/vda $M
check_fails "ext4 refuses noacl too" mount -t ext4 -o ro,noacl /dev/vda $M
grep -q " $M " /proc/mounts && umount $M

# A bad checksum: one value byte of big's attribute block changed.
if [ -n "$bigblk" ] && [ "$bigblk" != 0 ]; then
    printf 'B' | dd of=/dev/vda bs=1 seek=$((bigblk * 4096 + 4095)) conv=notrunc 2>/dev/null
    sync
    mark_dmesg
    check "mount rext4 after damage" mount -t rext4 -o ro /dev/vda $M
    getfattr -n user.big $T/big > $O/bad.out 2>&1
    if grep -q "Bad message" $O/bad.out; then pass "bad checksum: EBADMSG"; else fail "bad checksum: EBADMSG" "$(cat $O/bad.out)"; fi
    check_fails "bad checksum: listxattr fails" getfattr -d -m - $T/big
    dmesg_has "bad checksum: message" "rext4 \(vda\): inode #[0-9]+: xattr block $bigblk: xattr block checksum mismatch"
    check "bad checksum: file data still read" grep -q big $T/big
    check "bad checksum: other files unaffected" getfattr -n user.a $T/small
    check "umount after damage" umount $M
else
    fail "bad checksum: EBADMSG" "no attribute block found for big ($bigblk)"
fi

# A bad entry without a checksum to catch it: e_value_offs of the first
# entry of the block points outside the block.
check "mount ext4 (no metadata_csum)" mount -t ext4 /dev/vdb $M
echo f > $M/f
setfattr -n user.v -v "$(repeat A 2000)" $M/f
echo g > $M/g
setfattr -n user.i -v small $M/g
check "umount ext4 (no metadata_csum)" umount $M
nblk=$(debugfs -R "stat /f" /dev/vdb 2>/dev/null | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')
# g's in-inode area: 256-byte inodes with i_extra_isize 32, so the magic
# is at byte 160 and the first entry's e_value_offs at 166.
gloc=$(debugfs -R "imap /g" /dev/vdb 2>/dev/null | sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
if [ -n "$nblk" ] && [ "$nblk" != 0 ]; then
    printf '\360\377' | dd of=/dev/vdb bs=1 seek=$((nblk * 4096 + 34)) conv=notrunc 2>/dev/null
    sync
    mark_dmesg
    check "mount rext4 (no metadata_csum)" mount -t rext4 -o ro /dev/vdb $M
    getfattr -n user.v $M/f > $O/bad2.out 2>&1
    if grep -q "Structure needs cleaning" $O/bad2.out; then pass "bad entry: EUCLEAN"; else fail "bad entry: EUCLEAN" "$(cat $O/bad2.out)"; fi
    dmesg_has "bad entry: message" "rext4 \(vdb\): inode #[0-9]+: xattr block $nblk: corrupt xattr: e_value_offs"
    check "umount (no metadata_csum)" umount $M
else
    fail "bad entry: EUCLEAN" "no attribute block found for f ($nblk)"
fi
# A bad in-inode entry: the inode itself is refused when read (as ext4's
# iget), with a message.
set -- $gloc
if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then
    isz=$(dumpe2fs -h /dev/vdb 2>/dev/null | sed -n 's/^Inode size:[ ]*//p')
    xi=$(debugfs -R "stat /g" /dev/vdb 2>/dev/null | sed -n 's/.*Size of extra inode fields: \([0-9]*\).*/\1/p')
    printf '\360\377' | dd of=/dev/vdb bs=1 seek=$(($1 * 4096 + $2 + 128 + xi + 4 + 2)) conv=notrunc 2>/dev/null
    sync
    mark_dmesg
    check "mount rext4 (bad in-inode entry)" mount -t rext4 -o ro /dev/vdb $M
    stat $M/g > $O/bad3.out 2>&1
    if grep -q "Structure needs cleaning" $O/bad3.out; then pass "bad in-inode entry: EUCLEAN"; else fail "bad in-inode entry: EUCLEAN" "inode size $isz, extra $xi: $(cat $O/bad3.out)"; fi
    dmesg_has "bad in-inode entry: message" "rext4 \(vdb\): inode #[0-9]+: in-inode xattrs: corrupt xattr: e_value_offs"
    check "bad in-inode entry: other files unaffected" grep -q f $M/f
    check "umount (bad in-inode entry)" umount $M
else
    fail "bad in-inode entry: EUCLEAN" "g not located ($gloc)"
fi
check "rmmod" rmmod rext4
