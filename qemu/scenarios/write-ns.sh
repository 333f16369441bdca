# Read-write mounts, namespace operations: create (empty regular files),
# mkdir, mknod (fifo, char, block, socket), symlink (fast and slow), link,
# unlink and rmdir, with data=journal,journal_checksum, on four images
# made here (the host only gives empty disks):
#   vda "1k"   plain mkfs.ext4 -b 1024 (64 MiB)
#   vdb "4k"   plain mkfs.ext4 -b 4096 (64 MiB)
#   vdc "tree" mkfs.ext4 -b 1024 -d of a small tree (64 MiB), so the
#              operations also change directories and files ext4 wrote
#   vdd "full" mkfs.ext4 -b 1024 -N 64 (8 MiB): inodes run out
# Per image (1k, 4k, tree): the same operations run on the mount and on a
# tmpfs copy (the reference); checks on the mount of link counts (files and
# directories: 2 + subdirectories), symlink targets read back exactly, the
# errno of failing operations (EEXIST, ENOENT, ENAMETOOLONG at 256 bytes,
# ENOTEMPTY, ENOTDIR, EISDIR, EPERM), statfs's free inode and block counts
# (down by exactly the new inodes and their blocks, back exactly after
# everything is deleted), an unlinked file or directory held open keeps its
# inode (and blocks) until closed; then the tree's manifest
# (qemu/scenarios/manifest.sh) on the mount equals the reference's (mtimes
# aside), ext4's after the unmount and a remount's; e2fsck -fn clean after
# the operations and after deleting everything; no error-level kernel
# messages from the filesystem. On "full": creating files until the inodes
# run out ends in ENOSPC after exactly the free inodes, and deleting them
# all gives every inode and block back.
#
# Kernel arguments: rext4.fstype=ext4|rext4 (required; no default): the
# filesystem the operations run on. rext4 is loaded with
# experimental_write=1; with ext4 (run ext4-itself-write-ns) the same checks
# are made of the in-kernel ext4, which checks the checks. The reference
# reads after the unmount are always the in-kernel ext4's.
SCENARIO=write-ns
. /scenarios/lib.sh

FS=$(sed -n 's/.*rext4\.fstype=\([^ ]*\).*/\1/p' /proc/cmdline)
case "$FS" in
    ext4 | rext4) echo "write-ns: filesystem type $FS" ;;
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

OPTS=data=journal,journal_checksum
fsmount() { mount -w -t "$FS" -o $OPTS "$1" "$2"; }
manifest() { sh /scenarios/manifest.sh "$1"; }
# difference A B: how many manifest lines differ, then the first line
# only in A and the first only in B (the whole diff is on the console).
difference() {
    diff "$1" "$2" > /tmp/diff.out
    echo "$(grep -c '^-[^-]' /tmp/diff.out) lines only in $1, $(grep -c '^+[^+]' /tmp/diff.out) only in $2;" \
        "first: $(grep -m1 '^-[^-]' /tmp/diff.out) / $(grep -m1 '^+[^+]' /tmp/diff.out)"
    head -40 /tmp/diff.out >&2
}
# The manifest without its mtime column (the reference tree's times differ).
manifest_nt() { manifest "$1" | cut -f1-7,9-; }
# statfs of DIR after a sync: "BFREE FFREE" ("-1 -1" if statfs fails: an
# empty value would end the script at the next arithmetic expansion).
counts() {
    local c
    sync
    c=$(rext4probe statfs "$1" | sed -n 's/.* bfree=\([0-9]*\) .* ffree=\([0-9]*\) .*/\1 \2/p')
    echo "${c:--1 -1}"
}
# A name of N bytes starting with C: C then "_", digits and letters.
name_of() {
    awk -v n="$1" -v c="$2" 'BEGIN { s = c; while (length(s) < n) s = s "_0123456789abcdefghijklmnopqrstuvwxyz"; print substr(s, 1, n) }'
}
# A symlink target of N bytes: components of 9 letters and a "/".
target_of() {
    awk -v n="$1" 'BEGIN { s = ""; while (length(s) < n) s = s "abcdefghi/"; s = substr(s, 1, n); print s }'
}
# expect_err NAME ERRNO OP ARG...: rext4probe try OP ARG... fails with ERRNO.
expect_err() {
    local name=$1 want=$2 got; shift 2
    got=$(rext4probe try "$@" 2>&1)
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "try $1: got $got, want $want"; fi
}
# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1" "$2"; else fail "$1" "got '$2', want '$3'"; fi
}
nlink() { stat -c %h "$1"; }
# journal_ok NAME DEV: no "Aborting journal" in the kernel log since the
# last mark_dmesg and no errno recorded in DEV's journal superblock (jbd2
# keeps the abort's errno there: -30 EROFS, -5 EIO, -117 EFSCORRUPTED).
journal_ok() {
    local why
    why="$(dmesg | grep -m1 'Aborting journal')$(dumpe2fs -h "$2" 2>/dev/null | grep -i 'journal errno')"
    if [ -z "$why" ]; then pass "$1"; else fail "$1" "$why"; fi
}
# step NAME CMD...: on the mount a check "$L: NAME"; on the reference
# (REF=1) CMD must succeed too, else the reference check fails.
step() {
    local name=$1; shift
    if [ "${REF:-0}" = 1 ]; then
        "$@" >/tmp/ref.out 2>&1 || { ref_ok=0; echo "reference: '$*' failed: $(tail -c 300 /tmp/ref.out)"; }
    else
        check "$L: $name" "$@"
    fi
}

