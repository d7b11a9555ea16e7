//! The tokio adapter: tokio's own sleep, unboxed, and `Handle::spawn`.

#[cfg(feature = "tokio")]
mod imp {
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
        }
    }

    impl TokioSleep {
        /// Must be called inside a tokio runtime context.
        #[inline]
        pub(crate) fn new(deadline: Instant) -> Self {
            let deadline = tokio::time::Instant::from_std(deadline);
            TokioSleep {
                inner: tokio::time::sleep_until(deadline),
            }
        }

        pub(crate) fn deadline(&self) -> Instant {
            self.inner.deadline().into_std()
        }

        pub(crate) fn reset(self: Pin<&mut Self>, deadline: Instant) {
            let deadline = tokio::time::Instant::from_std(deadline);
            self.project().inner.reset(deadline);
        }
    }

    impl Future for TokioSleep {
        type Output = ();

        #[inline]
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.project().inner.poll(cx)
        }
    }

    /// The handle of the tokio runtime this thread is inside, if any.
    pub(crate) fn current() -> Option<tokio::runtime::Handle> {
        tokio::runtime::Handle::try_current().ok()
    }

    /// Whether this thread is inside a tokio runtime. (Asking for the task
    /// id first would spare tokio tasks the handle copy, but measured 40 ns
    /// slower on threads outside tokio, so it is not done.)
    #[inline]
    pub(crate) fn inside() -> bool {
        tokio::runtime::Handle::try_current().is_ok()
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
