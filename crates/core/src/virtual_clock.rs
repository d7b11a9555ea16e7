//! `VirtualClock`: a timer whose time moves only when told.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::ambient::TaskHooks;
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
/// use anyrt::VirtualClock;
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// clock
///     .auto_advance(async { anyrt::sleep(Duration::from_secs(3600)).await })
///     .await;
/// assert_eq!(clock.now() - start, Duration::from_secs(3600));
/// # });
/// ```
#[derive(Clone)]
pub struct VirtualClock {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
}

struct State {
    start: Instant,
    now: Instant,
    sleepers: BTreeMap<Key, Waker>,
    next_id: u64,
    /// Tasks spawned under the clock's auto-advance (through anyrt-core)
    /// that are woken or new and not polled since; see [`TaskHooks`].
    runnable: isize,
    /// Such tasks inside a poll right now, on any thread.
    polling: isize,
    /// Such tasks that finished while their handle is awaited, and whose
    /// output the runtime has not handed over yet.
    unjoined: isize,
    /// The auto-advancers waiting for the tasks to settle or a sleeper to
    /// register (one per future driving the clock; usually one).
    watchers: Vec<Waker>,
    /// Sleepers taken off the clock whose wakers are being woken.
    waking: isize,
}

impl State {
    /// Whether no task under the clock can run: the one condition for a
    /// jump (besides the auto-advanced future itself being idle).
    fn settled(&self) -> bool {
        self.runnable <= 0 && self.polling <= 0 && self.unjoined <= 0 && self.waking <= 0
    }

    fn watch(&mut self, waker: &Waker) {
        if !self.watchers.iter().any(|watcher| watcher.will_wake(waker)) {
            self.watchers.push(waker.clone());
        }
    }

