// SPDX-License-Identifier: GPL-2.0

//! A small KUnit harness over the raw bindings (6.12's `kernel` crate has
//! no test-suite macro).
//!
//! - `kunit_suite!` builds the `kunit_case` array and the `kunit_suite`,
//!   and puts a pointer to the suite in `.kunit_test_suites`, where the
//!   module loader finds it and KUnit runs it at insmod.
//! - `check!` and `check_eq!` report a failed expectation to KUnit and
//!   let the test go on; unlike KUnit's assertions they never abort the test
//!   thread, so no Rust frame is unwound by force.

use kernel::bindings;
use kernel::ffi::c_char;

/// The running test, as KUnit passes it to a case.
pub(crate) type Test = bindings::kunit;

/// The test function signature KUnit calls.
pub(crate) type TestFn = unsafe extern "C" fn(*mut Test);

/// A `kunit_case` running `run`, named by the NUL-terminated `name`.
pub(crate) const fn case(name: &'static [u8], run: TestFn) -> bindings::kunit_case {
    bindings::kunit_case {
        run_case: Some(run),
        name: name.as_ptr().cast::<c_char>(),
        // SAFETY: all-zero is a valid `kunit_case` (NULL pointers, status
        // "not run yet"), overridden above.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    }
}

/// The all-zero `kunit_case` that ends a case array.
pub(crate) const fn end() -> bindings::kunit_case {
    // SAFETY: all-zero is the terminator KUnit looks for (`run_case` NULL).
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// A suite name as KUnit's fixed-size array (truncated to 255 bytes).
pub(crate) const fn suite_name(s: &[u8]) -> [c_char; 256] {
    let mut out = [0; 256];
    let mut i = 0;
    while i < s.len() && i < 255 {
        out[i] = s[i];
        i += 1;
    }
    out
}

/// Reports a failed expectation at `file:line` (both NUL-terminated).
pub(crate) fn fail(test: *mut bindings::kunit, file: &'static str, line: u32, cond: &'static str) {
    let loc = bindings::kunit_loc {
        line: line as i32,
        file: file.as_ptr().cast::<c_char>(),
    };
    let assert = bindings::kunit_unary_assert {
        assert: bindings::kunit_assert {},
        condition: cond.as_ptr().cast::<c_char>(),
        expected_true: true,
    };
    // SAFETY: `test` is the running test KUnit passed to the case; `loc`
    // and `assert` live across the call, which formats the message at once;
    // `file` and `cond` are NUL terminated (the macros append "\0"); the
    // format callback matches the assertion type; a NULL message format is
    // allowed. An expectation (not an assertion) does not abort the thread.
    unsafe {
        bindings::__kunit_do_failed_assertion(
            test,
            &loc,
            bindings::kunit_assert_type_KUNIT_EXPECTATION,
            &assert.assert,
            Some(bindings::kunit_unary_assert_format),
            core::ptr::null(),
        );
    }
}

/// `check!(test, cond)`: reports a failure to KUnit when `cond` is false.
macro_rules! check {
    ($test:expr, $cond:expr) => {
        if !$cond {
            $crate::harness::fail(
                $test,
                concat!(file!(), "\0"),
                line!(),
                concat!(stringify!($cond), "\0"),
            );
        }
    };
}

/// `check_eq!(test, a, b)`: reports a failure to KUnit when `a != b`.
macro_rules! check_eq {
    ($test:expr, $a:expr, $b:expr) => {
        check!($test, ($a) == ($b))
    };
}

/// `kunit_suite!(ident, "name", [case_fn, ...])` declares a suite whose cases
/// are the given `unsafe extern "C" fn(*mut kunit)` functions.
macro_rules! kunit_suite {
    ($id:ident, $name:literal, [$($case:ident),+ $(,)?]) => {
        #[allow(non_upper_case_globals)]
        mod $id {
            use kernel::bindings;
            const N: usize = [$(stringify!($case)),+].len();

            static mut CASES: [bindings::kunit_case; N + 1] = [
                $($crate::harness::case(concat!(stringify!($case), "\0").as_bytes(), super::$case),)+
                $crate::harness::end(),
            ];

            static mut SUITE: bindings::kunit_suite = bindings::kunit_suite {
                name: $crate::harness::suite_name($name.as_bytes()),
                test_cases: &raw mut CASES as *mut bindings::kunit_case,
                // SAFETY: all-zero is a valid `kunit_suite` (no init/exit
                // callbacks, empty log), overridden above.
                ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
            };

            // The module loader collects these pointers and KUnit runs the
            // suites when the module goes live.
            #[used]
            #[link_section = ".kunit_test_suites"]
            static mut ENTRY: *const bindings::kunit_suite = &raw const SUITE;
        }
    };
}
