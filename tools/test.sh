#!/bin/bash
# rext4's test command (`make test`): set-up, host tests, module build, KUnit
# in the VM, negative controls of the test kernel's detectors, VM scenarios.
# Prints one result line per check (PASS name / FAIL name -- reason /
# SKIP name -- reason) and ends with "N passed, N failed[, N skipped]"; exits
# non-zero on any failure.
#
# Every run has an expected list of check names in tools/expected/RUN.txt
# (tools/results.py): a check that is missing, unexpected, skipped when
# required, or reported twice is a FAIL, so a scenario that stops early or a
# deleted test cannot pass silently.
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
    echo "$1 $2${3:+ -- $3}" | tee -a "$results"
}
# expect RUN < lines: the expected-list check of a host-side run.
expect() {
    python3 tools/results.py expect "$1" | tee -a "$results" | grep -v '^PASS' || true
}
host_pid=
summary() {
    if [ -n "$host_pid" ]; then
        # vm()'s `wait -n` may have reaped it already; host.txt is complete
        # either way once it has ended.
        wait "$host_pid" 2>/dev/null
        host_pid=
        cat "$out/host.txt" >> "$results"
        grep '^FAIL' "$out/host.txt" || true
        echo "host: $(grep -c '^PASS' "$out/host.txt") passed, $(grep -c '^FAIL' "$out/host.txt") failed"
    fi
    echo "logs: $out ($((SECONDS - t0)) s)"
    python3 tools/results.py summary "$results"
    exit $?
}

# 1. Set-up: packages, bindgen, the cached kernel, the initramfs. Nothing
#    else can run without them.
for step in deps kernel initramfs; do
    if make -s "$step" > "$out/$step.log" 2>&1; then
        echo "PASS setup: $step"
    else
        tail -20 "$out/$step.log"
        echo "FAIL setup: $step -- see $out/$step.log"
    fi
done > "$out/setup.txt"
expect setup < "$out/setup.txt"
grep -q '^FAIL' "$out/setup.txt" && summary

# 2. Host tests of the disk layer (one result per cargo test), in the
#    background: they need no kernel and take minutes (mke2fs -d of big
#    directories); their results are collected before the summary.
host_tests() {
    (cd tools/ext4disk && CARGO_TARGET_DIR=$REXT4_CARGO_TARGET cargo test --no-fail-fast 2>&1) > "$out/host.log"
    local rc=$?
    {
        # Names are BINARY::TEST (BINARY: the test file or target), so the
        # same test name in two files is two results.
        awk '/^ *Running / { b = ($2 == "unittests") ? $3 : $2; sub(/^.*\//, "", b); sub(/\.rs$/, "", b); next }
             /^ *Doc-tests / { b = "doc"; next }
             /^test .* \.\.\. ok$/ { sub(/^test /, ""); sub(/ \.\.\. ok$/, ""); print "PASS host: " b "::" $0 }
             /^test .* \.\.\. FAILED$/ { sub(/^test /, ""); sub(/ \.\.\. FAILED$/, ""); print "FAIL host: " b "::" $0 " -- cargo test failed" }
             /^test .* \.\.\. ignored$/ { sub(/^test /, ""); sub(/ \.\.\. ignored$/, ""); print "SKIP host: " b "::" $0 " -- ignored" }' "$out/host.log"
        if [ $rc != 0 ]; then echo "FAIL host: cargo test exit status -- rc $rc, see $out/host.log"; fi
    } | python3 tools/results.py expect host > "$out/host.txt"
}
host_tests &
host_pid=$!

# 3. The modules, warning-free and rustfmt-clean.
{
    if make -s module > "$out/module.log" 2>&1; then
        echo "PASS module: build without warnings"
    else
        tail -30 "$out/module.log" >&2
        echo "FAIL module: build without warnings -- see $out/module.log"
    fi
    if tools/fmt.sh --check > "$out/fmt.log" 2>&1; then
        echo "PASS module: rustfmt clean"
    else
        head -40 "$out/fmt.log" >&2
        echo "FAIL module: rustfmt clean -- run make fmt; see $out/fmt.log"
    fi
} | expect module
[ -f rext4.ko ] && [ -f rext4_kunit.ko ] && [ -f rext4_negctl.ko ] || summary

