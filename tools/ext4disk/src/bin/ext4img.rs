//! Small image surgery for rext4's tests: patch superblock fields of an ext4
//! image (optionally re-signing the checksum) to make corrupt or
//! unsupported test images from mke2fs output.
//!
//! ```text
//! ext4img sb-xor  IMG OFF BYTE    xor one superblock byte, keep the old checksum
//! ext4img sb-set32 IMG OFF VALUE  set a u32 field and re-sign
//! ext4img sb-or32  IMG OFF BITS   or bits into a u32 field and re-sign
//! ext4img sb-show IMG             print the parsed superblock or the error
//! ```
//! Offsets are relative to the superblock (byte 1024 of the image); numbers
//! may be decimal or 0x-prefixed hex.

use ext4disk::superblock::{update_superblock_csum, Superblock, SUPERBLOCK_OFFSET};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::process::ExitCode;

fn num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("bad number {s:?}: {e}"))
}

fn run(args: &[String]) -> Result<(), String> {
    let (cmd, img) = match args {
        [cmd, img, ..] => (cmd.as_str(), img.as_str()),
        _ => return Err("usage: ext4img sb-xor|sb-set32|sb-or32|sb-show IMG [OFF VALUE]".into()),
    };
    let mut f = OpenOptions::new()
        .read(true)
        .write(cmd != "sb-show")
        .open(img)
        .map_err(|e| format!("{img}: {e}"))?;
    let mut sb = vec![0u8; 1024];
    f.seek(SeekFrom::Start(SUPERBLOCK_OFFSET)).map_err(|e| e.to_string())?;
    f.read_exact(&mut sb).map_err(|e| format!("{img}: reading superblock: {e}"))?;
    let field = |i: usize| -> Result<u64, String> {
        args.get(i).ok_or_else(|| "missing argument".to_string()).and_then(|s| num(s))
    };
    match cmd {
        "sb-show" => {
            match Superblock::parse(&sb) {
                Ok(s) => println!("{s:#?}"),
                Err(e) => println!("error: {e}"),
            }
            return Ok(());
        }
        "sb-xor" => {
            let off = field(2)? as usize;
            let v = field(3)? as u8;
            *sb.get_mut(off).ok_or("offset out of range")? ^= v;
        }
        "sb-set32" | "sb-or32" => {
            let off = field(2)? as usize;
            let v = field(3)? as u32;
            let slot = sb.get_mut(off..off + 4).ok_or("offset out of range")?;
            let old = u32::from_le_bytes([slot[0], slot[1], slot[2], slot[3]]);
            let new = if cmd == "sb-or32" { old | v } else { v };
            slot.copy_from_slice(&new.to_le_bytes());
            update_superblock_csum(&mut sb).map_err(|e| e.to_string())?;
        }
        _ => return Err(format!("unknown command {cmd}")),
    }
    f.seek(SeekFrom::Start(SUPERBLOCK_OFFSET)).map_err(|e| e.to_string())?;
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
