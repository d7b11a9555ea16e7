//! `rate_limit` and `rate_limit_by`: items wait for permits of a shared
//! limiter.

use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use crate::limiter::{Shared, Waiter};

/// An item whose cost exceeds the limiter's burst, handed back by
/// [`RateLimitBy`]: no wait could grant that many permits at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::{RateLimiter, StreamOps};
/// use futures_lite::StreamExt;
///
/// # futures_lite::future::block_on(async {
/// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(5).build()?;
/// let sizes = futures_lite::stream::iter([3_u32, 9]);
/// let out: Vec<_> = sizes.rate_limit_by(&limiter, |size| *size).collect().await;
/// assert_eq!(out[0], Ok(3));
/// let rejected = out[1].as_ref().unwrap_err();
/// assert_eq!((*rejected.item(), rejected.cost(), rejected.burst()), (9, 9, 5));
/// # Ok::<(), anyrt::stream::BuildError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Rejected<T> {
    item: T,
    cost: u32,
    burst: u32,
}

impl<T> Rejected<T> {
    /// The item.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(4).build()?;
    /// let mut limited = futures_lite::stream::iter([7_u32]).rate_limit_by(&limiter, |n| *n);
    /// let rejected = limited.next().await.unwrap().unwrap_err();
    /// assert_eq!(*rejected.item(), 7);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn item(&self) -> &T {
        &self.item
    }

    /// The item, taken back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(1, Duration::from_secs(1)).burst(1).build()?;
    /// let mut limited = futures_lite::stream::iter(["big"]).rate_limit_by(&limiter, |_| 2);
    /// let rejected = limited.next().await.unwrap().unwrap_err();
    /// assert_eq!(rejected.into_item(), "big");
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn into_item(self) -> T {
        self.item
    }

    /// The item's cost in permits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(4).build()?;
    /// let mut limited = futures_lite::stream::iter([7_u32]).rate_limit_by(&limiter, |n| *n);
    /// let rejected = limited.next().await.unwrap().unwrap_err();
    /// assert_eq!(rejected.cost(), 7);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// The limiter's burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(4).build()?;
    /// let mut limited = futures_lite::stream::iter([7_u32]).rate_limit_by(&limiter, |n| *n);
    /// let rejected = limited.next().await.unwrap().unwrap_err();
    /// assert_eq!(rejected.burst(), 4);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl<T> fmt::Debug for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("cost", &self.cost)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "item costs {} permits, more than the burst of {}",
            self.cost, self.burst
        )
    }
}

impl<T> Error for Rejected<T> {}

pin_project! {
    /// The upstream's items, each let through once it has been granted its
    /// cost in permits of a shared [`RateLimiter`](crate::RateLimiter);
    /// made by [`StreamOps::rate_limit_by`](crate::StreamOps::rate_limit_by).
    ///
    /// An item is pulled from the upstream, its cost computed, and then it
    /// waits in the limiter's queue, in turn with every other user of the
    /// limiter; the next item is pulled only after it is out. A cost of 0
    /// passes at once. An item costing more than the burst is yielded as
    /// `Err(Rejected)`, with the item handed back, and the stream goes on.
    ///
    /// # Cancel safety
    ///
    /// The held item and its place in the queue live in the stream:
    /// dropping a `next()` future loses neither. Dropping the stream drops
    /// the held item and gives the place back, taking no permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::RateLimitBy, RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::new(1000, Duration::from_secs(1))?;
    /// let batches = futures_lite::stream::iter([vec![1, 2], vec![3]]);
    /// let limited: RateLimitBy<_, _> = batches.rate_limit_by(&limiter, |b| b.len() as u32);
    /// assert_eq!(limited.count().await, 2);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct RateLimitBy<S: Stream, F> {
        #[pin]
        stream: S,
        cost: F,
        waiter: Waiter<Arc<Shared>>,
        held: Option<(S::Item, u32)>,
        done: bool,
    }
}

impl<S: Stream, F> RateLimitBy<S, F> {
    pub(crate) fn new(stream: S, limiter: Arc<Shared>, cost: F) -> Self {
        RateLimitBy {
            stream,
            cost,
            waiter: Waiter::new(limiter),
            held: None,
            done: false,
        }
    }
}

impl<S, F> Stream for RateLimitBy<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> u32,
{
    type Item = Result<S::Item, Rejected<S::Item>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if this.held.is_none() {
            if *this.done {
                return Poll::Ready(None);
            }
            match std::task::ready!(this.stream.poll_next(cx)) {
                Some(item) => {
                    let cost = (this.cost)(&item);
                    *this.held = Some((item, cost));
                }
                None => {
                    *this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
        let cost = this.held.as_ref().map_or(0, |(_, cost)| *cost);
        let granted = std::task::ready!(this.waiter.poll_acquire(cx, u64::from(cost)));
        let Some((item, cost)) = this.held.take() else {
            return Poll::Pending; // an item is always held here
        };
        if granted {
            Poll::Ready(Some(Ok(item)))
        } else {
            let burst = this.waiter.limiter().burst;
            Poll::Ready(Some(Err(Rejected { item, cost, burst })))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = usize::from(self.held.is_some());
        if self.done {
            return (held, Some(held));
        }
        let (low, high) = self.stream.size_hint();
        (
            low.saturating_add(held),
            high.and_then(|h| h.checked_add(held)),
        )
    }
}

impl<S, F> FusedStream for RateLimitBy<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> u32,
{
    fn is_terminated(&self) -> bool {
        self.done && self.held.is_none()
    }
}

impl<S: Stream, F> fmt::Debug for RateLimitBy<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitBy")
            .field("waiter", &self.waiter)
            .field("holding", &self.held.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The cost function of [`RateLimit`]: one permit per item.
type One<T> = fn(&T) -> u32;

pin_project! {
    /// The upstream's items, each let through once it has been granted one
    /// permit of a shared [`RateLimiter`](crate::RateLimiter); made by
    /// [`StreamOps::rate_limit`](crate::StreamOps::rate_limit).
    ///
    /// # Cancel safety
    ///
    /// As for [`RateLimitBy`]: the held item and its place in the queue
    /// live in the stream; dropping a `next()` future loses neither.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::RateLimit, RateLimiter, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::new(1000, Duration::from_secs(1))?;
    /// let limited: RateLimit<_> = futures_lite::stream::iter(0..3).rate_limit(&limiter);
    /// assert_eq!(limited.collect::<Vec<_>>().await, [0, 1, 2]);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct RateLimit<S: Stream> {
        #[pin]
        inner: RateLimitBy<S, One<S::Item>>,
    }
}

impl<S: Stream> RateLimit<S> {
    pub(crate) fn new(stream: S, limiter: Arc<Shared>) -> Self {
        let one: One<S::Item> = |_| 1;
        RateLimit {
            inner: RateLimitBy::new(stream, limiter, one),
        }
    }
}

impl<S: Stream> Stream for RateLimit<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        // A cost of 1 never exceeds a burst, which is at least 1.
        self.project()
            .inner
            .poll_next(cx)
            .map(|item| item.map(|result| result.unwrap_or_else(Rejected::into_item)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S: Stream> FusedStream for RateLimit<S> {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<S: Stream> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .finish()
    }
}
