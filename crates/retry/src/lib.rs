#![doc = include_str!("guide.md")]

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
