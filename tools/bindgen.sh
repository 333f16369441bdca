#!/bin/bash
# Generate rust/bindings_generated.rs from include/rext4_bindings.h with the
# same clang flags and bindgen options the kernel tree used for its own
# rust/bindings (saved by Kbuild in rust/bindings/.bindings_generated.rs.cmd).
#
#   tools/bindgen.sh KDIR OUT
set -euo pipefail
kdir=$1
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tools/env.sh"

cmdfile=$kdir/rust/bindings/.bindings_generated.rs.cmd
[ -f "$cmdfile" ] || { echo "bindgen.sh: $cmdfile missing: is $kdir a built 6.12 tree with CONFIG_RUST?" >&2; exit 1; }

# The clang flags: everything after " -- " up to the trailing "; sed ...",
# minus dependency-file and per-object KBUILD_* defines.
cflags=$(sed -n 's/^savedcmd_[^ ]* := .* -- \(.*\)$/\1/p' "$cmdfile" | sed 's/ ; sed .*$//' |
    tr ' ' '\n' | grep -v -e '^-Wp,-MMD' -e '^-DKBUILD_' -e '^-D__KBUILD_MODNAME' | tr '\n' ' ')
mapfile -t params < <(grep -Ev '^#|^$' "$kdir/rust/bindgen_parameters" | tr ' ' '\n')
bindgen=${BINDGEN:-$REXT4_BINDGEN}

# Only what rext4 uses (and the types it pulls in) is generated.
allow_fn='rext4_.*|try_to_free_buffers|filemap_dirty_folio|jbd2_journal_invalidate_folio|jbd2_journal_abort|jbd2_complete_transaction|jbd2_journal_try_to_free_buffers|generic_file_write_iter|iter_file_splice_write|file_write_and_wait_range|filemap_fault|filemap_map_pages|pagecache_isize_extended|truncate_pagecache|register_filesystem|unregister_filesystem|get_tree_bdev|kill_block_super|sb_min_blocksize|sb_set_blocksize|_printk|kmem_cache_free|kmem_cache_destroy|rcu_barrier|inode_init_once|iget_locked|unlock_new_inode|iget_failed|iput|d_make_root|d_splice_alias|set_nlink|init_special_inode|generic_file_read_iter|generic_file_readonly_mmap|filemap_splice_read|generic_file_llseek|vfs_setpos|generic_read_dir|generic_file_open|mpage_read_folio|mpage_readahead|block_invalidate_folio|block_is_partially_uptodate|generic_error_remove_folio|page_get_link|simple_get_link|seq_printf|generic_file_llseek_size|generic_fillattr|nop_mnt_idmap|iomap_fiemap|___ratelimit|invalidate_bdev|ihold|down_read|up_read|down_write|up_write|__fs_parse|fs_param_is_u32|fs_param_is_enum|fs_param_is_string|crc32c|posix_acl_alloc|capable|jbd2_journal_init_inode|jbd2_journal_load|jbd2_journal_destroy|jbd2_journal_wipe|jbd2_journal_flush|jbd2_journal_set_features|jbd2_journal_clear_features|unlock_buffer|jbd2_journal_start|jbd2__journal_start|jbd2_journal_stop|jbd2_journal_get_write_access|jbd2_journal_dirty_metadata|jbd2_journal_force_commit|jbd2_journal_start_commit|jbd2_journal_lock_updates|jbd2_journal_unlock_updates|jbd2_journal_errno|setattr_prepare|setattr_copy|jbd2_journal_revoke|new_inode|insert_inode_locked|d_instantiate|inc_nlink|drop_nlink|clear_nlink|truncate_inode_pages_final|clear_inode|get_random_u32|ktime_get_real_seconds|sync_filesystem|__flush_workqueue|destroy_workqueue|cancel_work_sync'
allow_ty='rext4_wb_ops|rext4_sysfs|rext4_sysfs_show_fn|rext4_sysfs_store_fn|delayed_call|transaction_t|transaction_s|vm_fault|vm_operations_struct|vm_area_struct|writeback_control|file_system_type|fs_context|fs_context_operations|fs_parameter|super_block|super_operations|buffer_head|inode|inode_operations|file_operations|address_space_operations|dentry|dir_context|kstatfs|seq_file|kmem_cache|folio|readahead_control|kstat|path|mnt_idmap|iomap|iomap_ops|fiemap_extent_info|ratelimit_state|jbd2_inode|rw_semaphore|percpu_counter|fs_parameter_spec|fs_parse_result|constant_table|fs_param_type|xattr_handler|posix_acl|posix_acl_entry|journal_s|journal_t|jbd2_journal_handle|handle_t|iattr|work_struct|workqueue_struct'
allow_var='REXT4_.*|FS_REQUIRES_DEV|nop_mnt_idmap|page_symlink_inode_operations|simple_symlink_inode_operations|DT_.*|nop_posix_acl_access|nop_posix_acl_default|ACL_USER_OBJ|ACL_USER|ACL_GROUP_OBJ|ACL_GROUP|ACL_MASK|ACL_OTHER|ACL_TYPE_ACCESS|ACL_TYPE_DEFAULT|CAP_SYS_ADMIN|CAP_SYS_RESOURCE'

# Regenerate only when the header, this script or the kernel tree changed.
key=$({ cat "$here/include/rext4_bindings.h" "$0" "$cmdfile" "$kdir/rust/bindgen_parameters"
        echo "$kdir"; } | sha256sum | cut -c1-16)
if [ -f "$out" ] && head -1 "$out" | grep -qx "// rext4-bindings-key: $key"; then
    exit 0
fi

tmp=$out.tmp
cd "$kdir"
# shellcheck disable=SC2086
"$bindgen" "$here/include/rext4_bindings.h" "${params[@]}" \
    --rust-target 1.68 --use-core --with-derive-default --ctypes-prefix kernel::ffi \
    --no-layout-tests --no-debug '.*' --enable-function-attribute-detection \
    --allowlist-function "$allow_fn" --allowlist-type "$allow_ty" --allowlist-var "$allow_var" \
    -o "$tmp" -- $cflags -I"$here/include"
{ echo "// rext4-bindings-key: $key"; cat "$tmp"; } > "$out"
rm -f "$tmp"
echo "bindgen: generated $out"
