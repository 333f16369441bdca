// SPDX-License-Identifier: GPL-2.0
/*
 * rext4probe: guest-side checks of the read path that a manifest of the tree
 * cannot make. Built static by qemu/guesttools.sh and put on the guest's PATH
 * by qemu/vm.sh; used by qemu/scenarios/read-tree.sh, which compares the
 * output on a rext4 mount with the in-kernel ext4's on the same image.
 *
 *   rext4probe mmapcat FILE   mmap FILE read-only (MAP_SHARED, whole file,
 *                             MADV_SEQUENTIAL) and write its bytes to stdout
 *   rext4probe mmapsum FILE...
 *                             the same mapping of each FILE, hashed instead
 *                             of written: "SHA256  FILE" a line, as
 *                             sha256sum prints it (one process for a whole
 *                             tree: a fork and exec cost ~7 ms under TCG)
 *   rext4probe seekmap [-l] FILE...
 *                             the data/hole layout by lseek SEEK_DATA and
 *                             SEEK_HOLE from 0 to EOF, one extent a line:
 *                               data START END | hole START END
 *                             (END exclusive), then the answers at EOF:
 *                               eof SEEK_DATA=ERRNO SEEK_HOLE=ERRNO
 *                             (lseek(2): ENXIO for both), and last:
 *                               size N
 *                             -l: each file's lines follow "file FILE"
 *   rext4probe statx PATH...  statx(2) of each path (not following links),
 *                             one line each: inode, mode, links, owner, size,
 *                             blocks, atime/mtime/ctime/btime, attributes
 *   rext4probe fiemap FILE... FS_IOC_FIEMAP of each file: "file PATH", then
 *                             "LOGICAL PHYSICAL LENGTH FLAGS" per extent
 *   rext4probe statfs DIR     statfs(2) on one line: type bsize blocks bfree
 *                             bavail files ffree namelen fsid (both words)
 *   rext4probe readdir DIR    every entry (incl. "." and "..") by a
 *                             getdents64 loop, "INO D_TYPE NAME" a line,
 *                             then a telldir/seekdir resumption test: read
 *                             K entries with readdir(3), telldir, closedir,
 *                             open again, seekdir, read the rest; the K
 *                             entries plus the rest must be the same set of
 *                             entries as the full read (same ino, type and
 *                             name, each once), for K = half the entries
 *                             (and 1 and all but one). Prints "resume ok".
 *   rext4probe dirents DIR... every entry of each DIR by getdents64, one
 *                             line each, "DIR<TAB>INO D_TYPE NAME" (sort
 *                             the output to compare: the order is the
 *                             filesystem's hash order)
 *   rext4probe utimens PATH ASEC ANSEC MSEC MNSEC
 *                             utimensat(2) of PATH (not following a
 *                             symlink): atime and mtime to the nanosecond
 *   rext4probe try OP ARG...  one namespace operation, its outcome on
 *                             stdout: "ok" (exit 0) or the errno name, e.g.
 *                             "EEXIST" (exit 1); for the write-path
 *                             scenarios, which need the exact errno. OPs:
 *                               create PATH (O_CREAT|O_EXCL, mode 0644),
 *                               mkdir PATH, rmdir PATH, unlink PATH,
 *                               link OLD NEW, symlink TARGET PATH,
 *                               mkfifo PATH, mkchr PATH MAJOR MINOR,
 *                               mkblk PATH MAJOR MINOR, mksock PATH
 *                               (mknod S_IFSOCK: the test kernel has no
 *                               AF_UNIX to bind one)
 *
 * Exit status: 0 on success, 1 when a check fails or a system call fails
 * (the message on stderr names the call, the path and the errno name; with
 * several FILEs the others are still done, and seekmap prints "error CALL
 * ERRNO" in place of the failed file's layout), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *prog = "rext4probe";

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

/* "rext4probe: CALL PATH: ENAME (message)" and exit 1. */
static void __attribute__((noreturn)) die_errno(const char *call, const char *path)
{
	int e = errno;

	fprintf(stderr, "%s: %s %s: %s (%s)\n", prog, call, path, errname(e), strerror(e));
	exit(1);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		die_errno("write", "<stdout>");
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die_errno("write", "<stdout>");
		}
		p += w;
		n -= (size_t)w;
	}
}

