#!/bin/bash
# Build the read-path test data into OUTDIR: a generated file tree, its
# manifest, ext4 images made from it with `mkfs.ext4 -d`, and the manifest
# as a raw disk for the guest.
#
#   tools/mkreadimages.sh OUTDIR
#
# OUTDIR/tree           tools/gentree.py --seed $READTREE_SEED (default 1)
#                       --scale $READTREE_SCALE (default full)
# OUTDIR/manifest.txt   tools/manifest.sh OUTDIR/tree
# OUTDIR/manifest.disk  the manifest as a raw disk: sector 0 holds the line
#                       "REXT4-MANIFEST <bytes> <sha256>" (zero padded), the
#                       manifest starts at byte 512; zero padded to 512 bytes
# OUTDIR/<label>.img    256 MiB, `mkfs.ext4 -q -F -b <bs> -L rt-<label> -d tree`
#                       with these block sizes and options:
#     default           4096 (none: metadata_csum, 64bit, flex_bg, extents, ...)
#     nocsum            4096 -O ^metadata_csum
#     no64bit           4096 -O ^64bit
#     noflexbg          4096 -O ^flex_bg
#     linear            4096 (none), and directories left as mkfs -d writes them
#     1k                1024 (none)
#     2k                2048 (none)
#     crc16             4096 -O ^metadata_csum,uninit_bg: crc16 group
#                       descriptor checksums, BLOCK_UNINIT/INODE_UNINIT groups
#     csumseed          4096 -O metadata_csum_seed, then `tune2fs -U` to a new
#                       UUID: checksums stay seeded by the old one
#                       (s_checksum_seed), so a reader seeding from the UUID
#                       fails every checksum
# Then, except for linear.img: `e2fsck -fyD`, which turns every directory of
# more than one block into an htree (dir_index) directory; mkfs -d itself
# writes only linear directories. linear.img keeps the multi-block linear
# directories (htree/ has 27 blocks at full scale) for the other lookup path.
# Then the mtime fix-up below (which also sets a few inode flags:
# immutable, append, nodump, noatime, sync, dirsync), and `e2fsck -fn` must
# find the image clean.
#
# The guest scenario: qemu/scenarios/read-tree.sh, e.g.
#   REXT4_VM_APPEND="rext4.fstype=ext4" qemu/vm.sh read-tree /tmp/rt OUTDIR/default.img OUTDIR/manifest.disk
# (more images may follow the manifest disk: /dev/vdc, /dev/vdd, ...)
#
# What mkfs.ext4 -d (e2fsprogs 1.47.0) does not preserve, and what is done:
#   - timestamps: it stores only the low 32 bits of the seconds and no
#     nanoseconds (the inode's *_extra fields stay 0), so times after
#     2038-01-19 03:14:07 wrap to 1901.. and sub-second parts are lost. Fixed
#     up here: every inode's mtime_lo and mtime_extra (epoch bits and
#     nanoseconds, as the kernel encodes them) are set with debugfs from the
#     source tree's st_mtime_ns. atime/ctime/crtime are not fixed (not compared).
#   - hard-linked symlinks: each name becomes its own inode (nlink 1), so the
#     generator never hard-links a symlink. Hard-linked regular files, fifos
#     and device nodes are preserved.
#   - htree directories: see e2fsck -D above.
#   - blocks of zeros in regular files become holes (content reads the same;
#     block counts are not compared).
# Preserved as is: modes incl. setuid/setgid/sticky and 0000, 32-bit uid/gid,
# device numbers (old and new encodings), fifos, sockets, symlink targets
# (fast < 60 bytes, slow up to 1023: what 1 KiB blocks hold), holes, sizes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: mkreadimages.sh OUTDIR}
seed=${READTREE_SEED:-1}
scale=${READTREE_SCALE:-full}
size_mib=256
t0=$SECONDS
mkdir -p "$out"
out=$(cd "$out" && pwd)

rm -rf "$out/tree"
python3 "$top/tools/gentree.py" "$out/tree" --seed "$seed" --scale "$scale"
"$top/tools/manifest.sh" "$out/tree" > "$out/manifest.txt"
entries=$(wc -l < "$out/manifest.txt")
bytes=$(awk -F '\t' '$2 == "f" { s += $7 } END { printf "%.0f\n", s }' "$out/manifest.txt")

