//! The async-io timer, shared by the smol and async-std adapters (both run
//! their timers on async-io's reactor).

use std::time::Instant;

#[cfg(any(feature = "smol", feature = "async-std"))]
#[derive(Debug)]
pub(crate) struct AsyncIoSleep {
    timer: async_io::Timer,
    deadline: Instant,
}

#[cfg(any(feature = "smol", feature = "async-std"))]
impl AsyncIoSleep {
    #[inline]
    pub(crate) fn new(deadline: Instant) -> Self {
        AsyncIoSleep {
            timer: async_io::Timer::at(deadline),
            deadline,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.timer.set_at(deadline);
    }

    #[inline]
    pub(crate) fn poll(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        use std::future::Future;
        std::pin::Pin::new(&mut self.timer).poll(cx).map(drop)
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
