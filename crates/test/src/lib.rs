//! Run one async test on every runtime.
//!
//! `#[anyrt_test::test]` on an `async fn` expands into one `#[test]` per
//! runtime, in a module named after the function:
//!
//! | test | runtime |
//! |---|---|
//! | `name::smol` | `smol::block_on` |
//! | `name::tokio_current_thread` | a current-thread tokio runtime |
//! | `name::tokio_multi_thread` | a multi-thread tokio runtime (2 workers) |
//! | `name::async_std` | `async_std::task::block_on` |
//! | `name::block_on` | `futures::executor::block_on`: no reactor, anyrt's fallback timer and spawner |
//!
//! A failure names its runtime, since the runtime is the test's own name.
//! Code under test that uses `anyrt-core` (`anyrt::sleep`,
//! `anyrt::spawn`, and every anyrt pattern) runs on the runtime of the
//! test; under `async_std` and `block_on` the harness sets the ambient
//! runtime with `anyrt::with_runtime`, because those runtimes leave no
//! trace that detection could find.
//!
//! # Options
//!
//! - `runtimes(smol, tokio_multi_thread, ..)`: only these runtimes.
//! - `virtual_time`: the body runs under an `anyrt::VirtualClock` that
//!   jumps to the next sleeper whenever the test is idle, so a test of an
//!   hour of backoff runs in microseconds and its timings are exact. The
//!   test may take the clock as its one argument.
//! - `timeout = SECONDS`: the watchdog (default 60 s of real time; a huge
//!   value saturates). A test still pending then fails with a message
//!   naming the test and runtime (under `virtual_time`, also where its
//!   clock stands: such a test waits on something the clock does not
//!   see). One that has not ended 5 s later (stuck
//!   inside a poll, or on a runtime whose shutdown waits for a stuck
//!   worker) ends the process with a failure status and that message on
//!   the real stderr, seen with or without `--nocapture`. A test marked
//!   `#[should_panic]` that times out ends the process at once the same
//!   way, so that a hang never passes for the expected panic.
//!
//! `#[should_panic]` and the ignore attribute (with its reason) apply to every generated test, and a
//! body may return `Result<(), E>` like any `#[test]`.
//!
//! # Runtime compatibility
//!
//! The harness itself depends on the runtimes it runs tests on; put it in
//! your `[dev-dependencies]` only.
//!
//! # Features
//!
//! One per runtime, all on by default: `tokio` (the `tokio_current_thread`
//! and `tokio_multi_thread` tests), `smol`, and `async-std` (legacy:
//! async-std is discontinued upstream; smol is its successor). The
//! `block_on` test needs no feature. With a feature off, its runtime's
//! tests are left out and its crates are not built, so a crate tested on
//! tokio alone writes:
//!
//! ```toml
//! [dev-dependencies]
//! anyrt-test = { version = "0.1", default-features = false, features = ["tokio"] }
//! ```
//!
//! # Examples
//!
//! In your own crate's `tests/`:
//!
//! ```
//! use std::time::Duration;
//!
//! #[anyrt_test::test]
//! async fn sleeps_on_every_runtime() {
//!     let start = anyrt::now();
//!     anyrt::sleep(Duration::from_millis(5)).await;
//!     assert!(anyrt::now() - start >= Duration::from_millis(5));
//! }
//!
//! #[anyrt_test::test(virtual_time)]
//! async fn an_hour_in_no_time(clock: anyrt::VirtualClock) -> Result<(), String> {
//!     anyrt::sleep(Duration::from_secs(3600)).await;
//!     if clock.elapsed() == Duration::from_secs(3600) { Ok(()) } else { Err("clock drifted".into()) }
//! }
//!
//! #[anyrt_test::test(runtimes(tokio_multi_thread, smol))]
//! #[should_panic(expected = "boom")]
//! async fn panics_are_test_failures() {
//!     panic!("boom");
//! }
//! # fn main() {
//! #     // Doctests are not built with cfg(test), so the generated #[test]
//! #     // functions are left out here; drive the bodies directly instead.
//! #     use anyrt_test::TestRuntime;
//! #     for runtime in [TestRuntime::Smol, TestRuntime::TokioMultiThread, TestRuntime::BlockOn] {
//! #         runtime.block_on(sleeps_on_every_runtime());
//! #     }
//! # }
//! ```

mod run;
mod watchdog;

pub use anyrt_test_macros::test;
pub use run::{TestRuntime, runtime};

/// Keeps the generated test of a runtime of feature `tokio` when it is on.
#[cfg(feature = "tokio")]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_if_tokio {
    ($($tokens:tt)*) => { $($tokens)* };
}

/// Leaves out the generated test of a runtime of feature `tokio`: it is off.
#[cfg(not(feature = "tokio"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_if_tokio {
    ($($tokens:tt)*) => {};
}

/// Keeps the generated test of a runtime of feature `smol` when it is on.
#[cfg(feature = "smol")]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_if_smol {
    ($($tokens:tt)*) => { $($tokens)* };
}

/// Leaves out the generated test of a runtime of feature `smol`: it is off.
#[cfg(not(feature = "smol"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_if_smol {
    ($($tokens:tt)*) => {};
}

/// Keeps the generated test of a runtime of feature `async-std` when it is on.
#[cfg(feature = "async-std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_if_async_std {
    ($($tokens:tt)*) => { $($tokens)* };
}

/// Leaves out the generated test of a runtime of feature `async-std`: it is off.
#[cfg(not(feature = "async-std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_if_async_std {
    ($($tokens:tt)*) => {};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::run::{Options, run};
}
