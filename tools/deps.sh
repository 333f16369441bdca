#!/bin/bash
# Install everything rext4 needs to build and test, from Debian's packages and
# crates.io. Idempotent: a second run checks versions and returns in seconds.
#
# Pins (see ../README.md): one rustc for the kernel tree and the module, the
# Debian "web" toolchain 1.85, held so an upgrade cannot move it.
set -euo pipefail

RUST_VER=1.85.0+dfsg3-1~deb12u3
BINDGEN_VER=0.69.5
CACHE=${REXT4_CACHE:-/var/cache/rext4}
BINDGEN_ROOT=$CACHE/bindgen-$BINDGEN_VER
STAMP=$CACHE/deps.stamp

RUST_PKGS="rustc-web=$RUST_VER rust-web-src=$RUST_VER libstd-rust-web-dev=$RUST_VER libstd-rust-web-1.85=$RUST_VER"
PKGS="linux-source-6.12 libclang-16-dev clang-16 lld-16 llvm-16 flex bison bc libelf-dev libssl-dev cpio xz-utils
      make gcc busybox-static e2fsprogs stress-ng fio dmsetup python3 kmod attr acl"

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# tools/deps.sh --bench: what `make bench` needs besides the above (gnuplot
# for its chart), installed on demand so `make test` does not depend on it.
if [ "${1:-}" = --bench ]; then
    command -v gnuplot >/dev/null && exit 0
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox
    exit 0
fi

# Fingerprint of what this script installs: when it matches the stamp and the
# binaries are in place, there is nothing to do.
want_fp=$(printf '%s\n' "$RUST_VER" "$BINDGEN_VER" "$PKGS" qemu-backports | sha256sum | cut -c1-16)

have_all() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_fp" ] || return 1
    [ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q '^rustc 1\.85\.0' || return 1
    [ -x "$BINDGEN_ROOT/bin/bindgen" ] || return 1
    command -v qemu-system-x86_64 >/dev/null || return 1
    [ -f /usr/src/linux-source-6.12.tar.xz ] || return 1
    return 0
}

if have_all; then
    echo "deps: up to date ($CACHE)"
    exit 0
fi

$SUDO mkdir -p "$CACHE"
export DEBIAN_FRONTEND=noninteractive

# bookworm-backports carries the QEMU that fits the preinstalled qemu-utils.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deps: adding bookworm-backports"
    $SUDO tee /etc/apt/sources.list.d/rext4-backports.sources >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

$SUDO apt-get update -qq
$SUDO apt-mark unhold rustc-web rust-web-src libstd-rust-web-dev libstd-rust-web-1.85 >/dev/null 2>&1 || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades $RUST_PKGS $PKGS
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86
$SUDO apt-mark hold rustc-web rust-web-src libstd-rust-web-dev libstd-rust-web-1.85 >/dev/null

if [ ! -x "$BINDGEN_ROOT/bin/bindgen" ]; then
    echo "deps: building bindgen-cli $BINDGEN_VER (about a minute)"
    CARGO=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
    LIBCLANG_PATH=/usr/lib/llvm-16/lib CARGO_TARGET_DIR=$CACHE/bindgen-target \
        "$CARGO" install bindgen-cli --version "$BINDGEN_VER" --locked --root "$BINDGEN_ROOT" -q
    rm -rf "$CACHE/bindgen-target"
fi

echo "$want_fp" | $SUDO tee "$STAMP" >/dev/null
echo "deps: installed (rustc $(/usr/bin/rustc --version | cut -d' ' -f2), bindgen $BINDGEN_VER, $(qemu-system-x86_64 --version | head -1))"
