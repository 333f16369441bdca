#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# wlgen-selftest.sh: host-side checks of tools/guest/wlgen.c and
# wlgen-shrink.sh against a directory of a real filesystem (tmpfs, a
# loop-mounted ext4, ...). Run as root; makes and removes subdirectories
# of DIR. Builds wlgen as qemu/guesttools.sh does.
#
#   wlgen-selftest.sh DIR [LOGDIR]
#
# LOGDIR (for the fsync log) must be on another filesystem than DIR; by
# default /dev/shm or /tmp, whichever is. Checks:
#   1. seeds 1..3 x 5000 operations (compared every 1000), and one run with
#      --no-mmap, all "wlgen: ok"; operations per second printed
#   2. the same seed twice: byte-identical --verbose traces
#   3. --ops replay of subsets (every index not divisible by 3; one in ten)
#   4. --fsync-log then check-fsynced passes; after one byte of a logged
#      file is changed, check-fsynced must report FSYNC-LOST; runs killed
#      (SIGKILL) at several points pass check-fsynced (the invalidation
#      lines come before the operations that change synced files)
#   5. WLGEN_FAULT=I on a write of a 2000-op run: the run must print a
#      MISMATCH, and wlgen-shrink.sh must reduce it to at most 40 operations
#      including I
# Exit 0 when all pass, 1 at the first failure.
set -u
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 DIR [LOGDIR]" >&2
    exit 2
