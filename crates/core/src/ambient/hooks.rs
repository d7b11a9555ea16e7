//! Task hooks: how an observer (a virtual clock that auto-advances) learns,
//! exactly, which tasks spawned under a context can run.
//!
//! A task spawned through [`spawn`](crate::spawn) under a context that
//! carries hooks is polled with a waker of its own. The task counts as
//! runnable from its spawn until its first poll, and again from each wake
//! until its next poll; it counts as polling while inside a poll; and once
//! it has finished, it counts as unjoined until its [`Task`](crate::Task)
//! handle has taken the output (or is gone), because the runtime hands the
//! output over after the task's last poll. The counts change by a flag
//! that is swapped, so every change is made once, whatever the threads.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// An observer of the tasks spawned under a context; the counts it is told
/// of start at zero and go up and down by one.
pub(crate) trait TaskHooks: Send + Sync + 'static {
    /// A task became runnable (spawned or woken: `+1`) or stopped being
    /// so (polled or dropped: `-1`).
    fn runnable(&self, delta: isize);
    /// A task entered (`+1`) or left (`-1`) a poll.
    fn polling(&self, delta: isize);
    /// A task finished and its output is not taken yet (`+1`), or it was
    /// taken or its handle dropped (`-1`).
    fn unjoined(&self, delta: isize);
}

const RUNNING: u8 = 0;
const FINISHED: u8 = 1;
const JOINED: u8 = 2;

/// What a tracked task and its handle share.
struct Shared {
    hooks: Arc<dyn TaskHooks>,
    /// Counted as runnable.
    woken: AtomicBool,
    /// `RUNNING`, `FINISHED` (output not taken) or `JOINED` (taken, or the
    /// handle is gone).
    join: AtomicU8,
    /// The waker of the executor's last poll.
    target: Mutex<Option<Waker>>,
}

impl Shared {
    fn set_woken(&self, woken: bool) {
        if self.woken.swap(woken, Ordering::SeqCst) != woken {
            self.hooks.runnable(if woken { 1 } else { -1 });
        }
    }

    fn finish(&self) {
        let finished =
            self.join
                .compare_exchange(RUNNING, FINISHED, Ordering::SeqCst, Ordering::SeqCst);
        if finished.is_ok() {
            self.hooks.unjoined(1);
        }
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Counted before the executor hears of it, so that it is counted
        // before the poll that uncounts it can start.
        self.set_woken(true);
        let target = self
            .target
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
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
            woken: AtomicBool::new(false),
            join: AtomicU8::new(RUNNING),
            target: Mutex::new(None),
        });
        shared.set_woken(true);
        let tracked = Tracked {
            waker: Waker::from(shared.clone()),
            shared: shared.clone(),
        };
        (tracked, JoinWatch { shared })
    }

    /// Polls `future` with the task's own waker, counted as polling.
    pub(super) fn poll<F: Future>(
        &mut self,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        {
            let mut target = self
                .shared
                .target
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match &mut *target {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        let _polling = Polling::enter(&self.shared);
        self.shared.set_woken(false);
        let poll = future.poll(&mut Context::from_waker(&self.waker));
        if poll.is_ready() {
            self.shared.finish();
        }
        poll
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // A task dropped before it ran again is no longer runnable.
        self.shared.set_woken(false);
    }
}

/// Counts a task as polling until dropped; a poll that panics ends the
/// task, whose handle then takes the panic as its output.
struct Polling<'a>(&'a Shared);

impl<'a> Polling<'a> {
    fn enter(shared: &'a Shared) -> Self {
        shared.hooks.polling(1);
        Polling(shared)
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.finish();
        }
        self.0.hooks.polling(-1);
    }
}

/// The handle's side of a tracked task: dropped when the output is taken
/// or the handle is gone.
pub(crate) struct JoinWatch {
    shared: Arc<Shared>,
}

impl Drop for JoinWatch {
    fn drop(&mut self) {
        if self.shared.join.swap(JOINED, Ordering::SeqCst) == FINISHED {
            self.shared.hooks.unjoined(-1);
        }
    }
}
