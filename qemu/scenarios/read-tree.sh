# Read path: mount images made by `mkfs.ext4 -d` from a generated tree
# read-only and compare everything readable (types, modes, owners, link
# counts, sizes, mtimes with nanoseconds, contents, symlink targets, device
# numbers, hard-link groups) with the source tree's manifest.
#
# Disks: /dev/vdb is the expected manifest (tools/mkreadimages.sh's
# manifest.disk: "REXT4-MANIFEST <bytes> <sha256>" in sector 0, the manifest
# from byte 512); /dev/vda, and /dev/vdc, /dev/vdd, ... if present, are the
# images, each named by its volume label (mkreadimages.sh: rt-<option set>).
# Kernel arguments: rext4.fstype=ext4|rext4 (required; no default, so a
# run meant for rext4 can never silently test ext4): the filesystem type to
# mount with; rext4 loads /rext4/rext4.ko first.
#
# rext4.quick=1 (optional): only "tree matches", "umount" and "e2fsck -fn
# clean" per image.
#
# One result per image: "<label>: tree matches (N entries, M bytes)", or a
# FAIL naming the first difference with up to 20 diff lines on the console;
# then, with rext4probe (tools/guest/rext4probe.c, on PATH through vm.sh),
# what the manifest does not cover:
#   "<label>: mmap reads match (N files)": every regular file of the
#       manifest read through a shared read-only mmap hashes to its sha256;
#   "<label>: SEEK_DATA/SEEK_HOLE match ext4 (N files, H with holes)": the
#       data/hole layout of every regular file by lseek SEEK_DATA/SEEK_HOLE
#       is the in-kernel ext4's on the same image, and some files have holes;
#   "<label>: statfs matches ext4": statfs(2) of the root, field by field;
#   "<label>: readdir resume (DIR, N entries)": in the directory with the
#       most entries (htree/), telldir/seekdir resumption at several points
#       loses and repeats nothing, and getdents64's entries (inode, type,
#       name) are ext4's.
# The reference is `mount -t ext4 -o ro,noload` of the same image after the
# unmount (never both at once); in ext4 mode the comparison is ext4 with
# itself, which checks the checks. Then "<label>: e2fsck -fn clean".
SCENARIO=read-tree
. /scenarios/lib.sh

fstype=$(sed -n 's/.*rext4\.fstype=\([^ ]*\).*/\1/p' /proc/cmdline)
case "$fstype" in
    ext4 | rext4) echo "read-tree: filesystem type $fstype" ;;
    *)
        fail "filesystem type given" "rext4.fstype=ext4|rext4 missing from the kernel arguments (got '$fstype')"
        exit 1 ;;
esac
if [ "$fstype" = rext4 ]; then
    check "insmod rext4.ko" load_rext4
fi
# rext4.quick=1: per image only the manifest comparison and e2fsck (for the
# images that differ from the fully probed ones in on-disk format only).
quick=$(sed -n 's/.*rext4\.quick=\([01]\).*/\1/p' /proc/cmdline)

# The expected manifest.
load_manifest /dev/vdb || exit 1
entries=$(wc -l < /tmp/expected)
bytes=$(awk -F '\t' '$2 == "f" { s += $7 } END { printf "%.0f\n", s }' /tmp/expected)
echo "read-tree: expected $entries entries, $bytes bytes;" \
    "$(awk -F '\t' '{ n[$2]++ } $10 != "-" { h++ } END { for (t in n) printf "%s=%d ", t, n[t]; printf "hard-linked=%d\n", h }' /tmp/expected)"

