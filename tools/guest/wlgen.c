// SPDX-License-Identifier: GPL-2.0
/*
 * wlgen: a deterministic random-operation workload for the write-path
 * tests. Built static by qemu/guesttools.sh, on the guest's PATH. Runs as
 * root (directories of mode 0 must stay traversable).
 *
 *   wlgen run DIR SEED NOPS [options]
 *       NOPS operations, a pure function of SEED and NOPS, applied to the
 *       empty directory DIR (a "lost+found" directly in DIR is ignored) and
 *       to an in-memory model of the tree. Every operation's result (success
 *       or the errno the model predicts) is compared; at the end (and every
 *       K operations) DIR is walked and compared with the model: names,
 *       types, modes, nlink, sizes, contents, symlink targets, inode sharing
 *       of hard links, and the mtimes set by utimes (while no later change
 *       made them unknown). Prints "wlgen: ok ops=N files=F dirs=D bytes=B"
 *       (exit 0) or the first "wlgen: MISMATCH op=I ..." (exit 1). Exit 2:
 *       usage or setup error. The elapsed time goes to stderr.
 *     --ops FILE        run only the operation indices listed in FILE
 *                       (whitespace separated, 0-based); the sequence is
 *                       still generated from SEED and NOPS, each kept
 *                       operation runs with the same arguments and the
 *                       model predicts its result on the resulting tree
 *     --only LIST       run only the operations of these kinds (comma
 *                       separated names as in the trace: create, mkdir,
 *                       write, append, truncate, unlink, rmdir, rename,
 *                       link, symlink, chmod, utimes, mkfifo, fsync,
 *                       fdatasync, osync, mmap, read); also after --ops
 *     --without LIST    run all but the operations of these kinds
 *     --check-every K   walk and compare after every K executed operations
 *     --fsync-log FILE  log the syncs (see "The fsync log" below) to FILE,
 *                       which must be on another filesystem than DIR
 *     --no-mmap         shared-mapping writes are done with pwrite instead
 *     --max-bytes B     cap on the sum of file sizes while generating
 *                       (default 64 MiB; holes count in full)
 *     --enospc          ENOSPC (or EDQUOT) is accepted where the model
 *                       predicts success: writes apply what was written
 *                       (short writes), other operations take no effect;
 *                       mapped writes use pwrite; --fsync-log is refused.
 *                       Best effort: a filesystem may still leave state the
 *                       model cannot predict after ENOSPC
 *     --coarse-times    compare utimes-set mtimes to the second only
 *                       (ext4 with 128-byte inodes keeps no nanoseconds)
 *     --verbose         print each executed operation and its result
 *   wlgen check-fsynced DIR FILE
 *       checks DIR against the fsync log FILE (below). Prints
 *       "wlgen: fsynced ok lines=N checked=C" (exit 0) or the first
 *       "wlgen: FSYNC-LOST ..." line (exit 1)
 *   wlgen trace SEED NOPS   print the generated sequence only
 *
 * The sequence. Each operation's kind and arguments are drawn (xorshift64*)
 * from a model of the tree as the full sequence leaves it, so operation I
 * is the same whatever subset runs. Names: 1..255 bytes of "abcdefgh_-019"
 * (mostly 1-2, so they collide); new directories at most 6 levels deep
 * (renames may move trees deeper); paths at most ~3300 bytes. Writes are
 * 1 B..256 KiB, at offsets inside, at or past the end (holes up to 4 MiB);
 * truncates up to 8 MiB. Symlink targets are 1..4095 bytes of components
 * starting with '~' (never resolving; the model predicts ENAMETOOLONG
 * above the filesystem's limit: statfs block size - 1). Opens use
 * O_NOFOLLOW|O_NONBLOCK (symlink: ELOOP, FIFO for writing: ENXIO); chmod
 * and truncate follow symlinks (dangling: ENOENT); utimes does not.
 *
 * The fsync log. A sync is a successful fsync or fdatasync of a regular
 * file (whole file), or a successful O_SYNC write or shared-mapping write
 * with msync(MS_SYNC) of a non-empty range (that range only), reached by
 * path P. After each sync, wlgen fsyncs every directory from P's parent up
 * to DIR, then appends to FILE and fsyncs FILE:
 *   F P SIZE HASH        fsync/fdatasync: P's size and FNV-1a 64 hash
 *   R P OFF LEN HASH     O_SYNC/msync: the hash of bytes [OFF, OFF+LEN)
 * Before running, the executed sequence (after --ops) is simulated on the
 * model. Before an operation that may change what a logged sync of P
 * recorded runs, wlgen appends (and fsyncs) "! P", invalidating every
 * earlier line of P. Such operations are: one that changes the content or
 * size of the inode P named at the sync (write, append, truncate, mapped
 * write, through any of its names), and an unlink, rmdir or rename with a
 * source or target path equal to P or to a directory above P.
 * The guarantee check-fsynced asserts, for a crash (or kill) at any point:
 * every F or R line of FILE not followed by a "! P" line holds on DIR:
 * P is a regular file; for F its size is SIZE and its content hashes to
 * HASH; for R its size is at least OFF+LEN and those bytes hash to HASH.
 * A torn last line of FILE is ignored.
 *
 * WLGEN_FAULT=I (environment): operation I's filesystem side misbehaves on
 * purpose (one wrong byte written, mode or size off by one), for testing
 * the checks and tools/guest/wlgen-shrink.sh.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define MAXW (256 * 1024)
#define MAXDEPTH 6
#define MAXPATH 3000

enum { T_REG = 1, T_DIR, T_LNK, T_FIFO };

enum {
	OP_CREATE, OP_MKDIR, OP_WRITE, OP_APPEND, OP_TRUNC, OP_UNLINK, OP_RMDIR,
	OP_RENAME, OP_LINK, OP_SYMLINK, OP_CHMOD, OP_UTIMES, OP_MKFIFO,
	OP_FSYNC, OP_FDATASYNC, OP_OSYNC, OP_MMAP, OP_READ, OP_N
};

static const char *const op_names[OP_N] = {
	"create", "mkdir", "write", "append", "truncate", "unlink", "rmdir",
	"rename", "link", "symlink", "chmod", "utimes", "mkfifo",
	"fsync", "fdatasync", "osync", "mmap", "read",
};

/* Generation weights, in op order. */
static const int op_weight[OP_N] = {
	10, 6, 14, 5, 5, 6, 4, 8, 4, 4, 3, 3, 2, 3, 2, 3, 5, 8,
};

struct ino;

struct dent {
	char *name;
	struct ino *ino;
};

struct ino {
	long id;
	int type;
	unsigned mode;
	long nlink;
	unsigned char *data;	/* regular files, NULL in a model without data */
	long long size, cap;
	char *target;		/* symlinks */
	int mt_known;
	long long mt_sec;
	long mt_nsec;
	struct dent *ents;	/* directories */
	int nents, capents;
	struct ino *parent;	/* directories */
};

struct model {
	struct ino *root;
	long nextid;
	int nodata;
	long long bytes;
	long symmax;		/* longest symlink target the filesystem takes */
};

