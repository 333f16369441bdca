# Helpers for guest scenarios (sourced). Results are console lines the host
# collects (tools/results.py):
#   REXT4-RESULT PASS scenario: check
#   REXT4-RESULT FAIL scenario: check -- reason
#   REXT4-RESULT SKIP scenario: check -- reason
# Check names never contain " -- "; each run's expected names are listed in
# tools/expected/RUN.txt, and a missing or unexpected name is a FAIL.
# pass NAME [DETAIL]: DETAIL (counts, values) goes on an INFO line, so check
# names stay fixed.
pass() {
    echo "REXT4-RESULT PASS $SCENARIO: $1"
    [ -z "${2:-}" ] || echo "REXT4-INFO $SCENARIO: $1: $2"
}
fail() { echo "REXT4-RESULT FAIL $SCENARIO: $1 -- $2" | tr '\n' ' '; echo; }
skip() { echo "REXT4-RESULT SKIP $SCENARIO: $1 -- $2"; }

# check NAME CMD...: PASS when CMD succeeds.
check() {
    local name=$1; shift
    if "$@" >/tmp/check.out 2>&1; then pass "$name"; else fail "$name" "'$*' failed: $(tail -c 300 /tmp/check.out)"; fi
}

# check_fails NAME CMD...: PASS when CMD fails.
check_fails() {
    local name=$1; shift
    if "$@" >/tmp/check.out 2>&1; then fail "$name" "'$*' succeeded but should fail"; else pass "$name"; fi
}

# dmesg_has NAME PATTERN: PASS when the kernel log matches PATTERN (ERE).
dmesg_has() {
    if dmesg | grep -E -q "$2"; then pass "$1"; else fail "$1" "no kernel message matching '$2'"; fi
}

# Kernel messages since the last mark only.
mark_dmesg() { dmesg -c >/dev/null; }

# rmmod through the guest's wrapper (qemu/guest/rmmod logs the module's
# address range for kmemleak attribution): busybox's shell runs its own
# applet before looking at PATH, so the wrapper is named explicitly.
rmmod() { /usr/local/sbin/rmmod "$@"; }

# load_manifest DEV: the manifest disk DEV (tools/mkreadimages.sh's format:
# "REXT4-MANIFEST <bytes> <sha256>" in sector 0, the manifest from byte
# 512) into /tmp/expected, checked against its sha256; a FAIL and status 1
# otherwise.
load_manifest() {
    set -- "$1" $(head -c 512 "$1" | head -n 1)
    if [ "${2:-}" != REXT4-MANIFEST ] || [ -z "${3:-}" ] || [ -z "${4:-}" ]; then
        fail "expected manifest" "$1 has no REXT4-MANIFEST header"
        return 1
    fi
    dd if="$1" bs=512 skip=1 2>/dev/null | head -c "$3" > /tmp/expected
    local got
    got=$(sha256sum < /tmp/expected | cut -d' ' -f1)
    if [ "$got" != "$4" ]; then
        fail "expected manifest" "checksum mismatch ($got, header says $4)"
        return 1
    fi
}

# Load rext4.ko once per boot.
load_rext4() { grep -q '^rext4 ' /proc/modules || insmod /rext4/rext4.ko; }

# Benchmarks (bench-*.sh): /dev/vda mounted read-only as FS (ext4 with
# noload, so both read the image as it is); every cache dropped; and
# bench_timed ROW CMD...: CMD prints "<what> usec T ..." lines, each
# becomes "BENCH ROW $fs $i T" for tools/bench.sh (a failure is a FAIL).
bench_mount() {
    local opts=ro
    [ "$1" = ext4 ] && opts=ro,noload
    mount -t "$1" -o $opts /dev/vda /mnt
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
bench_timed() {
    local name=$1 out; shift
    if out=$("$@" 2>&1); then
        echo "$out" | awk -v n="$name" -v fs="$fs" -v i="$i" '{ print "BENCH", n, fs, i, $3 }'
    else
        fail "$fs $name" "$out"
    fi
}

# features DEV: the filesystem's feature list (dumpe2fs); has_feature DEV
# NAME: whether NAME is in it; counts DEV: "FREE_BLOCKS FREE_INODES ".
features() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Filesystem features: *//p'; }
has_feature() { features "$1" | tr ' ' '\n' | grep -qx "$2"; }
counts() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Free \(blocks\|inodes\): *//p' | tr '\n' ' '; }
