//! Small image surgery for rext4's tests: patch superblock fields of an ext4
//! image (optionally re-signing the checksum) to make corrupt or
//! unsupported test images from mke2fs output; find where a file's
//! metadata lives and corrupt single bytes of it.
//!
//! ```text
//! ext4img sb-xor  IMG OFF BYTE    xor one superblock byte, keep the old checksum
//! ext4img sb-set32 IMG OFF VALUE  set a u32 field and re-sign
//! ext4img sb-or32  IMG OFF BITS   or bits into a u32 field and re-sign
//! ext4img sb-show IMG             print the parsed superblock or the error
//! ext4img locate IMG PATH         print where PATH's metadata lives (below)
//! ext4img flip  IMG OFF BYTE      xor the byte at image offset OFF with BYTE
//! ext4img set16 IMG OFF VALUE     store a little-endian u16 at image offset OFF
//! ext4img set32 IMG OFF VALUE     store a little-endian u32 at image offset OFF
//! ext4img ls    IMG               list the whole tree: type+mode uid gid
//!                                 links size mtime path [-> target]
//! ext4img orphan-show IMG         the orphan file: its blocks and used slots
//! ext4img orphan-set IMG BLK SLOT INO
//!                                 put INO (0: free) into slot SLOT of the
//!                                 orphan file's block BLK (logical) and
//!                                 re-sign it (a crash's leftover, made here)
//! ```
//! `sb-*` offsets are relative to the superblock (byte 1024 of the image);
//! `flip`/`set*` offsets are absolute byte offsets in the image and re-sign
//! nothing. Numbers may be decimal or 0x-prefixed hex.
//!
//! `orphan-show` prints `orphan_file INO blocks N slots S`, then per block
//! `orphan_block LBLK PBLK OFF free F` (OFF: the block's byte offset in
//! the image; its tail, `ob_magic` then `ob_checksum`, is the last 8
//! bytes) or `orphan_block LBLK PBLK OFF error E`, then
//! `orphan_slot LBLK SLOT INO` for each used slot.
//!
//! `locate` resolves PATH (absolute, from the root directory; symlinks are
//! not followed) on the image, verifying the checksums of the inodes and
//! directory blocks on the way (not of extent blocks), and prints
//! one `key value...` line per fact, all offsets in bytes from the start of
//! the image:
//!
//! ```text
//! ino N                   inode number
//! inode_offset OFF        the raw inode (s_inode_size bytes)
//! i_block_offset OFF      its i_block (extent root for extent-mapped inodes)
//! mode 0100644            i_mode, octal
//! size N                  i_size
//! extent_depth D          (extent-mapped inodes) depth of the tree
//! extent_node BLK OFF     (depth >= 1) the child block of the root's first
//!                         index entry: an index node, or the leaf if depth 1
//! dir_block LBLK OFF KIND (directories) each mapped block: leaf|dx_root|dx_node
//! dirent LBLK OFF         (not the root) the record naming PATH in its
//!                         parent: the parent's logical block, and the offset
//!                         of the record (inode u32 at +0, rec_len u16 at +4)
//! ```

use ext4disk::dir::{block_kind, verify_csum, BlockKind, Entries};
use ext4disk::extent::{self, BlockSource, Mapping};
use ext4disk::image::Image;
use ext4disk::inode::{flags, inode_location, Inode, ROOT_INO};
use ext4disk::superblock::{update_superblock_csum, Superblock, SUPERBLOCK_OFFSET};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::process::ExitCode;

const USAGE: &str = "usage: ext4img sb-xor|sb-set32|sb-or32 IMG OFF VALUE | sb-show IMG | \
                     locate IMG PATH | flip IMG OFF BYTE | set16|set32 IMG OFF VALUE | \
                     orphan-show IMG | orphan-set IMG BLK SLOT INO";

fn num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("bad number {s:?}: {e}"))
}

/// Argument `i` as a number that fits in `max`.
fn arg(args: &[String], i: usize, max: u64) -> Result<u64, String> {
    let v = num(args.get(i).ok_or("missing argument")?)?;
    if v > max {
        return Err(format!("{v:#x} does not fit in {max:#x}"));
    }
    Ok(v)
}

fn disk(e: ext4disk::Error) -> String {
    e.to_string()
}

