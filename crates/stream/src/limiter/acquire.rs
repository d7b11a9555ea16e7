//! The futures of `RateLimiter::acquire` and `acquire_n`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{ExceedsBurst, Shared, Waiter};

/// The future of [`RateLimiter::acquire`](crate::RateLimiter::acquire):
/// one permit, in turn.
///
/// # Cancel safety
///
/// Dropped before it completes, it takes no permit and gives its place in
/// the queue back; at the head, it wakes the next waiter.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::{futures::Acquire, RateLimiter};
///
/// # futures_lite::future::block_on(async {
/// let limiter = RateLimiter::new(10, Duration::from_secs(1))?;
/// let acquire: Acquire<'_> = limiter.acquire();
/// acquire.await;
/// # Ok::<(), anyrt::stream::BuildError>(())
/// # }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    waiter: Waiter<&'a Shared>,
    done: bool,
}

impl<'a> Acquire<'a> {
    pub(crate) fn new(waiter: Waiter<&'a Shared>) -> Self {
        Acquire {
            waiter,
            done: false,
        }
    }
}

impl Future for Acquire<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        // A burst is at least 1, so one permit is always grantable.
        let _granted = std::task::ready!(this.waiter.poll_acquire(cx, 1));
        this.done = true;
        Poll::Ready(())
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("queued", &self.waiter.is_queued())
            .field("done", &self.done)
            .finish()
    }
}

/// The future of [`RateLimiter::acquire_n`](crate::RateLimiter::acquire_n):
/// `n` permits at once, in turn.
///
/// # Errors
///
/// [`ExceedsBurst`] at the first poll if `n` is more than the burst.
///
/// # Cancel safety
///
/// Dropped before it completes, it takes no permit and gives its place in
/// the queue back; at the head, it wakes the next waiter.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::{futures::AcquireN, RateLimiter};
///
/// # futures_lite::future::block_on(async {
/// let limiter = RateLimiter::new(10, Duration::from_secs(1))?;
/// let acquire: AcquireN<'_> = limiter.acquire_n(3);
/// acquire.await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireN<'a> {
    waiter: Waiter<&'a Shared>,
    n: u32,
    done: bool,
}

impl<'a> AcquireN<'a> {
    pub(crate) fn new(waiter: Waiter<&'a Shared>, n: u32) -> Self {
        AcquireN {
            waiter,
            n,
            done: false,
        }
    }
}

impl Future for AcquireN<'_> {
    type Output = Result<(), ExceedsBurst>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Ok(()));
        }
        let granted = std::task::ready!(this.waiter.poll_acquire(cx, u64::from(this.n)));
        if granted {
            this.done = true;
            Poll::Ready(Ok(()))
        } else {
            Poll::Ready(Err(ExceedsBurst {
                requested: this.n,
                burst: this.waiter.limiter().burst,
            }))
        }
    }
}

impl fmt::Debug for AcquireN<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireN")
            .field("n", &self.n)
            .field("queued", &self.waiter.is_queued())
            .field("done", &self.done)
            .finish()
    }
}
