# insmod/rmmod of rext4.ko: the filesystem type appears and disappears, and
# the module can be loaded again.
SCENARIO=insmod
. /scenarios/lib.sh
check "insmod" insmod /rext4/rext4.ko
check "rext4 in /proc/filesystems" grep -qw rext4 /proc/filesystems
dmesg_has "registration message" "rext4: filesystem type rext4 registered"
check "rmmod" rmmod rext4
check_fails "rext4 gone from /proc/filesystems" grep -qw rext4 /proc/filesystems
check "insmod again" insmod /rext4/rext4.ko
check "rmmod again" rmmod rext4
