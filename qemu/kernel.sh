#!/bin/bash
# The rext4 test kernel: Debian's linux-source-6.12, allnoconfig plus
# qemu/kernel.config, built once and cached outside the repository under a key
# made of (source package version, fragment, build script, toolchain versions).
#
#   kernel.sh path    print the tree's directory (KDIR) for the current key
#   kernel.sh build   build it unless the cache already holds it
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tools/env.sh"

key() {
    {
        dpkg-query -W -f='${Version}\n' linux-source-6.12 2>/dev/null || echo none
        cat "$here/kernel.config" "$here/kernel.sh"
        /usr/bin/rustc --version 2>/dev/null || echo norustc
        "$REXT4_BINDGEN" --version 2>/dev/null || echo nobindgen
        gcc --version | head -1
    } | sha256sum | cut -c1-16
}

kdir() { echo "$REXT4_CACHE/kernel-$(key)"; }

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
    # shellcheck disable=SC2086
    make -s ARCH=x86_64 $REXT4_KMAKE_TOOLS KCONFIG_ALLCONFIG="$here/kernel.config" allnoconfig
    # olddefconfig silently drops options whose dependencies are missing:
    # every line of the fragment must survive into the final .config.
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
    done < "$here/kernel.config"
    if [ $missing != 0 ]; then
        echo "kernel: configuration incomplete, fix qemu/kernel.config" >&2
        exit 1
    fi
    echo "kernel: building bzImage in $dir (about 6 minutes on 2 cores)"
    # shellcheck disable=SC2086
    make -s ARCH=x86_64 $REXT4_KMAKE_TOOLS -j"$(nproc)" bzImage modules
    [ -f Module.symvers ] || { echo "kernel: Module.symvers missing after the build" >&2; exit 1; }
    touch .rext4-built
    # Keep only the newest few trees.
    ls -dt "$REXT4_CACHE"/kernel-* 2>/dev/null | tail -n +4 | xargs -r rm -rf
    echo "kernel: built in $((SECONDS - t0)) s"
}

case "${1:-build}" in
    path) kdir ;;
    build) build ;;
    *) echo "usage: $0 path|build" >&2; exit 2 ;;
esac
