//! Reading an ext4 image file on the host with the disk layer: superblock,
//! group descriptors, inodes, extent-mapped file data, directories,
//! symlinks. Used by the tests and by `ext4img ls`.

use crate::disk::dir::{check_block, BlockKind, Entries};
use crate::disk::extent::{self, BlockSource, Mapping};
use crate::disk::group::{desc_location, GroupDesc};
use crate::disk::inode::{flags, inode_location, Inode};
use crate::disk::superblock::{Superblock, SUPERBLOCK_OFFSET};
use crate::disk::syszone::{self, BlockRefs, Range, Zone};
use crate::disk::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::string::String;
use std::vec;
use std::vec::Vec;

/// An open image.
pub struct Image {
    file: File,
    len: u64,
    /// The superblock.
    pub sb: Superblock,
    /// All group descriptors.
    pub groups: Vec<GroupDesc>,
    /// The system zone, as the kernel builds it: sorted, merged.
    pub zone: Vec<Range>,
}

/// A directory entry as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Name bytes.
    pub name: Vec<u8>,
    /// Inode number.
    pub ino: u32,
    /// `dir::ftype::*`.
    pub file_type: u8,
}

impl BlockSource for Image {
    type Block = Vec<u8>;
    fn read(&self, pblk: u64) -> Result<Vec<u8>> {
        let bs = u64::from(self.sb.block_size());
        let off = pblk.checked_mul(bs).ok_or(Error::Io { block: pblk })?;
        if pblk >= self.sb.blocks_count || off + bs > self.len {
            return Err(Error::Io { block: pblk });
        }
        let mut b = vec![0u8; bs as usize];
        self.file
            .read_exact_at(&mut b, off)
            .map_err(|_| Error::Io { block: pblk })?;
        Ok(b)
    }
}

impl Image {
    /// Opens an image and reads its superblock and group descriptors.
    pub fn open(path: &std::path::Path) -> Result<Image> {
        let file = File::open(path).map_err(|_| Error::Io { block: 0 })?;
        let len = file.metadata().map_err(|_| Error::Io { block: 0 })?.len();
        let mut sbb = [0u8; 1024];
        file.read_exact_at(&mut sbb, SUPERBLOCK_OFFSET)
            .map_err(|_| Error::Truncated)?;
        let sb = Superblock::parse(&sbb)?;
        let mut img = Image {
            file,
            len,
            sb,
            groups: Vec::new(),
            zone: Vec::new(),
        };
        for g in 0..img.sb.group_count() as u32 {
            let (blk, off) = desc_location(&img.sb, g)?;
            let b = img.read(blk)?;
            let d = b
                .get(off..off + usize::from(img.sb.desc_size))
                .ok_or(Error::Truncated)?;
            let gd = GroupDesc::parse(&img.sb, g, d)?;
            img.groups.push(gd);
        }
        img.zone = img.build_zone()?;
        Ok(img)
    }

    /// The journal's blocks (from inode `s_journal_inum`'s extent map, as
    /// the kernel reads it at mount), empty without an internal journal.
    pub fn journal_ranges(&self) -> Result<Vec<Range>> {
        let mut out = Vec::new();
        if !self.sb.has_journal() || self.sb.journal_inum == 0 {
            return Ok(out);
        }
        let j = self.inode(self.sb.journal_inum)?;
        if !j.has_extents() {
            return Ok(out);
        }
        let nblocks = j.size / u64::from(self.sb.block_size());
        let refs = BlockRefs::bounds(self.sb.blocks_count);
        let mut lblk = 0u64;
        while lblk < nblocks {
            let m = extent::map(
                self,
                &j.block,
                lblk as u32,
                &refs,
                self.sb.block_size(),
                self.seed(&j),
            )?;
            let len = match m {
                Mapping::Mapped { pblk, len, .. } => {
                    let len = u64::from(len).min(nblocks - lblk);
                    out.push(Range::new(pblk, len));
                    len
                }
                Mapping::Hole { len } => u64::from(len),
            };
            lblk += len.max(1);
        }
        Ok(out)
    }

    /// Builds the system zone the way the kernel does at mount.
    pub fn build_zone(&self) -> Result<Vec<Range>> {
        let mut r = self.journal_ranges()?;
        r.push(syszone::boot_range(&self.sb));
        for (g, gd) in self.groups.iter().enumerate() {
            r.extend(syszone::group_ranges(&self.sb, g as u32, gd));
        }
        let n = syszone::sort_merge(&mut r)?;
        r.truncate(n);
        if Zone::new(&r).is_none() {
            return Err(Error::Corrupt {
                what: "system zone: not sorted and merged",
                value: n as u64,
            });
        }
        Ok(r)
    }

