#!/bin/bash
# Boot the test kernel in QEMU (TCG) and run one guest scenario.
#
#   qemu/vm.sh SCENARIO RESULTS [DISK...]
#
# The disks become /dev/vda, /dev/vdb, ... in the order given. The console
# goes to RESULTS.log. RESULTS gets one line per check, "PASS name" or
# "FAIL name: reason", made of:
#   - the scenario's own REXT4-RESULT lines;
#   - "<scenario>: finished": the scenario reached its end marker in time;
#   - "<scenario>: console clean": no BUG/WARN/Oops/lockdep/KASAN/hung-task
#     report on the console;
#   - with REXT4_KTAP=1, one line per KUnit case parsed from the KTAP output.
# Exit status: 0 when every line is PASS.
#
# Environment: REXT4_VM_TIMEOUT (seconds, default 600), REXT4_VM_MEM (MiB,
# default 2048), REXT4_VM_APPEND (extra kernel arguments).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tools/env.sh"

scenario=$1
results=$2
shift 2
log=$results.log
kdir=${KDIR:-$("$here/kernel.sh" path)}
base=$("$here/initramfs.sh" path)
timeout_s=${REXT4_VM_TIMEOUT:-600}

# Per-run overlay: the modules, the scenario scripts and the guest tools
# (qemu/guesttools.sh, on PATH in /usr/bin), appended to the cached base
# archive (the kernel unpacks concatenated cpio archives).
if ! "$here/guesttools.sh" build >"$results.guesttools" 2>&1; then
    cat "$results.guesttools" >&2
    echo "FAIL $scenario: guest tools: qemu/guesttools.sh build failed, see $results.guesttools" | tee "$results"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/rext4" "$work/root/scenarios" "$work/root/usr/bin"
cp "$top"/rext4.ko "$top"/rext4_kunit.ko "$work/root/rext4/"
cp "$here"/scenarios/*.sh "$work/root/scenarios/"
cp "$("$here/guesttools.sh" path)"/* "$work/root/usr/bin/"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/overlay.cpio.gz"
cat "$base" "$work/overlay.cpio.gz" > "$work/initrd"

drives=()
for d in "$@"; do
    drives+=(-drive "file=$d,if=virtio,format=raw,cache=unsafe")
done

start=$SECONDS
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 \
    -machine pc -cpu max -smp 2 -m "${REXT4_VM_MEM:-2048}" \
    -nographic -no-reboot -monitor none -serial stdio \
    -kernel "$kdir/arch/x86/boot/bzImage" -initrd "$work/initrd" \
    -append "console=ttyS0 panic=-1 oops=panic rdinit=/init rext4.scenario=$scenario ${REXT4_VM_APPEND:-}" \
    "${drives[@]}" </dev/null >"$log" 2>&1
qrc=$?
elapsed=$((SECONDS - start))

{
    sed -n 's/^.*REXT4-RESULT \(PASS\|FAIL\) \(.*\)$/\1 \2/p' "$log" | tr -d '\r'
    if grep -q "REXT4-SCENARIO-END $scenario" "$log"; then
        echo "PASS $scenario: finished (${elapsed}s)"
    elif [ $qrc = 124 ]; then
        echo "FAIL $scenario: finished: timed out after ${timeout_s}s"
    else
        echo "FAIL $scenario: finished: VM ended without the end marker (qemu rc $qrc)"
    fi
    # Reports that fail any scenario.
    # (lockdep's reports start with "WARNING:" or "BUG:"; the others catch
    # its follow-ups and reports without that prefix.)
    bad='BUG:|WARNING:|Oops|Call Trace|KASAN|UBSAN|INFO: lockdep is turned off|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|Kernel panic|general protection fault|kernel BUG|RIP: '
    if grep -E -q "$bad" "$log"; then
        echo "FAIL $scenario: console clean: $(grep -E -m1 "$bad" "$log" | tr -d '\r' | cut -c1-160)"
    else
        echo "PASS $scenario: console clean"
    fi
    if [ "${REXT4_KTAP:-0}" = 1 ]; then
        python3 "$top/tools/ktap.py" "$log"
    fi
} > "$results"

! grep -q '^FAIL' "$results"
