//! `within`, `within_deadline` and their future, `Within`: a deadline that
//! reaches everything a future does.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyrt_core::futures::WithAmbient;
use pin_project_lite::pin_project;

use crate::ambient::{AmbientDeadline, current_instant};
use crate::futures::Timeout;
use crate::timeout::When;
use crate::{Deadline, Elapsed};

pin_project! {
    /// A future under an ambient deadline that it also enforces; made by
    /// [`within`], [`within_deadline`] and
    /// [`DeadlineExt::within`](crate::DeadlineExt::within).
    ///
    /// At its first poll it fixes its deadline: the earlier of its own (a
    /// duration starts then) and the ambient deadline of the caller, so an
    /// inner `within` can shorten the deadline but never extend it. That
    /// deadline is then the ambient one for every poll of the inner future:
    /// [`current`](crate::current) returns it in nested calls and in
    /// children polled in place, and tasks spawned through `anyrt-core`
    /// take it with them. Like [`Timeout`], it polls the inner future first
    /// and checks the clock on every poll.
    ///
    /// # Errors
    ///
    /// Resolves to [`Elapsed`] once its deadline has passed while the inner
    /// future was still pending.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future (whose own cancel safety
    /// applies) and deregisters its sleep. Tasks spawned by the inner
    /// future keep their copy of the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::futures::Within;
    ///
    /// # futures_lite::future::block_on(async {
    /// let bounded: Within<_> = anyrt::deadline::within(Duration::from_secs(1), async {
    ///     anyrt::deadline::remaining()
    /// });
    /// assert!(bounded.await.unwrap().is_some());
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Within<F> {
        #[pin]
        timeout: Timeout<WithAmbient<F>>,
        deadline: AmbientDeadline,
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !this.deadline.is_set() {
            let at = this.timeout.as_mut().bind(current_instant());
            this.deadline.set(at);
        }
        this.timeout.poll(cx)
    }
}

impl<F> fmt::Debug for Within<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Within")
            .field("deadline", &self.deadline.get())
            .finish_non_exhaustive()
    }
}

/// A `Within` of `future` under `when`. Built in one place, with no
/// closure and no layer of constructors between: a debug build copies a
/// large future once for each, and a 128 KiB one must fit a thread's stack.
fn wrap<F>(future: F, when: When) -> Within<F> {
    let deadline = AmbientDeadline::unset();
    Within {
        timeout: Timeout::new(anyrt_core::with_value(deadline.clone(), future), when),
        deadline,
    }
}

/// Runs `future` under a deadline `duration` from its first poll, or the
/// ambient deadline if that is earlier, and enforces it.
///
/// Everything `future` does sees the deadline through
/// [`current`](crate::current) and [`remaining`](crate::remaining): nested
/// calls, children polled in place, and tasks it spawns through
/// `anyrt-core`. A huge duration saturates, never panics. Each `within`
/// allocates a little (the ambient context of `anyrt-core`), unlike
/// [`timeout`](crate::timeout).
///
/// # Errors
///
/// [`Elapsed`] if the deadline passes while `future` is still pending.
///
/// # Cancel safety
///
/// See [`Within`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::deadline::within;
///
/// # futures_lite::future::block_on(async {
/// let outcome = within(Duration::from_secs(5), async {
///     let outer = anyrt::deadline::current();
///     // An inner `within` cannot extend the outer deadline.
///     within(Duration::from_secs(60), async { anyrt::deadline::current() == outer }).await
/// })
/// .await;
/// assert_eq!(outcome, Ok(Ok(true)));
///
/// let slow = anyrt::sleep(Duration::from_secs(60));
/// assert!(within(Duration::from_millis(5), slow).await.is_err());
/// # });
/// ```
pub fn within<F: IntoFuture>(duration: Duration, future: F) -> Within<F::IntoFuture> {
    wrap(future.into_future(), When::After(duration))
}

/// Runs `future` under `deadline` (an [`Instant`](std::time::Instant) or a
/// [`Deadline`]), or the ambient deadline if that is earlier, and enforces
/// it; see [`within`].
///
/// # Errors
///
/// [`Elapsed`] if the deadline passes while `future` is still pending.
///
/// # Cancel safety
///
/// See [`Within`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::deadline::{within_deadline, Deadline};
///
/// # futures_lite::future::block_on(async {
/// let deadline = Deadline::after(Duration::from_secs(5));
/// let seen = within_deadline(deadline, async { anyrt::deadline::current() }).await;
/// assert_eq!(seen, Ok(Some(deadline)));
/// # });
/// ```
pub fn within_deadline<F: IntoFuture>(
    deadline: impl Into<Deadline>,
    future: F,
) -> Within<F::IntoFuture> {
    wrap(future.into_future(), When::At(deadline.into().instant()))
}
