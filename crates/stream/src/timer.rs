//! `Timer`: one boxed sleep per operator, made on first need and reset for
//! every later deadline, so operators stay `Unpin` and allocate once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_core::Sleep;
use anyrt_core::futures::AnySleep;

/// `now + duration`, or `None` where that saturates where `Duration::MAX`
/// does (at `far_future`, about 30 years ahead, or 30 years after a
/// virtual clock moved past it): a deadline that never comes, for which no
/// sleep is registered, so a virtual clock never jumps to it.
pub(crate) fn due_after(now: Instant, duration: Duration) -> Option<Instant> {
    let due = anyrt_core::deadline_after(now, duration);
    (due < anyrt_core::deadline_after(now, Duration::MAX)).then_some(due)
}

/// Items an operator (or the task of `buffer`) takes from a ready upstream
/// in one poll before it yields to the executor, so that an upstream that is
/// always ready cannot hold the thread.
pub(crate) const POLL_BUDGET: usize = 32;

/// The most futures a concurrent map starts in one poll: with a huge `n`
/// and an upstream that is always ready, the poll yields (waking itself)
/// instead of starting futures for good.
pub(crate) const START_BUDGET: usize = 1024;

#[derive(Default)]
pub(crate) struct Timer {
    sleep: Option<Pin<Box<AnySleep>>>,
    /// Whether the sleep was polled pending since it was set: then it is
    /// registered with its timer.
    registered: bool,
}

impl Timer {
    /// Sets the deadline, keeping the sleep (and its registration) if
    /// there is one.
    pub(crate) fn set(&mut self, deadline: Instant) {
        match &mut self.sleep {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
            }
            None => self.sleep = Some(Box::pin(anyrt_core::sleep_until(deadline))),
        }
    }

    /// Takes a registered sleep off its timer (it is no longer needed), so
    /// it neither wakes the task for nothing nor holds a virtual clock's
    /// next jump; the box is kept for the next deadline.
    pub(crate) fn disarm(&mut self) {
        if let Some(sleep) = &mut self.sleep {
            if self.registered {
                self.registered = false;
                sleep.set(anyrt_core::sleep_until(anyrt_core::far_future()));
            }
        }
    }

    /// Whether the deadline has come, by the clock alone: nothing is
    /// registered with the timer.
    pub(crate) fn is_due(&self) -> bool {
        self.sleep
            .as_ref()
            .is_some_and(|sleep| sleep.deadline() <= anyrt_core::now())
    }

    /// Polls the sleep; a timer never set is pending forever.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.sleep {
            Some(sleep) => {
                let poll = sleep.as_mut().poll(cx);
                self.registered = poll.is_pending();
                poll
            }
            None => Poll::Pending,
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sleep {
            Some(sleep) => f.debug_tuple("Timer").field(&sleep.deadline()).finish(),
            None => f.write_str("Timer(unset)"),
        }
    }
}
