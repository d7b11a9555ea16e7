//! Stream operators on any executor: batching by size and time, fair
//! merging, rate limiting, pacing, debouncing and throttling, bounded concurrent maps
//! and a buffer task, for every `futures_core::Stream`.
//!
//! - [`StreamOps`], the extension trait (it sits beside `StreamExt`
//!   without a clash): [`chunks_timeout`](StreamOps::chunks_timeout) and
//!   [`try_chunks_timeout`](StreamOps::try_chunks_timeout),
//!   [`rate_limit`](StreamOps::rate_limit) and
//!   [`rate_limit_by`](StreamOps::rate_limit_by),
//!   [`pace`](StreamOps::pace),
//!   [`debounce`](StreamOps::debounce),
//!   [`throttle`](StreamOps::throttle) and
//!   [`throttle_latest`](StreamOps::throttle_latest),
//!   [`map_concurrent`](StreamOps::map_concurrent) and
//!   [`map_concurrent_unordered`](StreamOps::map_concurrent_unordered),
//!   [`timeout_each`](StreamOps::timeout_each),
//!   [`buffer`](StreamOps::buffer).
//! - [`merge`] for any number of streams of one type, and [`MergeGroup`]
//!   to push streams in at any time and hear which one ended
//!   ([`MergeEvent`], [`StreamKey`]).
//! - [`RateLimiter`]: GCRA on one atomic, waiters served in order, one
//!   state for every clone; [`KeyedRateLimiter`], one such limiter per key
//!   (per client, per tenant), forgotten once at rest;
//!   [`BuildError`], [`RateLimited`], [`ExceedsBurst`], [`Rejected`].
//! - [`gcra`]: the limiter's arithmetic as a pure function of (state, now,
//!   cost), for a limiter whose state lives elsewhere (a store shared by
//!   many processes).
//! - The named futures and streams in [`futures`].
//!
//! Every operator holds its state in the stream, never in a `next()`
//! future, so dropping `next()` at any await point loses no item (an
//! operator that drops items by design (`debounce`, the throttles) drops the
//! same ones whether or not a `next()` was dropped); each documents its
//! `# Cancel safety`. Counts where zero would hang take
//! `NonZeroUsize`. No operator allocates per item; `chunks_timeout`
//! allocates once per chunk.
//!
//! # From the article's patterns to operators
//!
//! | pattern | operator |
//! |---|---|
//! | buffered generator (fill 100 items inside a resource) | [`chunks_timeout`](StreamOps::chunks_timeout), with a time bound and [`into_remainder`](futures::ChunksTimeout::into_remainder) |
//! | merge several async streams | [`merge`], [`MergeGroup`] |
//! | rate-limited generator | [`RateLimiter`] with [`rate_limit`](StreamOps::rate_limit), [`pace`](StreamOps::pace) |
//! | a burst of updates where only the latest matters | [`debounce`](StreamOps::debounce) (after a quiet spell), [`throttle_latest`](StreamOps::throttle_latest) (at most one per interval) |
//! | at most one event per interval, the rest dropped | [`throttle`](StreamOps::throttle) |
//! | batching | [`chunks_timeout`](StreamOps::chunks_timeout), [`try_chunks_timeout`](StreamOps::try_chunks_timeout) |
//! | pipelining with backpressure | [`map_concurrent`](StreamOps::map_concurrent), [`map_concurrent_unordered`](StreamOps::map_concurrent_unordered), [`buffer`](StreamOps::buffer) |
//!
//! A buffered generator: the resource lives in the stream (an `unfold`
//! state), so it is dropped with the stream however early the consumer
//! stops, and the batches have a time bound.
//!
//! ```
//! use std::num::NonZeroUsize;
//! use std::time::Duration;
//! use anyrt::stream::StreamOps;
//! use futures_lite::{stream, StreamExt};
//!
//! struct Connection { next: u32 } // dropped with the stream
//!
//! # futures_lite::future::block_on(async {
//! let rows = stream::unfold(Connection { next: 0 }, |mut conn| async move {
//!     conn.next += 1;
//!     (conn.next <= 250).then_some((conn.next, conn))
//! });
//! let max = NonZeroUsize::new(100).unwrap();
//! let sizes: Vec<usize> = rows
//!     .chunks_timeout(max, Duration::from_millis(50))
//!     .map(|batch| batch.len())
//!     .collect()
//!     .await;
//! assert_eq!(sizes, [100, 100, 50]);
//! # });
//! ```
//!
//! Merging: fair, and over when every stream is.
//!
//! ```
//! use anyrt::stream::merge;
//! use futures_lite::{stream, StreamExt};
//!
//! # futures_lite::future::block_on(async {
//! let feeds = vec![stream::iter(vec!["a1", "a2"]), stream::iter(vec!["b1", "b2"])];
//! assert_eq!(merge(feeds).collect::<Vec<_>>().await, ["a1", "b1", "a2", "b2"]);
//! # });
//! ```
//!
//! A rate-limited generator: one limiter shared by every producer.
//!
//! ```
//! use std::time::Duration;
//! use anyrt::stream::{RateLimiter, StreamOps};
//! use futures_lite::{stream, StreamExt};
//!
//! # futures_lite::future::block_on(async {
//! let limiter = RateLimiter::builder(1000, Duration::from_secs(1)).burst(10).build()?;
//! let a = stream::iter(0..5).rate_limit(&limiter);
//! let b = stream::iter(5..10).rate_limit(&limiter.clone());
//! assert_eq!(a.chain(b).count().await, 10); // within one shared burst
//! # Ok::<(), anyrt::stream::BuildError>(())
//! # }).unwrap();
//! ```
//!
//! Pipelining: fetch with 8 in flight, in order, and keep fetching while
//! the consumer works, through a buffer task.
//!
//! ```
//! use std::num::NonZeroUsize;
//! use anyrt::stream::StreamOps;
//! use futures_lite::{stream, StreamExt};
//!
//! async fn fetch(id: u32) -> u32 { id * 10 }
//!
//! # futures_lite::future::block_on(async {
//! let eight = NonZeroUsize::new(8).unwrap();
//! let mut pages = stream::iter(0..32).map_concurrent(eight, fetch).buffer(eight);
//! let mut total = 0;
//! while let Some(page) = pages.next().await {
//!     total += page; // the next fetches run meanwhile
//! }
//! assert_eq!(total, (0..32).map(|i| i * 10).sum::<u32>());
//! # });
//! ```
//!
//! # Starvation
//!
//! A concurrent map runs its futures only while it is polled. In
//!
//! ```text
//! let mut results = requests.map_concurrent(n, fetch);
//! while let Some(r) = results.next().await {
//!     save(r).await;      // `results` is not polled here
//! }
//! ```
//!
//! the fetches in flight stand still while `save` runs (and a fetch that
//! holds a connection or a lock holds it all that time): the loop body
//! starves its own upstream. The same holds for `futures`'
//! `buffered`. Put [`buffer`](StreamOps::buffer) after the map: a task
//! spawned through `anyrt-core` polls the map and queues up to `n`
//! results while the body awaits.
//!
//! ```
//! use std::num::NonZeroUsize;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use anyrt::stream::StreamOps;
//! use futures_lite::{stream, StreamExt};
//!
//! # futures_lite::future::block_on(async {
//! // On a virtual clock, so that "meanwhile" does not depend on how busy
//! // the machine is; real time works the same.
//! anyrt::VirtualClock::new().auto_advance(async {
//!     let done = Arc::new(AtomicUsize::new(0));
//!     let four = NonZeroUsize::new(4).unwrap();
//!     let counter = done.clone();
//!     let mut results = stream::iter(0..4_u64)
//!         .map_concurrent(four, move |i| {
//!             let counter = counter.clone();
//!             async move {
//!                 anyrt::sleep(Duration::from_millis(i + 1)).await;
//!                 counter.fetch_add(1, Ordering::SeqCst);
//!                 i
//!             }
//!         })
//!         .buffer(four);
//!     assert_eq!(results.next().await, Some(0));
//!     anyrt::sleep(Duration::from_millis(50)).await; // the loop body's work
//!     assert_eq!(done.load(Ordering::SeqCst), 4); // the others finished meanwhile
//! })
//! .await;
//! # });
//! ```
//!
//! # Runtime compatibility
//!
//! Any executor. Time comes from `anyrt-core` (`anyrt_core::now`,
//! `sleep_until`: the runtime's timer, the fallback timer, or a test's
//! `VirtualClock`); [`buffer`](StreamOps::buffer) spawns through
//! `anyrt_core::spawn`. Nothing else names a runtime.
//!
//! # Features
//!
//! None.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ext;
pub mod gcra;
mod limiter;
mod merge;
mod ops;
mod timer;
mod wake_set;

pub use ext::StreamOps;
pub use limiter::{
    BuildError, ExceedsBurst, KeyedRateLimiter, RateLimited, RateLimiter, RateLimiterBuilder,
};
pub use merge::{MergeEvent, MergeGroup, StreamKey, merge};
pub use ops::Rejected;

/// The named futures and streams of this crate.
pub mod futures {
    pub use crate::limiter::{Acquire, AcquireN, AcquireNOwned, AcquireOwned};
    pub use crate::merge::{Merge, NextEvent};
    pub use crate::ops::{
        Buffer, ChunksTimeout, Debounce, MapConcurrent, MapConcurrentUnordered, Pace, RateLimit,
        RateLimitBy, Throttle, ThrottleLatest, TimeoutEach, TryChunksTimeout,
    };
}
