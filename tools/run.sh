#!/bin/bash
# rext4's main job (`make run`): set everything up, then two boots of the
# test kernel (QEMU, TCG):
#   1. insmod, mkfs.ext4, mount -o data=journal,journal_checksum, stress-ng
#      --mmap --mmap-file, and a reset (sysrq-b) in the middle of it;
#   2. the crashed filesystem mounted again (journal replay, no checksum
#      error), e2fsck -fn; then a failed metadata write injected under a
#      mounted filesystem (device-mapper) with only background writeback
#      running, caught by rext4's block-device hook at completion
#      (errors=remount-ro), shown in sysfs and by dumpe2fs.
# Each boot's commands and kernel messages are shown, then a summary.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/env.sh
out=${REXT4_OUT:-/tmp/rext4-run}
mkdir -p "$out"
make -s deps kernel initramfs
make -s module
rm -f "$out/demo.img" "$out/inject.img"
truncate -s 256M "$out/demo.img"
truncate -s 64M "$out/inject.img"
show() { # RESULTS: the scenario's console, commands and messages
    sed -n '/REXT4-SCENARIO-BEGIN/,/REXT4-SCENARIO-END/p' "$1.log" | tr -d '\r' |
        grep -v -E 'REXT4-(SCENARIO|RESULT|INFO|SUMMARY|CRASH-NOW)' | sed 's/^REXT4-SAY /## /'
}
rc=0
echo "== boot 1: mount, stress-ng --mmap, crash =="
REXT4_VM_CRASH=1 qemu/vm.sh demo-crash "$out/demo-crash" "$out/demo.img" || rc=$?
show "$out/demo-crash"
echo "== boot 2: recovery, then a failed metadata write =="
qemu/vm.sh demo "$out/demo" "$out/demo.img" "$out/inject.img" || rc=$?
show "$out/demo"
echo "== checks =="
cat "$out/demo-crash" "$out/demo"
echo "== summary =="
cat "$out/demo-crash.log" "$out/demo.log" | tr -d '\r' | sed -n 's/^REXT4-SUMMARY /- /p'
echo "console logs: $out/demo-crash.log $out/demo.log"
exit $rc
