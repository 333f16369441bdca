#!/bin/bash
# rext4's kernels, from Debian's linux-source-6.12 with allnoconfig plus
# fragments, built with LLVM=-16 and cached outside the repository under a key
# made of (source package version, fragments, this script, toolchain versions):
#
#   test    kernel.config + kernel-debug.config: KASAN, kmemleak, lockdep,
#           hung-task and soft-lockup detectors. `make test` and `make run`.
#   bench   kernel.config only: no debug options. Built by `make bench` only.
#
#   kernel.sh path [test|bench]    print the tree's directory (KDIR)
#   kernel.sh build [test|bench]   build it unless the cache already holds it
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tools/env.sh"

variant=${2:-test}
case "$variant" in
    test) fragments=("$here/kernel.config" "$here/kernel-debug.config") ;;
    bench) fragments=("$here/kernel.config") ;;
    *) echo "kernel.sh: unknown variant '$variant' (test or bench)" >&2; exit 2 ;;
esac

key() {
    {
        echo "$variant"
        dpkg-query -W -f='${Version}\n' linux-source-6.12 2>/dev/null || echo none
        cat "${fragments[@]}" "$here/kernel.sh"
        /usr/bin/rustc --version 2>/dev/null || echo norustc
        "$REXT4_BINDGEN" --version 2>/dev/null || echo nobindgen
        clang-16 --version 2>/dev/null | head -1 || echo noclang
    } | sha256sum | cut -c1-16
}

kdir() { echo "$REXT4_CACHE/kernel-$variant-$(key)"; }

build() {
    local dir; dir=$(kdir)
    if [ -f "$dir/.rext4-built" ]; then
        echo "kernel: cached $dir"
        return 0
    fi
    local t0=$SECONDS
    rm -rf "$dir" "$dir.tmp"
    mkdir -p "$dir.tmp"
    echo "kernel: unpacking linux-source-6.12"
    tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$dir.tmp" --strip-components=1
    mv "$dir.tmp" "$dir"
    cd "$dir"
    cat "${fragments[@]}" > rext4.config
    # shellcheck disable=SC2086
    make -s ARCH=x86_64 $REXT4_KMAKE_TOOLS KCONFIG_ALLCONFIG=rext4.config allnoconfig
    # olddefconfig silently drops options whose dependencies are missing:
    # every line of the fragments must survive into the final .config.
    local missing=0 line opt val
    while IFS= read -r line; do
        case "$line" in CONFIG_*=*) ;; *) continue ;; esac
        opt=${line%%=*}; val=${line#*=}
        if [ "$val" = n ]; then
            if grep -q "^$opt=" .config; then echo "kernel: $opt should be off"; missing=1; fi
        elif ! grep -qx "$line" .config; then
            echo "kernel: wanted $line, got: $(grep "^$opt=\|# $opt is not set" .config || echo absent)"
            missing=1
        fi
    done < rext4.config
    if [ $missing != 0 ]; then
        echo "kernel: configuration incomplete, fix qemu/kernel*.config" >&2
        exit 1
    fi
    echo "kernel: building the $variant kernel in $dir (10-15 minutes on 2 cores)"
    # shellcheck disable=SC2086
    make -s ARCH=x86_64 $REXT4_KMAKE_TOOLS -j"$(nproc)" bzImage modules
    [ -f Module.symvers ] || { echo "kernel: Module.symvers missing after the build" >&2; exit 1; }
    touch .rext4-built
    # Keep only the newest few trees of this variant.
    ls -dt "$REXT4_CACHE"/kernel-"$variant"-* 2>/dev/null | tail -n +3 | xargs -r rm -rf
    echo "kernel: built in $((SECONDS - t0)) s"
}

case "${1:-build}" in
    path) kdir ;;
    build) build ;;
    *) echo "usage: $0 path|build [test|bench]" >&2; exit 2 ;;
esac
