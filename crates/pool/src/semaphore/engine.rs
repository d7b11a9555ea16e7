//! The engine under `Semaphore`'s API: the fast word (one atomic while
//! nobody waits), the lock that holds the permits while somebody does,
//! and a waiting acquire's poll and cancel.

use std::ops::{Deref, DerefMut};
use std::task::{Context, Poll};
use std::time::Instant;

use super::state::{MAX_PERMITS, State};
use super::{
    AcquireError, AtomicUsize, MutexGuard, Ordering, Semaphore, SemaphorePermit, TryAcquireError,
};

/// Set in the fast word while the permits are in the locked state: the
/// lock is held, or acquires wait. Every operation then takes the lock.
pub(super) const SLOW: usize = 1;
/// Set in the fast word once the semaphore is closed.
pub(super) const CLOSED: usize = 2;
pub(super) const SHIFT: u32 = 2;

/// The locked state, holding every free permit. When dropped, it gives
/// the permits back to the fast word if nobody waits, unlocks, and wakes
/// the wakers put aside.
pub(super) struct Locked<'a> {
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
            if !wake.is_empty() {
                wake.wake_all();
            }
        }
    }
}

impl Semaphore {
    /// Locks the state and moves the free permits into it.
    pub(super) fn lock(&self) -> Locked<'_> {
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

    /// A permit if the fast word alone hands one out: nobody waits and the
    /// lock is free. Takes no lock and reads no clock; for a caller that
    /// joins the queue otherwise, where the lock decides (so a caller that
    /// would have to look at the oldest waiter does that once, there).
    pub(crate) fn try_acquire_unqueued(&self) -> Option<SemaphorePermit<'_>> {
        match self.try_take_fast(1) {
            Some(Ok(())) => Some(SemaphorePermit::new(self, 1)),
            _ => None,
        }
    }

    pub(super) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        match self.try_take_fast(n) {
            Some(taken) => taken,
            None => {
                // Somebody waits: whether the oldest is owed the permits
                // takes the time, read before the lock.
                let now = anyrt_core::now();
                self.lock().try_take(n, Some(now), false)
            }
        }
    }

    /// Gives back `n` permits taken earlier (by a permit's drop).
    pub(crate) fn release(&self, n: usize) {
        if n > 0 && !self.release_fast(n) {
            self.lock().release(n);
        }
    }

    /// Adds `n` permits that go to the queued waiters, oldest first, before
    /// any new acquire can take them; what they do not need stays free.
    pub(crate) fn release_to_waiters(&self, n: usize) {
        if n > 0 && !self.release_fast(n) {
            self.lock().release_to_waiters(n);
        }
    }

    /// One poll of a waiting acquire of `n` permits; `key` is its place in
    /// the queue once it has one, `since` when it took it.
    pub(super) fn poll_acquire(
        &self,
        n: usize,
        first: bool,
        key: &mut Option<usize>,
        since: &mut Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if key.is_none() && matches!(self.try_take_fast(n), Some(Ok(()))) {
            return Poll::Ready(Ok(()));
        }
        // A new acquire that has to lock needs the time, to join the queue
        // or to see whether the oldest waiter is owed the permits: read
        // before the lock, so the lock is not held across the read.
        let now = key.is_none().then(anyrt_core::now);
        // A waker the queue lets go of is dropped after the lock (declared
        // before it): dropping it may drop a task that holds a permit,
        // whose release takes the lock.
        let mut old_waker = None;
        let mut state = self.lock();
        let Some(k) = *key else {
            return match state.try_take(n, now, first) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => Poll::Ready(Err(AcquireError(()))),
                Err(TryAcquireError::NoPermits) => {
                    let now = now.expect("read for a new acquire");
                    *since = Some(now);
                    let waker = cx.waker().clone();
                    let k = if first {
                        // A new oldest waiter, passed over by nobody yet.
                        state.passes = 0;
                        state.queue.push_front(n, waker, now)
                    } else {
                        state.queue.push_back(n, waker, now)
                    };
                    if n > MAX_PERMITS {
                        // Never served: it waits for the close out of the
                        // queue order, holding nobody up.
                        state.queue.unlink(k);
                        state.parked.push(k);
                    }
                    *key = Some(k);
                    Poll::Pending
                }
            };
        };
        if state.closed {
            *key = None;
            let mut node = state.leave(k);
            old_waker = node.waker.take();
            state.permits = state.permits.saturating_add(node.assigned).min(MAX_PERMITS);
            drop(state);
            drop(old_waker);
            return Poll::Ready(Err(AcquireError(())));
        }
        if state.queue.head() == Some(k) && state.serve_head(k) {
            state.passes = 0;
        }
        let node = state.queue.node_mut(k);
        if node.missing() == 0 {
            *key = None;
            old_waker = state.queue.remove(k).waker;
            state.dispatch();
            drop(state);
            drop(old_waker);
            return Poll::Ready(Ok(()));
        }
        match &mut node.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => old_waker = slot.replace(cx.waker().clone()),
        }
        drop(state);
        drop(old_waker);
        Poll::Pending
    }

    /// Leaves the queue: permits handed over go on to the next waiter.
    pub(super) fn cancel_acquire(&self, key: usize) {
        let mut state = self.lock();
        let mut node = state.leave(key);
        let waker = node.waker.take();
        state.release(node.assigned);
        drop(state);
        drop(waker);
    }
}
