#!/bin/bash
# rext4's test command (`make test`): set-up, host tests, module build, KUnit
# in the VM, VM scenarios. Prints one result line per check and ends with
# "N passed, N failed"; exits non-zero on any failure.
#
# Logs and images go to $REXT4_OUT (default /tmp/rext4-test).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/env.sh
out=${REXT4_OUT:-/tmp/rext4-test}
rm -rf "$out"
mkdir -p "$out"
results=$out/results.txt
: > "$results"
t0=$SECONDS

record() { # STATUS NAME [reason]
    echo "$1 $2${3:+: $3}" | tee -a "$results"
}
summary() {
    local p f
    p=$(grep -c '^PASS' "$results")
    f=$(grep -c '^FAIL' "$results")
    echo "logs: $out ($((SECONDS - t0)) s)"
    echo "$p passed, $f failed"
    [ "$f" = 0 ]
    exit $?
}

# 1. Set-up: packages, bindgen, the cached kernel, the initramfs. Nothing
#    else can run without them.
for step in deps kernel initramfs; do
    if make -s "$step" > "$out/$step.log" 2>&1; then
        record PASS "setup: $step"
    else
        tail -20 "$out/$step.log"
        record FAIL "setup: $step" "see $out/$step.log"
        summary
    fi
done

# 2. Host tests of the disk layer (one result per cargo test).
(cd tools/ext4disk && CARGO_TARGET_DIR=$REXT4_CACHE/cargo-target cargo test --no-fail-fast 2>&1) > "$out/host.log"
host_rc=$?
sed -n 's/^test \(.*\) \.\.\. ok$/PASS host: \1/p; s/^test \(.*\) \.\.\. FAILED$/FAIL host: \1/p' "$out/host.log" | tee -a "$results"
if [ $host_rc != 0 ] && ! grep -q '^FAIL host' "$results"; then
    record FAIL "host: cargo test" "see $out/host.log"
fi

# 3. The modules, warning-free.
if make -s module > "$out/module.log" 2>&1; then
    record PASS "module: rext4.ko and rext4_kunit.ko build without warnings"
else
    tail -30 "$out/module.log"
    record FAIL "module: build" "see $out/module.log"
    summary
fi

# 4. Images for the scenarios.
img=$out/images
if ! tools/mkimages.sh "$img" > "$out/images.log" 2>&1; then
    record FAIL "images" "see $out/images.log"
    summary
fi

# 5. KUnit and the VM scenarios, one boot each.
vm() { # SCENARIO [DISK...]
    local name=$1; shift
    qemu/vm.sh "$name" "$out/vm-$name" "$@"
    cat "$out/vm-$name" | tee -a "$results" >/dev/null
    grep '^FAIL' "$out/vm-$name" || true
    echo "vm $name: $(grep -c '^PASS' "$out/vm-$name") passed, $(grep -c '^FAIL' "$out/vm-$name") failed"
}
REXT4_KTAP=1 vm kunit
vm insmod
vm probe "$img/probe.img"
vm bad-images "$img/zero.img" "$img/badcsum.img" "$img/1k.img" "$img/incompat.img" \
    "$img/rocompat.img" "$img/truncated.img" "$img/geometry.img"
vm ext4-reference "$img/reference.img"

summary
