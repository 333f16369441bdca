# Write benchmarks on vda (tools/bench.sh's write image: 2 GiB, 4 KiB
# blocks, inode tables initialised at mkfs so ext4's lazy-init thread does
# not run during the timings). Both filesystems mounted read-write with
# -o data=journal,journal_checksum (the only read-write mode rext4 has),
# mounts alternating between them, rext4.bench_runs runs. Per mount:
#   seqwrite   1 GiB written in 1 MiB writes, then fsync (benchtool seqwrite)
#   randwrite  4096 random 4 KiB writes into a 64 MiB file, fsync every 32
#   files-1    10 000 files of 1 KiB in one directory: create+syncfs, cold
#              lstat of each, unlink+syncfs (three rows)
#   files-100  the same spread over 100 directories
#   mmap       stress-ng --mmap 1 --mmap-file for rext4.bench_secs seconds
#              (default 20): bogo operations per second
# (rext4.bench_mib and rext4.bench_files change the 1 GiB and the 10 000
# files, for a quick trial run.)
# The host's disk cache ignores flushes (the VM's drives are cache=unsafe),
# so an fsync or syncfs here costs the guest's commit and its I/O
# submission, not a device flush. Every file is deleted before the next
# step, and after each rext4 mount
# e2fsck -fn checks the image (a benchmark that corrupts the filesystem is
# a FAIL). Prints "BENCH <bench> <fs> <run> <microseconds>" and "BENCHRATE
# <bench> <fs> <run> <per second>".
SCENARIO=bench-write
. /scenarios/lib.sh
load_rext4
rmmod rext4 && insmod /rext4/rext4.ko experimental_write=1
runs=$(sed -n 's/.*rext4\.bench_runs=\([0-9]*\).*/\1/p' /proc/cmdline)
secs=$(sed -n 's/.*rext4\.bench_secs=\([0-9]*\).*/\1/p' /proc/cmdline)
mib=$(sed -n 's/.*rext4\.bench_mib=\([0-9]*\).*/\1/p' /proc/cmdline)
nfiles=$(sed -n 's/.*rext4\.bench_files=\([0-9]*\).*/\1/p' /proc/cmdline)
runs=${runs:-3}
secs=${secs:-20}
mib=${mib:-1024}
nfiles=${nfiles:-10000}
# timed_rows PREFIX CMD...: every "<what> usec T ..." line of CMD becomes
# "BENCH PREFIX<what> $fs $i T".
timed_rows() {
    local prefix=$1 out; shift
    if out=$("$@" 2>&1); then
        echo "$out" | awk -v p="$prefix" -v fs="$fs" -v i="$i" '$2 == "usec" { print "BENCH", p $1, fs, i, $3 }'
    else
        fail "$fs $prefix$2" "$out"
    fi
}
mmap_rate() {
    local out rate
    mkdir /mnt/stress
    if ! out=$(stress-ng --mmap 1 --mmap-file --mmap-bytes 1M --temp-path /mnt/stress \
            --timeout "${secs}s" --metrics-brief 2>&1); then
        fail "$fs mmap" "stress-ng failed: $(echo "$out" | tail -c 300)"
        rm -rf /mnt/stress
        return
    fi
    # "stress-ng: metrc: [pid] mmap <ops> <real s> <usr s> <sys s> <ops/s real> <ops/s cpu>"
    rate=$(echo "$out" | awk '$4 == "mmap" && $5 ~ /^[0-9]/ { print $9 }')
    if [ -n "$rate" ]; then
        echo "BENCHRATE mmap $fs $i $rate"
    else
        fail "$fs mmap" "no mmap metrics line: $(echo "$out" | tail -c 300)"
    fi
    rm -rf /mnt/stress
}
fsck_bad=
i=1
while [ $i -le $runs ]; do
    # Odd runs start with ext4, even ones with rext4: neither always gets
    # the image as the other left it.
    order="ext4 rext4"
    [ $((i % 2)) = 0 ] && order="rext4 ext4"
    for fs in $order; do
        mount -t $fs -o data=journal,journal_checksum /dev/vda /mnt || { fail "$fs mount" "mount failed"; exit 1; }
        drop_caches
        timed_rows "" benchtool seqwrite /mnt/seq $mib
        rm /mnt/seq
        benchtool seqwrite /mnt/rand 64 >/dev/null || fail "$fs randwrite file" "seqwrite failed"
        drop_caches
        timed_rows "" benchtool randwrite /mnt/rand 4096 32
        rm /mnt/rand
        timed_rows "files1-" benchtool files /mnt $nfiles 1
        timed_rows "files100-" benchtool files /mnt $nfiles 100
        mmap_rate
        sync
        umount /mnt || { fail "$fs umount" "umount failed"; exit 1; }
        if [ $fs = rext4 ] && ! e2fsck -fn /dev/vda > /tmp/fsck.out 2>&1; then
            fsck_bad="$fsck_bad run $i: $(tail -c 300 /tmp/fsck.out)"
        fi
    done
    i=$((i + 1))
done
if [ -z "$fsck_bad" ]; then
    pass "e2fsck -fn clean after every rext4 mount"
else
    fail "e2fsck -fn clean after every rext4 mount" "$fsck_bad"
fi
pass "benchmark ran"
