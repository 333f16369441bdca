#!/bin/bash
# Where a filesystem spends its time in the big-directory lookups of
# `make bench` (bench-walk's "device buffers warm" step), on the bench
# kernel: QEMU's gdbstub stops the guest about 200 times a second and
# tools/profile/ipsample.py records the instruction pointer and the return
# address on top of the stack; tools/profile/report.py names them from the
# guest's /proc/kallsyms. A flat profile, for diagnosis only: the guest runs
# slower while sampled, and idle time and the boot are included.
#
#   tools/profile.sh [rext4|ext4] [slab|absent]
#       default rext4 and slab (names listed, then looked up with the
#       device's buffers warm); absent: names that are not there (the
#       lookup alone, no inode read). Needs `make bench`'s images and
#       bench kernel: run it once.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/env.sh
fs=${1:-rext4}
mode=${2:-slab}
out=${REXT4_OUT:-/tmp/rext4-bench}
meta=$out/meta.img
[ -f "$meta" ] || { echo "profile: $meta missing: run make bench first" >&2; exit 1; }
bkdir=$(qemu/kernel.sh path bench)
[ -f "$bkdir/arch/x86/boot/bzImage" ] || { echo "profile: no bench kernel: run make bench first" >&2; exit 1; }
moddir=$REXT4_CACHE/modbuild-$(basename "$bkdir")
mkdir -p "$moddir"
tar -C "$top" --exclude=.git --exclude='*.o' --exclude='*.ko' -cf - . | tar -C "$moddir" -xf -
make -s -C "$moddir" module KDIR="$bkdir"
port=$((20000 + RANDOM % 20000))
syms=$out/profile-$fs.kallsyms.img
rm -f "$syms"
truncate -s 64M "$syms"
python3 tools/profile/ipsample.py "$port" 1800 "$out/profile-$fs.samples" > "$out/profile-$fs.sampler" 2>&1 &
sampler=$!
REXT4_KERNEL=bench REXT4_MODDIR=$moddir REXT4_QEMU_ARGS="-gdb tcp:127.0.0.1:$port" \
    REXT4_VM_APPEND="rext4.prof_fs=$fs rext4.prof_mode=$mode" REXT4_VM_TIMEOUT=1200 \
    qemu/vm.sh bench-prof "$out/profile-$fs" "$meta:ro" "$syms" || { cat "$out/profile-$fs"; exit 1; }
wait "$sampler" || true
tr -d '\0' < "$syms" > "$out/profile-$fs.kallsyms"
rm -f "$syms"
python3 tools/profile/report.py "$out/profile-$fs.samples" "$out/profile-$fs.kallsyms"