# 4. Images for the scenarios.
img=$out/images
if ! tools/mkimages.sh "$img" > "$out/images.log" 2>&1; then
    record FAIL "images: build" "see $out/images.log"
    summary
fi

# Corrupted images for the corrupt scenario (made fresh: seconds).
if ! tools/mkcorrupt.sh "$out/corrupt" > "$out/corrupt-images.log" 2>&1; then
    record FAIL "images: corrupt" "see $out/corrupt-images.log"
    summary
fi

# The read-path tree and its images are deterministic: cached by the hash
# of the scripts that make them (they are only ever mounted read-only).
rkey=$(cat tools/gentree.py tools/manifest.sh tools/mkreadimages.sh | sha256sum | cut -c1-16)
rimg=$REXT4_CACHE/readtree-$rkey
if [ ! -f "$rimg/.done" ]; then
    if tools/mkreadimages.sh "$rimg" > "$out/readtree-images.log" 2>&1; then
        touch "$rimg/.done"
        # Keep the newest few (other checkouts may use older ones).
        ls -dt "$REXT4_CACHE"/readtree-* | tail -n +4 | xargs -r rm -rf
    else
        record FAIL "images: read-tree" "see $out/readtree-images.log"
        summary
    fi
fi

# 5. KUnit, the negative controls and the VM scenarios, one boot each.
# VM runs go two at a time (REXT4_JOBS): a boot is mostly one vCPU's work
# under TCG, and the machine has two cores. Results are collected in the
# order the runs were started.
jobs_max=${REXT4_JOBS:-2}
runs=()
declare -A vm_pid
vm() { # RUN SCENARIO [DISK...]: results are named after RUN
    local run=$1 name=$2; shift 2
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    echo "vm $run: started"
    REXT4_RUN=$run qemu/vm.sh "$name" "$out/vm-$run" "$@" > "$out/vm-$run.out" 2>&1 &
    vm_pid[$run]=$!
    runs+=("$run")
}
vm_seq() { # RUN... -- FUNCTION [ARG...]: one job slot for boots that run in
    # sequence (FUNCTION runs them), whose results are named RUN...
    local names=()
    while [ "$1" != -- ]; do names+=("$1"); shift; done
    shift
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    echo "vm ${names[*]}: started"
    "$@" &
    for run in "${names[@]}"; do vm_pid[$run]=$!; runs+=("$run"); done
}
vm_wait() { # RUN: wait for that run to end
    wait "${vm_pid[$1]}" 2>/dev/null || true
}
vm_collect() {
    local run
    wait
    for run in "${runs[@]}"; do
        if [ ! -s "$out/vm-$run" ]; then
            echo "FAIL $run: results -- qemu/vm.sh left no results; see $out/vm-$run.out" > "$out/vm-$run"
        fi
        cat "$out/vm-$run" >> "$results"
        grep '^FAIL' "$out/vm-$run" || true
        echo "vm $run: $(grep -c '^PASS' "$out/vm-$run") passed, $(grep -c '^FAIL' "$out/vm-$run") failed ($(sed -n "s/^INFO $run: \([0-9]*s\)$/\1/p" "$out/vm-$run"))"
    done
}
# The longest runs first, so that two run side by side until the end.
# The read path: nine images of the generated tree (default features,
# ^metadata_csum, ^64bit, ^flex_bg, linear directories, 1 KiB and 2 KiB
# blocks, crc16 descriptors, metadata_csum_seed after a UUID change) against
# the source
# tree's manifest; the same pipeline with the in-kernel ext4 on one image
# proves the images and the comparison themselves.
# Every probe on the default and the 1 KiB-block image; the manifest and
# e2fsck on the images that differ in on-disk format or directory layout
# only (the manifest walk looks up every name: linear.img's directories
# take the linear-scan path).
REXT4_VM_TIMEOUT=1800 REXT4_VM_APPEND="rext4.fstype=rext4" vm read-tree read-tree \
    "$rimg/default.img:ro" "$rimg/manifest.disk:ro"
