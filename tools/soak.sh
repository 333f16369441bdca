#!/bin/bash
# make soak: long crash-recovery chains (qemu/scenarios/crash-cycle.sh),
# SOAK_CYCLES crashes (default 40) on a 1 KiB image, then as many on a
# 4 KiB one. Needs what make test builds (it runs the set-up itself).
# Ends with "N passed, N failed" over every boot's results.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
n=${SOAK_CYCLES:-40}
out=${REXT4_OUT:-/tmp/rext4-soak}
make -s deps kernel module initramfs || exit 1
mkdir -p "$out"
rc=0
for bs in 1024 4096; do
    mkdir -p "$out/$bs"
    rm -f "$out/$bs"/vm-*
    tools/crash-chain.sh "$out/$bs" "$n" "$bs" || rc=1
done
cat "$out"/*/vm-crash-cycle-[0-9]* 2>/dev/null | grep -E '^(PASS|FAIL) ' > "$out/results"
grep '^FAIL' "$out/results" | head -20
p=$(grep -c '^PASS' "$out/results")
f=$(grep -c '^FAIL' "$out/results")
echo "$p passed, $f failed"
[ "$f" = 0 ] && [ "$rc" = 0 ]
