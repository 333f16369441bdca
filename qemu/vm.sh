#!/bin/bash
# Boot a rext4 kernel in QEMU (TCG) and run one guest scenario.
#
#   qemu/vm.sh SCENARIO RESULTS [DISK...]
#
# The disks become /dev/vda, /dev/vdb, ... in the order given; a DISK
# written PATH:ro is attached read-only. The console
# goes to RESULTS.log; RESULTS gets one result line per check (see
# tools/results.py): the scenario's own results, "RUN: finished" (the
# script ran to its end and exited 0), "RUN: console clean" (no detector
# report: BUG/WARN/Oops/lockdep/KASAN/kmemleak/ODEBUG/hung task/soft
# lockup), "RUN: kmemleak clean" (nothing allocated by rext4 leaked, scanned
# after rmmod), KUnit cases with REXT4_KTAP=1, then the expected-list check
# against tools/expected/RUN.txt. Exit status: 0 when nothing failed.
#
# Environment: REXT4_RUN (result-name prefix, default SCENARIO),
# REXT4_VM_SMP (CPUs, default 1: the kernel then boots with acpi=off, which
# saves ~10 s of ACPI AML under TCG; SeaBIOS's MP table names one CPU only,
# so more CPUs need ACPI),
# REXT4_VM_CRASH=1 (the scenario ends by resetting the guest, e.g. with
# sysrq-b, after printing "REXT4-CRASH-NOW SCENARIO": "finished" then wants
# that marker and no end marker, and there is no kmemleak scan; the disks
# keep what the crash left, for a later boot to inspect),
# REXT4_VM_TIMEOUT (seconds, default 900), REXT4_VM_MEM (MiB, default 1024),
# REXT4_VM_APPEND (extra kernel arguments), REXT4_QEMU_ARGS (extra QEMU
# arguments, split at spaces: tools/profile.sh adds a gdbstub), REXT4_KERNEL (test or bench,
# default test), REXT4_MODDIR (where the .ko files are, default the source
# tree), REXT4_EXPECT_FAIL (negative controls, one a line: "LABEL|CHECK|REGEX",
# the check that must fail and the report it must show).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tools/env.sh"

scenario=$1
results=$2
shift 2
log=$results.log
variant=${REXT4_KERNEL:-test}
kdir=${KDIR:-$("$here/kernel.sh" path "$variant")}
run=${REXT4_RUN:-$scenario}
moddir=${REXT4_MODDIR:-$top}
base=$("$here/initramfs.sh" path)
timeout_s=${REXT4_VM_TIMEOUT:-900}

# Per-run overlay: the modules, the scenario scripts and the guest tools
# (qemu/guesttools.sh, on PATH in /usr/bin), appended to the cached base
# archive (the kernel unpacks concatenated cpio archives).
if ! "$here/guesttools.sh" build >"$results.guesttools" 2>&1; then
    cat "$results.guesttools" >&2
    echo "FAIL $run: guest tools -- qemu/guesttools.sh build failed, see $results.guesttools" | tee "$results"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/rext4" "$work/root/scenarios" "$work/root/usr/bin"
cp "$moddir"/rext4.ko "$moddir"/rext4_kunit.ko "$moddir"/rext4_negctl.ko "$work/root/rext4/"
cp "$here"/scenarios/*.sh "$work/root/scenarios/"
cp "$("$here/guesttools.sh" path)"/* "$work/root/usr/bin/"
(cd "$work/root" && find . | cpio -o -H newc --quiet) > "$work/overlay.cpio"
cat "$base" "$work/overlay.cpio" > "$work/initrd"

drives=()
for d in "$@"; do
    case "$d" in
        # Shared, cached images: read-only to the guest, which also lets two
        # VMs open the same file (QEMU locks images opened for writing).
        *:ro) drives+=(-drive "file=${d%:ro},if=virtio,format=raw,readonly=on") ;;
        *) drives+=(-drive "file=$d,if=virtio,format=raw,cache=unsafe") ;;
    esac
done

smp=${REXT4_VM_SMP:-1}
acpi=
[ "$smp" = 1 ] && acpi=acpi=off
start=$SECONDS
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 \
    -machine pc -cpu max -smp "$smp" -m "${REXT4_VM_MEM:-1024}" \
    -nographic -no-reboot -monitor none -serial stdio \
    -kernel "$kdir/arch/x86/boot/bzImage" -initrd "$work/initrd" \
    -append "console=ttyS0 $acpi panic=-1 oops=panic rdinit=/init rext4.scenario=$scenario ${REXT4_VM_APPEND:-}" \
    "${drives[@]}" ${REXT4_QEMU_ARGS:-} </dev/null >"$log" 2>&1
qrc=$?
elapsed=$((SECONDS - start))

args=(vm --run "$run" --scenario "$scenario" --log "$log" --qrc "$qrc" --timeout "$timeout_s" --elapsed "$elapsed")
[ "${REXT4_KTAP:-0}" = 1 ] && args+=(--ktap)
[ "$variant" = test ] || args+=(--no-kmemleak)
[ "${REXT4_VM_CRASH:-0}" = 1 ] && args+=(--crash --no-kmemleak)
while IFS= read -r spec; do
    [ -n "$spec" ] && args+=(--expect-fail "$spec")
done <<< "${REXT4_EXPECT_FAIL:-}"
python3 "$top/tools/results.py" "${args[@]}" > "$results"

! grep -q '^FAIL' "$results"