struct op {
	int type;
	char *a, *b;		/* paths; b: rename/link target, symlink target */
	long long off, len;	/* write/read range, truncate size in off */
	uint64_t seed;		/* content */
	unsigned mode;
	long long sec;
	long nsec;
	int flag;		/* mmap: msync(MS_SYNC) */
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "wlgen: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "wlgen: out of memory\n");
		exit(2);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* ---- random numbers and content ---- */

static uint64_t rng;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* The bytes a write with this seed stores: its first n bytes. */
static void fill(uint64_t seed, unsigned char *p, size_t n)
{
	uint64_t x = mix64(seed) | 1;

	if ((seed & 7) == 0) {
		memset(p, 0, n);
		return;
	}
	if ((seed & 7) == 1) {
		memset(p, (int)((seed >> 8) & 0xff), n);
		return;
	}
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dULL;
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV0 0xcbf29ce484222325ULL

/* ---- the model ---- */

static struct ino *new_ino(struct model *m, int type, unsigned mode)
{
	struct ino *n = xmalloc(sizeof(*n));

	memset(n, 0, sizeof(*n));
	n->id = m->nextid++;
	n->type = type;
	n->mode = mode & 07777;
	n->nlink = type == T_DIR ? 2 : 1;
	return n;
}

static void free_ino(struct model *m, struct ino *n)
{
	if (n->type == T_REG)
		m->bytes -= n->size;
	free(n->data);
	free(n->target);
	free(n->ents);
	free(n);
}

static int lookup(struct ino *d, const char *name)
{
	for (int i = 0; i < d->nents; i++)
		if (!strcmp(d->ents[i].name, name))
			return i;
	return -1;
}

static void add_ent(struct ino *d, const char *name, struct ino *n)
{
	if (d->nents == d->capents) {
		d->capents = d->capents ? 2 * d->capents : 8;
		d->ents = xrealloc(d->ents, d->capents * sizeof(*d->ents));
	}
	d->ents[d->nents].name = xstrdup(name);
	d->ents[d->nents++].ino = n;
	d->mt_known = 0;
	if (n->type == T_DIR) {
		n->parent = d;
		d->nlink++;
	}
}

/* Removes entry i of d; the inode is freed when its last name goes. */
static void del_ent(struct model *m, struct ino *d, int i, int drop)
{
	struct ino *n = d->ents[i].ino;

	free(d->ents[i].name);
	d->ents[i] = d->ents[--d->nents];
	d->mt_known = 0;
	if (n->type == T_DIR)
		d->nlink--;
	if (!drop)
		return;
	if (n->type == T_DIR || --n->nlink == 0)
		free_ino(m, n);
}

/*
 * Resolves all but the last component of path (relative to the root):
 * 0 with *dir and the last name copied into last, or the errno the kernel
 * gives. Symlinks all dangle (their targets start with '~', a character no
 * name has), so following one in the middle of a path fails with ENOENT.
 */
static int resolve(struct model *m, const char *path, struct ino **dir, char *last)
{
	struct ino *d = m->root;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char name[256];
		int i;

		if (len > 255)
			len = 255;
		memcpy(name, p, len);
		name[len] = '\0';
		if (!slash) {
			strcpy(last, name);
			*dir = d;
			return 0;
		}
		i = lookup(d, name);
		if (i < 0)
			return ENOENT;
		if (d->ents[i].ino->type == T_LNK)
			return ENOENT;
		if (d->ents[i].ino->type != T_DIR)
			return ENOTDIR;
		d = d->ents[i].ino;
		p = slash + 1;
	}
}

static int anc_or_self(struct ino *a, struct ino *d)
{
	for (; d; d = d->parent)
		if (d == a)
			return 1;
	return 0;
}

static void set_size(struct model *m, struct ino *n, long long size)
{
	if (!m->nodata) {
		if (size > n->cap) {
			long long cap = n->cap ? n->cap : 4096;

			while (cap < size)
				cap *= 2;
			n->data = xrealloc(n->data, (size_t)cap);
			n->cap = cap;
		}
		if (size > n->size)
			memset(n->data + n->size, 0, (size_t)(size - n->size));
	}
	m->bytes += size - n->size;
	n->size = size;
	n->mt_known = 0;
}

static void write_at(struct model *m, struct ino *n, long long off, uint64_t seed, long long len)
{
	if (len <= 0)
		return;
	if (off + len > n->size)
		set_size(m, n, off + len);
	n->mt_known = 0;
	if (!m->nodata) {
		unsigned char *tmp = xmalloc((size_t)len);

		fill(seed, tmp, (size_t)len);
		memcpy(n->data + off, tmp, (size_t)len);
		free(tmp);
	}
}

/* The part of a mapped write that lands inside the file. */
static long long mmap_len(const struct op *o, long long size)
{
	if (o->off >= size)
		return 0;
	return o->off + o->len > size ? size - o->off : o->len;
}

/*
 * The result the kernel gives for o on the model's tree: 0 or an errno.
 * With apply, a success (or a written count >= 0 for writes) is applied;
 * count < 0 means "everything".
 */
static int model_op(struct model *m, const struct op *o, int apply, long long count,
		    struct ino **hit)
{
	struct ino *d, *n = NULL, *d2, *t = NULL;
	char last[256], last2[256];
	int i, j = -1, err;

	*hit = NULL;
	err = resolve(m, o->a, &d, last);
	if (err && o->type != OP_RENAME)
		return err;
	if (err)
		return err;
	i = lookup(d, last);
	if (i >= 0)
		n = d->ents[i].ino;
	*hit = n;

	switch (o->type) {
	case OP_CREATE:
	case OP_MKDIR:
	case OP_SYMLINK:
	case OP_MKFIFO:
		if (n)
			return EEXIST;
		if (o->type == OP_SYMLINK && (long)strlen(o->b) > m->symmax)
			return ENAMETOOLONG;
		if (apply) {
			int type = o->type == OP_CREATE ? T_REG : o->type == OP_MKDIR ? T_DIR :
				   o->type == OP_SYMLINK ? T_LNK : T_FIFO;
			struct ino *c = new_ino(m, type, o->type == OP_SYMLINK ? 0777 : o->mode);

			if (type == T_LNK)
				c->target = xstrdup(o->b);
			add_ent(d, last, c);
			*hit = c;
		}
		return 0;
	case OP_WRITE:
	case OP_OSYNC:
	case OP_APPEND:
	case OP_MMAP:
	case OP_READ:
	case OP_FSYNC:
	case OP_FDATASYNC:
		if (!n)
			return ENOENT;
		if (n->type == T_LNK)
			return ELOOP;
		if (n->type == T_DIR)
			return (o->type == OP_FSYNC || o->type == OP_FDATASYNC) ? 0 : EISDIR;
		if (n->type == T_FIFO) {
			if (o->type == OP_FSYNC || o->type == OP_FDATASYNC)
				return EINVAL;
			if (o->type == OP_READ)
				return ESPIPE;
			return o->type == OP_MMAP ? 0 : ENXIO;
		}
		if (!apply)
			return 0;
		if (o->type == OP_WRITE || o->type == OP_OSYNC)
			write_at(m, n, o->off, o->seed, count < 0 ? o->len : count);
		else if (o->type == OP_APPEND)
			write_at(m, n, n->size, o->seed, count < 0 ? o->len : count);
		else if (o->type == OP_MMAP)
			write_at(m, n, o->off, o->seed, count < 0 ? mmap_len(o, n->size) : count);
		return 0;
	case OP_TRUNC:
		if (!n || n->type == T_LNK)
			return ENOENT;
		if (n->type == T_DIR)
			return EISDIR;
		if (n->type != T_REG)
			return EINVAL;
		if (apply)
			set_size(m, n, o->off);
		return 0;
	case OP_UNLINK:
		if (!n)
			return ENOENT;
		if (n->type == T_DIR)
			return EISDIR;
		if (apply)
			del_ent(m, d, i, 1);
		return 0;
	case OP_RMDIR:
		if (!n)
			return ENOENT;
		if (n->type != T_DIR)
			return ENOTDIR;
		if (n->nents)
			return ENOTEMPTY;
		if (apply)
			del_ent(m, d, i, 1);
		return 0;
	case OP_CHMOD:
		if (!n || n->type == T_LNK)
			return ENOENT;
		if (apply)
			n->mode = o->mode & 07777;
		return 0;
	case OP_UTIMES:
		if (!n)
			return ENOENT;
		if (apply) {
			n->mt_known = 1;
			n->mt_sec = o->sec;
			n->mt_nsec = o->nsec;
		}
		return 0;
	case OP_LINK:
		if (!n)
			return ENOENT;
		err = resolve(m, o->b, &d2, last2);
		if (err)
			return err;
		if (lookup(d2, last2) >= 0)
			return EEXIST;
		if (n->type == T_DIR)
			return EPERM;
		if (apply) {
			add_ent(d2, last2, n);
			n->nlink++;
		}
		return 0;
	case OP_RENAME:
		break;
	default:
		return EINVAL;
	}

