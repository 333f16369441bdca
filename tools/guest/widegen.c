// SPDX-License-Identifier: GPL-2.0
/*
 * widegen: makes, on a filesystem the in-kernel ext4 has mounted, the
 * shapes that `mkfs.ext4 -d` never writes, for qemu/scenarios/mkwide.sh.
 * Built static by qemu/guesttools.sh, on the guest's PATH.
 *
 *   widegen frag FILE N          N one-block extents: block 2*i (i < N) of
 *                                FILE holds a 4096-byte pattern of i, the
 *                                blocks between stay holes; fsync. With
 *                                4 KiB blocks, N > 1360 forces an extent
 *                                tree of depth 2 (4 index entries in the
 *                                inode, 340 extents per leaf)
 *   widegen files DIR N [FIRST]  N empty files in DIR, names of 8 to 40
 *                                characters ("f%06d-" then padding),
 *                                numbered from FIRST (default 0)
 *   widegen mkdirs DIR N         N subdirectories of DIR, "s%06d", one
 *                                mkdir(2) each
 *   widegen readdirchurn DIR N   reads DIR with small getdents64 calls
 *                                and creates N/100 files ("churn-%06d")
 *                                after each, N in all, so leaves split
 *                                under the reader; every name present
 *                                before must come back exactly once, a
 *                                new one at most once. Then a position
 *                                (d_off) from a full read, sought back
 *                                to, must resume at the next name.
 *                                Prints "readdirchurn names N seen N
 *                                new N"
 *   widegen falloc FILE OFF LEN [keep]
 *                                fallocate(2) of [OFF, OFF+LEN): unwritten
 *                                extents; "keep" adds FALLOC_FL_KEEP_SIZE
 *                                (preallocation past EOF)
 *   widegen pwrite FILE OFF LEN  LEN bytes of a pattern at OFF (no O_TRUNC)
 *   widegen sock PATH            a socket inode at PATH, by mknod(2) with
 *                                S_IFSOCK (the test kernel has no AF_UNIX;
 *                                the inode is the same as a bound socket's)
 *   widegen mmaphold FILE        map FILE (shared, read-only), print
 *                                "hash H" (FNV-1a of the mapped bytes), then
 *                                again for every line read on stdin; exit at
 *                                EOF, unmapping last: a mapping held across
 *                                `umount -l`
 *
 * Exit status: 0 on success, 1 with a message naming the call otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *call, const char *path)
{
	fprintf(stderr, "widegen: %s %s: %s\n", call, path, strerror(errno));
	return 1;
}

static long long num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	if (*s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "widegen: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void pattern(char *buf, size_t len, long long seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((seed * 131 + (long long)i * 7) & 0xff);
}

static int frag(const char *path, long long n)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("open", path);
	for (long long i = 0; i < n; i++) {
		pattern(buf, sizeof(buf), i);
		if (pwrite(fd, buf, sizeof(buf), 2 * i * (long long)sizeof(buf)) != (ssize_t)sizeof(buf))
			return fail("pwrite", path);
	}
	if (fsync(fd) || close(fd))
		return fail("fsync", path);
	return 0;
}

static int files(const char *dir, long long n, long long first)
{
	char name[4096];
	static const char pad[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (long long i = first; i < first + n; i++) {
		int extra = (int)(i % 33);
		int fd;

		snprintf(name, sizeof(name), "%s/f%06lld-%.*s", dir, i, extra, pad);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return fail("open", name);
		close(fd);
	}
	return 0;
}

static int mkdirs(const char *dir, long long n)
{
	char name[4096];

	for (long long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s/s%06lld", dir, i);
		if (mkdir(name, 0755))
			return fail("mkdir", name);
	}
	return 0;
}

static int falloc(const char *path, long long off, long long len, int keep)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		return fail("open", path);
	if (fallocate(fd, keep ? FALLOC_FL_KEEP_SIZE : 0, off, len))
		return fail("fallocate", path);
	return close(fd) ? fail("close", path) : 0;
}

static int pwrite_cmd(const char *path, long long off, long long len)
{
	char buf[65536];
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		return fail("open", path);
	while (len > 0) {
		size_t chunk = len < (long long)sizeof(buf) ? (size_t)len : sizeof(buf);

		pattern(buf, chunk, off);
		if (pwrite(fd, buf, chunk, off) != (ssize_t)chunk)
			return fail("pwrite", path);
		off += (long long)chunk;
		len -= (long long)chunk;
	}
	return close(fd) ? fail("close", path) : 0;
}

static int sock(const char *path)
{
	return mknod(path, S_IFSOCK | 0755, 0) ? fail("mknod", path) : 0;
}

static uint64_t fnv(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static int mmaphold(const char *path)
{
	struct stat st;
	char line[256];
	const unsigned char *map;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fail("open", path);
	if (fstat(fd, &st) || st.st_size <= 0)
		return fail("fstat (or empty file)", path);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return fail("mmap", path);
	close(fd);
	printf("hash %016llx\n", (unsigned long long)fnv(map, (size_t)st.st_size));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		printf("hash %016llx\n", (unsigned long long)fnv(map, (size_t)st.st_size));
		fflush(stdout);
	}
	return munmap((void *)map, (size_t)st.st_size) ? fail("munmap", path) : 0;
}

struct seen {
	char *name;
	int count;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->name, ((const struct seen *)b)->name);
}

/* Reads DIR whole: names (without "." and ".."), count. */
static struct seen *list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct seen *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				return NULL;
		}
		v[*n].name = strdup(e->d_name);
		v[(*n)++].count = 0;
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), by_name);
	return v;
}

