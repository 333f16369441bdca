# Negative control of one test-kernel detector (case from the kernel
# argument rext4.negctl=CASE, see kunit/negctl.c). The host expects the
# detector's report; this script only performs the bad operation.
SCENARIO=negctl
. /scenarios/lib.sh
case=$(sed -n 's/.*rext4\.negctl=\([^ ]*\).*/\1/p' /proc/cmdline)
case "$case" in
    hung)
        # Check every 5 s (the timeout stays the configured 30 s) so the
        # report comes 30-35 s after the task blocks.
        echo 5 > /proc/sys/kernel/hung_task_check_interval_secs
        secs=40 ;;
    softlockup)
        # Report after 2 * 5 s instead of 2 * 10 s.
        echo 5 > /proc/sys/kernel/watchdog_thresh
        secs=15 ;;
    *) secs=0 ;;
esac
if [ "$case" = kmemleak ]; then
    check "insmod what=$case" insmod /rext4/rext4_negctl.ko what="$case"
    # rmmod frees the module's only reference to its allocation; init's
    # end-of-scenario scan must then report it.
    check "rmmod" rmmod rext4_negctl
else
    # The module refuses to stay loaded (EAGAIN) after doing its case.
    check_fails "insmod what=$case" insmod /rext4/rext4_negctl.ko what="$case" seconds="$secs"
    dmesg_has "case ran" "rext4_negctl: case '$case' done"
fi
