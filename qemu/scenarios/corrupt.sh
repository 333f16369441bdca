# Corrupted images never crash the kernel: each mount of a corrupted image
# either fails with the right errno and a "rext4 (vdX): ..." message, or
# succeeds and then only the damaged file or directory fails, with the right
# errno and message, while the rest stays readable; every mount unmounts and
# rmmod works at the end. (qemu/vm.sh fails the boot on any BUG, WARNING,
# Oops or lockdep report on the console.)
#
# Disks (tools/mkcorrupt.sh OUTDIR; run with `qemu/vm.sh corrupt RESULTS
# $(cat OUTDIR/disks)`):
#   vda  params.disk: shell assignments (disk_<label>=vdX, inode numbers,
#        names) in its first 4 KiB, then the lsdir binary
#   vdb  cc-clean     metadata_csum, clean          (control)
#   vdc  cn-clean     no metadata_csum, clean       (control)
#   vdd  cc-gdesc     group 0's descriptor corrupt
#   vde  cc-inode     small.txt's inode corrupt
#   vdf  cc-extblock  frag.bin's extent leaf block corrupt
#   vdg  cn-extmagic  d1/medium.bin's extent root magic corrupt (no csum)
#   vdh  cc-htree     a leaf block of the htree directory big/ corrupt
#   vdi  cn-reclen    root directory record with rec_len 3 (no csum)
#   vdj  cn-badino    d1/d2's record of large.bin: inode 0xFFFFFF (no csum)
#   vdk  cc-recover   superblock flags needs_recovery
#   vdl  cc-dxroot    big/'s htree root (dx_root) checksum
#   vdm  cc-dxnode    huge/'s first htree interior node (dx_node) checksum
#   vdn  cc-extidx    deep.bin (depth 2): the in-inode index entry points
#                     outside the filesystem (inode checksum valid)
#   vdo  cn-extidx    deep.bin: the index node's first entry points at the
#                     block bitmap (no csum)
#   vdp  cc-slowlink  long-link's extent points outside the filesystem
#   vdq  cc-slowmeta  long-link's extent points at the group descriptors
#   vdr  cc-extbitmap small.txt's extent points at the block bitmap
#   vds  cc-extjournal small.txt's extent points at a journal block
#   vdt  cn-leafitable frag.bin's leaf block: an extent in the inode table
#   vdu  cc-idxfirst  frag.bin's index entry and its leaf disagree on the
#                     first logical block
#   vdv  cn-idxdup    deep.bin's index node: two entries name one leaf
#   vdw  cc-dirloop   loop/a/b is loop (an ancestor): a directory loop
#   vdx  cc-entries   small.txt's links_count 0, d1/self names d1,
#                     short-link's i_size cut to 7 (checksums valid)
#   vdy  cn-ftype     d1's record of medium.bin: file_type 9 (no csum)
#   vdz  cn-nofiletype the filetype feature cleared (no csum)
# The scenario takes each disk from the params (not from this list) and
# checks its volume label first.
#
# Errno texts are what busybox 1.35 prints: EBADMSG "Bad message" (checksum
# mismatch), EUCLEAN "Structure needs cleaning" (structural corruption), EIO
# "Input/output error" (a failed read through the page cache), EINVAL
# "Invalid argument". Busybox's ls ignores readdir errors (it lists what it
# got and exits 0), so directory listings are checked with lsdir (built by
# mkcorrupt.sh), which prints "lsdir: DIR: readdir: <strerror>" and fails.
SCENARIO=corrupt
. /scenarios/lib.sh

head -c 4096 /dev/vda | tr -d '\000' > /tmp/params
. /tmp/params
if [ -z "${disk_cc_clean:-}" ]; then
    fail "params" "/dev/vda holds no parameters (tools/mkcorrupt.sh params.disk)"
    exit 1
fi
dd if=/dev/vda bs=4096 skip=1 2>/dev/null | head -c "$lsdir_bytes" > /tmp/lsdir
chmod +x /tmp/lsdir
if [ "$(sha256sum < /tmp/lsdir | cut -d' ' -f1)" != "$lsdir_sha256" ]; then
    fail "params" "lsdir from /dev/vda: checksum mismatch"
    exit 1
fi
check "insmod rext4.ko" load_rext4

