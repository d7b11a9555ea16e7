//! The fallback timer: one lazily started thread and an ordered timer queue.
//!
//! Sleeps live in a `BTreeMap` keyed by `(deadline, id)`: registering is an
//! O(log n) insert, cancelling an O(log n) remove that leaves nothing behind,
//! and the thread only sleeps until the earliest key. It is started by the
//! first sleep that has to wait; an application that uses a runtime feature
//! never starts it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

type Key = (Instant, u64);

struct Queue {
    state: Mutex<State>,
    wake_thread: Condvar,
}

#[derive(Default)]
struct State {
    sleepers: BTreeMap<Key, Waker>,
    next_id: u64,
    /// What the thread sleeps until; `None` while it waits for any sleeper.
    thread_until: Option<Instant>,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();

fn queue() -> &'static Queue {
    QUEUE.get_or_init(|| {
        std::thread::Builder::new()
            .name("anyrt-timer".into())
            .spawn(|| queue().run())
            .expect("anyrt: cannot start the fallback timer thread");
        Queue {
            state: Mutex::new(State::default()),
            wake_thread: Condvar::new(),
        }
    })
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; recover from poison anyway.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn register(&self, deadline: Instant, waker: Waker) -> Key {
        let mut state = self.lock();
        let key = (deadline, state.next_id);
        state.next_id += 1;
        state.sleepers.insert(key, waker);
        if state.thread_until.is_none_or(|until| deadline < until) {
            self.wake_thread.notify_one();
        }
        key
    }

    /// Updates the waker; `false` if the sleeper is no longer queued.
    fn update(&self, key: Key, waker: &Waker) -> bool {
        // The waker replaced is dropped after the lock (declared before
        // it): dropping the last handle of a task may cancel a sleep.
        let mut old = None;
        let mut state = self.lock();
        let queued = match state.sleepers.get_mut(&key) {
            Some(current) => {
                if !current.will_wake(waker) {
                    old = Some(std::mem::replace(current, waker.clone()));
                }
                true
            }
            None => false,
        };
        drop(state);
        drop(old);
        queued
    }

    fn cancel(&self, key: Key) -> Option<Waker> {
        self.lock().sleepers.remove(&key)
    }

    fn run(&self) {
        let mut due = Vec::new();
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = state.sleepers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                state.thread_until = Some(now);
                drop(state);
                // A wake that panics cannot end the one timer thread.
                crate::wake::wake_all(due.drain(..));
                state = self.lock();
                continue;
            }
            let next = state.sleepers.first_key_value().map(|(key, _)| key.0);
            state.thread_until = next;
            state = match next {
                Some(until) => {
                    let wait = until.saturating_duration_since(now);
                    self.wake_thread
                        .wait_timeout(state, wait)
                        .map_or_else(|p| p.into_inner().0, |r| r.0)
                }
                None => self
                    .wake_thread
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}

/// A sleep on the fallback timer.
#[derive(Debug)]
pub(crate) struct FallbackSleep {
    deadline: Instant,
    key: Option<Key>,
}

impl FallbackSleep {
    pub(crate) fn new(deadline: Instant) -> Self {
        FallbackSleep {
            deadline: crate::timer::clamp(deadline),
            key: None,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves a queued sleeper to its new key with its waker, so no poll is
    /// needed after the reset.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        let deadline = crate::timer::clamp(deadline);
        self.deadline = deadline;
        if let Some(key) = self.key.take() {
            if let Some(waker) = queue().cancel(key) {
                self.key = Some(queue().register(deadline, waker));
            }
        }
    }

    pub(crate) fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            if let Some(key) = self.key.take() {
                queue().cancel(key);
            }
            return Poll::Ready(());
        }
        match self.key {
            Some(key) if queue().update(key, cx.waker()) => {}
            _ => self.key = Some(queue().register(self.deadline, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Future for FallbackSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_sleep(cx)
    }
}

impl Drop for FallbackSleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            queue().cancel(key);
        }
    }
}

/// The number of sleepers queued on the fallback timer (for leak checks).
pub(crate) fn pending() -> usize {
    QUEUE.get().map_or(0, |queue| queue.lock().sleepers.len())
}

/// Whether the fallback timer thread has been started in this process.
pub(crate) fn started() -> bool {
    QUEUE.get().is_some()
}
