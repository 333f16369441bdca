# `make run`, first boot: rext4 loaded, a fresh mkfs.ext4 image mounted
# -o data=journal,journal_checksum, stress-ng writing through shared
# mappings, and the machine reset in the middle of it (sysrq-b). The
# second boot (demo.sh) recovers it. Disk: vda, the demo filesystem.
SCENARIO=demo-crash
. /scenarios/lib.sh
say() { echo "REXT4-SAY $*"; }
run() { echo "\$ $*"; "$@" 2>&1; }
run insmod /rext4/rext4.ko experimental_write=1 || fail "insmod" "insmod failed"
run mkfs.ext4 -q -F /dev/vda && pass "mkfs.ext4" || fail "mkfs.ext4" "mkfs failed"
mkdir -p /mnt
run mount -t rext4 -o data=journal,journal_checksum /dev/vda /mnt && pass "mount -o data=journal,journal_checksum" ||
    fail "mount -o data=journal,journal_checksum" "mount failed"
run grep /mnt /proc/mounts
run mkdir /mnt/stress
say "stress-ng --mmap 2 --mmap-file (shared file mappings), 8 s, then a reset in the middle of a second run"
out=$(stress-ng --mmap 2 --mmap-file --mmap-bytes 1M --temp-path /mnt/stress --timeout 8s --metrics-brief 2>&1)
echo "$out" | grep -E 'metrc|mmap' | tail -n 2
ops=$(echo "$out" | sed -n 's/.*metrc: \[[0-9]*\] *mmap *\([0-9]*\) .*/\1/p' | head -1)
if [ -n "$ops" ] && [ "$ops" -gt 0 ]; then pass "stress-ng --mmap ran" "$ops bogo ops"; else fail "stress-ng --mmap ran" "$(echo "$out" | tail -n 2)"; fi
echo "REXT4-SUMMARY stress-ng --mmap 2 --mmap-file: ${ops:-0} bogo ops in 8 s"
stress-ng --mmap 2 --mmap-file --mmap-bytes 1M --temp-path /mnt/stress --timeout 60s > /dev/null 2>&1 &
sleep 4
say "sysrq-b: the machine resets now, with mmap writers running and the journal full of their pages"
echo "REXT4-CRASH-NOW $SCENARIO"
sleep 1
echo b > /proc/sysrq-trigger
sleep 10
fail "crash" "the guest did not reset"
