// SPDX-License-Identifier: GPL-2.0
/*
 * benchtool: the timed steps of `make bench` (qemu/scenarios/bench-*.sh).
 * Built static by qemu/guesttools.sh, on the guest's PATH. Every timing is
 * CLOCK_MONOTONIC, printed as "<what> usec <microseconds> ..." lines.
 *
 *   benchtool walk DIR           `ls -lR`: every directory under DIR read
 *                                with readdir, every name lstat'ed; prints
 *                                "walk usec T entries N"
 *   benchtool readdir DIR        the same walk without lstat (directories
 *                                found by d_type): "readdir usec T entries N"
 *   benchtool lookup DIR         the names of DIR (one level) listed first,
 *                                then every cache dropped (drop_caches 3),
 *                                then only the lstat of each name timed:
 *                                "lookup usec T entries N"
 *   benchtool lookup DIR slab    the same, dropping only dentries and
 *                                inodes (drop_caches 2): the device's
 *                                buffers stay warm
 *   benchtool lookup DIR absent  as slab, but every name with a "~"
 *                                appended: lookups that find nothing (no
 *                                inode read), each must fail with ENOENT
 *   benchtool read FILE REPS     REPS times: the file's page cache dropped
 *                                (posix_fadvise DONTNEED, the device's
 *                                buffers stay), the whole file read in
 *                                1 MiB reads: "read usec T bytes B" each
 *   benchtool fiemap FILE REPS   REPS times: FIEMAP over the whole file,
 *                                64 extents per call: "fiemap usec T extents N"
 *   benchtool seek FILE REPS     REPS times: SEEK_DATA/SEEK_HOLE from 0 to
 *                                the end: "seek usec T segments N"
 *   benchtool unwritten FILE N   makes FILE (on the in-kernel ext4): N
 *                                one-block unwritten extents (fallocate of
 *                                block 2*i), holes between, size 2*N blocks
 *   benchtool seqwrite FILE MIB  FILE created (truncated) and written with
 *                                MIB MiB in 1 MiB writes, then fsync'ed:
 *                                "seqwrite usec T bytes B" (fsync included)
 *   benchtool randwrite FILE N EVERY
 *                                N 4 KiB writes at random 4 KiB-aligned
 *                                offsets inside the existing FILE (fixed
 *                                seed: the same offsets every run), fsync
 *                                after every EVERY writes and at the end:
 *                                "randwrite usec T writes N fsyncs F"
 *   benchtool files DIR N NDIRS  N files of 1 KiB spread over NDIRS new
 *                                subdirectories d0.. of DIR (NDIRS 1: all
 *                                in DIR/d0), three timed phases, each a
 *                                line: "create usec T files N" (made,
 *                                written, closed, then syncfs), "stat usec
 *                                T files N" (every cache dropped first,
 *                                then an lstat of each), "delete usec T
 *                                files N" (unlinked, then syncfs); the
 *                                subdirectories are removed afterwards
 *   benchtool fragwrite A B N BS files A and B (created) written a block
 *                                of BS bytes at a time, alternately, N
 *                                blocks each, then fsync'ed: an allocator
 *                                that places each file's next block after
 *                                its last finds it taken by the other, so
 *                                each file gets up to N extents. Block i
 *                                of a file holds its tag ('A' or 'B') and
 *                                i: "fragwrite usec T blocks N"
 *   benchtool fragcheck F TAG N BS
 *                                F holds exactly what fragwrite wrote for
 *                                tag TAG, N blocks: "fragcheck blocks N"
 *
 * Exit status: 0 on success, 1 with a message naming the call otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *call, const char *path)
{
	fprintf(stderr, "benchtool: %s %s: %s\n", call, path, strerror(errno));
	return 1;
}

static long long num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	if (*s == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "benchtool: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static long long usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Recursive walk of dir (an open descriptor); *n counts the entries. */
static int walk(int dfd, const char *path, int do_stat, long long *n)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	struct stat st;

	if (!d)
		return fail("fdopendir", path);
	for (;;) {
		int isdir;

		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				return fail("readdir", path);
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		(*n)++;
		if (do_stat) {
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
				return fail("lstat", e->d_name);
			isdir = S_ISDIR(st.st_mode);
		} else {
			isdir = e->d_type == DT_DIR;
		}
		if (isdir) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY);

			if (sub < 0)
				return fail("open", e->d_name);
			if (walk(sub, e->d_name, do_stat, n))
				return 1;
		}
	}
	closedir(d);
	return 0;
}

