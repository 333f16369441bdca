# Mounting an mkfs.ext4 image (vda): the mount message matches dumpe2fs,
# read-write requests fall back to read-only, mount options are accepted,
# shown in /proc/mounts and validated; remount rw is refused; the module
# unloads afterwards.
SCENARIO=probe
. /scenarios/lib.sh
load_rext4
dumpe() { dumpe2fs -h /dev/vda 2>/dev/null | sed -n "s/^$1: *//p"; }
blocks=$(dumpe "Block count"); inodes=$(dumpe "Inode count"); uuid=$(dumpe "Filesystem UUID")
features=$(dumpe "Filesystem features")

mark_dmesg
check "mount -o ro" mount -t rext4 -o ro /dev/vda /mnt
dmesg_has "mount message matches dumpe2fs" "rext4 \(vda\): mounted filesystem $uuid read-only: $blocks blocks of 4096 bytes, $inodes inodes, 1 groups, features: .*; options: none"
line=$(dmesg | sed -n 's/.*rext4 (vda): mounted filesystem.*features: \(.*\); options.*/\1/p')
ok=1
for f in $features; do
    case " $line " in *" $f "*) ;; *) ok=0 ;; esac
done
[ $ok = 1 ] && [ -n "$line" ] && pass "feature names match dumpe2fs" || fail "feature names match dumpe2fs" "'$line' vs '$features'"
check "mounted read-only" grep -q '^/dev/vda /mnt rext4 ro,' /proc/mounts
check "root lists lost+found" test -d /mnt/lost+found
mark_dmesg
check_fails "remount rw refused" mount -o remount,rw /mnt
dmesg_has "remount rw message" "rext4 \(vda\): read-write mounts are experimental.*experimental_write=1"
check "still read-only after remount attempt" grep -q '^/dev/vda /mnt rext4 ro,' /proc/mounts
check "umount" umount /mnt

# No -o ro: rext4 answers EROFS and mount(8) retries read-only.
mark_dmesg
check "mount without -o ro falls back to read-only" mount -t rext4 /dev/vda /mnt
dmesg_has "read-write refusal message" "rext4 \(vda\): read-write mounts are experimental; mount read-only"
check "fallback mount is read-only" grep -q '^/dev/vda /mnt rext4 ro,' /proc/mounts
check "umount fallback mount" umount /mnt

# The options rext4's users pass.
check "mount -o ro,data=journal,journal_checksum,errors=remount-ro" \
    mount -t rext4 -o ro,data=journal,journal_checksum,errors=remount-ro /dev/vda /mnt
check "options shown in /proc/mounts" grep -q '^/dev/vda /mnt rext4 ro,relatime,errors=remount-ro,data=journal ' /proc/mounts
check "remount with the same options" mount -o remount,ro,data=journal /mnt
mark_dmesg
check_fails "remount changing an option refused" mount -o remount,ro,errors=continue /mnt
dmesg_has "remount option change message" "rext4 \(vda\): changing mount option 'errors' on remount is not supported yet"
check "options unchanged after refused remount" grep -q '^/dev/vda /mnt rext4 ro,relatime,errors=remount-ro,data=journal ' /proc/mounts
check "umount with options" umount /mnt

mark_dmesg
check_fails "unknown option refused" mount -t rext4 -o ro,bogus_option /dev/vda /mnt
dmesg_has "unknown option message" "rext4: Unknown parameter 'bogus_option'"
mark_dmesg
check_fails "bad option value refused" mount -t rext4 -o ro,data=sometimes /dev/vda /mnt
dmesg_has "bad value message" "rext4: Bad value for 'data'"
mark_dmesg
check_fails "flag with a value refused" mount -t rext4 -o ro,journal_checksum=1 /dev/vda /mnt
dmesg_has "flag with a value message" "rext4: Unexpected value for 'journal_checksum'"
mark_dmesg
check_fails "non-numeric commit refused" mount -t rext4 -o ro,commit=soon /dev/vda /mnt
dmesg_has "non-numeric commit message" "rext4: Bad value for 'commit'"
mark_dmesg
check_fails "commit interval too long refused" mount -t rext4 -o ro,commit=4294967295 /dev/vda /mnt
dmesg_has "commit interval message" "rext4: invalid commit interval 4294967295, must be smaller than [0-9]+"
# The journal options ext4 takes: recorded and shown until the write path
# uses them. /proc/mounts shows what differs from the defaults, in ext4's
# order (journal_checksum is the default with metadata_csum); `barrier=0`
# is `nobarrier`; journal_async_commit is refused with data=ordered (the
# default here), as ext4 refuses it.
mark_dmesg
check_fails "journal_async_commit with data=ordered refused" \
    mount -t rext4 -o ro,journal_async_commit /dev/vda /mnt
dmesg_has "journal_async_commit message" "rext4 \(vda\): can't mount with journal_async_commit in data=ordered mode"
check "mount with journal options" \
    mount -t rext4 -o ro,data=writeback,journal_async_commit,commit=30,barrier=0 /dev/vda /mnt
check "journal options shown in /proc/mounts" \
    grep -q '^/dev/vda /mnt rext4 ro,relatime,journal_async_commit,nobarrier,commit=30,data=writeback ' /proc/mounts
mark_dmesg
check_fails "remount changing commit refused" mount -o remount,ro,commit=60 /mnt
dmesg_has "remount commit change message" "rext4 \(vda\): changing mount option 'commit' on remount is not supported yet"
check "umount with journal options" umount /mnt
check "mount with barrier and commit=0" mount -t rext4 -o ro,nobarrier,barrier,commit=0 /dev/vda /mnt
check "barrier and default commit not shown" grep -q '^/dev/vda /mnt rext4 ro,relatime ' /proc/mounts
check "umount with barrier" umount /mnt

# Without a journal (/dev/vdb): the journal options are refused, as ext4
# refuses them on the same image (data= too, since the superblock names no
# default journal mode).
check "no journal: mount" mount -t rext4 -o ro /dev/vdb /mnt
check "no journal: nothing shown" grep -q '^/dev/vdb /mnt rext4 ro,relatime ' /proc/mounts
check "no journal: umount" umount /mnt
for o in journal_async_commit journal_checksum commit=30 data=ordered; do
    check_fails "no journal: ext4 refuses $o" mount -t ext4 -o "ro,$o" /dev/vdb /mnt
    grep -q ' /mnt ' /proc/mounts && umount /mnt
    mark_dmesg
    check_fails "no journal: $o refused" mount -t rext4 -o "ro,$o" /dev/vdb /mnt
    dmesg_has "no journal: $o message" "rext4 \(vdb\): can't mount with ${o%=*}=?, fs mounted w/o journal"
done
check "no journal: nojournal_checksum accepted" mount -t rext4 -o ro,nojournal_checksum /dev/vdb /mnt
check "no journal: umount again" umount /mnt

check_fails "nothing left mounted" grep -q ' /mnt ' /proc/mounts
check "rmmod after mounts" rmmod rext4
