// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tool for the writeback-error scenario (qemu/scenarios/fsync-error.sh).
 *
 *   errseqtool fill FILE PAGES BASE
 *       writes PAGES pages to FILE from offset 0, page i filled with the
 *       byte (BASE + i) & 0xff (no sync);
 *   errseqtool fsyncs FILE NFDS CMD
 *       opens FILE NFDS times, runs CMD (sh -c: the fault is injected
 *       there), then fsyncs every descriptor twice, in order, and one
 *       opened afterwards once; prints one line:
 *       "first: 0|EIO ... second: ... new: ..." (errno names);
 *   errseqtool cmp DEV BLOCK PAGES BASE
 *       reads PAGES 4 KiB blocks of DEV from block BLOCK (O_DIRECT) and
 *       prints, per block, "=" when it holds the fill pattern of page i
 *       for BASE, "." otherwise: one line of PAGES characters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static const char *result(int r)
{
	if (r == 0)
		return "0";
	return errno == EIO ? "EIO" : strerror(errno);
}

static int fill(const char *path, long pages, int base)
{
	static char buf[PAGE];
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		die("open");
	for (long i = 0; i < pages; i++) {
		memset(buf, (base + i) & 0xff, PAGE);
		if (pwrite(fd, buf, PAGE, i * PAGE) != PAGE)
			die("pwrite");
	}
	return close(fd) ? 2 : 0;
}

static int fsyncs(const char *path, int n, const char *cmd)
{
	int fds[16], fd;

	if (n < 1 || n > 16)
		return 2;
	for (int i = 0; i < n; i++) {
		fds[i] = open(path, O_RDWR);
		if (fds[i] < 0)
			die("open");
	}
	if (system(cmd) != 0) {
		fprintf(stderr, "errseqtool: '%s' failed\n", cmd);
		return 2;
	}
	printf("first:");
	for (int i = 0; i < n; i++)
		printf(" %s", result(fsync(fds[i])));
	printf(" second:");
	for (int i = 0; i < n; i++)
		printf(" %s", result(fsync(fds[i])));
	fd = open(path, O_RDWR);
	if (fd < 0)
		die("open");
	printf(" new: %s\n", result(fsync(fd)));
	return 0;
}

static int cmp(const char *dev, long block, long pages, int base)
{
	char *buf;
	int fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0)
		die("open");
	if (posix_memalign((void **)&buf, PAGE, PAGE))
		die("posix_memalign");
	for (long i = 0; i < pages; i++) {
		int same = 1;

		if (pread(fd, buf, PAGE, (block + i) * PAGE) != PAGE)
			die("pread");
		for (int j = 0; j < PAGE; j++)
			same &= (unsigned char)buf[j] == ((base + i) & 0xff);
		putchar(same ? '=' : '.');
	}
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "fill"))
		return fill(argv[2], atol(argv[3]), atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "fsyncs"))
		return fsyncs(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 6 && !strcmp(argv[1], "cmp"))
		return cmp(argv[2], atol(argv[3]), atol(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: errseqtool fill FILE PAGES BASE | fsyncs FILE NFDS CMD | "
			"cmp DEV BLOCK PAGES BASE\n");
	return 2;
}