/// Byte offset of block `blk`.
fn block_offset(img: &Image, blk: u64) -> Result<u64, String> {
    blk.checked_mul(u64::from(img.sb.block_size()))
        .ok_or_else(|| format!("block {blk} out of range"))
}

/// Byte offset of inode `ino`'s raw bytes.
fn inode_offset(img: &Image, ino: u32) -> Result<u64, String> {
    let (group, off) = inode_location(&img.sb, ino).map_err(disk)?;
    let gd = img
        .groups
        .get(group as usize)
        .ok_or("inode group out of range")?;
    Ok(block_offset(img, gd.inode_table)? + off)
}

/// Calls `f(lblk, pblk, block bytes, kind)` for each mapped block of
/// directory `dir` (checksum verified under metadata_csum), stopping when
/// `f` returns true.
fn for_dir_blocks(
    img: &Image,
    dir: &Inode,
    f: &mut dyn FnMut(u64, u64, &[u8], BlockKind) -> Result<bool, String>,
) -> Result<(), String> {
    let nblocks = dir.size.div_ceil(u64::from(img.sb.block_size()));
    for lblk in 0..nblocks {
        let l32 = u32::try_from(lblk).map_err(|_| "directory too large")?;
        let Mapping::Mapped { pblk, .. } = img.map(dir, l32).map_err(disk)? else {
            continue;
        };
        let b = img.read(pblk).map_err(disk)?;
        let kind = block_kind(&b, dir.flags & flags::INDEX != 0, l32).map_err(disk)?;
        if img.sb.has_metadata_csum() {
            verify_csum(&b, kind, dir.csum_seed).map_err(disk)?;
        }
        if f(lblk, pblk, &b, kind)? {
            break;
        }
    }
    Ok(())
}

/// Finds `name` in directory `dir`: (inode number, logical block, byte
/// offset of the record in the image).
fn find(img: &Image, dir: &Inode, name: &[u8]) -> Result<Option<(u32, u64, u64)>, String> {
    let mut found = None;
    for_dir_blocks(img, dir, &mut |lblk, pblk, b, kind| {
        if kind == BlockKind::DxNode {
            return Ok(false);
        }
        let csum = img.sb.has_metadata_csum();
        for e in Entries::new(b, 0, csum, img.sb.inodes_count) {
            let e = e.map_err(disk)?;
            if e.name == name {
                found = Some((e.ino, lblk, block_offset(img, pblk)? + e.offset as u64));
                return Ok(true);
            }
        }
        Ok(false)
    })?;
    Ok(found)
}

fn locate(img_path: &str, path: &str) -> Result<(), String> {
    std::fs::metadata(img_path).map_err(|e| format!("{img_path}: {e}"))?;
    let img =
        Image::open(std::path::Path::new(img_path)).map_err(|e| format!("{img_path}: {e}"))?;
    if !path.starts_with('/') {
        return Err(format!("{path}: not an absolute path"));
    }
    let mut ino = ROOT_INO;
    let mut inode = img.inode(ino).map_err(disk)?;
    let mut dirent = None;
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        if !inode.is_dir() {
            return Err(format!(
                "{path}: a component before {comp:?} is not a directory"
            ));
        }
        let (child, lblk, off) = find(&img, &inode, comp.as_bytes())?
            .ok_or_else(|| format!("{path}: {comp:?} not found"))?;
        ino = child;
        inode = img.inode(ino).map_err(disk)?;
        dirent = Some((lblk, off));
    }
    let ioff = inode_offset(&img, ino)?;
    // Printed at the end in one write: an error (EPIPE too) is returned,
    // never a panic of println!.
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("ino {ino}"));
    line(format!("inode_offset {ioff}"));
    line(format!("i_block_offset {}", ioff + 0x28));
    line(format!("mode 0{:o}", inode.mode));
    line(format!("size {}", inode.size));
    let fast_symlink = inode.is_fast_symlink(img.sb.block_size());
    if inode.has_extents() && !fast_symlink {
        let h = extent::header(&inode.block, extent::NodeKind::Root, None).map_err(disk)?;
        line(format!("extent_depth {}", h.depth));
        if h.depth >= 1 && h.entries >= 1 {
            let (_, child) = extent::index_entry(&inode.block, 0).map_err(disk)?;
            line(format!(
                "extent_node {child} {}",
                block_offset(&img, child)?
            ));
        }
    }
    if inode.is_dir() {
        for_dir_blocks(&img, &inode, &mut |lblk, pblk, _, kind| {
            let k = match kind {
                BlockKind::Leaf => "leaf",
                BlockKind::DxRoot => "dx_root",
                BlockKind::DxNode => "dx_node",
            };
            line(format!(
                "dir_block {lblk} {} {k}",
                block_offset(&img, pblk)?
            ));
            Ok(false)
        })?;
    }
    if let Some((lblk, off)) = dirent {
        line(format!("dirent {lblk} {off}"));
    }
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| format!("writing the output: {e}"))
}

