#!/bin/bash
# rext4's main job (`make run`): set everything up, boot the VM and show the
# current end-to-end path: insmod, a read-only mount of an mkfs.ext4 image of
# a small tree with the options rext4's users pass, listing, reading and
# checksumming files (a sparse 1 GiB one too), df, unmount, a corrupt image
# refused, rmmod.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/env.sh
out=${REXT4_OUT:-/tmp/rext4-run}
mkdir -p "$out"
make -s deps kernel initramfs
make -s module
tools/mkimages.sh "$out/images" >/dev/null
echo "== booting the test kernel (QEMU, TCG) with scenario 'demo' =="
rc=0
qemu/vm.sh demo "$out/demo" "$out/images/demo.img" "$out/images/badcsum.img" || rc=$?
sed -n '/REXT4-SCENARIO-BEGIN/,/REXT4-SCENARIO-END/p' "$out/demo.log" | grep -v 'REXT4-SCENARIO' | tr -d '\r'
echo "== checks =="
cat "$out/demo"
echo "console log: $out/demo.log"
exit $rc
