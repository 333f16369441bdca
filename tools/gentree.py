#!/usr/bin/env python3
"""Generate a varied file tree for rext4's read-path tests.

    tools/gentree.py OUTDIR [--seed N] [--scale small|full]

Deterministic for a given seed and scale: the same arguments give the same
names, contents, modes, owners and timestamps (compare with tools/manifest.sh).
Must run as root (device nodes, chown). OUTDIR must not exist or be empty.
Python 3 standard library only.

What the tree holds (full scale; small scale has the same kinds, fewer of them):
  sizes/     files of boundary sizes: 0, 1, 59..61, 4095, 4096 (several), 4097,
             8192, 65536, 1 MiB +- 1, ...
  big/       three multi-MiB files (2, 5 and ~7.5 MiB)
  sparse/    holes at the start, middle and end, a file that is all hole,
             unaligned data, and files with 20, 100 and 600 separate 4 KiB data
             regions (one extent each: > 4 extents need an extent index block,
             600 need two leaf blocks)
  deep/      nested 10 levels deep
  htree/     1600 entries with 50-90 byte names (27 directory blocks; becomes
             an htree directory after `e2fsck -D`, see tools/mkreadimages.sh)
  bulk/      ~1100 files of random sizes in a random tree of ~100 directories
  links/     hard links: several names in one directory, names across
             directories (also in htree/ and deep/), a hard-linked fifo and
             device node
  symlinks/  fast (< 60 bytes, in the inode) and slow symlinks (60 .. 1023
             bytes: one block of the smallest block size holds the target,
             so the same tree fits 1, 2 and 4 KiB-block images), relative,
             absolute, dangling, to directories
  special/   char and block devices (old and new dev_t encodings), fifos, a
             unix socket
  names/     255-byte names (ASCII and multi-byte UTF-8), spaces, leading dash,
             leading dot, punctuation
  modes/     0000, 0777, setuid/setgid/sticky combinations, on files and dirs
Every entry gets an owner (uid/gid up to 4000000000) and atime/mtime with
nanoseconds between 1901-12-13 (-2^31) and 2099-12-31, directories last and
deepest first so that populating them does not change their times.

Names never contain '/', NUL, newline, tab, backslash or double quote
(tools/manifest.sh and the debugfs fix-ups in tools/mkreadimages.sh rely on it).
Symlinks are never hard-linked (mkfs.ext4 -d gives each name its own inode).
"""
import argparse
import os
import random
import socket
import stat
import sys

KIB = 1024
MIB = 1024 * 1024

# Owners: 16-bit values, the 16/32-bit boundary, large 32-bit values.
IDS = [0, 0, 0, 0, 1, 100, 1000, 1000, 65534, 65535, 65536, 100000, 123456789,
       4000000000, 4294967294]
FILE_MODES = [0o644] * 8 + [0o600, 0o755, 0o444, 0o640, 0o000, 0o777, 0o4755,
                            0o2755, 0o6755, 0o1644, 0o7777, 0o4000, 0o2070]
DIR_MODES = [0o755] * 8 + [0o700, 0o555, 0o1777, 0o2775, 0o750, 0o777, 0o000,
                           0o3755]
# Timestamps (seconds) worth hitting exactly: the ext4 32-bit boundaries,
# the epoch, pre-1970, 2038 and beyond.
SPECIAL_TIMES = [-2**31, -2**31 + 1, -1000000000, -1, 0, 1, 2**31 - 1, 2**31,
                 2**32 - 2**30, 3000000000, 4102444799]
T_MIN, T_MAX = -2**31, 4102444799


