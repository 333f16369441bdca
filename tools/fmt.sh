#!/bin/bash
# rustfmt over all of rext4's Rust (module crate, KUnit crate, host crate)
# with the kernel tree's .rustfmt.toml.
#
#   tools/fmt.sh          format in place
#   tools/fmt.sh --check  exit 1 and show the diff if anything is unformatted
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kdir=${KDIR:-$(qemu/kernel.sh path)}
rustfmt=$(command -v rustfmt || echo "$HOME/.cargo/bin/rustfmt")
[ -x "$rustfmt" ] || { echo "fmt: rustfmt not found" >&2; exit 1; }
# Crate roots; rustfmt follows their `mod` declarations (rust/disk/ is
# reached from each of them).
roots=(rust/rext4.rs kunit/rext4_kunit.rs tools/ext4disk/src/lib.rs tools/ext4disk/src/bin/ext4img.rs
       tools/ext4disk/tests/*.rs)
"$rustfmt" --edition 2021 --config-path "$kdir/.rustfmt.toml" ${1:+"$1"} "${roots[@]}"
