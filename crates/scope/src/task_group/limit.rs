//! `TaskGroup::with_limit(n)`: the places of a limited group, the place a
//! task holds, and the spawns that respect them.
//!
//! The line is the one of the in-place scope (`Admission`): first come,
//! first served, with tickets. A task holds its place from when it is
//! admitted until its future has been dropped, so the destructors of at
//! most `n` futures run at once too; a place is given back, or a ticket
//! given up, by the `Place` guard's drop, whatever ends the task.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker};

// The model checker's lock and atomic in the unit tests under
// `--cfg anyrt_loom` (see `model.rs`); the standard ones everywhere else.
#[cfg(all(test, anyrt_loom))]
use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(all(test, anyrt_loom))]
use loom::sync::{Mutex, MutexGuard};
#[cfg(not(all(test, anyrt_loom)))]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(all(test, anyrt_loom)))]
use std::sync::{Mutex, MutexGuard};

#[cfg(all(test, anyrt_loom))]
#[path = "model.rs"]
mod model;

use super::TaskGroup;
use super::error::TrySpawnError;
use super::futures::GroupSpawnWait;
use crate::admission::{Admission, Admitted, Ticket};

/// The places of a limited group and its line.
pub(super) struct Slots {
    admission: Mutex<Admission>,
    /// Bumped when the group cancels every task it holds: a task of an
    /// earlier epoch is being dropped, and must not start (or go on
    /// with) its future in the meantime, for the places the cancelled
    /// tasks give back would otherwise start the next cancelled ones.
    epoch: AtomicU64,
}

impl Slots {
    fn new(n: NonZeroUsize) -> Slots {
        Slots {
            admission: Mutex::new(Admission::new(n.get())),
            epoch: AtomicU64::new(0),
        }
    }

    /// The tasks spawned so far are being cancelled.
    pub(super) fn cancel_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn lock(&self) -> MutexGuard<'_, Admission> {
        self.admission
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn max(&self) -> usize {
        self.lock().max()
    }

    /// A place now, if one is free and nobody waits ahead.
    fn try_enter(self: &Arc<Self>) -> Option<Place> {
        self.lock().try_enter().then(|| Place::held(self))
    }

    /// A place now, or else a ticket in line that wakes `waker`.
    fn enter_or_queue(self: &Arc<Self>, waker: &Waker) -> Place {
        let mut admission = self.lock();
        if admission.try_enter() {
            return Place::held(self);
        }
        let mut place = Place::held(self);
        place.ticket = Some(admission.wait(waker));
        place
    }
}

/// Wakes whoever was handed a place, outside the lock.
fn wake(admitted: Option<Admitted>) {
    match admitted {
        Some(Admitted::Waiter(Some(waker))) => waker.wake(),
        Some(Admitted::Waiter(None)) | None => {}
        Some(Admitted::Child(..)) => unreachable!("a group queues no child"),
    }
}

/// A task's place in a limited group: held, or waited for with a ticket;
/// nothing in a group without a limit. Dropping it gives the place back,
/// or the ticket up.
pub(super) struct Place {
    slots: Option<Arc<Slots>>,
    /// `Some` while waiting in line.
    ticket: Option<u64>,
    /// The group's epoch when the task was spawned.
    epoch: u64,
}

impl Place {
    /// The place of a task in a group without a limit.
    pub(super) fn free() -> Place {
        Place {
            slots: None,
            ticket: None,
            epoch: 0,
        }
    }

    fn held(slots: &Arc<Slots>) -> Place {
        Place {
            slots: Some(slots.clone()),
            ticket: None,
            epoch: slots.epoch.load(Ordering::Acquire),
        }
    }

    /// Whether the place is still waited for.
    pub(super) fn is_waiting(&self) -> bool {
        self.ticket.is_some()
    }

    /// Ready once the place is held; pending for good once the group has
    /// cancelled the task (its runtime drops it without another poll).
    pub(super) fn poll_enter(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(slots) = &self.slots else {
            return Poll::Ready(());
        };
        if self.cancelled(slots) {
            return Poll::Pending;
        }
        let Some(ticket) = self.ticket else {
            return Poll::Ready(());
        };
        let mut dropped = None;
        let polled = slots.lock().poll_ticket(ticket, cx.waker(), &mut dropped);
        // After the lock, as every waker it lets go of.
        drop(dropped);
        match polled {
            Ticket::Granted => {
                self.ticket = None;
                // The place may be one a cancelled task gave back while
                // this poll ran on another thread, after the check above:
                // the lock orders the cancel before the grant, so a second
                // look sees it.
                if self.cancelled(slots) {
                    return Poll::Pending;
                }
                Poll::Ready(())
            }
            Ticket::Waiting => Poll::Pending,
            Ticket::Gone => unreachable!("a group's line is never reset"),
        }
    }

    /// Whether the group cancelled its tasks since this one was spawned.
    fn cancelled(&self, slots: &Slots) -> bool {
        slots.epoch.load(Ordering::Acquire) != self.epoch
    }

