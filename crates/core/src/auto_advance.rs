//! `AutoAdvance`: drive a future under a `VirtualClock` that jumps ahead
//! whenever nothing else is going on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use futures::task::{ArcWake, AtomicWaker, waker};
use pin_project_lite::pin_project;

use crate::VirtualClock;
use crate::ambient::{WithAmbient, with_hooks};
use crate::timer::with_timer;
use crate::virtual_clock::Jump;

pin_project! {
    /// Runs a future with a [`VirtualClock`] as its ambient timer and moves
    /// the clock to the next sleeper's deadline whenever nothing under it
    /// can run; made by [`VirtualClock::auto_advance`].
    ///
    /// Nothing can run when the future itself was not woken since its last
    /// poll and every task spawned under it through anyrt-core (on any
    /// thread, on any runtime) has settled: none is new or woken and not
    /// polled since, none is cancelled or finished and not yet dropped by
    /// its runtime, none is inside a poll, and none has finished while its
    /// handle is awaited and the runtime has not handed the output over
    /// yet (a finished task that nobody awaits holds nothing back). This is
    /// decided exactly, by
    /// counting through the tasks' own wakers, never by how much real time
    /// passed: a task woken by a jump always runs before the next jump,
    /// however busy the machine, and a task between one sleep and the next
    /// is never overtaken.
    ///
    /// Work the clock cannot see does not hold it back: a task spawned with
    /// a runtime's own spawner, a thread, or real I/O. Time may jump while
    /// such work is pending (as it does under tokio's paused clock). With
    /// no sleeper pending the future waits, without spinning, for a wake-up
    /// or a new sleeper. Because a task inside a poll holds the clock, an
    /// auto-advance must not be driven from inside a task spawned under the
    /// same clock: it would wait for its own poll to end.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future; the clock keeps its time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::VirtualClock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = VirtualClock::new();
    /// // The sleep is made inside, where the clock is the ambient timer.
    /// let advancing = clock.auto_advance(async { anyrt::sleep(Duration::from_secs(5)).await });
    /// advancing.await;
    /// assert_eq!(clock.elapsed(), Duration::from_secs(5));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct AutoAdvance<F> {
        clock: VirtualClock,
        #[pin]
        inner: WithAmbient<WithAmbient<F>>,
        flag: Arc<Flag>,
        inner_waker: Waker,
    }
}

/// Whether the inner future was woken, and the waker of the outer task.
struct Flag {
    woken: AtomicBool,
    outer: AtomicWaker,
}

impl ArcWake for Flag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.woken.store(true, Ordering::SeqCst);
        arc_self.outer.wake();
    }
}

impl<F: Future> AutoAdvance<F> {
    pub(crate) fn new(clock: VirtualClock, future: F) -> Self {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(false),
            outer: AtomicWaker::new(),
        });
        AutoAdvance {
            inner: with_hooks(clock.hooks(), with_timer(clock.clone(), future)),
            inner_waker: waker(flag.clone()),
            flag,
            clock,
        }
    }
}

impl<F: Future> Future for AutoAdvance<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.flag.outer.register(cx.waker());
        this.flag.woken.store(false, Ordering::SeqCst);
        let inner_cx = &mut Context::from_waker(this.inner_waker);
        if let Poll::Ready(output) = this.inner.poll(inner_cx) {
            return Poll::Ready(output);
        }
        // Woken meanwhile (it yielded, or a task signalled it): it is
        // runnable, so time stands; its waker has woken this task.
        if this.flag.woken.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
        #[cfg(test)]
        tests::before_jump();
        // Checked again under the clock's lock: a task under the clock may
        // have woken the future since, from inside a poll that ended since.
        let idle = || !this.flag.woken.load(Ordering::SeqCst);
        if let Jump::Jumped = this.clock.jump_if_settled(cx.waker(), idle) {
            // The sleepers due are woken. Poll again after giving the
            // executor a turn, in case one of them was the future's own, or
            // belongs to work the clock does not see.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for AutoAdvance<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutoAdvance")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use crate::{Timer, VirtualClock};

    thread_local! {
        /// Run after the auto-advanced future's poll, before the clock
        /// decides whether to jump: where a task on another thread may wake
        /// the future and end its poll.
        static BEFORE_JUMP: RefCell<Option<Box<dyn FnMut()>>> = RefCell::new(None);
    }

    pub(super) fn before_jump() {
        BEFORE_JUMP.with(|hook| {
            if let Some(hook) = hook.borrow_mut().as_mut() {
                hook();
            }
        });
    }

    /// Regression: whether the future was woken was read before the
    /// clock's lock was taken; a task that woke it and ended its poll in
    /// between let the clock jump past the woken future.
    #[test]
    fn regression_a_wake_just_before_the_jump_decision_holds_the_clock() {
        let clock = VirtualClock::new();
        let start = clock.now();
        let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
        let keep = kept.clone();
        let mut polls = 0;
        let observed = clock.clone();
        let future = std::future::poll_fn(move |cx| {
            polls += 1;
            if polls == 1 {
                *keep.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(observed.now())
            }
        });
        // Something else sleeps, so a premature jump has a target.
        let mut other = pin!(clock.sleep(Duration::from_secs(1)));
        let noop = &mut Context::from_waker(Waker::noop());
        assert!(other.as_mut().poll(noop).is_pending());
        BEFORE_JUMP.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move || {
                if let Some(waker) = kept.lock().unwrap().take() {
                    waker.wake();
                }
            }));
        });
        let seen = futures::executor::block_on(clock.auto_advance(future));
        BEFORE_JUMP.with(|hook| hook.borrow_mut().take());
        assert_eq!(seen, start, "the clock jumped while the future was woken");
    }
}
