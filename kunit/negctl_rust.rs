// SPDX-License-Identifier: GPL-2.0

//! The Rust half of rext4_negctl.ko (see negctl.c): a deliberate
//! use-after-free in Rust code, so the suite shows that KASAN instruments
//! the Rust side of the module too, not only its C shims.

use kernel::alloc::{flags::GFP_KERNEL, KBox};

/// Frees a boxed value, then reads it through the dangling pointer.
///
/// Returns the byte read (its value does not matter: KASAN must report the
/// access before it completes).
#[no_mangle]
pub extern "C" fn rext4_negctl_rust_use_after_free() -> kernel::ffi::c_int {
    let Ok(b) = KBox::new([0x5au8; 48], GFP_KERNEL) else {
        return -12;
    };
    let p = KBox::into_raw(b);
    // SAFETY: `p` came from `KBox::into_raw` just above and is turned back
    // into a box exactly once, which frees it.
    drop(unsafe { KBox::from_raw(p) });
    // SAFETY: none: this is the deliberate bug the control exists for. The
    // pointer is dangling; KASAN must report this read as a use-after-free.
    let v = unsafe { core::ptr::read_volatile(p.cast::<u8>().add(8)) };
    kernel::ffi::c_int::from(v)
}
