//! Async patterns that run on any executor.
//!
//! `anyrt` gathers the anyrt crates behind one dependency:
//!
//! | module | crate | what |
//! |---|---|---|
//! | crate root | `anyrt-core` | [`Timer`], [`Spawn`], [`Task`], [`sleep`], [`spawn`], [`VirtualClock`], the ambient context |
//! | [`deadline`] | `anyrt-deadline` | timeouts and deadlines that reach nested work |
//! | [`retry`] | `anyrt-retry` | retry with backoff, jitter, stop rules and budgets |
//! | [`stream`] | `anyrt-stream` | batching, fair merging, rate limiting and bounded pipelines for any `Stream` |
//! | [`scope`] | `anyrt-scope` | structured concurrency: scopes whose children borrow, task groups, cancel tokens |
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
    #![doc = include_str!("deadline.md")]

    pub use anyrt_deadline::*;
}

/// Retry with backoff, jitter, stop rules and retry budgets: the
/// `anyrt-retry` crate.
pub mod retry {
    #![doc = include_str!("retry.md")]

    pub use anyrt_retry::*;
}

/// Stream operators (batching by size and time, fair merging, pacing,
/// bounded concurrent maps, a buffer task) and the shared GCRA
/// [`RateLimiter`](stream::RateLimiter): the `anyrt-stream` crate.
///
/// Start with the extension trait `StreamOps` (in scope with
/// `use anyrt::stream::StreamOps;`), [`merge`](stream::merge) and
/// [`MergeGroup`](stream::MergeGroup) for many streams, and
/// [`RateLimiter`](stream::RateLimiter) for a rate shared by every clone.
pub mod stream {
    pub use anyrt_stream::*;
}

/// Structured concurrency: the `anyrt-scope` crate.
///
/// - A child that borrows from the caller's stack: open a
///   [`Scope`](scope::Scope) in your frame and
///   [`run`](scope::Scope::run) a body that spawns into it. The first error
///   drops everything else; the run returns after every child ended.
/// - Every child to its end, outcomes in spawn order:
///   [`Supervisor`](scope::Supervisor).
/// - Bounded fan-out over a million items: `Scope::new().limit(n)` with
///   [`spawn_wait`](scope::Scope::spawn_wait).
/// - Parallel `'static` work with the lifetime of a value:
///   [`TaskGroup`](scope::TaskGroup), or
///   [`spawn_task`](scope::Scope::spawn_task) inside a scope.
/// - Cooperative cancellation with a reason, in a tree:
///   [`CancelToken`](scope::CancelToken); every scope has one.
pub mod scope {
    pub use anyrt_scope::*;
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
