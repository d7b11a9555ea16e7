//! The futures of `RateLimiter::acquire` and `acquire_n`, borrowed and
//! owned: one core, [`Grant`], under four names.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{ExceedsBurst, Shared, Waiter};

/// A request for `n` permits, in turn; `done` once granted, so a poll
/// after completion takes nothing more.
struct Grant<L: Deref<Target = Shared>> {
    waiter: Waiter<L>,
    n: u32,
    done: bool,
}

impl<L: Deref<Target = Shared>> Grant<L> {
    fn new(limiter: L, n: u32) -> Self {
        Grant {
            waiter: Waiter::new(limiter),
            n,
            done: false,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ExceedsBurst>> {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        let granted = std::task::ready!(self.waiter.poll_acquire(cx, u64::from(self.n)));
        if granted {
            self.done = true;
            Poll::Ready(Ok(()))
        } else {
            Poll::Ready(Err(ExceedsBurst {
                requested: self.n,
                burst: self.waiter.limiter().burst,
            }))
        }
    }

    fn fmt(&self, f: &mut fmt::Formatter<'_>, name: &str, n: bool) -> fmt::Result {
        let mut out = f.debug_struct(name);
        if n {
            out.field("n", &self.n);
        }
        out.field("queued", &self.waiter.is_queued())
            .field("done", &self.done)
            .finish()
    }
}

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
pub struct Acquire<'a>(Grant<&'a Shared>);

impl<'a> Acquire<'a> {
    pub(crate) fn new(limiter: &'a Shared) -> Self {
        Acquire(Grant::new(limiter, 1))
    }
}

impl Future for Acquire<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A burst is at least 1, so one permit is always grantable.
        self.get_mut().0.poll(cx).map(|_granted| ())
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f, "Acquire", false)
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
pub struct AcquireN<'a>(Grant<&'a Shared>);

impl<'a> AcquireN<'a> {
    pub(crate) fn new(limiter: &'a Shared, n: u32) -> Self {
        AcquireN(Grant::new(limiter, n))
    }
}

impl Future for AcquireN<'_> {
    type Output = Result<(), ExceedsBurst>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll(cx)
    }
}

impl fmt::Debug for AcquireN<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f, "AcquireN", true)
    }
}

/// The future of
/// [`RateLimiter::acquire_owned`](crate::RateLimiter::acquire_owned) and
/// [`KeyedRateLimiter::acquire`](crate::KeyedRateLimiter::acquire): one
/// permit, in turn, holding its limiter, so it may move into a `'static`
/// task.
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
/// use anyrt::stream::{futures::AcquireOwned, RateLimiter};
///
/// # futures_lite::future::block_on(async {
/// let limiter = RateLimiter::new(10, Duration::from_secs(1))?;
/// let acquire: AcquireOwned = limiter.acquire_owned();
/// drop(limiter); // the future keeps the state alive
/// acquire.await;
/// # Ok::<(), anyrt::stream::BuildError>(())
/// # }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireOwned(Grant<Arc<Shared>>);

impl AcquireOwned {
    pub(crate) fn new(limiter: Arc<Shared>) -> Self {
        AcquireOwned(Grant::new(limiter, 1))
    }
}

impl Future for AcquireOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().0.poll(cx).map(|_granted| ())
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f, "AcquireOwned", false)
    }
}

/// The future of
/// [`RateLimiter::acquire_n_owned`](crate::RateLimiter::acquire_n_owned)
/// and [`KeyedRateLimiter::acquire_n`](crate::KeyedRateLimiter::acquire_n):
/// `n` permits at once, in turn, holding its limiter.
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
/// use anyrt::stream::{futures::AcquireNOwned, RateLimiter};
///
/// # futures_lite::future::block_on(async {
/// let limiter = RateLimiter::new(10, Duration::from_secs(1))?;
/// let acquire: AcquireNOwned = limiter.acquire_n_owned(11);
/// assert!(acquire.await.is_err(), "more than the burst");
/// # Ok::<(), anyrt::stream::BuildError>(())
/// # }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireNOwned(Grant<Arc<Shared>>);

impl AcquireNOwned {
    pub(crate) fn new(limiter: Arc<Shared>, n: u32) -> Self {
        AcquireNOwned(Grant::new(limiter, n))
    }
}

impl Future for AcquireNOwned {
    type Output = Result<(), ExceedsBurst>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll(cx)
    }
}

impl fmt::Debug for AcquireNOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f, "AcquireNOwned", true)
    }
}