REXT4_VM_TIMEOUT=1800 REXT4_VM_APPEND="rext4.fstype=rext4" vm read-tree-1k read-tree \
    "$rimg/1k.img:ro" "$rimg/manifest.disk:ro"
REXT4_VM_TIMEOUT=1500 REXT4_VM_APPEND="rext4.fstype=rext4 rext4.quick=1" vm read-tree-formats read-tree \
    "$rimg/nocsum.img:ro" "$rimg/manifest.disk:ro" "$rimg/no64bit.img:ro" "$rimg/noflexbg.img:ro" \
    "$rimg/crc16.img:ro" "$rimg/csumseed.img:ro" "$rimg/2k.img:ro" "$rimg/linear.img:ro"
REXT4_VM_APPEND="rext4.fstype=ext4" vm ext4-itself-read-tree read-tree "$rimg/default.img:ro" "$rimg/manifest.disk:ro"
# What the in-kernel ext4 itself writes (mkwide.sh: unwritten extents, a
# depth-2 extent tree, a sparse file over 4 GiB, atime/ctime/crtime, every
# file type, a 50 000-entry two-level htree directory), made in the VM and
# cached by the scenario, its tool and the kernel; rext4 reads copies.
wkey=$(cat qemu/scenarios/mkwide.sh tools/guest/widegen.c tools/manifest.sh | sha256sum | cut -c1-12)
wimg=$REXT4_CACHE/wide-$wkey-$(basename "$(qemu/kernel.sh path)")
if [ -f "$wimg/.done" ]; then
    echo "INFO ext4-itself-wide-image: cached in $wimg; results from when it was made:"
    cat "$wimg/results" | tee -a "$results" | grep '^FAIL' || true
    echo "INFO ext4-itself-wide-image: cached results above" >> "$results"
else
    ls -dt "$REXT4_CACHE"/wide-* 2>/dev/null | tail -n +3 | xargs -r rm -rf
    rm -rf "$wimg"
    mkdir -p "$wimg"
    truncate -s 256M "$wimg/wide.img"
    mke2fs -q -F -t ext4 -b 4096 -L wide "$wimg/wide.img"
    truncate -s 128M "$wimg/bigdir.img"
    mke2fs -q -F -t ext4 -b 4096 -N 60000 -L bigdir "$wimg/bigdir.img"
    truncate -s 4M "$wimg/manifest.disk"
    truncate -s 128M "$wimg/nlink.img"
    mke2fs -q -F -t ext4 -b 1024 -N 70000 -L nlink "$wimg/nlink.img"
    vm ext4-itself-wide-image mkwide "$wimg/wide.img" "$wimg/bigdir.img" "$wimg/manifest.disk" \
        "$wimg/nlink.img"
    vm_wait ext4-itself-wide-image
    if grep -q '^FAIL' "$out/vm-ext4-itself-wide-image"; then
        rm -rf "$wimg"
    else
        cp "$out/vm-ext4-itself-wide-image" "$wimg/results"
        touch "$wimg/.done"
    fi
