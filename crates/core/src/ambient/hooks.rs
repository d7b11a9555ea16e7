//! Task hooks: how an observer (a virtual clock that auto-advances) learns,
//! exactly, which tasks spawned under a context can run.
//!
//! A task spawned through [`spawn`](crate::spawn) under a context that
//! carries hooks is polled with a waker of its own. The task counts as
//! runnable from its spawn until its first poll, and again from each wake
//! until its next poll; from the cancellation of its handle (dropped or
//! aborted) and from its last poll until its runtime has dropped its
//! future; it counts as polling while inside a poll; and once it has
//! finished, it counts as unjoined while its [`Task`](crate::Task) handle
//! is awaited and the runtime has not yet handed the output over (it does
//! so after the task's last poll, by waking the handle's waker, which the
//! handle wraps to see it). A handle that nobody awaits holds nothing
//! back: its output can wait. A wake after the future is gone (a stale
//! waker kept by some primitive) counts for nothing.
//!
//! The task's flags change under its own lock, and the hooks are told of
//! each change before the lock is released, so a count never lags or
//! leads a change made on another thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// An observer of the tasks spawned under a context; the counts it is told
/// of start at zero and go up and down by one.
pub(crate) trait TaskHooks: Send + Sync + 'static {
    /// A task became runnable (spawned, woken or cancelled: `+1`) or
    /// stopped being so (polled or dropped: `-1`).
    fn runnable(&self, delta: isize);
    /// A task entered (`+1`) or left (`-1`) a poll.
    fn polling(&self, delta: isize);
    /// A task finished while its handle is awaited, and the runtime has
    /// not handed the output over yet (`+1`), or it has, or the handle took
    /// the output or is gone (`-1`).
    fn unjoined(&self, delta: isize);
}

/// What is known of a tracked task.
#[derive(Clone, Copy, Default)]
struct Flags {
    /// New, or woken, and not polled since.
    woken: bool,
    /// Its handle was dropped or aborted before it finished.
    cancelled: bool,
    /// Its last poll returned the output or panicked.
    finished: bool,
    /// Its future has been dropped.
    gone: bool,
    /// Its output was taken, or its handle is gone.
    joined: bool,
    /// Its handle was polled, and the waker it left has not been woken.
    awaited: bool,
}

impl Flags {
    /// Counted as runnable: its runtime has something to do with it.
    fn runnable(self) -> bool {
        !self.gone && (self.woken || self.cancelled || self.finished)
    }

    /// Counted as unjoined.
    fn unjoined(self) -> bool {
        self.finished && !self.joined && self.awaited
    }
}

/// What a tracked task and its handle share.
struct Shared {
    hooks: Arc<dyn TaskHooks>,
    flags: Mutex<Flags>,
    /// The waker of the executor's last poll.
    target: Mutex<Option<Waker>>,
    /// The waker of the handle's awaiter at its last poll.
    awaiter: Mutex<Option<Waker>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `+1` or `-1` for a count that changed, `None` for one that did not.
fn delta(before: bool, after: bool) -> Option<isize> {
    (before != after).then_some(if after { 1 } else { -1 })
}

impl Shared {
    /// Changes the flags and tells the hooks, under the task's lock.
    fn update(&self, change: impl FnOnce(&mut Flags)) {
        let mut flags = lock(&self.flags);
        let before = *flags;
        change(&mut flags);
        if let Some(delta) = delta(before.runnable(), flags.runnable()) {
            self.hooks.runnable(delta);
        }
        if let Some(delta) = delta(before.unjoined(), flags.unjoined()) {
            self.hooks.unjoined(delta);
        }
    }

    fn finish(&self) {
        self.update(|flags| flags.finished = true);
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Counted before the executor hears of it, so that it is counted
        // before the poll that uncounts it can start.
        self.update(|flags| flags.woken = !flags.gone && !flags.finished);
        let target = lock(&self.target).clone();
        if let Some(target) = target {
            target.wake();
        }
    }
}

/// A task under hooks, as its wrapper holds it.
pub(crate) struct Tracked {
    shared: Arc<Shared>,
    waker: Waker,
}

impl Tracked {
    /// A task about to be spawned: runnable until its first poll.
    pub(super) fn new(hooks: Arc<dyn TaskHooks>) -> (Tracked, JoinWatch) {
        let shared = Arc::new(Shared {
            hooks,
            flags: Mutex::new(Flags::default()),
            target: Mutex::new(None),
            awaiter: Mutex::new(None),
        });
        shared.update(|flags| flags.woken = true);
        let tracked = Tracked {
            waker: Waker::from(shared.clone()),
            shared: shared.clone(),
        };
        let handoff = Waker::from(Arc::new(Handoff(shared.clone())));
        (tracked, JoinWatch { shared, handoff })
    }