/* "rext4probe: CALL PATH: ENAME (message)"; returns the errno name. */
static const char *warn_errno(const char *call, const char *path)
{
	int e = errno;

	fprintf(stderr, "%s: %s %s: %s (%s)\n", prog, call, path, errname(e), strerror(e));
	return errname(e);
}

/* Opens a regular file; -1 with errno set, after a message, on failure. */
static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0) {
		e = errno;
		warn_errno("open", path);
		errno = e;
		return -1;
	}
	if (fstat(fd, st) < 0) {
		e = errno;
		warn_errno("fstat", path);
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size > SIZE_MAX) {
		fprintf(stderr, "%s: %s: %s (mode %o, %jd bytes)\n", prog, path,
			S_ISREG(st->st_mode) ? "too large to map" : "not a regular file",
			(unsigned)st->st_mode, (intmax_t)st->st_size);
		close(fd);
		errno = S_ISREG(st->st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	return fd;
}

/*
 * Maps the whole file read-only and shared, with MADV_SEQUENTIAL: *map is
 * NULL for an empty file. Returns 0, or -1 after a message.
 */
static int map_file(const char *path, const char **map, size_t *len)
{
	struct stat st;
	int fd = open_regular(path, &st);
	void *m;

	if (fd < 0)
		return -1;
	*map = NULL;
	*len = (size_t)st.st_size;
	if (*len == 0) {
		close(fd);
		return 0;
	}
	m = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		warn_errno("mmap", path);
		close(fd);
		return -1;
	}
	close(fd);
	if (madvise(m, *len, MADV_SEQUENTIAL) < 0) {
		warn_errno("madvise", path);
		munmap(m, *len);
		return -1;
	}
	*map = m;
	return 0;
}

static void unmap_file(const char *path, const char *map, size_t len)
{
	if (map && munmap((void *)map, len) < 0)
		die_errno("munmap", path);
}

static int cmd_mmapcat(const char *path)
{
	const char *map;
	size_t len;

	if (map_file(path, &map, &len) < 0)
		return 1;
	/* Write in 1 MiB pieces: each write faults in what it copies. */
	for (size_t off = 0; off < len; off += 1 << 20) {
		size_t n = len - off < (1u << 20) ? len - off : 1u << 20;

		write_all(STDOUT_FILENO, map + off, n);
	}
	unmap_file(path, map, len);
	return 0;
}

/* SHA-256 (FIPS 180-4). */
struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	uint64_t len;
	size_t fill;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct sha256 *c, const uint8_t *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 7] + (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
	e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha256_k[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));

		h = g, g = f, f = e, e = d + t1, d = cc, cc = b, b = a, a = t1 + t2;
	}
	c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
	c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

static void sha256_init(struct sha256 *c)
{
	static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(c->h, h0, sizeof(h0));
	c->len = 0;
	c->fill = 0;
}

static void sha256_update(struct sha256 *c, const uint8_t *p, size_t n)
{
	c->len += n;
	if (c->fill) {
		size_t k = 64 - c->fill < n ? 64 - c->fill : n;

		memcpy(c->buf + c->fill, p, k);
		c->fill += k, p += k, n -= k;
		if (c->fill < 64)
			return;
		sha256_block(c, c->buf);
		c->fill = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sha256_block(c, p);
	memcpy(c->buf, p, n);
	c->fill = n;
}

static void sha256_hex(struct sha256 *c, char out[65])
{
	uint64_t bits = c->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(c, pad, padlen + 8);
	for (int i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", c->h[i]);
}

static int cmd_mmapsum(int n, char **paths)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		const char *map;
		size_t len;
		struct sha256 c;
		char hex[65];

		if (map_file(paths[i], &map, &len) < 0) {
			rc = 1;
			continue;
		}
		sha256_init(&c);
		if (len)
			sha256_update(&c, (const uint8_t *)map, len);
		sha256_hex(&c, hex);
		unmap_file(paths[i], map, len);
		printf("%s  %s\n", hex, paths[i]);
	}
	flush_stdout();
	return rc;
}

