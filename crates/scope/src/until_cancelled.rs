//! `run_until_cancelled`: a future raced against a token, dropped as soon
//! as the token is seen cancelled.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::CancelToken;
use crate::token::Listener;

impl CancelToken {
    /// Runs `future` until it completes, `Some(output)`, or until the token
    /// is cancelled, `None`, whichever comes first. On cancellation
    /// `future` is dropped in the poll that sees it, before `None` is
    /// returned.
    ///
    /// The token is looked at before each poll of `future`: a token
    /// cancelled when a poll begins wins, even over a `future` that would
    /// be ready, and a token cancelled already never lets `future` be
    /// polled at all, so a loop over always-ready work still stops. A
    /// `future` that completes within a poll wins over a cancel that came
    /// during that poll: its output is not thrown away. (A `timeout` of
    /// `anyrt::deadline` chooses the other way, since there a ready output
    /// is never late.)
    ///
    /// It allocates nothing but the token's listener, made only when a
    /// poll finds `future` pending and the token not cancelled.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `future` and unregisters the
    /// listener: what is lost is what dropping `future` loses.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::CancelToken;
    ///
    /// # futures_lite::future::block_on(async {
    /// let token = CancelToken::new();
    /// assert_eq!(token.run_until_cancelled(async { 7 }).await, Some(7));
    ///
    /// let stopper = token.clone();
    /// let stop = anyrt::spawn(async move { stopper.cancel() });
    /// let forever = std::future::pending::<u8>();
    /// assert_eq!(token.run_until_cancelled(forever).await, None);
    /// assert!(stop.await);
    /// # });
    /// ```
    pub fn run_until_cancelled<F: Future>(&self, future: F) -> RunUntilCancelled<'_, F> {
        RunUntilCancelled {
            token: self,
            listener: None,
            future: Some(future),
        }
    }

    /// [`run_until_cancelled`](Self::run_until_cancelled) on a token it
    /// owns, so that the future is `'static` when `future` is, to be
    /// spawned; the same rules for which side wins, and the same
    /// allocation.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `future` and unregisters the
    /// listener: what is lost is what dropping `future` loses.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::CancelToken;
    ///
    /// # futures_lite::future::block_on(async {
    /// let token = CancelToken::new();
    /// let worker = anyrt::spawn(
    ///     token.clone().run_until_cancelled_owned(std::future::pending::<u8>()),
    /// );
    /// token.cancel();
    /// assert_eq!(worker.await, None);
    /// # });
    /// ```
    pub fn run_until_cancelled_owned<F: Future>(self, future: F) -> RunUntilCancelledOwned<F> {
        RunUntilCancelledOwned {
            token: self,
            listener: None,
            future: Some(future),
        }
    }
}

/// One poll of either future: the token first, then `future`, then the
/// token's listener; `future` is dropped as soon as either side is done.
fn poll_until<F: Future>(
    token: &CancelToken,
    listener: &mut Option<Listener>,
    mut future: Pin<&mut Option<F>>,
    cx: &mut Context<'_>,
) -> Poll<Option<F::Output>> {
    assert!(future.is_some(), "polled after completion");
    if !token.is_cancelled() {
        let inner = future.as_mut().as_pin_mut().expect("checked above");
        if let Poll::Ready(output) = inner.poll(cx) {
            future.set(None);
            *listener = None;
            return Poll::Ready(Some(output));
        }
        if token.poll_cancelled(listener, cx).is_pending() {
            return Poll::Pending;
        }
    }
    future.set(None);
    *listener = None;
    Poll::Ready(None)
}

pin_project! {
    /// `Some` output of a future, or `None` once its token is cancelled;
    /// made by [`CancelToken::run_until_cancelled`].
    ///
    /// `Send` when the future is.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future and unregisters the listener.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::CancelToken;
    ///
    /// # futures_lite::future::block_on(async {
    /// let token = CancelToken::new();
    /// token.cancel();
    /// let run: anyrt::scope::futures::RunUntilCancelled<'_, _> =
    ///     token.run_until_cancelled(async { unreachable!("never polled") });
    /// assert_eq!(run.await, None::<()>);
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunUntilCancelled<'a, F> {
        token: &'a CancelToken,
        listener: Option<Listener>,
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Future for RunUntilCancelled<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_until(this.token, this.listener, this.future, cx)
    }
}

impl<F> fmt::Debug for RunUntilCancelled<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelled")
            .field("token", self.token)
            .field("running", &self.future.is_some())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// `Some` output of a future, or `None` once its token is cancelled,
    /// holding the token; made by
    /// [`CancelToken::run_until_cancelled_owned`].
    ///
    /// `Send` when the future is, and `'static` when it is.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future and unregisters the listener.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::CancelToken;
    ///
    /// # futures_lite::future::block_on(async {
    /// let run: anyrt::scope::futures::RunUntilCancelledOwned<_> =
    ///     CancelToken::new().run_until_cancelled_owned(async { "done" });
    /// assert_eq!(anyrt::spawn(run).await, Some("done"));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunUntilCancelledOwned<F> {
        token: CancelToken,
        listener: Option<Listener>,
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Future for RunUntilCancelledOwned<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_until(this.token, this.listener, this.future, cx)
    }
}

impl<F> fmt::Debug for RunUntilCancelledOwned<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelledOwned")
            .field("token", &self.token)
            .field("running", &self.future.is_some())
            .finish_non_exhaustive()
    }
}
