//! `AutoAdvance`: drive a future under a `VirtualClock` that jumps ahead
//! whenever nothing else is going on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::task::{ArcWake, AtomicWaker, waker};
use pin_project_lite::pin_project;

use crate::VirtualClock;
use crate::ambient::{WithAmbient, with_timer};

/// How many polls in a row must find nothing happening, and for how long
/// in real time, before the clock jumps. The real-time part gives tasks on
/// other threads (a multi-threaded runtime, the fallback pool) the chance to
/// react to the last jump before the next one.
const IDLE_POLLS: u32 = 3;
const QUIET: Duration = Duration::from_micros(100);
/// How long a sleeper fired by a jump may stay unpolled (its task not yet
/// run) before the clock moves on regardless.
const STALL: Duration = Duration::from_millis(20);

pin_project! {
    /// Runs a future with a [`VirtualClock`] as its ambient timer and moves
    /// the clock to the next sleeper's deadline whenever the future is idle;
    /// made by [`VirtualClock::auto_advance`].
    ///
    /// The future is idle when a few polls in a row (and at least 100 µs of
    /// real time) saw no wake-up of the future, no sleeper registered or
    /// removed anywhere on the clock, every sleeper fired by the last jump
    /// polled again by its task, every task spawned through anyrt-core
    /// under the clock polled at least once (on any thread), and none of
    /// those tasks inside a poll right now (a task between one sleep and
    /// the next is never overtaken by a jump; so an auto-advance of a clock
    /// must not be driven from inside a task spawned under that same clock,
    /// as it would wait for its own poll to end). With no sleeper
    /// pending it waits, without spinning, for a wake-up or a new sleeper.
    /// Work that neither wakes the future nor touches the clock for longer
    /// than that (a long computation on another thread) may see time jump
    /// meanwhile, and so may a task that keeps a fired sleep unpolled for
    /// more than 20 ms.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future; the clock keeps its time.
    #[must_use = "futures do nothing unless awaited"]
    pub struct AutoAdvance<F> {
        clock: VirtualClock,
        #[pin]
        inner: WithAmbient<F>,
        flag: Arc<Flag>,
        inner_waker: Waker,
        idle_polls: u32,
        last_activity: Instant,
        seen_generation: u64,
    }
}

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
            inner: with_timer(clock.clone(), future),
            inner_waker: waker(flag.clone()),
            flag,
            seen_generation: clock.activity().generation,
            clock,
            idle_polls: 0,
            last_activity: Instant::now(),
        }
    }
}

impl<F: Future> Future for AutoAdvance<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.flag.outer.register(cx.waker());
        this.flag.woken.store(false, Ordering::SeqCst);
        if let Poll::Ready(output) = this.inner.poll(&mut Context::from_waker(this.inner_waker)) {
            return Poll::Ready(output);
        }
        let activity = this.clock.activity();
        let active =
            this.flag.woken.load(Ordering::SeqCst) || activity.generation != *this.seen_generation;
        *this.seen_generation = activity.generation;
        // A task spawned under the clock is inside a poll (it may be about
        // to sleep again), or tasks woken by the last jump or spawned have
        // not run yet: wait for them (for the latter, unless one keeps a
        // fired sleep unpolled for long).
        let waiting_for_woken = activity.polling > 0
            || (activity.not_yet_run > 0 && this.last_activity.elapsed() < STALL);
        if active {
            *this.idle_polls = 0;
            *this.last_activity = Instant::now();
        } else if waiting_for_woken {
            *this.idle_polls = 0;
        } else if this.clock.park_unless_sleepers(cx.waker()) {
            // Nothing to jump to: wait for a wake-up or a new sleeper.
            *this.idle_polls = 0;
            return Poll::Pending;
        } else {
            *this.idle_polls += 1;
            if *this.idle_polls >= IDLE_POLLS && this.last_activity.elapsed() >= QUIET {
                this.clock.advance_to_next();
                *this.idle_polls = 0;
                *this.last_activity = Instant::now();
            }
        }
        cx.waker().wake_by_ref();
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
