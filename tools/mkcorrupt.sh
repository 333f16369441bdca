#!/bin/bash
# Build the corrupted images of the `corrupt` VM scenario into OUTDIR.
#
#   tools/mkcorrupt.sh OUTDIR
#   qemu/vm.sh corrupt RESULTS $(cat OUTDIR/disks)
#
# A small tree (OUTDIR/tree) goes into two clean 64 MiB images made with
# `mke2fs -t ext4 -b 4096 -d`, then `e2fsck -fyD` (so big/ and huge/ become
# htree directories) and `e2fsck -fn` (must be clean):
#   clean.img     default features (metadata_csum)
#   nocsum.img    -O ^metadata_csum
# Tree: empty (0 bytes), small.txt (100), d1/medium.bin (5000),
# d1/d2/large.bin (300000), frag.bin (20 single blocks 3 blocks apart: 20
# extents, so a depth-1 extent tree), deep.bin (1500 single blocks 2 blocks
# apart: 1500 extents, an extent tree of depth 2), big/ (600 empty files
# with long names: a one-level htree), huge/ (600 empty files with 255-byte
# names: e2fsck -D, told to leave 94% of each leaf block free, puts one name
# per leaf block, so the 600 leaves need a two-level htree: dx_root, two
# dx_node blocks), loop/a/b (empty directories), long-link (symlink, target
# > 60 bytes: kept in a block), short-link, and SHA256SUMS (sha256sum of
# every regular file outside big/ and huge/, whose files are empty).
#
# Each case is a fresh copy of a clean image, relabelled (tune2fs -L, so the
# guest can check the disk order), then corrupted. Where to corrupt comes
# from e2fsprogs only (debugfs imap/ex/dirsearch/htree_dump/bmap/dx_hash,
# dumpe2fs), never from rext4's own parser (rust/disk, which tools/ext4disk
# compiles): the code under test must not decide what it is tested with.
# Bytes are patched with dd; where a checksum must stay valid, debugfs
# writes the change (set_inode_field, link/unlink, feature: libext2fs
# re-signs what it writes). After each corruption `e2fsck -fn` (or
# debugfs/dumpe2fs) must report exactly the damage intended, so a wrong
# offset fails here rather than in the guest.
#   cc-clean      clean.img as is                     (control)
#   cn-clean      nocsum.img as is                    (control)
#   cc-gdesc      group 0's descriptor: bg_inode_table byte flipped
#   cc-inode      small.txt's raw inode: an i_mtime byte flipped
#   cc-extblock   frag.bin's extent leaf block: a byte of the first extent
#   cn-extmagic   d1/medium.bin's in-inode extent root: eh_magic byte flipped
#   cc-htree      big/'s last leaf block: the first name byte of its first entry
#   cn-reclen     the root directory's record of small.txt: rec_len = 3
#   cn-badino     d1/d2's record of large.bin: inode = 0xFFFFFF
#   cc-recover    superblock: INCOMPAT_RECOVER (needs_recovery) set, re-signed
#   cc-dxroot     big/'s dx_root: a bit of dx entry #1's hash (checksum bad)
#   cc-dxnode     huge/'s first dx_node: a bit of its entry #1's hash
#   cc-extidx     deep.bin's in-inode index entry (depth 2): child block
#                 0xFFFFFF, outside the filesystem; inode re-signed
#   cn-extidx     deep.bin's index node block: its first entry's child is
#                 group 0's block bitmap (metadata)
#   cc-slowlink   long-link's extent: physical block 0xFFFFFF, outside the
#                 filesystem; inode re-signed
#   cc-slowmeta   long-link's extent: group 0's descriptor block (metadata);
#                 inode re-signed
#   cc-extbitmap  small.txt's extent: group 0's block bitmap; inode re-signed
#   cc-extjournal small.txt's extent: a block of the journal; inode re-signed
#   cn-leafitable frag.bin's extent leaf block: its first extent names a
#                 block of group 0's inode table
#   cc-idxfirst   frag.bin's in-inode index entry says logical block 1, its
#                 leaf starts at 0; inode re-signed
#   cn-idxdup     deep.bin's index node: entry #2 names entry #1's leaf
#                 (two entries, one child, different ranges)
#   cc-dirloop    loop/a's record "b" names loop's inode (an ancestor):
#                 written by debugfs (unlink + link), checksums valid
#   cc-entries    small.txt's links_count 0; d1/self names d1; short-link's
#                 i_size cut to 7 (debugfs: checksums valid)
#   cn-ftype      d1's record of medium.bin: file_type 9
#   cn-nofiletype the filetype feature cleared (type bytes left on disk)
#
# Outputs, besides the images (OUTDIR/<label>.img):
#   OUTDIR/disks        the disks for qemu/vm.sh, in order: params.disk first
#                       (/dev/vda), then the images (/dev/vdb, ...)
#   OUTDIR/params.disk  a raw disk the guest reads: bytes 0..4095 shell
#                       assignments (disk_<label>=vdX, inode numbers and names
#                       the checks need, lsdir_bytes/lsdir_sha256), NUL
#                       padded; from byte 4096 the lsdir binary, zero padded
#                       to a multiple of 512
#   OUTDIR/lsdir        `lsdir DIR`: prints DIR's entries and, when readdir
#                       fails, "lsdir: DIR: readdir: <strerror>" and exits 1.
#                       Busybox's ls (and find, du, tar) ignore readdir
#                       errors: they print what they got and exit 0. Static,
#                       built with the host's gcc (the kernel build needs it).
#   OUTDIR/LABEL.img.fsck  e2fsck -fn's report on each corrupted image
set -euo pipefail
out=${1:?usage: mkcorrupt.sh OUTDIR}
t0=$SECONDS
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() { echo "mkcorrupt: $*" >&2; exit 1; }

