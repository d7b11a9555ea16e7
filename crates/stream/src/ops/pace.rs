//! `pace`: at least an interval between items, without drift.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use crate::timer::Timer;

pin_project! {
    /// The upstream's items, at least `interval` apart; made by
    /// [`StreamOps::pace`](crate::StreamOps::pace).
    ///
    /// Each item gets a slot: the first item's is the time it arrived; each
    /// later item's is the previous slot plus `interval`, or the time it
    /// arrived if that is later. An item is yielded at its slot, never
    /// before: it is delayed, never dropped. Slots are computed from slots,
    /// not from when the consumer polled or the timer fired, so the pace
    /// does not drift: 100 ready items at 10 ms come out at exactly 0, 10,
    /// ..., 990 ms. An item is pulled from the upstream as soon as the
    /// previous one is out, and held until its slot, so the upstream's work
    /// overlaps the wait. A zero interval passes items straight through.
    ///
    /// # Cancel safety
    ///
    /// A held item lives in the stream: dropping a `next()` future loses
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::Pace, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let start = anyrt::now();
    /// let paced: Pace<_> = futures_lite::stream::iter([1, 2, 3]).pace(Duration::from_millis(2));
    /// assert_eq!(paced.collect::<Vec<_>>().await, [1, 2, 3]);
    /// assert!(anyrt::now() - start >= Duration::from_millis(4));
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Pace<S: Stream> {
        #[pin]
        stream: S,
        interval: Duration,
        // The earliest slot of the next item.
        next_slot: Option<Instant>,
        held: Option<(S::Item, Instant)>,
        timer: Timer,
        done: bool,
    }
}

impl<S: Stream> Pace<S> {
    pub(crate) fn new(stream: S, interval: Duration) -> Self {
        Pace {
            stream,
            interval,
            next_slot: None,
            held: None,
            timer: Timer::default(),
            done: false,
        }
    }
}

impl<S: Stream> Stream for Pace<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if this.held.is_none() {
            if *this.done {
                return Poll::Ready(None);
            }
            let item = match std::task::ready!(this.stream.poll_next(cx)) {
                Some(item) => item,
                None => {
                    *this.done = true;
                    return Poll::Ready(None);
                }
            };
            let now = anyrt_core::now();
            let slot = this.next_slot.map_or(now, |next| next.max(now));
            if slot <= now {
                *this.next_slot = Some(anyrt_core::deadline_after(slot, *this.interval));
                return Poll::Ready(Some(item));
            }
            *this.held = Some((item, slot));
            this.timer.set(slot);
        }
        std::task::ready!(this.timer.poll(cx));
        match this.held.take() {
            Some((item, slot)) => {
                *this.next_slot = Some(anyrt_core::deadline_after(slot, *this.interval));
                Poll::Ready(Some(item))
            }
            // An item is always held here.
            None => Poll::Pending,
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

impl<S: Stream> FusedStream for Pace<S> {
    fn is_terminated(&self) -> bool {
        self.done && self.held.is_none()
    }
}

impl<S: Stream> fmt::Debug for Pace<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pace")
            .field("interval", &self.interval)
            .field("next_slot", &self.next_slot)
            .field("holding", &self.held.is_some())
            .finish_non_exhaustive()
    }
}
