# Mounts of bad images fail with a clear "rext4 (vdX): ..." message and the
# right error code; the kernel stays healthy and the module unloads.
# Disks: vda zero, vdb badcsum, vdc 1k, vdd incompat, vde rocompat,
#        vdf truncated, vdg geometry, vdh extjournal, vdi rootfile,
#        vdj fcrecover, vdk jdeleted, vdl jnotreg.
SCENARIO=bad-images
. /scenarios/lib.sh
load_rext4

# try NAME DEV ERRNO-TEXT MESSAGE-ERE [mount options]
try() {
    local name=$1 dev=$2 errtext=$3 msg=$4 opts=${5:-ro}
    mark_dmesg
    if mount -t rext4 ${opts:+-o $opts} "/dev/$dev" /mnt >/tmp/m.out 2>&1; then
        fail "$name: mount refused" "mount of $dev succeeded"
        umount /mnt
        return
    fi
    if [ "$errtext" = - ]; then
        :
    elif grep -q "$errtext" /tmp/m.out; then
        pass "$name: error code" "$errtext"
    else
        fail "$name: error code ($errtext)" "$(cat /tmp/m.out)"
    fi
    dmesg_has "$name: message" "rext4 \($dev\): $msg"
}

try "not ext4" vda "Invalid argument" "not an ext4 filesystem \(magic 0x0000, want 0xef53\)"
try "bad checksum" vdb "Bad message" "superblock checksum mismatch"
# 1 KiB blocks are supported: the image mounts (and is not a bad image).
mark_dmesg
check "1 KiB image mounts" mount -t rext4 -o ro /dev/vdc /mnt
dmesg_has "1 KiB image: mount message" "rext4 \(vdc\): mounted filesystem .* blocks of 1024 bytes"
check "1 KiB image: root lists lost+found" test -d /mnt/lost+found
check "1 KiB image: umount" umount /mnt
try "unknown incompat" vdd "Invalid argument" "cannot mount: unsupported incompatible features: FEATURE_I20"
# Unknown RO_COMPAT feature: read-only mounts are allowed; a read-write
# request is refused with EROFS, and mount(8) then retries read-only.
mark_dmesg
check "unknown ro_compat: mount -o ro" mount -t rext4 -o ro /dev/vde /mnt
check "unknown ro_compat: umount" umount /mnt
mark_dmesg
check "unknown ro_compat: rw request ends read-only" mount -t rext4 /dev/vde /mnt
dmesg_has "unknown ro_compat: rw refusal message" "rext4 \(vde\): cannot mount read-write: unsupported read-only compatible features: FEATURE_R24; mount read-only"
check "unknown ro_compat: mounted read-only" grep -q '^/dev/vde /mnt rext4 ro,' /proc/mounts
check "unknown ro_compat: umount again" umount /mnt
try "truncated device" vdf "Invalid argument" "filesystem needs 67108864 bytes but the device has only 33554432"
try "bad geometry" vdg "Structure needs cleaning" "corrupt superblock: s_inodes_count \\(12345\\)"
try "external journal" vdh "Invalid argument" "external journal \\(device 0x801\\) not supported"
# Fails after the journal was loaded: the failed mount destroys it and
# evicts its inode (no busy inodes, no leak; the console check and rmmod
# below see to that).
try "root not a directory" vdi "Structure needs cleaning" "corrupt root inode: not a directory"
# A journal that may hold fast commits is not replayed without them.
try "fast commits to replay" vdj "Operation not supported" "the journal may hold fast commits \(fast_commit\), which rext4 cannot replay"
# The journal inode as ext4_get_journal_inode checks it.
try "journal inode deleted" vdk "Structure needs cleaning" "journal inode #8 is deleted"
try "journal inode not a file" vdl "Structure needs cleaning" "invalid journal inode #2"
check_fails "nothing mounted" grep -q ' /mnt ' /proc/mounts
check "rmmod" rmmod rext4
