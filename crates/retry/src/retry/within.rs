//! `Retry::within`: a deadline on the whole retry, with one error type.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use anyrt_deadline::Elapsed;
use anyrt_deadline::futures::Within;
use pin_project_lite::pin_project;

use super::Retry;
use super::future::State;
use super::hooks::{Attempts, Condition, Hint, Notify, Operation};
use crate::backoff::Backoff;
use crate::error::{RetryError, StopReason};

thread_local! {
    /// The attempts a `Tracked` retry had started when its poll returned:
    /// how it tells the `RetryWithin` outside the `Within` that owns it.
    static STARTED: Cell<Option<u32>> = const { Cell::new(None) };
}

pin_project! {
    /// A retry bounded as a whole by a deadline, which yields a
    /// [`RetryError`] whichever way it stops; made by
    /// [`Retry::within`](crate::futures::Retry::within).
    ///
    /// # Errors
    ///
    /// As for the retry; a deadline that passes during an attempt gives a
    /// `RetryError` of reason [`StopReason::Deadline`] whose error is made
    /// from [`Elapsed`] (for `io::Error`, of kind `TimedOut`).
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the retry, with the retry's own cancel safety.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::futures::RetryWithin;
    /// use anyrt::retry::retry;
    ///
    /// # futures_lite::future::block_on(async {
    /// let bounded: RetryWithin<_> = retry(|| async { Ok::<_, std::io::Error>(1) })
    ///     .within(Duration::from_secs(1));
    /// assert_eq!(bounded.await.unwrap(), 1);
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct RetryWithin<R> {
        #[pin]
        inner: Within<Tracked<R>>,
        attempts: u32,
    }
}

pin_project! {
    /// A retry that reports, after each poll, how many attempts it started.
    struct Tracked<R> {
        #[pin]
        retry: R,
    }
}

impl<Op, B, W, N, H> Future for Tracked<Retry<Op, B, W, N, H>>
where
    Op: Operation,
    B: Backoff,
    W: Condition<Op::Error>,
    N: Notify<Op::Error>,
    H: Hint<Op::Error>,
{
    type Output = Result<Op::Ok, RetryError<Op::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut retry = self.project().retry;
        let out = retry.as_mut().poll(cx);
        STARTED.set(Some(retry.as_ref().get_ref().started()));
        out
    }
}

impl<Op: Attempts, B, W, N, H> Retry<Op, B, W, N, H> {
    /// The attempts started so far.
    fn started(&self) -> u32 {
        match self.state {
            State::New | State::NewChecked => 0,
            _ => self.config.rules.attempts,
        }
    }
}

impl<Op, B, W, N, H> Retry<Op, B, W, N, H>
where
    Op: Operation,
    Op::Error: From<Elapsed>,
    B: Backoff,
    W: Condition<Op::Error>,
    N: Notify<Op::Error>,
    H: Hint<Op::Error>,
{
    /// Bounds the whole retry, attempts and sleeps, by a deadline
    /// `duration` from its first poll (or the ambient deadline, if that is
    /// earlier), with one error type: a `RetryError` whichever way it stops.
    /// Called last, after the rest of the configuration.
    ///
    /// Under the deadline the retry never starts a sleep that would end at
    /// or past it (it stops with the last real error and
    /// [`StopReason::Deadline`]), and an attempt still running when it
    /// passes is dropped, and reported as `Op::Error::from(Elapsed)` with
    /// the same reason. Nested work sees the deadline, as under
    /// [`anyrt::deadline::within`](anyrt_deadline::within), which this is
    /// (and which allocates a little, once).
    ///
    /// # Errors
    ///
    /// A [`RetryError`], of reason [`StopReason::Deadline`] when the
    /// deadline stopped it.
    ///
    /// # Cancel safety
    ///
    /// As for the retry.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// async fn fetch() -> io::Result<u32> {
    ///     let value = retry(|| async {
    ///         anyrt::sleep(Duration::from_secs(60)).await; // a slow attempt
    ///         Ok::<_, io::Error>(1)
    ///     })
    ///     .backoff(Constant::new(Duration::from_millis(10)))
    ///     .within(Duration::from_millis(20))
    ///     .await?; // one `?`: the deadline is a `RetryError` too
    ///     Ok(value)
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = fetch().await.unwrap_err();
    /// assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    /// # });
    /// ```
    pub fn within(self, duration: Duration) -> RetryWithin<Self> {
        RetryWithin {
            inner: anyrt_deadline::within(duration, Tracked { retry: self }),
            attempts: 0,
        }
    }
}

impl<Op, B, W, N, H> Future for RetryWithin<Retry<Op, B, W, N, H>>
where
    Op: Operation,
    Op::Error: From<Elapsed>,
    B: Backoff,
    W: Condition<Op::Error>,
    N: Notify<Op::Error>,
    H: Hint<Op::Error>,
{
    type Output = Result<Op::Ok, RetryError<Op::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Restored after the poll, so that a `RetryWithin` inside an
        // attempt of another does not confuse their counts.
        let outer = STARTED.replace(None);
        let out = this.inner.poll(cx);
        if let Some(started) = STARTED.replace(outer) {
            *this.attempts = started;
        }
        Poll::Ready(match ready!(out) {
            Ok(out) => out,
            Err(elapsed) => Err(RetryError::new(
                elapsed.into(),
                StopReason::Deadline,
                *this.attempts,
            )),
        })
    }
}

impl<R> fmt::Debug for RetryWithin<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryWithin")
            .field("deadline", &self.inner)
            .field("attempts", &self.attempts)
            .finish()
    }
}
