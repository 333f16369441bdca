// SPDX-License-Identifier: GPL-2.0
/*
 * aclcheck: access decisions and xattr call results of a filesystem, as
 * lines to compare between two filesystems (the xattr scenario compares
 * the in-kernel ext4 with rext4 on the same image).
 *
 *   aclcheck access UID GID[,GID...] PATH...
 *       become UID with primary group GID and the other GIDs as
 *       supplementary groups (from root), then print for each PATH:
 *       PATH open_r=R open_w=R w=R x=R [list=N|R search=R]
 *       where R is "ok" or the errno's name: open_r is open(O_RDONLY)
 *       (plus a readdir for directories: list=entries), open_w
 *       open(O_WRONLY|O_NONBLOCK) for FIFOs and character devices only,
 *       w and x access(W_OK) and access(X_OK), search stat(PATH/.).
 *       Paths are not followed if they are symlinks.
 *   aclcheck as UID GID[,GID...] CMD [ARG...]
 *       become UID and GIDs as for access, then exec CMD.
 *   aclcheck getx PATH NAME SIZE
 *       lgetxattr(PATH, NAME) with a SIZE-byte buffer (0: size query):
 *       prints the result (size or errno name) and, on success with a
 *       buffer, the value's first 80 bytes in hex and its FNV-1a hash.
 *   aclcheck listx PATH SIZE
 *       llistxattr(PATH) with a SIZE-byte buffer: the result and, on
 *       success with a buffer, the names sorted.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *res(int rc)
{
	static char buf[64];

	if (rc >= 0)
		return "ok";
	snprintf(buf, sizeof(buf), "%s", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	return buf;
}

static int become(const char *uid_s, const char *gids_s)
{
	gid_t gids[32];
	int n = 0;
	char *copy = strdup(gids_s), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok && n < 32; tok = strtok_r(NULL, ",", &save))
		gids[n++] = (gid_t)strtoul(tok, NULL, 10);
	free(copy);
	if (n == 0)
		return -1;
	if (setgroups(n - 1, gids + 1) || setresgid(gids[0], gids[0], gids[0]) ||
	    setresuid(atoi(uid_s), atoi(uid_s), atoi(uid_s))) {
		perror("aclcheck: setting ids");
		return -1;
	}
	return 0;
}

static void access_line(const char *path)
{
	struct stat st;
	char sub[4096];
	int fd;

	if (lstat(path, &st)) {
		printf("%s lstat=%s\n", path, res(-1));
		return;
	}
	printf("%s", path);
	if (S_ISLNK(st.st_mode)) {
		printf(" symlink\n");
		return;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
	printf(" open_r=%s", res(fd));
	if (fd >= 0 && S_ISDIR(st.st_mode)) {
		DIR *d = fdopendir(fd);
		int n = 0;

		if (d) {
			errno = 0;
			while (readdir(d))
				n++;
			if (errno)
				printf(" list=%s", res(-1));
			else
				printf(" list=%d", n);
			closedir(d);
		} else {
			close(fd);
		}
	} else if (fd >= 0) {
		close(fd);
	}
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		fd = open(path, O_WRONLY | O_NONBLOCK);
		printf(" open_w=%s", res(fd));
		if (fd >= 0)
			close(fd);
	}
	printf(" w=%s", res(access(path, W_OK)));
	printf(" x=%s", res(access(path, X_OK)));
	if (S_ISDIR(st.st_mode)) {
		snprintf(sub, sizeof(sub), "%s/.", path);
		printf(" search=%s", res(stat(sub, &st)));
	}
	printf("\n");
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "access")) {
		if (become(argv[2], argv[3]))
			return 1;
		for (int i = 4; i < argc; i++)
			access_line(argv[i]);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "as")) {
		if (become(argv[2], argv[3]))
			return 1;
		execvp(argv[4], argv + 4);
		perror("aclcheck: exec");
		return 127;
	}
	if (argc == 5 && !strcmp(argv[1], "getx")) {
		size_t size = strtoul(argv[4], NULL, 10);
		unsigned char *buf = size ? malloc(size) : NULL;
		ssize_t n = lgetxattr(argv[2], argv[3], buf, size);

		if (n < 0) {
			printf("getx %s %s %zu: %s\n", argv[2], argv[3], size, res(-1));
		} else {
			uint32_t h = 2166136261u;

			printf("getx %s %s %zu: %zd", argv[2], argv[3], size, n);
			if (buf) {
				printf(" 0x");
				for (ssize_t i = 0; i < n; i++) {
					if (i < 80)
						printf("%02x", buf[i]);
					h = (h ^ buf[i]) * 16777619u;
				}
				printf("%s fnv1a=%08x", n > 80 ? "..." : "", h);
			}
			printf("\n");
		}
		free(buf);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "listx")) {
		size_t size = strtoul(argv[3], NULL, 10);
		char *buf = size ? malloc(size) : NULL;
		ssize_t n = llistxattr(argv[2], buf, size);

		if (n < 0) {
			printf("listx %s %zu: %s\n", argv[2], size, res(-1));
		} else {
			char *names[4096];
			int k = 0;

			printf("listx %s %zu: %zd", argv[2], size, n);
			for (ssize_t off = 0; buf && off < n && k < 4096; off += strlen(buf + off) + 1)
				names[k++] = buf + off;
			qsort(names, k, sizeof(names[0]), cmp);
			for (int i = 0; i < k; i++)
				printf(" %s", names[i]);
			printf("\n");
		}
		free(buf);
		return 0;
	}
	fprintf(stderr, "usage: aclcheck access UID GID[,GID...] PATH... | as UID GIDS CMD... | getx PATH NAME SIZE | listx PATH SIZE\n");
	return 2;
}
