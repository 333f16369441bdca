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

if tools/fmt.sh --check > "$out/fmt.log" 2>&1; then
    record PASS "module: rustfmt clean"
else
    head -40 "$out/fmt.log"
    record FAIL "module: rustfmt clean" "run make fmt; see $out/fmt.log"
fi

# 4. Images for the scenarios.
img=$out/images
if ! tools/mkimages.sh "$img" > "$out/images.log" 2>&1; then
    record FAIL "images" "see $out/images.log"
    summary
fi

# Corrupted images for the corrupt scenario (made fresh: seconds).
if ! tools/mkcorrupt.sh "$out/corrupt" > "$out/corrupt-images.log" 2>&1; then
    record FAIL "corrupt images" "see $out/corrupt-images.log"
    summary
fi

# The read-path tree and its images are deterministic: cached by the hash
# of the scripts that make them (they are only ever mounted read-only).
rkey=$(cat tools/gentree.py tools/manifest.sh tools/mkreadimages.sh | sha256sum | cut -c1-16)
rimg=$REXT4_CACHE/readtree-$rkey
if [ ! -f "$rimg/.done" ]; then
    rm -rf "$REXT4_CACHE"/readtree-*
    if tools/mkreadimages.sh "$rimg" > "$out/readtree-images.log" 2>&1; then
        touch "$rimg/.done"
    else
        record FAIL "read-tree images" "see $out/readtree-images.log"
        summary
    fi
fi

# 5. KUnit and the VM scenarios, one boot each.
vm() { # RUN-NAME SCENARIO [DISK...]: results are named after RUN-NAME
    local run=$1 name=$2; shift 2
    qemu/vm.sh "$name" "$out/vm-$run" "$@"
    [ "$run" = "$name" ] || sed -i "s/^\(PASS\|FAIL\) $name/\1 $run/" "$out/vm-$run"
    cat "$out/vm-$run" >> "$results"
    grep '^FAIL' "$out/vm-$run" || true
    echo "vm $run: $(grep -c '^PASS' "$out/vm-$run") passed, $(grep -c '^FAIL' "$out/vm-$run") failed"
}
REXT4_KTAP=1 vm kunit kunit
vm insmod insmod
vm probe probe "$img/probe.img"
vm bad-images bad-images "$img/zero.img" "$img/badcsum.img" "$img/1k.img" "$img/incompat.img" \
    "$img/rocompat.img" "$img/truncated.img" "$img/geometry.img"
vm ext4-reference ext4-reference "$img/reference.img"
# shellcheck disable=SC2046
vm corrupt corrupt $(cat "$out/corrupt/disks")
# The read path: five images of the generated tree (default features,
# ^metadata_csum, ^64bit, ^flex_bg, linear directories) against the source
# tree's manifest; the same pipeline with the in-kernel ext4 on one image
# proves the images and the comparison themselves.
REXT4_VM_APPEND="rext4.fstype=rext4" vm read-tree read-tree "$rimg/default.img" "$rimg/manifest.disk" \
    "$rimg/nocsum.img" "$rimg/no64bit.img" "$rimg/noflexbg.img" "$rimg/linear.img"
REXT4_VM_APPEND="rext4.fstype=ext4" vm read-tree-ext4 read-tree "$rimg/default.img" "$rimg/manifest.disk"

summary
