//! What a group shares with its tasks, and the wrapper of each task's
//! future.
//!
//! An output reaches the group one of two ways. By default each finished
//! task pushes its outcome onto the group's queue, in completion order,
//! which is what `join_next` and the fail-fast `try_join_all` read. Once
//! `join_all` has started (it owns the group, so no `join_next` can follow)
//! the outputs go through the tasks' own handles, which `join_all` awaits
//! in spawn order: a task then takes no lock at all, unless it panicked.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use futures_lite::FutureExt;
use futures_lite::future::CatchUnwind;
use pin_project_lite::pin_project;

use super::limit::Place;
use crate::wake::set_waker;

/// A task's panic payload.
pub(super) type Panic = Box<dyn Any + Send>;

/// A finished task's output, or its panic.
pub(super) type Outcome<T> = Result<T, Panic>;

pub(super) struct State<T> {
    /// Outcomes of finished tasks, by task id, in completion order (until
    /// outputs go through the handles).
    pub(super) done: VecDeque<(u64, Outcome<T>)>,
    /// Once outputs go through the handles: the first panic of a task.
    pub(super) panic: Option<Panic>,
    /// The group's future waiting for an outcome, a panic, or the last
    /// task future to be dropped.
    pub(super) waker: Option<Waker>,
}

pub(super) struct Shared<T> {
    state: Mutex<State<T>>,
    /// Whether outputs go through the tasks' handles; set once, under the
    /// lock, and never cleared. From then on nobody waits for the task
    /// futures to be dropped (`join_all` owns the group), so they are no
    /// longer counted.
    direct: AtomicBool,
    /// Tasks spawned; written by the group alone (a store, not a
    /// read-modify-write).
    spawned: AtomicUsize,
    /// Task futures dropped by their runtime (at their end or after a
    /// cancel); the rest are alive.
    dropped: AtomicUsize,
    /// Tasks with a lower id were cancelled by the group (`abort_all`,
    /// its drop) or joined: one of them dropped unfinished reports
    /// nothing. One at or above it was dropped by its runtime alone (the
    /// runtime shut down), which the group must hear of.
    cancelled_below: AtomicU64,
}

impl<T> Shared<T> {
    pub(super) fn new() -> Shared<T> {
        Shared {
            state: Mutex::new(State {
                done: VecDeque::new(),
                panic: None,
                waker: None,
            }),
            direct: AtomicBool::new(false),
            spawned: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            cancelled_below: AtomicU64::new(0),
        }
    }

