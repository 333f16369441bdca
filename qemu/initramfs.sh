#!/bin/bash
# The guest's base initramfs: busybox plus stress-ng, e2fsprogs, dmsetup and
# attr/acl (getfattr, setfattr, getfacl, setfacl)
# with the shared libraries they need, and qemu/guest/init. Cached outside
# the repository, keyed by this script, the init and the package versions.
# Not compressed: unpacking gzip costs ~10 s per boot under TCG with KASAN,
# more than QEMU loading the bigger file. (fio, with its ~70 MiB of
# libraries, joins when a scenario needs it.)
#
#   initramfs.sh path    print the cached archive's path
#   initramfs.sh build   build it unless cached
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tools/env.sh"

PKGS="busybox-static stress-ng e2fsprogs dmsetup libc6 attr acl"
BINS="/usr/bin/stress-ng /sbin/mke2fs /sbin/e2fsck /sbin/dumpe2fs /sbin/debugfs /sbin/tune2fs /usr/bin/chattr /usr/bin/lsattr
      /sbin/dmsetup /usr/bin/getfattr /usr/bin/setfattr /usr/bin/getfacl /usr/bin/setfacl"

key() {
    { cat "$0" "$here/guest/init" "$here/guest/rmmod"; dpkg-query -W $PKGS 2>/dev/null; } | sha256sum | cut -c1-16
}
path() { echo "$REXT4_CACHE/initramfs-$(key).cpio"; }

build() {
    local out; out=$(path)
    if [ -f "$out" ]; then echo "initramfs: cached $out"; return 0; fi
    local root; root=$(mktemp -d)
    trap 'rm -rf "$root"' RETURN
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,mnt,scenarios,rext4}
    cp /bin/busybox "$root/bin/busybox"
    for app in $(/bin/busybox --list); do
        [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
    done
    local b lib
    for b in $BINS; do
        [ -x "$b" ] || { echo "initramfs: $b missing (make deps)" >&2; exit 1; }
        mkdir -p "$root$(dirname "$b")"
        rm -f "$root$b"
        cp "$b" "$root$b"
        for lib in $(ldd "$b" | grep -o '/[^ ]*'); do
            mkdir -p "$root$(dirname "$lib")"
            [ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
        done
    done
    for b in mkfs.ext4:mke2fs fsck.ext4:e2fsck; do
        ln -sf "${b#*:}" "$root/sbin/${b%%:*}"
    done
    cp /etc/mke2fs.conf "$root/etc/mke2fs.conf"
    cp "$here/guest/init" "$root/init"
    mkdir -p "$root/usr/local/sbin"
    cp "$here/guest/rmmod" "$root/usr/local/sbin/rmmod"
    chmod +x "$root/init" "$root/usr/local/sbin/rmmod"
    mkdir -p "$REXT4_CACHE"
    (cd "$root" && find . | cpio -o -H newc --quiet) > "$out.tmp"
    mv "$out.tmp" "$out"
    ls -t "$REXT4_CACHE"/initramfs-*.cpio* | tail -n +4 | xargs -r rm -f
    echo "initramfs: built $out ($(du -h "$out" | cut -f1))"
}

case "${1:-build}" in
    path) path ;;
    build) build ;;
    *) echo "usage: $0 path|build" >&2; exit 2 ;;
esac
