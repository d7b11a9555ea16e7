//! The state every clone of a pool shares: the slots, the idle set and the
//! counters, with the synchronous O(1) operations on them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::builder::{Config, OnError, Reuse};
use super::status::{Discarded, Reason, Status};
use super::{AddError, Manager, Metrics, PoolError};
use crate::Semaphore;

/// An idle resource with what the pool knows about it.
pub(crate) struct Entry<T> {
    pub(crate) resource: T,
    pub(crate) metrics: Metrics,
    /// When it expires (`max_lifetime` less jitter), if ever.
    pub(crate) expires: Option<Instant>,
}

pub(crate) struct State<T> {
    idle: VecDeque<Entry<T>>,
    /// Idle, in use and being created.
    pub(crate) size: usize,
    pub(crate) creating: usize,
    /// Of those, the creations of `maintain`, whose resources join the
    /// idle set (a `get`'s goes to the `get`).
    creating_idle: usize,
    pub(crate) max_size: usize,
    /// Slots to take out of circulation as they are released (after a
    /// shrinking `resize`).
    owed: usize,
    pub(crate) closed: bool,
    /// Slot holders waiting for a `max_creating` permit that no resource
    /// joining the idle set has yet woken (see [`Shared::returned`]).
    idle_wanted: usize,
    created: u64,
    /// Resources made outside the pool and given to it with `add`.
    added: u64,
    discarded: Discarded,
    /// Health checks passed, or under way (taken back if one fails or is
    /// dropped): counted under the lock the checkout takes anyway.
    recycled: u64,
    /// Time waited for slots, summed and the longest.
    total_wait: Duration,
    max_wait: Duration,
}

/// Whether a slot holder may create a resource if none is idle.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum May {
    Create,
    /// No: it only looks.
    Not,
    /// Not yet: it will wait for a `max_creating` permit, and for a
    /// resource to come back meanwhile.
    Wait,
}

/// What a slot holder found.
pub(crate) enum Take<T> {
    /// An idle resource, now in use.
    Idle(Entry<T>),
    /// Room to create one: `size` and `creating` were counted for it.
    Create,
    /// None idle, and the caller may not create yet (`max_creating`).
    /// With [`May::Wait`] the caller is counted as waiting for a resource
    /// to come back: it waits on [`Shared::returned`] too.
    Empty,
    /// Expired resources were discarded and nothing was taken: the caller
    /// drops them, then takes again.
    Expired,
    /// The pool was shrunk and is full: the caller's slot was taken out of
    /// circulation (it must not give it back), and it waits for another.
    Shrunk,
    /// The pool was closed.
    Closed,
}

pub(crate) struct Shared<M: Manager> {
    pub(crate) manager: M,
    pub(crate) config: Config,
    /// One permit per resource that may be handed out or created.
    pub(crate) slots: Semaphore,
    /// Permits for creations in flight (`max_creating`).
    pub(crate) creators: Option<Semaphore>,
    /// A permit for each resource that joined the idle set while slot
    /// holders waited for a `max_creating` permit (one per waiter counted
    /// in `idle_wanted`, which it uncounts), so that such a waiter takes
    /// the resource instead of waiting for another creation to end. A
    /// permit left over by a waiter that went without it wakes the next
    /// one for nothing: it looks at the idle set, and waits again.
    pub(crate) returned: Semaphore,
    /// Never has a permit; closed with the pool, which wakes `maintain`.
    pub(crate) closing: Semaphore,
    /// Never has a permit; closed once the pool is closed and holds no
    /// resource, which wakes `wait_closed`.
    pub(crate) drained: Semaphore,
    state: Mutex<State<M::Type>>,
    /// `State::closed`, for a checkout to look at without the lock once
    /// its health check is done.
    closed: AtomicBool,
    /// Kept outside the lock: a timed-out `get` may hold nothing.
    timed_out: AtomicU64,
    /// `on_background_error`.
    on_error: Option<OnError<M::Error>>,
}

/// Resources to drop once the lock is released (their `Drop` may be slow).
pub(crate) type Dropped<T> = Vec<T>;