fi
if [ -f "$wimg/.done" ]; then
    cp --sparse=always "$wimg/wide.img" "$wimg/bigdir.img" "$wimg/manifest.disk" "$wimg/nlink.img" "$img/"
    REXT4_VM_APPEND="rext4.fstype=rext4" vm read-tree-wide read-tree "$img/wide.img" "$img/manifest.disk"
    vm bigdir bigdir "$img/bigdir.img"
    # htree upkeep: a directory grown to a two-level index by rext4 on a
    # 1 KiB and a 4 KiB image made in the guest, changed, read back by
    # ext4; dir_nlink past 65 000 on the nlink image ext4 made above.
    hd=$out/write-htree
    mkdir -p "$hd" && rm -f "$hd"/*.img && truncate -s 128M "$hd/h-1k.img" "$hd/h-4k.img"
    REXT4_VM_TIMEOUT=1800 vm write-htree write-htree "$hd/h-1k.img" "$hd/h-4k.img" "$img/nlink.img"
else
    record FAIL "read-tree-wide: image" "the ext4-written image could not be made"
    record FAIL "bigdir: image" "the ext4-written image could not be made"
    record FAIL "write-htree: image" "the ext4-written image could not be made"
fi

# Negative controls, one boot: each case does one deliberately bad thing in
# a test-only module (kunit/negctl.c, negctl_rust.rs) and passes only if its
# detector reports it, i.e. only if the same bug in rext4 would fail a run.
REXT4_EXPECT_FAIL="kasan|console clean|BUG: KASAN: slab-use-after-free in (init_module|negctl_kasan)
kasan-rust|console clean|BUG: KASAN: slab-use-after-free in rext4_negctl_rust_use_after_free
lockdep|console clean|possible circular locking dependency detected
odebug|console clean|ODEBUG: object .* is on stack .* but NOT annotated
list|console clean|list_add corruption
softlockup|console clean|BUG: soft lockup - CPU#[0-9]+ stuck
hung|console clean|INFO: task insmod:[0-9]+ blocked for more than 30 seconds
kmemleak|kmemleak clean|allocated by rext4_negctl" REXT4_VM_APPEND="kasan_multi_shot" vm negctl negctl

REXT4_KTAP=1 vm kunit kunit
vm insmod insmod
vm probe probe "$img/probe.img" "$img/nojournal.img"
vm bad-images bad-images "$img/zero.img" "$img/badcsum.img" "$img/1k.img" "$img/incompat.img" \
    "$img/rocompat.img" "$img/truncated.img" "$img/geometry.img" "$img/extjournal.img" \
    "$img/rootfile.img" "$img/fcrecover.img" "$img/jdeleted.img" "$img/jnotreg.img"
vm ext4-itself-reference ext4-reference "$img/reference.img"
# The image a new user makes: plain mkfs.ext4 (1 KiB blocks), filled by
# ext4, read back by rext4, umount then rmmod at once.
vm plain-mkfs plain-mkfs "$img/plain.img"
# Journal recovery: boot 1 resets the guest under the in-kernel ext4
# (data=journal) right after fsyncs, leaving two fresh mkfs.ext4 images
# (1 KiB and 4 KiB blocks) that need recovery; boot 2 replays copies of
# them with rext4 and with ext4 and compares, and a copy on a read-only
# device is refused (EROFS).
recovery_boots() {
    local d=$out/recovery b c
    mkdir -p "$d"
    rm -f "$d"/*.img
    for b in 1k 4k; do
        truncate -s 64M "$d/crash-$b.img"
        if ! mkfs.ext4 -q -F -b $((${b%k} * 1024)) "$d/crash-$b.img" > "$d/mkfs.log" 2>&1; then
            echo "FAIL recovery-crash: image -- mkfs.ext4 failed, see $d/mkfs.log" > "$out/vm-recovery-crash"
            echo "FAIL recovery: image -- no crashed image" > "$out/vm-recovery"
            return
        fi
    done
    REXT4_RUN=recovery-crash REXT4_VM_CRASH=1 REXT4_VM_TIMEOUT=300 \
        qemu/vm.sh recovery-crash "$out/vm-recovery-crash" "$d/crash-1k.img" "$d/crash-4k.img" \
        > "$out/vm-recovery-crash.out" 2>&1
    for c in a-1k b-1k c-1k a-4k b-4k; do cp --sparse=always "$d/crash-${c#*-}.img" "$d/$c.img"; done
    REXT4_RUN=recovery REXT4_VM_TIMEOUT=300 \
        qemu/vm.sh recovery "$out/vm-recovery" "$d/a-1k.img" "$d/b-1k.img" "$d/c-1k.img:ro" \
        "$d/a-4k.img" "$d/b-4k.img" > "$out/vm-recovery.out" 2>&1
}
vm_seq recovery-crash recovery -- recovery_boots
# Read-write mounts (experimental_write=1, data=journal): boot 1 changes
# attributes on two images it makes (1 KiB and 4 KiB blocks), checks
# ext4 and e2fsck agree, remount and freeze, and resets the guest with a
# change committed to the journal only; boot 2 replays copies with rext4
# and with ext4.
write_boots() {
    local d=$out/write c
    mkdir -p "$d"
    rm -f "$d"/*.img
    truncate -s 64M "$d/w-1k.img" "$d/w-4k.img" "$d/w-x.img"
    REXT4_RUN=write-attrs REXT4_VM_CRASH=1 REXT4_VM_TIMEOUT=300 \
        qemu/vm.sh write-attrs "$out/vm-write-attrs" "$d/w-1k.img" "$d/w-4k.img" "$d/w-x.img" \
        > "$out/vm-write-attrs.out" 2>&1
    for c in a-1k b-1k a-4k b-4k; do cp --sparse=always "$d/w-${c#*-}.img" "$d/$c.img"; done
    REXT4_RUN=write-replay REXT4_VM_TIMEOUT=300 \
        qemu/vm.sh write-replay "$out/vm-write-replay" "$d/a-1k.img" "$d/b-1k.img" \
        "$d/a-4k.img" "$d/b-4k.img" > "$out/vm-write-replay.out" 2>&1
}
vm_seq write-attrs write-replay -- write_boots
# The orphan file (mkfs.ext4 -O orphan_file): boot 1 uses it read-write
# on 1 KiB and 4 KiB images and resets the guest with files unlinked while
# open under rext4 (also with the file full, the rest on the classic
# chain) and under the in-kernel ext4; boot 2 has rext4 clean them up,
# plus host-made images: a truncation left in an orphan file slot, two
# corrupt orphan file blocks (bad magic, bad checksum), an orphan file
# too big.
orphan_boots() {
    local d=$out/orphan
    mkdir -p "$d"
    rm -rf "$d"/*
    truncate -s 64M "$d/o-1k.img" "$d/o-4k.img" "$d/o-ext4.img" "$d/o-full.img"
    truncate -s 1M "$d/notes.img"
    if ! tools/mkorphan.sh "$d" > "$d/mkorphan.log" 2>&1; then
        echo "FAIL orphan-crash: images -- tools/mkorphan.sh failed, see $d/mkorphan.log" > "$out/vm-orphan-crash"
        echo "FAIL orphan-replay: images -- tools/mkorphan.sh failed" > "$out/vm-orphan-replay"
        return
    fi
    REXT4_RUN=orphan-crash REXT4_VM_CRASH=1 REXT4_VM_TIMEOUT=400 \
        qemu/vm.sh orphan-crash "$out/vm-orphan-crash" "$d/o-1k.img" "$d/o-4k.img" \
        "$d/o-ext4.img" "$d/notes.img" "$d/o-full.img" > "$out/vm-orphan-crash.out" 2>&1
    REXT4_RUN=orphan-replay REXT4_VM_TIMEOUT=400 \
        qemu/vm.sh orphan-replay "$out/vm-orphan-replay" "$d/o-1k.img" "$d/o-4k.img" \
        "$d/o-ext4.img" "$d/notes.img" "$d/trunc-1k.img" "$d/badmagic-4k.img" \
        "$d/badcsum-1k.img" "$d/o-full.img" "$d/toobig-1k.img" > "$out/vm-orphan-replay.out" 2>&1
}
vm_seq orphan-crash orphan-replay -- orphan_boots
# The errors= policy on read-write mounts (continue, remount-ro, from the
# superblock), corruption found while mounted, the superblock's error
# record after the unmount.
truncate -s 64M "$out/errors.img"
vm errors errors "$out/errors.img"
# Failed metadata writes caught at completion by the block-device hook
# (dm error target under the filesystem, only background writeback
# running; remount-ro, continue, ext4's time to notice for comparison)
# and by the errseq backstop (jbd2's checkpoint writes failing).
rm -f "$out/write-error.img" && truncate -s 64M "$out/write-error.img"
REXT4_VM_TIMEOUT=600 vm write-error write-error "$out/write-error.img"
# Data writeback errors (data=journal): fsync reports a failed write home
# once to each of two and three open files and never to one opened
# after; the integrity writeback writes every other page; the hook
# catches the failed writes; /sys/fs/rext4/<dev>/ shows them and raises
# an error on request (trigger_fs_error).
rm -f "$out/fsync-error.img" && truncate -s 64M "$out/fsync-error.img"
REXT4_VM_TIMEOUT=600 vm fsync-error fsync-error "$out/fsync-error.img"
# Crash recovery under stress-ng --mmap --mmap-file (data=journal,
# journal_checksum, a syncfs every 0.1 s, two vCPUs): a chain of 10
# crashes, each replay free of journal checksum errors and e2fsck clean.
# (make soak runs a longer chain and the negative control.)
mmap_boots() {
    tools/mmap-crash.sh "$out" 10
}
vm_seq $(for k in $(seq 1 11); do echo mmap-crash-$k; done) -- mmap_boots
# Fragmented files: two files written a block at a time, alternately, so
# each gets one extent per block (6000 here: a two-level tree; make soak
# writes 100 000, a three-level one), read back by rext4 and ext4,
# truncated, deleted, the free counts back.
rm -f "$out/frag.img" && truncate -s 320M "$out/frag.img"
REXT4_VM_APPEND="rext4.frag_blocks=6000" vm write-frag write-frag "$out/frag.img"
# Crash recovery under load: a chain of boots on one 1 KiB image, each
# checking what the previous boot's sysrq-b left (replay without checksum
# errors, fsync'ed files intact, e2fsck clean) and crashing a new wlgen
# run (tools/soak.sh runs longer chains).
crash_boots() {
    tools/crash-chain.sh "$out" 5 1024
}
vm_seq crash-cycle-1 crash-cycle-2 crash-cycle-3 crash-cycle-4 crash-cycle-5 crash-cycle-6 \
    -- crash_boots
# Namespace operations on read-write mounts (create, mkdir, mknod, symlink,
# link, unlink, rmdir): three 64 MiB images (1 KiB and 4 KiB blocks, and
# one made by mkfs.ext4 -d) and an 8 MiB one that runs out of inodes, all
# made in the guest on the empty disks given here; the same scenario with
# the in-kernel ext4 checks its expectations.
for fs in rext4 ext4; do
    run=write-ns
    [ $fs = ext4 ] && run=ext4-itself-write-ns
    d=$out/$run
    mkdir -p "$d" && rm -f "$d"/*.img
    truncate -s 64M "$d/n-1k.img" "$d/n-4k.img" "$d/n-tree.img"
    truncate -s 8M "$d/n-full.img"
    REXT4_VM_TIMEOUT=600 REXT4_VM_APPEND="rext4.fstype=$fs" vm $run write-ns \
        "$d/n-1k.img" "$d/n-4k.img" "$d/n-tree.img" "$d/n-full.img"
done
# The write path's workload generator checked against the in-kernel ext4
# (data=journal) in the guest, and its fault control.
wl=$out/wlgen
mkdir -p "$wl" && rm -f "$wl"/*.img && truncate -s 128M "$wl/w-1k.img" "$wl/w-4k.img"
vm wlgen-ext4 wlgen-ext4 "$wl/w-1k.img" "$wl/w-4k.img"
# The same generator against rext4's read-write mounts (every kind of
# operation), a tree ext4 wrote changed by rext4, and a full filesystem.
wr=$out/wlgen-rext4
mkdir -p "$wr" && rm -f "$wr"/*.img && truncate -s 128M "$wr/w-1k.img" "$wr/w-4k.img" "$wr/w-x.img"
truncate -s 16M "$wr/w-full.img"
REXT4_VM_TIMEOUT=1200 REXT4_VM_APPEND="rext4.fstype=rext4" vm wlgen-rext4 wlgen-rext4 \
    "$wr/w-1k.img" "$wr/w-4k.img" "$wr/w-x.img" "$wr/w-full.img"
# Extended attributes and ACLs written by ext4, read by rext4: getfattr
# and access decisions of several users compared with ext4; a damaged
# attribute block (bad checksum, bad entry) is a clean error.
REXT4_VM_TIMEOUT=1200 vm xattr xattr "$img/xattr.img" "$img/xattr-nocsum.img"
# shellcheck disable=SC2046
REXT4_VM_TIMEOUT=1200 vm corrupt corrupt $(cat "$out/corrupt/disks")
# Two rext4 mounts and ext4 at once, concurrent walkers under memory
# pressure, umount -l with busy files, rmmod refused while mounted.
REXT4_VM_SMP=2 vm concurrent concurrent "$rimg/default.img:ro" "$rimg/manifest.disk:ro" "$rimg/nocsum.img:ro" "$rimg/linear.img:ro"

vm_collect
summary