static int readdirchurn(const char *dir, long long n)
{
	char buf[512], path[4096];
	size_t old_n, made = 0, fresh = 0;
	struct seen *old = list_dir(dir, &old_n), key, *hit;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	long long step = n / 100 > 0 ? n / 100 : 1;
	long nread;

	if (!old || fd < 0)
		return fail("list", dir);
	while ((nread = syscall(SYS_getdents64, fd, buf, 256)) > 0) {
		for (long off = 0; off < nread;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);

			off += e->d_reclen;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			key.name = e->d_name;
			hit = bsearch(&key, old, old_n, sizeof(*old), by_name);
			if (hit) {
				if (++hit->count > 1) {
					fprintf(stderr, "widegen: readdirchurn: %s listed twice\n", e->d_name);
					return 1;
				}
			} else if (strncmp(e->d_name, "churn-", 6)) {
				fprintf(stderr, "widegen: readdirchurn: unknown name %s\n", e->d_name);
				return 1;
			} else {
				fresh++;
			}
		}
		for (long long i = 0; i < step && (long long)made < n; i++, made++) {
			int cfd;

			snprintf(path, sizeof(path), "%s/churn-%06zu", dir, made);
			cfd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (cfd < 0)
				return fail("open", path);
			close(cfd);
		}
	}
	if (nread < 0)
		return fail("getdents64", dir);
	for (size_t i = 0; i < old_n; i++)
		if (old[i].count != 1) {
			fprintf(stderr, "widegen: readdirchurn: %s listed %d times\n", old[i].name, old[i].count);
			return 1;
		}
	if (fresh > made) {
		fprintf(stderr, "widegen: readdirchurn: %zu new names listed, %zu made\n", fresh, made);
		return 1;
	}
	/* Seek back to the position after a name in the middle. */
	{
		char big[1 << 16], want[256] = "";
		off_t mark = -1;
		long total = 0, half;

		if (lseek(fd, 0, SEEK_SET) != 0)
			return fail("lseek", dir);
		while ((nread = syscall(SYS_getdents64, fd, big, sizeof(big))) > 0)
			for (long off = 0; off < nread; off += ((struct dirent64 *)(big + off))->d_reclen)
				total++;
		half = total / 2;
		if (lseek(fd, 0, SEEK_SET) != 0)
			return fail("lseek", dir);
		for (long seen = 0; mark < 0 && (nread = syscall(SYS_getdents64, fd, buf, 256)) > 0;)
			for (long off = 0; off < nread;) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);

				off += e->d_reclen;
				if (seen == half)
					mark = e->d_off;
				else if (seen == half + 1) {
					snprintf(want, sizeof(want), "%s", e->d_name);
					break;
				}
				seen++;
			}
		if (mark < 0 || !want[0])
			return fail("positions", dir);
		if (lseek(fd, mark, SEEK_SET) != mark)
			return fail("lseek to a position", dir);
		nread = syscall(SYS_getdents64, fd, buf, 256);
		if (nread <= 0 || strcmp(((struct dirent64 *)buf)->d_name, want)) {
			fprintf(stderr, "widegen: readdirchurn: seek to %lld gave '%s', not '%s'\n", (long long)mark,
				nread > 0 ? ((struct dirent64 *)buf)->d_name : "(nothing)", want);
			return 1;
		}
	}
	printf("readdirchurn names %zu seen %zu new %zu\n", old_n, old_n, fresh);
	return close(fd) ? fail("close", dir) : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "frag"))
		return frag(argv[2], num(argv[3]));
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "files"))
		return files(argv[2], num(argv[3]), argc == 5 ? num(argv[4]) : 0);
	if (argc == 4 && !strcmp(argv[1], "mkdirs"))
		return mkdirs(argv[2], num(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "readdirchurn"))
		return readdirchurn(argv[2], num(argv[3]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "falloc"))
		return falloc(argv[2], num(argv[3]), num(argv[4]), argc == 6 && !strcmp(argv[5], "keep"));
	if (argc == 5 && !strcmp(argv[1], "pwrite"))
		return pwrite_cmd(argv[2], num(argv[3]), num(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "sock"))
		return sock(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "mmaphold"))
		return mmaphold(argv[2]);
	fprintf(stderr, "usage: widegen frag FILE N | files DIR N [FIRST] | mkdirs DIR N |\n"
			"       readdirchurn DIR N |\n"
			"       falloc FILE OFF LEN [keep] |\n"
			"       pwrite FILE OFF LEN | sock PATH | mmaphold FILE\n");
	return 2;
}
