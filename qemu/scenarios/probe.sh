# Mount of an mkfs.ext4 image (vda): rext4 reports the superblock (checked
# against dumpe2fs in the guest) and refuses cleanly; the module unloads.
SCENARIO=probe
. /scenarios/lib.sh
load_rext4
mark_dmesg
check_fails "mount is refused" mount -t rext4 /dev/vda /mnt
if grep -q "Operation not supported" /tmp/check.out; then pass "mount fails with EOPNOTSUPP"; else fail "mount fails with EOPNOTSUPP" "$(cat /tmp/check.out)"; fi
blocks=$(dumpe2fs -h /dev/vda 2>/dev/null | sed -n 's/^Block count: *//p')
inodes=$(dumpe2fs -h /dev/vda 2>/dev/null | sed -n 's/^Inode count: *//p')
features=$(dumpe2fs -h /dev/vda 2>/dev/null | sed -n 's/^Filesystem features: *//p')
dmesg_has "superblock report matches dumpe2fs" "rext4 \(vda\): ext4 filesystem, $blocks blocks of 4096 bytes, $inodes inodes, 1 groups, features: "
line=$(dmesg | sed -n 's/.*rext4 (vda): ext4 filesystem.*features: //p')
ok=1
for f in $features; do
    case " $line " in *" $f "*) ;; *) ok=0; echo "feature $f missing from: $line" ;; esac
done
[ $ok = 1 ] && pass "feature names match dumpe2fs" || fail "feature names match dumpe2fs" "$line vs $features"
dmesg_has "clear refusal message" "rext4 \(vda\): mounting is not supported yet"
check_fails "nothing mounted" grep -q ' /mnt ' /proc/mounts
check "rmmod after refused mount" rmmod rext4