    /// The group cancels every task with an id below `id` (before it
    /// drops their handles): dropped unfinished, they report nothing.
    pub(super) fn cancel_below(&self, id: u64) {
        self.cancelled_below.fetch_max(id, Ordering::Release);
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the group's future, if one waits, once the lock is released.
    fn wake(mut state: MutexGuard<'_, State<T>>) {
        let waker = state.waker.take();
        drop(state);
        // From a task's poll or drop, maybe while it unwinds: a waker that
        // panics (its executor's bug) must not unwind from here.
        if let Some(waker) = waker {
            anyrt_core::wake_quietly(waker);
        }
    }

    /// From now on outputs go through the tasks' handles; returns the
    /// outcomes queued until now, in completion order.
    pub(super) fn go_direct(&self) -> VecDeque<(u64, Outcome<T>)> {
        let mut state = self.lock();
        self.direct.store(true, Ordering::Release);
        std::mem::take(&mut state.done)
    }

    /// Counts the task future about to be spawned, with id `id` (ids
    /// count the group's spawns from 0).
    pub(super) fn track(self: &Arc<Self>, id: u64) -> Alive<T> {
        // Stored before the future is handed to the runtime: the task
        // that drops it sees this count or a later one. (Counts wrap
        // alike on every platform; only their equality matters.)
        self.spawned
            .store((id as usize).wrapping_add(1), Ordering::Release);
        Alive {
            shared: self.clone(),
            id,
            finished: false,
        }
    }

    /// Ready once every task future has been dropped.
    pub(super) fn poll_dropped(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        // Read under the lock: the task whose drop is the last takes the
        // lock after counting it, so either it sees the waker set here or
        // this sees its count.
        if self.dropped.load(Ordering::Acquire) == self.spawned.load(Ordering::Relaxed) {
            return Poll::Ready(());
        }
        let replaced = set_waker(&mut state.waker, cx.waker());
        drop(state);
        drop(replaced);
        Poll::Pending
    }

    /// Hands a finished task's outcome on: onto the queue, or back to the
    /// task's handle (a panic is kept here, so that `join_all` learns of
    /// it at once, whichever handle it awaits).
    fn finish(&self, id: u64, outcome: Outcome<T>) -> Option<T> {
        if !self.direct.load(Ordering::Acquire) {
            let mut state = self.lock();
            if !self.direct.load(Ordering::Relaxed) {
                state.done.push_back((id, outcome));
                Shared::wake(state);
                return None;
            }
        }
        match outcome {
            Ok(output) => Some(output),
            Err(panic) => {
                let mut state = self.lock();
                state.panic.get_or_insert(panic);
                Shared::wake(state);
                None
            }
        }
    }
}

/// Counts a task future alive until it is dropped: at its end or after a
/// cancel, the group learns it.
pub(super) struct Alive<T> {
    shared: Arc<Shared<T>>,
    id: u64,
    /// Whether the task handed its outcome on.
    finished: bool,
}

/// What a task dropped unfinished by its runtime, not by its group, hands
/// on as its outcome: a panic, as awaiting a task that a shut-down runtime
/// dropped is.
const DROPPED_BY_RUNTIME: &str = "anyrt-scope: a task of the group was dropped unfinished by its runtime (the runtime shut down)";

impl<T> Drop for Alive<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        if shared.direct.load(Ordering::Relaxed) {
            return;
        }
        if !self.finished && self.id >= shared.cancelled_below.load(Ordering::Acquire) {
            // Nobody else will report it: without an outcome, `join_next`
            // and `try_join_all` would wait for it forever.
            let panic: Panic = Box::new(DROPPED_BY_RUNTIME);
            shared.finish(self.id, Err(panic));
        }
        // Acquire: the drops counted before this one were of tasks spawned
        // after the group's stores of `spawned` that they saw, so this
        // reads the count of every task whose drop came first, or more.
        let dropped = shared
            .dropped
            .fetch_add(1, Ordering::AcqRel)
            .wrapping_add(1);
        if dropped == shared.spawned.load(Ordering::Acquire) {
            Shared::wake(shared.lock());
        }
    }
}

pin_project! {
    /// A task's future in its group: waits for its place under a limit,
    /// catches a panic, hands the outcome on once the future is dropped
    /// and its place given back, and counts itself alive until it is
    /// dropped (fields drop in order: the future, the place, the count).
    pub(super) struct Wrapped<F, T> {
        #[pin]
        future: Option<CatchUnwind<AssertUnwindSafe<F>>>,
        place: Place,
        alive: Alive<T>,
    }
}

impl<F, T> Wrapped<F, T> {
    pub(super) fn new(future: F, place: Place, alive: Alive<T>) -> Self
    where
        F: Future<Output = T>,
    {
        Wrapped {
            future: Some(AssertUnwindSafe(future).catch_unwind()),
            place,
            alive,
        }
    }
}

impl<F: Future<Output = T>, T> Future for Wrapped<F, T> {
    /// The output when it goes through the handle.
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // Runtimes poll a future no more once it is ready.
            return Poll::Ready(None);
        };
        ready!(this.place.poll_enter(cx));
        let outcome = ready!(future.poll(cx));
        // The task's destructors run, and its place is free, before its
        // output is seen. A destructor that panics fails the task, and so
        // does the waker of a `spawn_wait` handed the place: the outcome
        // must still reach the group, which waits for it.
        let dropped = catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
        let released = catch_unwind(AssertUnwindSafe(|| this.place.release()));
        let outcome = dropped.and(released).and(outcome);
        this.alive.finished = true;
        Poll::Ready(this.alive.shared.finish(this.alive.id, outcome))
    }
}
