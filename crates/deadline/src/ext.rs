//! `DeadlineExt`: `fut.timeout(dur)`, `fut.deadline(at)`, `fut.within(dur)`.

use std::future::IntoFuture;
use std::time::Duration;

use crate::Deadline;
use crate::futures::{Timeout, Within};

/// Time limits as methods on every future (and every [`IntoFuture`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::deadline::DeadlineExt;
///
/// # futures_lite::future::block_on(async {
/// assert_eq!(async { 1 }.timeout(Duration::from_secs(1)).await, Ok(1));
/// # });
/// ```
pub trait DeadlineExt: IntoFuture + Sized {
    /// Runs this future for at most `duration` from its first poll; see
    /// [`timeout`](crate::timeout).
    ///
    /// # Errors
    ///
    /// [`Elapsed`](crate::Elapsed) if `duration` passes first.
    ///
    /// # Cancel safety
    ///
    /// See [`Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::DeadlineExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let slow = anyrt::sleep(Duration::from_secs(60));
    /// assert!(slow.timeout(Duration::from_millis(1)).await.is_err());
    /// # });
    /// ```
    fn timeout(self, duration: Duration) -> Timeout<Self::IntoFuture> {
        crate::timeout(duration, self)
    }

    /// Runs this future until `deadline`; see
    /// [`timeout_at`](crate::timeout_at).
    ///
    /// # Errors
    ///
    /// [`Elapsed`](crate::Elapsed) if `deadline` passes first.
    ///
    /// # Cancel safety
    ///
    /// See [`Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::{Deadline, DeadlineExt};
    ///
    /// # futures_lite::future::block_on(async {
    /// let at = Deadline::after(Duration::from_secs(1));
    /// assert_eq!(async { "done" }.deadline(at).await, Ok("done"));
    /// # });
    /// ```
    fn deadline(self, deadline: impl Into<Deadline>) -> Timeout<Self::IntoFuture> {
        crate::timeout_at(deadline, self)
    }

    /// Runs this future under an ambient deadline `duration` from its first
    /// poll (or the outer one, if earlier); see [`within`](crate::within).
    ///
    /// # Errors
    ///
    /// [`Elapsed`](crate::Elapsed) if the deadline passes first.
    ///
    /// # Cancel safety
    ///
    /// See [`Within`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::DeadlineExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let seen = async { anyrt::deadline::current() }.within(Duration::from_secs(1)).await;
    /// assert!(seen.unwrap().is_some());
    /// # });
    /// ```
    fn within(self, duration: Duration) -> Within<Self::IntoFuture> {
        crate::within(duration, self)
    }
}

impl<F: IntoFuture> DeadlineExt for F {}
