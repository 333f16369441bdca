//! Helpers shared by the image tests: make images with mke2fs, read them back,
//! query dumpe2fs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// xorshift64: a reproducible stream of pseudo-random numbers for the
/// mutation tests (same seed, same damage on every run).
pub struct XorShift(u64);

impl XorShift {
    /// A stream from `seed` (must not be 0).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "ext4disk-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn tool(name: &str) -> PathBuf {
    for dir in ["/sbin", "/usr/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} not found: run `make deps`");
}

/// Runs mke2fs on a fresh image file of `size_mib` MiB with extra options.
pub fn mkfs(dir: &Path, name: &str, size_mib: u64, opts: &[&str]) -> PathBuf {
    let img = dir.join(name);
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(size_mib << 20).unwrap();
    drop(f);
    let out = Command::new(tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext4"])
        // Small images would get 1 KiB blocks from mke2fs.conf's "small" type.
        .args(if opts.contains(&"-b") {
            &[][..]
        } else {
            &["-b", "4096"][..]
        })
        .args(opts)
        .arg(&img)
        .env("MKE2FS_CONFIG", "/etc/mke2fs.conf")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mke2fs {opts:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    img
}

/// The 1024 superblock bytes of an image.
pub fn sb_bytes(img: &Path) -> Vec<u8> {
    let all = std::fs::read(img).unwrap();
    all[1024..2048].to_vec()
}

/// `dumpe2fs -h` as (key, value) pairs.
pub fn dumpe2fs(img: &Path) -> Vec<(String, String)> {
    let out = Command::new(tool("dumpe2fs"))
        .arg("-h")
        .arg(img)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

pub fn field<'a>(kv: &'a [(String, String)], key: &str) -> &'a str {
    kv.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("dumpe2fs has no {key:?}"))
}