# The tree.
tree=$out/tree
rm -rf "$tree"
mkdir -p "$tree/d1/d2" "$tree/big" "$tree/huge" "$tree/loop/a/b"
: > "$tree/empty"
head -c 100 /dev/urandom > "$tree/small.txt"
head -c 5000 /dev/urandom > "$tree/d1/medium.bin"
head -c 300000 /dev/urandom > "$tree/d1/d2/large.bin"
for i in $(seq 0 19); do
    dd if=/dev/urandom of="$tree/frag.bin" bs=4k count=1 seek=$((i * 3)) conv=notrunc status=none
done
# deep.bin: 1500 one-block extents (every other block): more than the 4
# leaves an in-inode root can index, so depth 2.
deep_blocks=1500
head -c $((deep_blocks * 4096)) /dev/urandom > "$out/deep.data"
for i in $(seq 0 $((deep_blocks - 1))); do
    echo "$((i * 2)) $i"
done | while read -r seek skip; do
    dd if="$out/deep.data" of="$tree/deep.bin" bs=4k count=1 seek="$seek" skip="$skip" conv=notrunc status=none
done
for i in $(seq -w 0 599); do
    : > "$tree/big/entry-with-a-rather-long-name-$i"
    : > "$tree/huge/$(printf 'n%s-%0250d' "$i" 0)"