static int walk_cmd(const char *what, const char *path, int do_stat)
{
	long long n = 0, t0 = usec();
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return fail("open", path);
	if (walk(fd, path, do_stat, &n))
		return 1;
	printf("%s usec %lld entries %lld\n", what, usec() - t0, n);
	return 0;
}

static int drop_caches(const char *level)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd < 0 || write(fd, level, 1) != 1 || close(fd))
		return fail("write", "/proc/sys/vm/drop_caches");
	return 0;
}

static int lookup_cmd(const char *path, const char *level, int absent)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	long long t0;
	int dfd;

	if (!d)
		return fail("opendir", path);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				return fail("realloc", path);
		}
		names[n] = strdup(e->d_name);
		if (!names[n++])
			return fail("strdup", path);
	}
	closedir(d);
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return fail("open", path);
	if (drop_caches(level))
		return 1;
	t0 = usec();
	for (size_t i = 0; i < n; i++)
		if (absent) {
			char name[300];

			snprintf(name, sizeof(name), "%s~", names[i]);
			if (!fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) || errno != ENOENT)
				return fail("lstat (absent)", name);
		} else if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW)) {
			return fail("lstat", names[i]);
		}
	printf("lookup usec %lld entries %zu\n", usec() - t0, n);
	return 0;
}

static int read_cmd(const char *path, long long reps)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fail("open", path);
	for (long long r = 0; r < reps; r++) {
		long long bytes = 0, t0;
		ssize_t got;

		if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
			return fail("posix_fadvise", path);
		t0 = usec();
		while ((got = pread(fd, buf, sizeof(buf), bytes)) > 0)
			bytes += got;
		if (got < 0)
			return fail("pread", path);
		printf("read usec %lld bytes %lld\n", usec() - t0, bytes);
	}
	return close(fd) ? fail("close", path) : 0;
}

static int fiemap_cmd(const char *path, long long reps)
{
	enum { PER_CALL = 64 };
	static char buf[sizeof(struct fiemap) + PER_CALL * sizeof(struct fiemap_extent)];
	struct fiemap *fm = (struct fiemap *)buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fail("open", path);
	for (long long r = 0; r < reps; r++) {
		unsigned long long start = 0;
		long long n = 0, t0 = usec();
		int last = 0;

		while (!last) {
			memset(fm, 0, sizeof(*fm));
			fm->fm_start = start;
			fm->fm_length = FIEMAP_MAX_OFFSET - start;
			fm->fm_extent_count = PER_CALL;
			if (ioctl(fd, FS_IOC_FIEMAP, fm))
				return fail("FS_IOC_FIEMAP", path);
			if (fm->fm_mapped_extents == 0)
				break;
			for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
				struct fiemap_extent *fe = &fm->fm_extents[i];

				n++;
				start = fe->fe_logical + fe->fe_length;
				last |= !!(fe->fe_flags & FIEMAP_EXTENT_LAST);
			}
		}
		printf("fiemap usec %lld extents %lld\n", usec() - t0, n);
	}
	return close(fd) ? fail("close", path) : 0;
}

static int seek_cmd(const char *path, long long reps)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fail("open", path);
	for (long long r = 0; r < reps; r++) {
		long long n = 0, t0 = usec();
		off_t pos = 0;

		for (;;) {
			off_t data = lseek(fd, pos, SEEK_DATA);

			if (data < 0) {
				if (errno == ENXIO)
					break;
				return fail("SEEK_DATA", path);
			}
			pos = lseek(fd, data, SEEK_HOLE);
			if (pos < 0)
				return fail("SEEK_HOLE", path);
			n++;
		}
		printf("seek usec %lld segments %lld\n", usec() - t0, n);
	}
	return close(fd) ? fail("close", path) : 0;
}

