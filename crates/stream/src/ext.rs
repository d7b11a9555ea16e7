//! `StreamOps`: the operators, as methods on every stream.

use std::future::Future;
use std::num::NonZeroUsize;
use std::time::Duration;

use futures_core::stream::Stream;

use crate::RateLimiter;
use crate::ops::{
    Batch, Buffer, ChunksTimeout, Debounce, MapConcurrent, MapConcurrentUnordered, Pace, RateLimit,
    RateLimitBy, Throttle, ThrottleLatest, TimeoutEach, TryChunksTimeout,
};

/// The operators of this crate as methods on every [`Stream`].
///
/// Named `StreamOps`, not `StreamExt`, so that it can be in scope beside
/// `futures::StreamExt`, `futures_lite::StreamExt` or
/// `tokio_stream::StreamExt` (which provide `next`, `map`, `collect`)
/// without a clash of trait names; no method name clashes with theirs
/// either.
///
/// Every operator is a named stream type in
/// [`futures`](crate::futures), is `Unpin` when its upstream (and, for
/// the concurrent maps, its futures' slots, which are boxed) is,
/// implements `FusedStream` and a correct `size_hint`, and documents its
/// cancel safety.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::time::Duration;
/// use anyrt::stream::StreamOps;
/// use futures_lite::StreamExt;
///
/// # futures_lite::future::block_on(async {
/// let n = NonZeroUsize::new(4).unwrap();
/// let chunks: Vec<Vec<u32>> = futures_lite::stream::iter(1..=10)
///     .map_concurrent(n, |i| async move { i * i })
///     .chunks_timeout(NonZeroUsize::new(5).unwrap(), Duration::from_millis(10))
///     .collect()
///     .await;
/// assert_eq!(chunks, [vec![1, 4, 9, 16, 25], vec![36, 49, 64, 81, 100]]);
/// # });
/// ```
pub trait StreamOps: Stream {
    /// Chunks of at most `max` items, each emitted when full or `duration`
    /// after its first item arrived; the partial chunk at the end. See
    /// [`ChunksTimeout`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see [`ChunksTimeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let max = NonZeroUsize::new(100).unwrap();
    /// let mut chunks = futures_lite::stream::iter(0..250).chunks_timeout(max, Duration::from_secs(1));
    /// assert_eq!(chunks.next().await.map(|c| c.len()), Some(100));
    /// # });
    /// ```
    fn chunks_timeout(self, max: NonZeroUsize, duration: Duration) -> ChunksTimeout<Self>
    where
        Self: Sized,
    {
        ChunksTimeout::new(self, Batch::new(max, duration))
    }

    /// [`chunks_timeout`](StreamOps::chunks_timeout) for a stream of
    /// `Result`s: an error flushes the partial chunk, then is yielded. See
    /// [`TryChunksTimeout`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let source = futures_lite::stream::iter([Ok(1), Err(()), Ok(2)]);
    /// let out: Vec<_> = source.try_chunks_timeout(NonZeroUsize::MIN, Duration::ZERO).collect().await;
    /// assert_eq!(out, [Ok(vec![1]), Err(()), Ok(vec![2])]);
    /// # });
    /// ```
    fn try_chunks_timeout<T, E>(
        self,
        max: NonZeroUsize,
        duration: Duration,
    ) -> TryChunksTimeout<Self, T, E>
    where
        Self: Stream<Item = Result<T, E>> + Sized,
    {
        TryChunksTimeout::new(self, Batch::new(max, duration))
    }

    /// Each item waits for one permit of `limiter`, in turn with every
    /// other user of it. See [`RateLimit`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see [`RateLimit`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::new(1000, Duration::from_secs(1))?;
    /// let n = futures_lite::stream::iter(0..5).rate_limit(&limiter).count().await;
    /// assert_eq!(n, 5);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    fn rate_limit(self, limiter: &RateLimiter) -> RateLimit<Self>
    where
        Self: Sized,
    {
        RateLimit::new(self, limiter.shared().clone())
    }

    /// Each item waits for `cost(&item)` permits of `limiter`; an item
    /// costing more than the burst is handed back as an error. See
    /// [`RateLimitBy`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see [`RateLimitBy`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let bytes_per_sec = RateLimiter::new(1 << 20, Duration::from_secs(1))?;
    /// let packets = futures_lite::stream::iter([vec![0_u8; 512], vec![0; 1024]]);
    /// let mut sent = packets.rate_limit_by(&bytes_per_sec, |p| p.len() as u32);
    /// assert_eq!(sent.next().await.unwrap().unwrap().len(), 512);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    fn rate_limit_by<F>(self, limiter: &RateLimiter, cost: F) -> RateLimitBy<Self, F>
    where
        Self: Sized,
        F: FnMut(&Self::Item) -> u32,
    {
        RateLimitBy::new(self, limiter.shared().clone(), cost)
    }

    /// At least `interval` between items, slots computed from slots (no
    /// drift); delays, never drops. See [`Pace`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see [`Pace`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let ticks = futures_lite::stream::iter(0..3).pace(Duration::from_millis(1));
    /// assert_eq!(ticks.count().await, 3);
    /// # });
    /// ```
    fn pace(self, interval: Duration) -> Pace<Self>
    where
        Self: Sized,
    {
        Pace::new(self, interval)
    }

