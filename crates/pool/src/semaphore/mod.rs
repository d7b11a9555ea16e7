//! `Semaphore`: a fair async semaphore that names no runtime.

mod engine;
mod error;
mod future;
mod permit;
mod queue;
mod state;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use engine::{SHIFT, SLOW};
pub use error::{AcquireError, TryAcquireError};
pub use future::{Acquire, AcquireOwned};
pub use permit::{OwnedSemaphorePermit, SemaphorePermit};
pub(crate) use state::MAX_PERMITS;
use state::State;

// The model checker's mutex in the unit tests under `--cfg anyrt_loom` (see
// `model.rs`); the standard one everywhere else.
#[cfg(all(test, anyrt_loom))]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(all(test, anyrt_loom))]
use loom::sync::{Mutex, MutexGuard};
#[cfg(not(all(test, anyrt_loom)))]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(all(test, anyrt_loom)))]
use std::sync::{Mutex, MutexGuard};

#[cfg(all(test, anyrt_loom))]
mod model;

/// How many times the oldest waiter may be passed over (a later acquire
/// took permits while it waited) before released permits are handed to it
/// directly.
///
/// A count bounds the wait in the unit that matters, acquires served ahead
/// of a waiter, and holds under any clock, even a virtual one that does not
/// move. Two passes let a task that releases and re-acquires at once keep
/// its permit (no context switch) while the queue still moves at least
/// once every third acquire.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{Semaphore, MAX_PASSES};
///
/// // A clock that stands still, so that only the passes count.
/// let clock = anyrt::VirtualClock::new();
/// # futures_lite::future::block_on(anyrt::with_timer(clock, async {
/// let semaphore = Semaphore::new(1);
/// let held = semaphore.try_acquire().unwrap();
/// let mut waiter = std::pin::pin!(semaphore.acquire());
/// assert!(futures_lite::future::poll_once(waiter.as_mut()).await.is_none());
/// drop(held);
/// for _ in 0..MAX_PASSES {
///     drop(semaphore.try_acquire().unwrap()); // barging past the waiter
/// }
/// assert!(semaphore.try_acquire().is_err(), "the permit is the waiter's now");
/// assert!(waiter.await.is_ok());
/// # }));
/// ```
pub const MAX_PASSES: u32 = 2;

/// How long the oldest waiter may wait, on the ambient clock, before
/// released permits are handed to it directly even if it was passed over
/// fewer than [`MAX_PASSES`] times.
///
/// Short enough that a waiter never loses a race to a barging acquire once
/// it has waited a scheduling quantum, long enough that a burst of
/// microsecond-long holds keeps the barging fast path. The clock is read
/// only while somebody waits.
///
/// # Examples
///
/// ```
/// assert!(anyrt::pool::MAX_WAIT < std::time::Duration::from_millis(1));
/// ```
pub const MAX_WAIT: Duration = Duration::from_micros(500);

/// A counting semaphore for async code, fair without strict handoff, on any
/// executor.
///
/// - **Fast path**: when permits are free and no waiter is owed them, an
///   acquire takes them at once, even while others wait (barging), so a
///   task that releases and re-acquires does not have to be descheduled.
/// - **Bounded unfairness**: every time such a barging acquire passes over
///   the oldest waiter it is counted; after [`MAX_PASSES`] passes, or once
///   it has waited [`MAX_WAIT`], released permits are handed to the oldest
///   waiter directly (it cannot lose them after being woken) and no acquire
///   may barge until it is served.
/// - **One wake at a time**: a release wakes only the oldest waiter, and
///   only when it can be served; a served waiter wakes the next one if
///   permits are left. No thundering herd.
/// - **Nothing lost**: an acquire dropped while queued, or after permits
///   were handed to it, gives them back (to the next waiter).
/// - [`close`](Self::close) fails every waiter and every later acquire
///   with [`AcquireError`]; permits already held stay valid.
///
/// Waiters queue in FIFO order; `acquire_many` waiters are served in order
/// too (a large request is not overtaken forever by small ones).
///
/// While nobody waits, acquiring and releasing are one compare-and-swap on
/// an atomic word; while somebody waits, a short `std::sync::Mutex` critical
/// section. Nothing is allocated once the waiter slab has grown to the
/// largest number of simultaneous waiters. Permits saturate at
/// `usize::MAX / 4`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use anyrt::pool::Semaphore;
///
/// # futures_lite::future::block_on(async {
/// let semaphore = Arc::new(Semaphore::new(2));
/// let a = semaphore.acquire().await?;
/// let b = semaphore.clone().acquire_owned().await?;
/// assert_eq!(semaphore.available_permits(), 0);
/// assert!(semaphore.try_acquire().is_err());
/// drop((a, b));
/// assert_eq!(semaphore.available_permits(), 2);
/// # Ok::<(), anyrt::pool::AcquireError>(())
/// # }).unwrap();
/// ```
pub struct Semaphore {
    /// The fast path's word: free permits (shifted by [`SHIFT`]) while
    /// nobody waits, or [`SLOW`] while the permits live under the lock.
    fast: AtomicUsize,
    state: Mutex<State>,
}

