# A directory of 50 000 entries written by the in-kernel ext4 (mkwide.sh's
# bigdir image, /dev/vda), two htree levels: rext4 lists every entry with
# the inode number and d_type ext4 gives, resolves names by their hash
# through the index (statx of every 5th name, 10 000, equal to ext4's:
# all 50 000 took ~10 minutes of the suite under KASAN), and fails cleanly
# for absent names.
SCENARIO=bigdir
. /scenarios/lib.sh
check "insmod rext4.ko" load_rext4

probe() { # TAG: listing and sample statx into /tmp/bigdir.TAG.*
    rext4probe dirents /mnt/big 2> "/tmp/bigdir.$1.dirents.err" | LC_ALL=C sort > "/tmp/bigdir.$1.dirents"
    (cd /mnt/big && xargs rext4probe statx < /tmp/bigdir.sample) 2> "/tmp/bigdir.$1.statx.err" > "/tmp/bigdir.$1.statx"
}

# The reference first; the names are every 5th one ext4 lists.
check "mount ext4 (reference)" mount -t ext4 -o ro,noload /dev/vda /mnt
ls /mnt/big | LC_ALL=C sort | awk 'NR % 5 == 1' > /tmp/bigdir.sample
probe ext4
check "umount ext4" umount /mnt
n=$(wc -l < /tmp/bigdir.ext4.dirents)
[ "$n" -ge 50002 ] || fail "reference listing" "ext4 listed only $n entries"

check "mount rext4 -o ro" mount -t rext4 -o ro /dev/vda /mnt
t0=$(date +%s)
probe rext4
echo "REXT4-INFO bigdir: probes on rext4 in $(($(date +%s) - t0)) s"
if cmp -s /tmp/bigdir.ext4.dirents /tmp/bigdir.rext4.dirents && [ ! -s /tmp/bigdir.rext4.dirents.err ]; then
    pass "readdir: every entry, inode and d_type match ext4" "$n entries"
else
    fail "readdir: every entry, inode and d_type match ext4" "$(wc -l < /tmp/bigdir.rext4.dirents) entries vs $n; $(head -c 200 /tmp/bigdir.rext4.dirents.err)"
fi
s=$(wc -l < /tmp/bigdir.sample)
if cmp -s /tmp/bigdir.ext4.statx /tmp/bigdir.rext4.statx && [ ! -s /tmp/bigdir.rext4.statx.err ] && [ "$s" = 10000 ]; then
    pass "lookup: names resolve as on ext4" "$s names"
else
    fail "lookup: names resolve as on ext4" "$s names; $(diff /tmp/bigdir.ext4.statx /tmp/bigdir.rext4.statx | head -n 3 | tr '\n' ' ') $(head -c 200 /tmp/bigdir.rext4.statx.err)"
fi
check_fails "lookup: absent name fails" stat /mnt/big/f999999-absent
stat /mnt/big/f999999-absent 2>&1 | grep -q "No such file" && pass "lookup: absent name is ENOENT" ||
    fail "lookup: absent name is ENOENT" "$(stat /mnt/big/f999999-absent 2>&1 | head -c 200)"
# umount(2) and delete_module(2) back to back in one process, with the
# 10 000 looked-up inodes in memory: each eviction queues an RCU callback
# that frees the inode into the module's inode cache, and the module's
# exit must wait for all of them (rcu_barrier) before it destroys the
# cache. A smoke test, like plain-mkfs's: an exit that skipped the wait
# passed here too when tried (2026-12-02, also with the unmount and the
# module removal on different CPUs of a 2-CPU guest), as the callbacks ran
# before unregister_filesystem()'s grace period ended.
grep '^rext4 ' /proc/modules | sed 's/^/REXT4-MODULE /' > /dev/console
check "umount rext4 and rmmod back to back (10 000 inodes)" umountrmmod /mnt rext4
check_fails "rext4 unloaded" grep -q '^rext4 ' /proc/modules
check "e2fsck -fn clean" e2fsck -fn /dev/vda