# The operations, on the tree under $1 (a new directory "ns" in it), block
# size $2: the same for the mount and the reference.
big_names() { # DIR N: N names of ~200 bytes
    awk -v d="$1" -v n="$2" 'BEGIN { p = ""; while (length(p) < 190) p = p "-long-entry-name"
        for (i = 1; i <= n; i++) printf "%s/n%04d%s\n", d, i, substr(p, 1, 190) }'
}
dnames() { awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++) printf "d%02d\n", i }'; }
mk_nested() { mkdir -p "$1/deep/l01/l02/l03/l04/l05/l06/l07/l08/l09/l10/l11/l12/l13/l14/l15/l16"; }
mk_many() { mkdir "$1/many" && (cd "$1/many" && mkdir $(dnames 1 40)); }
mk_big() { mkdir "$1/big" && big_names "$1/big" 300 | xargs touch; }
mk_spread() { (cd "$1/many" && for d in $(dnames 1 40); do echo $d/f1 $d/f2 $d/f3 $d/f4 $d/f5; done | xargs touch); }
mk_nodes() {
    mkdir "$1/dev" && rext4probe try mkfifo "$1/dev/fifo" && rext4probe try mkchr "$1/dev/null" 1 3 &&
        rext4probe try mkblk "$1/dev/loop0" 7 0 && rext4probe try mkchr "$1/dev/bigdev" 300 70000 &&
        rext4probe try mkblk "$1/dev/bigblk" 4095 1048575 && rext4probe try mksock "$1/dev/sock"
}
symlens() { # the symlink target lengths for block size $1 (ext4: up to B-1)
    echo 1 59 60 500 $(($1 - 1))
    [ "$1" -gt 4000 ] && echo 4000
    return 0
}
mk_symlinks() {
    local n
    mkdir "$1/sym" || return 1
    for n in $(symlens "$2"); do ln -s "$(target_of $n)" "$1/sym/s$n" || return 1; done
    ln -s "../big/$(big_names . 1 | cut -c3-)" "$1/sym/tobig"
}
mk_links() { touch "$1/h" && ln "$1/h" "$1/h2" && ln "$1/h" "$1/many/d01/h3" && ln "$1/h" "$1/deep/l01/h4"; }
mk_255() {
    touch "$1/$(name_of 255 a)" && mkdir "$1/$(name_of 255 b)" && ln -s x "$1/$(name_of 255 c)" &&
        mkfifo "$1/$(name_of 255 d)" && ln "$1/h" "$1/$(name_of 255 e)" &&
        touch "$1/$(name_of 255 b)/$(name_of 255 f)"
}
rm_some() {
    big_names "$1/big" 300 | awk 'NR % 2 == 1' | xargs rm &&
        (cd "$1/many" && for d in $(dnames 21 40); do echo $d/f1 $d/f2 $d/f3 $d/f4 $d/f5; done | xargs rm) &&
        (cd "$1/many" && rmdir $(dnames 21 40)) &&
        rm "$1/h2" && rmdir "$1/deep/l01/l02/l03/l04/l05/l06/l07/l08/l09/l10/l11/l12/l13/l14/l15/l16" &&
        rmdir "$1/deep/l01/l02/l03/l04/l05/l06/l07/l08/l09/l10/l11/l12/l13/l14/l15" &&
        rm "$1/dev/loop0" "$1/dev/sock" "$1/sym/s1" && unlink "$1/$(name_of 255 a)"
}
ops() { # ROOT B
    local r=$1/ns
    step "mkdir ns" mkdir "$r"
    step "mkdir nested (16 levels)" mk_nested "$r"
    step "mkdir 40 subdirectories" mk_many "$r"
    step "create 300 files of 200-byte names in one directory" mk_big "$r"
    step "create 5 files in each of 40 subdirectories" mk_spread "$r"
    step "mknod fifo, char, block, socket" mk_nodes "$r"
    step "symlinks" mk_symlinks "$r" "$2"
    step "hard links" mk_links "$r"
    step "255-byte names" mk_255 "$r"
}
ops2() { step "unlink and rmdir half" rm_some "$1/ns"; }