static const char *seek_result(int fd, off_t off, int whence)
{
	static char buf[2][32];
	static int i;
	off_t r = lseek(fd, off, whence);

	i ^= 1;
	if (r < 0)
		return errname(errno);
	snprintf(buf[i], sizeof(buf[i]), "%jd", (intmax_t)r);
	return buf[i];
}

/* One file's layout; returns 0, or 1 after "error ..." and a message. */
static int seekmap(const char *path)
{
	struct stat st;
	int fd = open_regular(path, &st);
	off_t size = st.st_size, off = 0;

	if (fd < 0) {
		printf("error open %s\n", errname(errno));
		return 1;
	}
	while (off < size) {
		off_t d = lseek(fd, off, SEEK_DATA), h;

		if (d < 0) {
			if (errno != ENXIO) {
				printf("error lseek-SEEK_DATA %s\n", warn_errno("lseek SEEK_DATA", path));
				close(fd);
				return 1;
			}
			/* No data at or after off: a hole up to EOF. */
			printf("hole %jd %jd\n", (intmax_t)off, (intmax_t)size);
			break;
		}
		if (d < off || d >= size) {
			fprintf(stderr, "%s: %s: lseek(%jd, SEEK_DATA) = %jd, outside [%jd, %jd)\n",
				prog, path, (intmax_t)off, (intmax_t)d, (intmax_t)off, (intmax_t)size);
			printf("error SEEK_DATA %jd -> %jd\n", (intmax_t)off, (intmax_t)d);
			close(fd);
			return 1;
		}
		if (d > off)
			printf("hole %jd %jd\n", (intmax_t)off, (intmax_t)d);
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0) {
			printf("error lseek-SEEK_HOLE %s\n", warn_errno("lseek SEEK_HOLE", path));
			close(fd);
			return 1;
		}
		if (h <= d || h > size) {
			fprintf(stderr, "%s: %s: lseek(%jd, SEEK_HOLE) = %jd, outside (%jd, %jd]\n",
				prog, path, (intmax_t)d, (intmax_t)h, (intmax_t)d, (intmax_t)size);
			printf("error SEEK_HOLE %jd -> %jd\n", (intmax_t)d, (intmax_t)h);
			close(fd);
			return 1;
		}
		printf("data %jd %jd\n", (intmax_t)d, (intmax_t)h);
		off = h;
	}
	printf("eof SEEK_DATA=%s", seek_result(fd, size, SEEK_DATA));
	printf(" SEEK_HOLE=%s\n", seek_result(fd, size, SEEK_HOLE));
	printf("size %jd\n", (intmax_t)size);
	close(fd);
	return 0;
}

static int cmd_seekmap(int n, char **paths, int label)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		if (label)
			printf("file %s\n", paths[i]);
		rc |= seekmap(paths[i]);
	}
	flush_stdout();
	return rc;
}

static int cmd_statfs(const char *path)
{
	struct statfs s;
	unsigned int fsid[2];

	if (statfs(path, &s) < 0)
		die_errno("statfs", path);
	memcpy(fsid, &s.f_fsid, sizeof(fsid));
	printf("type=0x%jx bsize=%jd blocks=%ju bfree=%ju bavail=%ju files=%ju ffree=%ju "
	       "namelen=%jd fsid=0x%08x:0x%08x\n",
	       (uintmax_t)s.f_type, (intmax_t)s.f_bsize, (uintmax_t)s.f_blocks,
	       (uintmax_t)s.f_bfree, (uintmax_t)s.f_bavail, (uintmax_t)s.f_files,
	       (uintmax_t)s.f_ffree, (intmax_t)s.f_namelen, fsid[0], fsid[1]);
	flush_stdout();
	return 0;
}

struct entry {
	uint64_t ino;
	unsigned char type;
	char *name;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static void add_entry(struct entries *es, uint64_t ino, unsigned char type, const char *name)
{
	if (es->n == es->cap) {
		es->cap = es->cap ? 2 * es->cap : 256;
		es->v = realloc(es->v, es->cap * sizeof(*es->v));
		if (!es->v)
			die("out of memory");
	}
	es->v[es->n].ino = ino;
	es->v[es->n].type = type;
	es->v[es->n].name = strdup(name);
	if (!es->v[es->n].name)
		die("out of memory");
	es->n++;
}

static void free_entries(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++)
		free(es->v[i].name);
	free(es->v);
	es->v = NULL;
	es->n = es->cap = 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return (int)x->type - (int)y->type;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * The full listing by raw getdents64 with a small buffer (several calls per
 * directory block, so the kernel resumes from f_pos many times).
 */
static void getdents_all(const char *path, struct entries *es, unsigned *calls)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[1024] __attribute__((aligned(8)));

