//! Cancel a future after its 1st, 2nd, ... poll, to show that dropping it
//! at any await point loses nothing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// Polls the inner future at most `polls` times, then drops it; made by
    /// [`cancel_after`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct CancelAfter<F> {
        #[pin]
        inner: Option<F>,
        polls_left: usize,
    }
}

/// Drives `future` for at most `polls` polls (the runtime wakes it as
/// usual in between) and drops it after the last one: `Some(output)` if it
/// finished within them, `None` if it was cancelled.
pub fn cancel_after<F: Future>(polls: usize, future: F) -> CancelAfter<F> {
    CancelAfter {
        inner: Some(future),
        polls_left: polls,
    }
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if *this.polls_left == 0 {
            this.inner.set(None);
            return Poll::Ready(None);
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(output) = inner.poll(cx) {
            this.inner.set(None);
            return Poll::Ready(Some(output));
        }
        *this.polls_left -= 1;
        if *this.polls_left == 0 {
            this.inner.set(None);
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

/// For `polls` = 0, 1, 2, ...: makes a fresh future, cancels it after that
/// many polls and calls `check(polls)` to verify nothing was lost; stops
/// once a future completes within its polls. Returns how many cancel points
/// were checked.
///
/// # Panics
///
/// If the future has not completed within 10,000 polls.
pub async fn cancel_at_every_poll<M, F, C>(mut make: M, mut check: C) -> usize
where
    M: FnMut() -> F,
    F: Future,
    C: FnMut(usize),
{
    for polls in 0..10_000 {
        if cancel_after(polls, make()).await.is_some() {
            return polls;
        }
        check(polls);
    }
    panic!("the future did not complete within 10,000 polls");
}
