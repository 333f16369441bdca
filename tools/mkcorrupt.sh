#!/bin/bash
# Build the corrupted images of the `corrupt` VM scenario into OUTDIR.
#
#   tools/mkcorrupt.sh OUTDIR
#   qemu/vm.sh corrupt RESULTS $(cat OUTDIR/disks)
#
# A small tree (OUTDIR/tree) goes into two clean 64 MiB images made with
# `mke2fs -t ext4 -b 4096 -d`, then `e2fsck -fyD` (so big/ becomes an htree
# directory) and `e2fsck -fn` (must be clean):
#   clean.img     default features (metadata_csum)
#   nocsum.img    -O ^metadata_csum
# Tree: empty (0 bytes), small.txt (100), d1/medium.bin (5000),
# d1/d2/large.bin (300000), frag.bin (20 single blocks 3 blocks apart: 20
# extents, so a depth-1 extent tree), big/ (600 empty files with long
# names: several leaf blocks), long-link (symlink, target > 60 bytes: kept
# in a block), short-link, and SHA256SUMS (sha256sum of every regular file).
#
# Each case is a fresh copy of a clean image, relabelled (tune2fs -L, so the
# guest can check the disk order), then corrupted with tools/ext4disk's
# `ext4img` at offsets it finds with `ext4img locate` on the clean image:
#   cc-clean      clean.img as is                     (control)
#   cn-clean      nocsum.img as is                    (control)
#   cc-gdesc      group 0's descriptor: bg_inode_table byte flipped
#   cc-inode      small.txt's raw inode: an i_mtime byte flipped
#   cc-extblock   frag.bin's extent leaf block: a byte of the first extent
#   cn-extmagic   d1/medium.bin's in-inode extent root: eh_magic byte flipped
#   cc-htree      big/'s last leaf block: the first name byte of an entry
#   cn-reclen     the root directory's record of small.txt: rec_len = 3
#   cn-badino     d1/d2's record of large.bin: inode = 0xFFFFFF
#   cc-recover    superblock: INCOMPAT_RECOVER (needs_recovery) set, re-signed
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
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/env.sh"
out=${1:?usage: mkcorrupt.sh OUTDIR}
t0=$SECONDS
mkdir -p "$out"
out=$(cd "$out" && pwd)
(cd "$top/tools/ext4disk" && CARGO_TARGET_DIR=$REXT4_CACHE/cargo-target cargo build -q --release --bin ext4img)
ext4img=$REXT4_CACHE/cargo-target/release/ext4img

# The tree.
tree=$out/tree
rm -rf "$tree"
mkdir -p "$tree/d1/d2" "$tree/big"
: > "$tree/empty"
head -c 100 /dev/urandom > "$tree/small.txt"
head -c 5000 /dev/urandom > "$tree/d1/medium.bin"
head -c 300000 /dev/urandom > "$tree/d1/d2/large.bin"
for i in $(seq 0 19); do
    dd if=/dev/urandom of="$tree/frag.bin" bs=4k count=1 seek=$((i * 3)) conv=notrunc status=none
