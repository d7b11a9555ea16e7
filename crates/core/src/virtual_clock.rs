//! `VirtualClock`: a timer whose time moves only when told.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::timer::{Sleep, Timer, deadline_after};

type Key = (Instant, u64);

/// A [`Timer`] for tests: its time stands still until [`advance`] or
/// [`advance_to`] moves it, or until [`auto_advance`] jumps it to the next
/// sleeper whenever the future under test is idle.
///
/// Clones share one clock. Sleepers that come due together wake in order
/// of deadline, then of registration. A sleep completes only when the
/// clock has reached its deadline.
///
/// Put it under code written for real time with [`with_timer`]; the
/// `#[anyrt_test::test(virtual_time)]` harness does that for a whole test.
///
/// [`advance`]: VirtualClock::advance
/// [`advance_to`]: VirtualClock::advance_to
/// [`auto_advance`]: VirtualClock::auto_advance
/// [`with_timer`]: crate::with_timer
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt_core::VirtualClock;
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// clock
///     .auto_advance(async { anyrt_core::sleep(Duration::from_secs(3600)).await })
///     .await;
/// assert_eq!(clock.now() - start, Duration::from_secs(3600));
/// # });
/// ```
#[derive(Clone)]
pub struct VirtualClock {
    shared: Arc<Mutex<State>>,
}

struct State {
    start: Instant,
    now: Instant,
    sleepers: BTreeMap<Key, Waker>,
    next_id: u64,
    /// Bumped on every registration, removal and advance: activity.
    generation: u64,
    /// Sleepers woken by an advance that have not yet been polled (or
    /// dropped) since: their tasks have not reacted to the last jump.
    fired_unseen: usize,
    /// Tasks spawned under this clock that have not been polled yet.
    starting: usize,
    /// Tasks spawned under this clock that are inside a poll right now (on
    /// any thread): between a fired sleep's completion and the task's next
    /// sleep, the task is counted here.
    polling: usize,
    /// Woken when a sleeper registers (an idle auto-advancer waits here).
    watcher: Option<Waker>,
}

impl VirtualClock {
    /// A clock that reads the real time now, and stands there.
    pub fn new() -> Self {
        let now = Instant::now();
        let state = State {
            start: now,
            now,
            sleepers: BTreeMap::new(),
            next_id: 0,
            generation: 0,
            fired_unseen: 0,
            starting: 0,
            polling: 0,
            watcher: None,
        };
        VirtualClock {
            shared: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The clock installed as the ambient timer around the caller (by
    /// [`with_timer`](crate::with_timer) or [`auto_advance`]), if it is a
    /// `VirtualClock`.
    ///
    /// [`auto_advance`]: VirtualClock::auto_advance
    pub fn current() -> Option<VirtualClock> {
        crate::ambient::with_current(|ctx| {
            let timer = ctx?.timer.as_ref()?;
            timer.as_any().downcast_ref::<VirtualClock>().cloned()
        })
    }

    /// The clock's time.
    pub fn now(&self) -> Instant {
        self.lock().now
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        let state = self.lock();
        state.now - state.start
    }

    /// Moves the clock forward by `duration` (saturating) and wakes every
    /// sleeper now due.
    pub fn advance(&self, duration: Duration) {
        let target = deadline_after(self.now(), duration);
        self.advance_to(target);
    }

    /// Moves the clock to `instant` and wakes every sleeper now due, in
    /// (deadline, registration) order. Time never goes back: an instant in
    /// the past leaves the clock where it is.
    pub fn advance_to(&self, instant: Instant) {
        let mut due = Vec::new();
        {
            let mut state = self.lock();
            let now = state.now.max(instant);
            state.now = now;
            while let Some(entry) = state.sleepers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            state.generation += 1;
            state.fired_unseen += due.len();
        }
        due.into_iter().for_each(Waker::wake);
    }

    /// Jumps to the earliest pending sleeper's deadline and wakes the
    /// sleepers due then; `false` if nobody sleeps.
    pub fn advance_to_next(&self) -> bool {
        match self.next_deadline() {
            Some(deadline) => {
                self.advance_to(deadline);
                true
            }
            None => false,
        }
    }

    /// The earliest deadline among pending sleepers.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.lock().sleepers.first_key_value().map(|(key, _)| key.0)
    }

    /// How many sleeps are registered and pending (a leak check: a dropped
    /// or completed sleep is not counted).
    pub fn pending_sleepers(&self) -> usize {
        self.lock().sleepers.len()
    }

    /// Runs `future` with this clock as its ambient timer, moving the clock
    /// to the next sleeper's deadline whenever the future is idle; see
    /// [`AutoAdvance`](crate::futures::AutoAdvance).
    pub fn auto_advance<F: Future>(&self, future: F) -> crate::futures::AutoAdvance<F> {
        crate::auto_advance::AutoAdvance::new(self.clone(), future)
    }

    /// What an auto-advancer looks at before a jump.
    pub(crate) fn activity(&self) -> Activity {
        let state = self.lock();
        Activity {
            generation: state.generation,
            not_yet_run: state.fired_unseen + state.starting,
            polling: state.polling,
        }
    }

    /// Counts a task spawned under this clock as inside a poll until the
    /// guard is dropped.
    pub(crate) fn task_polling(&self) -> PollGuard<'_> {
        self.lock().polling += 1;
        PollGuard { clock: self }
    }

    /// Counts a task as starting until the guard is dropped.
    pub(crate) fn task_starting(&self) -> StartGuard {
        let mut state = self.lock();
        state.starting += 1;
        state.generation += 1;
        StartGuard {
            clock: self.clone(),
        }
    }

    /// Stores `waker` to be woken at the next registration, unless a sleeper
    /// is pending already (then `false`).
    pub(crate) fn park_unless_sleepers(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        if !state.sleepers.is_empty() {
            return false;
        }
        state.watcher = Some(waker.clone());
        true
    }

    fn register(&self, deadline: Instant, waker: Waker) -> Key {
        let mut state = self.lock();
        let key = (deadline, state.next_id);
        state.next_id += 1;
        state.generation += 1;
        state.sleepers.insert(key, waker);
        let watcher = state.watcher.take();
        drop(state);
        if let Some(watcher) = watcher {
            watcher.wake();
        }
        key
    }

    /// Takes a sleep's key off the clock: its waker if it is still queued,
    /// `None` if an advance fired it (it is now seen).
    fn release(&self, key: Key) -> Option<Waker> {
        release(&mut self.lock(), key)
    }
}

/// What [`VirtualClock::activity`] reports.
pub(crate) struct Activity {
    /// Bumped on every registration, removal, advance, task start and end
    /// of a task's poll.
    pub(crate) generation: u64,
    /// Work woken or spawned under the clock that has not run yet: fired
    /// sleepers not yet polled, spawned tasks not yet started.
    pub(crate) not_yet_run: usize,
    /// Tasks spawned under the clock that are inside a poll now.
    pub(crate) polling: usize,
}

/// A task spawned under the clock, inside a poll; see
/// [`VirtualClock::task_polling`].
pub(crate) struct PollGuard<'a> {
    clock: &'a VirtualClock,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.clock.lock();
        state.polling = state.polling.saturating_sub(1);
        state.generation += 1;
    }
}