impl Semaphore {
    /// A semaphore with `permits` permits. Zero is allowed: acquires wait
    /// until [`add_permits`](Self::add_permits).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::Semaphore;
    ///
    /// static LIMIT: Semaphore = Semaphore::new(8);
    /// assert_eq!(LIMIT.available_permits(), 8);
    /// ```
    #[cfg(not(all(test, anyrt_loom)))]
    pub const fn new(permits: usize) -> Self {
        let permits = if permits > MAX_PERMITS {
            MAX_PERMITS
        } else {
            permits
        };
        Semaphore {
            fast: AtomicUsize::new(permits << SHIFT),
            state: Mutex::new(State::new(0)),
        }
    }

    /// Under the model checker, whose mutex cannot be made in a `const`.
    #[cfg(all(test, anyrt_loom))]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            fast: AtomicUsize::new(permits.min(MAX_PERMITS) << SHIFT),
            state: Mutex::new(State::new(0)),
        }
    }

    /// Permits free right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(3);
    /// let _permit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn available_permits(&self) -> usize {
        let word = self.fast.load(Ordering::Acquire);
        if word & SLOW == 0 {
            return word >> SHIFT;
        }
        self.lock().permits
    }

    /// Acquires waiting right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(1);
    /// assert_eq!(semaphore.waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        let state = self.lock();
        state.queue.len() + state.parked.len()
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(1);
    /// semaphore.close();
    /// assert!(semaphore.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] once the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses its place in the queue and nothing else:
    /// permits already handed to it go to the next waiter, and if it had
    /// been woken, the next waiter is woken in its place.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let semaphore = anyrt::pool::Semaphore::new(1);
    /// let permit = semaphore.acquire().await.unwrap();
    /// assert_eq!(permit.num_permits(), 1);
    /// # });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire::new(self, 1)
    }

    /// Waits for `n` permits, taken all at once. `n == 0` completes at once
    /// with an empty permit; `n` above what the semaphore will ever have
    /// waits until it is closed.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] once the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire): permits handed over so far are given
    /// back to the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let semaphore = anyrt::pool::Semaphore::new(4);
    /// let permit = semaphore.acquire_many(3).await.unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// drop(permit);
    /// assert_eq!(semaphore.available_permits(), 4);
    /// # });
    /// ```
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        Acquire::new(self, n)
    }

    /// One permit, ahead of every waiter (see [`Acquire::first`]).
    pub(crate) fn acquire_first(&self) -> Acquire<'_> {
        Acquire::first(self, 1)
    }

    /// Takes one permit if it can without waiting.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] when none is free or the free ones
    /// are owed to a waiter; [`TryAcquireError::Closed`] once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// drop(permit);
    /// assert!(semaphore.try_acquire().is_ok());
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if it can without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(2);
    /// assert!(semaphore.try_acquire_many(3).is_err());
    /// assert_eq!(semaphore.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n)?;
        Ok(SemaphorePermit::new(self, n))
    }

    /// [`acquire`](Self::acquire) for a semaphore in an [`Arc`]: the permit
    /// holds the `Arc`, so it can move into a `'static` task.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] once the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// # futures_lite::future::block_on(async {
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(1));
    /// let permit = semaphore.clone().acquire_owned().await.unwrap();
    /// let task = anyrt::spawn(async move { drop(permit) });
    /// task.await;
    /// assert_eq!(semaphore.available_permits(), 1);
    /// # });
    /// ```
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        AcquireOwned::new(self, 1)
    }

    /// [`acquire_many`](Self::acquire_many) for a semaphore in an [`Arc`].
    ///
    /// # Errors
    ///
    /// [`AcquireError`] once the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// # futures_lite::future::block_on(async {
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(3));
    /// let permit = semaphore.clone().acquire_many_owned(2).await.unwrap();
    /// assert_eq!(permit.num_permits(), 2);
    /// # });
    /// ```
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> AcquireOwned {
        AcquireOwned::new(self, n)
    }

    /// [`try_acquire`](Self::try_acquire) for a semaphore in an [`Arc`].
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(1));
    /// let permit = semaphore.clone().try_acquire_owned().unwrap();
    /// assert_eq!(permit.num_permits(), 1);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Self::try_acquire_many) for a semaphore in an
    /// [`Arc`].
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(2));
    /// assert!(semaphore.clone().try_acquire_many_owned(2).is_ok());
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphorePermit::new(self, n))
    }

    /// Adds `n` permits (saturating at the most a semaphore holds,
    /// `usize::MAX / 4`), handing them to waiters as a release would.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(0);
    /// semaphore.add_permits(2);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Removes up to `n` free permits for good and returns how many were
    /// removed; permits that are held are not touched.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(3);
    /// let _held = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.forget_permits(5), 2);
    /// assert_eq!(semaphore.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = self.lock();
        let forgotten = state.permits.min(n);
        state.permits -= forgotten;
        forgotten
    }

    /// Closes the semaphore: every waiter and every later acquire fails
    /// with [`AcquireError`]. Held permits stay valid and are still given
    /// back when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let semaphore = anyrt::pool::Semaphore::new(1);
    /// semaphore.close();
    /// assert!(semaphore.acquire().await.is_err());
    /// # });
    /// ```
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let State {
            queue,
            parked,
            wake,
            ..
        } = &mut *state;
        queue.take_wakers(|waker| wake.push(waker));
        for &key in parked.iter() {
            if let Some(waker) = queue.node_mut(key).waker.take() {
                wake.push(waker);
            }
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("waiters", &(state.queue.len() + state.parked.len()))
            .field("closed", &state.closed)
            .finish()
    }
}