/// `flip`, `set16`, `set32`: rewrites the `width` bytes at absolute offset
/// `off` with `new(old bytes)`.
fn patch(img: &str, off: u64, width: usize, new: &dyn Fn(&mut [u8])) -> Result<(), String> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(img)
        .map_err(|e| format!("{img}: {e}"))?;
    let len = f.metadata().map_err(|e| format!("{img}: {e}"))?.len();
    if off.checked_add(width as u64).is_none_or(|end| end > len) {
        return Err(format!(
            "{width} bytes at offset {off} beyond the image ({len} bytes)"
        ));
    }
    let mut b = vec![0u8; width];
    f.read_exact_at(&mut b, off)
        .map_err(|e| format!("{img}: {e}"))?;
    new(&mut b);
    f.write_all_at(&b, off).map_err(|e| format!("{img}: {e}"))?;
    Ok(())
}

/// Lists every entry of the image's tree with the disk layer, the way
/// `ls -l` would show it (mtime as seconds.nanoseconds).
fn ls(img: &str) -> Result<(), String> {
    use std::io::Write;
    let image = ext4disk::image::Image::open(std::path::Path::new(img))
        .map_err(|e| format!("{img}: {e}"))?;
    let mut out = std::io::stdout().lock();
    let mut err = None;
    image
        .walk(&mut |path, ino| {
            let target = if ino.is_symlink() {
                match image.read_link(ino) {
                    Ok(t) => format!(" -> {}", String::from_utf8_lossy(&t)),
                    Err(e) => {
                        err.get_or_insert(format!("{path}: {e}"));
                        String::new()
                    }
                }
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:07o} {} {} {} {} {}.{:09} {}{}",
                ino.mode,
                ino.uid,
                ino.gid,
                ino.links_count,
                ino.size,
                ino.mtime.sec,
                ino.mtime.nsec,
                path,
                target
            );
        })
        .map_err(|e| format!("{img}: {e}"))?;
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The orphan file's inode, its checksum seed (with metadata_csum) and
/// its blocks as (logical, physical).
fn orphan_blocks(image: &Image) -> Result<(Inode, Option<u32>, Vec<(u32, u64)>), String> {
    let sb = &image.sb;
    if !sb.has_compat(ext4disk::features::compat::ORPHAN_FILE) {
        return Err("no orphan_file feature".into());
    }
    let ino = image.inode(sb.orphan_file_inum).map_err(disk)?;
    let bs = u64::from(sb.block_size());
    let mut blocks = Vec::new();
    for l in 0..ino.size / bs {
        let l = u32::try_from(l).map_err(|_| "orphan file too big")?;
        match image.map(&ino, l).map_err(disk)? {
            Mapping::Mapped { pblk, .. } => blocks.push((l, pblk)),
            Mapping::Hole { .. } => return Err(format!("orphan file block {l}: a hole")),
        }
    }
    let seed = sb.has_metadata_csum().then_some(ino.csum_seed);
    Ok((ino, seed, blocks))
}

