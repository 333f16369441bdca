// SPDX-License-Identifier: GPL-2.0
/*
 * umountrmmod MOUNTPOINT MODULE: umount(2) then delete_module(2), back to
 * back in one process.
 *
 * Unmounting evicts the mount's inodes, and each eviction queues an RCU
 * callback that frees the inode into the filesystem's inode cache; the
 * module's exit must wait for them before its inode cache goes. Calling
 * both without starting a process in between gives the exit the earliest
 * start it can have (the kernel's own unregister_filesystem() still waits
 * for a grace period first).
 *
 * Exit status: 0 when both calls succeed, 1 when one fails (the message
 * names the call and the errno), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s MOUNTPOINT MODULE\n", argv[0]);
		return 2;
	}
	if (umount2(argv[1], 0)) {
		fprintf(stderr, "umountrmmod: umount %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (syscall(SYS_delete_module, argv[2], O_NONBLOCK)) {
		fprintf(stderr, "umountrmmod: delete_module %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
