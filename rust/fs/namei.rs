// SPDX-License-Identifier: GPL-2.0

//! Name lookup (ext4's namei.c): a linear scan of the directory's blocks.
//! (htree descent for indexed directories is being added as a disk-layer
//! walk; until then indexed directories are scanned too, their index
//! blocks skipped.)

use super::dir::{bad_entry, entries, read_block, Slot};
use super::inode::iget;
use super::INode;
use crate::disk::dir::BlockKind;
use crate::glue::errno::{efscorrupted, enametoolong};
use kernel::prelude::*;
use kernel::types::ARef;

/// Longest name ext4 stores.
const NAME_MAX: usize = 255;

/// Looks `name` up in `dir`: the inode, or `None` if there is no entry.
pub(crate) fn lookup(dir: &INode, name: &[u8]) -> Result<Option<ARef<INode>>> {
    if name.len() > NAME_MAX {
        return Err(enametoolong());
    }
    let bits = dir.block_bits();
    let nblocks = (dir.size() as u64).div_ceil(1 << bits);
    let mut lblk = 0;
    while lblk < nblocks {
        let b = match read_block(dir, lblk)? {
            Slot::Block(b) => b,
            Slot::Hole(n) => {
                lblk = lblk.saturating_add(n);
                continue;
            }
        };
        let this = lblk;
        lblk += 1;
        if b.kind == BlockKind::DxNode {
            continue;
        }
        for e in entries(dir, &b) {
            let e = e.map_err(|e| bad_entry(dir, this, e))?;
            if e.name == name {
                let ino = e.ino;
                drop(b);
                // "." and ".." never come here (the VFS resolves them), so
                // an entry naming the directory itself is corrupt.
                if u64::from(ino) == dir.ino() {
                    fs_err!(
                        dir.sb(),
                        "directory inode #{}: entry '{}' names the directory itself",
                        dir.ino(),
                        kernel::str::BStr::from_bytes(name)
                    );
                    return Err(efscorrupted());
                }
                return iget(dir.sb(), ino).map(Some);
            }
        }
    }
    Ok(None)
}
