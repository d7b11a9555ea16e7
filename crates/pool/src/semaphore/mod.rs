//! `Semaphore`: a fair async semaphore that names no runtime.

mod error;
mod future;
mod permit;
mod queue;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use error::{AcquireError, TryAcquireError};
pub use future::{Acquire, AcquireOwned};
pub use permit::{OwnedSemaphorePermit, SemaphorePermit};
use queue::Queue;

// The model checker's mutex in the unit tests under `--cfg loom` (see
// `model.rs`); the standard one everywhere else.
#[cfg(all(test, loom))]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(all(test, loom))]
use loom::sync::{Mutex, MutexGuard};
#[cfg(not(all(test, loom)))]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(all(test, loom)))]
use std::sync::{Mutex, MutexGuard};

#[cfg(all(test, loom))]
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

/// Set in the fast word while the permits are in the locked state: the
/// lock is held, or acquires wait. Every operation then takes the lock.
const SLOW: usize = 1;
/// Set in the fast word once the semaphore is closed.
const CLOSED: usize = 2;
const SHIFT: u32 = 2;
/// The most permits a semaphore holds; more saturate here.
const MAX_PERMITS: usize = usize::MAX >> SHIFT;

#[derive(Debug)]
struct State {
    permits: usize,
    closed: bool,
    /// Times the current oldest waiter was passed over.
    passes: u32,
    queue: Queue,
    /// Wakers to wake once the lock is released.
    wake: WakeList,
}

/// A few wakers put aside under the lock, woken after it is released, so
/// that a woken task never finds the lock still held by its waker.
#[derive(Debug, Default)]
struct WakeList {
    wakers: [Option<Waker>; 4],
    len: usize,
}

impl WakeList {
    fn push(&mut self, waker: Waker) {
        match self.wakers.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(waker);
                self.len += 1;
            }
            // More at once than the list holds (a large `add_permits`):
            // wake the rest in place.
            None => waker.wake(),
        }
    }

    fn wake_all(mut self) {
        for waker in self.wakers.iter_mut().take(self.len) {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
    }
}

/// The locked state, holding every free permit. When dropped, it gives
/// the permits back to the fast word if nobody waits, unlocks, and wakes
/// the wakers put aside.
struct Locked<'a> {
    state: Option<MutexGuard<'a, State>>,
    fast: &'a AtomicUsize,
}

impl Deref for Locked<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        self.state.as_ref().expect("locked until dropped")
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.state.as_mut().expect("locked until dropped")
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        if let Some(mut state) = self.state.take() {
            if state.queue.len() == 0 {
                // While the word is `SLOW` nobody else changes it.
                let permits = std::mem::take(&mut state.permits);
                let closed = if state.closed { CLOSED } else { 0 };
                self.fast
                    .store(permits << SHIFT | closed, Ordering::Release);
            }
            let wake = std::mem::take(&mut state.wake);
            drop(state);
            if wake.len > 0 {
                wake.wake_all();
            }
        }
    }
}

impl State {
    const fn new(permits: usize) -> Self {
        State {
            permits,
            closed: false,
            passes: 0,
            queue: Queue::new(),
            wake: WakeList {
                wakers: [None, None, None, None],
                len: 0,
            },
        }
    }

    /// Whether free permits are owed to the oldest waiter.
    fn handoff(&self) -> bool {
        self.passes >= MAX_PASSES
    }

    /// Whether the oldest waiter has waited [`MAX_WAIT`]; if so, permits
    /// are owed to it from now on. Only a barging acquire asks (the one
    /// clock read of the release-and-barge path): a waiter nobody passes
    /// over is served in order anyway.
    fn head_overdue(&mut self) -> bool {
        // The model checker explores thread interleavings, not time.
        if cfg!(all(test, loom)) {
            return false;
        }
        let Some(head) = self.queue.head_node() else {
            return false;
        };
        if anyrt_core::now().saturating_duration_since(head.since) < MAX_WAIT {
            return false;
        }
        self.passes = MAX_PASSES;
        true
    }

    /// Takes `n` permits at once if allowed: when none are owed to a
    /// waiter. Counts a pass when a waiter is overtaken.
    fn try_take(&mut self, n: usize) -> Result<(), TryAcquireError> {
        if self.closed {
            return Err(TryAcquireError::Closed);
        }
        if self.permits < n {
            return Err(TryAcquireError::NoPermits);
        }
        let waiting = self.queue.len() > 0;
        if waiting && (self.handoff() || self.head_overdue()) {
            self.dispatch();
            return Err(TryAcquireError::NoPermits);
        }
        self.permits -= n;
        if waiting {
            self.passes += 1;
            if self.handoff() {
                self.dispatch();
            }
        }
        Ok(())
    }