/// A spawned task that has not been polled yet; see
/// [`VirtualClock::task_starting`].
pub(crate) struct StartGuard {
    clock: VirtualClock,
}

impl Drop for StartGuard {
    fn drop(&mut self) {
        let mut state = self.clock.lock();
        state.starting = state.starting.saturating_sub(1);
        state.generation += 1;
    }
}

fn release(state: &mut State, key: Key) -> Option<Waker> {
    state.generation += 1;
    let waker = state.sleepers.remove(&key);
    if waker.is_none() {
        state.fired_unseen = state.fired_unseen.saturating_sub(1);
    }
    waker
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::new()
    }
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("VirtualClock")
            .field("elapsed", &(state.now - state.start))
            .field("pending_sleepers", &state.sleepers.len())
            .finish()
    }
}

impl Timer for VirtualClock {
    type Sleep = VirtualSleep;

    fn now(&self) -> Instant {
        VirtualClock::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> VirtualSleep {
        VirtualSleep {
            clock: self.clone(),
            deadline,
            key: None,
        }
    }
}

/// A sleep on a [`VirtualClock`].
///
/// # Cancel safety
///
/// Dropping it removes it from the clock.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct VirtualSleep {
    clock: VirtualClock,
    deadline: Instant,
    key: Option<Key>,
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = this.clock.lock();
        if state.now >= this.deadline {
            if let Some(key) = this.key.take() {
                release(&mut state, key);
            }
            return Poll::Ready(());
        }
        if let Some(waker) = this.key.and_then(|key| state.sleepers.get_mut(&key)) {
            if !waker.will_wake(cx.waker()) {
                waker.clone_from(cx.waker());
            }
            return Poll::Pending;
        }
        drop(state);
        this.key = Some(this.clock.register(this.deadline, cx.waker().clone()));
        Poll::Pending
    }
}

impl Sleep for VirtualSleep {
    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        if let Some(key) = this.key.take() {
            if let Some(waker) = this.clock.release(key) {
                this.key = Some(this.clock.register(deadline, waker));
            }
        }
        // A reset to a deadline already reached wakes the task at once.
        if let Some(key) = this.key {
            if deadline <= this.clock.now() {
                if let Some(waker) = this.clock.release(key) {
                    this.key = None;
                    waker.wake();
                }
            }
        }
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.clock.release(key);
        }
    }
}
