#!/bin/sh
# Print a manifest of the tree under DIR: one line per entry, sorted, that is
# the same whether made on the host (GNU coreutils/findutils, bash or dash) or
# in the guest (busybox 1.35 applets, ash) for the same tree.
#
#   manifest.sh DIR
#
# Line format, tab-separated (path first, so a byte-wise sort is a path sort):
#   path type mode uid gid nlink size mtime data hardlink
# path      relative to DIR, no leading "./"; DIR itself and a top-level
#           lost+found (with its contents) are left out
# type      f regular, d directory, l symlink, c char device, b block device,
#           p fifo, s socket
# mode      permission bits incl. setuid/setgid/sticky, 4 octal digits
# uid gid   numeric
# nlink     link count (directories too: 2 + subdirectories on ext4)
# size      bytes for regular files and symlinks, "-" otherwise (a
#           directory's size depends on the filesystem that holds it)
# mtime     SECONDS.NANOSECONDS (seconds may be negative: before 1970)
# data      sha256 of the content (f), target (l), MAJOR,MINOR (c, b), "-";
#           for regular files over 1 GiB (sparse ones, in practice) the
#           sha256 of their last MiB, as "tail1M:SHA256": hashing GiBs of
#           holes costs minutes under TCG, and their layout is compared by
#           SEEK_DATA/SEEK_HOLE and FIEMAP instead
# hardlink  for non-directories with nlink > 1: the first path (sorted) among
#           the names of that inode in the tree, "-" otherwise. Inode numbers
#           themselves differ between filesystems and are not printed.
# Not compared: atime and ctime (ctime cannot be set), directory sizes, block
# counts (holes vs. written zeros), xattrs, flags.
#
# Requirements on names: no newline, tab or backslash (GNU sha256sum escapes
# names with a backslash, busybox does not); the script stops with an error
# on such a name rather than print something wrong.
#
# Busybox notes (1.35): `stat -c` has %f %u %g %h %s %t %T %i %Y %y %n like
# GNU stat, but no %W/%.9Y-style precision, so the nanoseconds are taken from
# %y ("YYYY-MM-DD hh:mm:ss.NNNNNNNNN +zone"), which both tools print with
# nine digits. `stat -c` does not interpret "\t", so a literal tab is passed.
# `readlink` takes one file, so symlinks are read one by one.
set -eu
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: manifest.sh DIR" >&2
    exit 2
fi
export LC_ALL=C TZ=UTC0
tab=$(printf '\t')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$1"

find . -path ./lost+found -prune -o ! -path . \
    -exec stat -c "%n$tab%f$tab%u$tab%g$tab%h$tab%s$tab%t$tab%T$tab%i$tab%Y$tab%y" {} + \
    > "$tmp/stat"
sort "$tmp/stat" > "$tmp/stat.sorted"
find . -path ./lost+found -prune -o -type f -size -1048577k -exec sha256sum {} + > "$tmp/sum"
find . -path ./lost+found -prune -o -type f -size +1048576k -print > "$tmp/big"
while IFS= read -r p; do
    printf '%s  %s\n' "$(tail -c 1048576 "$p" | sha256sum | cut -c1-64)" "$p"
done < "$tmp/big" > "$tmp/bigsum"
find . -path ./lost+found -prune -o -type l -print > "$tmp/links"
while IFS= read -r p; do
    printf '%s\t%s\n' "$p" "$(readlink "$p")"
done < "$tmp/links" > "$tmp/targets"

awk -F "$tab" -v sums="$tmp/sum" -v bigsums="$tmp/bigsum" -v targets="$tmp/targets" '
function die(msg) { print "manifest.sh: " msg | "cat 1>&2"; bad = 1; exit 1 }
function hex(s,    i, n) {
    n = 0
    s = tolower(s)
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n
}
function rel(p) { return substr(p, 3) }   # strip "./"
BEGIN {
    while ((getline line < sums) > 0) {
        if (substr(line, 1, 1) == "\\") die("unsupported file name (backslash or newline): " line)
        sum[rel(substr(line, 67))] = substr(line, 1, 64)
    }
    while ((getline line < bigsums) > 0)
        sum[rel(substr(line, 67))] = "tail1M:" substr(line, 1, 64)
    while ((getline line < targets) > 0) {
        i = index(line, "\t")
        target[rel(substr(line, 1, i - 1))] = substr(line, i + 1)
    }
    types[8] = "f"; types[4] = "d"; types[10] = "l"; types[2] = "c"
    types[6] = "b"; types[1] = "p"; types[12] = "s"
}
{
    if (NF != 11 || substr($1, 1, 2) != "./") die("unsupported file name (tab or newline): " $0)
    path = rel($1)
    if (index(path, "\\")) die("unsupported file name (backslash): " path)
    mode = hex($2)
    t = types[int(mode / 4096)]
    if (t == "") die("unknown file type " $2 ": " path)
    size = "-"; data = "-"; group = "-"
    if (t == "f") {
        size = $6
        if (!(path in sum)) die("no checksum for " path)
        data = sum[path]
    } else if (t == "l") {
        size = $6
        data = target[path]
    } else if (t == "c" || t == "b") {
        data = hex($7) "," hex($8)
    }
    if (t != "d" && $5 + 0 > 1) {
        if (!($9 in first)) first[$9] = path
        group = first[$9]
    }
    ns = $11
    sub(/^[^.]*\./, "", ns)
    sub(/ .*$/, "", ns)
    if (ns !~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/) die("cannot read nanoseconds from \"" $11 "\": " path)
    printf "%s\t%s\t%04o\t%s\t%s\t%s\t%s\t%s.%s\t%s\t%s\n", path, t, mode % 4096, $3, $4, $5, size, $10, ns, data, group
}
END { if (bad) exit 1 }
' "$tmp/stat.sorted"
