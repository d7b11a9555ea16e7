//! Async patterns that run on any executor.
//!
//! `anyrt` gathers the anyrt crates behind one dependency:
//!
//! | module | crate | what |
//! |---|---|---|
//! | crate root | `anyrt-core` | [`Timer`], [`Spawn`], [`Task`], [`sleep`], [`spawn`], [`VirtualClock`], the ambient context |
//! | [`deadline`] | `anyrt-deadline` | timeouts and deadlines that reach nested work |
//! | [`retry`] | `anyrt-retry` | retry with backoff, jitter, stop rules and budgets |
//! | [`pool`] | `anyrt-pool` | a fair semaphore, resource pools, byte-buffer pools |
//!
//! # Runtime compatibility
//!
//! Every pattern runs on tokio, smol, async-std and a bare `block_on`.
//! A library depends on `anyrt` with no feature; an application turns on
//! the feature of its runtime so that anyrt uses that runtime's timer and
//! spawner instead of its fallbacks.
//!
//! # Features
//!
//! - `tokio`, `smol`, `async-std`: the runtime adapters of `anyrt-core`.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! # futures_lite::future::block_on(async {
//! let task = anyrt::spawn(async {
//!     anyrt::sleep(Duration::from_millis(1)).await;
//!     7
//! });
//! assert_eq!(task.await, 7);
//! # });
//! ```

pub use anyrt_core::*;

/// Timeouts and deadlines that propagate into nested work: the
/// `anyrt-deadline` crate.
pub mod deadline {
    pub use anyrt_deadline::*;
}

/// Retry with backoff, jitter, stop rules and retry budgets: the
/// `anyrt-retry` crate.
pub mod retry {
    pub use anyrt_retry::*;
}

/// A fair semaphore, resource pools and byte-buffer pools: the
/// `anyrt-pool` crate.
///
/// Which one to reach for:
///
/// - Limit how many tasks do something at once: [`Semaphore`](anyrt_pool::Semaphore).
/// - Share expensive resources (connections, clients) between tasks:
///   `Pool` with a `Manager`, or
///   `Pool::from_fn` for a plain async constructor.
/// - Reuse byte buffers under a bound on total memory:
///   `BufferPool`.
pub mod pool {
    pub use anyrt_pool::*;
}
