# The errors= policy on read-write mounts (vda, a 64 MiB disk made here),
# triggered by corruption found while mounted: a file whose extent root
# was broken with debugfs is read. With errors=continue the mount goes
# on (writes still work) and the error is counted; with remount-ro the
# journal is aborted, later changes fail with EROFS, a remount
# read-write is refused; with the policy from the superblock (tune2fs -e
# remount-ro) the same. Each time the superblock records the error after
# the unmount (dumpe2fs -h: state "with errors", count, first and last
# error), and the next mount replays what the aborted journal holds. A
# read-only mount finding the same corruption writes nothing.
SCENARIO=errors
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1
mkdir -p /mnt
needs_recovery() { dumpe2fs -h /dev/vda 2>/dev/null | grep -q '^Filesystem features:.* needs_recovery'; }
sbfield() { dumpe2fs -h /dev/vda 2>/dev/null | sed -n "s/^$1: *//p"; }

# setup: a fresh filesystem with a file f (8 blocks) and a directory d,
# then f's extent header magic overwritten (i_block[0]).
setup() {
    mkfs.ext4 -q -F -b 4096 /dev/vda &&
        mount -t ext4 /dev/vda /mnt && head -c 32768 /dev/urandom > /mnt/f && mkdir /mnt/d &&
        echo g > /mnt/d/g &&
        umount /mnt && debugfs -w -R "sif /f block[0] 0x1234" /dev/vda
}

for mode in continue remount-ro tune2fs; do
    L=$mode
    opt=",errors=$mode"
    check "$L: set-up" setup
    if [ $mode = tune2fs ]; then
        opt=
        check "$L: tune2fs -e remount-ro" tune2fs -e remount-ro /dev/vda
    fi
    check "$L: mount read-write" mount -w -t rext4 -o data=journal$opt /dev/vda /mnt
    mark_dmesg
    check_fails "$L: reading the corrupt file fails" cat /mnt/f
    dmesg_has "$L: the corruption is reported" "rext4 \\(vda\\): inode #12: "
    if [ $mode = continue ]; then
        check "$L: still writable" sh -c 'echo ok > /mnt/d/after && sync /mnt/d/after'
        check_fails "$L: not remounted read-only" sh -c 'dmesg | grep -q "Remounting filesystem read-only"'
    else
        dmesg_has "$L: remounted read-only" "rext4 \\(vda\\): Remounting filesystem read-only"
        check_fails "$L: a new file is refused" touch /mnt/d/after
        check "$L: with EROFS" sh -c 'touch /mnt/d/after 2>&1 | grep -q "Read-only file system"'
        mark_dmesg
        check_fails "$L: remount read-write refused" mount -o remount,rw /mnt
        dmesg_has "$L: refused as stopped after an error" "rext4 \\(vda\\): couldn't remount read-write: the filesystem was stopped after an error"
        check "$L: fsync fails with EIO" sh -c 'echo more >> /mnt/d/g; sync /mnt/d/g 2>&1 | grep -q "Input/output error"'
    fi
    check "$L: umount" umount /mnt
    st=$(sbfield "Filesystem state")
    case $st in
        *"with errors"*) pass "$L: superblock state has errors" "$st" ;;
        *) fail "$L: superblock state has errors" "state '$st'" ;;
    esac
    n=$(sbfield "FS Error count")
    if [ "${n:-0}" -ge 1 ]; then pass "$L: error count recorded" "$n"; else fail "$L: error count recorded" "count '$n'"; fi
    f=$(sbfield "First error function") l=$(sbfield "First error line #") e=$(sbfield "First error err")
    i=$(sbfield "First error inode #")
    if [ -n "$f" ] && [ "${l:-0}" -gt 0 ] && [ "$e" = EFSCORRUPTED ] && [ "$i" = 12 ]; then
        pass "$L: first error recorded" "$f:$l $e inode $i"
    else
        fail "$L: first error recorded" "function '$f' line '$l' err '$e' inode '$i'"
    fi
    if [ $mode = continue ]; then
        check_fails "$L: needs_recovery cleared" needs_recovery
        check "$L: the file written after the error is there" sh -c \
            'mount -t rext4 -o ro /dev/vda /mnt && grep -qx ok /mnt/d/after; r=$?; umount /mnt; exit $r'
    else
        check "$L: needs_recovery kept (journal aborted)" needs_recovery
        check "$L: the next mount replays" sh -c 'mount -t rext4 -o ro /dev/vda /mnt && umount /mnt'
        check_fails "$L: needs_recovery cleared by the replay" needs_recovery
        st2=$(sbfield "Filesystem state") n2=$(sbfield "FS Error count")
        if [ "$st2" = "$st" ] && [ "$n2" = "$n" ]; then
            pass "$L: the replay keeps the error record" "$st2, count $n2"
        else
            fail "$L: the replay keeps the error record" "before '$st' $n, after '$st2' $n2"
        fi
    fi
done

# A read-only mount records nothing: the same corruption found, the
# policy remount-ro, and the device's first 64 KiB (superblock, group
# descriptors) unchanged afterwards.
L=read-only
check "$L: set-up" setup
check "$L: tune2fs -e remount-ro" tune2fs -e remount-ro /dev/vda
before=$(dd if=/dev/vda bs=65536 count=1 2>/dev/null | sha256sum)
check "$L: mount read-only" mount -t rext4 -o ro /dev/vda /mnt
mark_dmesg
check_fails "$L: reading the corrupt file fails" cat /mnt/f
dmesg_has "$L: the corruption is reported" "rext4 \\(vda\\): inode #12: "
check "$L: umount" umount /mnt
after=$(dd if=/dev/vda bs=65536 count=1 2>/dev/null | sha256sum)
if [ "$before" = "$after" ]; then
    pass "$L: nothing written"
else
    fail "$L: nothing written" "the first 64 KiB changed"
fi
