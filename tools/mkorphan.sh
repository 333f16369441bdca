#!/bin/bash
# Host-made orphan file images for qemu/scenarios/orphan-replay.sh, in DIR:
#   trunc-1k.img    1 KiB blocks: /t (20000 bytes of "0123456789\n"...) with
#                   its size cut to 3000 and its inode in orphan file block
#                   0 slot 0, orphan_present set: what a crash in the
#                   middle of a truncation leaves
#   badmagic-4k.img 4 KiB blocks: orphan file block 1's ob_magic damaged
#   badcsum-1k.img  1 KiB blocks: a slot of orphan file block 2 changed
#                   without its checksum
#   toobig-1k.img   1 KiB blocks: an orphan file of 1024 blocks (mke2fs
#                   makes it; ext4 refuses more than 512)
# Each also holds /f. The slots are written by tools/ext4disk's ext4img
# (the disk layer's own orphan block code; e2fsck agrees with its checksum,
# see the host test orphan::e2fsck_agrees_on_the_checksum).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tools/env.sh"
d=$1
(cd "$here/tools/ext4disk" && CARGO_TARGET_DIR=$REXT4_CARGO_TARGET cargo build -q --release --bin ext4img)
e=$REXT4_CARGO_TARGET/release/ext4img
export MKE2FS_CONFIG=/etc/mke2fs.conf
tree=$d/tree
rm -rf "$tree"
mkdir -p "$tree"
yes 0123456789 | head -c 20000 > "$tree/t" || true
echo file > "$tree/f"
mk() { # IMG BLOCKSIZE [MKE2FS OPTION...]
    local img=$1 b=$2
    shift 2
    rm -f "$d/$img"
    truncate -s 16M "$d/$img"
    mke2fs -q -F -t ext4 -b "$b" -O orphan_file "$@" -d "$tree" "$d/$img"
}
# block_offset IMG LBLK: byte offset of the orphan file's block LBLK.
block_offset() { show "$1" | awk -v l="$2" '$1 == "orphan_block" && $2 == l { print $4 }'; }
# show IMG: ext4img orphan-show, whole (a reader stopping early would
# break its pipe).
show() { "$e" orphan-show "$d/$1" > "$d/$1.show" && cat "$d/$1.show"; }

mk trunc-1k.img 1024
"$e" locate "$d/trunc-1k.img" /t > "$d/t.locate"
ino=$(awk '$1 == "ino" { print $2 }' "$d/t.locate")
debugfs -w -R "sif /t size 3000" "$d/trunc-1k.img"
"$e" orphan-set "$d/trunc-1k.img" 0 0 "$ino"
"$e" sb-or32 "$d/trunc-1k.img" 0x64 0x10000
show trunc-1k.img > /dev/null
grep -qx "orphan_slot 0 0 $ino" "$d/trunc-1k.img.show"

mk badmagic-4k.img 4096
off=$(block_offset badmagic-4k.img 1)
"$e" flip "$d/badmagic-4k.img" $((off + 4096 - 8 + 2)) 0x40
show badmagic-4k.img > /dev/null
grep -q "^orphan_block 1 .* error corrupt orphan file block: ob_magic" "$d/badmagic-4k.img.show"

mk badcsum-1k.img 1024
off=$(block_offset badcsum-1k.img 2)
"$e" flip "$d/badcsum-1k.img" $((off + 40)) 0x01
show badcsum-1k.img > /dev/null
grep -q "^orphan_block 2 .* error orphan file block checksum mismatch" "$d/badcsum-1k.img.show"
mk toobig-1k.img 1024 -E orphan_file_size=1024
show toobig-1k.img > /dev/null
grep -q "^orphan_file 12 blocks 1024 " "$d/toobig-1k.img.show"
echo "mkorphan: images in $d"