    /// What the image's block references are checked against.
    pub fn refs(&self) -> BlockRefs<'_> {
        BlockRefs {
            blocks_count: self.sb.blocks_count,
            // Checked by `build_zone`.
            zone: Zone::from_checked(&self.zone),
        }
    }

    /// The byte offset of inode `ino`'s raw bytes in the image file.
    pub fn inode_offset(&self, ino: u32) -> Result<u64> {
        let (group, off) = inode_location(&self.sb, ino)?;
        let gd = self.groups.get(group as usize).ok_or(Error::Truncated)?;
        let bs = u64::from(self.sb.block_size());
        Ok(gd.inode_table * bs + off)
    }

    /// Reads inode `ino`.
    pub fn inode(&self, ino: u32) -> Result<Inode> {
        let (group, off) = inode_location(&self.sb, ino)?;
        let gd = self.groups.get(group as usize).ok_or(Error::Truncated)?;
        let bs = u64::from(self.sb.block_size());
        let b = self.read(gd.inode_table + off / bs)?;
        let o = (off % bs) as usize;
        Inode::parse(&self.sb, ino, b.get(o..).ok_or(Error::Truncated)?)
    }

    fn seed(&self, inode: &Inode) -> Option<u32> {
        self.sb.has_metadata_csum().then_some(inode.csum_seed)
    }

    /// Maps logical block `lblk` of an extent-mapped inode.
    pub fn map(&self, inode: &Inode, lblk: u32) -> Result<Mapping> {
        if !inode.has_extents() {
            return Err(Error::Unsupported {
                what: "block-mapped (non-extent) file, inode",
                value: inode.ino.into(),
            });
        }
        extent::map(
            self,
            &inode.block,
            lblk,
            &self.refs(),
            self.sb.block_size(),
            self.seed(inode),
        )
    }

    /// Reads the whole content of a regular file (or slow symlink).
    pub fn read_file(&self, inode: &Inode) -> Result<Vec<u8>> {
        let bs = u64::from(self.sb.block_size());
        let mut out = vec![0u8; inode.size as usize];
        let nblocks = inode.size.div_ceil(bs);
        let mut lblk: u64 = 0;
        while lblk < nblocks {
            let m = self.map(inode, lblk as u32)?;
            let len = match m {
                Mapping::Hole { len } => u64::from(len),
                Mapping::Mapped {
                    pblk,
                    len,
                    unwritten,
                } => {
                    for i in 0..u64::from(len).min(nblocks - lblk) {
                        if !unwritten {
                            let b = self.read(pblk + i)?;
                            let start = ((lblk + i) * bs) as usize;
                            let end = (start + bs as usize).min(out.len());
                            out[start..end].copy_from_slice(&b[..end - start]);
                        }
                    }
                    u64::from(len)
                }
            };
            lblk += len.max(1);
        }
        Ok(out)
    }

    /// Lists a directory by linear scan, verifying block checksums.
    pub fn read_dir(&self, inode: &Inode) -> Result<Vec<Listed>> {
        let bs = u64::from(self.sb.block_size());
        let nblocks = inode.size.div_ceil(bs);
        let index = inode.flags & flags::INDEX != 0;
        let mut out = Vec::new();
        for lblk in 0..nblocks {
            let Mapping::Mapped {
                pblk,
                unwritten: false,
                ..
            } = self.map(inode, lblk as u32)?
            else {
                continue;
            };
            let b = self.read(pblk)?;
            let kind = check_block(&b, index, lblk as u32, self.seed(inode))?;
            if kind == BlockKind::DxNode {
                continue;
            }
            // Only leaves carry a tail record (a dx root's dx_tail can look
            // like one).
            let tail = self.sb.has_metadata_csum() && kind == BlockKind::Leaf;
            for e in Entries::new(&b, 0, tail, self.sb.inodes_count) {
                let e = e?;
                out.push(Listed {
                    name: e.name.to_vec(),
                    ino: e.ino,
                    file_type: e.file_type,
                });
            }
        }
        Ok(out)
    }

    /// A symlink's target.
    pub fn read_link(&self, inode: &Inode) -> Result<Vec<u8>> {
        if inode.is_fast_symlink(self.sb.block_size()) {
            return Ok(inode.fast_symlink_target()?.to_vec());
        }
        self.read_file(inode)
    }

    /// Walks the tree from the root, calling `f(path, inode)` for every
    /// entry except "." and "..", directories before their contents.
    pub fn walk(&self, f: &mut dyn FnMut(&str, &Inode)) -> Result<()> {
        let root = self.inode(crate::disk::inode::ROOT_INO)?;
        self.walk_dir(&root, String::new(), f)
    }

    fn walk_dir(&self, dir: &Inode, prefix: String, f: &mut dyn FnMut(&str, &Inode)) -> Result<()> {
        for e in self.read_dir(dir)? {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            let path = std::format!("{}/{}", prefix, String::from_utf8_lossy(&e.name));
            let child = self.inode(e.ino)?;
            f(&path, &child);
            if child.is_dir() {
                self.walk_dir(&child, path, f)?;
            }
        }
        Ok(())
    }
}
