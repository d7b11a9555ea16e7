//! The tokio adapter: tokio's own sleep, unboxed, and `Handle::spawn`.

#[cfg(feature = "tokio")]
mod imp {
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Instant;

    use pin_project_lite::pin_project;

    pin_project! {
        /// tokio's sleep: resetting it keeps its timer entry.
        pub(crate) struct TokioSleep {
            #[pin]
            inner: tokio::time::Sleep,
            // Not yet polled since it was made or reset: see `poll`.
            fresh: bool,
            // Found due by that first poll, before tokio's timer fired:
            // ready at every later poll too, until reset.
            done: bool,
        }
    }

    impl TokioSleep {
        /// Must be called inside a tokio runtime context.
        #[inline]
        pub(crate) fn new(deadline: Instant) -> Self {
            let deadline = tokio::time::Instant::from_std(crate::timer::clamp(deadline));
            TokioSleep {
                inner: tokio::time::sleep_until(deadline),
                fresh: true,
                done: false,
            }
        }

        pub(crate) fn deadline(&self) -> Instant {
            self.inner.deadline().into_std()
        }

        pub(crate) fn reset(self: Pin<&mut Self>, deadline: Instant) {
            let deadline = tokio::time::Instant::from_std(crate::timer::clamp(deadline));
            let this = self.project();
            this.inner.reset(deadline);
            *this.fresh = true;
            *this.done = false;
        }
    }

    impl Future for TokioSleep {
        type Output = ();

        #[inline]
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut this = self.project();
            let fresh = std::mem::replace(this.fresh, false);
            if *this.done || this.inner.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            // tokio rounds a deadline up to its next millisecond tick and
            // fires one that has passed only when its driver next turns: a
            // sleep made (or reset) with a deadline that has come is ready
            // at its first poll, as on every other timer. One clock read,
            // on that poll only when it is pending; later polls wait for
            // tokio's tick, which comes within a millisecond. The clock
            // read is the polling thread's: off every runtime it is the
            // system's, not the sleep's (paused) runtime's, so there the
            // sleep waits for its timer instead.
            if fresh && tokio::time::Instant::now() >= this.inner.deadline() && inside() {
                *this.done = true;
                return Poll::Ready(());
            }
            Poll::Pending
        }
    }

    /// The handle of the tokio runtime this thread is inside, if any.
    pub(crate) fn current() -> Option<tokio::runtime::Handle> {
        tokio::runtime::Handle::try_current().ok()
    }

    /// Whether this thread is inside a tokio runtime.
    ///
    /// A thread that drives a runtime (a worker, or the thread in a
    /// current-thread `block_on`) always has that runtime's handle current:
    /// tokio sets the handle whenever it enters a runtime, and nothing can
    /// clear it inside. `worker_index` tells such a thread from a cell,
    /// sparing it the handle copy (an atomic increment and decrement) that
    /// `Handle::try_current` makes; any other thread, for instance one that
    /// only entered a handle, is asked for the handle. (Asking for the task
    /// id instead was not done: a `LocalSet` task can run outside a
    /// runtime.)
    #[inline]
    pub(crate) fn inside() -> bool {
        tokio::runtime::worker_index().is_some() || tokio::runtime::Handle::try_current().is_ok()
    }

    thread_local! {
        /// Whether this thread was seen driving a tokio runtime.
        static DROVE: Cell<bool> = const { Cell::new(false) };
    }

    /// [`inside`], for a check made on every call of an operation that is
    /// mostly called outside tokio (`reads_system_clock`): a thread never
    /// seen driving a runtime asks for the handle first, so that the usual
    /// answer there (no) takes one question instead of two; a thread seen
    /// driving one (a worker) asks `worker_index` first, as `inside` does,
    /// and copies no handle.
    #[inline]
    pub(crate) fn inside_mostly_outside() -> bool {
        if DROVE.get() {
            return inside();
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return false;
        }
        DROVE.set(tokio::runtime::worker_index().is_some());
        true
    }
}

#[cfg(not(feature = "tokio"))]
mod imp {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Instant;

    /// Stands in for tokio's sleep when the feature is off; it has no value.
    pub(crate) enum TokioSleep {}

    impl TokioSleep {
        pub(crate) fn deadline(&self) -> Instant {
            match *self {}
        }

        pub(crate) fn reset(self: Pin<&mut Self>, _deadline: Instant) {
            match *self {}
        }
    }

    impl Future for TokioSleep {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            match *self {}
        }
    }
}

pub(crate) use imp::*;