# The tree image's source and the extra operations on what ext4 wrote.
mkdir -p /t/tree/sub /t/tree/empty /t/tree/ext /mnt /mnt2
echo hello > /t/tree/a.txt
yes 0123456789 | head -c 70000 > /t/tree/sub/b.bin
yes abc | head -c 5000 > /t/tree/sub/c.txt
ln /t/tree/sub/c.txt /t/tree/c-link
ln -s a.txt /t/tree/link
mkfifo /t/tree/fifo
for i in $(seq 1 30); do echo $i > /t/tree/ext/e$i; done
mk_sub() { big_names "$1/sub" 100 | xargs touch; }
mk_extra() { ln "$1/a.txt" "$1/ext/a2" && ln -s ../a.txt "$1/ext/sa" && mkdir "$1/sub/new" && mkdir "$1/ext/e3"; }
ops_tree() { # ROOT: changes to directories and files ext4 wrote
    step "100 long names into a directory ext4 wrote" mk_sub "$1"
    step "unlink ext4's files" rm "$1/ext/e3" "$1/ext/e7" "$1/ext/e30" "$1/c-link"
    step "rmdir a directory ext4 made" rmdir "$1/empty"
    step "link, symlink, mkdir in ext4's directories" mk_extra "$1"
}

blocks_of() { # the blocks (of B bytes) held by the distinct inodes under DIR
    find "$1" -exec stat -c '%i %b' {} + | sort -u | awk -v b="$2" '{ s += $2 } END { print s * 512 / b }'
}
inodes_of() { find "$1" -exec stat -c %i {} + | sort -u | wc -l; }
# hold PATH: a background sleep holds PATH open as its stdin, its pid in
# $held, once /proc shows it open (a failed `exec 3< PATH` would end the
# script instead). release PID ends it.
hold() {
    sleep 600 < "$1" &
    held=$!
    local i=0
    while [ $i -lt 100 ] && [ -e /proc/$held ] && [ "$(readlink /proc/$held/fd/0)" != "$1" ]; do
        usleep 50000
        i=$((i + 1))
    done
}
release() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

