//! `AnySleep`: the sleep of whichever timer is in use, without a box for the
//! runtimes' own timers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;

use crate::fallback::timer::FallbackSleep;
use crate::rt::async_io::AsyncIoSleep;
use crate::rt::tokio::TokioSleep;
use crate::timer::{BoxSleep, Sleep};

pin_project! {
    /// A sleep on the ambient timer or on an explicit [`Runtime`]: tokio's
    /// sleep, async-io's timer, the fallback timer, or a boxed sleep of a
    /// timer override such as [`VirtualClock`].
    ///
    /// It completes at its deadline, never before.
    ///
    /// # Cancel safety
    ///
    /// Dropping it deregisters it from its timer.
    ///
    /// [`Runtime`]: crate::Runtime
    /// [`VirtualClock`]: crate::VirtualClock
    #[must_use = "futures do nothing unless awaited"]
    pub struct AnySleep {
        #[pin]
        inner: Inner,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner {
        Tokio { #[pin] sleep: TokioSleep },
        AsyncIo { sleep: AsyncIoSleep },
        Fallback { sleep: FallbackSleep },
        Boxed { sleep: BoxSleep },
    }
}

impl AnySleep {
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn tokio(deadline: Instant) -> Self {
        Self::from(Inner::Tokio {
            sleep: TokioSleep::new(deadline),
        })
    }

    #[cfg(any(feature = "smol", feature = "async-std"))]
    #[inline]
    pub(crate) fn async_io(deadline: Instant) -> Self {
        Self::from(Inner::AsyncIo {
            sleep: AsyncIoSleep::new(deadline),
        })
    }

    #[inline]
    pub(crate) fn fallback(deadline: Instant) -> Self {
        Self::from(Inner::Fallback {
            sleep: FallbackSleep::new(deadline),
        })
    }

    pub(crate) fn boxed(sleep: BoxSleep) -> Self {
        Self::from(Inner::Boxed { sleep })
    }

    #[inline]
    fn from(inner: Inner) -> Self {
        AnySleep { inner }
    }
}

impl Future for AnySleep {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project().inner.project() {
            InnerProj::Tokio { sleep } => sleep.poll(cx),
            InnerProj::AsyncIo { sleep } => sleep.poll(cx),
            InnerProj::Fallback { sleep } => sleep.poll_sleep(cx),
            InnerProj::Boxed { sleep } => sleep.as_mut().poll(cx),
        }
    }
}

impl Sleep for AnySleep {
    fn deadline(&self) -> Instant {
        match &self.inner {
            Inner::Tokio { sleep } => sleep.deadline(),
            Inner::AsyncIo { sleep } => sleep.deadline(),
            Inner::Fallback { sleep } => sleep.deadline(),
            Inner::Boxed { sleep } => sleep.deadline(),
        }
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        match self.project().inner.project() {
            InnerProj::Tokio { sleep } => sleep.reset(deadline),
            InnerProj::AsyncIo { sleep } => sleep.reset(deadline),
            InnerProj::Fallback { sleep } => sleep.reset(deadline),
            InnerProj::Boxed { sleep } => sleep.as_mut().reset(deadline),
        }
    }
}

impl fmt::Debug for AnySleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timer = match &self.inner {
            Inner::Tokio { .. } => "tokio",
            Inner::AsyncIo { .. } => "async-io",
            Inner::Fallback { .. } => "fallback",
            Inner::Boxed { .. } => "override",
        };
        f.debug_struct("AnySleep")
            .field("timer", &timer)
            .field("deadline", &self.deadline())
            .finish()
    }
}
