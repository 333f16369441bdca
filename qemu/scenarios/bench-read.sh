# Sequential read throughput of one large file (vda: /big), rext4 vs the
# in-kernel ext4, same image, same VM, cold page cache each run, runs
# alternating between the two. Prints "BENCH <fs> <run> <bytes> <centisec>".
SCENARIO=bench-read
. /scenarios/lib.sh
load_rext4
runs=$(sed -n 's/.*rext4\.bench_runs=\([0-9]*\).*/\1/p' /proc/cmdline)
runs=${runs:-7}
now() { cut -d' ' -f1 /proc/uptime | tr -d .; }
i=1
while [ $i -le $runs ]; do
    for fs in ext4 rext4; do
        bench_mount $fs || { fail "$fs mount" "mount failed"; exit 1; }
        drop_caches
        bytes=$(stat -c %s /mnt/big)
        t0=$(now)
        dd if=/mnt/big of=/dev/null bs=1M 2>/dev/null || fail "$fs read" "dd failed"
        t1=$(now)
        echo "BENCH $fs $i $bytes $((t1 - t0))"
        umount /mnt
    done
    i=$((i + 1))
done
pass "benchmark ran"