    /// Gives free permits to the oldest waiters (when they are owed them)
    /// or wakes the oldest one (when it can take them itself).
    fn dispatch(&mut self) {
        while let Some(key) = self.queue.head() {
            if self.permits == 0 {
                return;
            }
            let handoff = self.handoff() || self.closed;
            let node = self.queue.node_mut(key);
            if !handoff {
                if self.permits >= node.missing() {
                    if let Some(waker) = node.waker.take() {
                        self.wake.push(waker);
                    }
                }
                return;
            }
            let given = self.permits.min(node.missing());
            node.assigned += given;
            self.permits -= given;
            if node.missing() > 0 {
                return;
            }
            if let Some(waker) = node.waker.take() {
                self.wake.push(waker);
            }
            self.queue.unlink(key);
            self.passes = 0;
        }
    }

    /// The oldest waiter, polled, takes what it may: every permit it
    /// lacks if they are all free, or as many as are free when they are
    /// owed to it. Returns whether it now has all it needs.
    fn serve_head(&mut self, key: usize) -> bool {
        let handoff = self.handoff();
        let permits = self.permits;
        let node = self.queue.node_mut(key);
        let given = if handoff {
            permits.min(node.missing())
        } else if permits >= node.missing() {
            node.missing()
        } else {
            0
        };
        node.assigned += given;
        self.permits -= given;
        self.queue.node_mut(key).missing() == 0
    }

    fn release(&mut self, n: usize) {
        self.permits = self.permits.saturating_add(n).min(MAX_PERMITS);
        self.dispatch();
    }
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
    #[cfg(not(all(test, loom)))]
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
    #[cfg(all(test, loom))]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            fast: AtomicUsize::new(permits.min(MAX_PERMITS) << SHIFT),
            state: Mutex::new(State::new(0)),
        }
    }

    /// Locks the state and moves the free permits into it.
    fn lock(&self) -> Locked<'_> {
        // No code under the lock panics while the state is inconsistent.
        let state = self.state.lock();
        let mut state = state.unwrap_or_else(|poisoned| poisoned.into_inner());
        let word = self.fast.swap(SLOW, Ordering::AcqRel);
        if word & SLOW == 0 {
            state.permits += word >> SHIFT;
        }
        Locked {
            state: Some(state),
            fast: &self.fast,
        }
    }

    /// The fast path of a try-acquire: `None` if it must take the lock
    /// (somebody waits, or the semaphore is closed).
    fn try_take_fast(&self, n: usize) -> Option<Result<(), TryAcquireError>> {
        let mut word = self.fast.load(Ordering::Acquire);
        loop {
            if word & (SLOW | CLOSED) != 0 {
                return None;
            }
            if word >> SHIFT < n {
                return Some(Err(TryAcquireError::NoPermits));
            }
            let taken = word - (n << SHIFT);
            match self
                .fast
                .compare_exchange_weak(word, taken, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(Ok(())),
                Err(now) => word = now,
            }
        }
    }

    /// The fast path of a release: `false` if it must take the lock.
    fn release_fast(&self, n: usize) -> bool {
        let mut word = self.fast.load(Ordering::Acquire);
        loop {
            if word & (SLOW | CLOSED) != 0 {
                return false;
            }
            let permits = (word >> SHIFT).saturating_add(n).min(MAX_PERMITS);
            let released = permits << SHIFT;
            match self.fast.compare_exchange_weak(
                word,
                released,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => word = now,
            }
        }
    }

    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        match self.try_take_fast(n) {
            Some(taken) => taken,
            None => self.lock().try_take(n),
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
        self.lock().queue.len()
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

    /// Adds `n` permits (saturating at `usize::MAX`), handing them to
    /// waiters as a release would.
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
        state.queue.wake_all();
    }

    /// Gives back `n` permits taken earlier (by a permit's drop).
    pub(crate) fn release(&self, n: usize) {
        if n > 0 && !self.release_fast(n) {
            self.lock().release(n);
        }
    }

    /// One poll of a waiting acquire of `n` permits; `key` is its place in
    /// the queue once it has one.
    fn poll_acquire(
        &self,
        n: usize,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if key.is_none() && matches!(self.try_take_fast(n), Some(Ok(()))) {
            return Poll::Ready(Ok(()));
        }
        let mut state = self.lock();
        let Some(k) = *key else {
            return match state.try_take(n) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => Poll::Ready(Err(AcquireError(()))),
                Err(TryAcquireError::NoPermits) => {
                    let since = anyrt_core::now();
                    *key = Some(state.queue.push_back(n, cx.waker().clone(), since));
                    Poll::Pending
                }
            };
        };
        if state.closed {
            *key = None;
            let node = state.queue.remove(k);
            state.permits += node.assigned;
            return Poll::Ready(Err(AcquireError(())));
        }
        if state.queue.head() == Some(k) && state.serve_head(k) {
            state.passes = 0;
        }
        let node = state.queue.node_mut(k);
        if node.missing() == 0 {
            *key = None;
            state.queue.remove(k);
            state.dispatch();
            return Poll::Ready(Ok(()));
        }
        match &mut node.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Leaves the queue: permits handed over go on to the next waiter.
    fn cancel_acquire(&self, key: usize) {
        let mut state = self.lock();
        let node = state.queue.remove(key);
        state.release(node.assigned);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("waiters", &state.queue.len())
            .field("closed", &state.closed)
            .finish()
    }
}