for img in "1k 1024 vda" "4k 4096 vdb" "tree 1024 vdc"; do
    set -- $img
    L=$1 B=$2 dev=/dev/$3
    mark_dmesg
    if [ $L = tree ]; then
        check "$L: mkfs.ext4 -d" mkfs.ext4 -q -F -b $B -d /t/tree $dev
        ref=/t/tree
    else
        check "$L: mkfs.ext4" mkfs.ext4 -q -F -b $B $dev
        ref=/tmp/ref-$L
        mkdir -p $ref
    fi
    check "$L: mount read-write" fsmount $dev /mnt || continue
    ref_ok=1

    if [ $L = tree ]; then
        # ext4's data blocks freed by an unlink, when the last reference
        # goes: b.bin stays readable through an open descriptor.
        set -- $(counts /mnt)
        tb0=$1 ti0=$2
        bb=$(stat -c %b /mnt/sub/b.bin)
        bb=$((${bb:-0} * 512 / B))
        sum=$(sha256sum < /mnt/sub/b.bin)
        hold /mnt/sub/b.bin
        check "$L: unlink an open file ext4 wrote" rm /mnt/sub/b.bin
        expect_eq "$L: open unlinked: nlink 0" "$(stat -L -c %h /proc/$held/fd/0)" 0
        expect_eq "$L: open unlinked: content still read" "$(sha256sum < /proc/$held/fd/0)" "$sum"
        expect_eq "$L: open unlinked: inode and blocks kept" "$(counts /mnt)" "$tb0 $ti0"
        release $held
        expect_eq "$L: closed: its inode and blocks freed" "$(counts /mnt)" "$((tb0 + bb)) $((ti0 + 1))"
        rm /t/tree/sub/b.bin
        REF=1; ops_tree /t/tree; REF=0
        ops_tree /mnt
    fi

    # The namespace operations on the mount, with link counts and statfs.
    set -- $(counts /mnt)
    b0=$1 i0=$2
    ops /mnt $B
    expect_eq "$L: directory nlink is 2 + 40 subdirectories" "$(nlink /mnt/ns/many)" 42
    expect_eq "$L: ns nlink counts its subdirectories" "$(nlink /mnt/ns)" 8
    expect_eq "$L: 300 entries in the big directory" "$(ls /mnt/ns/big | wc -l)" 300
    dsize=$(stat -c %s /mnt/ns/big)
    if [ "$dsize" -ge $((B * 10)) ]; then
        pass "$L: big directory spans many blocks" "$((dsize / B)) blocks"
    else
        fail "$L: big directory spans many blocks" "size $dsize"
    fi
    expect_eq "$L: hard link count 5" "$(nlink /mnt/ns/h)" 5
    expect_eq "$L: hard links share the inode" \
        "$(stat -c %i /mnt/ns/h2 /mnt/ns/many/d01/h3 /mnt/ns/deep/l01/h4 "/mnt/ns/$(name_of 255 e)" | sort -u)" \
        "$(stat -c %i /mnt/ns/h)"
    bad=
    for n in $(symlens $B); do
        [ "$(readlink /mnt/ns/sym/s$n)" = "$(target_of $n)" ] || bad="$bad s$n"
        [ "$(stat -c %s /mnt/ns/sym/s$n)" = $n ] || bad="$bad size-s$n"
    done
    expect_eq "$L: readlink returns each target exactly ($(symlens $B | tr '\n' ' ' | sed 's/ *$//') bytes)" "${bad:-none}" none
    check "$L: symlink to a file resolves" test -f /mnt/ns/sym/tobig
    expect_eq "$L: device numbers" "$(stat -c '%F %t %T' /mnt/ns/dev/null /mnt/ns/dev/loop0 /mnt/ns/dev/bigdev /mnt/ns/dev/bigblk | tr '\n' ';')" \
        "character special file 1 3;block special file 7 0;character special file 12c 11170;block special file fff fffff;"
    check "$L: fifo and socket types" sh -c 'test -p /mnt/ns/dev/fifo && test -S /mnt/ns/dev/sock'
    set -- $(counts /mnt)
    expect_eq "$L: free inodes down by the new inodes" "$((i0 - $2))" "$(inodes_of /mnt/ns)"
    expect_eq "$L: free blocks down by the new inodes' blocks" "$((b0 - $1))" "$(blocks_of /mnt/ns $B)"

    # Failing operations: the exact errno, and nothing changed (the
    # manifest comparison below).
    n255=$(name_of 255 a)
    n256=$(name_of 256 z)
    expect_err "$L: create existing name EEXIST" EEXIST create /mnt/ns/h
    expect_err "$L: mkdir existing directory EEXIST" EEXIST mkdir /mnt/ns/many
    expect_err "$L: mkdir over a file EEXIST" EEXIST mkdir /mnt/ns/h
    expect_err "$L: symlink existing name EEXIST" EEXIST symlink x /mnt/ns/dev/fifo
    expect_err "$L: mknod existing name EEXIST" EEXIST mkfifo /mnt/ns/sym/s59
    expect_err "$L: link to existing name EEXIST" EEXIST link /mnt/ns/h /mnt/ns/many/d01/h3
    expect_err "$L: create in a missing directory ENOENT" ENOENT create /mnt/ns/nodir/f
    expect_err "$L: mkdir in a missing directory ENOENT" ENOENT mkdir /mnt/ns/nodir/d
    expect_err "$L: symlink in a missing directory ENOENT" ENOENT symlink x /mnt/ns/nodir/s
    expect_err "$L: mknod in a missing directory ENOENT" ENOENT mkchr /mnt/ns/nodir/c 1 3
    expect_err "$L: link into a missing directory ENOENT" ENOENT link /mnt/ns/h /mnt/ns/nodir/h
    expect_err "$L: link of a missing file ENOENT" ENOENT link /mnt/ns/nofile /mnt/ns/h9
    expect_err "$L: unlink a missing name ENOENT" ENOENT unlink /mnt/ns/nofile
    expect_err "$L: rmdir a missing name ENOENT" ENOENT rmdir /mnt/ns/nofile
    expect_err "$L: create 256-byte name ENAMETOOLONG" ENAMETOOLONG create "/mnt/ns/$n256"
    expect_err "$L: mkdir 256-byte name ENAMETOOLONG" ENAMETOOLONG mkdir "/mnt/ns/$n256"
    expect_err "$L: symlink 256-byte name ENAMETOOLONG" ENAMETOOLONG symlink x "/mnt/ns/$n256"
    expect_err "$L: mknod 256-byte name ENAMETOOLONG" ENAMETOOLONG mkfifo "/mnt/ns/$n256"
    expect_err "$L: link 256-byte name ENAMETOOLONG" ENAMETOOLONG link /mnt/ns/h "/mnt/ns/$n256"
    expect_err "$L: unlink 256-byte name ENAMETOOLONG" ENAMETOOLONG unlink "/mnt/ns/$n256"
    expect_err "$L: symlink target of the block size ENAMETOOLONG" ENAMETOOLONG symlink "$(target_of $B)" /mnt/ns/sym/toolong
    expect_err "$L: rmdir non-empty ENOTEMPTY" ENOTEMPTY rmdir /mnt/ns/many
    expect_err "$L: rmdir of a directory holding only a file ENOTEMPTY" ENOTEMPTY rmdir "/mnt/ns/$(name_of 255 b)"
    expect_err "$L: rmdir of a file ENOTDIR" ENOTDIR rmdir /mnt/ns/h
    expect_err "$L: mkdir under a file ENOTDIR" ENOTDIR mkdir /mnt/ns/h/d
    expect_err "$L: unlink of a directory EISDIR" EISDIR unlink /mnt/ns/many/d02
    expect_err "$L: link of a directory EPERM" EPERM link /mnt/ns/many/d02 /mnt/ns/d02link

    ops2 /mnt
    expect_eq "$L: nlink after rmdir of 20 subdirectories" "$(nlink /mnt/ns/many)" 22
    expect_eq "$L: hard link count after unlink" "$(nlink /mnt/ns/h)" 4
    expect_eq "$L: 150 entries left in the big directory" "$(ls /mnt/ns/big | wc -l)" 150
    expect_eq "$L: the right 150 left" "$(ls /mnt/ns/big | sha256sum)" \
        "$(big_names . 300 | awk 'NR % 2 == 0' | cut -c3- | sort | sha256sum)"

    # Unlinked but open: the inode stays until the last close.
    touch /mnt/ns/open1 && mkdir /mnt/ns/opendir
    set -- $(counts /mnt)
    nl_ns=$(nlink /mnt/ns)
    hold /mnt/ns/open1
    h1=$held
    hold /mnt/ns/opendir
    h2=$held
    check "$L: unlink an open file" rm /mnt/ns/open1
    check "$L: rmdir an open directory" rmdir /mnt/ns/opendir
    check_fails "$L: unlinked names are gone" sh -c 'ls -d /mnt/ns/open1 || ls -d /mnt/ns/opendir'
    expect_eq "$L: parent nlink drops at rmdir" "$(nlink /mnt/ns)" $((nl_ns - 1))
    expect_eq "$L: open unlinked file nlink 0" "$(stat -L -c %h /proc/$h1/fd/0)" 0
    expect_eq "$L: open unlinked inodes kept" "$(counts /mnt)" "$1 $2"
    release $h1
    release $h2
    expect_eq "$L: closed: both inodes and the directory block freed" "$(counts /mnt)" "$(($1 + 1)) $(($2 + 2))"

    # The reference: the same operations on tmpfs.
    REF=1; ops $ref $B; ops2 $ref; REF=0
    if [ $ref_ok = 1 ]; then pass "$L: reference tree on tmpfs"; else fail "$L: reference tree on tmpfs" "see the console"; fi
    manifest /mnt > /tmp/m.$L
    manifest_nt $ref > /tmp/ref.$L
    if [ -s /tmp/ref.$L ] && cut -f1-7,9- /tmp/m.$L | cmp -s - /tmp/ref.$L; then
        pass "$L: tree is what the operations made" "$(wc -l < /tmp/m.$L) entries"
    else
        fail "$L: tree is what the operations made" "$(cut -f1-7,9- /tmp/m.$L > /tmp/mnt.$L; difference /tmp/ref.$L /tmp/mnt.$L)"
    fi

    check "$L: umount" umount /mnt
    journal_ok "$L: journal not aborted" $dev
    check "$L: e2fsck -fn clean" e2fsck -fn $dev
    check "$L: ext4 reads it" mount -t ext4 -o ro $dev /mnt2
    manifest /mnt2 > /tmp/e.$L
    umount /mnt2
    if [ -s /tmp/m.$L ] && cmp -s /tmp/m.$L /tmp/e.$L; then
        pass "$L: ext4 sees what was written" "$(wc -l < /tmp/e.$L) entries"
    else
        fail "$L: ext4 sees what was written" "$(difference /tmp/m.$L /tmp/e.$L)"
    fi
    check "$L: 59-byte symlink fast, 60-byte one in a block" sh -c \
        "debugfs -R 'stat /ns/sym/s59' $dev 2>/dev/null | grep -q 'Fast link dest: ' &&
         ! debugfs -R 'stat /ns/sym/s60' $dev 2>/dev/null | grep -q 'Fast link dest' &&
         debugfs -R 'stat /ns/sym/s60' $dev 2>/dev/null | grep -q '^(0):\|EXTENTS'"

    check "$L: mount again" fsmount $dev /mnt || continue
    manifest /mnt > /tmp/r.$L
    if cmp -s /tmp/m.$L /tmp/r.$L; then
        pass "$L: remount reads the same tree"
    else
        fail "$L: remount reads the same tree" "$(difference /tmp/m.$L /tmp/r.$L)"
    fi
    check "$L: delete everything made" rm -rf /mnt/ns
    expect_eq "$L: free inodes and blocks back exactly" "$(counts /mnt)" "$b0 $i0"
    check "$L: umount after deleting" umount /mnt
    journal_ok "$L: journal not aborted after deleting" $dev
    check "$L: e2fsck -fn clean after deleting" e2fsck -fn $dev
    if dmesg -r | grep -E '^<[0-3]>.*(rext4|EXT4-fs)' > /tmp/errs; then
        fail "$L: no filesystem errors logged" "$(head -3 /tmp/errs)"
    else
        pass "$L: no filesystem errors logged"
    fi