done
long_target=d1/../d1/d2/../../d1/d2/../d2/../../d1/d2/./../d2/../../d1/d2/large.bin
ln -s "$long_target" "$tree/long-link"
ln -s small.txt "$tree/short-link"
(cd "$tree" && find . -type f ! -name SHA256SUMS ! -path './big/*' ! -path './huge/*' | sort | xargs sha256sum > SHA256SUMS)
[ ${#long_target} -gt 60 ] || die "long-link: target too short"

# The readdir helper for the guest.
cat > "$out/lsdir.c" <<'EOF'
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	DIR *d;
	struct dirent *e;
	if (argc != 2) {
		fprintf(stderr, "usage: lsdir DIR\n");
		return 2;
	}
	d = opendir(argv[1]);
	if (!d) {
		fprintf(stderr, "lsdir: %s: opendir: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e)
			break;
		printf("%s\n", e->d_name);
	}
	if (errno) {
		int err = errno;
		fflush(stdout);
		errno = err;
		fprintf(stderr, "lsdir: %s: readdir: %s\n", argv[1], strerror(errno));
		return 1;
	}
	return closedir(d) ? 1 : 0;
}
EOF
gcc -static -Os -s -o "$out/lsdir" "$out/lsdir.c"

# The clean images. e2fsck -D with 94% slack per leaf block: a 264-byte
# record (255-byte name) leaves less than that free, so huge/ gets one name
# per leaf; big/'s 44-byte records get 6 per leaf.
printf '[options]\n\tindexed_dir_slack_percentage = 94\n' > "$out/e2fsck.conf"
mkclean() { # image mke2fs-options...
    local img=$1; shift
    rm -f "$img"
    truncate -s 64M "$img"
    mke2fs -q -F -t ext4 -b 4096 "$@" -d "$tree" "$img"
    local rc=0
    E2FSCK_CONFIG=$out/e2fsck.conf e2fsck -fyD "$img" > "$img.e2fsck-D.log" 2>&1 || rc=$?
    [ $rc -le 1 ] || { cat "$img.e2fsck-D.log" >&2; die "$img: e2fsck -fyD rc $rc"; }
    e2fsck -fn "$img" > "$img.e2fsck.log" 2>&1 || { cat "$img.e2fsck.log" >&2; die "$img: not clean"; }
}
mkclean "$out/clean.img"
mkclean "$out/nocsum.img" -O ^metadata_csum

# --- Facts from e2fsprogs -------------------------------------------------
# dfs IMG CMD: debugfs's answer to CMD; any message on stderr besides the
# version banner (debugfs exits 0 on errors) is fatal.
dfs() {
    local o
    o=$(debugfs -R "$2" "$1" 2>"$out/debugfs.err") || die "debugfs -R '$2' $1 failed"
    if grep -v '^debugfs [0-9.]* (' "$out/debugfs.err" | grep -q .; then
        die "debugfs -R '$2' $1: $(cat "$out/debugfs.err")"
    fi
    printf '%s\n' "$o"
}
# dfs_w IMG CMD...: debugfs -w runs the commands (libext2fs re-signs what
# it writes).
dfs_w() {
    local img=$1; shift
    printf '%s\n' "$@" > "$out/debugfs.cmds"
    debugfs -w -f "$out/debugfs.cmds" "$img" > "$out/debugfs.log" 2>&1 || die "debugfs -w $img failed"
    if grep -v -e '^debugfs [0-9.]* (' -e '^debugfs: ' -e '^Filesystem features:' "$out/debugfs.log" | grep -q .; then
        die "debugfs -w $img: $(cat "$out/debugfs.log")"
    fi
}
# num WHAT VALUE: VALUE must be a decimal number.
num() { [[ $2 =~ ^[0-9]+$ ]] || die "$1: '$2' is not a number"; echo "$2"; }

# Superblock facts (the same for both images).
bs=$(num "block size" "$(dumpe2fs -h "$out/clean.img" 2>/dev/null | awk -F': *' '$1 == "Block size" { print $2 }')")
[ "$bs" = 4096 ] || die "block size $bs"
# blocks IMG: s_blocks_count.
blocks() { num "block count" "$(dumpe2fs -h "$1" 2>/dev/null | awk -F': *' '$1 == "Block count" { print $2 }')"; }
# group0 IMG FIELD: group 0's row of `dumpe2fs -g` (group:block:super:gdt:
# bbitmap:ibitmap:itable); FIELD gdt gives the first block of the range.
group0() {
    local row
    row=$(dumpe2fs -g "$1" 2>/dev/null | awk -F: '$1 == "0"')
    [ -n "$row" ] || die "dumpe2fs -g $1: no group 0"
    case $2 in
        gdt) num "gdt" "$(echo "$row" | cut -d: -f4 | cut -d- -f1)" ;;
        bbitmap) num "block bitmap" "$(echo "$row" | cut -d: -f5)" ;;
        itable) num "inode table" "$(echo "$row" | cut -d: -f7)" ;;
    esac
}
# ino IMG PATH: the inode number (debugfs imap).
ino() { num "inode of $2" "$(dfs "$1" "imap $2" | sed -n 's/^Inode \([0-9]*\) is part of block group.*/\1/p')"; }
# inode_off IMG PATH: byte offset of PATH's raw inode (debugfs imap:
# "located at block B, offset 0xO").
inode_off() {
    local m b o
    m=$(dfs "$1" "imap $2" | sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
    read -r b o <<< "$m"
    num "inode block of $2" "$b" > /dev/null
    echo $((b * bs + o))
}
# extents IMG PATH: debugfs ex, one line per node entry, "/ " squeezed:
# "LEVEL/DEPTH N/ENTRIES LSTART - LEND PHYS[ - PEND] LEN"; for an index
# entry PHYS is its child block.
extents() { dfs "$1" "ex $2" | sed 1d | sed -e 's|/ *|/|g' -e 's/^ *//'; }
# depth IMG PATH: the extent tree's depth.
depth() { num "depth of $2" "$(extents "$1" "$2" | head -1 | cut -d' ' -f1 | cut -d/ -f2)"; }
# dirent IMG DIR NAME: "LBLK PBLK OFF" of NAME's record in DIR (debugfs
# dirsearch: "Entry found at logical block L, phys P, offset O").
dirent() {
    local m
    m=$(dfs "$1" "dirsearch $2 $3" | sed -n 's/^Entry found at logical block \([0-9]*\), phys \([0-9]*\), offset \([0-9]*\)$/\1 \2 \3/p')
    [[ $m =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]] || die "dirsearch $2 $3 on $1: '$m'"
    echo "$m"
}
# bmap IMG PATH LBLK: the physical block of PATH's logical block LBLK.
bmap() { num "bmap $2 $3" "$(dfs "$1" "bmap $2 $3")"; }
# leaves IMG DIR: the names of an htree directory from debugfs htree_dump,
# one "LBLK INO HASH NAME" line per entry (names hold no spaces here), in
# on-disk order within each leaf block.
leaves() {
    dfs "$1" "htree_dump $2" | awk '
        /^Reading directory block / { blk = $4; sub(",", "", blk); next }
        /^leaf block checksum|^Entry #|^Number of|^Checksum|^Root node|^\t/ { next }
        {
            s = $0
            while (match(s, /[0-9]+ 0x[0-9a-f]+-[0-9a-f]+ \([0-9]+\) [^ ]+/)) {
                split(substr(s, RSTART, RLENGTH), f, " ")
                h = f[2]; sub("-.*", "", h)
                print blk, f[1], h, f[4]
                s = substr(s, RSTART + RLENGTH)
            }
        }'
}
# dx IMG DIR KEY: a value of htree_dump's root header ("Indirect levels",
# "Info length", "Hash Version").
dx() { num "$3 of $2" "$(dfs "$1" "htree_dump $2" | awk -F': *' -v k="$3" '$1 ~ "^[ \t]*" k "$" { print $2; exit }')"; }

# --- Byte patching (dd; no checksum is re-signed) --------------------------
getbyte() { num "byte at $2" "$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')"; }
get32() { num "u32 at $2" "$(od -An -tu4 --endian=little -j "$2" -N4 "$1" | tr -d ' ')"; }
putbytes() { # IMG OFF BYTE...
    local img=$1 off=$2 fmt= b; shift 2
    for b in "$@"; do fmt+=$(printf '\\%03o' "$b"); done
    printf "$fmt" | dd of="$img" bs=1 seek="$off" conv=notrunc status=none
}
flip() { putbytes "$1" "$2" $(($(getbyte "$1" "$2") ^ $3)); }
set16() { putbytes "$1" "$2" $(($3 & 255)) $((($3 >> 8) & 255)); }
set32() {
    putbytes "$1" "$2" $(($3 & 255)) $((($3 >> 8) & 255)) $((($3 >> 16) & 255)) $((($3 >> 24) & 255))
    [ "$(get32 "$1" "$2")" = $(($3)) ] || die "set32 $2: read back $(get32 "$1" "$2")"
}

# fsck_says ERE: e2fsck -fn on the current case's image reports ERE (the
# damage is where it was meant to be).
fsck_says() {
    e2fsck -fn "$img" > "$img.fsck" 2>&1 || true
    grep -E -q "$1" "$img.fsck" || { cat "$img.fsck" >&2; die "$label: e2fsck -fn does not report /$1/"; }
}

# newcase LABEL CLEAN-IMAGE: a relabelled copy, in $img; the next disk.
disks=("$out/params.disk")
params=()
devs=(vda vdb vdc vdd vde vdf vdg vdh vdi vdj vdk vdl vdm vdn vdo vdp vdq vdr vds vdt vdu vdv vdw vdx vdy vdz)
newcase() {
    label=$1 img=$out/$1.img
    [ ${#disks[@]} -lt ${#devs[@]} ] || die "too many disks"
    cp --sparse=always "$2" "$img"
    tune2fs -L "$1" "$img" > /dev/null
    params+=("disk_${1//-/_}=${devs[${#disks[@]}]}")
    disks+=("$img")
}
clean=$out/clean.img nocsum=$out/nocsum.img

newcase cc-clean "$clean"
newcase cn-clean "$nocsum"
n=$(ls "$tree/big" | wc -l)
params+=("htree_entries=$n" "huge_entries=$(ls "$tree/huge" | wc -l)")

# a. Group 0's descriptor (dumpe2fs -g: the descriptor table's first block;
# group 0's descriptor is its first): bg_inode_table_lo, byte 0x8.
newcase cc-gdesc "$clean"
gdt=$(group0 "$clean" gdt) itable=$(group0 "$clean" itable)
flip "$img" $((gdt * bs + 0x8)) 0x01
[ "$(group0 "$img" itable)" = $((itable ^ 1)) ] || die "$label: group 0's inode table not changed"
# The stored checksum is unchanged (debugfs show_super_stats prints it), so
# it no longer matches; e2fsck reads the journal inode from the wrong table.
gcsum() { dfs "$1" "show_super_stats" | awk '/^ Group  0:/ { g = 1 } g && /\[Checksum/ { print; exit }'; }
[ -n "$(gcsum "$clean")" ] && [ "$(gcsum "$img")" = "$(gcsum "$clean")" ] || die "$label: group 0's checksum changed"
fsck_says "^Superblock has an invalid journal \\(inode 8\\)"

# b. small.txt's inode (debugfs imap): i_mtime (0x10).
newcase cc-inode "$clean"
flip "$img" $(($(inode_off "$clean" /small.txt) + 0x10)) 0x01
ino=$(ino "$clean" /small.txt); params+=("inode_ino=$ino")
fsck_says "^Inode $ino passes checks, but checksum does not match inode"

# c. frag.bin's extent leaf (debugfs ex: the root's index entry names it):
# ee_start_lo of the first extent (12 + 8).
newcase cc-extblock "$clean"
[ "$(depth "$clean" /frag.bin)" = 1 ] || die "frag.bin: depth $(depth "$clean" /frag.bin)"
leaf=$(num "frag.bin leaf" "$(extents "$clean" /frag.bin | awk '$1 == "0/1" && $2 ~ /^1\// { print $6 }')")
flip "$img" $((leaf * bs + 12 + 8)) 0x01
ino=$(ino "$clean" /frag.bin); params+=("extblock_ino=$ino")
fsck_says "^Inode $ino extent block passes checks, but checksum does not match extent"

# d. d1/medium.bin's extent root in i_block (inode + 0x28): eh_magic low
# byte (0x0A -> 0xF5).
newcase cn-extmagic "$nocsum"
[ "$(depth "$nocsum" /d1/medium.bin)" = 0 ] || die "medium.bin: not depth 0"
flip "$img" $(($(inode_off "$nocsum" /d1/medium.bin) + 0x28)) 0xFF
ino=$(ino "$nocsum" /d1/medium.bin); params+=("extmagic_ino=$ino")
fsck_says "^Inode $ino has corrupt extent header"

# e. big/: the last leaf block (htree_dump); the victim is the name of its
# first record (offset 0, debugfs dirsearch confirms), the survivor a name
# in the first leaf block (logical block 1).
newcase cc-htree "$clean"
[ "$(dx "$clean" /big "Indirect levels")" = 0 ] || die "big/: not a one-level htree"
leaves "$clean" /big > "$out/big.leaves"
[ "$(wc -l < "$out/big.leaves")" = "$n" ] || die "big/: htree_dump lists $(wc -l < "$out/big.leaves") names, not $n"
last=$(num "big/ last leaf" "$(awk '{ l = $1 } END { print l }' "$out/big.leaves")")
[ "$last" -ge 2 ] || die "big/: only $last leaf blocks"
victim=$(awk -v b="$last" '$1 == b { print $4; exit }' "$out/big.leaves")
survivor=$(awk '$1 == 1 { print $4; exit }' "$out/big.leaves")
read -r l p o <<< "$(dirent "$clean" /big "$victim")"
[ "$l $o" = "$last 0" ] || die "big/$victim: at block $l offset $o, not $last 0"
flip "$img" $((p * bs + o + 8)) 0x01
ino=$(ino "$clean" /big)
params+=("htree_ino=$ino" "htree_lblk=$last" "htree_victim=$victim" "htree_survivor=$survivor")
fsck_says "^Directory inode $ino, block #$last: directory passes checks but fails checksum"

# f. The root directory's record of small.txt (dirsearch): rec_len (+4) = 3.
newcase cn-reclen "$nocsum"
read -r l p o <<< "$(dirent "$nocsum" / small.txt)"
[ "$l" = 0 ] || die "small.txt: in block $l"
set16 "$img" $((p * bs + o + 4)) 3
fsck_says "^Directory inode 2, block #0, offset $o: directory corrupted"

# g. d1/d2's record of large.bin (dirsearch): inode (+0) = 0xFFFFFF.
newcase cn-badino "$nocsum"
read -r l p o <<< "$(dirent "$nocsum" /d1/d2 large.bin)"
[ "$l" = 0 ] || die "large.bin: in block $l"
set32 "$img" $((p * bs + o)) 0xFFFFFF
ino=$(ino "$nocsum" /d1/d2); params+=("badino_dir_ino=$ino")
fsck_says "^Entry 'large\.bin' in /d1/d2 \($ino\) has invalid inode #: 16777215"

# h. needs_recovery (INCOMPAT_RECOVER), set and re-signed by debugfs.
newcase cc-recover "$clean"
dfs_w "$img" "feature needs_recovery"
dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery' || die "$label: needs_recovery not set"
dumpe2fs -h "$img" 2>&1 | grep -q -i 'checksum.*invalid\|bad.*checksum' && die "$label: superblock checksum not valid"

# i. big/'s dx_root (logical block 0, bmap): its checksum, in the dx_tail
# after the limit entries: "." (12) + ".." (12) + dx_root_info (Info
# length) + limit * 8 + dt_reserved (4). The index itself stays intact
# (e2fsck finds nothing else wrong); htree_dump shows the stored checksum
# changed.
newcase cc-dxroot "$clean"
info=$(dx "$clean" /big "Info length")
limit=$(num "big/ root limit" "$(dfs "$clean" "htree_dump /big" | awk -F': *' '/^Number of entries \(limit\)/ { print $2; exit }')")
root=$(bmap "$clean" /big 0)
flip "$img" $((root * bs + 24 + info + limit * 8 + 4)) 0x01
dxsum() { dfs "$1" "htree_dump $2" | awk -v n="$3" '/^Checksum: / && ++i == n { print $2 }'; }
[ "$(dxsum "$img" /big 1)" = "$(printf '0x%08x' $(($(dxsum "$clean" /big 1) ^ 0x01)))" ] || die "$label: dx_root checksum not changed"
ino=$(ino "$clean" /big); params+=("dxroot_ino=$ino")
fsck_says "^Problem in HTREE directory inode $ino: root node fails checksum"

# j. huge/'s first dx_node: the block the root's entry #0 points to (from
# htree_dump; bmap gives its physical block); it indexes the hashes below
# the root's entry #1. The victim is a name below that
# node, the survivor a name below the other one; the missing name is one
# that is not in huge/ and whose hash (debugfs dx_hash, the directory's
# hash version and the filesystem's seed) routes it through the damaged
# node, so every lookup of it must read that node.
newcase cc-dxnode "$clean"
[ "$(dx "$clean" /huge "Indirect levels")" = 1 ] || die "huge/: not a two-level htree"
dfs "$clean" "htree_dump /huge" > "$out/huge.dump"
# The root's entries are the first "Entry #" lines after its count.
node=$(num "huge/ node" "$(awk '/^Entry #0:/ { sub(/.*block /, ""); print; exit }' "$out/huge.dump")")
bound=$(awk '/^Entry #1:/ { print $4; exit }' "$out/huge.dump" | tr -d ,)
[[ $bound =~ ^0x[0-9a-f]{8}$ ]] || die "huge/: root entry #1 hash '$bound'"
pnode=$(bmap "$clean" /huge "$node")
leaves "$clean" /huge > "$out/huge.leaves"
[ "$(wc -l < "$out/huge.leaves")" = "$(ls "$tree/huge" | wc -l)" ] || die "huge/: htree_dump lists $(wc -l < "$out/huge.leaves") names"
victim=$(awk -v b="$bound" '$3 < b { print $4; exit }' "$out/huge.leaves")
vino=$(awk -v b="$bound" '$3 < b { print $2; exit }' "$out/huge.leaves")
survivor=$(awk -v b="$bound" '$3 > b { print $4; exit }' "$out/huge.leaves")
sino=$(awk -v b="$bound" '$3 > b { print $2; exit }' "$out/huge.leaves")
[ -n "$victim" ] && [ -n "$survivor" ] || die "huge/: no victim/survivor around $bound"
hv=$(dx "$clean" /huge "Hash Version")
case $hv in 1) alg=half_md4 ;; 2) alg=tea ;; 0) alg=legacy ;; *) die "huge/: hash version $hv" ;; esac
seed=$(dumpe2fs -h "$clean" 2>/dev/null | awk -F': *' '$1 == "Directory Hash Seed" { print $2 }')
dxhash() { # NAME: its hash as htree_dump prints it (0x%08x)
    local h
    h=$(dfs "$clean" "dx_hash -h $alg -s $seed $1" | sed -n 's/^Hash of .* is \(0x[0-9a-f]*\) (minor.*/\1/p')
    [ -n "$h" ] || die "dx_hash $1: no hash"
    printf '0x%08x\n' "$h"
}
h=$(dxhash "$victim")
[ "$h" = "$(awk -v n="$victim" '$4 == n { print $3 }' "$out/huge.leaves")" ] || die "dx_hash of $victim: $h, not as in htree_dump"
missing=
for i in $(seq 0 99); do
    h=$(dxhash "missing-$i")
    if [[ $h < $bound ]] && [ ! -e "$tree/huge/missing-$i" ]; then missing=missing-$i; break; fi
