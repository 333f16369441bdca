#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# wlgen-shrink.sh: shrinks a failing `wlgen run` to a 1-minimal list of
# operation indices by delta debugging (ddmin): the list is cut into n
# parts; a part that still fails becomes the list (n back to 2), else a
# complement that still fails does (n - 1), else n doubles, until n is the
# list's length and no single index can be dropped (parts are tried alone
# only while n <= 8; complements are tried from the last removal on).
# POSIX sh (busybox ash
# in the guest).
#
#   wlgen-shrink.sh DIR SEED NOPS RESET [wlgen run options...]
#
# RESET is a shell command run before every try; it must leave DIR empty
# (e.g. 'rm -rf /mnt/t && mkdir /mnt/t', or umount, mkfs and mount again).
# A try "fails" when `wlgen run DIR SEED NOPS --ops LIST OPTIONS` exits 1
# with a line matching WLGEN_MATCH. The options are split on blanks.
# Environment:
#   WLGEN         the wlgen binary (default: wlgen on PATH)
#   WLGEN_MATCH   grep -E pattern of a failure (default: MISMATCH)
#   WLGEN_TMP     directory for the work files (default: /tmp)
#   WLGEN_FAULT   passed on to wlgen (fault injection, see wlgen.c)
# Prints progress on stderr, then on stdout
#   wlgen-shrink: minimal N ops (T tries): I J K ...
#   <wlgen's failing output for that list>
# and leaves the list in $WLGEN_TMP/wlgen-shrink.min, one index a line.
# Exit 0; 2 when the full sequence does not fail or RESET fails.
set -u
if [ $# -lt 4 ]; then
    echo "usage: $0 DIR SEED NOPS RESET [wlgen run options...]" >&2
    exit 2
fi
dir=$1 seed=$2 nops=$3 reset=$4
shift 4
extra=$*
wlgen=${WLGEN:-wlgen}
match=${WLGEN_MATCH:-MISMATCH}
tmp=${WLGEN_TMP:-/tmp}
cur=$tmp/wlgen-shrink.min
cand=$tmp/wlgen-shrink.cand
out=$tmp/wlgen-shrink.out
tries=0

# try LIST: 0 when the run over LIST fails as wanted
try() {
    tries=$((tries + 1))
    if ! sh -c "$reset" >/dev/null 2>&1; then
        echo "wlgen-shrink: RESET failed: $reset" >&2
        exit 2
    fi
    # shellcheck disable=SC2086
    "$wlgen" run "$dir" "$seed" "$nops" --ops "$1" $extra >"$out" 2>&1
    [ $? -eq 1 ] && grep -Eq "$match" "$out"
}

i=0
while [ "$i" -lt "$nops" ]; do
    echo "$i"
    i=$((i + 1))
done >"$cur"
if ! try "$cur"; then
    echo "wlgen-shrink: the full sequence does not fail" >&2
    cat "$out" >&2
    exit 2
fi

n=2 start=0
while :; do
    len=$(wc -l <"$cur")
    [ "$len" -lt 2 ] && break
    [ "$n" -gt "$len" ] && n=$len
    echo "wlgen-shrink: $len ops, $n parts, $tries tries" >&2
    found=0
    i=0
    # parts alone only while they are big: single operations rarely fail
    [ "$n" -gt 8 ] && i=$n
    while [ "$i" -lt "$n" ]; do
        s=$((i * len / n + 1)) e=$(((i + 1) * len / n))
        sed -n "${s},${e}p" "$cur" >"$cand"
        if try "$cand"; then
            mv "$cand" "$cur"
            n=2 found=1
            break
        fi
        i=$((i + 1))
    done
    if [ "$found" = 0 ] && [ "$n" -gt 2 ]; then
        # complements, starting where the last removal happened
        k=0
        while [ "$k" -lt "$n" ]; do
            i=$(((start + k) % n))
            s=$((i * len / n + 1)) e=$(((i + 1) * len / n))
            sed "${s},${e}d" "$cur" >"$cand"
            if try "$cand"; then
                mv "$cand" "$cur"
                start=$i n=$((n - 1)) found=1
                [ "$n" -lt 2 ] && n=2
                break
            fi
            k=$((k + 1))
        done
    fi
    if [ "$found" = 0 ]; then
        [ "$n" -ge "$len" ] && break
        n=$((n * 2))
    fi
done

try "$cur" || { echo "wlgen-shrink: the minimal list no longer fails (flaky?)" >&2; exit 2; }
echo "wlgen-shrink: minimal $(wc -l <"$cur") ops ($tries tries):" $(cat "$cur")
cat "$out"
exit 0
