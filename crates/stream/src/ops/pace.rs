//! `pace`: at least an interval between items, without drift.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::window::Window;
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
    /// An interval that saturates as `Duration::MAX` does (at
    /// [`far_future`](anyrt_core::far_future), about 30 years ahead) makes
    /// a slot that never comes: the first item goes out at once, and the
    /// next one is held for good, with no sleep registered.
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
        // The earliest slot of the next item, as the window the last item
        // opened: `Closed` before the first item, `Forever` once a slot
        // saturates.
        next_slot: Window,
        // The held item and its slot (`None`: never).
        held: Option<(S::Item, Option<Instant>)>,
        timer: Timer,
        done: bool,
    }
}

impl<S: Stream> Pace<S> {
    pub(crate) fn new(stream: S, interval: Duration) -> Self {
        Pace {
            stream,
            interval,
            next_slot: Window::Closed,
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
            let slot = match *this.next_slot {
                Window::Closed => Some(now),
                Window::Until(next) => Some(next.max(now)),
                Window::Forever => None,
            };
            match slot {
                Some(slot) if slot <= now => {
                    *this.next_slot = Window::opened_at(slot, *this.interval);
                    return Poll::Ready(Some(item));
                }
                Some(slot) => this.timer.set(slot),
                None => this.timer.disarm(),
            }
            *this.held = Some((item, slot));
        }
        // An item is always held here; one whose slot never comes waits
        // with no sleep.
        let Some((_, Some(slot))) = *this.held else {
            return Poll::Pending;
        };
        std::task::ready!(this.timer.poll(cx));
        *this.next_slot = Window::opened_at(slot, *this.interval);
        Poll::Ready(this.held.take().map(|(item, _)| item))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = match &self.held {
            None => 0,
            Some((_, Some(_))) => 1,
            // Held for good: nothing more comes out.
            Some((_, None)) => return (0, Some(0)),
        };
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