done
[ -n "$missing" ] || die "huge/: no missing name below $bound"
# Its checksum: the fake record (8) + limit * 8 + dt_reserved (4); its
# limit is the second in the dump (the root's comes first).
limit=$(num "huge/ node limit" "$(awk -F': *' '/^Number of entries \(limit\)/ && ++i == 2 { print $2 }' "$out/huge.dump")")
flip "$img" $((pnode * bs + 8 + limit * 8 + 4)) 0x01
[ "$(dxsum "$img" /huge 2)" = "$(printf '0x%08x' $(($(dxsum "$clean" /huge 2) ^ 0x01)))" ] || die "$label: dx_node checksum not changed"
ino=$(ino "$clean" /huge)
params+=("dxnode_ino=$ino" "dxnode_lblk=$node" "dxnode_victim=$victim" "dxnode_victim_ino=$vino"
         "dxnode_survivor=$survivor" "dxnode_survivor_ino=$sino" "dxnode_missing=$missing")
fsck_says "^Problem in HTREE directory inode $ino: internal node fails checksum"

# k. deep.bin (depth 2): the root's index entry in i_block (debugfs
# set_inode_field block[4] = ei_leaf_lo, i_block + 12 + 4) names block
# 0xFFFFFF, beyond the last block (dumpe2fs); debugfs re-signs the inode,
# so only the structural check can catch it.
newcase cc-extidx "$clean"
[ "$(depth "$clean" /deep.bin)" = 2 ] || die "deep.bin: depth $(depth "$clean" /deep.bin)"
[ "$(blocks "$clean")" -lt $((0xFFFFFF)) ] || die "image too big"
dfs_w "$img" "set_inode_field /deep.bin block[4] 0xFFFFFF"
[ "$(extents "$img" /deep.bin | awk '$1 == "0/2" && $2 ~ /^1\// { print $6 }')" = 16777215 ] || die "$label: root index not changed"
ino=$(ino "$clean" /deep.bin); params+=("extidx_ino=$ino")
fsck_says "^Inode $ino has an invalid extent"
e2fsck -fn "$img" 2>&1 | grep -q "^Inode $ino passes checks, but checksum does not match" && die "$label: inode not re-signed"