class Gen:
    def __init__(self, out, seed, full):
        self.out = out
        self.rng = random.Random(seed)
        self.full = full
        self.dirs = []        # relative paths of directories (not the root)
        self.inodes = []      # relative paths, one per non-directory inode
        self.symlinks = []    # relative paths of symlinks
        self.nfiles = 0

    # -- helpers -------------------------------------------------------------
    def p(self, rel):
        return os.path.join(self.out, rel)

    def mkdir(self, rel):
        os.mkdir(self.p(rel))
        self.dirs.append(rel)
        return rel

    def data(self, n):
        """n bytes of content: mostly random, sometimes text or a pattern."""
        k = self.rng.random()
        if n == 0:
            return b""
        if k < 0.7:
            return self.rng.randbytes(n)
        if k < 0.9:
            words = [b"ext4", b"rext4", b"extent", b"inode", b"block", b"htree",
                     b"journal", b"read", b"path", b"\n", b" "]
            chunks, size = [], 0
            while size < n:
                w = self.rng.choice(words)
                chunks.append(w)
                size += len(w)
            return b"".join(chunks)[:n]
        # a short pattern repeated (compressible, not all zero)
        pat = self.rng.randbytes(self.rng.randint(1, 64))
        return (pat * (n // len(pat) + 1))[:n]

    def file(self, rel, size=None, content=None):
        if content is None:
            content = self.data(size)
        with open(self.p(rel), "wb") as f:
            f.write(content)
        self.inodes.append(rel)
        self.nfiles += 1
        return rel

    def sparse(self, rel, size, regions):
        """A file of SIZE bytes with data only at REGIONS [(offset, length)]."""
        with open(self.p(rel), "wb") as f:
            for off, length in regions:
                f.seek(off)
                f.write(self.rng.randbytes(length))
            f.truncate(size)
        self.inodes.append(rel)
        self.nfiles += 1

    def symlink(self, rel, target):
        os.symlink(target, self.p(rel))
        self.inodes.append(rel)
        self.symlinks.append(rel)

    def link(self, existing, rel):
        os.link(self.p(existing), self.p(rel), follow_symlinks=False)

    def rand_size(self):
        """Sizes for bulk files: many small, some around block boundaries."""
        k = self.rng.random()
        if k < 0.08:
            return 0
        if k < 0.30:
            return self.rng.randint(1, 200)
        if k < 0.40:
            return 4096 * self.rng.randint(1, 4) + self.rng.choice([-1, 0, 0, 1])
        if k < 0.85:
            return self.rng.randint(201, 16 * KIB)
        if k < 0.98:
            return self.rng.randint(16 * KIB, 64 * KIB)
        return self.rng.randint(64 * KIB, 256 * KIB)

    def rand_name(self, lo, hi):
        alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+"
        n = self.rng.randint(lo, hi)
        s = "".join(self.rng.choice(alpha) for _ in range(n))
        return "x" + s[1:] if s[0] in "-." else s

    def rand_time_ns(self):
        k = self.rng.random()
        if k < 0.15:
            sec = self.rng.choice(SPECIAL_TIMES)
        elif k < 0.6:
            sec = self.rng.randint(946684800, 1767225600)     # 2000 .. 2026
        else:
            sec = self.rng.randint(T_MIN, T_MAX)
        ns = 0 if self.rng.random() < 0.1 else self.rng.randint(0, 999999999)
        if self.rng.random() < 0.05:
            ns = 999999999
        return sec * 10**9 + ns

    # -- sections --------------------------------------------------------------
    def sizes(self):
        d = self.mkdir("sizes")
        for n in [0, 1, 2, 3, 59, 60, 61, 100, 255, 256, 511, 512, 513, 1023,
                  1024, 1025, 2048, 4095, 4096, 4097, 8191, 8192, 8193, 12288,
                  16384, 65535, 65536, 65537, 131072, MIB - 1, MIB, MIB + 1]:
            self.file(f"{d}/size-{n}", n)
        for i in range(6 if self.full else 2):
            self.file(f"{d}/page-{i}", 4096)
        for i in range(8 if self.full else 2):
            self.file(f"{d}/empty-{i}", 0)
            self.file(f"{d}/tiny-{i}", self.rng.randint(1, 16))
        self.file(f"{d}/zeros-64k", content=bytes(65536))
        self.file(f"{d}/zeros-then-data", content=bytes(12288) + b"tail")

    def big(self):
        d = self.mkdir("big")
        sizes = [2 * MIB, 5 * MIB + 1234, 7 * MIB + 512 * KIB - 1] if self.full else [2 * MIB]
        for i, n in enumerate(sizes):
            self.file(f"{d}/big-{i}", content=self.rng.randbytes(n))

    def sparse_files(self):
        d = self.mkdir("sparse")
        self.sparse(f"{d}/hole-start", 1 * MIB, [(1 * MIB - 8192, 8192)])
        self.sparse(f"{d}/hole-middle", 1 * MIB, [(0, 65536), (1 * MIB - 65536, 65536)])
        self.sparse(f"{d}/hole-end", 2 * MIB, [(0, 100000)])
        self.sparse(f"{d}/hole-all", 3 * MIB, [])
        self.sparse(f"{d}/unaligned", 300000,
                    [(1, 10), (5000, 3000), (70001, 9999), (299990, 10)])
        self.sparse(f"{d}/hole-start-unaligned-end", 200001, [(131072, 69929)])
        counts = [5, 20, 100, 600] if self.full else [5, 20, 100]
        for n in counts:
            # n regions of 4 KiB, each followed by a 4 KiB hole (the last one
            # too: the size ends in a hole)
            self.sparse(f"{d}/extents-{n}", n * 8192,
                        [(i * 8192, 4096) for i in range(n)])
        # regions of varied length and gap
        regions, off = [], 0
        for _ in range(40):
            off += self.rng.randint(1, 16) * 4096
            length = self.rng.randint(1, 12) * 4096
            regions.append((off, length))
            off += length
        self.sparse(f"{d}/extents-varied", off + 4096 * 3, regions)

    def deep(self):
        path = self.mkdir("deep")
        depth = 10 if self.full else 7
        for level in range(1, depth + 1):
            path = self.mkdir(f"{path}/level-{level}")
            for j in range(3 if self.full else 1):
                self.file(f"{path}/f{j}", self.rand_size())
            if level % 3 == 0:
                self.mkdir(f"{path}/side-{level}")
                self.file(f"{path}/side-{level}/s", self.rand_size())
        self.file(f"{path}/bottom", content=b"the bottom\n")
        self.deepest = path

    def htree(self):
        d = self.mkdir("htree")
        n = 1600 if self.full else 200
        seen = set()
        while len(seen) < n:
            seen.add(self.rand_name(50, 90))
        for i, name in enumerate(sorted(seen)):
            k = self.rng.random()
            if k < 0.02:
                self.mkdir(f"{d}/{name}")
            else:
                self.file(f"{d}/{name}", 0 if k < 0.6 else self.rng.randint(1, 300))
        self.htree_names = sorted(seen)

    def bulk(self):
        root = self.mkdir("bulk")
        dirs = [root]
        ndirs = 100 if self.full else 12
        for i in range(ndirs):
            parent = self.rng.choice(dirs)
            dirs.append(self.mkdir(f"{parent}/d{i:03d}-{self.rand_name(1, 12)}"))
        nfiles = 1100 if self.full else 120
        for i in range(nfiles):
            parent = self.rng.choice(dirs)
            self.file(f"{parent}/f{i:04d}-{self.rand_name(1, 20)}", self.rand_size())

    def links(self):
        d = self.mkdir("links")
        a = self.file(f"{d}/three-names", 5000)
        self.link(a, f"{d}/three-names.2")
        self.link(a, f"{d}/three-names.3")
        b = self.file(f"{d}/across-dirs", 12345)
        self.link(b, f"{self.deepest}/across-dirs")
        self.link(b, f"htree/{self.htree_names[0][:40]}-hardlink")
        self.link(b, f"sizes/across-dirs")
        self.link(b, f"{d}/across-dirs.2")
        c = self.file(f"{d}/empty-linked", 0)
        self.link(c, f"{d}/empty-linked.2")
        self.mkdir(f"{d}/sub")
        e = self.file(f"{d}/sub/big-linked", 300000)
        self.link(e, f"{d}/big-linked")
        os.mkfifo(self.p(f"{d}/fifo"))
        self.inodes.append(f"{d}/fifo")
        self.link(f"{d}/fifo", f"{d}/fifo.2")
        os.mknod(self.p(f"{d}/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        self.inodes.append(f"{d}/null")
        self.link(f"{d}/null", f"{d}/sub/null.2")
        if self.full:
            for i in range(20):
                f = self.file(f"{d}/many-{i:02d}", self.rand_size())
                for j in range(self.rng.randint(1, 4)):
                    self.link(f, f"{d}/many-{i:02d}.link{j}")

    def symlinks_(self):
        d = self.mkdir("symlinks")
        self.symlink(f"{d}/short", "../sizes/size-4096")
        self.symlink(f"{d}/one", "x")
        self.symlink(f"{d}/dot", ".")
        self.symlink(f"{d}/absolute", "/etc/hostname")
        self.symlink(f"{d}/dangling", "does/not/exist")
        self.symlink(f"{d}/to-dir", "../deep")
        self.symlink(f"{d}/loop-a", "loop-b")
        self.symlink(f"{d}/loop-b", "loop-a")
        self.symlink(f"{d}/with space", "target with spaces")
        self.symlink(f"{d}/utf8", "cible-é-目标")
        # around the 60-byte limit of a target stored in the inode
        for n in [58, 59, 60, 61, 62]:
            self.symlink(f"{d}/len-{n}", ("a/" * n)[:n - 1] + "z")
        for n in [100, 255, 500, 1000, 1022, 1023]:
            parts, size = [], 0
            while size < n:
                parts.append(self.rand_name(1, 30))
                size += len(parts[-1]) + 1
            self.symlink(f"{d}/long-{n}", "/".join(parts)[:n])
        self.symlink(f"{d}/to-long-name", "../names/" + "L" * 255)

    def special(self):
        d = self.mkdir("special")
        devs = [("c", 1, 3), ("c", 4, 64), ("c", 0, 0), ("c", 255, 255),
                ("c", 256, 0), ("c", 0, 256), ("c", 4095, 1048575),
                ("b", 8, 0), ("b", 8, 17), ("b", 259, 65536), ("b", 1, 1)]
        for kind, ma, mi in devs:
            name = f"{d}/{kind}dev-{ma}-{mi}"
            fmt = stat.S_IFCHR if kind == "c" else stat.S_IFBLK
            os.mknod(self.p(name), 0o600 | fmt, os.makedev(ma, mi))
            self.inodes.append(name)
        for i in range(3):
            os.mkfifo(self.p(f"{d}/fifo-{i}"))
            self.inodes.append(f"{d}/fifo-{i}")
        # unix socket: bind in place (the path limit of sun_path is 108 bytes)
        cwd = os.getcwd()
        os.chdir(self.p(d))
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind("socket")
            s.close()
        finally:
            os.chdir(cwd)
        self.inodes.append(f"{d}/socket")

    def names(self):
        d = self.mkdir("names")
        self.file(f"{d}/" + "L" * 255, 10)
        self.file(f"{d}/" + "é" * 127 + "e", 11)              # 255 bytes, 2-byte chars
        self.file(f"{d}/" + "日本語" * 28 + "ab", 12)           # 254 bytes, 3-byte chars
        self.file(f"{d}/" + "😀" * 63 + "abc", 13)              # 255 bytes, 4-byte chars
        self.mkdir(f"{d}/" + "D" * 255)
        self.file(f"{d}/" + "D" * 255 + "/" + "F" * 255, 14)
        for name in ["with space", " leading space", "trailing space ", "-rf",
                     "--", "-", ".hidden", "..dots", "...", "a.b.c",
                     "Ünïcödé ñame", "ελληνικά", "кириллица", "中文名字", "한국어",
                     "مرحبا", "emoji 🎉🎈", "!#$%&'()*+,;<=>?@[]^_`{|}~",
                     "UPPER", "upper", "MiXeD", "0", "00", "1e3", "'quoted'",
                     "a" * 100, "b" * 200]:
            self.file(f"{d}/{name}", self.rng.randint(0, 50))
        self.mkdir(f"{d}/dir with space")
        self.file(f"{d}/dir with space/-file with space", 7)
        self.mkdir(f"{d}/-dashdir")
        self.file(f"{d}/-dashdir/-", 1)

    def modes(self):
        d = self.mkdir("modes")
        self.fixed_modes = {}
        for m in [0o000, 0o777, 0o4755, 0o2755, 0o1755, 0o6755, 0o7777, 0o7000,
                  0o4000, 0o2000, 0o1000, 0o400, 0o200, 0o100, 0o644, 0o600]:
            f = self.file(f"{d}/file-{m:04o}", 3)
            self.fixed_modes[f] = m
        for m in [0o000, 0o777, 0o1777, 0o2775, 0o3755, 0o7777, 0o500, 0o311]:
            sub = self.mkdir(f"{d}/dir-{m:04o}")
            self.file(f"{sub}/inside", 5)
            self.fixed_modes[sub] = m

    # -- attributes ------------------------------------------------------------
    def attributes(self):
        """Owners, modes and times: files first, then directories deepest first."""
        fixed = getattr(self, "fixed_modes", {})
        done = set()
        for rel in self.inodes:
            path = self.p(rel)
            st = os.lstat(path)
            if st.st_ino in done:
                continue
            done.add(st.st_ino)
            os.lchown(path, self.rng.choice(IDS), self.rng.choice(IDS))
            if not stat.S_ISLNK(st.st_mode):
                os.chmod(path, fixed.get(rel, self.rng.choice(FILE_MODES)))
            os.utime(path, ns=(self.rand_time_ns(), self.rand_time_ns()),
                     follow_symlinks=False)
        for rel in sorted(self.dirs, key=lambda r: (-r.count("/"), r)) + [""]:
            path = self.p(rel) if rel else self.out
            if rel:
                os.chown(path, self.rng.choice(IDS), self.rng.choice(IDS))
                os.chmod(path, fixed.get(rel, self.rng.choice(DIR_MODES)))
            os.utime(path, ns=(self.rand_time_ns(), self.rand_time_ns()))

    def run(self):
        self.sizes()
        self.big()
        self.sparse_files()
        self.deep()
        self.htree()
        self.bulk()
        self.links()
        self.symlinks_()
        self.special()
        self.names()
        self.modes()
        self.attributes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", choices=["small", "full"], default="full")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("gentree.py: must run as root (device nodes, chown)")
    os.makedirs(a.outdir, exist_ok=True)
    if os.listdir(a.outdir):
        sys.exit(f"gentree.py: {a.outdir} is not empty")
    os.umask(0)
    g = Gen(os.path.abspath(a.outdir), a.seed, a.scale == "full")
    g.run()
    total = 0
    count = 0
    for root, dirs, files in os.walk(g.out):
        for n in dirs + files:
            count += 1
            st = os.lstat(os.path.join(root, n))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    print(f"gentree: {count} entries, {g.nfiles} regular files created, "
          f"{total} bytes in regular files ({total / MIB:.1f} MiB)")


if __name__ == "__main__":
    main()
