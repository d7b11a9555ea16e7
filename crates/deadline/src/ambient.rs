//! The ambient deadline: kept in `anyrt-core`'s ambient context, read with
//! `current` and `remaining`, hidden with `without_deadline`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_core::futures::WithAmbient;
use pin_project_lite::pin_project;

use crate::Deadline;

/// The ambient value of this crate, private so that no other crate can read
/// or shadow it. The cell is filled when a [`Within`](crate::futures::Within)
/// is first polled (its deadline depends on the clock and on the outer
/// deadline then), before the future under it runs; `None` means "no
/// deadline" ([`without_deadline`]).
#[derive(Clone)]
pub(crate) struct AmbientDeadline(Arc<OnceLock<Option<Instant>>>);

impl AmbientDeadline {
    /// A deadline to be fixed at the first poll.
    pub(crate) fn unset() -> Self {
        AmbientDeadline(Arc::new(OnceLock::new()))
    }

    /// Fixes the deadline; later calls change nothing.
    pub(crate) fn set(&self, at: Instant) {
        let _ = self.0.set(Some(at));
    }

    /// The deadline, once fixed.
    pub(crate) fn get(&self) -> Option<Instant> {
        self.0.get().copied().flatten()
    }

    /// Whether the deadline was fixed (or cleared) already.
    pub(crate) fn is_set(&self) -> bool {
        self.0.get().is_some()
    }

    fn none() -> Self {
        AmbientDeadline(Arc::new(OnceLock::from(None)))
    }
}

/// The ambient deadline of the calling code: the earliest deadline of the
/// enclosing [`within`](crate::within) calls, including those of the task
/// that spawned this one through `anyrt-core`; `None` outside any.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// assert_eq!(anyrt::deadline::current(), None);
/// let inside = anyrt::deadline::within(Duration::from_secs(5), async {
///     anyrt::deadline::current()
/// })
/// .await
/// .unwrap();
/// assert!(inside.is_some());
/// # });
/// ```
#[inline]
pub fn current() -> Option<Deadline> {
    current_instant().map(Deadline::at)
}

#[inline]
pub(crate) fn current_instant() -> Option<Instant> {
    anyrt_core::value::<AmbientDeadline>()?.get()
}

/// The time left until the ambient deadline ([`current`]), zero once it has
/// passed; `None` when there is no deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// assert_eq!(anyrt::deadline::remaining(), None);
/// let left = anyrt::deadline::within(Duration::from_secs(5), async {
///     anyrt::deadline::remaining()
/// })
/// .await
/// .unwrap();
/// assert!(left.is_some_and(|left| left <= Duration::from_secs(5)));
/// # });
/// ```
pub fn remaining() -> Option<Duration> {
    current().map(Deadline::remaining)
}

pin_project! {
    /// A future that sees no ambient deadline; made by
    /// [`without_deadline`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future; nothing else is held.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::futures::WithoutDeadline;
    ///
    /// # futures_lite::future::block_on(async {
    /// let hidden: WithoutDeadline<_> = anyrt::deadline::without_deadline(async {
    ///     anyrt::deadline::current()
    /// });
    /// let seen = anyrt::deadline::within(Duration::from_secs(1), hidden).await;
    /// assert_eq!(seen, Ok(None));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct WithoutDeadline<F> {
        #[pin]
        inner: WithAmbient<F>,
    }
}

impl<F: Future> Future for WithoutDeadline<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

impl<F> fmt::Debug for WithoutDeadline<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithoutDeadline").finish_non_exhaustive()
    }
}

/// Runs `future` with no ambient deadline: inside it, [`current`] is
/// `None`, and nested [`within`](crate::within) calls, retries and pool
/// acquisitions are bound only by their own limits.
///
/// Meant for cleanup work that must not be cut short by the deadline of
/// the request that started it: flushing a buffer, closing a connection,
/// writing an audit record. It hides the deadline; it does not stop an
/// enclosing [`Within`](crate::futures::Within) from giving up on (and
/// dropping) its future. So run such cleanup outside the `within`, or spawn
/// it, as below: a task spawned through `anyrt-core` otherwise inherits
/// the deadline of its spawner. Give the cleanup its own bound (a
/// [`timeout`](crate::timeout)) so it cannot run forever.
///
/// # Cancel safety
///
/// See [`WithoutDeadline`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// let task = anyrt::deadline::within(Duration::from_millis(5), async {
///     // Cleanup outlives the request's deadline.
///     anyrt::spawn(anyrt::deadline::without_deadline(async {
///         anyrt::sleep(Duration::from_millis(10)).await;
///         anyrt::deadline::current()
///     }))
/// })
/// .await
/// .unwrap();
/// assert_eq!(task.await, None);
/// # });
/// ```
pub fn without_deadline<F: IntoFuture>(future: F) -> WithoutDeadline<F::IntoFuture> {
    WithoutDeadline {
        inner: anyrt_core::with_value(AmbientDeadline::none(), future.into_future()),
    }
}