done
for i in $(seq -w 0 599); do : > "$tree/big/entry-with-a-rather-long-name-$i"; done
long_target=d1/../d1/d2/../../d1/d2/../d2/../../d1/d2/./../d2/../../d1/d2/large.bin
ln -s "$long_target" "$tree/long-link"
ln -s small.txt "$tree/short-link"
(cd "$tree" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS)
[ ${#long_target} -gt 60 ] || { echo "long-link: target too short" >&2; exit 1; }

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

# The clean images.
mkclean() { # image mke2fs-options...
    local img=$1; shift
    rm -f "$img"
    truncate -s 64M "$img"
    mke2fs -q -F -t ext4 -b 4096 "$@" -d "$tree" "$img"
    local rc=0
    e2fsck -fyD "$img" > "$img.e2fsck-D.log" 2>&1 || rc=$?
    [ $rc -le 1 ] || { cat "$img.e2fsck-D.log" >&2; echo "$img: e2fsck -fyD rc $rc" >&2; exit 1; }
    e2fsck -fn "$img" > "$img.e2fsck.log" 2>&1 || { cat "$img.e2fsck.log" >&2; echo "$img: not clean" >&2; exit 1; }
}
mkclean "$out/clean.img"
mkclean "$out/nocsum.img" -O ^metadata_csum

# loc IMG PATH KEY [FIELD]: a value printed by `ext4img locate` (FIELD 2 is
# the first value).
loc() {
    local v
    v=$("$ext4img" locate "$1" "$2" | awk -v k="$3" -v f="${4:-2}" '$1 == k && !done { print $f; done = 1 }')
    [ -n "$v" ] || { echo "mkcorrupt: no '$3' for $2 in $1" >&2; exit 1; }
    echo "$v"
}

# newcase LABEL CLEAN-IMAGE: a relabelled copy, in $img; the next disk.
disks=("$out/params.disk")
params=()
devs=(vda vdb vdc vdd vde vdf vdg vdh vdi vdj vdk vdl vdm vdn vdo vdp)
newcase() {
    img=$out/$1.img
    cp --sparse=always "$2" "$img"
    tune2fs -L "$1" "$img" > /dev/null
    params+=("disk_${1//-/_}=${devs[${#disks[@]}]}")
    disks+=("$img")
}
clean=$out/clean.img nocsum=$out/nocsum.img

newcase cc-clean "$clean"
newcase cn-clean "$nocsum"

# a. Group 0's descriptor (block 1): bg_inode_table_lo, byte 0x8.
newcase cc-gdesc "$clean"
"$ext4img" flip "$img" $((4096 + 0x8)) 0x01

# b. small.txt's inode: i_mtime (0x10).
newcase cc-inode "$clean"
off=$(loc "$clean" /small.txt inode_offset)
"$ext4img" flip "$img" $((off + 0x10)) 0x01
ino=$(loc "$clean" /small.txt ino); params+=("inode_ino=$ino")

# c. frag.bin's extent leaf: ee_start_lo of the first extent (12 + 8).
newcase cc-extblock "$clean"
depth=$(loc "$clean" /frag.bin extent_depth)
[ "$depth" -ge 1 ] || { echo "frag.bin: depth $depth" >&2; exit 1; }
off=$(loc "$clean" /frag.bin extent_node 3)
"$ext4img" flip "$img" $((off + 12 + 8)) 0x01
ino=$(loc "$clean" /frag.bin ino); params+=("extblock_ino=$ino")

# d. d1/medium.bin's extent root in i_block: eh_magic low byte (0x0A -> 0xF5).
newcase cn-extmagic "$nocsum"
depth=$(loc "$nocsum" /d1/medium.bin extent_depth)
[ "$depth" = 0 ] || { echo "medium.bin: depth $depth" >&2; exit 1; }
off=$(loc "$nocsum" /d1/medium.bin i_block_offset)
"$ext4img" flip "$img" "$off" 0xFF
ino=$(loc "$nocsum" /d1/medium.bin ino); params+=("extmagic_ino=$ino")

# e. big/: the last leaf block. The victim is a name in it, the survivor a
# name in the first leaf block (logical block 1).
newcase cc-htree "$clean"
"$ext4img" locate "$clean" /big > "$out/big.locate"
grep -q ' dx_root$' "$out/big.locate" || { echo "big/: not an htree" >&2; exit 1; }
last=$(awk '$1 == "dir_block" && $4 == "leaf" { l = $2 } END { print l }' "$out/big.locate")
[ "$last" -ge 2 ] || { echo "big/: only $last leaf blocks" >&2; exit 1; }
victim= survivor=
for n in $(cd "$tree/big" && ls); do
    lblk=$(loc "$clean" "/big/$n" dirent 2)
    if [ -z "$victim" ] && [ "$lblk" = "$last" ]; then victim=$n; voff=$(loc "$clean" "/big/$n" dirent 3); fi
    if [ -z "$survivor" ] && [ "$lblk" = 1 ]; then survivor=$n; fi
    [ -n "$victim" ] && [ -n "$survivor" ] && break
done
[ -n "$victim" ] && [ -n "$survivor" ] || { echo "big/: no victim/survivor" >&2; exit 1; }
"$ext4img" flip "$img" $((voff + 8)) 0x01
ino=$(loc "$clean" /big ino)
params+=("htree_ino=$ino" "htree_lblk=$last"
         "htree_victim=$victim" "htree_survivor=$survivor"
         "htree_entries=$(ls "$tree/big" | wc -l)")

# f. The root directory's record of small.txt: rec_len (+4) = 3.
newcase cn-reclen "$nocsum"
lblk=$(loc "$nocsum" /small.txt dirent)
[ "$lblk" = 0 ] || { echo "small.txt: in block $lblk" >&2; exit 1; }
off=$(loc "$nocsum" /small.txt dirent 3)
"$ext4img" set16 "$img" $((off + 4)) 3

# g. d1/d2's record of large.bin: inode (+0) = 0xFFFFFF.
newcase cn-badino "$nocsum"
off=$(loc "$nocsum" /d1/d2/large.bin dirent 3)
"$ext4img" set32 "$img" "$off" 0xFFFFFF
ino=$(loc "$nocsum" /d1/d2 ino); params+=("badino_dir_ino=$ino")

# h. needs_recovery: INCOMPAT_RECOVER (0x4) in s_feature_incompat (0x60).
newcase cc-recover "$clean"
"$ext4img" sb-or32 "$img" 0x60 0x4

bytes=$(wc -c < "$out/lsdir")
params+=("long_target=$long_target" "lsdir_bytes=$bytes"
         "lsdir_sha256=$(sha256sum < "$out/lsdir" | cut -d' ' -f1)")
printf '%s\n' "${params[@]}" > "$out/params.txt"
[ "$(wc -c < "$out/params.txt")" -lt 4096 ] || { echo "params too long" >&2; exit 1; }
{
    cat "$out/params.txt"; head -c $((4096 - $(wc -c < "$out/params.txt"))) /dev/zero
    cat "$out/lsdir"; head -c $(((512 - bytes % 512) % 512)) /dev/zero
} > "$out/params.disk"
printf '%s\n' "${disks[@]}" > "$out/disks"
echo "mkcorrupt: ${#disks[@]} disks in $out/disks ($((SECONDS - t0)) s):"
sed 's/^/  /' "$out/params.txt"
