# The in-kernel ext4 writes the shapes `mkfs.ext4 -d` never makes, for
# rext4 to read back (tools/test.sh runs read-tree and bigdir on them):
#
#   /dev/vda  wide image (empty ext4, 4 KiB blocks), gets:
#     unwritten      fallocate'd 1 MiB with 8 KiB written inside it, and
#                    512 KiB preallocated past EOF (KEEP_SIZE)
#     prealloc       64 KiB fallocate'd, nothing written
#     deep           1500 one-block extents (holes between): extent tree of
#                    depth 2
#     sparse5g       5 GiB with data at 4 GiB + 1 MiB and in its last block
#     times/         atime after 2038 and before 1970, ctime and crtime as
#                    ext4 sets them (nanoseconds in every extra field), an
#                    immutable file
#     special/       fast and slow symlinks, a FIFO, char and block devices,
#                    a unix socket, a hard link
#   /dev/vdb  bigdir image (empty ext4): big/ with 50 000 entries, so its
#             htree has two levels (indirect_levels 1)
#   /dev/vdc  output: the manifest of the wide image in the manifest-disk
#             format read-tree expects (see tools/mkreadimages.sh)
#   /dev/vdd  nlink image (empty ext4, 1 KiB blocks): many/ with 64 990
#             subdirectories (link count 64 992, an htree of two levels),
#             for write-htree to take past 65 000 with rext4 (dir_nlink)
#
# Every check here tests ext4 itself (that the shapes exist: debugfs and
# e2fsck agree), so the run is named ext4-itself-wide-image.
SCENARIO=mkwide
. /scenarios/lib.sh

check "mount wide image (ext4)" mount -t ext4 /dev/vda /mnt
cd /mnt || exit 1
check "unwritten: fallocate 1 MiB" widegen falloc unwritten 0 1048576
check "unwritten: write 8 KiB inside" widegen pwrite unwritten 262144 8192
check "unwritten: preallocate past EOF" widegen falloc unwritten 1048576 524288 keep
check "prealloc: fallocate 64 KiB" widegen falloc prealloc 0 65536
check "deep: 1500 extents" widegen frag deep 1500
check "sparse5g: truncate" truncate -s 5G sparse5g
check "sparse5g: data past 4 GiB" widegen pwrite sparse5g 4296015872 65536
check "sparse5g: data in the last block" widegen pwrite sparse5g 5368705024 4096
mkdir -p times special/sub
echo a > times/future-atime
echo b > times/past-atime
echo c > times/immutable
check "times: atime after 2038" touch -a -d "2040-06-01 12:34:56" times/future-atime
check "times: atime before 1970" touch -a -d "1960-01-02 03:04:05" times/past-atime
check "times: immutable" chattr +i times/immutable
ln -s sub special/fast-link
ln -s "$(printf 'x%.0s' $(seq 1 200))" special/slow-link
mkfifo special/fifo
mknod special/chardev c 1 3
mknod special/blockdev b 254 0
check "special: socket" widegen sock special/socket
echo linked > special/sub/target
ln special/sub/target special/hardlink
cd /
sync
check "wide: manifest" sh -c 'sh /scenarios/manifest.sh /mnt > /tmp/manifest'
check "umount wide image" umount /mnt

# The manifest disk: "REXT4-MANIFEST <bytes> <sha256>" in sector 0, the
# manifest from byte 512.
len=$(wc -c < /tmp/manifest)
sum=$(sha256sum < /tmp/manifest | cut -d' ' -f1)
{
    printf 'REXT4-MANIFEST %s %s\n' "$len" "$sum"
    head -c 511 /dev/zero
} | head -c 512 > /tmp/manifest.disk
cat /tmp/manifest >> /tmp/manifest.disk
check "write manifest disk" dd if=/tmp/manifest.disk of=/dev/vdc bs=512 conv=sync,fsync

# The shapes exist, as e2fsprogs sees them.
depth=$(debugfs -R "ex /deep" /dev/vda 2>/dev/null | awk 'NR == 2 { split($1, a, "/"); print $2 + 0 }')
[ "${depth:-0}" -ge 2 ] && pass "deep: extent tree depth >= 2" "depth $depth" ||
    fail "deep: extent tree depth >= 2" "depth '$depth': $(debugfs -R 'ex /deep' /dev/vda 2>&1 | head -n 3 | tr '\n' ' ')"
debugfs -R "ex /unwritten" /dev/vda 2>/dev/null > /tmp/ex.unwritten
grep -q Uninit /tmp/ex.unwritten && pass "unwritten: extents flagged uninit" ||
    fail "unwritten: extents flagged uninit" "$(head -c 300 /tmp/ex.unwritten)"
check "wide: e2fsck -fn clean" e2fsck -fn /dev/vda

check "mount bigdir image (ext4)" mount -t ext4 /dev/vdb /mnt
mkdir -p /mnt/big
check "big: 50000 entries" widegen files /mnt/big 50000
check "umount bigdir image" umount /mnt
levels=$(debugfs -R "htree_dump /big" /dev/vdb 2>/dev/null | sed -n 's/.*Indirect levels: *\([0-9]*\).*/\1/p' | head -n 1)
[ "${levels:-0}" -ge 1 ] && pass "big: htree has two levels" "indirect levels $levels" ||
    fail "big: htree has two levels" "indirect levels '$levels'"
check "bigdir: e2fsck -fn clean" e2fsck -fn /dev/vdb

check "mount nlink image (ext4)" mount -t ext4 /dev/vdd /mnt
mkdir -p /mnt/many
check "many: 64990 subdirectories" widegen mkdirs /mnt/many 64990
n=$(stat -c %h /mnt/many)
[ "$n" = 64992 ] && pass "many: link count 64992" || fail "many: link count 64992" "link count '$n'"
check "umount nlink image" umount /mnt
check "nlink: e2fsck -fn clean" e2fsck -fn /dev/vdd