	if (fd < 0)
		die_errno("open", path);
	*calls = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (n < 0)
			die_errno("getdents64", path);
		++*calls;
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);

			if (d->d_reclen == 0 || off + d->d_reclen > n)
				die("%s: getdents64 returned a bad record length %u at %ld of %ld",
				    path, d->d_reclen, off, n);
			add_entry(es, d->d_ino, d->d_type, d->d_name);
			off += d->d_reclen;
		}
		if (*calls > 10000000)
			die("%s: getdents64 does not reach the end", path);
	}
	close(fd);
}

static DIR *open_dir(const char *path)
{
	DIR *d = opendir(path);

	if (!d)
		die_errno("opendir", path);
	return d;
}

/* Appends up to max entries (all if max == SIZE_MAX) read by readdir(3). */
static void readdir_some(DIR *d, const char *path, struct entries *es, size_t max)
{
	size_t got = 0;

	while (got < max) {
		struct dirent *e;

		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				die_errno("readdir", path);
			break;
		}
		add_entry(es, e->d_ino, e->d_type, e->d_name);
		got++;
	}
}

/* The resumption test at k entries; returns 0 when the union matches. */
static int resume_at(const char *path, const struct entries *full_sorted, size_t k)
{
	struct entries got = { 0 };
	DIR *d = open_dir(path);
	long pos;
	size_t first;
	int bad = 0;

	readdir_some(d, path, &got, k);
	first = got.n;
	if (first != k)
		die("%s: readdir returned %zu entries before the end, the full read %zu",
		    path, first, full_sorted->n);
	errno = 0;
	pos = telldir(d);
	if (pos == -1 && errno)
		die_errno("telldir", path);
	if (closedir(d) < 0)
		die_errno("closedir", path);
	d = open_dir(path);
	seekdir(d, pos);
	readdir_some(d, path, &got, SIZE_MAX);
	if (closedir(d) < 0)
		die_errno("closedir", path);

	qsort(got.v, got.n, sizeof(*got.v), entry_cmp);
	if (got.n != full_sorted->n) {
		fprintf(stderr, "%s: resume after %zu entries (telldir %ld): %zu + %zu entries, the full read has %zu\n",
			path, k, pos, first, got.n - first, full_sorted->n);
		bad = 1;
	}
	for (size_t i = 0, j = 0, shown = 0; (i < got.n || j < full_sorted->n) && shown < 10;) {
		int c = i == got.n ? 1 : j == full_sorted->n ? -1 :
			entry_cmp(&got.v[i], &full_sorted->v[j]);

		if (c == 0) {
			i++, j++;
			continue;
		}
		bad = 1;
		shown++;
		if (c < 0) {
			fprintf(stderr, "%s: resume after %zu: extra or duplicate entry: %" PRIu64 " %u %s\n",
				path, k, got.v[i].ino, got.v[i].type, got.v[i].name);
			i++;
		} else {
			fprintf(stderr, "%s: resume after %zu: missing entry: %" PRIu64 " %u %s\n",
				path, k, full_sorted->v[j].ino, full_sorted->v[j].type,
				full_sorted->v[j].name);
			j++;
		}
	}
	free_entries(&got);
	return bad;
}

static int cmd_readdir(const char *path)
{
	struct entries full = { 0 };
	unsigned calls;
	size_t ks[3];
	int bad = 0;

	getdents_all(path, &full, &calls);
	for (size_t i = 0; i < full.n; i++)
		printf("%" PRIu64 " %u %s\n", full.v[i].ino, full.v[i].type, full.v[i].name);
	flush_stdout();

	qsort(full.v, full.n, sizeof(*full.v), entry_cmp);
	for (size_t i = 1; i < full.n; i++)
		if (entry_cmp(&full.v[i - 1], &full.v[i]) == 0)
			die("%s: getdents64 returned %" PRIu64 " %u %s twice", path,
			    full.v[i].ino, full.v[i].type, full.v[i].name);
	if (full.n < 2)
		die("%s: only %zu entries (no \".\" and \"..\"?)", path, full.n);

	ks[0] = full.n / 2;
	ks[1] = 1;
	ks[2] = full.n - 1;
	for (size_t i = 0; i < 3; i++)
		bad |= resume_at(path, &full, ks[i]);
	if (bad)
		die("%s: readdir resumption by telldir/seekdir lost or repeated entries", path);
	printf("resume ok (%zu entries, %u getdents64 calls; resumed after %zu, %zu, %zu)\n",
	       full.n, calls, ks[0], ks[1], ks[2]);
	free_entries(&full);
	flush_stdout();
	return 0;
}

