//! `throttle_latest`: the first item at once, then the newest of each
//! window at its end.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::window::{Window, held_size_hint, pass_through};
use crate::timer::{POLL_BUDGET, Timer};

pin_project! {
    /// At most one item per `duration`: the first at once, then the newest
    /// item that arrived during each window, at the window's end (the
    /// leading and the trailing edge); made by
    /// [`StreamOps::throttle_latest`](crate::StreamOps::throttle_latest).
    ///
    /// An item that arrives while no window is open is yielded at once and
    /// opens a window of `duration`. An item that arrives inside the window
    /// is held; a newer one replaces it, and the older one is dropped at
    /// once. When the window ends, the held item is yielded and opens the
    /// next window; with no item held, the next item goes out as it comes.
    /// The window is half open: an item that arrives exactly as a window
    /// ends falls into the next one. The upstream is polled all the while
    /// an item is held.
    ///
    /// When the upstream ends, a held item still waits for its window's
    /// end, so that two items are never closer than `duration`; then the
    /// stream ends. A zero `duration` passes every item straight through,
    /// with no timer. A `duration` that saturates as `Duration::MAX` does
    /// (at [`far_future`](anyrt_core::far_future), about 30 years ahead)
    /// opens a window that never ends, which the end of
    /// the upstream closes: the first item at once, the last one at the
    /// end, and no sleep registered meanwhile.
    ///
    /// One sleep, boxed on the first wait and reset for every later one:
    /// nothing is allocated per item. At most 32 ready items are taken in
    /// one poll before the stream yields to the executor (and wakes
    /// itself), so an upstream that is always ready cannot hold the thread.
    ///
    /// # Cancel safety
    ///
    /// The held item and the window live in the stream, not in a `next()`
    /// future: dropping `next()` at any point loses no item that the
    /// operator would have yielded, and an item is yielded once. Items
    /// replaced by a newer one are dropped by design, whether or not a
    /// `next()` future was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::ThrottleLatest, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// // A virtual clock makes the timings exact; real time works the same.
    /// let clock = anyrt::VirtualClock::new();
    /// clock.auto_advance(async {
    ///     // Progress reports at 0, 1, 2 and 3 ms.
    ///     let reports = futures_lite::stream::iter(0..4).then(|percent| async move {
    ///         anyrt::sleep(Duration::from_millis(if percent == 0 { 0 } else { 1 })).await;
    ///         percent
    ///     });
    ///     let mut shown: ThrottleLatest<_> = Box::pin(reports).throttle_latest(Duration::from_millis(10));
    ///     assert_eq!(shown.next().await, Some(0)); // at once
    ///     assert_eq!(shown.next().await, Some(3)); // at 10 ms, the newest
    ///     assert_eq!(shown.next().await, None);
    /// })
    /// .await;
    /// assert_eq!(clock.elapsed(), Duration::from_millis(10));
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct ThrottleLatest<S: Stream> {
        #[pin]
        stream: S,
        duration: Duration,
        window: Window,
        held: Option<S::Item>,
        timer: Timer,
        // Whether the upstream ended.
        done: bool,
    }
}

impl<S: Stream> ThrottleLatest<S> {
    pub(crate) fn new(stream: S, duration: Duration) -> Self {
        ThrottleLatest {
            stream,
            duration,
            window: Window::Closed,
            held: None,
            timer: Timer::default(),
            done: false,
        }
    }
}

impl<S: Stream> Stream for ThrottleLatest<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if this.duration.is_zero() {
            return pass_through(this.stream, this.done, cx);
        }
        for _ in 0..POLL_BUDGET {
            if *this.done {
                return poll_window_end(
                    this.held,
                    this.window,
                    this.timer,
                    *this.duration,
                    true,
                    cx,
                );
            }
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    let now = anyrt_core::now();
                    if this.window.is_open_at(now) {
                        *this.held = Some(item);
                        continue;
                    }
                    *this.window = Window::opened_at(now, *this.duration);
                    // The held item's window is over: it goes out now, and
                    // the newcomer is held in the window it opens.
                    return Poll::Ready(match this.held.replace(item) {
                        Some(older) => Some(older),
                        None => this.held.take(),
                    });
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => {
                    return poll_window_end(
                        this.held,
                        this.window,
                        this.timer,
                        *this.duration,
                        false,
                        cx,
                    );
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // An item is yielded at once or held, and a held one is yielded
        // unless a newer one replaces it.
        held_size_hint(
            self.held.is_some(),
            self.done,
            self.duration.is_zero(),
            self.stream.size_hint(),
        )
    }
}

/// The held item once its window ends (or, for a window that never ends,
/// once the upstream has); the end of the stream once nothing is held.
fn poll_window_end<T>(
    held: &mut Option<T>,
    window: &mut Window,
    timer: &mut Timer,
    duration: Duration,
    done: bool,
    cx: &mut Context<'_>,
) -> Poll<Option<T>> {
    if held.is_none() {
        timer.disarm();
        return if done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        };
    }
    match *window {
        Window::Until(end) => {
            timer.set(end);
            std::task::ready!(timer.poll(cx));
        }
        Window::Forever if !done => {
            timer.disarm();
            return Poll::Pending;
        }
        // A window that never ends closes with the upstream; an item is
        // held only in an open window.
        Window::Forever | Window::Closed => {}
    }
    *window = Window::opened_at(anyrt_core::now(), duration);
    Poll::Ready(held.take())
}

impl<S: Stream> FusedStream for ThrottleLatest<S> {
    fn is_terminated(&self) -> bool {
        self.done && self.held.is_none()
    }
}

impl<S: Stream> fmt::Debug for ThrottleLatest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThrottleLatest")
            .field("duration", &self.duration)
            .field("window", &self.window)
            .field("holding", &self.held.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