	/* rename: the kernel's checks, in its order */
	err = resolve(m, o->b, &d2, last2);
	if (err)
		return err;
	if (!n)
		return ENOENT;
	j = lookup(d2, last2);
	if (j >= 0)
		t = d2->ents[j].ino;
	if (d != d2) {
		if (n->type == T_DIR && anc_or_self(n, d2))
			return EINVAL;
		if (t && t->type == T_DIR && anc_or_self(t, d))
			return ENOTEMPTY;
	}
	if (n == t)
		return 0;
	if (t && n->type == T_DIR && t->type != T_DIR)
		return ENOTDIR;
	if (t && n->type != T_DIR && t->type == T_DIR)
		return EISDIR;
	if (t && t->type == T_DIR && t->nents)
		return ENOTEMPTY;
	if (!apply)
		return 0;
	if (t)
		del_ent(m, d2, j, 1);
	i = lookup(d, last);
	del_ent(m, d, i, 0);
	add_ent(d2, last2, n);
	if (n->type == T_DIR)
		n->mt_known = 0;
	return 0;
}

/*
 * Symlink targets are generated up to 4095 bytes; a filesystem may take
 * fewer (ext4: block size - 1, tmpfs: page size - 1): the statfs block
 * size - 1, at most 4095, while running.
 */
static long symmax = 4095;

/* The mtimes of path and its directory become unknown (after ENOSPC). */
static void forget_mtime(struct model *m, const char *path)
{
	struct ino *d;
	char last[256];
	int i;

	if (resolve(m, path, &d, last))
		return;
	d->mt_known = 0;
	i = lookup(d, last);
	if (i >= 0)
		d->ents[i].ino->mt_known = 0;
}

static struct model *new_model(int nodata)
{
	struct model *m = xmalloc(sizeof(*m));

	memset(m, 0, sizeof(*m));
	m->nodata = nodata;
	m->symmax = symmax;
	m->root = new_ino(m, T_DIR, 0755);
	return m;
}

static void free_tree(struct model *m, struct ino *d)
{
	for (int i = 0; i < d->nents; i++) {
		struct ino *n = d->ents[i].ino;

		free(d->ents[i].name);
		if (n->type == T_DIR)
			free_tree(m, n);
		else if (--n->nlink == 0)
			free_ino(m, n);
	}
	d->nents = 0;
	free_ino(m, d);
}

/* ---- generation ---- */

struct ent {
	char *path;
	struct ino *ino;
	int depth;
};

static struct ent *ents;
static int nents, capents;

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = xmalloc(a + b + 2);