# l. deep.bin on the image without checksums: the index node (the child of
# the root's index entry) has its first entry (+12) name group 0's block
# bitmap (dumpe2fs -g) as its child: ei_leaf_lo at +4. The first leaf's
# logical blocks (ex: the level-1 entry #1) become unreadable.
newcase cn-extidx "$nocsum"
[ "$(depth "$nocsum" /deep.bin)" = 2 ] || die "deep.bin: not depth 2"
inode_node=$(num "deep.bin index node" "$(extents "$nocsum" /deep.bin | awk '$1 == "0/2" && $2 ~ /^1\// { print $6 }')")
lend=$(num "deep.bin first leaf end" "$(extents "$nocsum" /deep.bin | awk '$1 == "1/2" && $2 ~ /^1\// { print $5 }')")
bbitmap=$(group0 "$nocsum" bbitmap)
set32 "$img" $((inode_node * bs + 12 + 4)) "$bbitmap"
[ "$(extents "$img" /deep.bin | awk '$1 == "1/2" && $2 ~ /^1\// { print $6 }')" = "$bbitmap" ] || die "$label: index node not changed"
ino=$(ino "$nocsum" /deep.bin)
fsck_says "^Inode $ino block $bbitmap conflicts with critical metadata"
last=$(( $(stat -c %s "$tree/deep.bin") / bs - 1 ))
params+=("extidx2_ino=$ino" "extidx2_lend=$lend" "extidx2_last=$last"
         "extidx2_last_sha256=$(dd if="$tree/deep.bin" bs=$bs skip="$last" count=1 status=none | sha256sum | cut -d' ' -f1)")