# Volume label of /dev/$1, read raw (the superblock may be corrupt).
label() { dd if="/dev/$1" bs=1 skip=$((1024 + 0x78)) count=16 2>/dev/null | tr -d '\000'; }

# begin LABEL: starts a case: $L and $dev; fails (status 1) when the disk
# is not the image named LABEL.
begin() {
    L=$1
    eval "dev=\${disk_$(echo "$L" | tr - _):-}"
    echo "corrupt: case $L on /dev/$dev (uptime $(cut -d' ' -f1 /proc/uptime) s)"
    if [ -z "$dev" ] || [ "$(label "$dev")" != "$L" ]; then
        fail "$L: disk" "/dev/${dev:-?} has label '$(label "${dev:-vda}")', want '$L'"
        return 1
    fi
    mark_dmesg
}

# expect_err NAME ERRTEXT CMD...: PASS when CMD fails printing ERRTEXT (ERE);
# the matching line goes to the console. Output in /tmp/e.out.
expect_err() {
    local name=$1 text=$2; shift 2
    if "$@" >/tmp/e.out 2>&1; then
        fail "$L: $name" "'$*' succeeded; expected '$text'"
    elif grep -E -q "$text" /tmp/e.out; then
        echo "corrupt: $L: $*: $(grep -E -m1 "$text" /tmp/e.out)"
        pass "$L: $name" "$text"
    else
        fail "$L: $name" "'$*': '$(tail -c 200 /tmp/e.out | tr '\n' ' ')', expected '$text'"
    fi
}

# msg NAME ERE: the kernel logged "rext4 (<dev>): ERE" since begin.
msg() { dmesg_has "$L: message: $1" "rext4 \\($dev\\): $2"; }

mnt() { check "$L: mount" mount -t rext4 -o ro "/dev/$dev" /mnt; }
unmount() { check "$L: umount" umount /mnt; }

# mount_fails ERRTEXT ERE: the mount is refused with ERRTEXT and message ERE.
mount_fails() {
    expect_err "mount refused" "$1" mount -t rext4 -o ro "/dev/$dev" /mnt
    grep -q ' /mnt ' /proc/mounts && umount /mnt
    msg "mount" "$2"
}

# sums_except ERE: every file of SHA256SUMS whose line does not match ERE
# reads back with the right content.
sums_except() {
    grep -E -v "$1" /mnt/SHA256SUMS > /tmp/sums
    echo "REXT4-INFO $SCENARIO: $L: other files intact: $(wc -l < /tmp/sums) files"
    check "$L: other files intact" \
        sh -c 'cd /mnt && sha256sum -c -s /tmp/sums'
}

# No rext4 error (only the mount report) for this device since begin.
no_errors() {
    dmesg | grep "rext4 ($dev): " | grep -v ': mounted ' > /tmp/errs
    check "$L: no rext4 error messages" sh -c '! test -s /tmp/errs || { cat /tmp/errs; false; }'
}

# The controls: everything reads back; e2fsck finds the image clean.
clean_case() { # LABEL [SUFFIX for the result names]
    begin "$1" || return
    L="$L${2:+ $2}"
    mnt || return
    check "$L: all contents" sh -c 'cd /mnt && sha256sum -c -s SHA256SUMS'
    # ls -lR stats every name; not huge/'s (600 lookups in a 603-block
    # directory), which the listing below covers.
    check "$L: ls -lR" sh -c 'ls -lR $(ls -d /mnt/* | grep -v "^/mnt/huge$")'
    check "$L: readdir big/" /tmp/lsdir /mnt/big
    n=$(/tmp/lsdir /mnt/big | grep -c -v '^\.\.\?$')
    check "$L: big/ lists every entry" test "$n" = "$htree_entries"
    check "$L: readdir huge/" /tmp/lsdir /mnt/huge
    n=$(/tmp/lsdir /mnt/huge | grep -c -v '^\.\.\?$')
    check "$L: huge/ lists every entry" test "$n" = "$huge_entries"
    check "$L: long symlink target" test "$(readlink /mnt/long-link)" = "$long_target"
    check "$L: read through long symlink" cmp /mnt/long-link /mnt/d1/d2/large.bin
    check "$L: read through short symlink" cmp /mnt/short-link /mnt/small.txt
    no_errors
    unmount
    check "$L: e2fsck -fn clean" e2fsck -fn "/dev/$dev"
}

clean_case cc-clean
clean_case cn-clean

