# Negative controls of the test kernel's detectors, all in one boot: each
# case of rext4_negctl.ko (kunit/negctl.c) does one deliberately bad thing
# and the host expects the matching report (tools/test.sh lists them); a
# missing report fails the suite, since the same bug in rext4 would then
# pass unseen. Needs the kernel argument kasan_multi_shot (KASAN reports
# only the first bug of a boot otherwise).
SCENARIO=negctl
. /scenarios/lib.sh

# Hung tasks: the timeout stays the configured 30 s, checked every 5 s so
# the report comes 30-35 s after the task blocks. Soft lockups: reported
# after 2 * 5 s instead of 2 * 10 s.
echo 5 > /proc/sys/kernel/hung_task_check_interval_secs
echo 5 > /proc/sys/kernel/watchdog_thresh

run_case() { # CASE [SECONDS]
    mark_dmesg
    check "$1: insmod" insmod /rext4/rext4_negctl.ko what="$1" seconds="${2:-0}"
    n=$(dmesg | grep -c "rext4_negctl: case '$1'\$")
    [ "$n" = 1 ] && pass "$1: ran once" || fail "$1: ran once" "started $n times"
    # For kmemleak, this unload frees the module's only references to its
    # allocations; init's end-of-scenario scan must then report them.
    check "$1: rmmod" rmmod rext4_negctl
}
# lockdep first: a KASAN report taints the kernel with "lockdep now
# unreliable", which turns lockdep off.
run_case lockdep
run_case kasan
run_case kasan-rust
run_case odebug
run_case list
run_case softlockup 15
run_case hung 40
run_case kmemleak
