# Load the KUnit suite module: KUnit runs its suites at insmod and prints
# KTAP on the console, which the host parses case by case.
SCENARIO=kunit
. /scenarios/lib.sh
check "insmod rext4_kunit" insmod /rext4/rext4_kunit.ko
check "rmmod rext4_kunit" rmmod rext4_kunit