# a. Group descriptor checksum: the mount fails.
if begin cc-gdesc; then
    mount_fails "Bad message" "group 0: group descriptor checksum mismatch"
fi

# b. One inode's checksum: that file fails to open, every time; the rest reads.
if begin cc-inode && mnt; then
    expect_err "cat small.txt" "can't open.*: Bad message" cat /mnt/small.txt
    expect_err "cat small.txt again" "can't open.*: Bad message" cat /mnt/small.txt
    expect_err "stat small.txt" "Bad message" stat /mnt/small.txt
    msg "inode" "inode #$inode_ino: inode checksum mismatch"
    sums_except ' \./small\.txt$'
    check "$L: ls -l d1" ls -l /mnt/d1
    unmount
fi

# frag_unreadable NAME ERE: frag.bin's inode is fine (stat works) but its
# data fails with EIO (the page cache's error for a failed get_block), the
# kernel logged "rext4 (dev): ERE" (check "message: NAME"), and every other
# file reads back; then unmount.
frag_unreadable() {
    check "$L: stat frag.bin" stat /mnt/frag.bin
    expect_err "cat frag.bin" "read error: Input/output error" cat /mnt/frag.bin
    msg "$1" "$2"
    sums_except ' \./frag\.bin$'
    unmount
}

# c. Extent leaf block checksum: stat works (the inode is fine), reading
# fails with EIO (the page cache's error for a failed get_block).
if begin cc-extblock && mnt; then
    frag_unreadable "extent block" "inode #$extblock_ino: logical block [0-9]+: extent block checksum mismatch"
fi

# d. Extent root magic, no checksums to catch it: the structural check does.
# Like ext4, rext4 checks the root when it reads the inode, so open() fails
# with EUCLEAN; only the damaged file is affected.
if begin cn-extmagic && mnt; then
    expect_err "cat d1/medium.bin" "can't open.*Structure needs cleaning" cat /mnt/d1/medium.bin
    msg "extent header" "inode #$extmagic_ino: .*corrupt extent header: magic \\(62453\\)"
    sums_except ' \./d1/medium\.bin$'
    unmount
fi

# e. htree leaf block checksum: names in earlier blocks resolve, the damaged
# block's names and the listing fail; other directories work.
if begin cc-htree && mnt; then
    expect_err "readdir big" "readdir: Bad message" /tmp/lsdir /mnt/big
    msg "readdir" "directory inode #$htree_ino, block $htree_lblk: directory block checksum mismatch"
    n=$(grep -c -v -e '^\.\.\?$' -e '^lsdir: ' /tmp/e.out)
    check "$L: readdir listed the blocks before the damaged one" \
        sh -c "test $n -gt 0 && test $n -lt $htree_entries && grep -q -x '$htree_survivor' /tmp/e.out"
    mark_dmesg
    check "$L: stat a name of leaf block 1" stat "/mnt/big/$htree_survivor"
    expect_err "stat a name of the damaged leaf" "Bad message" stat "/mnt/big/$htree_victim"
    msg "lookup" "directory inode #$htree_ino, block $htree_lblk: directory block checksum mismatch"
    sums_except ' \./big/'
    unmount
fi

# f. rec_len 3 in the root directory: the listing and lookups through that
# record fail with EUCLEAN.
if begin cn-reclen && mnt; then
    expect_err "readdir /" "readdir: Structure needs cleaning" /tmp/lsdir /mnt
    msg "readdir" "directory inode #2, block 0: corrupt directory entry: rec_len \\(3\\)"
    mark_dmesg
    expect_err "cat small.txt" "Structure needs cleaning" cat /mnt/small.txt
    msg "lookup" "directory inode #2, block 0: corrupt directory entry: rec_len \\(3\\)"
    unmount
fi

# g. A record naming inode 0xFFFFFF (> s_inodes_count): EUCLEAN for that
# directory; others work.
if begin cn-badino && mnt; then
    expect_err "readdir d1/d2" "readdir: Structure needs cleaning" /tmp/lsdir /mnt/d1/d2
    msg "readdir" "directory inode #$badino_dir_ino, block 0: corrupt directory entry: inode number \\(16777215\\)"
    mark_dmesg
    expect_err "cat d1/d2/large.bin" "Structure needs cleaning" cat /mnt/d1/d2/large.bin
    msg "lookup" "directory inode #$badino_dir_ino, block 0: corrupt directory entry: inode number \\(16777215\\)"
    sums_except ' \./d1/d2/large\.bin$'
    unmount
