#!/bin/bash
# Builds the test-only, UNSAFE variant of rext4.ko for the negative control
# of the mmap crash test: REXT4_UNSAFE_NO_WB_UNTIL_COMMIT=1 leaves
# journalled folios out of writeback (include/rext4_data_wb.c), so a store
# through a shared mapping can change a block while its transaction
# commits. Never load it outside that test.
#
#   tools/unsafe-module.sh        prints the directory holding the modules
#
# Built in a copy of the module's sources under $REXT4_CACHE, keyed by
# their contents (the source tree's own modules stay as they are).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
. tools/env.sh
make -s bindings >&2
files=$( (git ls-files --cached --others --exclude-standard Kbuild Makefile include rust kunit tools/env.sh tools/bindgen.sh; echo rust/bindings_generated.rs) | sort -u)
key=$(for f in $files; do [ -f "$f" ] && { echo "$f"; cat "$f"; }; done | sha256sum | cut -c1-16)
dir=$REXT4_CACHE/unsafe-module-$key
if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    for f in $files; do [ -f "$f" ] && cp --parents -p "$f" "$dir/"; done
    cp -a qemu "$dir/qemu"
    # The bindings are already generated: keep them (no bindgen run there).
    touch "$dir/rust/bindings_generated.rs"
    (cd "$dir" && make -s module REXT4_UNSAFE_NO_WB_UNTIL_COMMIT=1) >&2
    touch "$dir/.done"
    ls -dt "$REXT4_CACHE"/unsafe-module-* | tail -n +3 | xargs -r rm -rf
fi
echo "$dir"
