//! The acquire futures.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit};

/// Waits for permits of a borrowed [`Semaphore`]; made by
/// [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
///
/// # Cancel safety
///
/// Dropping it loses its place in the queue; permits handed to it go on
/// to the next waiter.
///
/// # Examples
///
/// ```
/// use anyrt::pool::futures::Acquire;
///
/// # futures_lite::future::block_on(async {
/// let semaphore = anyrt::pool::Semaphore::new(1);
/// let acquire: Acquire<'_> = semaphore.acquire();
/// assert!(acquire.await.is_ok());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
    key: Option<usize>,
    /// When it joined the queue, if it did.
    since: Option<Instant>,
    /// Whether it goes before every waiter (see [`Acquire::first`]).
    first: bool,
    done: bool,
}

impl<'a> Acquire<'a> {
    pub(crate) fn new(semaphore: &'a Semaphore, permits: usize) -> Self {
        Acquire {
            semaphore,
            permits,
            key: None,
            since: None,
            first: false,
            done: false,
        }
    }

    /// An acquire that goes before every waiter: it takes free permits
    /// even when they are owed to the oldest waiter, and if it has to
    /// wait, it waits at the head of the queue. For an acquire that had
    /// its turn already and lost what it was given (a pool's slot taken
    /// back by a shrink), so that it keeps its place in line.
    pub(crate) fn first(semaphore: &'a Semaphore, permits: usize) -> Self {
        Acquire {
            first: true,
            ..Acquire::new(semaphore, permits)
        }
    }

    /// When it joined the queue (on the ambient clock), if it had to wait.
    pub(crate) fn queued_since(&self) -> Option<Instant> {
        self.since
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.done, "`Acquire` polled after completion");
        let semaphore = this.semaphore;
        let ready =
            semaphore.poll_acquire(this.permits, this.first, &mut this.key, &mut this.since, cx);
        ready.map(|result| {
            this.done = true;
            result.map(|()| SemaphorePermit::new(semaphore, this.permits))
        })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.semaphore.cancel_acquire(key);
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.permits)
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// Waits for permits of a [`Semaphore`] in an [`Arc`]; made by
/// [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
///
/// # Cancel safety
///
/// As [`Acquire`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use anyrt::pool::futures::AcquireOwned;
///
/// # futures_lite::future::block_on(async {
/// let semaphore = Arc::new(anyrt::pool::Semaphore::new(1));
/// let acquire: AcquireOwned = semaphore.acquire_owned();
/// assert!(acquire.await.is_ok());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireOwned {
    semaphore: Arc<Semaphore>,
    permits: usize,
    key: Option<usize>,
    since: Option<Instant>,
    done: bool,
}

impl AcquireOwned {
    pub(crate) fn new(semaphore: Arc<Semaphore>, permits: usize) -> Self {
        AcquireOwned {
            semaphore,
            permits,
            key: None,
            since: None,
            done: false,
        }
    }
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.done, "`AcquireOwned` polled after completion");
        let semaphore = &this.semaphore;
        let ready = semaphore.poll_acquire(this.permits, false, &mut this.key, &mut this.since, cx);
        ready.map(|result| {
            this.done = true;
            result.map(|()| OwnedSemaphorePermit::new(this.semaphore.clone(), this.permits))
        })
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.semaphore.cancel_acquire(key);
        }
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned")
            .field("permits", &self.permits)
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}
