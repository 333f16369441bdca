#!/bin/bash
# A chain of crash-recovery boots under stress-ng --mmap
# (qemu/scenarios/mmap-crash.sh) on one 4 KiB-block image: boots 1..N each
# start the mmap load on rext4 (data=journal,journal_checksum) and reset
# the guest in the middle of it, boots 2..N+1 check the replay.
#
#   tools/mmap-crash.sh OUT N [MODDIR]
#
# Results go to OUT/vm-mmap-crash-K (K = 1..N+1), with expected lists
# generated into OUT/mmap-expected. MODDIR: where the modules come from
# (default the source tree); the negative control passes the unsafe build
# (tools/unsafe-module.sh). Prints "mmap-crash: C of N replays failed" at
# the end; exit status non-zero when a boot failed.
set -u
out=$1 n=$2 moddir=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
d=$out/mmap-crash
mkdir -p "$d" "$out/mmap-expected"
rm -f "$d"/*.img
truncate -s 128M "$d/fs.img"
if ! mkfs.ext4 -q -F -b 4096 "$d/fs.img" > "$d/mkfs.log" 2>&1; then
    echo "FAIL mmap-crash-1: images -- mkfs.ext4 failed, see $d/mkfs.log" > "$out/vm-mmap-crash-1"
    exit 1
fi
expected() { # K LAST: the expected list of boot K
    local k=$1 last=$2 p=$(($1 - 1))
    if [ "$k" -gt 1 ]; then
        printf '%s\n' "cycle $p: the crash left the image needing recovery" \
            "cycle $p: rext4 replays the journal" \
            "cycle $p: no checksum or journal error at the replay" \
            "cycle $p: e2fsck -fn clean after the replay"
    fi
    if [ "$last" = 1 ]; then
        printf '%s\n' finished "console clean" "kmemleak clean"
    else
        printf '%s\n' "cycle $k: mount" "cycle $k: stress-ng --mmap running at the crash" finished "console clean"
    fi
}
rc=0
for k in $(seq 1 $((n + 1))); do
    last=0 crash=1 app="rext4.cycle=$k"
    if [ "$k" -gt "$n" ]; then last=1 crash=0 app="rext4.cycle=$k rext4.last=1"; fi
    expected "$k" "$last" > "$out/mmap-expected/mmap-crash-$k.txt"
    REXT4_EXPECTED_DIR=$out/mmap-expected REXT4_MODDIR=$moddir REXT4_RUN=mmap-crash-$k \
        REXT4_VM_CRASH=$crash REXT4_VM_APPEND="$app" REXT4_VM_TIMEOUT=300 REXT4_VM_SMP=2 \
        "$here/qemu/vm.sh" mmap-crash "$out/vm-mmap-crash-$k" "$d/fs.img" \
        > "$out/vm-mmap-crash-$k.out" 2>&1 || rc=1
done
bad=$(cat "$out"/vm-mmap-crash-* 2>/dev/null | grep -c '^FAIL mmap-crash-[0-9]*: cycle [0-9]*: no checksum or journal error at the replay')
echo "mmap-crash: $bad of $n replays failed"
exit $rc
