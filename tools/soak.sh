#!/bin/bash
# make soak: long crash-recovery chains (qemu/scenarios/crash-cycle.sh),
# SOAK_CYCLES crashes (default 40) on a 1 KiB image, then as many on a
# 4 KiB one; SOAK_MMAP_CYCLES (default 40) crashes under stress-ng --mmap
# and the negative control (SOAK_NEGCTL_CYCLES, default 20, with the
# unsafe build); then a file of SOAK_FRAG_BLOCKS extents (default 100 000, a
# three-level extent tree; qemu/scenarios/write-frag.sh). Needs what make
# test builds (it runs the set-up itself).
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
# Crash recovery under stress-ng --mmap: SOAK_MMAP_CYCLES crashes (default
# 40), every replay clean; then the negative control: the same chain with
# the unsafe build (tools/unsafe-module.sh, journalled folios left out of
# writeback) must show replay failures in some cycles, or the chain could
# not see the bug the design prevents.
mkdir -p "$out/mmap" "$out/mmap-unsafe"
rm -f "$out"/mmap/vm-* "$out"/mmap-unsafe/vm-*
tools/mmap-crash.sh "$out/mmap" "${SOAK_MMAP_CYCLES:-40}" > "$out/mmap/summary" || rc=1
cat "$out/mmap/summary"
unsafe=$(tools/unsafe-module.sh) || rc=1
tools/mmap-crash.sh "$out/mmap-unsafe" "${SOAK_NEGCTL_CYCLES:-20}" "$unsafe" > "$out/mmap-unsafe/summary"
cat "$out/mmap-unsafe/summary"
bad=$(sed -n 's/^mmap-crash: \([0-9]*\) of .*/\1/p' "$out/mmap-unsafe/summary")
if [ "${bad:-0}" -gt 0 ]; then
    echo "PASS negative control: the unsafe build failed $bad replays of ${SOAK_NEGCTL_CYCLES:-20}" > "$out/negctl-result"
else
    echo "FAIL negative control: the unsafe build failed no replay -- the chain does not detect the bug" > "$out/negctl-result"
fi
rm -f "$out/frag.img" && truncate -s 320M "$out/frag.img"
REXT4_RUN=write-frag REXT4_VM_TIMEOUT=7200 REXT4_VM_APPEND="rext4.frag_blocks=${SOAK_FRAG_BLOCKS:-100000}" \
    qemu/vm.sh write-frag "$out/vm-write-frag" "$out/frag.img" > "$out/vm-write-frag.out" 2>&1 || rc=1
cat "$out"/*/vm-crash-cycle-[0-9]* "$out"/mmap/vm-mmap-crash-[0-9]* "$out/vm-write-frag" \
    "$out/negctl-result" 2>/dev/null | grep -E '^(PASS|FAIL) ' > "$out/results"
grep '^FAIL' "$out/results" | head -20
p=$(grep -c '^PASS' "$out/results")
f=$(grep -c '^FAIL' "$out/results")
echo "$p passed, $f failed"
[ "$f" = 0 ] && [ "$rc" = 0 ]