impl<M: Manager> Shared<M> {
    pub(crate) fn new(manager: M, config: Config, on_error: Option<OnError<M::Error>>) -> Self {
        Shared {
            slots: Semaphore::new(config.max_size),
            creators: config.max_creating.map(Semaphore::new),
            returned: Semaphore::new(0),
            closing: Semaphore::new(0),
            drained: Semaphore::new(0),
            state: Mutex::new(State {
                // Room for the usual case up front; a huge `max_size` grows it.
                idle: VecDeque::with_capacity(config.max_size.min(1024)),
                size: 0,
                creating: 0,
                creating_idle: 0,
                max_size: config.max_size,
                owed: 0,
                closed: false,
                idle_wanted: 0,
                created: 0,
                added: 0,
                discarded: Discarded::default(),
                recycled: 0,
                total_wait: Duration::ZERO,
                max_wait: Duration::ZERO,
            }),
            closed: AtomicBool::new(false),
            timed_out: AtomicU64::new(0),
            on_error,
            manager,
            config,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<M::Type>> {
        // Nothing under the lock panics halfway through an update.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives a slot back: to the semaphore, or out of circulation if a
    /// shrink is owed.
    /// Once the pool is closed its idle set stays empty, so every
    /// resource left holds a slot and every later decrease of `size` ends
    /// here (a discard whose slot the checkout keeps is followed by the
    /// slot's own release): this is where a closed pool is seen to hold
    /// nothing any more.
    pub(crate) fn release_slot(&self, state: MutexGuard<'_, State<M::Type>>) {
        let mut state = state;
        let drained = state.closed && state.size == 0;
        if state.owed > 0 {
            state.owed -= 1;
            drop(state);
        } else {
            drop(state);
            self.slots.add_permits(1);
        }
        if drained {
            self.drained.close();
        }
    }

    /// A resource new to the pool (just created, or added), with its
    /// metrics and expiry counted from now.
    pub(crate) fn entry(&self, resource: M::Type) -> Entry<M::Type> {
        let now = anyrt_core::now();
        Entry {
            resource,
            metrics: Metrics::new(now),
            expires: self.expiry(now),
        }
    }

    /// The expiry of a resource created `now`: `max_lifetime` less up to
    /// 10% of jitter.
    fn expiry(&self, now: Instant) -> Option<Instant> {
        let lifetime = self.config.max_lifetime?;
        let jitter_ns = u64::try_from(lifetime.as_nanos() / 10).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(fastrand::u64(0..=jitter_ns));
        now.checked_add(lifetime - jitter)
    }

    /// The time, if idle resources can expire (else no clock is read).
    fn now_if_expiring(&self) -> Option<Instant> {
        let expiring = self.config.idle_timeout.is_some() || self.config.max_lifetime.is_some();
        expiring.then(anyrt_core::now)
    }

    /// Why an idle entry must go at `now`, if it must (never without a
    /// clock reading).
    fn stale(&self, entry: &Entry<M::Type>, now: Option<Instant>) -> Option<Reason> {
        let now = now?;
        if entry.expires.is_some_and(|at| now >= at) {
            return Some(Reason::Lifetime);
        }
        let idle_for = now.saturating_duration_since(entry.metrics.last_used);
        let timeout = self.config.idle_timeout?;
        (idle_for >= timeout).then_some(Reason::IdleTimeout)
    }

    /// The next idle resource to reuse, unless expired ones come first:
    /// those are moved into `dropped` and nothing is taken, so that their
    /// destructors run (and may panic) before the caller holds anything
    /// it would have to give back. `dropped` comes in empty.
    fn pop_idle(
        &self,
        state: &mut State<M::Type>,
        now: Option<Instant>,
        dropped: &mut Dropped<M::Type>,
    ) -> Option<Entry<M::Type>> {
        loop {
            let entry = match self.config.reuse {
                Reuse::Lifo => state.idle.pop_back()?,
                Reuse::Fifo => state.idle.pop_front()?,
            };
            let Some(reason) = self.stale(&entry, now) else {
                if dropped.is_empty() {
                    return Some(entry);
                }
                match self.config.reuse {
                    Reuse::Lifo => state.idle.push_back(entry),
                    Reuse::Fifo => state.idle.push_front(entry),
                }
                return None;
            };
            state.discard(reason);
            dropped.push(entry.resource);
        }
    }

    /// For a slot holder that `waited` that long for its slot (counted
    /// here): an idle resource that has not expired, else room to create
    /// one if it [`May::Create`]. Expired ones are moved into `dropped`, and
    /// then nothing is taken ([`Take::Expired`]). The health check of the
    /// resource, if there is one, is counted now.
    pub(crate) fn take(
        &self,
        may: May,
        waited: Option<Duration>,
        dropped: &mut Dropped<M::Type>,
    ) -> Take<M::Type> {
        let now = self.now_if_expiring();
        let mut state = self.lock();
        if let Some(waited) = waited {
            state.count_wait(waited);
        }
        if state.closed {
            return Take::Closed;
        }
        if let Some(entry) = self.pop_idle(&mut state, now, dropped) {
            if self.config.recycle_on_checkout {
                state.recycled += 1;
            }
            return Take::Idle(entry);
        }
        if !dropped.is_empty() {
            return Take::Expired;
        }
        // Every resource is idle or holds a slot, and none is idle now: a
        // slot holder finds room, unless a shrink still owes slots. Then
        // the pool is full and this slot is one the shrink takes out.
        if state.owed > 0 && state.size >= state.max_size {
            state.owed -= 1;
            return Take::Shrunk;
        }
        match may {
            May::Create => {}
            May::Not => return Take::Empty,
            May::Wait => {
                state.idle_wanted += 1;
                return Take::Empty;
            }
        }
        state.size += 1;
        state.creating += 1;
        Take::Create
    }

    /// A guard gives its resource back: kept idle unless the pool is
    /// closed, shrunk below its size, or the resource expired. Returns it
    /// when it must be dropped (by the caller, outside the lock).
    pub(crate) fn give_back(&self, mut entry: Entry<M::Type>) -> Option<M::Type> {
        let now = anyrt_core::now();
        entry.metrics.last_used = now;
        let mut state = self.lock();
        let reason = if state.closed {
            Some(Reason::Closed)
        } else if state.size > state.max_size {
            Some(Reason::Resized)
        } else if entry.expires.is_some_and(|at| now >= at) {
            Some(Reason::Lifetime)
        } else {
            None
        };
        let (dropped, woken) = match reason {
            Some(reason) => {
                state.discard(reason);
                (Some(entry.resource), false)
            }
            None => (None, state.push_idle(entry)),
        };
        self.release_slot(state);
        self.wake_for_idle(woken);
        dropped
    }

    /// Wakes a slot holder waiting for a `max_creating` permit, if
    /// [`State::push_idle`] said so (after the lock is released).
    fn wake_for_idle(&self, woken: bool) {
        if woken {
            self.returned.add_permits(1);
        }
    }

    /// A slot holder that [`Take::Empty`] counted as waiting for a
    /// resource to come back stopped waiting without the permit of
    /// [`returned`](Shared::returned) (it got a creation permit, or was
    /// dropped). If a permit was already given for it, one is taken back
    /// when free; one handed to a queued waiter wakes it for nothing.
    pub(crate) fn stop_wanting_idle(&self) {
        let mut state = self.lock();
        if state.idle_wanted > 0 {
            state.idle_wanted -= 1;
            return;
        }
        drop(state);
        if let Ok(permit) = self.returned.try_acquire() {
            permit.forget();
        }
    }

    /// A guard's resource leaves the pool (broken, panicked, detached):
    /// its slot and its place in `size` are freed.
    pub(crate) fn forget_one(&self, reason: Reason) {
        let mut state = self.lock();
        state.discard(reason);
        self.release_slot(state);
    }

    /// A creation for a waiting `get` failed: its slot is freed.
    pub(crate) fn creation_failed(&self) {
        let mut state = self.lock();
        state.creating -= 1;
        state.size -= 1;
        self.release_slot(state);
    }

    /// A creation for a waiting `get` succeeded: the entry is the
    /// getter's, unless the pool was closed meanwhile; then it is
    /// discarded, its slot freed, and returned to be dropped.
    pub(crate) fn created_for_getter(
        &self,
        entry: Entry<M::Type>,
    ) -> Result<Entry<M::Type>, M::Type> {
        let mut state = self.lock();
        state.creating -= 1;
        state.created += 1;
        if !state.closed {
            return Ok(entry);
        }
        state.discard(Reason::Closed);
        self.release_slot(state);
        Err(entry.resource)
    }

    /// Whether the pool was closed, without its lock.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A creation nobody waits for ended (its `get` was dropped, or it was
    /// made by `maintain`, as `by_maintain` says): the resource joins the
    /// idle set, and the slot is freed. Returns the resource if it must be
    /// dropped instead (the pool was closed).
    pub(crate) fn created_idle(
        &self,
        entry: Option<Entry<M::Type>>,
        by_maintain: bool,
    ) -> Option<M::Type> {
        let mut state = self.lock();
        state.creating -= 1;
        state.creating_idle -= usize::from(by_maintain);
        let mut woken = false;
        let dropped = match entry {
            None => {
                state.size -= 1;
                None
            }
            Some(entry) if state.closed => {
                state.created += 1;
                state.discard(Reason::Closed);
                Some(entry.resource)
            }
            // Shrunk below its size while it was being created: as a
            // return would be, discarded.
            Some(entry) if state.size > state.max_size => {
                state.created += 1;
                state.discard(Reason::Resized);
                Some(entry.resource)
            }
            Some(entry) => {
                state.created += 1;
                woken = state.push_idle(entry);
                None
            }
        };
        self.release_slot(state);
        self.wake_for_idle(woken);
        dropped
    }

    /// A resource made outside the pool joins the idle set if there is
    /// room (`size < max_size`) and the pool is open; else it comes back.
    pub(crate) fn add(&self, entry: Entry<M::Type>) -> Result<(), AddError<M::Type>> {
        let mut state = self.lock();
        if state.closed {
            return Err(AddError::Closed(entry.resource));
        }
        if state.size >= state.max_size {
            return Err(AddError::Full(entry.resource));
        }
        state.size += 1;
        state.added += 1;
        let woken = state.push_idle(entry);
        drop(state);
        self.wake_for_idle(woken);
        Ok(())
    }

    /// For `maintain`, holding a slot: counts a creation in `size` if
    /// there is room and the idle set, with maintain's creations in
    /// flight, still lacks one.
    pub(crate) fn reserve(&self) -> bool {
        let mut state = self.lock();
        if state.closed || !state.lacks_idle(self.config.min_idle) {
            return false;
        }
        state.size += 1;
        state.creating += 1;
        state.creating_idle += 1;
        true
    }

    /// A health check failed: its resource is discarded, the slot kept.
    pub(crate) fn check_failed(&self) {
        let mut state = self.lock();
        state.recycled -= 1;
        state.discard(Reason::RecycleFailed);
    }

    /// A health check was dropped unfinished (or panicked): its resource
    /// is discarded and its slot freed.
    pub(crate) fn check_dropped(&self, reason: Reason) {
        let mut state = self.lock();
        state.recycled -= 1;
        state.discard(reason);
        self.release_slot(state);
    }

    /// Hands a creation error nobody else sees to `on_background_error`;
    /// its panic is caught and goes no further. Not while the thread
    /// unwinds (a `get` dropped by a panic may finish a creation): a
    /// panic then could not be caught.
    pub(crate) fn report(&self, error: PoolError<M::Error>) {
        if std::thread::panicking() {
            return;
        }
        if let Some(hook) = &self.on_error {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(error)));
        }
    }

    /// Counts a wait for a slot that ended without one (its `get` timed
    /// out or was dropped while queued).
    pub(crate) fn count_wait(&self, waited: Duration) {
        self.lock().count_wait(waited);
    }

    /// Counts a `get` that timed out.
    pub(crate) fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn status(&self) -> Status {
        let waiting = self.slots.waiters() + self.creators.as_ref().map_or(0, |c| c.waiters());
        let state = self.lock();
        Status {
            max_size: state.max_size,
            size: state.size,
            idle: state.idle.len(),
            in_use: state.size - state.idle.len() - state.creating,
            waiting,
            creating: state.creating,
            created: state.created,
            added: state.added,
            recycled: state.recycled,
            discarded: state.discarded,
            timed_out: self.timed_out.load(Ordering::Relaxed),
            total_wait: state.total_wait,
            max_wait: state.max_wait,
        }
    }

    /// Keeps the idle resources for which `keep` is true; the others go
    /// into `dropped`.
    pub(crate) fn retain<F>(&self, mut keep: F, dropped: &mut Dropped<M::Type>)
    where
        F: FnMut(&mut M::Type, &Metrics) -> bool,
    {
        let mut state = self.lock();
        // Every verdict first, with each resource still in the idle set,
        // so that a predicate that panics leaves the set and `size` as
        // they were.
        let verdicts: Vec<bool> = state
            .idle
            .iter_mut()
            .map(|entry| keep(&mut entry.resource, &entry.metrics))
            .collect();
        let mut kept = VecDeque::with_capacity(state.idle.len());
        for (entry, keep) in std::mem::take(&mut state.idle).into_iter().zip(verdicts) {
            if keep {
                kept.push_back(entry);
            } else {
                state.discard(Reason::Retain);
                dropped.push(entry.resource);
            }
        }
        state.idle = kept;
    }

    /// Discards idle resources past their lifetime or idle timeout.
    pub(crate) fn reap(&self, dropped: &mut Dropped<M::Type>) {
        let now = Some(anyrt_core::now());
        let mut state = self.lock();
        let mut i = 0;
        while i < state.idle.len() {
            match self.stale(&state.idle[i], now) {
                None => i += 1,
                Some(reason) => {
                    let entry = state.idle.remove(i).expect("index in range");
                    state.discard(reason);
                    dropped.push(entry.resource);
                }
            }
        }
    }

    /// Whether `maintain` should add an idle resource now.
    pub(crate) fn lacks_idle(&self) -> bool {
        self.lock().lacks_idle(self.config.min_idle)
    }

    /// Changes `max_size`; idle resources above it go into `dropped`.
    pub(crate) fn resize(&self, max_size: usize, dropped: &mut Dropped<M::Type>) {
        let mut state = self.lock();
        let old = state.max_size;
        state.max_size = max_size;
        if max_size >= old {
            let grow = max_size - old;
            let cancelled = state.owed.min(grow);
            state.owed -= cancelled;
            drop(state);
            // To the waiters first: a `get` that comes later cannot take
            // a new slot from one that was queued before the grow.
            self.slots.release_to_waiters(grow - cancelled);
            return;
        }
        let shrink = old - max_size;
        let removed = self.slots.forget_permits(shrink);
        state.owed += shrink - removed;
        while state.size > max_size {
            let Some(entry) = state.idle.pop_front() else {
                break;
            };
            state.discard(Reason::Resized);
            dropped.push(entry.resource);
        }
    }

    /// Closes the pool: idle resources go into `dropped`, waiters fail.
    pub(crate) fn close(&self, dropped: &mut Dropped<M::Type>) {
        let mut state = self.lock();
        state.closed = true;
        self.closed.store(true, Ordering::Release);
        while let Some(entry) = state.idle.pop_front() {
            state.discard(Reason::Closed);
            dropped.push(entry.resource);
        }
        let drained = state.size == 0;
        drop(state);
        self.slots.close();
        if let Some(creators) = &self.creators {
            creators.close();
        }
        self.returned.close();
        self.closing.close();
        if drained {
            self.drained.close();
        }
    }

    /// For `try_get`: an idle resource that has not expired, with the
    /// slot taken for it; else whether the pool is closed. Expired ones
    /// are moved into `dropped`, and then nothing is taken.
    pub(crate) fn try_take_idle(
        &self,
        dropped: &mut Dropped<M::Type>,
    ) -> Result<Entry<M::Type>, bool> {
        let closed = || self.lock().closed;
        let Ok(permit) = self.slots.try_acquire() else {
            return Err(closed());
        };
        permit.forget();
        let now = self.now_if_expiring();
        let mut state = self.lock();
        if let Some(entry) = self.pop_idle(&mut state, now, dropped) {
            return Ok(entry);
        }
        let closed = state.closed;
        self.release_slot(state);
        Err(closed)
    }
}

impl<T> State<T> {
    /// Whether there is room, and the idle set with `maintain`'s
    /// creations in flight holds fewer than `min_idle`.
    fn lacks_idle(&self, min_idle: usize) -> bool {
        self.size < self.max_size && self.idle.len() + self.creating_idle < min_idle
    }

    /// Puts `entry` into the idle set; whether a slot holder waiting for
    /// a `max_creating` permit is to be woken for it (it is uncounted).
    fn push_idle(&mut self, entry: Entry<T>) -> bool {
        self.idle.push_back(entry);
        let woken = self.idle_wanted > 0;
        self.idle_wanted -= usize::from(woken);
        woken
    }

    fn count_wait(&mut self, waited: Duration) {
        self.total_wait = self.total_wait.saturating_add(waited);
        self.max_wait = self.max_wait.max(waited);
    }

    /// Counts a resource thrown away and frees its place.
    pub(crate) fn discard(&mut self, reason: Reason) {
        self.size -= 1;
        self.discarded.count(reason, 1);
    }
}
