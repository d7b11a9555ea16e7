//! `timeout`, `timeout_at` and their future, `Timeout`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_core::futures::AnySleep;
use pin_project_lite::pin_project;

use crate::{Deadline, Elapsed};

/// When a [`Timeout`] gives up: a duration not started yet, or a point in
/// time.
#[derive(Clone, Copy, Debug)]
pub(crate) enum When {
    After(Duration),
    At(Instant),
}

impl When {
    /// The point in time; a duration starts now, on the ambient clock.
    /// The absolute deadline; `now` starts a relative one.
    fn resolve(&mut self, now: impl FnOnce() -> Instant) -> Instant {
        match *self {
            When::At(at) => at,
            When::After(duration) => {
                let at = anyrt_core::deadline_after(now(), duration);
                *self = When::At(at);
                at
            }
        }
    }
}

pin_project! {
    /// A future with a time limit; made by [`timeout`], [`timeout_at`] and
    /// [`DeadlineExt`](crate::DeadlineExt).
    ///
    /// Each poll polls the inner future first, so a future that is ready
    /// never times out, however late. Only when the inner future is
    /// pending is the deadline looked at: the first time, a relative
    /// timeout reads the ambient clock to start and a sleep is created on
    /// the ambient timer; on every poll the clock is compared with the
    /// deadline, so an inner future that keeps waking itself still times
    /// out. A future ready at its first poll costs no clock read, no sleep
    /// and no allocation.
    ///
    /// # Errors
    ///
    /// Resolves to [`Elapsed`] once the deadline has passed while the inner
    /// future was still pending.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future (whose own cancel safety
    /// applies) and deregisters its sleep; the sleep is also released as
    /// soon as the timeout completes. No timer is left behind.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::futures::Timeout;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limited: Timeout<_> = anyrt::deadline::timeout(Duration::from_secs(1), async { 5 });
    /// assert_eq!(limited.await, Ok(5));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        when: When,
        #[pin]
        sleep: Option<AnySleep>,
    }
}

impl<F> Timeout<F> {
    pub(crate) fn new(future: F, when: When) -> Self {
        Timeout {
            future,
            when,
            sleep: None,
        }
    }

    /// Fixes the deadline to the earlier of its own and `outer`, starting
    /// a relative timeout now; for [`Within`](crate::futures::Within).
    pub(crate) fn bind(self: Pin<&mut Self>, outer: Option<Instant>) -> Instant {
        let this = self.project();
        let own = this.when.resolve(anyrt_core::now);
        let at = outer.map_or(own, |outer| outer.min(own));
        *this.when = When::At(at);
        at
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            release(this.sleep);
            return Poll::Ready(Ok(output));
        }
        // One clock read serves both to start a relative timeout and to
        // check the deadline.
        let now = anyrt_core::now();
        let deadline = this.when.resolve(|| now);
        if passed(this.sleep.as_mut(), deadline, now, cx) {
            release(this.sleep);
            return Poll::Ready(Err(Elapsed));
        }
        Poll::Pending
    }
}

/// Whether `deadline` has passed, by the clock or by the sleep (created on
/// first need), which is left registered to wake the task otherwise.
fn passed(
    mut sleep: Pin<&mut Option<AnySleep>>,
    deadline: Instant,
    now: Instant,
    cx: &mut Context<'_>,
) -> bool {
    if now >= deadline {
        return true;
    }
    if sleep.is_none() {
        sleep.set(Some(anyrt_core::sleep_until(deadline)));
    }
    sleep
        .as_pin_mut()
        .is_some_and(|sleep| sleep.poll(cx).is_ready())
}

/// Drops the sleep, if any, so that a finished timeout holds no timer.
fn release(mut sleep: Pin<&mut Option<AnySleep>>) {
    if sleep.is_some() {
        sleep.set(None);
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Timeout");
        match self.when {
            When::After(duration) => debug.field("after", &duration),
            When::At(at) => debug.field("deadline", &at),
        };
        debug
            .field("armed", &self.sleep.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs `future` for at most `duration`, counted from its first poll.
///
/// The inner future is polled first, so one that is ready never times out
/// (even with [`Duration::ZERO`]). A huge duration, up to
/// [`Duration::MAX`], saturates at [`anyrt::far_future`](anyrt_core::far_future) instead of
/// panicking. Time is read from the ambient clock and the sleep made on the
/// ambient timer of `anyrt-core`. Unlike [`within`](crate::within), the
/// limit is not seen by nested work as the ambient deadline.
///
/// A timeout whose future completes first allocates nothing and leaves no
/// timer behind.
///
/// # Errors
///
/// [`Elapsed`] if `duration` passes while `future` is still pending.
///
/// # Cancel safety
///
/// See [`Timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// let quick = anyrt::deadline::timeout(Duration::from_secs(1), async { 7 }).await;
/// assert_eq!(quick, Ok(7));
///
/// let slow = anyrt::sleep(Duration::from_secs(60));
/// assert!(anyrt::deadline::timeout(Duration::from_millis(5), slow).await.is_err());
/// # });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), When::After(duration))
}

/// Runs `future` until `deadline`, an [`Instant`] or a [`Deadline`].
///
/// The inner future is polled first, so one that is ready never times out,
/// even with a deadline far in the past. Otherwise see [`timeout`].
///
/// # Errors
///
/// [`Elapsed`] if `deadline` passes while `future` is still pending.
///
/// # Cancel safety
///
/// See [`Timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::deadline::Deadline;
///
/// # futures_lite::future::block_on(async {
/// let deadline = Deadline::after(Duration::from_millis(5));
/// let slow = anyrt::sleep(Duration::from_secs(60));
/// assert!(anyrt::deadline::timeout_at(deadline, slow).await.is_err());
/// assert!(deadline.is_expired());
/// # });
/// ```
pub fn timeout_at<F: IntoFuture>(
    deadline: impl Into<Deadline>,
    future: F,
) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), When::At(deadline.into().instant()))
}