fi

# h. needs_recovery set over an empty journal: the mount loads the journal
# (nothing to replay) and clears the flag on disk, as ext4 does.
if begin cc-recover && mnt; then
    msg "recovery" "recovery complete"
    sums_except '^$'
    unmount
    check "$L: needs_recovery cleared" sh -c \
        "! dumpe2fs -h /dev/$dev 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'"
    check "$L: e2fsck -fn clean" e2fsck -fn "/dev/$dev"
fi

# i. htree root (dx_root) checksum of big/: every lookup in big/ and its
# listing read the root first, so all fail with EBADMSG (as in ext4: its
# dx_probe reads the root); other directories work.
if begin cc-dxroot && mnt; then
    expect_err "readdir big" "readdir: Bad message" /tmp/lsdir /mnt/big
    msg "readdir" "directory inode #$dxroot_ino, block 0: .*checksum mismatch"
    mark_dmesg
    expect_err "stat a name in big" "Bad message" stat "/mnt/big/$htree_survivor"
    msg "lookup" "directory inode #$dxroot_ino, block 0: .*checksum mismatch"
    check "$L: ls -l d1" ls -l /mnt/d1
    sums_except ' \./big/'
    unmount
fi

# j. Interior htree node (dx_node) checksum of huge/ (two levels): the
# listing reads every node, so it fails; a lookup that needs the damaged
# node (a missing name whose hash routes through it) fails with EBADMSG;
# a name below the intact node resolves to its inode. A name below the
# damaged node: ext4 fails (EBADMSG), a reader that scans the leaves finds
# it in its intact, verified leaf; either is fine, nothing else is (not
# ENOENT, not another inode).
if begin cc-dxnode && mnt; then
    expect_err "readdir huge" "readdir: Bad message" /tmp/lsdir /mnt/huge
    msg "readdir" "directory inode #$dxnode_ino, block $dxnode_lblk: .*checksum mismatch"
    mark_dmesg
    expect_err "stat a missing name routed through the damaged node" "Bad message" \
        stat "/mnt/huge/$dxnode_missing"
    msg "lookup" "directory inode #$dxnode_ino, block $dxnode_lblk: .*checksum mismatch"
    check "$L: stat a name below the intact node" \
        sh -c "test \"\$(stat -c %i '/mnt/huge/$dxnode_survivor')\" = $dxnode_survivor_ino"
    if r=$(stat -c %i "/mnt/huge/$dxnode_victim" 2>&1); then
        if [ "$r" = "$dxnode_victim_ino" ]; then
            pass "$L: stat a name below the damaged node" "found, inode $r"
        else
            fail "$L: stat a name below the damaged node" "inode $r, want $dxnode_victim_ino"
        fi
    elif echo "$r" | grep -q "Bad message"; then
        pass "$L: stat a name below the damaged node" "Bad message"
    else
        fail "$L: stat a name below the damaged node" "'$r', want inode $dxnode_victim_ino or Bad message"
    fi
    sums_except '^$'
    unmount
fi

# k. deep.bin's in-inode index entry (depth 2) points beyond the last
# block; the inode's checksum is valid. Like ext4, the root is checked
# when the inode is read: lookup and open fail with EUCLEAN.
if begin cc-extidx && mnt; then
    expect_err "cat deep.bin" "can't open.*Structure needs cleaning" cat /mnt/deep.bin
    expect_err "stat deep.bin" "Structure needs cleaning" stat /mnt/deep.bin
    msg "extent index" "inode #$extidx_ino: .*16777215"
    sums_except ' \./deep\.bin$'
    unmount
fi