# m. long-link (a slow symlink: one extent, depth 0): the extent's
# ee_start_lo (i_block + 12 + 8, set_inode_field block[5]) = 0xFFFFFF,
# beyond the last block; the inode re-signed by debugfs.
newcase cc-slowlink "$clean"
[ "$(depth "$clean" /long-link)" = 0 ] || die "long-link: not depth 0"
dfs_w "$img" "set_inode_field /long-link block[5] 0xFFFFFF"
[ "$(extents "$img" /long-link | awk '$1 == "0/0" { print $6 }')" = 16777215 ] || die "$label: extent not changed"
ino=$(ino "$clean" /long-link); params+=("slowlink_ino=$ino")
fsck_says "^Inode $ino has an invalid extent"
grep -q "invalid physical block 16777215" "$img.fsck" || die "$label: e2fsck does not name block 16777215"

# n. long-link's extent names the group descriptor block (dumpe2fs -g):
# metadata, inside the filesystem. ext4 refuses such an extent when it
# reads the inode (ext4_inode_block_valid: the system zone).
newcase cc-slowmeta "$clean"
gdt=$(group0 "$clean" gdt)
dfs_w "$img" "set_inode_field /long-link block[5] $gdt"
[ "$(extents "$img" /long-link | awk '$1 == "0/0" { print $6 }')" = "$gdt" ] || die "$label: extent not changed"
ino=$(ino "$clean" /long-link); params+=("slowmeta_ino=$ino")
fsck_says "^Multiply-claimed block\(s\) in inode $ino"
grep -q "<filesystem metadata>" "$img.fsck" || die "$label: e2fsck does not name the metadata"

