#!/bin/bash
# A chain of crash-recovery boots (qemu/scenarios/crash-cycle.sh) on one
# image: boots 1..N each start a wlgen run on rext4 and reset the guest in
# the middle of it, boots 2..N+1 check what the previous one left.
#
#   tools/crash-chain.sh OUT N BLOCKSIZE [MKFS_OPTIONS]
#
# Results go to OUT/vm-crash-cycle-K (K = 1..N+1); the expected lists are
# tools/expected/crash-cycle-K.txt for the chain of make test (N = 5), and
# generated into OUT for longer chains (make soak). Exit status: non-zero
# when a boot failed. MKFS_OPTIONS (one word list, e.g. "-O orphan_file")
# go to the mkfs.ext4 of the image under test.
set -u
out=$1 n=$2 bs=$3 mkfs_opts=${4:-}
here=$(cd "$(dirname "$0")/.." && pwd)
d=$out/crash
mkdir -p "$d"
rm -f "$d"/*.img
truncate -s 96M "$d/fs.img"
truncate -s 16M "$d/log.img"
# shellcheck disable=SC2086
if ! mkfs.ext4 -q -F -b "$bs" $mkfs_opts "$d/fs.img" > "$d/mkfs.log" 2>&1 ||
    ! mkfs.ext4 -q -F "$d/log.img" >> "$d/mkfs.log" 2>&1; then
    echo "FAIL crash-cycle-1: images -- mkfs.ext4 failed, see $d/mkfs.log" > "$out/vm-crash-cycle-1"
    exit 1
fi
expected() { # K LAST: the expected list of boot K
    local k=$1 last=$2 p=$(($1 - 1))
    echo "log disk"
    if [ "$k" -gt 1 ]; then
        printf '%s\n' "cycle $p: the crash left the image needing recovery" \
            "cycle $p: rext4 replays the journal" "cycle $p: recovery logged" \
            "cycle $p: no checksum or journal error at the replay" \
            "cycle $p: fsync'ed files hold their content" "cycle $p: umount after the replay" \
            "cycle $p: e2fsck -fn clean after the replay" "cycle $p: the tree can be deleted"
    fi
    if [ "$last" = 1 ]; then
        printf '%s\n' finished "console clean" "kmemleak clean"
    else
        printf '%s\n' "cycle $k: mount" "cycle $k: wlgen running at the crash" finished "console clean"
    fi
}
rc=0
for k in $(seq 1 $((n + 1))); do
    last=0 crash=1 app="rext4.cycle=$k"
    if [ "$k" -gt "$n" ]; then last=1 crash=0 app="rext4.cycle=$k rext4.last=1"; fi
    if [ ! -f "$here/tools/expected/crash-cycle-$k.txt" ] || [ "$n" != 5 ]; then
        expected "$k" "$last" > "$d/crash-cycle-$k.txt"
        export REXT4_EXPECTED_DIR=$d
    fi
    REXT4_RUN=crash-cycle-$k REXT4_VM_CRASH=$crash REXT4_VM_APPEND="$app" REXT4_VM_TIMEOUT=300 \
        "$here/qemu/vm.sh" crash-cycle "$out/vm-crash-cycle-$k" "$d/fs.img" "$d/log.img" \
        > "$out/vm-crash-cycle-$k.out" 2>&1 || rc=1
done
exit $rc
