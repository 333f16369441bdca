# Shared settings for rext4's scripts (sourced, not run).
# Caches live outside the repository, keyed by what they were built from.
REXT4_CACHE=${REXT4_CACHE:-/var/cache/rext4}
BINDGEN_VER=0.69.5
REXT4_BINDGEN=$REXT4_CACHE/bindgen-$BINDGEN_VER/bin/bindgen
# The kernel trees and the modules are built by the same toolchain: clang,
# lld and llvm 16 from Debian (LLVM=-16; KASAN with Rust needs a clang-built
# kernel in 6.12) and Debian's pinned rustc-web, never rustup's rustc that
# PATH finds first.
REXT4_KMAKE_TOOLS="LLVM=-16 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc BINDGEN=$REXT4_BINDGEN"
export LIBCLANG_PATH=/usr/lib/llvm-16/lib
# The host build of the disk layer (tools/ext4disk): one cargo target
# directory per checkout, since cargo takes an rlib built from another
# checkout's sources (same package, same hash) for fresh.
REXT4_CARGO_TARGET=$REXT4_CACHE/cargo-target/$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd | sha256sum | cut -c1-12)
