//! `throttle`: the first item at once, then nothing for a while.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::window::{Window, pass_through};
use crate::timer::POLL_BUDGET;

pin_project! {
    /// The upstream's items less those that arrive within `duration` of
    /// the last one yielded (the leading edge); made by
    /// [`StreamOps::throttle`](crate::StreamOps::throttle).
    ///
    /// An item that arrives while no window is open is yielded at once and
    /// opens a window of `duration`; an item that arrives inside the window
    /// is dropped at once. The window is half open: an item that arrives
    /// exactly `duration` after the last one yielded is yielded. Nothing
    /// waits, so there is no timer: the window is checked against
    /// `anyrt_core::now()` as items arrive. To keep the newest item of
    /// each window instead, and yield it when the window ends, see
    /// [`ThrottleLatest`](crate::futures::ThrottleLatest).
    ///
    /// A zero `duration` passes every item straight through. A `duration`
    /// that saturates as `Duration::MAX` does (at
    /// [`far_future`](anyrt_core::far_future), about 30 years ahead) opens
    /// a window that never ends: only the first item is yielded, and the
    /// stream ends with the upstream.
    ///
    /// Nothing is allocated, per item or otherwise. At most 32 items are
    /// taken in one poll before the stream yields to the executor (and
    /// wakes itself), so an upstream that is always ready cannot hold the
    /// thread.
    ///
    /// # Cancel safety
    ///
    /// The window lives in the stream and an item is yielded in the poll
    /// that takes it from the upstream: dropping a `next()` future loses no
    /// item that the operator would have yielded. Items that arrive inside
    /// a window are dropped by design, whether or not a `next()` future was
    /// dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::Throttle, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// // A virtual clock makes the timings exact; real time works the same.
    /// anyrt::VirtualClock::new().auto_advance(async {
    ///     // Clicks at 0, 5, 10 and 12 ms.
    ///     let clicks = futures_lite::stream::iter([(0, 'a'), (5, 'b'), (5, 'c'), (2, 'd')]).then(|(gap, click)| async move {
    ///         anyrt::sleep(Duration::from_millis(gap)).await;
    ///         click
    ///     });
    ///     let calm: Throttle<_> = Box::pin(clicks).throttle(Duration::from_millis(10));
    ///     assert_eq!(calm.collect::<Vec<_>>().await, ['a', 'c']); // c came 10 ms after a
    /// })
    /// .await;
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Throttle<S> {
        #[pin]
        stream: S,
        duration: Duration,
        window: Window,
        done: bool,
    }
}

impl<S> Throttle<S> {
    pub(crate) fn new(stream: S, duration: Duration) -> Self {
        Throttle {
            stream,
            duration,
            window: Window::Closed,
            done: false,
        }
    }
}

impl<S: Stream> Stream for Throttle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if this.duration.is_zero() {
            return pass_through(this.stream, this.done, cx);
        }
        for _ in 0..POLL_BUDGET {
            if *this.done {
                return Poll::Ready(None);
            }
            match std::task::ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => {
                    let now = anyrt_core::now();
                    if !this.window.is_open_at(now) {
                        *this.window = Window::opened_at(now, *this.duration);
                        return Poll::Ready(Some(item));
                    }
                }
                None => *this.done = true,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        let (low, high) = self.stream.size_hint();
        if self.duration.is_zero() {
            return (low, high);
        }
        // Only an item with no window before it is sure to go out.
        let first = self.window == Window::Closed && low > 0;
        (usize::from(first), high)
    }
}

impl<S: Stream> FusedStream for Throttle<S> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<S> fmt::Debug for Throttle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("duration", &self.duration)
            .field("window", &self.window)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
