# The image of `make bench`'s metadata benchmarks (bench-walk, bench-map),
# made once by tools/bench.sh and cached: the host's mke2fs -d put a normal
# source tree in /tree, and here the in-kernel ext4 adds the shapes
# mke2fs never writes:
#   /big        50 000 entries (widegen files): a two-level htree
#   /frag       4000 one-block extents of data, holes between (widegen
#               frag): an extent tree of depth 2
#   /unwritten  4000 one-block unwritten extents, holes between
#               (benchtool unwritten): the same tree shape, nothing to read
SCENARIO=bench-mkimg
. /scenarios/lib.sh

check "mount (ext4)" mount -t ext4 /dev/vda /mnt
mkdir -p /mnt/big
check "big: 50000 entries" widegen files /mnt/big 50000
check "frag: 4000 extents" widegen frag /mnt/frag 4000
check "unwritten: 4000 extents" benchtool unwritten /mnt/unwritten 4000
check "umount" umount /mnt
levels=$(debugfs -R "htree_dump /big" /dev/vda 2>/dev/null | sed -n 's/.*Indirect levels: *\([0-9]*\).*/\1/p' | head -n 1)
[ "${levels:-0}" -ge 1 ] && pass "big: htree has two levels" "indirect levels $levels" ||
    fail "big: htree has two levels" "indirect levels '$levels'"
for f in frag unwritten; do
    depth=$(debugfs -R "ex /$f" /dev/vda 2>/dev/null | awk 'NR == 2 { split($1, a, "/"); print $2 + 0 }')
    [ "${depth:-0}" -ge 2 ] && pass "$f: extent tree depth >= 2" "depth $depth" ||
        fail "$f: extent tree depth >= 2" "depth '$depth'"
done
check "e2fsck -fn clean" e2fsck -fn /dev/vda