# p. small.txt's extent (in the inode, depth 0) names group 0's block
# bitmap (dumpe2fs -g); the inode re-signed by debugfs. ext4 refuses the
# inode when it reads it (the system zone).
newcase cc-extbitmap "$clean"
[ "$(depth "$clean" /small.txt)" = 0 ] || die "small.txt: not depth 0"
bbitmap=$(group0 "$clean" bbitmap)
dfs_w "$img" "set_inode_field /small.txt block[5] $bbitmap"
[ "$(extents "$img" /small.txt | awk '$1 == "0/0" { print $6 }')" = "$bbitmap" ] || die "$label: extent not changed"
ino=$(ino "$clean" /small.txt); params+=("extbitmap_ino=$ino" "extbitmap_blk=$bbitmap")
fsck_says "^Multiply-claimed block\(s\) in inode $ino: $bbitmap\$|^Inode $ino block $bbitmap conflicts with critical metadata"

# q. small.txt's extent names a block of the journal (debugfs bmap <8>):
# ext4 protects the journal inode's blocks in the system zone.
newcase cc-extjournal "$clean"
jblk=$(bmap "$clean" "<8>" 5)
dfs_w "$img" "set_inode_field /small.txt block[5] $jblk"
[ "$(extents "$img" /small.txt | awk '$1 == "0/0" { print $6 }')" = "$jblk" ] || die "$label: extent not changed"
ino=$(ino "$clean" /small.txt); params+=("extjournal_ino=$ino" "extjournal_blk=$jblk")
fsck_says "^Multiply-claimed block\(s\) in inode $ino"
grep -q "<The journal inode>" "$img.fsck" || die "$label: e2fsck does not name the journal"

# r. frag.bin's extent leaf block (no checksums, dd): its first extent's
# ee_start_lo (12 + 8) names group 0's inode table (dumpe2fs -g) plus 1.
# The inode and the root are fine: the leaf fails when it is read.
newcase cn-leafitable "$nocsum"
[ "$(depth "$nocsum" /frag.bin)" = 1 ] || die "frag.bin: not depth 1"
leaf=$(num "frag.bin leaf" "$(extents "$nocsum" /frag.bin | awk '$1 == "0/1" && $2 ~ /^1\// { print $6 }')")
itab=$(( $(group0 "$nocsum" itable) + 1 ))
set32 "$img" $((leaf * bs + 12 + 8)) "$itab"
[ "$(extents "$img" /frag.bin | awk '$1 == "1/1" && $2 ~ /^1\// { print $6 }')" = "$itab" ] || die "$label: leaf not changed"
ino=$(ino "$nocsum" /frag.bin); params+=("leafitable_ino=$ino" "leafitable_blk=$itab")
fsck_says "^Multiply-claimed block\(s\) in inode $ino: $itab\$|^Inode $ino block $itab conflicts with critical metadata"

# s. frag.bin (depth 1): the root's index entry (ei_block, i_block + 12:
# set_inode_field block[3]) says its leaf starts at logical block 1; the
# leaf's first extent starts at 0. ext4 checks this when it reads the
# leaf. Inode re-signed by debugfs.
newcase cc-idxfirst "$clean"
[ "$(depth "$clean" /frag.bin)" = 1 ] || die "frag.bin: not depth 1"
[ "$(extents "$clean" /frag.bin | awk '$1 == "1/1" && $2 ~ /^1\// { print $3 }')" = 0 ] || die "frag.bin: first extent not at 0"
dfs_w "$img" "set_inode_field /frag.bin block[3] 1"
[ "$(extents "$img" /frag.bin | awk '$1 == "0/1" && $2 ~ /^1\// { print $3 }')" = 1 ] || die "$label: index not changed"
ino=$(ino "$clean" /frag.bin); params+=("idxfirst_ino=$ino")
fsck_says "^Interior extent node level 0 of inode $ino:"

