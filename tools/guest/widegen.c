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
 *   widegen readdirchurn DIR N [EXPECT]
 *                                reads DIR with small getdents64 calls
 *                                and creates files ("churn-%06d") between
 *                                them, N in all, spread over the walk, so
 *                                leaves split under the reader; DIR must
 *                                hold EXPECT names before (if given),
 *                                each must come back exactly once, "."
 *                                and ".." once, a new one at most once.
 *                                Then the position (d_off) after the
 *                                middle name of a full read, sought back
 *                                to after 1000 more names, must list the
 *                                next name and none listed before it.
 *                                Prints "readdirchurn names N new N made
 *                                N"
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

/* Creates churn file number i in dir (name "churn-%06lld"). */
static int churn_file(const char *dir, long long i)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/churn-%06lld", dir, i);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return fail("open", path);
	close(fd);
	return 0;
}

static int readdirchurn(const char *dir, long long n, long long expect)
{
	char buf[512];
	size_t old_n, fresh = 0, dots = 0;
	struct seen *old = list_dir(dir, &old_n), key, *hit;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	long long made = 0, per;
	unsigned char *churned = calloc(n + 1000, 1);
	long nread;

	if (!old || fd < 0 || !churned)
		return fail("list", dir);
	if (expect >= 0 && (long long)old_n != expect) {
		fprintf(stderr, "widegen: readdirchurn: %zu names before, expected %lld\n", old_n, expect);
		return 1;
	}
	/* About 8 names per 256-byte call: spread the creations over the walk. */
	per = n / (old_n / 8 + 1) + 1;
	while ((nread = syscall(SYS_getdents64, fd, buf, 256)) > 0) {
		for (long off = 0; off < nread;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			long long i;

			off += e->d_reclen;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
				dots++;
				continue;
			}
			key.name = e->d_name;
			hit = bsearch(&key, old, old_n, sizeof(*old), by_name);
			if (hit) {
				if (++hit->count > 1) {
					fprintf(stderr, "widegen: readdirchurn: %s listed twice\n", e->d_name);
					return 1;
				}
			} else if (sscanf(e->d_name, "churn-%lld", &i) == 1 && i >= 0 && i < made) {
				if (churned[i]++) {
					fprintf(stderr, "widegen: readdirchurn: new name %s listed twice\n", e->d_name);
					return 1;
				}
				fresh++;
			} else {
				fprintf(stderr, "widegen: readdirchurn: unknown name %s\n", e->d_name);
				return 1;
			}
		}
		for (long long k = 0; k < per && made < n; k++)
			if (churn_file(dir, made++))
				return 1;
	}
	if (nread < 0)
		return fail("getdents64", dir);
	for (size_t i = 0; i < old_n; i++)
		if (old[i].count != 1) {
			fprintf(stderr, "widegen: readdirchurn: %s listed %d times\n", old[i].name, old[i].count);
			return 1;
		}
	if (dots != 2) {
		fprintf(stderr, "widegen: readdirchurn: '.' and '..' listed %zu times\n", dots);
		return 1;
	}
	/*
	 * A position across splits: the d_off after the middle name of a
	 * full read; then 1000 more names; then, from that position, the next
	 * name must come and none listed before the position.
	 */
	{
		char want[256] = "";
		off_t mark = -1;
		long long total = 0, half, seen = 0;
		struct seen *all;
		size_t all_n;

		for (size_t i = 0; i < old_n; i++)
			old[i].count = 0;
		all = list_dir(dir, &all_n);
		if (!all)
			return fail("list", dir);
		total = (long long)all_n + 2;
		half = total / 2;
		if (lseek(fd, 0, SEEK_SET) != 0)
			return fail("lseek", dir);
		while (!want[0] && (nread = syscall(SYS_getdents64, fd, buf, 256)) > 0)
			for (long off = 0; off < nread && !want[0];) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);

				off += e->d_reclen;
				if (seen < half) {
					key.name = e->d_name;
					hit = bsearch(&key, all, all_n, sizeof(*all), by_name);
					if (hit)
						hit->count = 1;
				}
				if (seen == half)
					mark = e->d_off;
				else if (seen == half + 1)
					snprintf(want, sizeof(want), "%s", e->d_name);
				seen++;
			}
		if (mark < 0 || !want[0])
			return fail("positions", dir);
		/* The entry at `half` itself was listed before the mark too. */
		for (long long i = 0; i < 1000; i++)
			if (churn_file(dir, made++))
				return 1;
		if (lseek(fd, mark, SEEK_SET) != mark)
			return fail("lseek to a position", dir);
		int found = 0;

		while ((nread = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
			for (long off = 0; off < nread;) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);

				off += e->d_reclen;
				if (!strcmp(e->d_name, want))
					found = 1;
				key.name = e->d_name;
				hit = bsearch(&key, all, all_n, sizeof(*all), by_name);
				if (hit && hit->count && strcmp(e->d_name, want)) {
					fprintf(stderr, "widegen: readdirchurn: %s, listed before position %lld, listed again from it\n",
						e->d_name, (long long)mark);
					return 1;
				}
			}
		if (!found) {
			fprintf(stderr, "widegen: readdirchurn: %s not listed from position %lld\n", want, (long long)mark);
			return 1;
		}
	}
	printf("readdirchurn names %zu new %zu made %lld\n", old_n, fresh, made);
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
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "readdirchurn"))
		return readdirchurn(argv[2], num(argv[3]), argc == 5 ? num(argv[4]) : -1);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "falloc"))
		return falloc(argv[2], num(argv[3]), num(argv[4]), argc == 6 && !strcmp(argv[5], "keep"));
	if (argc == 5 && !strcmp(argv[1], "pwrite"))
		return pwrite_cmd(argv[2], num(argv[3]), num(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "sock"))
		return sock(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "mmaphold"))
		return mmaphold(argv[2]);
	fprintf(stderr, "usage: widegen frag FILE N | files DIR N [FIRST] | mkdirs DIR N |\n"
			"       readdirchurn DIR N [EXPECT] |\n"
			"       falloc FILE OFF LEN [keep] |\n"
			"       pwrite FILE OFF LEN | sock PATH | mmaphold FILE\n");
	return 2;
}
