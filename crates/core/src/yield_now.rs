//! `yield_now`: give the executor a turn.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the executor once: the returned future is pending at its first
/// poll (after waking its task) and ready at the next.
///
/// Long loops that only ever find their work ready (a run of zero-delay
/// retries, a stream that always has an item) call it now and then, so that
/// they do not keep a thread from the other tasks of the executor. Works on
/// every runtime; no timer is involved.
///
/// # Cancel safety
///
/// Dropping it loses nothing.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// for _ in 0..3 {
///     anyrt::yield_now().await;
/// }
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
///
/// # Cancel safety
///
/// Nothing to lose: dropping it only skips the turn.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let turn: anyrt::futures::YieldNow = anyrt::yield_now();
/// turn.await;
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
