//! `map_concurrent_unordered`: up to `n` futures at once, outputs as they
//! finish.

use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::slots::{Deferred, Slots};
use crate::timer::START_BUDGET;

pin_project! {
    #[project = UnorderedProj]
    /// The outputs of `f(item)` for each upstream item, in the order they
    /// finish, with at most `n` futures in flight; made by
    /// [`StreamOps::map_concurrent_unordered`](crate::StreamOps::map_concurrent_unordered).
    ///
    /// The upstream is pulled only while fewer than `n` futures are in
    /// flight, and pulled again as soon as one finishes (before its output
    /// is returned), so the set is refilled to `n` at once (a poll starts at
    /// most 1,024 futures, then yields: a huge `n` and an upstream that is
    /// always ready cannot hold the thread). Each future has
    /// its own waker: a poll polls only the futures that woke. The `n`
    /// slots are allocated on first use and reused: no allocation per
    /// item.
    ///
    /// The futures run only while this stream is polled. If the consumer
    /// awaits something else between items, they wait too; put
    /// [`buffer`](crate::StreamOps::buffer) after this stream to keep them
    /// running (see the crate docs, "Starvation").
    ///
    /// # Panics
    ///
    /// A panic in a future is resumed from `poll_next`, after the future
    /// is dropped and its slot freed: if the panic is caught, polling again
    /// goes on with the other items.
    ///
    /// # Cancel safety
    ///
    /// The futures in flight live in the stream: dropping a `next()` future
    /// loses nothing. Dropping the stream drops them (their own cancel
    /// safety applies).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::{futures::MapConcurrentUnordered, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let n = NonZeroUsize::new(4).unwrap();
    /// let doubled: MapConcurrentUnordered<_, _, _> =
    ///     futures_lite::stream::iter(1..=8).map_concurrent_unordered(n, |i| async move { i * 2 });
    /// let mut out: Vec<i32> = doubled.collect().await;
    /// out.sort();
    /// assert_eq!(out, [2, 4, 6, 8, 10, 12, 14, 16]);
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct MapConcurrentUnordered<S, F, Fut> {
        #[pin]
        stream: S,
        f: F,
        slots: Slots<Fut>,
        free: Vec<usize>,
        limit: usize,
        in_flight: usize,
        upstream_done: bool,
        // A panic of the refill after an output was taken: resumed at the
        // next poll, after the output is out.
        deferred: Deferred,
    }
}

impl<S, F, Fut: Future> MapConcurrentUnordered<S, F, Fut> {
    pub(crate) fn new(stream: S, limit: NonZeroUsize, f: F) -> Self {
        MapConcurrentUnordered {
            stream,
            f,
            slots: Slots::new(),
            free: Vec::new(),
            limit: limit.get(),
            in_flight: 0,
            upstream_done: false,
            deferred: Deferred::default(),
        }
    }

    /// How many futures are in flight now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::StreamOps;
    ///
    /// let mapped = futures_lite::stream::iter([1]).map_concurrent_unordered(NonZeroUsize::MIN, |i| async move { i });
    /// assert_eq!(mapped.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

impl<S, F, Fut> Stream for MapConcurrentUnordered<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    type Item = Fut::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Fut::Output>> {
        let mut this = self.project();
        this.deferred.resume();
        this.slots.start_poll(cx);
        let mut budget = START_BUDGET;
        loop {
            // Fill to the limit; the new futures are queued and polled below.
            while *this.in_flight < *this.limit && !*this.upstream_done && budget > 0 {
                match this.stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(item)) => {
                        budget -= 1;
                        start(&mut this, item);
                    }
                    Poll::Ready(None) => *this.upstream_done = true,
                    Poll::Pending => break,
                }
            }
            if let Some((index, output)) = this.slots.poll_next_done() {
                this.free.push(index);
                *this.in_flight -= 1;
                // The panicked future is gone and its slot free, so the
                // stream goes on if the panic is caught.
                let output = output.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                // Refill at once, before the output is handed out; a panic
                // there is resumed at the next poll, once the output is out.
                if !*this.upstream_done {
                    let mut deferred = std::mem::take(this.deferred);
                    deferred.catch(|| match this.stream.as_mut().poll_next(cx) {
                        Poll::Ready(Some(item)) => start(&mut this, item),
                        Poll::Ready(None) => *this.upstream_done = true,
                        Poll::Pending => {}
                    });
                    *this.deferred = deferred;
                }
                return Poll::Ready(Some(output));
            }
            if *this.upstream_done && *this.in_flight == 0 {
                return Poll::Ready(None);
            }
            // Futures started by the fill are queued: poll them too.
            if !this.slots.has_queued() {
                if budget == 0 {
                    // More may start: at the next poll.
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let in_flight = self.in_flight;
        if self.upstream_done {
            return (in_flight, Some(in_flight));
        }
        let (low, high) = self.stream.size_hint();
        (
            low.saturating_add(in_flight),
            high.and_then(|h| h.checked_add(in_flight)),
        )
    }
}

/// Starts `f(item)` in a free slot. `f` runs first: if it panics, no slot
/// was taken for it.
fn start<S, F, Fut>(this: &mut UnorderedProj<'_, S, F, Fut>, item: S::Item)
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    let future = (this.f)(item);
    let index = this.free.pop().unwrap_or(*this.in_flight);
    this.slots.start(index, future);
    *this.in_flight += 1;
}

impl<S, F, Fut> FusedStream for MapConcurrentUnordered<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    fn is_terminated(&self) -> bool {
        self.upstream_done && self.in_flight == 0
    }
}

impl<S, F, Fut> fmt::Debug for MapConcurrentUnordered<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapConcurrentUnordered")
            .field("limit", &self.limit)
            .field("in_flight", &self.in_flight)
            .field("upstream_done", &self.upstream_done)
            .finish_non_exhaustive()
    }
}
