//! The async-io timer, shared by the smol and async-std adapters (both run
//! their timers on async-io's reactor).

use std::time::Instant;

#[cfg(any(feature = "smol", feature = "async-std"))]
#[derive(Debug)]
pub(crate) struct AsyncIoSleep {
    timer: async_io::Timer,
    deadline: Instant,
    /// Whether the timer fired: async-io's timer forgets its deadline once
    /// it has fired, and stays pending at every later poll.
    done: bool,
}

#[cfg(any(feature = "smol", feature = "async-std"))]
impl AsyncIoSleep {
    #[inline]
    pub(crate) fn new(deadline: Instant) -> Self {
        let deadline = crate::timer::clamp(deadline);
        AsyncIoSleep {
            timer: async_io::Timer::at(deadline),
            deadline,
            done: false,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn reset(&mut self, deadline: Instant) {
        let deadline = crate::timer::clamp(deadline);
        self.deadline = deadline;
        self.done = false;
        self.timer.set_at(deadline);
    }

    #[inline]
    pub(crate) fn poll(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        use std::future::Future;
        if self.done {
            return std::task::Poll::Ready(());
        }
        let poll = std::pin::Pin::new(&mut self.timer).poll(cx).map(drop);
        self.done = poll.is_ready();
        poll
    }
}

/// Stands in for the async-io sleep when no feature needs it.
#[cfg(not(any(feature = "smol", feature = "async-std")))]
#[derive(Debug)]
pub(crate) enum AsyncIoSleep {}

#[cfg(not(any(feature = "smol", feature = "async-std")))]
impl AsyncIoSleep {
    pub(crate) fn deadline(&self) -> Instant {
        match *self {}
    }

    pub(crate) fn reset(&mut self, _deadline: Instant) {
        match *self {}
    }

    pub(crate) fn poll(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match *self {}
    }
}