    /// Polls `future` with the task's own waker, counted as polling.
    pub(super) fn poll<F: Future>(
        &mut self,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        {
            let mut target = lock(&self.shared.target);
            match &mut *target {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        let mut polling = Polling::enter(&self.shared);
        self.shared.update(|flags| flags.woken = false);
        let poll = future.poll(&mut Context::from_waker(&self.waker));
        polling.returned = true;
        if poll.is_ready() {
            self.shared.finish();
        }
        poll
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // The future is gone (its wrapper drops it first): nothing is left
        // to run, and a later wake is stale.
        self.shared.update(|flags| flags.gone = true);
    }
}

/// Counts a task as polling until dropped; a poll that panics (that is
/// left without returning) ends the task, whose handle then takes the
/// panic as its output. A poll that returns is not taken for a panic
/// when the thread happens to be unwinding already (a task polled from a
/// destructor during a panic).
struct Polling<'a> {
    shared: &'a Shared,
    returned: bool,
}

impl<'a> Polling<'a> {
    fn enter(shared: &'a Shared) -> Self {
        shared.hooks.polling(1);
        Polling {
            shared,
            returned: false,
        }
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        if !self.returned {
            self.shared.finish();
        }
        self.shared.hooks.polling(-1);
    }
}

/// The handle's side of a tracked task: dropped when the output is taken
/// or the handle is gone (which cancels a task not yet finished), or
/// [`detach`](JoinWatch::detach)ed with the handle.
pub(crate) struct JoinWatch {
    shared: Arc<Shared>,
    /// The waker the handle is polled with: it tells when the runtime
    /// hands the output over.
    handoff: Waker,
}

impl JoinWatch {
    /// The waker to poll the runtime's handle with, in place of `cx`'s:
    /// while it is not woken, a finished task counts as unjoined.
    pub(crate) fn waker(&self, cx: &Context<'_>) -> &Waker {
        {
            let mut awaiter = lock(&self.shared.awaiter);
            match &mut *awaiter {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        self.shared.update(|flags| flags.awaited = true);
        &self.handoff
    }

    /// The handle lets the task run on: nobody will take its output.
    pub(crate) fn detach(self) {
        self.shared.update(|flags| flags.joined = true);
    }
}

/// The waker of a handle's poll: passes the wake to the awaiter, and then
/// no longer counts the task as unjoined, so that the count moves from the
/// task to the awaiter (itself counted from its wake) without a gap.
struct Handoff(Arc<Shared>);

impl Wake for Handoff {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let awaiter = lock(&self.0.awaiter).clone();
        // Uncounted after the wake, also when the awaiter's waker panics
        // (its executor's bug): a task left counted would hold the clock.
        let _uncount = Uncount(&self.0);
        if let Some(awaiter) = awaiter {
            awaiter.wake();
        }
    }
}

/// Stops counting its task as awaited when dropped.
struct Uncount<'a>(&'a Shared);

impl Drop for Uncount<'_> {
    fn drop(&mut self) {
        self.0.update(|flags| flags.awaited = false);
    }
}

impl Drop for JoinWatch {
    fn drop(&mut self) {
        // After `detach` this changes nothing; else a task not finished is
        // cancelled, and runnable until its runtime drops its future.
        self.shared.update(|flags| {
            flags.cancelled |= !flags.joined && !flags.finished;
            flags.joined = true;
        });
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::atomic::{AtomicIsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use super::{TaskHooks, Tracked};

    /// Counts, and whether any went below zero.
    #[derive(Default)]
    struct Counts {
        runnable: AtomicIsize,
        polling: AtomicIsize,
        unjoined: AtomicIsize,
        negative: AtomicIsize,
    }

    impl Counts {
        fn add(&self, count: &AtomicIsize, delta: isize) {
            if count.fetch_add(delta, Ordering::SeqCst) + delta < 0 {
                self.negative.fetch_add(1, Ordering::SeqCst);
            }
        }

        fn all(&self) -> [isize; 4] {
            [
                &self.runnable,
                &self.polling,
                &self.unjoined,
                &self.negative,
            ]
            .map(|count| count.load(Ordering::SeqCst))
        }
    }

    impl TaskHooks for Counts {
        fn runnable(&self, delta: isize) {
            self.add(&self.runnable, delta);
        }

        fn polling(&self, delta: isize) {
            self.add(&self.polling, delta);
        }

        fn unjoined(&self, delta: isize) {
            self.add(&self.unjoined, delta);
        }
    }

    /// Wakes from another thread race the task's polls, its end, its drop
    /// and its handle's: every count ends at zero and none goes below it.
    #[test]
    fn counts_end_at_zero_and_never_go_below_it_whatever_the_interleaving() {
        let counts = Arc::new(Counts::default());
        let rounds = if cfg!(miri) { 10 } else { 2000 };
        for round in 0..rounds {
            let (mut tracked, watch) = Tracked::new(counts.clone());
            let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
            let keep = kept.clone();
            let mut polls = 0;
            let mut future = pin!(std::future::poll_fn(move |cx| {
                polls += 1;
                *keep.lock().unwrap() = Some(cx.waker().clone());
                if polls < 3 {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            }));
            let cx = &mut Context::from_waker(Waker::noop());
            assert!(tracked.poll(future.as_mut(), cx).is_pending());
            let waker = kept.lock().unwrap().clone().expect("a waker");
            let waking = std::thread::spawn(move || {
                for _ in 0..3 {
                    waker.wake_by_ref();
                }
            });
            while tracked.poll(future.as_mut(), cx).is_pending() {}
            if round % 2 == 0 {
                drop(tracked);
                drop(watch);
            } else {
                drop(watch);
                drop(tracked);
            }
            waking.join().expect("the waking thread");
            // A stale wake after the end counts for nothing.
            if let Some(waker) = kept.lock().unwrap().take() {
                waker.wake();
            }
            assert_eq!(
                counts.all(),
                [0; 4],
                "round {round}: runnable, polling, unjoined, negative"
            );
        }
    }
}