done

# Out of inodes.
L=full
mark_dmesg
check "$L: mkfs.ext4 -N 64" mkfs.ext4 -q -F -b 1024 -N 64 /dev/vdd
if check "$L: mount read-write" fsmount /dev/vdd /mnt; then
    set -- $(counts /mnt)
    b0=$1 i0=$2
    mkdir /mnt/d
    n=0 r=ok
    while [ $n -lt 200 ]; do
        r=$(rext4probe try create /mnt/d/file-$n 2>&1) || break
        n=$((n + 1))
    done
    expect_eq "$L: creating until the inodes run out ends in ENOSPC" "$r" ENOSPC
    expect_eq "$L: as many files as free inodes" $n $((i0 - 1))
    expect_eq "$L: statfs: no free inode" "$(counts /mnt | cut -d' ' -f2)" 0
    expect_err "$L: mkdir ENOSPC" ENOSPC mkdir /mnt/d/dir
    expect_err "$L: symlink ENOSPC" ENOSPC symlink "$(target_of 500)" /mnt/d/sym
    expect_err "$L: mknod ENOSPC" ENOSPC mkfifo /mnt/d/fifo
    check "$L: link still works" ln /mnt/d/file-0 /mnt/d/link
    check "$L: umount" umount /mnt
    journal_ok "$L: journal not aborted" /dev/vdd
    check "$L: e2fsck -fn clean" e2fsck -fn /dev/vdd
    check "$L: mount again" fsmount /dev/vdd /mnt
    check "$L: delete everything" rm -rf /mnt/d
    expect_eq "$L: free inodes and blocks back exactly" "$(counts /mnt)" "$b0 $i0"
    check "$L: create after the delete" rext4probe try create /mnt/again
    check "$L: umount after deleting" umount /mnt
    journal_ok "$L: journal not aborted after deleting" /dev/vdd
    check "$L: e2fsck -fn clean after deleting" e2fsck -fn /dev/vdd
fi
if dmesg -r | grep -E '^<[0-3]>.*(rext4|EXT4-fs)' > /tmp/errs; then
    fail "$L: no filesystem errors logged" "$(head -3 /tmp/errs)"
else
    pass "$L: no filesystem errors logged"
fi