static int unwritten_cmd(const char *path, long long n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("open", path);
	for (long long i = 0; i < n; i++)
		if (fallocate(fd, 0, 2 * i * 4096, 4096))
			return fail("fallocate", path);
	if (ftruncate(fd, 2 * n * 4096) || fsync(fd) || close(fd))
		return fail("ftruncate", path);
	return 0;
}

static int seqwrite_cmd(const char *path, long long mib)
{
	static char buf[1 << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	long long t0;

	if (fd < 0)
		return fail("open", path);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + i / 4096);
	t0 = usec();
	for (long long m = 0; m < mib; m++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return fail("write", path);
	if (fsync(fd))
		return fail("fsync", path);
	printf("seqwrite usec %lld bytes %lld\n", usec() - t0, mib << 20);
	return close(fd) ? fail("close", path) : 0;
}

static int randwrite_cmd(const char *path, long long n, long long every)
{
	static char buf[4096];
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	long long blocks, fsyncs = 0, t0;
	struct stat st;
	int fd = open(path, O_WRONLY);

	if (fd < 0 || fstat(fd, &st))
		return fail("open", path);
	blocks = st.st_size / 4096;
	if (blocks < 1) {
		fprintf(stderr, "benchtool: %s: smaller than one block\n", path);
		return 1;
	}
	t0 = usec();
	for (long long i = 0; i < n; i++) {
		/* xorshift64: the same offsets every run. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memset(buf, (int)(i & 0xff), sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), (off_t)(x % blocks) * 4096) != sizeof(buf))
			return fail("pwrite", path);
		if ((i + 1) % every == 0 || i + 1 == n) {
			if (fsync(fd))
				return fail("fsync", path);
			fsyncs++;
		}
	}
	printf("randwrite usec %lld writes %lld fsyncs %lld\n", usec() - t0, n, fsyncs);
	return close(fd) ? fail("close", path) : 0;
}

static int files_cmd(const char *dir, long long n, long long ndirs)
{
	static char buf[1024];
	char path[4096];
	struct stat st;
	long long t0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	if (dfd < 0)
		return fail("open", dir);
	memset(buf, 'f', sizeof(buf));
	for (long long d = 0; d < ndirs; d++) {
		snprintf(path, sizeof(path), "d%lld", d);
		if (mkdirat(dfd, path, 0755))
			return fail("mkdir", path);
	}
	if (syncfs(dfd))
		return fail("syncfs", dir);
	t0 = usec();
	for (long long i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "d%lld/file-%06lld", i % ndirs, i);
		fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return fail("create", path);
		if (write(fd, buf, sizeof(buf)) != sizeof(buf) || close(fd))
			return fail("write", path);
	}
	if (syncfs(dfd))
		return fail("syncfs", dir);
	printf("create usec %lld files %lld\n", usec() - t0, n);
	if (drop_caches("3"))
		return 1;
	t0 = usec();
	for (long long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "d%lld/file-%06lld", i % ndirs, i);
		if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) || st.st_size != sizeof(buf))
			return fail("lstat", path);
	}
	printf("stat usec %lld files %lld\n", usec() - t0, n);
	t0 = usec();
	for (long long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "d%lld/file-%06lld", i % ndirs, i);
		if (unlinkat(dfd, path, 0))
			return fail("unlink", path);
	}
	if (syncfs(dfd))
		return fail("syncfs", dir);
	printf("delete usec %lld files %lld\n", usec() - t0, n);
	for (long long d = 0; d < ndirs; d++) {
		snprintf(path, sizeof(path), "d%lld", d);
		if (unlinkat(dfd, path, AT_REMOVEDIR))
			return fail("rmdir", path);
	}
	return close(dfd) ? fail("close", dir) : 0;
}

/* Block `i` of a fragwrite file tagged `tag`: 8-byte words, each the
 * tag, the block number and the word's index. */
static void frag_block(char *buf, long long bs, char tag, long long i)
{
	for (long long w = 0; w < bs / 8; w++) {
		unsigned long long v = ((unsigned long long)(unsigned char)tag << 56) |
				       ((unsigned long long)i << 16) | (unsigned long long)w;

		memcpy(buf + w * 8, &v, 8);
	}
}

static int fragwrite_cmd(const char *a, const char *b, long long n, long long bs)
{
	char *buf = malloc(bs);
	int fa = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int fb = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	long long t0 = usec();

	if (!buf || fa < 0 || fb < 0)
		return fail("open", a);
	for (long long i = 0; i < n; i++) {
		frag_block(buf, bs, 'A', i);
		if (pwrite(fa, buf, bs, i * bs) != bs)
			return fail("pwrite", a);
		frag_block(buf, bs, 'B', i);
		if (pwrite(fb, buf, bs, i * bs) != bs)
			return fail("pwrite", b);
	}
	if (fsync(fa) || fsync(fb) || close(fa) || close(fb))
		return fail("fsync", a);
	printf("fragwrite usec %lld blocks %lld\n", usec() - t0, n);
	free(buf);
	return 0;
}

static int fragcheck_cmd(const char *path, const char *tag, long long n, long long bs)
{
	char *want = malloc(bs), *got = malloc(bs);
	int fd = open(path, O_RDONLY);
	struct stat st;

	if (!want || !got || fd < 0 || fstat(fd, &st))
		return fail("open", path);
	if (st.st_size != n * bs) {
		fprintf(stderr, "benchtool: %s: size %lld, want %lld\n", path,
			(long long)st.st_size, n * bs);
		return 1;
	}
	for (long long i = 0; i < n; i++) {
		frag_block(want, bs, tag[0], i);
		if (pread(fd, got, bs, i * bs) != bs)
			return fail("pread", path);
		if (memcmp(want, got, bs)) {
			fprintf(stderr, "benchtool: %s: block %lld differs\n", path, i);
			return 1;
		}
	}
	printf("fragcheck blocks %lld\n", n);
	free(want);
	free(got);
	return close(fd) ? fail("close", path) : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "walk"))
		return walk_cmd("walk", argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "readdir"))
		return walk_cmd("readdir", argv[2], 0);
	if (argc == 3 && !strcmp(argv[1], "lookup"))
		return lookup_cmd(argv[2], "3", 0);
	if (argc == 4 && !strcmp(argv[1], "lookup") && !strcmp(argv[3], "slab"))
		return lookup_cmd(argv[2], "2", 0);
	if (argc == 4 && !strcmp(argv[1], "lookup") && !strcmp(argv[3], "absent"))
		return lookup_cmd(argv[2], "2", 1);
	if (argc == 4 && !strcmp(argv[1], "read"))
		return read_cmd(argv[2], num(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "fiemap"))
		return fiemap_cmd(argv[2], num(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "seek"))
		return seek_cmd(argv[2], num(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "unwritten"))
		return unwritten_cmd(argv[2], num(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "seqwrite"))
		return seqwrite_cmd(argv[2], num(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "randwrite"))
		return randwrite_cmd(argv[2], num(argv[3]), num(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "files"))
		return files_cmd(argv[2], num(argv[3]), num(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "fragwrite"))
		return fragwrite_cmd(argv[2], argv[3], num(argv[4]), num(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "fragcheck"))
		return fragcheck_cmd(argv[2], argv[3], num(argv[4]), num(argv[5]));
	fprintf(stderr, "usage: benchtool walk|readdir|lookup DIR | lookup DIR slab|absent | read|fiemap|seek FILE REPS | unwritten FILE N\n"
			"       benchtool seqwrite FILE MIB | randwrite FILE N EVERY | files DIR N NDIRS\n"
			"       benchtool fragwrite A B N BS | fragcheck FILE TAG N BS\n");
	return 2;
}