/// `orphan-show` and `orphan-set` (see the module docs).
fn orphan(img: &str, args: &[String]) -> Result<(), String> {
    use ext4disk::orphan;
    let image = Image::open(std::path::Path::new(img)).map_err(|e| format!("{img}: {e}"))?;
    let (ino, seed, blocks) = orphan_blocks(&image)?;
    let bs = u64::from(image.sb.block_size());
    let f = OpenOptions::new()
        .read(true)
        .write(args.len() > 2)
        .open(img)
        .map_err(|e| format!("{img}: {e}"))?;
    let read = |pblk: u64| -> Result<Vec<u8>, String> {
        let mut b = vec![0u8; bs as usize];
        f.read_exact_at(&mut b, block_offset(&image, pblk)?)
            .map_err(|e| format!("{img}: {e}"))?;
        Ok(b)
    };
    if args.len() <= 2 {
        println!(
            "orphan_file {} blocks {} slots {}",
            ino.ino,
            blocks.len(),
            orphan::slots_per_block(bs as usize)
        );
        for &(l, p) in &blocks {
            let b = read(p)?;
            let off = block_offset(&image, p)?;
            match orphan::check_block(&b, p, seed) {
                Ok(free) => println!("orphan_block {l} {p} {off} free {free}"),
                Err(e) => println!("orphan_block {l} {p} {off} error {e}"),
            }
            for (i, n) in orphan::entries(&b) {
                println!("orphan_slot {l} {i} {n}");
            }
        }
        return Ok(());
    }
    let l = arg(args, 2, u32::MAX.into())? as u32;
    let i = arg(args, 3, u32::MAX.into())? as usize;
    let n = arg(args, 4, u32::MAX.into())? as u32;
    let &(_, p) = blocks
        .iter()
        .find(|&&(x, _)| x == l)
        .ok_or_else(|| format!("orphan file has no block {l}"))?;
    let mut b = read(p)?;
    if n == 0 {
        orphan::clear_slot(&mut b, i, p, seed).map_err(disk)?;
    } else {
        orphan::set_slot(&mut b, i, n, p, seed).map_err(disk)?;
    }
    f.write_all_at(&b, block_offset(&image, p)?)
        .map_err(|e| format!("{img}: {e}"))
}

fn run(args: &[String]) -> Result<(), String> {
    let (cmd, img) = match args {
        [cmd, img, ..] => (cmd.as_str(), img.as_str()),
        _ => return Err(USAGE.into()),
    };
    match cmd {
        "locate" => {
            let path = args.get(2).ok_or("missing PATH")?;
            return locate(img, path);
        }
        "ls" => return ls(img),
        "orphan-show" => return orphan(img, &args[..2]),
        "orphan-set" => {
            if args.len() != 5 {
                return Err(USAGE.into());
            }
            return orphan(img, args);
        }
        "flip" | "set16" | "set32" => {
            let off = arg(args, 2, u64::MAX)?;
            let width = match cmd {
                "flip" => 1,
                "set16" => 2,
                _ => 4,
            };
            let v = arg(args, 3, u64::MAX >> (64 - 8 * width))?;
            let le = v.to_le_bytes();
            let xor = cmd == "flip";
            return patch(img, off, width, &|b: &mut [u8]| {
                for (x, n) in b.iter_mut().zip(le) {
                    *x = if xor { *x ^ n } else { n };
                }
            });
        }
        "sb-show" | "sb-xor" | "sb-set32" | "sb-or32" => {}
        _ => return Err(format!("unknown command {cmd}\n{USAGE}")),
    }
    let mut f = OpenOptions::new()
        .read(true)
        .write(cmd != "sb-show")
        .open(img)
        .map_err(|e| format!("{img}: {e}"))?;
    let mut sb = vec![0u8; 1024];
    f.seek(SeekFrom::Start(SUPERBLOCK_OFFSET))
        .map_err(|e| e.to_string())?;
    f.read_exact(&mut sb)
        .map_err(|e| format!("{img}: reading superblock: {e}"))?;
    match cmd {
        "sb-show" => {
            match Superblock::parse(&sb) {
                Ok(s) => println!("{s:#?}"),
                Err(e) => println!("error: {e}"),
            }
            return Ok(());
        }
        "sb-xor" => {
            let off = arg(args, 2, 1023)? as usize;
            let v = arg(args, 3, 0xFF)? as u8;
            *sb.get_mut(off).ok_or("offset out of range")? ^= v;
        }
        _ => {
            let off = arg(args, 2, 1020)? as usize;
            let v = arg(args, 3, u32::MAX.into())? as u32;
            let slot = sb.get_mut(off..off + 4).ok_or("offset out of range")?;
            let old = u32::from_le_bytes([slot[0], slot[1], slot[2], slot[3]]);
            let new = if cmd == "sb-or32" { old | v } else { v };
            slot.copy_from_slice(&new.to_le_bytes());
            update_superblock_csum(&mut sb).map_err(|e| e.to_string())?;
        }
    }
    f.seek(SeekFrom::Start(SUPERBLOCK_OFFSET))
        .map_err(|e| e.to_string())?;
    f.write_all(&sb).map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ext4img: {e}");
            ExitCode::FAILURE
        }
    }
}