    /// Only items followed by `duration` without a newer one; a newer item
    /// replaces the pending one, and the upstream's end yields the pending
    /// item at once. See [`Debounce`].
    ///
    /// # Cancel safety
    ///
    /// The pending item lives in the stream: dropping a `next()` future
    /// loses nothing; see [`Debounce`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// // Three items at once: each replaces the one before, the end lets the last out.
    /// let last = futures_lite::stream::iter([1, 2, 3]).debounce(Duration::from_secs(3600));
    /// assert_eq!(last.collect::<Vec<_>>().await, [3]);
    /// # });
    /// ```
    fn debounce(self, duration: Duration) -> Debounce<Self>
    where
        Self: Sized,
    {
        Debounce::new(self, duration)
    }

    /// The first item at once, then only items that arrive at least
    /// `duration` after the last one yielded; the others are dropped (the
    /// leading edge). See [`Throttle`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see [`Throttle`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// // Three items at once: the first opens an hour's window, the others fall in it.
    /// let first = futures_lite::stream::iter([1, 2, 3]).throttle(Duration::from_secs(3600));
    /// assert_eq!(first.collect::<Vec<_>>().await, [1]);
    /// # });
    /// ```
    fn throttle(self, duration: Duration) -> Throttle<Self>
    where
        Self: Sized,
    {
        Throttle::new(self, duration)
    }

    /// The first item at once, then the newest item of each `duration`
    /// window at its end (the leading and the trailing edge): at most one
    /// item per `duration`, and the latest one never lost. See
    /// [`ThrottleLatest`].
    ///
    /// # Cancel safety
    ///
    /// The held item lives in the stream: dropping a `next()` future loses
    /// nothing; see [`ThrottleLatest`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// // On a virtual clock, the window's end comes at once.
    /// anyrt::VirtualClock::new().auto_advance(async {
    ///     let shown = futures_lite::stream::iter([1, 2, 3]).throttle_latest(Duration::from_secs(3600));
    ///     assert_eq!(shown.collect::<Vec<_>>().await, [1, 3]);
    /// })
    /// .await;
    /// # });
    /// ```
    fn throttle_latest(self, duration: Duration) -> ThrottleLatest<Self>
    where
        Self: Sized,
    {
        ThrottleLatest::new(self, duration)
    }

    /// `f(item)` for each item, at most `n` futures in flight, outputs in
    /// input order. See [`MapConcurrent`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see [`MapConcurrent`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let n = NonZeroUsize::new(8).unwrap();
    /// let out: Vec<_> = futures_lite::stream::iter(0..4).map_concurrent(n, |i| async move { i + 1 }).collect().await;
    /// assert_eq!(out, [1, 2, 3, 4]);
    /// # });
    /// ```
    fn map_concurrent<F, Fut>(self, n: NonZeroUsize, f: F) -> MapConcurrent<Self, F, Fut>
    where
        Self: Sized,
        F: FnMut(Self::Item) -> Fut,
        Fut: Future,
    {
        MapConcurrent::new(self, n, f)
    }

    /// `f(item)` for each item, at most `n` futures in flight, outputs as
    /// they finish. See [`MapConcurrentUnordered`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see
    /// [`MapConcurrentUnordered`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let n = NonZeroUsize::new(8).unwrap();
    /// let sum: i32 = futures_lite::stream::iter(0..4)
    ///     .map_concurrent_unordered(n, |i| async move { i })
    ///     .fold(0, |a, b| a + b)
    ///     .await;
    /// assert_eq!(sum, 6);
    /// # });
    /// ```
    fn map_concurrent_unordered<F, Fut>(
        self,
        n: NonZeroUsize,
        f: F,
    ) -> MapConcurrentUnordered<Self, F, Fut>
    where
        Self: Sized,
        F: FnMut(Self::Item) -> Fut,
        Fut: Future,
    {
        MapConcurrentUnordered::new(self, n, f)
    }

    /// `Ok(item)`, or `Err(Elapsed)` when the next item takes longer than
    /// `duration`; the stream goes on. See [`TimeoutEach`].
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; see [`TimeoutEach`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut quiet = futures_lite::stream::pending::<u8>().timeout_each(Duration::from_millis(1));
    /// assert!(quiet.next().await.unwrap().is_err());
    /// # });
    /// ```
    fn timeout_each(self, duration: Duration) -> TimeoutEach<Self>
    where
        Self: Sized,
    {
        TimeoutEach::new(self, duration)
    }

    /// Runs the stream in a task spawned through `anyrt-core`, which keeps
    /// up to `n` items queued ahead of the consumer. See [`Buffer`] and
    /// the crate docs, "Starvation".
    ///
    /// # Cancel safety
    ///
    /// Dropping a `next()` future loses nothing; dropping the stream
    /// cancels the task and drops the queued items. See [`Buffer`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let n = NonZeroUsize::new(4).unwrap();
    /// assert_eq!(futures_lite::stream::iter(0..10).buffer(n).count().await, 10);
    /// # });
    /// ```
    fn buffer(self, n: NonZeroUsize) -> Buffer<Self>
    where
        Self: Sized + Send + 'static,
        Self::Item: Send + 'static,
    {
        Buffer::new(self, n)
    }
}

impl<S: Stream + ?Sized> StreamOps for S {}
