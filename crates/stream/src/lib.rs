//! Stream operators: batching, fair merging, rate limiting, bounded
//! pipelines, on any executor.

mod gcra;
mod limiter;
mod merge;
mod wake_set;

pub use limiter::{BuildError, ExceedsBurst, RateLimited, RateLimiter, RateLimiterBuilder};
pub use merge::{MergeEvent, MergeGroup, StreamKey, merge};

/// The named futures and streams of this crate.
pub mod futures {
    pub use crate::limiter::{Acquire, AcquireN};
    pub use crate::merge::{Merge, NextEvent};
}
