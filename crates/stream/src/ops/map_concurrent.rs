//! `map_concurrent`: up to `n` futures at once, outputs in input order.

use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::slots::{Deferred, Slots};
use crate::timer::START_BUDGET;

/// The place of one output in the reorder buffer.
enum Output<T> {
    /// Not finished yet (or already returned).
    Waiting,
    Ready(T),
    /// Its future panicked: nothing to return in its turn.
    Lost,
}

impl<T> Output<T> {
    fn take(&mut self) -> Output<T> {
        std::mem::replace(self, Output::Waiting)
    }
}

pin_project! {
    /// The outputs of `f(item)` for each upstream item, in input order,
    /// with at most `n` futures in flight; made by
    /// [`StreamOps::map_concurrent`](crate::StreamOps::map_concurrent).
    ///
    /// A future that finishes before those started earlier leaves its
    /// output in a reorder buffer, and a new future starts in its place at
    /// once, as long as the window has room: the window from the oldest
    /// output not yet returned to the newest future started is at most
    /// `2n` items, so `n` futures stay in flight even behind a slow one
    /// until the window is full, and at most `2n - 1` outputs wait behind
    /// it. A poll starts at most 1,024 futures, then yields (waking
    /// itself), so a huge `n` and an upstream that is always ready cannot
    /// hold the thread. The upstream is pulled
    /// only when a future may start. Each future has its own waker; slots
    /// are allocated on first use and reused.
    ///
    /// As for every concurrent map, the futures run only while the stream
    /// is polled; see [`buffer`](crate::StreamOps::buffer).
    ///
    /// # Panics
    ///
    /// A panic in a future is resumed from `poll_next`, after the future
    /// is dropped and its slot freed: if the panic is caught, polling again
    /// goes on with the other items (the ordered map skips
    /// that item's place).
    ///
    /// # Cancel safety
    ///
    /// Futures in flight and buffered outputs live in the stream: dropping
    /// a `next()` future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::MapConcurrent, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let n = NonZeroUsize::new(3).unwrap();
    /// let mapped: MapConcurrent<_, _, _> = futures_lite::stream::iter([3_u64, 1, 2])
    ///     .map_concurrent(n, |ms| async move {
    ///         anyrt::sleep(Duration::from_millis(ms)).await;
    ///         ms
    ///     });
    /// assert_eq!(mapped.collect::<Vec<_>>().await, [3, 1, 2]);
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct MapConcurrent<S, F, Fut: Future> {
        #[pin]
        stream: S,
        f: F,
        slots: Slots<Fut>,
        // Outputs by position `sequence % window`.
        outputs: Vec<Output<Fut::Output>>,
        limit: usize,
        // The size of the ring: `2 * limit`, saturating.
        window: usize,
        // The sequence number of the next output to return.
        head: u64,
        // The sequence number of the next future to start.
        next: u64,
        running: usize,
        // Places whose future panicked, not yet skipped: they yield nothing.
        lost: usize,
        upstream_done: bool,
        // A panic of the refill after an output was taken: resumed at the
        // next poll, after the output is out.
        deferred: Deferred,
    }
}

impl<S, F, Fut: Future> MapConcurrent<S, F, Fut> {
    pub(crate) fn new(stream: S, limit: NonZeroUsize, f: F) -> Self {
        MapConcurrent {
            stream,
            f,
            slots: Slots::new(),
            outputs: Vec::new(),
            limit: limit.get(),
            window: limit.get().saturating_mul(2),
            head: 0,
            next: 0,
            running: 0,
            lost: 0,
            upstream_done: false,
            deferred: Deferred::default(),
        }
    }

    /// How many futures are running now (not counting buffered outputs).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::StreamOps;
    ///
    /// let mapped = futures_lite::stream::iter([1]).map_concurrent(NonZeroUsize::MIN, |i| async move { i });
    /// assert_eq!(mapped.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.running
    }

    /// Items taken from the upstream and not yet returned.
    fn pending(&self) -> u64 {
        self.next - self.head
    }

    fn position(&self, sequence: u64) -> usize {
        // `window` fits in a usize, so the remainder does.
        (sequence % self.window as u64) as usize
    }
}

impl<S, F, Fut> Stream for MapConcurrent<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    type Item = Fut::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Fut::Output>> {
        let mut this = self;
        this.as_mut().project().deferred.resume();
        this.as_mut().project().slots.start_poll(cx);
        let mut budget = START_BUDGET;
        loop {
            this.as_mut().fill(cx, &mut budget);
            let p = this.as_mut().project();
            while let Some((index, output)) = p.slots.poll_next_done() {
                *p.running -= 1;
                match output {
                    Ok(output) => p.outputs[index] = Output::Ready(output),
                    // Its place is skipped when its turn comes, so the
                    // stream goes on if the panic is caught.
                    Err(panic) => {
                        p.outputs[index] = Output::Lost;
                        *p.lost += 1;
                        std::panic::resume_unwind(panic);
                    }
                }
            }
            let head = this.position(this.head);
            let p = this.as_mut().project();
            match p.outputs.get_mut(head).map(Output::take) {
                Some(Output::Ready(output)) => {
                    *p.head += 1;
                    // Its place may start a future; a panic there (of the
                    // upstream or `f`) is resumed at the next poll, once
                    // this output is out.
                    let mut deferred = std::mem::take(p.deferred);
                    deferred.catch(|| this.as_mut().fill(cx, &mut budget));
                    *this.as_mut().project().deferred = deferred;
                    return Poll::Ready(Some(output));
                }
                Some(Output::Lost) => {
                    *p.head += 1;
                    *p.lost -= 1;
                    continue;
                }
                _ => {}
            }
            if *p.upstream_done && *p.head == *p.next {
                return Poll::Ready(None);
            }
            // Finished futures made room: start more, and poll them.
            this.as_mut().fill(cx, &mut budget);
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
        // Lost places yield nothing.
        let pending = usize::try_from(self.pending())
            .unwrap_or(usize::MAX)
            .saturating_sub(self.lost);
        if self.upstream_done {
            return (pending, Some(pending));
        }
        let (low, high) = self.stream.size_hint();
        (
            low.saturating_add(pending),
            high.and_then(|h| h.checked_add(pending)),
        )
    }
}

impl<S, F, Fut> MapConcurrent<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    /// Starts futures while fewer than `limit` run and the window has room,
    /// at most `budget` of them (counted down).
    fn fill(mut self: Pin<&mut Self>, cx: &mut Context<'_>, budget: &mut usize) {
        loop {
            let room = (self.pending() as u128) < self.window as u128;
            if self.upstream_done || self.running >= self.limit || !room || *budget == 0 {
                return;
            }
            let index = self.position(self.next);
            let mut p = self.as_mut().project();
            match p.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    *budget -= 1;
                    p.slots.start(index, (p.f)(item));
                    if p.outputs.len() <= index {
                        p.outputs.resize_with(index + 1, || Output::Waiting);
                    }
                    *p.next += 1;
                    *p.running += 1;
                }
                Poll::Ready(None) => *p.upstream_done = true,
                Poll::Pending => return,
            }
        }
    }
}

impl<S, F, Fut> FusedStream for MapConcurrent<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    fn is_terminated(&self) -> bool {
        self.upstream_done && self.head == self.next
    }
}

impl<S, F, Fut: Future> fmt::Debug for MapConcurrent<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapConcurrent")
            .field("limit", &self.limit)
            .field("running", &self.running)
            .field(
                "buffered",
                &(self.pending() as usize - self.running - self.lost),
            )
            .field("upstream_done", &self.upstream_done)
            .finish_non_exhaustive()
    }
}