# t. deep.bin (depth 2, no checksums, dd): the level-1 index node's
# second entry names the first entry's leaf as its child: two index
# entries, one child, different ranges. Reading the first leaf's blocks
# (through the first entry) verifies it; a block of the second range must
# still fail (the child's first extent is not the second entry's start).
newcase cn-idxdup "$nocsum"
[ "$(depth "$nocsum" /deep.bin)" = 2 ] || die "deep.bin: not depth 2"
inode_node=$(num "deep.bin index node" "$(extents "$nocsum" /deep.bin | awk '$1 == "0/2" && $2 ~ /^1\// { print $6 }')")
leaf0=$(num "deep.bin first leaf" "$(extents "$nocsum" /deep.bin | awk '$1 == "1/2" && $2 ~ /^1\// { print $6 }')")
start1=$(num "deep.bin second leaf start" "$(extents "$nocsum" /deep.bin | awk '$1 == "1/2" && $2 ~ /^2\// { print $3 }')")
set32 "$img" $((inode_node * bs + 12 + 12 + 4)) "$leaf0"
[ "$(extents "$img" /deep.bin | awk '$1 == "1/2" && $2 ~ /^2\// { print $6 }')" = "$leaf0" ] || die "$label: index node not changed"
ino=$(ino "$nocsum" /deep.bin); params+=("idxdup_ino=$ino" "idxdup_lblk=$start1")
fsck_says "^Interior extent node level 1 of inode $ino:"

# o. A directory loop: loop/a's record "b" (an empty directory) replaced,
# by debugfs unlink + link, with one naming loop (a's parent): loop/a/b/a/b
# ... for a walk that follows names. The directory block is re-signed by
# libext2fs; only the tree's shape is wrong.
newcase cc-dirloop "$clean"
lino=$(ino "$clean" /loop)
dfs_w "$img" "unlink /loop/a/b" "link <$lino> /loop/a/b"
[ "$(ino "$img" /loop/a/b)" = "$lino" ] || die "$label: loop/a/b is not loop"
params+=("dirloop_ino=$lino" "dirloop_a_ino=$(ino "$clean" /loop/a)")
fsck_says "^Entry 'b' in /loop/a \([0-9]+\) is a link to directory /loop \($lino\)"

# p. Directory entries and a fast symlink the VFS must not take on trust,
# all written by debugfs (checksums valid): small.txt's links_count is 0 (a
# deleted inode still named: ext4's lookup reports "deleted inode
# referenced", EUCLEAN); d1/self names d1 itself (EUCLEAN); short-link's
# i_size is cut by 2, so its target is the first 7 bytes of "small.txt"
# and the rest of i_block must be ignored.
newcase cc-entries "$clean"
sino=$(ino "$clean" /small.txt)
d1ino=$(ino "$clean" /d1)
dfs_w "$img" "set_inode_field /small.txt links_count 0" "link <$d1ino> /d1/self" \
    "set_inode_field /short-link size 7"
[ "$(ino "$img" /d1/self)" = "$d1ino" ] || die "$label: d1/self is not d1"
params+=("entries_zero_ino=$sino" "entries_d1_ino=$d1ino")
fsck_says "^Entry 'small.txt' in / \(2\) has deleted/unused inode $sino"
grep -E -q "^Symlink /short-link \(inode #[0-9]+\) is invalid" "$img.fsck" || die "$label: e2fsck does not see short-link's size"
grep -E -q "^Entry 'self' in /d1 \($d1ino\) is a link to directory /d1" "$img.fsck" || die "$label: e2fsck does not see d1/self"

# q. A record's file_type byte (name_len + 1) set to 9, beyond the types
# ext4 defines (image without checksums: dd). readdir reports DT_UNKNOWN
# for it, as ext4 does; lookup and stat are unaffected.
newcase cn-ftype "$nocsum"
read -r _ pblk off <<< "$(dirent "$nocsum" /d1 medium.bin)"
putbytes "$img" $((pblk * bs + off + 7)) 9
params+=("ftype_ino=$(ino "$nocsum" /d1/medium.bin)")
fsck_says "^Entry 'medium.bin' in /d1 \([0-9]+\) has an incorrect filetype \(was 9, should be 1\)"

# r. The filetype feature cleared (debugfs feature): the type bytes are
# still on disk but mean nothing: every entry is DT_UNKNOWN, as on ext4.
newcase cn-nofiletype "$nocsum"
dfs_w "$img" "feature -filetype"
dumpe2fs -h "$img" 2>/dev/null | grep -q '^Filesystem features:.* filetype' && die "$label: filetype still set"
fsck_says "^Entry 'lost\+found' in / \(2\) has filetype set"

bytes=$(wc -c < "$out/lsdir")
params+=("long_target=$long_target" "lsdir_bytes=$bytes"
         "lsdir_sha256=$(sha256sum < "$out/lsdir" | cut -d' ' -f1)")
printf '%s\n' "${params[@]}" > "$out/params.txt"
[ "$(wc -c < "$out/params.txt")" -lt 4096 ] || die "params too long"
{
    cat "$out/params.txt"; head -c $((4096 - $(wc -c < "$out/params.txt"))) /dev/zero
    cat "$out/lsdir"; head -c $(((512 - bytes % 512) % 512)) /dev/zero
} > "$out/params.disk"
printf '%s\n' "${disks[@]}" > "$out/disks"
rm -f "$out/deep.data"
echo "mkcorrupt: ${#disks[@]} disks in $out/disks ($((SECONDS - t0)) s):"
sed 's/^/  /' "$out/params.txt"
