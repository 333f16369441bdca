#!/bin/bash
# Build the disk images the VM scenarios use, into DIR.
#
#   tools/mkimages.sh DIR
#
# probe.img     default mke2fs -t ext4 (4 KiB blocks, metadata_csum, 64bit)
# nojournal.img default features without has_journal (journal options refused)
# zero.img      all zeros: not a filesystem
# badcsum.img   probe.img with one superblock byte flipped (checksum mismatch)
# 1k.img        1 KiB blocks (mounts since 1 KiB blocks are supported)
# incompat.img  an unknown INCOMPAT bit (20), re-signed
# rocompat.img  an unknown RO_COMPAT bit (24), re-signed
# truncated.img probe.img cut to half its size
# geometry.img  s_inodes_count wrong, re-signed
# extjournal.img  probe.img naming an external journal device (0x801) instead
#               of the journal inode, re-signed
# rootfile.img  probe.img whose root inode is a regular file: the mount fails
#               after the journal is loaded (the failed mount destroys it)
# fcrecover.img fast_commit, flagged needs_recovery (over an empty journal):
#               rext4 cannot replay fast commits and refuses to recover
# jdeleted.img  probe.img whose journal inode has links_count 0
# jnotreg.img   probe.img naming the root directory as its journal inode
# reference.img empty, for the in-kernel ext4 reference scenario
# plain.img     256 MiB, plain `mkfs.ext4 IMG` (Debian's defaults: 1 KiB blocks)
# xattr.img     empty, default features: the xattr scenario's ext4 writes
#               attributes and ACLs there, rext4 reads them
# xattr-nocsum.img  empty, ^metadata_csum: a damaged attribute block that
#               no checksum catches (the xattr scenario)
# demo.img      a small tree (this repository's sources, a sparse file, links)
set -euo pipefail
dir=$1
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tools/env.sh"
mkdir -p "$dir"
(cd "$here/tools/ext4disk" && CARGO_TARGET_DIR=$REXT4_CARGO_TARGET cargo build -q --release --bin ext4img)
img=$REXT4_CARGO_TARGET/release/ext4img

mk() { # name size_mib mke2fs-args...
    local f=$dir/$1 size=$2; shift 2
    rm -f "$f"; truncate -s "${size}M" "$f"
    mke2fs -q -F -t ext4 "$@" "$f"
}
mk probe.img 64 -b 4096 -L rext4-probe
mk nojournal.img 16 -b 4096 -O ^has_journal -L rext4-nojournal
rm -f "$dir/zero.img"; truncate -s 16M "$dir/zero.img"
cp "$dir/probe.img" "$dir/badcsum.img"; "$img" sb-xor "$dir/badcsum.img" 0x100 0x10
mk 1k.img 64 -b 1024
cp "$dir/probe.img" "$dir/incompat.img"; "$img" sb-or32 "$dir/incompat.img" 0x60 0x100000
cp "$dir/probe.img" "$dir/rocompat.img"; "$img" sb-or32 "$dir/rocompat.img" 0x64 0x1000000
cp "$dir/probe.img" "$dir/truncated.img"; truncate -s 32M "$dir/truncated.img"
cp "$dir/probe.img" "$dir/geometry.img"; "$img" sb-set32 "$dir/geometry.img" 0x0 12345
cp "$dir/probe.img" "$dir/extjournal.img"; "$img" sb-set32 "$dir/extjournal.img" 0xE0 0
"$img" sb-set32 "$dir/extjournal.img" 0xE4 0x801
cp "$dir/probe.img" "$dir/rootfile.img"
debugfs -w -R "sif <2> mode 0100644" "$dir/rootfile.img" > /dev/null 2>&1
debugfs -R "stat <2>" "$dir/rootfile.img" 2>/dev/null | grep -q "Type: regular" ||
    { echo "mkimages: rootfile.img: root inode not changed" >&2; exit 1; }
mk fcrecover.img 64 -b 4096 -O fast_commit
debugfs -w -R "feature needs_recovery" "$dir/fcrecover.img" > /dev/null 2>&1
dumpe2fs -h "$dir/fcrecover.img" 2>/dev/null | grep -q "needs_recovery" ||
    { echo "mkimages: fcrecover.img: needs_recovery not set" >&2; exit 1; }
cp "$dir/probe.img" "$dir/jdeleted.img"
debugfs -w -R "sif <8> links_count 0" "$dir/jdeleted.img" > /dev/null 2>&1
debugfs -R "stat <8>" "$dir/jdeleted.img" 2>/dev/null | grep -q "Links: 0" ||
    { echo "mkimages: jdeleted.img: journal inode not changed" >&2; exit 1; }
cp "$dir/probe.img" "$dir/jnotreg.img"; "$img" sb-set32 "$dir/jnotreg.img" 0xE0 2
mk reference.img 128 -b 4096
mk xattr.img 64 -b 4096 -L rext4-xattr
mk xattr-nocsum.img 32 -b 4096 -O ^metadata_csum -L rext4-xattr-nc
rm -f "$dir/plain.img"; truncate -s 256M "$dir/plain.img"; mkfs.ext4 -q -F "$dir/plain.img"

# The demo's tree: a few real files, a link, a sparse file.
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
mkdir -p "$demo/rext4/disk"
cp "$here/README.md" "$demo/rext4/"
cp "$here"/rust/disk/*.rs "$demo/rext4/disk/"
ln -s rext4/README.md "$demo/README"
head -c 3000000 /dev/urandom > "$demo/random.bin"
truncate -s 1G "$demo/sparse-1G"
printf 'end of a sparse file\n' >> "$demo/sparse-1G"
(cd "$demo" && md5sum random.bin rext4/README.md > "$demo/MD5SUMS")
mk demo.img 64 -b 4096 -L rext4-demo -d "$demo"
