//! `debounce`: an item only after a quiet spell, the newest one wins.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::window::{held_size_hint, pass_through};
use crate::timer::{POLL_BUDGET, Timer, due_after};

pin_project! {
    /// The upstream's items that were followed by `duration` without a
    /// newer one; made by [`StreamOps::debounce`](crate::StreamOps::debounce).
    ///
    /// An item that arrives becomes the pending item and is due `duration`
    /// after it arrived. A newer item that arrives before that replaces it:
    /// the older one is dropped at once, not kept. An item is yielded when
    /// it is due, so a gap of exactly `duration` lets the earlier item
    /// through. The upstream is polled all the while an item is pending,
    /// so its items are taken as they come. When the upstream ends, the
    /// pending item is yielded at once, without waiting for its time, and
    /// then the stream ends.
    ///
    /// A zero `duration` passes every item straight through, with no
    /// timer. A `duration` that saturates as `Duration::MAX` does (at
    /// [`far_future`](anyrt_core::far_future), about 30 years ahead) never
    /// comes due: the pending item waits for a newer one or for the
    /// upstream's end, and no sleep is registered.
    ///
    /// One sleep, boxed on the first wait and reset for every later one:
    /// nothing is allocated per item. At most 32 ready items are taken in
    /// one poll before the stream yields to the executor (and wakes itself),
    /// so an upstream that is always ready cannot hold the thread.
    ///
    /// # Cancel safety
    ///
    /// The pending item and its due time live in the stream, not in a
    /// `next()` future: dropping `next()` at any point loses no item that
    /// the operator would have yielded, and an item is yielded once. Items
    /// replaced by a newer one are dropped by design, whether or not a
    /// `next()` future was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::Debounce, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// // A virtual clock makes the timings exact; real time works the same.
    /// let clock = anyrt::VirtualClock::new();
    /// clock.auto_advance(async {
    ///     // Keystrokes at 0, 5 and 40 ms.
    ///     let keys = futures_lite::stream::iter([(0, 'a'), (5, 'b'), (35, 'c')]).then(|(gap, key)| async move {
    ///         anyrt::sleep(Duration::from_millis(gap)).await;
    ///         key
    ///     });
    ///     let mut quiet: Debounce<_> = Box::pin(keys).debounce(Duration::from_millis(10));
    ///     assert_eq!(quiet.next().await, Some('b')); // at 15 ms; 'a' was replaced
    ///     assert_eq!(quiet.next().await, Some('c')); // at 40 ms, the upstream's end
    ///     assert_eq!(quiet.next().await, None);
    /// })
    /// .await;
    /// assert_eq!(clock.elapsed(), Duration::from_millis(40));
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Debounce<S: Stream> {
        #[pin]
        stream: S,
        duration: Duration,
        // The pending item and when it is due (`None`: never).
        pending: Option<(S::Item, Option<Instant>)>,
        timer: Timer,
        // Whether the upstream ended.
        done: bool,
    }
}

impl<S: Stream> Debounce<S> {
    pub(crate) fn new(stream: S, duration: Duration) -> Self {
        Debounce {
            stream,
            duration,
            pending: None,
            timer: Timer::default(),
            done: false,
        }
    }
}

impl<S: Stream> Stream for Debounce<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if this.duration.is_zero() {
            return pass_through(this.stream, this.done, cx);
        }
        for _ in 0..POLL_BUDGET {
            if *this.done {
                return Poll::Ready(this.pending.take().map(|(item, _)| item));
            }
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    let now = anyrt_core::now();
                    let newer = (item, due_after(now, *this.duration));
                    match this.pending.replace(newer) {
                        // The older item's quiet spell was over: it goes out.
                        Some((older, Some(due))) if due <= now => {
                            return Poll::Ready(Some(older));
                        }
                        _ => {}
                    }
                }
                Poll::Ready(None) => {
                    *this.done = true;
                    this.timer.disarm();
                }
                Poll::Pending => return poll_due(this.pending, this.timer, cx),
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Whatever comes, the last item is yielded at the end.
        held_size_hint(
            self.pending.is_some(),
            self.done,
            self.duration.is_zero(),
            self.stream.size_hint(),
        )
    }
}

/// The pending item once it is due, with the upstream pending.
fn poll_due<T>(
    pending: &mut Option<(T, Option<Instant>)>,
    timer: &mut Timer,
    cx: &mut Context<'_>,
) -> Poll<Option<T>> {
    let Some((_, due)) = pending else {
        return Poll::Pending;
    };
    let Some(due) = *due else {
        timer.disarm();
        return Poll::Pending;
    };
    timer.set(due);
    std::task::ready!(timer.poll(cx));
    Poll::Ready(pending.take().map(|(item, _)| item))
}

impl<S: Stream> FusedStream for Debounce<S> {
    fn is_terminated(&self) -> bool {
        self.done && self.pending.is_none()
    }
}

impl<S: Stream> fmt::Debug for Debounce<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Debounce")
            .field("duration", &self.duration)
            .field("due", &self.pending.as_ref().map(|(_, due)| due))
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