    /// The watchers, to wake once the lock is released, if the tasks have
    /// settled.
    fn watchers_if_settled(&mut self) -> Vec<Waker> {
        if self.settled() {
            std::mem::take(&mut self.watchers)
        } else {
            Vec::new()
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn count(&self, change: impl FnOnce(&mut State)) {
        let watchers = {
            let mut state = self.lock();
            change(&mut state);
            state.watchers_if_settled()
        };
        crate::wake::wake_all(watchers);
    }
}

impl TaskHooks for Shared {
    fn runnable(&self, delta: isize) {
        self.count(|state| state.runnable += delta);
    }

    fn polling(&self, delta: isize) {
        self.count(|state| state.polling += delta);
    }

    fn unjoined(&self, delta: isize) {
        self.count(|state| state.unjoined += delta);
    }
}

/// What [`VirtualClock::jump_if_settled`] did.
pub(crate) enum Jump {
    /// The clock moved to the next deadline and woke the sleepers due.
    Jumped,
    /// Tasks under the clock can still run, or nobody sleeps: the waker
    /// is woken when that changes.
    Parked,
}

impl VirtualClock {
    /// A clock that reads the real time now, and stands there.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::VirtualClock;
    ///
    /// let clock = VirtualClock::new();
    /// std::thread::sleep(Duration::from_millis(1));
    /// assert_eq!(clock.elapsed(), Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        let now = Instant::now();
        let state = State {
            start: now,
            now,
            sleepers: BTreeMap::new(),
            next_id: 0,
            runnable: 0,
            polling: 0,
            unjoined: 0,
            watchers: Vec::new(),
            waking: 0,
        };
        VirtualClock {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// The clock installed as the ambient timer around the caller (by
    /// [`with_timer`](crate::with_timer) or [`auto_advance`]), if it is a
    /// `VirtualClock`.
    ///
    /// [`auto_advance`]: VirtualClock::auto_advance
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{with_timer, VirtualClock};
    ///
    /// # futures_lite::future::block_on(async {
    /// assert!(VirtualClock::current().is_none());
    /// let clock = VirtualClock::new();
    /// let found = with_timer(clock, async { VirtualClock::current() }).await;
    /// assert!(found.is_some());
    /// # });
    /// ```
    pub fn current() -> Option<VirtualClock> {
        crate::timer::with_override(|timer| timer?.as_any().downcast_ref::<VirtualClock>().cloned())
    }

    /// The clock's time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::VirtualClock;
    ///
    /// let clock = VirtualClock::new();
    /// let before = clock.now();
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.now() - before, Duration::from_secs(1));
    /// ```
    pub fn now(&self) -> Instant {
        self.lock().now
    }

    /// How far the clock has moved since it was made.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::VirtualClock;
    ///
    /// let clock = VirtualClock::new();
    /// clock.advance(Duration::from_millis(1500));
    /// assert_eq!(clock.elapsed(), Duration::from_millis(1500));
    /// ```
    pub fn elapsed(&self) -> Duration {
        let state = self.lock();
        state.now - state.start
    }

    /// Moves the clock forward by `duration` and wakes every sleeper now
    /// due. A `duration` past [`far_future`](crate::far_future) saturates
    /// there, as [`deadline_after`](crate::deadline_after) does (use
    /// [`advance_to`](VirtualClock::advance_to) to go further).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::{Timer, VirtualClock};
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = VirtualClock::new();
    /// let sleep = clock.sleep(Duration::from_secs(60));
    /// clock.advance(Duration::from_secs(60));
    /// sleep.await; // due: completes at once
    /// # });
    /// ```
    pub fn advance(&self, duration: Duration) {
        // The time is read and moved under one hold of the lock: advances
        // from several threads add up.
        let due = {
            let mut state = self.lock();
            let target = deadline_after(state.now, duration);
            take_due(&mut state, target)
        };
        self.deliver(due);
    }

    /// Moves the clock to `instant` and wakes every sleeper now due, in
    /// (deadline, registration) order. Time never goes back: an instant in
    /// the past leaves the clock where it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::VirtualClock;
    ///
    /// let clock = VirtualClock::new();
    /// let start = clock.now();
    /// clock.advance_to(start + Duration::from_secs(2));
    /// clock.advance_to(start); // the past: no effect
    /// assert_eq!(clock.now() - start, Duration::from_secs(2));
    /// ```
    pub fn advance_to(&self, instant: Instant) {
        let due = take_due(&mut self.lock(), instant);
        self.deliver(due);
    }

    /// Jumps to the earliest pending sleeper's deadline and wakes the
    /// sleepers due then; `false` if nobody sleeps.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::{Timer, VirtualClock};
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = VirtualClock::new();
    /// assert!(!clock.advance_to_next());
    /// let sleep = clock.sleep(Duration::from_secs(7));
    /// let mut sleep = std::pin::pin!(sleep);
    /// assert!(futures_lite::future::poll_once(sleep.as_mut()).await.is_none());
    /// assert!(clock.advance_to_next());
    /// assert_eq!(clock.elapsed(), Duration::from_secs(7));
    /// # });
    /// ```
    pub fn advance_to_next(&self) -> bool {
        // The deadline is found and reached under one hold of the lock: two
        // threads never both jump to the same sleeper.
        let due = {
            let mut state = self.lock();
            match state.sleepers.first_key_value() {
                Some((&(deadline, _), _)) => take_due(&mut state, deadline),
                None => return false,
            }
        };
        self.deliver(due);
        true
    }

    /// The earliest deadline among pending sleepers.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::VirtualClock;
    ///
    /// assert_eq!(VirtualClock::new().next_deadline(), None);
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        self.lock().sleepers.first_key_value().map(|(key, _)| key.0)
    }

    /// How many sleeps are registered and pending (a leak check: a dropped
    /// or completed sleep is not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::{Timer, VirtualClock};
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = VirtualClock::new();
    /// let mut sleep = Box::pin(clock.sleep(Duration::from_secs(1)));
    /// assert!(futures_lite::future::poll_once(sleep.as_mut()).await.is_none());
    /// assert_eq!(clock.pending_sleepers(), 1);
    /// drop(sleep);
    /// assert_eq!(clock.pending_sleepers(), 0);
    /// # });
    /// ```
    pub fn pending_sleepers(&self) -> usize {
        self.lock().sleepers.len()
    }

    /// Runs `future` with this clock as its ambient timer, moving the clock
    /// to the next sleeper's deadline whenever nothing under it can run;
    /// see [`AutoAdvance`](crate::futures::AutoAdvance).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::VirtualClock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = VirtualClock::new();
    /// let start = clock.now();
    /// let seen = clock
    ///     .auto_advance(async {
    ///         let task = anyrt::spawn(async {
    ///             anyrt::sleep(Duration::from_secs(90)).await;
    ///             anyrt::now()
    ///         });
    ///         task.await
    ///     })
    ///     .await;
    /// assert_eq!(seen - start, Duration::from_secs(90));
    /// # });
    /// ```
    pub fn auto_advance<F: Future>(&self, future: F) -> crate::futures::AutoAdvance<F> {
        crate::auto_advance::AutoAdvance::new(self.clone(), future)
    }

    /// The clock as the hooks of the tasks spawned under its auto-advance.
    pub(crate) fn hooks(&self) -> Arc<dyn TaskHooks> {
        self.shared.clone()
    }

    /// Jumps to the next deadline if every task under the clock has
    /// settled, `idle` (the auto-advanced future was not woken) holds and
    /// somebody sleeps; else stores `waker`, to be woken when the tasks
    /// settle or a sleeper registers. Decided under the clock's lock, so no
    /// change is missed in between: a task that woke the future inside its
    /// poll has either not left the poll yet, or left it before this.
    pub(crate) fn jump_if_settled(&self, waker: &Waker, idle: impl FnOnce() -> bool) -> Jump {
        let due = {
            let mut state = self.lock();
            if !state.settled() {
                state.watch(waker);
                return Jump::Parked;
            }
            if !idle() {
                // Its waker has woken the auto-advancer already.
                return Jump::Parked;
            }
            let next = state.sleepers.first_key_value().map(|(key, _)| key.0);
            match next {
                Some(next) => take_due(&mut state, next),
                _ => {
                    state.watch(waker);
                    return Jump::Parked;
                }
            }
        };
        self.deliver(due);
        Jump::Jumped
    }

    /// Wakes the sleepers a `take_due` took, then lets the clock settle.
    fn deliver(&self, due: Vec<Waker>) {
        crate::wake::wake_all(due);
        self.shared.count(|state| state.waking -= 1);
    }

    fn register(&self, deadline: Instant, waker: Waker) -> Key {
        let (key, watchers) = {
            let mut state = self.lock();
            let key = register(&mut state, deadline, waker);
            (key, std::mem::take(&mut state.watchers))
        };
        crate::wake::wake_all(watchers);
        key
    }

    /// Takes a sleep's key off the clock: its waker if it is still queued,
    /// `None` if an advance fired it.
    fn release(&self, key: Key) -> Option<Waker> {
        self.lock().sleepers.remove(&key)
    }
}

/// Moves the clock to `instant` (never back) and takes the wakers of the
/// sleepers now due, in (deadline, registration) order, to wake once the
/// lock is released.
fn take_due(state: &mut State, instant: Instant) -> Vec<Waker> {
    state.waking += 1;
    let now = state.now.max(instant);
    state.now = now;
    let mut due = Vec::new();
    while let Some(entry) = state.sleepers.first_entry() {
        if entry.key().0 > now {
            break;
        }
        due.push(entry.remove());
    }
    due
}

fn register(state: &mut State, deadline: Instant, waker: Waker) -> Key {
    let key = (deadline, state.next_id);
    state.next_id += 1;
    state.sleepers.insert(key, waker);
    key
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
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::{Timer, VirtualClock};
/// use anyrt::futures::VirtualSleep;
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let sleep: VirtualSleep = clock.sleep(Duration::from_secs(1));
/// clock.advance(Duration::from_secs(1));
/// sleep.await;
/// # });
/// ```
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
        // A first registration clones the waker before taking the lock, so
        // that the time is checked and the sleeper registered under one
        // hold of it: an advance on another thread then either comes before
        // (and the sleep is due) or after (and it finds the sleeper).
        let fresh = this.key.is_none().then(|| {
            let waker = cx.waker().clone();
            #[cfg(test)]
            tests::cloned();
            waker
        });
        // A waker the clock lets go of is dropped after its lock (declared
        // before it): dropping the last handle of a task may drop a sleep
        // on this clock, whose release takes the lock.
        let mut old = None;
        let mut state = this.clock.lock();
        if state.now >= this.deadline {
            if let Some(key) = this.key.take() {
                old = state.sleepers.remove(&key);
            }
            drop(state);
            drop(old);
            return Poll::Ready(());
        }
        let waker = match (this.key, fresh) {
            (Some(key), _) => match state.sleepers.get_mut(&key) {
                Some(waker) => {
                    if !waker.will_wake(cx.waker()) {
                        old = Some(std::mem::replace(waker, cx.waker().clone()));
                    }
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
                // Fired by an advance, then moved later by a reset.
                None => cx.waker().clone(),
            },
            (None, Some(waker)) => waker,
            (None, None) => unreachable!("a waker is cloned for every first registration"),
        };
        this.key = Some(register(&mut state, this.deadline, waker));
        // An auto-advancer waiting for a sleeper has one now.
        let watchers = std::mem::take(&mut state.watchers);
        drop(state);
        crate::wake::wake_all(watchers);
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
                    crate::wake::wake_quietly(waker);
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Waker};
    use std::time::Duration;

    use super::VirtualClock;
    use crate::Timer;

    thread_local! {
        /// Run where a sleep has just cloned its waker to register: a slow
        /// waker clone, or a thread preempted there.
        static AFTER_CLONE: RefCell<Option<Box<dyn FnMut()>>> = RefCell::new(None);
    }

    pub(super) fn cloned() {
        AFTER_CLONE.with(|hook| {
            if let Some(hook) = hook.borrow_mut().as_mut() {
                hook();
            }
        });
    }

    /// Regression: the sleep checked the time, unlocked, cloned the waker
    /// and then registered; an advance from another thread in that window
    /// fired nothing, and the sleep stayed registered past its deadline.
    #[test]
    fn regression_an_advance_while_a_sleep_clones_its_waker_is_never_lost() {
        let clock = VirtualClock::new();
        let advancing = clock.clone();
        AFTER_CLONE.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move || {
                let advancing = advancing.clone();
                std::thread::spawn(move || advancing.advance(Duration::from_secs(1)))
                    .join()
                    .expect("the advancing thread");
            }));
        });
        let mut sleep = clock.sleep(Duration::from_secs(1));
        let poll = Pin::new(&mut sleep).poll(&mut Context::from_waker(Waker::noop()));
        AFTER_CLONE.with(|hook| hook.borrow_mut().take());
        assert_eq!(clock.elapsed(), Duration::from_secs(1));
        assert!(
            poll.is_ready() || clock.pending_sleepers() == 0,
            "the sleep is registered past its deadline and nothing will wake it"
        );
    }
}
