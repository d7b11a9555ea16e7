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
    /// It completes at its deadline, never before (a deadline past
    /// [`far_future`](crate::far_future) counts as that instant on the
    /// runtimes' timers), and at its first poll when the deadline has come
    /// already. Its timer is the one
    /// found when it was made, wherever it is polled; async-io's timer and
    /// the fallback's register at the first poll, as tokio's does.
    ///
    /// # Cancel safety
    ///
    /// Dropping it deregisters it from its timer.
    ///
    /// [`Runtime`]: crate::Runtime
    /// [`VirtualClock`]: crate::VirtualClock
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::futures::AnySleep;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sleep: AnySleep = anyrt::sleep(Duration::from_millis(1));
    /// sleep.await;
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct AnySleep {
        #[pin]
        inner: Inner,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner {
        // Not polled yet: the timer is chosen, and its sleep is made in
        // place at the first poll. (Made with the `AnySleep`, a timer's
        // sleep is written into a temporary shared with the other ways to
        // make one, then moved; that move of a value just written field by
        // field stalls on store forwarding, and costs more than the rest of
        // a sleep that is already due.) tokio's sleep is made at once: it
        // needs the runtime context of the caller, and it is made by a
        // call, so made later it would be moved just the same.
        Pending { deadline: Instant, plan: Plan },
        Tokio { #[pin] sleep: TokioSleep },
        AsyncIo { sleep: AsyncIoSleep },
        Fallback { sleep: FallbackSleep },
        Boxed { sleep: BoxSleep },
    }
}

/// The timer a sleep that has not been polled yet will use.
pub(crate) enum Plan {
    /// tokio's, of the runtime of this handle.
    #[cfg(feature = "tokio")]
    Handle(tokio::runtime::Handle),
    /// async-io's.
    #[cfg(any(feature = "smol", feature = "async-std"))]
    AsyncIo,
    /// The fallback timer.
    Fallback,
}

impl Plan {
    /// The timer found outside every tokio runtime.
    #[inline]
    pub(crate) fn without_tokio() -> Plan {
        #[cfg(any(feature = "smol", feature = "async-std"))]
        return Plan::AsyncIo;
        #[allow(unreachable_code)]
        Plan::Fallback
    }

    fn name(&self) -> &'static str {
        match self {
            #[cfg(feature = "tokio")]
            Plan::Handle(_) => "tokio",
            #[cfg(any(feature = "smol", feature = "async-std"))]
            Plan::AsyncIo => "async-io",
            Plan::Fallback => "fallback",
        }
    }
}

impl AnySleep {
    /// tokio's sleep until `deadline`: must be called inside a tokio
    /// runtime context.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn tokio(deadline: Instant) -> Self {
        Self::from(Inner::Tokio {
            sleep: TokioSleep::new(deadline),
        })
    }

    /// A sleep until `deadline` on the timer of `plan`, made at its first
    /// poll.
    #[inline]
    pub(crate) fn planned(deadline: Instant, plan: Plan) -> Self {
        Self::from(Inner::Pending { deadline, plan })
    }

    pub(crate) fn boxed(sleep: BoxSleep) -> Self {
        Self::from(Inner::Boxed { sleep })
    }

    #[inline]
    fn from(inner: Inner) -> Self {
        AnySleep { inner }
    }
}

/// Makes the sleep of `plan` in place of a pending one. Each arm stores its
/// own variant, so none is built in a temporary shared with the others.
/// Out of line: inlined into `poll`, it made every poll of a tokio sleep
/// slower (`cargo run --release -p anyrt-bench -- sleep`).
#[inline(never)]
fn start(mut inner: Pin<&mut Inner>, deadline: Instant, plan: Plan) {
    match plan {
        #[cfg(feature = "tokio")]
        Plan::Handle(handle) => {
            let _enter = handle.enter();
            inner.set(Inner::Tokio {
                sleep: TokioSleep::new(deadline),
            });
        }
        #[cfg(any(feature = "smol", feature = "async-std"))]
        Plan::AsyncIo => inner.set(Inner::AsyncIo {
            sleep: AsyncIoSleep::new(deadline),
        }),
        Plan::Fallback => inner.set(Inner::Fallback {
            sleep: FallbackSleep::new(deadline),
        }),
    }
}

impl Future for AnySleep {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.project().inner;
        loop {
            match inner.as_mut().project() {
                InnerProj::Tokio { sleep } => return sleep.poll(cx),
                InnerProj::AsyncIo { sleep } => return sleep.poll(cx),
                InnerProj::Fallback { sleep } => return sleep.poll_sleep(cx),
                InnerProj::Boxed { sleep } => return sleep.as_mut().poll(cx),
                // Made here, the timer's sleep is polled on the next turn.
                InnerProj::Pending { deadline, plan } => {
                    let (deadline, plan) = (*deadline, std::mem::replace(plan, Plan::Fallback));
                    start(inner.as_mut(), deadline, plan);
                }
            }
        }
    }
}

impl Sleep for AnySleep {
    fn deadline(&self) -> Instant {
        match &self.inner {
            // As the timer it goes to will take it: the same before and
            // after the first poll, on every timer.
            Inner::Pending { deadline, .. } => crate::timer::clamp(*deadline),
            Inner::Tokio { sleep } => sleep.deadline(),
            Inner::AsyncIo { sleep } => sleep.deadline(),
            Inner::Fallback { sleep } => sleep.deadline(),
            Inner::Boxed { sleep } => sleep.deadline(),
        }
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        match self.project().inner.project() {
            InnerProj::Pending { deadline: at, .. } => *at = deadline,
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
            Inner::Pending { plan, .. } => plan.name(),
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
