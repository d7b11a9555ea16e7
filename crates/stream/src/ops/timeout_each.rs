//! `timeout_each`: an `Elapsed` error item when the next item is late.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyrt_deadline::Elapsed;
use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use crate::timer::{Timer, due_after};

pin_project! {
    /// The upstream's items as `Ok`, with an `Err(Elapsed)` whenever the
    /// next item takes longer than `duration`; made by
    /// [`StreamOps::timeout_each`](crate::StreamOps::timeout_each).
    ///
    /// The wait for an item starts when the stream is first polled for it
    /// and finds it pending. If `duration` passes before the item comes,
    /// one `Err(Elapsed)` is yielded and the stream goes on waiting for the
    /// same item, with no further error until it comes (so a stalled
    /// upstream yields one error, not one per `duration`). The upstream is
    /// polled first, so an item that is ready never times out. One sleep,
    /// reset for each wait.
    ///
    /// # Cancel safety
    ///
    /// All state lives in the stream: dropping a `next()` future loses
    /// nothing, and the wait in progress keeps its start.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::TimeoutEach, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// // A virtual clock makes the timings exact; real time works the same.
    /// let clock = anyrt::VirtualClock::new();
    /// clock.auto_advance(async {
    ///     let slow = futures_lite::stream::iter([1, 2]).then(|i| async move {
    ///         anyrt::sleep(Duration::from_millis(if i == 2 { 50 } else { 0 })).await;
    ///         i
    ///     });
    ///     let mut limited: TimeoutEach<_> = Box::pin(slow).timeout_each(Duration::from_millis(5));
    ///     assert_eq!(limited.next().await, Some(Ok(1)));
    ///     assert!(limited.next().await.unwrap().is_err()); // 2 is late
    ///     assert_eq!(limited.next().await, Some(Ok(2)));
    ///     assert_eq!(limited.next().await, None);
    /// })
    /// .await;
    /// assert_eq!(clock.elapsed(), Duration::from_millis(50));
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct TimeoutEach<S> {
        #[pin]
        stream: S,
        duration: Duration,
        timer: Timer,
        // Whether the wait for the next item has its deadline.
        armed: bool,
        // Whether this wait already yielded its error.
        reported: bool,
        done: bool,
    }
}

impl<S> TimeoutEach<S> {
    pub(crate) fn new(stream: S, duration: Duration) -> Self {
        TimeoutEach {
            stream,
            duration,
            timer: Timer::default(),
            armed: false,
            reported: false,
            done: false,
        }
    }
}

impl<S: Stream> Stream for TimeoutEach<S> {
    type Item = Result<S::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match this.stream.poll_next(cx) {
            Poll::Ready(Some(item)) => {
                // The wait is over: its sleep goes now, not at the next wait.
                if *this.armed {
                    this.timer.disarm();
                }
                *this.armed = false;
                *this.reported = false;
                return Poll::Ready(Some(Ok(item)));
            }
            Poll::Ready(None) => {
                *this.done = true;
                this.timer.disarm();
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if *this.reported {
            return Poll::Pending;
        }
        if !*this.armed {
            *this.armed = true;
            match due_after(anyrt_core::now(), *this.duration) {
                Some(deadline) => this.timer.set(deadline),
                // A duration too long to end: this wait never times out,
                // and no sleep is made that would pull a virtual clock.
                None => {
                    *this.reported = true;
                    return Poll::Pending;
                }
            }
        }
        std::task::ready!(this.timer.poll(cx));
        *this.reported = true;
        Poll::Ready(Some(Err(elapsed())))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        // At most one error before each item and one before the end.
        let (low, high) = self.stream.size_hint();
        (low, high.and_then(|h| h.checked_mul(2)?.checked_add(1)))
    }
}

impl<S: Stream> FusedStream for TimeoutEach<S> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<S> fmt::Debug for TimeoutEach<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutEach")
            .field("duration", &self.duration)
            .field("armed", &self.armed)
            .field("reported", &self.reported)
            .finish_non_exhaustive()
    }
}

/// An `Elapsed` value. anyrt-deadline gives its error no public
/// constructor, so this takes the one of a zero timeout around a future
/// that never completes: it fails at its first poll, with no sleep made.
fn elapsed() -> Elapsed {
    let mut zero = std::pin::pin!(anyrt_deadline::timeout(
        Duration::ZERO,
        std::future::pending::<()>()
    ));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        if let Poll::Ready(Err(elapsed)) = std::future::Future::poll(zero.as_mut(), &mut cx) {
            return elapsed;
        }
    }
}
