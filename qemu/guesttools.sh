#!/bin/bash
# The guest's test tools: the C programs in tools/guest/, each built static
# (gcc -static -O2 -Wall -Wextra -Werror, glibc from libc6-dev) into one
# binary named after its source. Cached outside the repository, keyed by the
# sources, this script and the compiler's version; qemu/vm.sh copies them
# into each run's initramfs overlay, on the guest's PATH (/usr/bin).
#
#   guesttools.sh path    print the cached directory's path
#   guesttools.sh build   build it unless cached
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../tools/guest" && pwd)
. "$here/../tools/env.sh"

CC=${CC:-gcc}
CFLAGS="-static -O2 -Wall -Wextra -Werror"

key() {
    { cat "$0"; for f in "$src"/*.c; do echo "$(basename "$f")"; cat "$f"; done
      "$CC" --version | head -n 1; echo "$CFLAGS"; } | sha256sum | cut -c1-16
}
path() { echo "$REXT4_CACHE/guesttools-$(key)"; }

build() {
    local out tmp f; out=$(path)
    if [ -d "$out" ]; then echo "guesttools: cached $out"; return 0; fi
    mkdir -p "$REXT4_CACHE"
    tmp=$(mktemp -d "$REXT4_CACHE/guesttools.tmp.XXXXXX")
    trap 'rm -rf "$tmp"' RETURN
    for f in "$src"/*.c; do
        # shellcheck disable=SC2086
        if ! "$CC" $CFLAGS -o "$tmp/$(basename "$f" .c)" "$f"; then
            echo "guesttools: $CC $CFLAGS failed for $f" >&2
            return 1
        fi
    done
    chmod 755 "$tmp"
    mv "$tmp" "$out"
    ls -dt "$REXT4_CACHE"/guesttools-* | tail -n +4 | xargs -r rm -rf
    echo "guesttools: built $out ($(cd "$out" && echo *))"
}

case "${1:-build}" in
    path) path ;;
    build) build ;;
    *) echo "usage: $0 path|build" >&2; exit 2 ;;
esac