/* The raw getdents64 entries of each directory, with their d_type. */
static int cmd_dirents(int n, char **paths)
{
	for (int i = 0; i < n; i++) {
		struct entries es = { 0 };
		unsigned calls;

		getdents_all(paths[i], &es, &calls);
		for (size_t j = 0; j < es.n; j++)
			printf("%s\t%" PRIu64 " %u %s\n", paths[i], es.v[j].ino, es.v[j].type,
			       es.v[j].name);
		free_entries(&es);
	}
	flush_stdout();
	return 0;
}

/*
 * statx of each path (not following symlinks): one line per path with every
 * field a filesystem decides: inode, type and mode, links, owner, size,
 * blocks, all four timestamps (btime "none" when not reported), the
 * attribute bits and their mask, the device number of device nodes.
 */
static int cmd_statx(int n, char **paths)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		struct statx x;

		if (statx(AT_FDCWD, paths[i], AT_SYMLINK_NOFOLLOW,
			  STATX_BASIC_STATS | STATX_BTIME, &x) < 0) {
			printf("%s	error %s\n", paths[i], warn_errno("statx", paths[i]));
			rc = 1;
			continue;
		}
		printf("%s	ino=%llu mode=0%o nlink=%u uid=%u gid=%u size=%llu blocks=%llu"
		       " atime=%lld.%09u mtime=%lld.%09u ctime=%lld.%09u",
		       paths[i], (unsigned long long)x.stx_ino, x.stx_mode, x.stx_nlink,
		       x.stx_uid, x.stx_gid, (unsigned long long)x.stx_size,
		       (unsigned long long)x.stx_blocks,
		       (long long)x.stx_atime.tv_sec, x.stx_atime.tv_nsec,
		       (long long)x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec,
		       (long long)x.stx_ctime.tv_sec, x.stx_ctime.tv_nsec);
		if (x.stx_mask & STATX_BTIME)
			printf(" btime=%lld.%09u", (long long)x.stx_btime.tv_sec,
			       x.stx_btime.tv_nsec);
		else
			printf(" btime=none");
		printf(" attrs=%#llx/%#llx rdev=%u,%u\n",
		       (unsigned long long)x.stx_attributes,
		       (unsigned long long)x.stx_attributes_mask,
		       x.stx_rdev_major, x.stx_rdev_minor);
	}
	flush_stdout();
	return rc;
}

/*
 * FS_IOC_FIEMAP of each file, whole range, 32 extents per call: "file PATH"
 * then one line per extent "LOGICAL PHYSICAL LENGTH FLAGS" (hex flags), or
 * "error ERRNO".
 */
static int cmd_fiemap(int n, char **paths)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		enum { N = 32 };
		char buf[sizeof(struct fiemap) + N * sizeof(struct fiemap_extent)];
		struct fiemap *fm = (struct fiemap *)buf;
		__u64 start = 0;
		int fd = open(paths[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK); /* FIFOs too */

		printf("file %s\n", paths[i]);
		if (fd < 0) {
			printf("error %s\n", warn_errno("open", paths[i]));
			rc = 1;
			continue;
		}
		for (;;) {
			memset(buf, 0, sizeof(buf));
			fm->fm_start = start;
			fm->fm_length = FIEMAP_MAX_OFFSET - start;
			fm->fm_extent_count = N;
			if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
				printf("error %s\n", warn_errno("FS_IOC_FIEMAP", paths[i]));
				rc = 1;
				break;
			}
			for (unsigned int k = 0; k < fm->fm_mapped_extents; k++) {
				struct fiemap_extent *e = &fm->fm_extents[k];

				printf("%llu %llu %llu %#x\n", (unsigned long long)e->fe_logical,
				       (unsigned long long)e->fe_physical,
				       (unsigned long long)e->fe_length, e->fe_flags);
				start = e->fe_logical + e->fe_length;
			}
			if (fm->fm_mapped_extents < N ||
			    (fm->fm_extents[N - 1].fe_flags & FIEMAP_EXTENT_LAST))
				break;
		}
		close(fd);
	}
	flush_stdout();
	return rc;
}

