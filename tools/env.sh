# Shared settings for rext4's scripts (sourced, not run).
# Caches live outside the repository, keyed by what they were built from.
REXT4_CACHE=${REXT4_CACHE:-/var/cache/rext4}
BINDGEN_VER=0.69.5
REXT4_BINDGEN=$REXT4_CACHE/bindgen-$BINDGEN_VER/bin/bindgen
# The kernel tree and the module must be built by the same rustc: Debian's
# pinned rustc-web, never rustup's rustc that PATH finds first.
REXT4_KMAKE_TOOLS="RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc BINDGEN=$REXT4_BINDGEN"
export LIBCLANG_PATH=/usr/lib/llvm-16/lib
