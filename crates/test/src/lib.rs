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
//! Code under test that uses `anyrt-core` (`anyrt_core::sleep`,
//! `anyrt_core::spawn`, and every anyrt pattern) runs on the runtime of the
//! test; under `async_std` and `block_on` the harness sets the ambient
//! runtime with `anyrt_core::with_runtime`, because those runtimes leave no
//! trace that detection could find.
//!
//! # Options
//!
//! - `runtimes(smol, tokio_multi_thread, ..)`: only these runtimes.
//! - `virtual_time`: the body runs under an `anyrt_core::VirtualClock` that
//!   jumps to the next sleeper whenever the test is idle, so a test of an
//!   hour of backoff runs in microseconds and its timings are exact. The
//!   test may take the clock as its one argument.
//! - `timeout = SECONDS`: the watchdog (default 60 s of real time; a huge
//!   value saturates). A test still pending then fails with a message
//!   naming the test and runtime. One that has not ended 5 s later (stuck
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
//! The harness itself depends on tokio, smol, async-std and futures; put it
//! in your `[dev-dependencies]` only.
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
//!     let start = anyrt_core::now();
//!     anyrt_core::sleep(Duration::from_millis(5)).await;
//!     assert!(anyrt_core::now() - start >= Duration::from_millis(5));
//! }
//!
//! #[anyrt_test::test(virtual_time)]
//! async fn an_hour_in_no_time(clock: anyrt_core::VirtualClock) -> Result<(), String> {
//!     anyrt_core::sleep(Duration::from_secs(3600)).await;
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

#[doc(hidden)]
pub mod __private {
    pub use crate::run::{Options, run};
}
