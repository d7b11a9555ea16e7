//! Retry with backoff, jitter, stop rules, server hints and retry budgets,
//! on any executor.
//!
//! - [`retry`] and [`retry_with`]: the retry loop, a named future
//!   ([`futures::Retry`]) that is also its builder: `.backoff(policy)`,
//!   `.max_attempts(n)`, `.max_elapsed(d)`, `.when(|e| ..)`,
//!   `.notify(|e, attempt, delay| ..)`, `.hints()`, `.budget(b)`,
//!   `.seed(s)`. `retry(op).await` for a closure that returns a future;
//!   `retry_with(&mut state, async |s| ..).run().await` for an async
//!   closure that is lent the state, across its awaits, at each attempt.
//! - Backoff policies, plain values usable on their own as iterators of
//!   delays ([`Backoff`], [`Delays`]): [`Constant`], [`Exponential`],
//!   [`Fibonacci`], [`Decorrelated`] (AWS), with [`Jitter`] `None`, `Full`
//!   (the default) or `Equal`.
//! - [`RetryError`] and [`StopReason`]: why a retry gave up (`Attempts`,
//!   `Elapsed`, `Deadline`, `NotRetryable`, `Budget`), after how many
//!   attempts, with the last error.
//! - [`RetryAfter`] and [`parse_retry_after`]: server hints that replace the
//!   computed delay.
//! - [`Rng`]: the seedable random source of jitter (`fastrand`'s).
//! - [`RetryBudget`]: retries capped to a fraction of calls, shared by
//!   clones, lock-free.
//!
//! | stop rule | set with | the loop stops when |
//! |---|---|---|
//! | attempts | `.max_attempts(n)` (default 3; 0 reads as 1) | that many attempts failed |
//! | elapsed | `.max_elapsed(d)` | the next sleep would end more than `d` after the first attempt started |
//! | deadline | `anyrt::deadline::within(..)` around the retry | the next sleep would end at or past the ambient deadline |
//! | predicate | `.when(\|e\| ..)` | it returns `false` |
//! | budget | `.budget(b)` | the budget has no retry left |
//!
//! Delays are integer nanoseconds that saturate: no attempt number (up to
//! `u32::MAX`) or configuration overflows or panics, growth stops at the
//! cap, jitter applies to the whole delay and no delay exceeds
//! `max_delay`. Invalid configurations are errors, not panics: the
//! builders return [`BuildError`], and `max_attempts(0)` runs the operation
//! once, as `max_attempts(1)` does.
//!
//! # Runtime compatibility
//!
//! Any executor. Time comes from `anyrt-core` ([`anyrt::now`](anyrt_core::now) and
//! [`anyrt::sleep_until`](anyrt_core::sleep_until)), which uses the runtime it finds (tokio,
//! smol, async-std, or a fallback timer thread) or a
//! [`VirtualClock`](anyrt_core::VirtualClock) in tests. Nothing is spawned
//! and nothing is allocated per attempt. An attempt that succeeds at once
//! reads no clock (unless `max_elapsed` is set) and makes no timer; a zero
//! delay goes straight to the next attempt without the timer.
//!
//! # Features
//!
//! None.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use anyrt::retry::{retry, Exponential, Jitter};
//!
//! # futures_lite::future::block_on(async {
//! let policy = Exponential::builder()
//!     .initial(Duration::from_millis(1))
//!     .multiplier(2.0)
//!     .max_delay(Duration::from_millis(8))
//!     .jitter(Jitter::Equal)
//!     .build()?;
//! let mut calls = 0;
//! let out = retry(|| {
//!     calls += 1;
//!     let n = calls;
//!     async move { if n < 3 { Err(std::io::Error::other("busy")) } else { Ok(n) } }
//! })
//! .backoff(policy)
//! .max_attempts(5)
//! .when(|e| e.kind() == std::io::ErrorKind::Other)
//! .await;
//! assert_eq!(out.unwrap(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod backoff;
mod budget;
mod error;
mod hint;
mod http_date;
mod retry;

pub use backoff::{
    Backoff, Constant, Decorrelated, DecorrelatedBuilder, Delays, Exponential, ExponentialBuilder,
    Fibonacci, FibonacciBuilder, Jitter,
};
pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use error::{BuildError, RetryError, StopReason};
pub use hint::{RetryAfter, parse_retry_after};
pub use retry::hooks;
pub use retry::{retry, retry_with};

/// The random source of jitter (re-exported from `fastrand`, seedable).
pub use fastrand::Rng;

/// The named futures of this crate.
pub mod futures {
    pub use crate::retry::{Retry, RetryWith, RetryWithin};
}