static int cmd_utimens(char **a)
{
	struct timespec ts[2] = {
		{ .tv_sec = strtoll(a[1], NULL, 10), .tv_nsec = strtol(a[2], NULL, 10) },
		{ .tv_sec = strtoll(a[3], NULL, 10), .tv_nsec = strtol(a[4], NULL, 10) },
	};

	if (utimensat(AT_FDCWD, a[0], ts, AT_SYMLINK_NOFOLLOW)) {
		fprintf(stderr, "utimensat %s: %s\n", a[0], strerror(errno));
		return 1;
	}
	return 0;
}

static int cmd_try(int n, char **a)
{
	const char *op = a[0];
	int r;

	if (!strcmp(op, "create") && n == 2) {
		r = open(a[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (r >= 0)
			r = close(r);
	} else if (!strcmp(op, "mkdir") && n == 2) {
		r = mkdir(a[1], 0755);
	} else if (!strcmp(op, "rmdir") && n == 2) {
		r = rmdir(a[1]);
	} else if (!strcmp(op, "unlink") && n == 2) {
		r = unlink(a[1]);
	} else if (!strcmp(op, "link") && n == 3) {
		r = link(a[1], a[2]);
	} else if (!strcmp(op, "symlink") && n == 3) {
		r = symlink(a[1], a[2]);
	} else if (!strcmp(op, "mkfifo") && n == 2) {
		r = mknod(a[1], S_IFIFO | 0644, 0);
	} else if ((!strcmp(op, "mkchr") || !strcmp(op, "mkblk")) && n == 4) {
		r = mknod(a[1], (op[2] == 'c' ? S_IFCHR : S_IFBLK) | 0644,
			  makedev(strtoul(a[2], NULL, 0), strtoul(a[3], NULL, 0)));
	} else if (!strcmp(op, "mksock") && n == 2) {
		r = mknod(a[1], S_IFSOCK | 0644, 0);
	} else {
		fprintf(stderr, "%s: try: unknown operation or argument count: %s\n", prog, op);
		return 2;
	}
	printf("%s\n", r < 0 ? errname(errno) : "ok");
	flush_stdout();
	return r < 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s mmapcat FILE | mmapsum FILE... | utimens PATH ASEC ANSEC MSEC MNSEC | seekmap [-l] FILE... | statx PATH... | fiemap FILE... |\n"
		"       statfs DIR | readdir DIR | dirents DIR... | try OP ARG...\n", prog);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "mmapsum"))
		return cmd_mmapsum(argc - 2, argv + 2);
	if (!strcmp(argv[1], "seekmap")) {
		int label = !strcmp(argv[2], "-l");

		if (argc - 2 - label < 1)
			return usage();
		return cmd_seekmap(argc - 2 - label, argv + 2 + label, label);
	}
	if (!strcmp(argv[1], "statx"))
		return cmd_statx(argc - 2, argv + 2);
	if (!strcmp(argv[1], "fiemap"))
		return cmd_fiemap(argc - 2, argv + 2);
	if (!strcmp(argv[1], "dirents"))
		return cmd_dirents(argc - 2, argv + 2);
	if (!strcmp(argv[1], "utimens"))
		return argc == 7 ? cmd_utimens(argv + 2) : usage();
	if (!strcmp(argv[1], "try"))
		return cmd_try(argc - 2, argv + 2);
	if (argc != 3)
		return usage();
	if (!strcmp(argv[1], "mmapcat"))
		return cmd_mmapcat(argv[2]);
	if (!strcmp(argv[1], "statfs"))
		return cmd_statfs(argv[2]);
	if (!strcmp(argv[1], "readdir"))
		return cmd_readdir(argv[2]);
	return usage();
}