    /// Gives the place back (to the next in line), or the ticket up.
    pub(super) fn release(&mut self) {
        let Some(slots) = self.slots.take() else {
            return;
        };
        let mut dropped = None;
        let admitted = match self.ticket.take() {
            Some(ticket) => slots.lock().cancel(ticket, &mut dropped),
            None => slots.lock().release(),
        };
        drop(dropped);
        wake(admitted);
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.release();
    }
}

impl<T: Send + 'static> TaskGroup<T> {
    /// An empty group of which at most `n` tasks run at once; its tasks
    /// will see the ambient context in force here.
    ///
    /// A task runs from when it is admitted until its future has been
    /// dropped (it finished, panicked, or was cancelled by
    /// [`abort_all`](Self::abort_all), [`shutdown`](Self::shutdown), a
    /// fail fast or the group's drop); its place then goes to the first
    /// in line. Tasks are admitted in the order they were spawned, first
    /// come, first served, whichever of [`spawn`](Self::spawn) (spawned at
    /// once, waiting unpolled), [`spawn_wait`](Self::spawn_wait) (waiting
    /// in the caller) or [`try_spawn`](Self::try_spawn) (never waiting)
    /// spawned them. A limit is given when the group is made, so that it
    /// covers every task the group ever holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::scope::TaskGroup;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut group = TaskGroup::with_limit(NonZeroUsize::new(2).unwrap());
    /// for i in 0..8_u64 {
    ///     group.spawn_wait(async move { i * 2 }).await; // waits while 2 run
    /// }
    /// assert_eq!(group.max_running(), 2);
    /// assert_eq!(group.join_all().await.iter().sum::<u64>(), 56);
    /// # });
    /// ```
    pub fn with_limit(n: NonZeroUsize) -> TaskGroup<T> {
        let mut group = TaskGroup::new();
        group.slots = Some(Arc::new(Slots::new(n)));
        group
    }

    /// The limit on running tasks (`usize::MAX` when none was set).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyrt::scope::TaskGroup::<()>::new().max_running(), usize::MAX);
    /// ```
    pub fn max_running(&self) -> usize {
        self.slots.as_ref().map_or(usize::MAX, |slots| slots.max())
    }

    /// Starts `future` as a task of the group if it may run now; hands it
    /// back if the group is at its limit (or others wait in line before
    /// it). Without a limit it always spawns.
    ///
    /// # Errors
    ///
    /// [`TrySpawnError`], holding `future` unpolled, when the group is
    /// full.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::scope::{CancelToken, TaskGroup};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut group = TaskGroup::with_limit(NonZeroUsize::MIN);
    /// let token = CancelToken::new();
    /// let waiter = token.clone();
    /// assert!(group.try_spawn(async move { waiter.cancelled().await; 1 }).is_ok());
    /// let back = group.try_spawn(async { 2 }).unwrap_err().into_inner();
    /// token.cancel();
    /// assert_eq!(group.join_next().await, Some(1)); // its place is free again
    /// assert!(group.try_spawn(back).is_ok());
    /// assert_eq!(group.join_next().await, Some(2));
    /// # });
    /// ```
    pub fn try_spawn<F>(&mut self, future: F) -> Result<(), TrySpawnError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let place = match &self.slots {
            None => Place::free(),
            Some(slots) => match slots.try_enter() {
                Some(place) => place,
                None => return Err(TrySpawnError(future)),
            },
        };
        self.spawn_placed(future, place);
        Ok(())
    }

    /// Waits for a place, then starts `future` as a task of the group:
    /// while the group is full `future` is not spawned at all, so a
    /// producer of many tasks holds at most `n` of them (plus the outputs
    /// not yet joined). Without a limit it spawns at its first poll.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops `future` unspawned and gives up its place
    /// in line (or the place it was granted, to the next in line): no
    /// place is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::scope::TaskGroup;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut group = TaskGroup::with_limit(NonZeroUsize::MIN);
    /// group.spawn_wait(async { "first" }).await;
    /// group.spawn_wait(async { "second" }).await; // once "first" ended
    /// assert_eq!(group.join_all().await, ["first", "second"]);
    /// # });
    /// ```
    pub fn spawn_wait<F>(&mut self, future: F) -> GroupSpawnWait<'_, T, F>
    where
        F: Future<Output = T> + Send + 'static,
    {
        GroupSpawnWait::new(self, future)
    }

    /// The place of a task spawned now: held, or waited for by the task
    /// (whose first poll replaces the waker that does nothing).
    pub(super) fn place_for_spawn(&self) -> Place {
        self.place_or_queue(Waker::noop())
    }

    /// A place now, or a ticket in line that wakes `waker`.
    pub(super) fn place_or_queue(&self, waker: &Waker) -> Place {
        match &self.slots {
            None => Place::free(),
            Some(slots) => slots.enter_or_queue(waker),
        }
    }
}