	if (a) {
		memcpy(p, dir, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

static void collect(struct ino *d, const char *prefix, int depth)
{
	for (int i = 0; i < d->nents; i++) {
		char *p = join(prefix, d->ents[i].name);

		if (strlen(p) > MAXPATH) {
			free(p);
			continue;
		}
		if (nents == capents) {
			capents = capents ? 2 * capents : 256;
			ents = xrealloc(ents, capents * sizeof(*ents));
		}
		ents[nents].path = p;
		ents[nents].ino = d->ents[i].ino;
		ents[nents++].depth = depth + 1;
		if (d->ents[i].ino->type == T_DIR)
			collect(d->ents[i].ino, p, depth + 1);
	}
}

#define M_REG (1 << T_REG)
#define M_DIR (1 << T_DIR)
#define M_LNK (1 << T_LNK)
#define M_FIFO (1 << T_FIFO)
#define M_ANY (M_REG | M_DIR | M_LNK | M_FIFO)
#define M_EMPTYDIR (1 << 8)
#define M_SHALLOW (1 << 9)

static int ent_ok(const struct ent *e, int mask)
{
	if (!(mask & (1 << e->ino->type)))
		return 0;
	if ((mask & M_EMPTYDIR) && e->ino->nents)
		return 0;
	if ((mask & M_SHALLOW) && e->depth >= MAXDEPTH)
		return 0;
	return 1;
}

/* A random entry whose type is in mask, or NULL. */
static struct ent *pick(int mask)
{
	int n = 0, k;

	for (int i = 0; i < nents; i++)
		n += ent_ok(&ents[i], mask);
	if (!n)
		return NULL;
	k = (int)below(n);
	for (int i = 0; i < nents; i++)
		if (ent_ok(&ents[i], mask) && k-- == 0)
			return &ents[i];
	return NULL;
}

static void rand_name(char *buf)
{
	static const char alpha[] = "abcdefgh_-019";
	uint64_t r = below(100);
	size_t len;

	if (r < 70)
		len = 1 + below(2);
	else if (r < 90)
		len = 3 + below(10);
	else if (r < 97)
		len = 13 + below(243);
	else
		len = 255;
	for (size_t i = 0; i < len; i++)
		buf[i] = alpha[below(sizeof(alpha) - 1)];
	buf[len] = '\0';
}

/* A new name under a random directory no deeper than the limit. */
static char *new_path(void)
{
	char name[256];
	uint64_t r = below(100);
	/* now and then under a non-directory: ENOTDIR, or ENOENT via a symlink */
	struct ent *d = r < 4 ? pick(M_REG | M_LNK | M_FIFO) : r < 75 ? pick(M_DIR | M_SHALLOW) : NULL;
	char *p;

	rand_name(name);
	p = join(d ? d->path : "", name);
	if (strlen(p) > MAXPATH) {
		free(p);
		p = xstrdup(name);
	}
	return p;
}

/* An existing path of the given types most of the time, else any path. */
static char *some_path(int mask, int percent)
{
	struct ent *e = (int)below(100) < percent ? pick(mask) : NULL;

	if (!e && below(2))
		e = pick(M_ANY);
	return e ? xstrdup(e->path) : new_path();
}

/* A symlink target that never resolves: components start with '~'. */
static char *sym_target(void)
{
	uint64_t r = below(100);
	size_t len = r < 60 ? 1 + below(59) : r < 90 ? 60 + below(441) : 501 + below(3595);
	char *t = xmalloc(len + 1);
	size_t comp = 0;

	for (size_t i = 0; i < len; i++) {
		if (comp == 0)
			t[i] = '~';
		else if (comp > 2 && (comp >= 100 || below(20) == 0) && i + 1 < len)
			t[i] = '/';
		else
			t[i] = "abcdefghijklmnopqrstuvwxyz.0123456789"[below(37)];
		comp = t[i] == '/' ? 0 : comp + 1;
	}
	t[len] = '\0';
	return t;
}

static long long wlen(void)
{
	uint64_t r = below(100);

	if (r < 50)
		return 1 + below(4096);
	if (r < 80)
		return 4097 + below(65536 - 4096);
	return 65537 + below(MAXW - 65536);
}

static int pick_type(void)
{
	int w[OP_N], sum = 0, k;

	for (int i = 0; i < OP_N; i++) {
		w[i] = op_weight[i] * 4;
		if (nents > 250 && (i == OP_CREATE || i == OP_MKDIR || i == OP_SYMLINK ||
				    i == OP_MKFIFO || i == OP_LINK))
			w[i] /= 4;
		if (nents > 250 && (i == OP_UNLINK || i == OP_RMDIR))
			w[i] *= 3;
		sum += w[i];
	}
	k = (int)below(sum);
	for (int i = 0; i < OP_N; i++) {
		if (k < w[i])
			return i;
		k -= w[i];
	}
	return OP_READ;
}

static void gen_one(struct model *m, struct op *o, long long maxbytes)
{
	struct ent *e;
	long long size;

	memset(o, 0, sizeof(*o));
	o->type = pick_type();
	o->seed = rnd();
	switch (o->type) {
	case OP_CREATE:
	case OP_MKDIR:
	case OP_SYMLINK:
	case OP_MKFIFO:
		o->a = below(10) ? new_path() : some_path(M_ANY, 100);
		o->mode = (unsigned)below(01000);
		if (o->type == OP_SYMLINK)
			o->b = sym_target();
		break;
	case OP_WRITE:
	case OP_OSYNC:
	case OP_APPEND:
	case OP_MMAP:
	case OP_READ:
	case OP_TRUNC:
	case OP_FSYNC:
	case OP_FDATASYNC:
		e = below(100) < 92 ? pick(M_REG) : NULL;
		o->a = e ? xstrdup(e->path) : some_path(M_ANY, 70);
		size = e ? e->ino->size : 0;
		o->len = wlen();
		if (o->type == OP_MMAP) {
			o->len = 1 + below(65536);
			o->off = size ? (long long)below(size) : 0;
			o->flag = (int)below(2);
		} else if (o->type == OP_READ) {
			o->off = (long long)below(size + 100);
		} else if (o->type == OP_TRUNC) {
			uint64_t r = below(100);

			o->off = r < 40 ? (long long)below(size + 1) : r < 70 ? size + (long long)below(1 << 20) :
				 r < 80 ? 0 : (long long)below(8 << 20);
			if (o->off > size && m->bytes + o->off - size > maxbytes)
				o->off = size / 2;
		} else {
			uint64_t r = below(100);

			o->off = r < 40 ? (long long)below(size + 1) : r < 60 ? size :
				 r < 85 ? size + (long long)below(65536) : size + (long long)below(4 << 20);
			if (o->type == OP_APPEND)
				o->off = size;
			if (o->off + o->len > size && m->bytes + o->off + o->len - size > maxbytes) {
				o->off = 0;
				if (o->len > size)
					o->len = size > 0 ? size : 1;
			}
		}
		break;
	case OP_UNLINK:
		e = below(100) < 85 ? pick(M_REG | M_LNK | M_FIFO) : NULL;
		o->a = e ? xstrdup(e->path) : some_path(M_DIR, 70);
		break;
	case OP_RMDIR:
		e = below(100) < 60 ? pick(M_DIR | M_EMPTYDIR) : NULL;
		o->a = e ? xstrdup(e->path) : some_path(M_DIR, 60);
		break;
	case OP_RENAME: {
		uint64_t r = below(100);

		e = below(100) < 95 ? pick(M_ANY) : NULL;
		o->a = e ? xstrdup(e->path) : new_path();
		if (e && r < 25) {
			struct ent *t = pick(1 << e->ino->type);

			o->b = xstrdup(t ? t->path : e->path);
		} else if (e && r < 35) {
			o->b = xstrdup(e->path);
		} else if (e && r < 45 && e->ino->type == T_DIR) {
			/* into itself or one of its subdirectories */
			struct ent *t = NULL;
			char name[256];

			for (int k = 0; k < 8 && !t; k++) {
				t = pick(M_DIR);
				if (t && !anc_or_self(e->ino, t->ino))
					t = NULL;
			}
			rand_name(name);
			o->b = join(t ? t->path : e->path, name);
		} else if (r < 60) {
			o->b = some_path(M_ANY, 100);
		} else {
			o->b = new_path();
		}
		break;
	}
	case OP_LINK:
		e = below(100) < 88 ? pick(M_REG | M_LNK | M_FIFO) : NULL;
		o->a = e ? xstrdup(e->path) : some_path(M_DIR, 50);
		o->b = below(10) ? new_path() : some_path(M_ANY, 100);
		break;
	case OP_CHMOD:
		o->a = some_path(M_ANY, 95);
		o->mode = (unsigned)below(01000) | (below(4) ? 0 : 01000);
		break;
	case OP_UTIMES:
		o->a = some_path(M_ANY, 95);
		o->sec = (long long)below(0x7fffffffULL);
		o->nsec = (long)below(1000000000);
		break;
	}
	if (o->type != OP_SYMLINK && o->b && strlen(o->b) > MAXPATH + 300) {
		free(o->b);
		o->b = new_path();
	}
}

static struct op *generate(uint64_t seed, long nops, long long maxbytes, long fs_symmax)
{
	struct model *m;

	symmax = 4095;	/* the sequence does not depend on the filesystem */
	m = new_model(1);
	struct op *ops = xmalloc(sizeof(*ops) * (size_t)nops);
	struct ino *hit;

	rng = mix64(seed) | 1;
	for (long i = 0; i < nops; i++) {
		nents = 0;
		collect(m->root, "", 0);
		gen_one(m, &ops[i], maxbytes);
		model_op(m, &ops[i], 1, -1, &hit);
		for (int k = 0; k < nents; k++)
			free(ents[k].path);
	}
	free_tree(m, m->root);
	free(m);
	symmax = fs_symmax;
	return ops;
}

/* ---- tracing ---- */

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case ENOENT: return "ENOENT";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EEXIST: return "EEXIST";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case ELOOP: return "ELOOP";
	case ENXIO: return "ENXIO";
	case ESPIPE: return "ESPIPE";
	case ENOSPC: return "ENOSPC";
	case EDQUOT: return "EDQUOT";
	case EMLINK: return "EMLINK";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EIO: return "EIO";
	case EROFS: return "EROFS";
	default: return "E?";
	}
}

static void print_op(FILE *f, long i, const struct op *o)
{
	fprintf(f, "%ld %s %s", i, op_names[o->type], o->a);
	switch (o->type) {
	case OP_RENAME:
	case OP_LINK:
		fprintf(f, " %s", o->b);
		break;
	case OP_SYMLINK:
		fprintf(f, " target_len=%zu", strlen(o->b));
		break;
	case OP_CREATE:
	case OP_MKDIR:
	case OP_MKFIFO:
	case OP_CHMOD:
		fprintf(f, " mode=%04o", o->mode);
		break;
	case OP_UTIMES:
		fprintf(f, " mtime=%lld.%09ld", o->sec, o->nsec);
		break;
	case OP_TRUNC:
		fprintf(f, " size=%lld", o->off);
		break;
	case OP_APPEND:
		fprintf(f, " len=%lld seed=%016" PRIx64, o->len, o->seed);
		break;
	case OP_WRITE:
	case OP_OSYNC:
	case OP_MMAP:
	case OP_READ:
		fprintf(f, " off=%lld len=%lld", o->off, o->len);
		if (o->type != OP_READ)
			fprintf(f, " seed=%016" PRIx64, o->seed);
		if (o->type == OP_MMAP && o->flag)
			fprintf(f, " msync");
		break;
	}
}

/* ---- running ---- */

struct opts {
	long check_every;
	const char *fsync_log;
	int no_mmap, enospc, coarse, verbose;
	long long maxbytes;
	long fault;
};

static struct opts opt;
static int dirfd_root;
static const char *root_path;
static unsigned char *wbuf, *rbuf;
static long cur_op;

static int mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int mismatch(const char *fmt, ...)
{
	va_list ap;

	printf("wlgen: MISMATCH op=%ld ", cur_op);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return 1;
}

/* pwrite all of buf or stop at the first error; *done = bytes written. */
static int pwrite_all(int fd, const unsigned char *buf, long long len, long long off, long long *done,
		      int append)
{
	*done = 0;
	while (*done < len) {
		ssize_t r = append ? write(fd, buf + *done, (size_t)(len - *done)) :
			    pwrite(fd, buf + *done, (size_t)(len - *done), off + *done);

		if (r < 0)
			return errno;
		if (r == 0)
			return ENOSPC;
		*done += r;
	}
	return 0;
}

/*
 * Applies o to the filesystem: 0 or errno; *count: bytes written for the
 * write kinds. For reads, the bytes come back in rbuf (*count of them).
 */
static int fs_op(long idx, const struct op *o, long long *count)
{
	int fault = idx == opt.fault;
	int fd, err = 0, flags;
	struct stat st;

	*count = -1;
	switch (o->type) {
	case OP_CREATE:
		fd = openat(dirfd_root, o->a, O_CREAT | O_EXCL | O_WRONLY, o->mode ^ (unsigned)fault);
		if (fd < 0)
			return errno;
		return close(fd) ? errno : 0;
	case OP_MKDIR:
		return mkdirat(dirfd_root, o->a, o->mode ^ (unsigned)fault) ? errno : 0;
	case OP_MKFIFO:
		return mknodat(dirfd_root, o->a, S_IFIFO | (o->mode ^ (unsigned)fault), 0) ? errno : 0;
	case OP_SYMLINK:
		return symlinkat(o->b, dirfd_root, o->a) ? errno : 0;
	case OP_UNLINK:
		return unlinkat(dirfd_root, o->a, 0) ? errno : 0;
	case OP_RMDIR:
		return unlinkat(dirfd_root, o->a, AT_REMOVEDIR) ? errno : 0;
	case OP_RENAME:
		return renameat(dirfd_root, o->a, dirfd_root, o->b) ? errno : 0;
	case OP_LINK:
		return linkat(dirfd_root, o->a, dirfd_root, o->b, 0) ? errno : 0;
	case OP_CHMOD:
		return fchmodat(dirfd_root, o->a, o->mode ^ (unsigned)fault, 0) ? errno : 0;
	case OP_UTIMES: {
		struct timespec ts[2] = { { o->sec, o->nsec }, { o->sec, o->nsec } };

		return utimensat(dirfd_root, o->a, ts, AT_SYMLINK_NOFOLLOW) ? errno : 0;
	}
	case OP_TRUNC:
		/* relative to DIR, the working directory (no truncateat) */
		return truncate(o->a, o->off + fault) ? errno : 0;
	case OP_FSYNC:
	case OP_FDATASYNC:
		fd = openat(dirfd_root, o->a, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			return errno;
		if (o->type == OP_FSYNC ? fsync(fd) : fdatasync(fd))
			err = errno;
		close(fd);
		return err;
	case OP_READ:
		fd = openat(dirfd_root, o->a, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			return errno;
		*count = 0;
		while (*count < o->len) {
			ssize_t r = pread(fd, rbuf + *count, (size_t)(o->len - *count), o->off + *count);

			if (r < 0) {
				err = errno;
				break;
			}
			if (r == 0)
				break;
			*count += r;
		}
		close(fd);
		return err;
	case OP_WRITE:
	case OP_OSYNC:
	case OP_APPEND:
		flags = O_WRONLY | O_NOFOLLOW | O_NONBLOCK;
		if (o->type == OP_OSYNC)
			flags |= O_SYNC;
		if (o->type == OP_APPEND)
			flags |= O_APPEND;
		fd = openat(dirfd_root, o->a, flags);
		if (fd < 0)
			return errno;
		fill(o->seed, wbuf, (size_t)o->len);
		wbuf[0] ^= (unsigned char)(fault ? 0xff : 0);
		err = pwrite_all(fd, wbuf, o->len, o->off, count, o->type == OP_APPEND);
		if (close(fd) && !err)
			err = errno;
		return err;
	case OP_MMAP: {
		long long len, pg = sysconf(_SC_PAGESIZE), start;
		unsigned char *map;

		fd = openat(dirfd_root, o->a, O_RDWR | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			return errno;
		if (fstat(fd, &st)) {
			err = errno;
			close(fd);
			return err;
		}
		len = S_ISREG(st.st_mode) ? mmap_len(o, st.st_size) : 0;
		*count = 0;
		if (len <= 0) {
			close(fd);
			return 0;
		}
		fill(o->seed, wbuf, (size_t)len);
		wbuf[0] ^= (unsigned char)(fault ? 0xff : 0);
		if (opt.no_mmap || opt.enospc) {
			err = pwrite_all(fd, wbuf, len, o->off, count, 0);
			if (!err && o->flag && fdatasync(fd))
				err = errno;
			close(fd);
			return err;
		}
		start = o->off / pg * pg;
		map = mmap(NULL, (size_t)(o->off + len - start), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			   start);
		if (map == MAP_FAILED) {
			err = errno;
			close(fd);
			return err;
		}
		memcpy(map + (o->off - start), wbuf, (size_t)len);
		if (o->flag && msync(map, (size_t)(o->off + len - start), MS_SYNC))
			err = errno;
		if (munmap(map, (size_t)(o->off + len - start)) && !err)
			err = errno;
		close(fd);
		*count = len;
		return err;
	}
	}
	return EINVAL;
}

/* ---- comparing the tree ---- */

struct seen {
	unsigned long long dev_ino;
	long id;
};

static struct seen *seen;
static long nseen, capseen;
static long long st_files, st_dirs, st_bytes;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_dent(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static const char *tname(int t)
{
	return t == T_REG ? "file" : t == T_DIR ? "dir" : t == T_LNK ? "symlink" : t == T_FIFO ? "fifo" :
	       "other";
}

static int st_type(mode_t m)
{
	return S_ISREG(m) ? T_REG : S_ISDIR(m) ? T_DIR : S_ISLNK(m) ? T_LNK : S_ISFIFO(m) ? T_FIFO : 0;
}

static int cmp_content(int dfd, const char *name, const char *path, struct ino *n)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	long long off = 0;

	if (fd < 0)
		return mismatch("check %s: open: %s", path, strerror(errno));
	while (off < n->size) {
		long long want = n->size - off > MAXW ? MAXW : n->size - off;
		ssize_t r = pread(fd, rbuf, (size_t)want, off);

		if (r <= 0) {
			close(fd);
			return mismatch("check %s: read at %lld: %s", path, off,
					r < 0 ? strerror(errno) : "early end of file");
		}
		if (memcmp(rbuf, n->data + off, (size_t)r)) {
			long long k = 0;

			while (rbuf[k] == n->data[off + k])
				k++;
			close(fd);
			return mismatch("check %s: content at offset %lld: expected 0x%02x got 0x%02x", path,
					off + k, n->data[off + k], rbuf[k]);
		}
		off += r;
	}
	close(fd);
	return 0;
}

static int walk(struct ino *d, int dfd, const char *path, int top)
{
	char **names = NULL;
	int nnames = 0, cap = 0, i, j, rc = 0;
	int dup_fd = dup(dfd);
	DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;

	if (!dir)
		return mismatch("check %s: opendir: %s", path, strerror(errno));
	rewinddir(dir);	/* the duplicate shares the offset of earlier walks */
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (top && !strcmp(de->d_name, "lost+found"))
			continue;
		if (nnames == cap) {
			cap = cap ? 2 * cap : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[nnames++] = xstrdup(de->d_name);
	}
	closedir(dir);
	qsort(names, nnames, sizeof(*names), cmp_str);
	qsort(d->ents, d->nents, sizeof(*d->ents), cmp_dent);
	for (i = 0, j = 0; i < d->nents || j < nnames;) {
		int c = i >= d->nents ? 1 : j >= nnames ? -1 : strcmp(d->ents[i].name, names[j]);

		if (c) {
			const char *nm = c < 0 ? d->ents[i].name : names[j];

			rc = mismatch("check %s%s%s: %s", path, *path ? "/" : "", nm,
				      c < 0 ? "missing on disk" : "on disk, not in the model");
			goto out;
		}
		i++;
		j++;
	}
	for (i = 0; i < d->nents; i++) {
		struct ino *n = d->ents[i].ino;
		char *p = join(path, d->ents[i].name);
		struct stat st;

		if (fstatat(dfd, d->ents[i].name, &st, AT_SYMLINK_NOFOLLOW)) {
			rc = mismatch("check %s: lstat: %s", p, strerror(errno));
		} else if (st_type(st.st_mode) != n->type) {
			rc = mismatch("check %s: type expected %s got %s", p, tname(n->type),
				      tname(st_type(st.st_mode)));
		} else if (n->type != T_LNK && (st.st_mode & 07777) != n->mode) {
			rc = mismatch("check %s: mode expected %04o got %04o", p, n->mode,
				      (unsigned)(st.st_mode & 07777));
		} else if ((long)st.st_nlink != n->nlink) {
			rc = mismatch("check %s: nlink expected %ld got %ld", p, n->nlink, (long)st.st_nlink);
		} else if (n->mt_known && (st.st_mtim.tv_sec != n->mt_sec ||
					   (!opt.coarse && st.st_mtim.tv_nsec != n->mt_nsec))) {
			rc = mismatch("check %s: mtime expected %lld.%09ld got %lld.%09ld", p, n->mt_sec,
				      n->mt_nsec, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
		} else if (n->type == T_REG && st.st_size != n->size) {
			rc = mismatch("check %s: size expected %lld got %lld", p, n->size,
				      (long long)st.st_size);
		} else if (n->type == T_REG) {
			rc = cmp_content(dfd, d->ents[i].name, p, n);
		} else if (n->type == T_LNK) {
			char buf[4200];
			ssize_t r = readlinkat(dfd, d->ents[i].name, buf, sizeof(buf) - 1);

			if (r < 0)
				rc = mismatch("check %s: readlink: %s", p, strerror(errno));
			else if ((buf[r] = '\0', strcmp(buf, n->target)))
				rc = mismatch("check %s: symlink target expected length %zu got %zd", p,
					      strlen(n->target), r);
			else if (st.st_size != (off_t)strlen(n->target))
				rc = mismatch("check %s: symlink size %lld", p, (long long)st.st_size);
		} else if (n->type == T_DIR) {
			int sub = openat(dfd, d->ents[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

			if (sub < 0) {
				rc = mismatch("check %s: open: %s", p, strerror(errno));
			} else {
				rc = walk(n, sub, p, 0);
				close(sub);
			}
			st_dirs++;
		}
		if (!rc && n->type != T_DIR) {
			if (nseen == capseen) {
				capseen = capseen ? 2 * capseen : 256;
				seen = xrealloc(seen, capseen * sizeof(*seen));
			}
			seen[nseen].dev_ino = (unsigned long long)st.st_ino;
			seen[nseen++].id = n->id;
		}
		free(p);
		if (rc)
			goto out;
	}
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int cmp_seen_ino(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->dev_ino < y->dev_ino ? -1 : x->dev_ino > y->dev_ino ? 1 :
	       x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_seen_id(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id ? 1 :
	       x->dev_ino < y->dev_ino ? -1 : x->dev_ino > y->dev_ino;
}

/* Walks DIR against the model; also hard links: same inode iff same model inode. */
static int check_tree(struct model *m)
{
	struct stat st;
	int rc;

	nseen = 0;
	st_files = st_dirs = st_bytes = 0;
	if (fstat(dirfd_root, &st))
		return mismatch("check .: fstat: %s", strerror(errno));
	if ((long)st.st_nlink != m->root->nlink)
		return mismatch("check .: nlink expected %ld got %ld", m->root->nlink, (long)st.st_nlink);
	rc = walk(m->root, dirfd_root, "", 1);
	if (rc)
		return rc;
	qsort(seen, nseen, sizeof(*seen), cmp_seen_ino);
	for (long i = 1; i < nseen; i++)
		if (seen[i].dev_ino == seen[i - 1].dev_ino && seen[i].id != seen[i - 1].id)
			return mismatch("check: two model inodes share disk inode %llu", seen[i].dev_ino);
	qsort(seen, nseen, sizeof(*seen), cmp_seen_id);
	for (long i = 0; i < nseen; i++) {
		if (i && seen[i].id == seen[i - 1].id) {
			if (seen[i].dev_ino != seen[i - 1].dev_ino)
				return mismatch("check: hard links of one model inode on disk inodes %llu and %llu",
						seen[i - 1].dev_ino, seen[i].dev_ino);
			continue;
		}
		st_files++;
	}
	st_bytes = m->bytes;
	return 0;
}

/* ---- fsync log ---- */

static int log_fd = -1;

static int sync_dirs(const char *path)
{
	char *p = xstrdup(path);
	char *slash;
	int rc = 0;

	for (;;) {
		int fd;

		slash = strrchr(p, '/');
		if (slash)
			*slash = '\0';
		fd = slash ? openat(dirfd_root, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) : dup(dirfd_root);
		if (fd < 0 || fsync(fd)) {
			rc = mismatch("fsync of directory %s: %s", slash ? p : ".", strerror(errno));
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		if (!slash)
			break;
	}
	free(p);
	return rc;
}

static void log_write(const char *line, size_t len)
{
	if (write(log_fd, line, len) != (ssize_t)len || fsync(log_fd)) {
		fprintf(stderr, "wlgen: writing the fsync log: %s\n", strerror(errno));
		exit(2);
	}
}

/* After a sync of path: its directories, then the log line. */
static int log_sync(const struct op *o, struct ino *n)
{
	char line[4200];
	int len;

	if (sync_dirs(o->a))
		return 1;
	if (o->type == OP_FSYNC || o->type == OP_FDATASYNC) {
		len = snprintf(line, sizeof(line), "F %s %lld %016" PRIx64 "\n", o->a, n->size,
			       fnv(FNV0, n->data, (size_t)n->size));
	} else {
		long long off = o->off, l = o->type == OP_MMAP ? mmap_len(o, n->size) : o->len;

		len = snprintf(line, sizeof(line), "R %s %lld %lld %016" PRIx64 "\n", o->a, off, l,
			       fnv(FNV0, n->data + off, (size_t)l));
	}
	log_write(line, (size_t)len);
	return 0;
}

static int path_under(const char *q, const char *p)
{
	size_t n = strlen(q);

	return !strncmp(q, p, n) && (p[n] == '\0' || p[n] == '/');
}

static int modifies(const struct op *o)
{
	return o->type == OP_WRITE || o->type == OP_OSYNC || o->type == OP_APPEND ||
	       o->type == OP_MMAP || o->type == OP_TRUNC;
}

/*
 * The sync plan over the executed sequence (see "The fsync guarantee"):
 * killed[k] is -2 when the k-th executed op logs nothing, -1 when it logs
 * a sync nothing later invalidates, else the executed index j of the first
 * later op that may change what it logged. The op list is simulated on a
 * model without data.
 */
static long *plan_syncs(struct op *ops, long *run, long nrun)
{
	struct model *m = new_model(1);
	long *mod = xmalloc(sizeof(long) * (size_t)(nrun ? nrun : 1));
	long *target = xmalloc(sizeof(long) * (size_t)(nrun ? nrun : 1));
	long *killed = xmalloc(sizeof(long) * (size_t)(nrun ? nrun : 1));
	struct ino *hit;

	for (long k = 0; k < nrun; k++) {
		struct op *o = &ops[run[k]];
		int err = model_op(m, o, 1, -1, &hit);
		int sync = o->type == OP_FSYNC || o->type == OP_FDATASYNC || o->type == OP_OSYNC ||
			   o->type == OP_MMAP;

		/* hit may be freed by an unlink: look only after the op kind */
		mod[k] = modifies(o) && !err && hit ? hit->id : -1;
		target[k] = -1;
		if (sync && !err && hit && hit->type == T_REG &&
		    (o->type != OP_MMAP || (o->flag && mmap_len(o, hit->size) > 0)))
			target[k] = hit->id;
	}
	for (long k = 0; k < nrun; k++) {
		const char *p = ops[run[k]].a;

		killed[k] = target[k] >= 0 ? -1 : -2;
		for (long j = k + 1; j < nrun && killed[k] == -1; j++) {
			struct op *o = &ops[run[j]];

			if (mod[j] == target[k])
				killed[k] = j;
			if ((o->type == OP_UNLINK || o->type == OP_RMDIR || o->type == OP_RENAME) &&
			    (path_under(o->a, p) || (o->type == OP_RENAME && path_under(o->b, p))))
				killed[k] = j;
		}
	}
	free(mod);
	free(target);
	free_tree(m, m->root);
	free(m);
	return killed;
}

/* ---- commands ---- */

static long long num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	if (*s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "wlgen: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static uint64_t unum(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "wlgen: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: wlgen run DIR SEED NOPS [--ops FILE] [--only|--without KIND,...]\n"
		"                 [--check-every K] [--fsync-log FILE]\n"
		"                 [--no-mmap] [--max-bytes B] [--enospc] [--coarse-times] [--verbose]\n"
		"       wlgen check-fsynced DIR FILE\n"
		"       wlgen trace SEED NOPS\n");
	return 2;
}

static long *read_list(const char *file, long nops, long *nrun)
{
	FILE *f = fopen(file, "r");
	char *keep = xmalloc((size_t)nops + 1);
	long *run = xmalloc(sizeof(long) * (size_t)(nops + 1));
	long long v;

	if (!f) {
		fprintf(stderr, "wlgen: %s: %s\n", file, strerror(errno));
		exit(2);
	}
	memset(keep, 0, (size_t)nops + 1);
	while (fscanf(f, "%lld", &v) == 1) {
		if (v < 0 || v >= nops) {
			fprintf(stderr, "wlgen: %s: index %lld out of range\n", file, v);
			exit(2);
		}
		keep[v] = 1;
	}
	if (!feof(f)) {
		fprintf(stderr, "wlgen: %s: not a list of numbers\n", file);
		exit(2);
	}
	fclose(f);
	*nrun = 0;
	for (long i = 0; i < nops; i++)
		if (keep[i])
			run[(*nrun)++] = i;
	free(keep);
	return run;
}

static char skip_kind[OP_N];

/* --only LIST / --without LIST: comma-separated operation names. */
static void kinds(const char *list, int only)
{
	char *l = xstrdup(list), *save = NULL;

	for (int t = 0; t < OP_N; t++)
		skip_kind[t] = only ? 1 : skip_kind[t];
	for (char *w = strtok_r(l, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int t = 0;

		while (t < OP_N && strcmp(op_names[t], w))
			t++;
		if (t == OP_N) {
			fprintf(stderr, "wlgen: unknown operation '%s'\n", w);
			exit(2);
		}
		skip_kind[t] = !only;
	}
	free(l);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_run(int argc, char **argv)
{
	const char *ops_file = NULL, *fault = getenv("WLGEN_FAULT");
	uint64_t seed;
	long nops, nrun, *run;
	struct op *ops;
	struct model *m;
	long *killed = NULL, *kfirst = NULL, *knext = NULL;
	struct stat st, lst;
	struct statfs sfs;
	DIR *dir;
	struct dirent *de;
	double t0 = now();

	if (argc < 5)
		return usage();
	root_path = argv[2];
	seed = unum(argv[3]);
	nops = (long)num(argv[4]);
	opt.maxbytes = 64LL << 20;
	opt.fault = fault && *fault ? (long)num(fault) : -1;
	for (int i = 5; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--ops") && i + 1 < argc)
			ops_file = argv[++i];
		else if (!strcmp(a, "--check-every") && i + 1 < argc)
			opt.check_every = (long)num(argv[++i]);
		else if (!strcmp(a, "--fsync-log") && i + 1 < argc)
			opt.fsync_log = argv[++i];
		else if (!strcmp(a, "--max-bytes") && i + 1 < argc)
			opt.maxbytes = num(argv[++i]);
		else if ((!strcmp(a, "--only") || !strcmp(a, "--without")) && i + 1 < argc)
			kinds(argv[i + 1], !strcmp(a, "--only")), i++;
		else if (!strcmp(a, "--no-mmap"))
			opt.no_mmap = 1;
		else if (!strcmp(a, "--enospc"))
			opt.enospc = 1;
		else if (!strcmp(a, "--coarse-times"))
			opt.coarse = 1;
		else if (!strcmp(a, "--verbose"))
			opt.verbose = 1;
		else
			return usage();
	}
	if (opt.enospc && opt.fsync_log) {
		fprintf(stderr, "wlgen: --enospc and --fsync-log exclude each other\n");
		return 2;
	}

	umask(0);
	dirfd_root = open(root_path, O_RDONLY | O_DIRECTORY);
	if (dirfd_root < 0 || fstat(dirfd_root, &st)) {
		fprintf(stderr, "wlgen: %s: %s\n", root_path, strerror(errno));
		return 2;
	}
	dir = fdopendir(dup(dirfd_root));
	while (dir && (de = readdir(dir))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "lost+found")) {
			fprintf(stderr, "wlgen: %s is not empty (%s)\n", root_path, de->d_name);
			return 2;
		}
	}
	if (dir)
		closedir(dir);
	if (fchdir(dirfd_root)) {
		fprintf(stderr, "wlgen: chdir %s: %s\n", root_path, strerror(errno));
		return 2;
	}
	if (fstatfs(dirfd_root, &sfs) == 0 && sfs.f_bsize > 0 && sfs.f_bsize - 1 < symmax)
		symmax = (long)sfs.f_bsize - 1;
	if (opt.fsync_log) {
		log_fd = open(opt.fsync_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (log_fd < 0 || fstat(log_fd, &lst)) {
			fprintf(stderr, "wlgen: %s: %s\n", opt.fsync_log, strerror(errno));
			return 2;
		}
		if (lst.st_dev == st.st_dev) {
			fprintf(stderr, "wlgen: the fsync log must be on another filesystem than %s\n",
				root_path);
			return 2;
		}
	}

	ops = generate(seed, nops, opt.maxbytes, symmax);
	if (ops_file) {
		run = read_list(ops_file, nops, &nrun);
	} else {
		run = xmalloc(sizeof(long) * (size_t)(nops + 1));
		for (long i = 0; i < nops; i++)
			run[i] = i;
		nrun = nops;
	}
	{
		long kept = 0;

		for (long k = 0; k < nrun; k++)
			if (!skip_kind[ops[run[k]].type])
				run[kept++] = run[k];
		nrun = kept;
	}
	if (opt.fsync_log) {
		killed = plan_syncs(ops, run, nrun);
		/* the syncs each op invalidates, as lists */
		kfirst = xmalloc(sizeof(long) * (size_t)(nrun + 1));
		knext = xmalloc(sizeof(long) * (size_t)(nrun + 1));
		for (long k = 0; k < nrun; k++)
			kfirst[k] = -1;
		for (long k = nrun - 1; k >= 0; k--) {
			if (killed[k] >= 0) {
				knext[k] = kfirst[killed[k]];
				kfirst[killed[k]] = k;
			}
		}
	}

	m = new_model(0);
	m->root->nlink = (long)st.st_nlink;
	wbuf = xmalloc(MAXW);
	rbuf = xmalloc(MAXW);
	cur_op = -1;
	for (long k = 0; k < nrun; k++) {
		struct op *o = &ops[run[k]];
		struct ino *hit;
		long long count;
		int want, got;

		cur_op = run[k];
		/* before op k runs: "! P" for each logged sync it may change */
		for (long i = killed ? kfirst[k] : -1; i >= 0; i = knext[i]) {
			char line[4200];
			int len = snprintf(line, sizeof(line), "! %s\n", ops[run[i]].a);

			log_write(line, (size_t)len);
		}
		want = model_op(m, o, 0, -1, &hit);
		got = fs_op(run[k], o, &count);
		if (opt.verbose) {
			print_op(stdout, run[k], o);
			printf(" -> %s\n", errname(got));
		}
		if (opt.enospc && want == 0 && (got == ENOSPC || got == EDQUOT)) {
			/* a failed write may still have set mtime */
			forget_mtime(m, o->a);
			if (o->b && o->type != OP_SYMLINK)
				forget_mtime(m, o->b);
			if (count > 0 && (o->type == OP_WRITE || o->type == OP_OSYNC ||
					  o->type == OP_APPEND || o->type == OP_MMAP))
				model_op(m, o, 1, count, &hit);
			continue;
		}
		if (want != got) {
			print_op(stdout, run[k], o);
			printf("\n");
			return mismatch("%s %s: expected %s got %s (%s)", op_names[o->type], o->a,
					errname(want), errname(got), strerror(got));
		}
		if (want)
			continue;
		if (o->type == OP_READ) {
			long long exp = o->off >= hit->size ? 0 :
					o->off + o->len > hit->size ? hit->size - o->off : o->len;

			if (count != exp)
				return mismatch("read %s off=%lld: expected %lld bytes got %lld", o->a, o->off,
						exp, count);
			for (long long b = 0; b < count; b++)
				if (rbuf[b] != hit->data[o->off + b])
					return mismatch("read %s: byte at %lld expected 0x%02x got 0x%02x",
							o->a, o->off + b, hit->data[o->off + b], rbuf[b]);
		}
		model_op(m, o, 1, -1, &hit);
		if (killed && killed[k] >= -1 && log_sync(o, hit))
			return 1;
		if (opt.check_every && (k + 1) % opt.check_every == 0 && check_tree(m))
			return 1;
	}
	if (check_tree(m))
		return 1;
	printf("wlgen: ok ops=%ld files=%lld dirs=%lld bytes=%lld\n", nrun, st_files, st_dirs, st_bytes);
	fprintf(stderr, "wlgen: %ld ops in %.3f s\n", nrun, now() - t0);
	return 0;
}

static int cmd_trace(int argc, char **argv)
{
	struct op *ops;
	long nops;

	if (argc != 4)
		return usage();
	nops = (long)num(argv[3]);
	ops = generate(unum(argv[2]), nops, 64LL << 20, 4095);
	for (long i = 0; i < nops; i++) {
		print_op(stdout, i, &ops[i]);
		printf("\n");
	}
	return 0;
}

struct logged {
	char *path;
	int whole;		/* F: the whole file; R: a range */
	long long a, b;		/* F: size; R: offset, length */
	uint64_t hash;
	int live;
	long line;
};

/* Checks one logged sync against DIR: 0, or 1 after a FSYNC-LOST line. */
static int check_logged(int dfd, const struct logged *l)
{
	int fd = openat(dfd, l->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	long long off = l->whole ? 0 : l->a, end = l->whole ? l->a : l->a + l->b;
	uint64_t h = FNV0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st)) {
		printf("wlgen: FSYNC-LOST line=%ld %s: %s\n", l->line, l->path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode) || (l->whole ? st.st_size != end : st.st_size < end)) {
		printf("wlgen: FSYNC-LOST line=%ld %s: expected a file of %s%lld bytes, got %s of %lld\n",
		       l->line, l->path, l->whole ? "" : "at least ", end, tname(st_type(st.st_mode)),
		       (long long)st.st_size);
		close(fd);
		return 1;
	}
	while (off < end) {
		ssize_t r = pread(fd, rbuf, end - off > MAXW ? MAXW : (size_t)(end - off), off);

		if (r <= 0) {
			printf("wlgen: FSYNC-LOST line=%ld %s: read at %lld failed\n", l->line, l->path, off);
			close(fd);
			return 1;
		}
		h = fnv(h, rbuf, (size_t)r);
		off += r;
	}
	close(fd);
	if (h != l->hash) {
		printf("wlgen: FSYNC-LOST line=%ld %s: %s hash expected %016" PRIx64 " got %016" PRIx64 "\n",
		       l->line, l->path, l->whole ? "file" : "range", l->hash, h);
		return 1;
	}
	return 0;
}

static int cmd_check_fsynced(int argc, char **argv)
{
	struct logged *ls = NULL;
	long nls = 0, cap = 0, lines = 0, checked = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	FILE *f;
	int dfd;

	if (argc != 4)
		return usage();
	dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	f = fopen(argv[3], "r");
	if (dfd < 0 || !f) {
		fprintf(stderr, "wlgen: %s: %s\n", dfd < 0 ? argv[2] : argv[3], strerror(errno));
		return 2;
	}
	while ((len = getline(&line, &lcap, f)) > 0) {
		char path[4200], hash[32];
		struct logged l = { .live = 1 };
		int n = 0;

		if (line[len - 1] != '\n')
			break;	/* torn last line */
		lines++;
		if (len > 4000)
			goto bad;
		if (line[0] == '!' && sscanf(line, "! %s%n", path, &n) == 1 && line[n] == '\n') {
			for (long i = 0; i < nls; i++)
				if (ls[i].live && !strcmp(ls[i].path, path))
					ls[i].live = 0;
			continue;
		}
		if (line[0] == 'F' && sscanf(line, "F %s %lld %16s%n", path, &l.a, hash, &n) == 3)
			l.whole = 1;
		else if (line[0] != 'R' || sscanf(line, "R %s %lld %lld %16s%n", path, &l.a, &l.b, hash, &n) != 4)
			goto bad;
		if (line[n] != '\n')
			goto bad;
		l.hash = strtoull(hash, NULL, 16);
		l.path = xstrdup(path);
		l.line = lines;
		if (nls == cap) {
			cap = cap ? 2 * cap : 64;
			ls = xrealloc(ls, cap * sizeof(*ls));
		}
		ls[nls++] = l;
	}
	rbuf = xmalloc(MAXW);
	for (long i = 0; i < nls; i++) {
		if (!ls[i].live)
			continue;
		if (check_logged(dfd, &ls[i]))
			return 1;
		checked++;
	}
	printf("wlgen: fsynced ok lines=%ld checked=%ld\n", lines, checked);
	return 0;
bad:
	fprintf(stderr, "wlgen: %s: malformed line %ld\n", argv[3], lines);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "trace"))
		return cmd_trace(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "check-fsynced"))
		return cmd_check_fsynced(argc, argv);
	return usage();
}
