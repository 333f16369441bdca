# Read path: mount images made by `mkfs.ext4 -d` from a generated tree
# read-only and compare everything readable (types, modes, owners, link
# counts, sizes, mtimes with nanoseconds, contents, symlink targets, device
# numbers, hard-link groups) with the source tree's manifest.
#
# Disks: /dev/vdb is the expected manifest (tools/mkreadimages.sh's
# manifest.disk: "REXT4-MANIFEST <bytes> <sha256>" in sector 0, the manifest
# from byte 512); /dev/vda, and /dev/vdc, /dev/vdd, ... if present, are the
# images, each named by its volume label (mkreadimages.sh: rt-<option set>).
# Kernel arguments: rext4.fstype=ext4|rext4 (default ext4): the filesystem
# type to mount with; rext4 loads /rext4/rext4.ko first.
#
# One result per image: "<label>: tree matches (N entries, M bytes)", or a
# FAIL naming the first difference with up to 20 diff lines on the console;
# then "<label>: e2fsck -fn clean" after the unmount.
SCENARIO=read-tree
. /scenarios/lib.sh

fstype=$(sed -n 's/.*rext4\.fstype=\([^ ]*\).*/\1/p' /proc/cmdline)
fstype=${fstype:-ext4}
echo "read-tree: filesystem type $fstype"
if [ "$fstype" = rext4 ]; then
    check "insmod rext4.ko" load_rext4
fi

# The expected manifest.
set -- $(head -c 512 /dev/vdb | head -n 1)
if [ "${1:-}" != REXT4-MANIFEST ] || [ -z "${2:-}" ] || [ -z "${3:-}" ]; then
    fail "expected manifest" "/dev/vdb has no REXT4-MANIFEST header"
    exit 1
fi
dd if=/dev/vdb bs=512 skip=1 2>/dev/null | head -c "$2" > /tmp/expected
got=$(sha256sum < /tmp/expected | cut -d' ' -f1)
if [ "$got" != "$3" ]; then
    fail "expected manifest" "checksum mismatch ($got, header says $3)"
    exit 1
fi
entries=$(wc -l < /tmp/expected)
bytes=$(awk -F '\t' '$2 == "f" { s += $7 } END { printf "%.0f\n", s }' /tmp/expected)
echo "read-tree: expected $entries entries, $bytes bytes;" \
    "$(awk -F '\t' '{ n[$2]++ } $10 != "-" { h++ } END { for (t in n) printf "%s=%d ", t, n[t]; printf "hard-linked=%d\n", h }' /tmp/expected)"

for dev in /dev/vda /dev/vd[c-z]; do
    [ -b "$dev" ] || continue
    label=$(dumpe2fs -h "$dev" 2>/dev/null | sed -n 's/^Filesystem volume name: *//p')
    case "$label" in ""|"<none>") label=${dev#/dev/} ;; esac
    echo "read-tree: $dev ($label): $(dumpe2fs -h "$dev" 2>/dev/null | sed -n 's/^Filesystem features: *//p')"
    mark_dmesg
    if ! mount -t "$fstype" -o ro "$dev" /mnt >/tmp/mount.out 2>&1; then
        fail "$label: tree matches" "mount -t $fstype -o ro $dev failed: $(tail -c 200 /tmp/mount.out) $(dmesg | tail -n 3 | tr '\n' ' ')"
        check "$label: e2fsck -fn clean" e2fsck -fn "$dev"
        continue
    fi
    grep -q "^$dev /mnt $fstype ro[ ,]" /proc/mounts ||
        fail "$label: mounted read-only" "$(grep " /mnt " /proc/mounts)"
    t0=$(date +%s)
    if sh /scenarios/manifest.sh /mnt > /tmp/actual 2>/tmp/manifest.err; then
        secs=$(($(date +%s) - t0))
        if cmp -s /tmp/expected /tmp/actual; then
            pass "$label: tree matches ($entries entries, $bytes bytes)"
            echo "read-tree: $label: manifest in ${secs}s"
        else
            # "-" lines: expected only (missing or different), "+": read only
            diff -U0 /tmp/expected /tmp/actual | sed 1,2d | grep '^[-+]' > /tmp/diff
            echo "read-tree: $label: diff -U0 expected actual (first 20 lines):"
            head -n 20 /tmp/diff | cut -c1-300 | sed 's/^/read-tree diff: /'
            first=$(head -n 1 /tmp/diff | cut -c2- | cut -f1 | cut -c1-120)
            fail "$label: tree matches" "$(wc -l < /tmp/diff) differing lines (-expected +read), $(wc -l < /tmp/actual) entries read, first difference at '$first'"
        fi
    else
        fail "$label: tree matches" "manifest.sh failed: $(tail -c 300 /tmp/manifest.err)"
    fi
    check "$label: umount" umount /mnt
    check "$label: e2fsck -fn clean" e2fsck -fn "$dev"
done