tab=$(printf '\t')
# The regular files of the expected manifest: "sha256<TAB>path", as
# sha256sum prints them ("sha256  path") and NUL-terminated paths for
# xargs -0 (all files: /tmp/all.list0, for the layout probes; up to 1 GiB:
# the mmap reads, since the manifest hashes only the last MiB of bigger
# ones); and the directory with the most entries.
small='$2 == "f" && $7 <= 1073741824'
awk -F '\t' "$small"' { print $9 "\t" $1 }' /tmp/expected > /tmp/files
awk -F '\t' "$small"' { print $9 "  " $1 }' /tmp/expected > /tmp/files.sums
awk -F '\t' "$small"' { printf "%s%c", $1, 0 }' /tmp/expected > /tmp/files.list0
awk -F '\t' '$2 == "f" { printf "%s%c", $1, 0 }' /tmp/expected > /tmp/all.list0
nall=$(awk -F '\t' '$2 == "f"' /tmp/expected | wc -l)
nfiles=$(wc -l < /tmp/files)
bigdir=$(awk -F '\t' '{ p = $1; if (!sub(/\/[^\/]*$/, "", p)) p = "."; n[p]++ }
    END { for (d in n) if (n[d] > m) { m = n[d]; b = d }; print b }' /tmp/expected)
echo "read-tree: $nfiles regular files; most entries in $bigdir/"

# mmap_check LABEL: every file of /tmp/files under /mnt read through a
# shared read-only mapping, from the disk (the page cache is dropped first:
# the manifest read every file). `rext4probe mmapcat FILE | sha256sum` for
# a sample (the files with holes per /tmp/probe.rext4.seek, the 8 largest),
# `rext4probe mmapsum` (the same mapping hashed in the tool) for all: a
# process per file costs ~7 ms under TCG: mmapcat | sha256sum for every
# file took ~55 s per image.
mmap_check() {
    local label=$1 sum path h bad=0 sample d
    sync
    echo 3 > /proc/sys/vm/drop_caches
    : > /tmp/mmap.bad
    : > /tmp/mmap.err
    { awk -F '\t' "$small"' { print $7 "\t" $9 "\t" $1 }' /tmp/expected | sort -n -r | head -n 8 | cut -f2-
      grep "$tab"'.*hole ' /tmp/probe.rext4.seek | cut -f1 |
          awk -F '\t' 'NR == FNR { want[$1] = 1; next } $1 in want && $7 <= 1073741824 { print $9 "\t" $1 }' - /tmp/expected
    } > /tmp/mmap.sample
    sample=$(wc -l < /tmp/mmap.sample)
    while IFS="$tab" read -r sum path; do
        h=$(set -o pipefail; rext4probe mmapcat "/mnt/$path" 2>>/tmp/mmap.err | sha256sum) ||
            h="mmapcat-failed"
        h=${h%% *}
        if [ "$h" != "$sum" ]; then
            bad=$((bad + 1))
            echo "mmapcat $path: $h, expected $sum" >> /tmp/mmap.bad
        fi
    done < /tmp/mmap.sample
    (cd /mnt && xargs -0 rext4probe mmapsum < /tmp/files.list0) > /tmp/mmap.sums 2>>/tmp/mmap.err
    if ! cmp -s /tmp/files.sums /tmp/mmap.sums; then
        difflines /tmp/files.sums /tmp/mmap.sums > /tmp/mmap.diff
        sed 's/^/mmapsum (-expected +read) /' /tmp/mmap.diff >> /tmp/mmap.bad
        d=$(grep -c '^-' /tmp/mmap.diff)
        [ "$d" -gt 0 ] || d=1
        bad=$((bad + d))
    fi
    if [ $bad = 0 ] && [ ! -s /tmp/mmap.err ]; then
        pass "$label: mmap reads match" "$nfiles files, $sample by mmapcat"
    else
        { head -n 10 /tmp/mmap.bad; head -n 10 /tmp/mmap.err; } | cut -c1-300 | sed 's/^/read-tree mmap: /'
        fail "$label: mmap reads match" "$bad of $nfiles files differ ($sample by mmapcat), first: $(head -n 1 /tmp/mmap.bad | cut -c1-200); errors: $(head -c 200 /tmp/mmap.err)"
    fi
}

# probe TAG: seekmap of every file (one line per file: path, tab, the
# layout joined by "; "), statfs of the root and readdir of $bigdir, into
# /tmp/probe.TAG.*.
probe() {
    local tag=$1
    (cd /mnt && xargs -0 rext4probe seekmap -l < /tmp/all.list0) 2> "/tmp/probe.$tag.seek.err" |
        awk '/^file / { if (NR > 1) print r; r = substr($0, 6) "\t"; next } { r = r $0 "; " } END { if (NR) print r }' \
        > "/tmp/probe.$tag.seek"
    (cd /mnt && xargs -0 rext4probe fiemap < /tmp/all.list0) 2> "/tmp/probe.$tag.fiemap.err" |
        awk '/^file / { if (NR > 1) print r; r = substr($0, 6) "\t"; next } { r = r $0 "; " } END { if (NR) print r }' \
        > "/tmp/probe.$tag.fiemap"
    (cd /mnt && find . ! -path ./lost+found ! -path './lost+found/*' -print0 | xargs -0 rext4probe statx) \
        2> "/tmp/probe.$tag.statx.err" | LC_ALL=C sort > "/tmp/probe.$tag.statx"
    rext4probe statfs /mnt > "/tmp/probe.$tag.statfs" 2>&1 || echo "statfs failed" >> "/tmp/probe.$tag.statfs"
    (cd /mnt && find . -type d ! -path ./lost+found ! -path './lost+found/*' -print0 | xargs -0 rext4probe dirents) \
        2> "/tmp/probe.$tag.dirents.err" | LC_ALL=C sort > "/tmp/probe.$tag.dirents"
    if rext4probe readdir "/mnt/$bigdir" > "/tmp/probe.$tag.readdir" 2> "/tmp/probe.$tag.readdir.err"; then
        echo ok > "/tmp/probe.$tag.readdir.rc"
    else
        echo "failed (rc $?)" > "/tmp/probe.$tag.readdir.rc"
    fi
    grep '^[0-9]' "/tmp/probe.$tag.readdir" | LC_ALL=C sort > "/tmp/probe.$tag.entries"
}

# difflines A B: the differing lines, "-" from A, "+" from B (busybox diff
# prints the unified format only).
difflines() {
    diff -U0 "$1" "$2" | sed 1,2d | grep '^[-+]'
}

# show_diff NAME A B: up to 20 differing lines on the console.
show_diff() {
    difflines "$2" "$3" | head -n 20 | cut -c1-300 | sed "s/^/read-tree $1 diff: /"
}

# compare LABEL: the results comparing /tmp/probe.rext4.* (the mount under
# test) with /tmp/probe.ext4.* (the reference).
compare() {
    local label=$1 n holes first
    n=$(wc -l < /tmp/probe.ext4.seek)
    holes=$(grep -c "$tab"'.*hole ' /tmp/probe.ext4.seek)
    if ! cmp -s /tmp/probe.ext4.seek /tmp/probe.rext4.seek; then
        echo "read-tree: $label: seekmap, -ext4 +$fstype:"
        show_diff seekmap /tmp/probe.ext4.seek /tmp/probe.rext4.seek
        difflines /tmp/probe.ext4.seek /tmp/probe.rext4.seek > /tmp/seek.diff
        first=$(head -n 1 /tmp/seek.diff | cut -c2- | cut -f1)
        fail "$label: SEEK_DATA/SEEK_HOLE match ext4" "$(grep -c '^-' /tmp/seek.diff) of $n files differ (ext4 $(wc -l < /tmp/probe.ext4.seek), $fstype $(wc -l < /tmp/probe.rext4.seek) lines), first: $first: ext4 '$(grep -m1 -F -e "-$first$tab" /tmp/seek.diff | cut -f2 | cut -c1-150)', $fstype '$(grep -m1 -F -e "+$first$tab" /tmp/seek.diff | cut -f2 | cut -c1-150)'"
    elif [ "$n" != "$nall" ] || [ "$holes" = 0 ] || [ -s /tmp/probe.ext4.seek.err ]; then
        fail "$label: SEEK_DATA/SEEK_HOLE match ext4" "vacuous: $n of $nall files mapped, $holes with holes, errors: $(head -c 200 /tmp/probe.ext4.seek.err)"
    else
        pass "$label: SEEK_DATA/SEEK_HOLE match ext4" "$n files, $holes with holes"
    fi

    # FIEMAP of every regular file: logical and physical extents, flags.
    n=$(wc -l < /tmp/probe.ext4.fiemap)
    local ext
    ext=$(grep -c ' 0x1; $' /tmp/probe.ext4.fiemap)
    if ! cmp -s /tmp/probe.ext4.fiemap /tmp/probe.rext4.fiemap; then
        show_diff fiemap /tmp/probe.ext4.fiemap /tmp/probe.rext4.fiemap
        difflines /tmp/probe.ext4.fiemap /tmp/probe.rext4.fiemap > /tmp/fiemap.diff
        fail "$label: FIEMAP matches ext4" "$(grep -c '^-' /tmp/fiemap.diff) of $n files differ, first: -$(grep -m1 '^-' /tmp/fiemap.diff | cut -c2- | cut -c1-200) +$(grep -m1 '^+' /tmp/fiemap.diff | cut -c2- | cut -c1-200)"
    elif [ "$n" != "$nall" ] || [ "$ext" = 0 ] || [ -s /tmp/probe.ext4.fiemap.err ]; then
        fail "$label: FIEMAP matches ext4" "vacuous: $n of $nall files, $ext ending in a LAST extent, errors: $(head -c 200 /tmp/probe.ext4.fiemap.err)"
    else
        pass "$label: FIEMAP matches ext4" "$n files, $ext with extents"
    fi

    # statx of every entry: inode numbers, blocks, all four timestamps
    # (btime from the extra inode space), attributes from the inode flags.
    n=$(wc -l < /tmp/probe.ext4.statx)
    local bt imm
    bt=$(grep -c -v 'btime=none' /tmp/probe.ext4.statx)
    imm=$(grep -c 'attrs=0x[0-9a-f]*[13579bdf]0/' /tmp/probe.ext4.statx)
    if ! cmp -s /tmp/probe.ext4.statx /tmp/probe.rext4.statx; then
        show_diff statx /tmp/probe.ext4.statx /tmp/probe.rext4.statx
        difflines /tmp/probe.ext4.statx /tmp/probe.rext4.statx > /tmp/statx.diff
        fail "$label: statx matches ext4" "$(grep -c '^-' /tmp/statx.diff) of $n entries differ, first: -$(grep -m1 '^-' /tmp/statx.diff | cut -c2- | cut -c1-200) +$(grep -m1 '^+' /tmp/statx.diff | cut -c2- | cut -c1-200)"
    elif [ "$n" -lt "$entries" ] || [ "$bt" = 0 ] || [ "$imm" = 0 ] || [ -s /tmp/probe.ext4.statx.err ]; then
        fail "$label: statx matches ext4" "vacuous: $n of $entries entries, $bt with btime, $imm immutable, errors: $(head -c 200 /tmp/probe.ext4.statx.err)"
    else
        pass "$label: statx matches ext4" "$n entries, $bt with btime, $imm immutable"
    fi

    # getdents64 of every directory: inode numbers and d_type of every entry
    # (symlinks, devices, FIFOs and sockets included).
    n=$(wc -l < /tmp/probe.ext4.dirents)
    local types
    types=$(awk '{ print $3 }' /tmp/probe.ext4.dirents | sort -u | tr '\n' ' ')
    if ! cmp -s /tmp/probe.ext4.dirents /tmp/probe.rext4.dirents || [ -s /tmp/probe.rext4.dirents.err ]; then
        show_diff dirents /tmp/probe.ext4.dirents /tmp/probe.rext4.dirents
        difflines /tmp/probe.ext4.dirents /tmp/probe.rext4.dirents > /tmp/dirents.diff
        fail "$label: d_type of every entry matches ext4" "$(grep -c '^-' /tmp/dirents.diff) of $n entries differ, first: -$(grep -m1 '^-' /tmp/dirents.diff | cut -c2- | cut -c1-200) +$(grep -m1 '^+' /tmp/dirents.diff | cut -c2- | cut -c1-200); errors: $(head -c 200 /tmp/probe.rext4.dirents.err)"
    elif [ "$n" -lt "$entries" ] || [ -s /tmp/probe.ext4.dirents.err ]; then
        fail "$label: d_type of every entry matches ext4" "vacuous: $n entries for $entries in the manifest, errors: $(head -c 200 /tmp/probe.ext4.dirents.err)"
    else
        pass "$label: d_type of every entry matches ext4" "$n entries, d_types $types"
    fi

    if cmp -s /tmp/probe.ext4.statfs /tmp/probe.rext4.statfs && grep -q '^type=' /tmp/probe.ext4.statfs; then
        pass "$label: statfs matches ext4"
    else
        echo "read-tree statfs ext4:   $(cat /tmp/probe.ext4.statfs)"
        echo "read-tree statfs $fstype: $(cat /tmp/probe.rext4.statfs)"
        fail "$label: statfs matches ext4" "ext4 '$(cat /tmp/probe.ext4.statfs)', $fstype '$(cat /tmp/probe.rext4.statfs)'"
    fi

    n=$(wc -l < /tmp/probe.rext4.entries)
    if [ "$(cat /tmp/probe.rext4.readdir.rc)" != ok ] || ! grep -q '^resume ok' /tmp/probe.rext4.readdir; then
        sed 's/^/read-tree readdir: /' /tmp/probe.rext4.readdir.err | head -n 20
        fail "$label: readdir resume" "rext4probe readdir /mnt/$bigdir on $fstype $(cat /tmp/probe.rext4.readdir.rc), no 'resume ok': $(head -c 300 /tmp/probe.rext4.readdir.err)"
    elif [ "$(cat /tmp/probe.ext4.readdir.rc)" != ok ] || ! grep -q '^resume ok' /tmp/probe.ext4.readdir; then
        fail "$label: readdir resume" "rext4probe readdir /mnt/$bigdir on ext4 (reference) $(cat /tmp/probe.ext4.readdir.rc), no 'resume ok': $(head -c 300 /tmp/probe.ext4.readdir.err)"
    elif ! cmp -s /tmp/probe.ext4.entries /tmp/probe.rext4.entries; then
        echo "read-tree: $label: readdir $bigdir (ino type name, sorted), -ext4 +$fstype:"
        show_diff readdir /tmp/probe.ext4.entries /tmp/probe.rext4.entries
        fail "$label: readdir resume" "entries differ from ext4's: $(wc -l < /tmp/probe.ext4.entries) on ext4, $n on $fstype, $(difflines /tmp/probe.ext4.entries /tmp/probe.rext4.entries | wc -l) differing lines"
    else
        pass "$label: readdir resume" "$bigdir, $n entries"
        echo "read-tree: $label: $(grep '^resume ok' /tmp/probe.rext4.readdir)"
    fi
}

for dev in /dev/vda /dev/vd[c-z]; do
    [ -b "$dev" ] || continue
    label=$(dumpe2fs -h "$dev" 2>/dev/null | sed -n 's/^Filesystem volume name: *//p')
    case "$label" in ""|"<none>") label=${dev#/dev/} ;; esac
    echo "read-tree: $dev ($label): $(dumpe2fs -h "$dev" 2>/dev/null | sed -n 's/^Filesystem features: *//p')"
    mark_dmesg
    if ! mount -t "$fstype" -o ro "$dev" /mnt >/tmp/mount.out 2>&1; then
        fail "$label: tree matches" "mount -t $fstype -o ro $dev failed: $(tail -c 200 /tmp/mount.out) $(dmesg | tail -n 3 | tr '\n' ' ')"
        for c in "mmap reads match" "SEEK_DATA/SEEK_HOLE match ext4" "statfs matches ext4" "readdir resume"; do
            fail "$label: $c" "not run: the $fstype mount failed"
        done
        check "$label: e2fsck -fn clean" e2fsck -fn "$dev"
        continue
    fi
    grep -q "^$dev /mnt $fstype ro[ ,]" /proc/mounts ||
        fail "$label: mounted read-only" "$(grep " /mnt " /proc/mounts)"
    t0=$(date +%s)
    if sh /scenarios/manifest.sh /mnt > /tmp/actual 2>/tmp/manifest.err; then
        secs=$(($(date +%s) - t0))
        if cmp -s /tmp/expected /tmp/actual; then
            pass "$label: tree matches" "$entries entries, $bytes bytes"
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
    if [ "$quick" = 1 ]; then
        check "$label: umount" umount /mnt
        check "$label: e2fsck -fn clean" e2fsck -fn "$dev"
        continue
    fi
    t0=$(date +%s)
    probe rext4
    mmap_check "$label"
    echo "read-tree: $label: mmap and probes on $fstype in $(($(date +%s) - t0))s"
    check "$label: umount" umount /mnt
    t0=$(date +%s)
    why=
    if grep -q " /mnt " /proc/mounts; then
        why="not run: /mnt is still mounted"
    elif ! mount -t ext4 -o ro,noload "$dev" /mnt >/tmp/mount.out 2>&1; then
        why="reference mount -t ext4 -o ro,noload $dev failed: $(tail -c 200 /tmp/mount.out)"
    fi
    if [ -n "$why" ]; then
        for c in "SEEK_DATA/SEEK_HOLE match ext4" "statfs matches ext4" "readdir resume"; do
            fail "$label: $c" "$why"
        done
    else
        probe ext4
        check "$label: umount (ext4 reference)" umount /mnt
        echo "read-tree: $label: probes on ext4 in $(($(date +%s) - t0))s"
        compare "$label"
    fi
    check "$label: e2fsck -fn clean" e2fsck -fn "$dev"
done