fi
dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/wlgen-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
w=$tmp/wlgen
if [ $# -ge 2 ]; then
    logdir=$2
else
    logdir=
    for c in /dev/shm /tmp; do
        if [ -d "$c" ] && [ "$(stat -c %d "$c")" != "$(stat -c %d "$dir")" ]; then
            logdir=$c
            break
        fi
    done
fi

fail() {
    echo "wlgen-selftest: FAIL: $*"
    exit 1
}

fresh() {
    rm -rf "$dir/wlgen-selftest"
    mkdir "$dir/wlgen-selftest" || fail "mkdir $dir/wlgen-selftest"
}
t=$dir/wlgen-selftest

gcc -static -O2 -Wall -Wextra -Werror -o "$w" "$here/wlgen.c" || fail "build"

# 1
for seed in 1 2 3; do
    fresh
    "$w" run "$t" "$seed" 5000 --check-every 1000 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cat "$tmp/out"
    [ $rc -eq 0 ] && grep -q '^wlgen: ok ops=5000 ' "$tmp/out" || fail "seed $seed: $(cat "$tmp/err")"
    awk '{ printf "wlgen-selftest: seed '"$seed"': %d ops/s\n", $2 / $5 }' "$tmp/err"
done
fresh
"$w" run "$t" 4 3000 --no-mmap >"$tmp/out" 2>/dev/null || fail "--no-mmap: $(cat "$tmp/out")"
echo "wlgen-selftest: --no-mmap: $(cat "$tmp/out")"

# 2
fresh
"$w" run "$t" 5 3000 --verbose >"$tmp/v1" 2>/dev/null || fail "trace run 1: $(tail -n 2 "$tmp/v1")"
fresh
"$w" run "$t" 5 3000 --verbose >"$tmp/v2" 2>/dev/null || fail "trace run 2: $(tail -n 2 "$tmp/v2")"
cmp "$tmp/v1" "$tmp/v2" || fail "two runs of seed 5 differ"
"$w" trace 5 3000 >"$tmp/t1" && "$w" trace 6 3000 >"$tmp/t2" || fail "trace"
cmp -s "$tmp/t1" "$tmp/t2" && fail "seeds 5 and 6 give the same sequence"
echo "wlgen-selftest: seed 5 twice: identical traces ($(wc -l <"$tmp/v1") lines)"

# 3
awk 'BEGIN { for (i = 0; i < 5000; i++) if (i % 3) print i }' >"$tmp/list1"
awk 'BEGIN { x = 12345; for (i = 0; i < 5000; i++) { x = (x * 1103515245 + 12345) % 2147483648; if (x % 10 == 0) print i } }' >"$tmp/list2"
for l in list1 list2; do
    fresh
    "$w" run "$t" 3 5000 --ops "$tmp/$l" --check-every 500 >"$tmp/out" 2>/dev/null ||
        fail "--ops $l: $(cat "$tmp/out")"
    echo "wlgen-selftest: --ops $l ($(wc -l <"$tmp/$l") indices): $(cat "$tmp/out")"
done

# 4
if [ -n "$logdir" ]; then
    log=$logdir/wlgen-selftest.$$.log
    rm -f "$log"
    fresh
    "$w" run "$t" 1 5000 --fsync-log "$log" >"$tmp/out" 2>/dev/null || { rm -f "$log"; fail "--fsync-log: $(cat "$tmp/out")"; }
    "$w" check-fsynced "$t" "$log" >"$tmp/out" || { rm -f "$log"; fail "check-fsynced: $(cat "$tmp/out")"; }
    echo "wlgen-selftest: $(cat "$tmp/out")"
    f=$(awk '$1 == "F" && $3 > 0 { f = $2 } $1 == "!" && $2 == f { f = "" } END { print f }' "$log")
    [ -n "$f" ] || { rm -f "$log"; fail "no non-empty file in the fsync log"; }
    printf '\377' | dd of="$t/$f" bs=1 seek=0 conv=notrunc 2>/dev/null
    printf '\376' | dd of="$t/$f" bs=1 seek=0 conv=notrunc 2>/dev/null
    "$w" check-fsynced "$t" "$log" >"$tmp/out"
    rc=$?
    rm -f "$log"
    [ $rc -eq 1 ] && grep -q FSYNC-LOST "$tmp/out" || fail "a changed fsynced file passed check-fsynced"
    echo "wlgen-selftest: changed file caught: $(cat "$tmp/out")"
    for secs in 0.1 0.3 0.6 1.0 1.5; do
        fresh
        rm -f "$log"
        "$w" run "$t" 21 5000 --fsync-log "$log" >/dev/null 2>&1 &
        pid=$!
        sleep "$secs"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        "$w" check-fsynced "$t" "$log" >"$tmp/out" 2>&1 || { rm -f "$log"; fail "killed at $secs s: $(cat "$tmp/out")"; }
        echo "wlgen-selftest: killed after $secs s: $(cat "$tmp/out")"
    done
    rm -f "$log"
else
    echo "wlgen-selftest: no log directory on another filesystem: fsync log not tested"
fi

# 5
fresh
"$w" run "$t" 11 2000 --verbose >"$tmp/tr" 2>/dev/null || fail "seed 11: $(tail -n 1 "$tmp/tr")"
fault=
for i in $(awk '$1 >= 1000 && ($2 == "write" || $2 == "append" || $2 == "osync") && $NF == "ok" { print $1 }' "$tmp/tr" | head -n 30); do
    fresh
    if ! WLGEN_FAULT=$i "$w" run "$t" 11 2000 >"$tmp/out" 2>/dev/null; then
        fault=$i
        break
    fi
done
[ -n "$fault" ] || fail "no injected fault was detected"
grep '^wlgen: MISMATCH' "$tmp/out" || fail "fault $fault: no MISMATCH line"
echo "wlgen-selftest: fault at op $fault detected (above); shrinking"
WLGEN=$w WLGEN_TMP=$tmp WLGEN_FAULT=$fault sh "$here/wlgen-shrink.sh" "$t" 11 2000 \
    "rm -rf '$t' && mkdir '$t'" >"$tmp/shrink" 2>/dev/null || fail "wlgen-shrink.sh: $(cat "$tmp/shrink")"
cat "$tmp/shrink"
n=$(wc -l <"$tmp/wlgen-shrink.min")
grep -qx "$fault" "$tmp/wlgen-shrink.min" || fail "the minimal list lacks op $fault"
[ "$n" -le 40 ] || fail "the minimal list has $n operations"
grep -q '^wlgen: MISMATCH' "$tmp/shrink" || fail "the minimal list's run shows no MISMATCH"
rm -rf "$t"
echo "wlgen-selftest: all passed"
