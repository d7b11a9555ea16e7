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
//! # What do I use for what
//!
//! | you want to | use | tokio / other peer |
//! |---|---|---|
//! | sleep, read the clock | [`sleep`], [`sleep_until`], [`now`] | `tokio::time::sleep`, `Instant::now` |
//! | tick at a fixed period | [`interval`] ([`MissedTickBehavior`]) | `tokio::time::interval` |
//! | start a task, cancel it by dropping or [`Task::abort`] | [`spawn`], [`Task`] | `tokio::spawn`, `JoinHandle` |
//! | run a blocking call off the executor | [`spawn_blocking`] | `tokio::task::spawn_blocking` |
//! | give the executor a turn | [`yield_now`] | `tokio::task::yield_now` |
//! | limit one future's time | [`deadline::timeout`], [`deadline::DeadlineExt`] | `tokio::time::timeout` |
//! | a deadline that nested calls and spawned tasks see | [`deadline::within`], [`deadline::remaining`] | none |
//! | retry with backoff and jitter | [`retry::retry`], [`retry::retry_with`] | backon |
//! | cap retries across calls | [`retry::RetryBudget`] | none |
//! | reuse connections or clients | [`pool::Pool`] | deadpool, bb8 |
//! | limit concurrency fairly | [`pool::Semaphore`] | `tokio::sync::Semaphore` |
//! | reuse byte buffers under a memory budget | [`pool::BufferPool`] | none |
//! | children that borrow, fail fast | [`scope::Scope`] | moro, futures-concurrency |
//! | every child to its end, all outcomes | [`scope::Supervisor`] | none |
//! | parallel tasks tied to a value's lifetime | [`scope::TaskGroup`] | `tokio::task::JoinSet` |
//! | cooperative cancellation with a reason | [`scope::CancelToken`] | tokio-util's `CancellationToken` |
//! | batch a stream by size and time | [`stream::StreamOps::chunks_timeout`] | tokio-stream |
//! | merge streams fairly | [`stream::merge`], [`stream::MergeGroup`] | `select_all`, futures-concurrency |
//! | rate limit, shared by every clone | [`stream::RateLimiter`], [`stream::StreamOps::rate_limit`] | governor |
//! | at most `n` futures at once, backpressure | [`stream::StreamOps::map_concurrent`] | `buffered` |
//! | exact time in tests, on every runtime | [`VirtualClock`], [`with_timer`] | `tokio::time::pause` |
//! | one test per runtime | the `anyrt-test` crate: `#[anyrt_test::test]`, `#[anyrt_test::test(virtual_time)]` | `#[tokio::test]` |
//! | see which runtime anyrt uses | [`Runtime::current`] | none |
//!
//! Tests of code built on anyrt add `anyrt-test` as a dev-dependency: each
//! `#[anyrt_test::test] async fn` runs once per runtime (smol, tokio current-
//! and multi-thread, async-std, a bare `block_on`), and with `virtual_time`
//! under a [`VirtualClock`] that jumps to the next sleeper whenever nothing
//! can run, so an hour of backoff takes microseconds. Inside tokio, anyrt's
//! clock is tokio's, so `#[tokio::test(start_paused = true)]` works too.
//!
//! # Runtime compatibility
//!
//! Every pattern runs on tokio, smol, async-std and a bare `block_on`.
//! A library depends on `anyrt` with no feature; an application turns on
//! the feature of its runtime so that anyrt uses that runtime's timer and
//! spawner instead of its fallbacks. Forgetting the feature still builds
//! and runs everything on the fallbacks: log [`Runtime::current`] at
//! startup to see which runtime is in use.
//!
//! # Features
//!
//! - `tokio`, `smol`: the runtime adapters of `anyrt-core`.
//! - `async-std`: legacy; async-std is discontinued upstream (smol is its
//!   successor), and the adapter stays for existing applications.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! # futures_lite::future::block_on(async {
//! // A task, bounded by a deadline that everything inside it sees.
//! let answer = anyrt::deadline::within(Duration::from_secs(5), async {
//!     let task = anyrt::spawn(async {
//!         anyrt::sleep(Duration::from_millis(1)).await;
//!         7
//!     });
//!     task.await
//! })
//! .await;
//! assert_eq!(answer, Ok(7));
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