# The manifest disk.
len=$(wc -c < "$out/manifest.txt")
sum=$(sha256sum < "$out/manifest.txt" | cut -d' ' -f1)
hdr="REXT4-MANIFEST $len $sum"
{
    printf '%s\n' "$hdr"
    head -c $((512 - ${#hdr} - 1)) /dev/zero
    cat "$out/manifest.txt"
    head -c $(((512 - len % 512) % 512)) /dev/zero
} > "$out/manifest.disk"
[ $(( $(wc -c < "$out/manifest.disk") % 512 )) = 0 ] || { echo "manifest.disk: bad padding" >&2; exit 1; }

# debugfs commands that set every inode's mtime exactly (see above).
python3 - "$out/tree" > "$out/mtime-fixup.debugfs" <<'EOF'
import os, sys
root = sys.argv[1]
seen = set()
def emit(rel, st):
    if st.st_ino in seen:
        return
    seen.add(st.st_ino)
    sec, ns = divmod(st.st_mtime_ns, 10**9)
    lo = sec & 0xffffffff
    s32 = lo - 2**32 if lo >= 2**31 else lo
    epoch = ((sec - s32) >> 32) & 3
    if '"' in rel or "\n" in rel:
        sys.exit(f"mtime fix-up: unsupported name {rel!r}")
    print(f'sif "{rel}" mtime_lo {lo:#x}')
    print(f'sif "{rel}" mtime_extra {(ns << 2) | epoch:#x}')
emit("/", os.lstat(root))
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        emit("/" + os.path.relpath(p, root), os.lstat(p))
# Inode flags the VFS and statx report (mkfs -d copies none): immutable,
# append-only, nodump, noatime+sync, and dirsync on a directory.
for path, flags in (("/big/big-0", 0x80010), ("/big/big-1", 0x80020),
                    ("/big/big-2", 0x80040), ("/big", 0x90080 | 0x8)):
    print(f'sif "{path}" flags {flags:#x}')
EOF

# label:block-size:mkfs-options:optimise-directories
sets=("default:4096::yes" "nocsum:4096:-O ^metadata_csum:yes" "no64bit:4096:-O ^64bit:yes"
      "noflexbg:4096:-O ^flex_bg:yes" "linear:4096::no" "1k:1024::yes" "2k:2048::yes"
      "crc16:4096:-O ^metadata_csum,uninit_bg:yes" "csumseed:4096:-O metadata_csum_seed:yes")
for s in "${sets[@]}"; do
    label=${s%%:*}; rest=${s#*:}; bs=${rest%%:*}; rest=${rest#*:}
    opts=${rest%%:*}; dx=${rest#*:}
    img=$out/$label.img
    rm -f "$img"
    truncate -s "${size_mib}M" "$img"
    # shellcheck disable=SC2086
    mkfs.ext4 -q -F -b "$bs" -L "rt-$label" $opts -d "$out/tree" "$img"
    if [ "$dx" = yes ]; then
        rc=0; e2fsck -fyD "$img" > "$out/$label.e2fsck-D.log" 2>&1 || rc=$?
        [ $rc -le 1 ] || { cat "$out/$label.e2fsck-D.log"; echo "$label: e2fsck -D rc $rc" >&2; exit 1; }
    fi
    if [ "$label" = csumseed ]; then
        tune2fs -U 5eed5eed-0123-4567-89ab-cdef01234567 "$img" > /dev/null
        dumpe2fs -h "$img" 2>/dev/null | grep -q '^Checksum seed:' ||
            { echo "$label: no checksum seed after tune2fs -U" >&2; exit 1; }
    fi
    if [ "$label" = crc16 ]; then
        dumpe2fs "$img" 2>/dev/null | grep -q 'ITABLE_ZEROED\|BLOCK_UNINIT' && dumpe2fs "$img" 2>/dev/null | grep -q 'csum 0x' ||
            { echo "$label: no crc16 descriptor checksums" >&2; exit 1; }
    fi
    debugfs -w -f "$out/mtime-fixup.debugfs" "$img" > "$out/$label.fixup.log" 2>&1
    if grep -v '^debugfs [0-9]' "$out/$label.fixup.log" | grep -v '^debugfs: sif ' | grep -q .; then
        grep -v '^debugfs: sif ' "$out/$label.fixup.log" | head >&2
        echo "$label: mtime fix-up failed" >&2; exit 1
    fi
    flags=$(debugfs -R "stat /htree" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
    indexed=no; (( flags & 0x1000 )) && indexed=yes
    [ "$indexed" = "$dx" ] || { echo "$label: htree/ indexed=$indexed, expected $dx" >&2; exit 1; }
    e2fsck -fn "$img" > "$out/$label.e2fsck.log" 2>&1 || { cat "$out/$label.e2fsck.log"; echo "$label: e2fsck -fn not clean" >&2; exit 1; }
    echo "$label.img: mkfs.ext4 -b $bs ${opts:-(defaults)}, htree/ indexed: $indexed, e2fsck clean"
done
echo "tree: $entries entries, $bytes bytes in regular files (seed $seed, $scale)"
echo "manifest: $out/manifest.txt, disk: $out/manifest.disk ($((SECONDS - t0)) s)"
