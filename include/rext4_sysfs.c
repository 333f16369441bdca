// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/fs/rext4/<device>/: one directory per mounted filesystem, as ext4's
 * /sys/fs/ext4/<device>/. The kobject plumbing is here; the values come
 * from the filesystem through `show` and `store` (rust/glue/sysfs.rs),
 * called with the context given at creation and the attribute's number
 * (REXT4_SYSFS_* in rext4_bindings.h, the index into the names below).
 *
 * Removal: kobject_del() waits until no show or store of the directory
 * runs (kernfs drains them) and the last reference's release completes
 * `released`, which rext4_sysfs_remove waits for before freeing: no call
 * into the filesystem can come after it returns.
 */
#include "rext4_bindings.h"
#include <linux/kobject.h>
#include <linux/part_stat.h>
#include <linux/sysfs.h>

struct rext4_sysfs {
	struct kobject kobj;
	struct completion released;
	void *ctx;
	rext4_sysfs_show_fn show;
	rext4_sysfs_store_fn store;
};

/* /sys/fs/rext4, while the module is loaded. */
static struct kset *rext4_kset;

struct rext4_sysfs_attr {
	struct attribute attr;
	unsigned int id;
};

#define REXT4_ATTR(_name, _mode, _id) \
	static struct rext4_sysfs_attr rext4_attr_##_name = { \
		.attr = { .name = #_name, .mode = _mode }, .id = _id }

REXT4_ATTR(errors_count, 0444, REXT4_SYSFS_ERRORS_COUNT);
REXT4_ATTR(first_error_time, 0444, REXT4_SYSFS_FIRST_ERROR_TIME);
REXT4_ATTR(last_error_time, 0444, REXT4_SYSFS_LAST_ERROR_TIME);
REXT4_ATTR(first_error_ino, 0444, REXT4_SYSFS_FIRST_ERROR_INO);
REXT4_ATTR(last_error_ino, 0444, REXT4_SYSFS_LAST_ERROR_INO);
REXT4_ATTR(first_error_block, 0444, REXT4_SYSFS_FIRST_ERROR_BLOCK);
REXT4_ATTR(last_error_block, 0444, REXT4_SYSFS_LAST_ERROR_BLOCK);
REXT4_ATTR(first_error_line, 0444, REXT4_SYSFS_FIRST_ERROR_LINE);
REXT4_ATTR(last_error_line, 0444, REXT4_SYSFS_LAST_ERROR_LINE);
REXT4_ATTR(first_error_func, 0444, REXT4_SYSFS_FIRST_ERROR_FUNC);
REXT4_ATTR(last_error_func, 0444, REXT4_SYSFS_LAST_ERROR_FUNC);
REXT4_ATTR(first_error_errcode, 0444, REXT4_SYSFS_FIRST_ERROR_ERRCODE);
REXT4_ATTR(last_error_errcode, 0444, REXT4_SYSFS_LAST_ERROR_ERRCODE);
REXT4_ATTR(journal_task, 0444, REXT4_SYSFS_JOURNAL_TASK);
REXT4_ATTR(session_write_kbytes, 0444, REXT4_SYSFS_SESSION_WRITE_KBYTES);
REXT4_ATTR(write_errors, 0444, REXT4_SYSFS_WRITE_ERRORS);
REXT4_ATTR(write_error_latency_us, 0444, REXT4_SYSFS_WRITE_ERROR_LATENCY_US);
REXT4_ATTR(hook_writes, 0444, REXT4_SYSFS_HOOK_WRITES);
REXT4_ATTR(trigger_fs_error, 0200, REXT4_SYSFS_TRIGGER_FS_ERROR);

static struct attribute *rext4_sb_attrs[] = {
	&rext4_attr_errors_count.attr,
	&rext4_attr_first_error_time.attr,
	&rext4_attr_last_error_time.attr,
	&rext4_attr_first_error_ino.attr,
	&rext4_attr_last_error_ino.attr,
	&rext4_attr_first_error_block.attr,
	&rext4_attr_last_error_block.attr,
	&rext4_attr_first_error_line.attr,
	&rext4_attr_last_error_line.attr,
	&rext4_attr_first_error_func.attr,
	&rext4_attr_last_error_func.attr,
	&rext4_attr_first_error_errcode.attr,
	&rext4_attr_last_error_errcode.attr,
	&rext4_attr_journal_task.attr,
	&rext4_attr_session_write_kbytes.attr,
	&rext4_attr_write_errors.attr,
	&rext4_attr_write_error_latency_us.attr,
	&rext4_attr_hook_writes.attr,
	&rext4_attr_trigger_fs_error.attr,
	NULL,
};
ATTRIBUTE_GROUPS(rext4_sb);

static ssize_t rext4_sysfs_show_attr(struct kobject *kobj, struct attribute *attr, char *buf)
{
	struct rext4_sysfs *s = container_of(kobj, struct rext4_sysfs, kobj);
	struct rext4_sysfs_attr *a = container_of(attr, struct rext4_sysfs_attr, attr);

	return s->show(s->ctx, a->id, buf);
}

static ssize_t rext4_sysfs_store_attr(struct kobject *kobj, struct attribute *attr,
				      const char *buf, size_t len)
{
	struct rext4_sysfs *s = container_of(kobj, struct rext4_sysfs, kobj);
	struct rext4_sysfs_attr *a = container_of(attr, struct rext4_sysfs_attr, attr);

	return s->store(s->ctx, a->id, buf, len);
}

static const struct sysfs_ops rext4_sysfs_ops = {
	.show = rext4_sysfs_show_attr,
	.store = rext4_sysfs_store_attr,
};

static void rext4_sysfs_release(struct kobject *kobj)
{
	struct rext4_sysfs *s = container_of(kobj, struct rext4_sysfs, kobj);

	complete(&s->released);
}

static const struct kobj_type rext4_sb_ktype = {
	.default_groups = rext4_sb_groups,
	.sysfs_ops = &rext4_sysfs_ops,
	.release = rext4_sysfs_release,
};

int rext4_sysfs_init(void)
{
	rext4_kset = kset_create_and_add("rext4", NULL, fs_kobj);
	return rext4_kset ? 0 : -ENOMEM;
}

void rext4_sysfs_exit(void)
{
	kset_unregister(rext4_kset);
}

/* The directory /sys/fs/rext4/<name>; an ERR_PTR on failure. */
struct rext4_sysfs *rext4_sysfs_add(const char *name, void *ctx, rext4_sysfs_show_fn show,
				    rext4_sysfs_store_fn store)
{
	struct rext4_sysfs *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int err;

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->ctx = ctx;
	s->show = show;
	s->store = store;
	init_completion(&s->released);
	s->kobj.kset = rext4_kset;
	err = kobject_init_and_add(&s->kobj, &rext4_sb_ktype, NULL, "%s", name);
	if (err) {
		kobject_put(&s->kobj);
		wait_for_completion(&s->released);
		kfree(s);
		return ERR_PTR(err);
	}
	return s;
}

/* Removes the directory; no show or store runs afterwards. */
void rext4_sysfs_remove(struct rext4_sysfs *s)
{
	kobject_del(&s->kobj);
	kobject_put(&s->kobj);
	wait_for_completion(&s->released);
	kfree(s);
}

/* The pid of the journal's commit thread (0 if none). */
int rext4_journal_task_pid(journal_t *journal)
{
	return journal->j_task ? task_pid_vnr(journal->j_task) : 0;
}

/* Sectors written to the filesystem's device since it came up. */
u64 rext4_bdev_sectors_written(struct super_block *sb)
{
	return part_stat_read(sb->s_bdev, sectors[STAT_WRITE]);
}