# l. deep.bin's index node (no checksums) names the block bitmap as the
# first leaf: the inode is fine (stat works); reading the first leaf's
# blocks fails with EIO (the page cache's error for a failed get_block)
# and a message naming the inode.
if begin cn-extidx && mnt; then
    check "$L: stat deep.bin" stat /mnt/deep.bin
    expect_err "read deep.bin's first block" "Input/output error" \
        dd if=/mnt/deep.bin of=/dev/null bs=4096 count=1
    msg "extent index" "inode #$extidx2_ino: logical block [0-9]+: extent index: child block [0-9]+ \\(\\+1\\) points into filesystem metadata"
    # The last block is below an intact leaf: ext4 rejects the whole index
    # node (one bad entry), a reader that checks entries when it follows
    # them reads it. Either way, reported only.
    r=$(dd if=/mnt/deep.bin bs=4096 skip="$extidx2_last" count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
    [ "$r" = "$extidx2_last_sha256" ] && r="reads back intact" || r="does not read back ($r)"
    echo "REXT4-INFO $SCENARIO: $L: deep.bin's last block (logical $extidx2_last): $r"
    sums_except ' \./deep\.bin$'
    unmount
fi

# m. A slow symlink's extent points beyond the last block (inode checksum
# valid): as ext4, reading the inode fails (EUCLEAN); the rest reads.
if begin cc-slowlink && mnt; then
    expect_err "stat long-link" "Structure needs cleaning" stat /mnt/long-link
    expect_err "cat long-link" "Structure needs cleaning" cat /mnt/long-link
    msg "symlink extent" "inode #$slowlink_ino: .*16777215"
    check "$L: read through short symlink" cmp /mnt/short-link /mnt/small.txt
    sums_except '^$'
    unmount
fi

# n. A slow symlink's extent points at the group descriptor block: inside
# the filesystem but metadata. As ext4 (the system zone), reading the inode
# fails (EUCLEAN): the target must not be metadata bytes.
if begin cc-slowmeta && mnt; then
    expect_err "stat long-link" "Structure needs cleaning" stat /mnt/long-link
    msg "symlink extent" "inode #$slowmeta_ino: .*points into filesystem metadata"
    check "$L: read through short symlink" cmp /mnt/short-link /mnt/small.txt
    sums_except '^$'
    unmount
fi

# p, q. small.txt's extent (in the inode) names the block bitmap, then a
# journal block: reading the inode fails (EUCLEAN) naming the block; the
# rest reads.
for c in extbitmap extjournal; do
    eval "ino=\$${c}_ino blk=\$${c}_blk"
    if begin "cc-$c" && mnt; then
        expect_err "cat small.txt" "can't open.*Structure needs cleaning" cat /mnt/small.txt
        msg "system zone" "inode #$ino: extent: physical block $blk \\(\\+1\\) points into filesystem metadata"
        sums_except ' \./small\.txt$'
        unmount
    fi
done

# r. An extent in frag.bin's leaf block names a block of the inode table
# (no checksums): the inode and root are fine (stat works); the read
# fails with EIO (the page cache's error for a failed get_block).
if begin cn-leafitable && mnt; then
    frag_unreadable "system zone" "inode #$leafitable_ino: logical block [0-9]+: extent: physical block $leafitable_blk \\(\\+1\\) points into filesystem metadata"
fi

# s. frag.bin's in-inode index entry starts at logical block 1, its leaf
# at 0: the leaf is refused when it is read (EIO through the page cache).
if begin cc-idxfirst && mnt; then
    frag_unreadable "first entry" "inode #$idxfirst_ino: logical block [0-9]+: corrupt extent node: first entry differs from its index entry \\(0\\)"
fi

# t. Two index entries of deep.bin's index node name one leaf. Through
# the first entry the leaf is right (and verified once read); through the
# second it must still be refused: its first extent is not the second
# entry's start.
if begin cn-idxdup && mnt; then
    check "$L: read deep.bin's first block" dd if=/mnt/deep.bin of=/dev/null bs=4096 count=1
    expect_err "read a block of the second range" "Input/output error" \
        dd if=/mnt/deep.bin of=/dev/null bs=4096 skip="$idxdup_lblk" count=1
    msg "first entry" "inode #$idxdup_ino: logical block $idxdup_lblk: corrupt extent node: first entry differs from its index entry \\(0\\)"
    sums_except ' \./deep\.bin$'
    unmount
fi

# o. A directory loop: loop/a/b names loop's inode. Records and inodes
# are all valid, so rext4 has nothing to report; the VFS refuses the
# second alias of a directory that is an ancestor (d_splice_alias:
# ELOOP, "would have caused loop"), as with ext4. Walks end (bounded by
# timeout -s KILL: a hang would show as a kill and a hung-task report).
walk() { # NAME CMD...: CMD ends by itself and reports the loop
    local name=$1; shift
    timeout -s KILL 120 "$@" > /tmp/walk.out 2>&1
    local rc=$?
    echo "REXT4-INFO $SCENARIO: $L: $*: rc $rc, $(wc -l < /tmp/walk.out) lines"
    if [ $rc = 137 ]; then
        fail "$L: $name ends" "'$*' killed after 120 s"
    elif grep -E -q "loop/a/b.*(Too many levels of symbolic links|Symbolic link loop)" /tmp/walk.out; then
        pass "$L: $name ends" "rc $rc: $(grep -E -m1 'loop/a/b' /tmp/walk.out)"
    else
        fail "$L: $name ends" "rc $rc, no ELOOP for loop/a/b: $(tail -c 200 /tmp/walk.out | tr '\n' ' ')"
    fi
}
if begin cc-dirloop && mnt; then
    expect_err "stat loop/a/b" "Too many levels of symbolic links|Symbolic link loop" stat /mnt/loop/a/b
    dmesg_has "$L: VFS reports the loop" "VFS: Lookup of 'b' in rext4 $dev would have caused loop"
    expect_err "cd loop/a/b" "Too many levels of symbolic links|Symbolic link loop" sh -c 'cd /mnt/loop/a/b'
    walk "find" find /mnt/loop
    walk "ls -lR" ls -lR /mnt/loop
    check "$L: loop/a/.. is loop" test "$(stat -c %i /mnt/loop/a/..)" = "$dirloop_ino"
    no_errors
    sums_except '^$'
    unmount
fi

# p. Records and a fast symlink the VFS must not take on trust (all
# checksums valid): a name whose inode has links_count 0 and one naming its
# own directory are corruption: EUCLEAN with a message, as ext4 (never
# ESTALE, which the VFS retries and shows as "Stale file handle"). A fast
# symlink's target is its first i_size bytes, whatever follows in i_block.
if begin cc-entries && mnt; then
    expect_err "stat deleted inode" "Structure needs cleaning" stat /mnt/small.txt
    msg "deleted inode" "inode #$entries_zero_ino: .*deleted inode referenced"
    expect_err "stat self entry" "Structure needs cleaning" stat /mnt/d1/self
    msg "self entry" "directory inode #$entries_d1_ino: entry 'self' names the directory itself"
    check "$L: fast symlink target is i_size bytes" test "$(readlink /mnt/short-link)" = "small.t"
    check "$L: readdir d1" /tmp/lsdir /mnt/d1
    sums_except ' \./small\.txt$'
    unmount
fi

# q. A record's file_type of 9, beyond ext4's types: readdir reports
# DT_UNKNOWN (0) for it, as ext4 does; the other records keep theirs, and
# lookup is unaffected. rext4probe dirents prints "DIR<TAB>INO TYPE NAME".
tab=$(printf '\t')
if begin cn-ftype && mnt; then
    rext4probe dirents /mnt/d1 > /tmp/d1.dirents
    check "$L: type 9 reads as DT_UNKNOWN" grep -q "^/mnt/d1$tab$ftype_ino 0 medium.bin\$" /tmp/d1.dirents
    check "$L: other records keep their type" grep -q "^/mnt/d1$tab[0-9]* 4 d2\$" /tmp/d1.dirents
    check "$L: lookup unaffected" test "$(stat -c %i /mnt/d1/medium.bin)" = "$ftype_ino"
    no_errors
    sums_except '^$'
    unmount
fi

# r. The filetype feature cleared, the type bytes left on disk: they mean
# nothing, so every record is DT_UNKNOWN, as on ext4.
if begin cn-nofiletype && mnt; then
    rext4probe dirents /mnt /mnt/d1 /mnt/d1/d2 > /tmp/all.dirents
    echo "REXT4-INFO $SCENARIO: $L: $(wc -l < /tmp/all.dirents) records, $(grep -c -v "$tab[0-9]* 0 " /tmp/all.dirents) with a type"
    check "$L: every record DT_UNKNOWN" sh -c "! grep -v '$tab[0-9]* 0 ' /tmp/all.dirents"
    check "$L: records listed" test "$(wc -l < /tmp/all.dirents)" -gt 10
    check "$L: ls -lR" ls -lR /mnt/d1
    no_errors
    sums_except '^$'
    unmount
fi

# The clean image once more, after all that: nothing stuck.
clean_case cc-clean "(again)"

check_fails "nothing mounted" grep -q ' /mnt ' /proc/mounts
check "rmmod" rmmod rext4
