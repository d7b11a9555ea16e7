//! The `Timer` and `Sleep` traits and the saturating time arithmetic every
//! timer shares.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::ambient::{self, WithAmbient};

/// A source of time: it reads a clock and makes sleeps.
///
/// Every runtime adapter, the fallback timer and [`VirtualClock`] implement
/// it. Pattern crates do not name a timer at all: they call the ambient
/// functions ([`sleep`], [`now`]) that find one at call time.
///
/// The sleep is an associated type, so a runtime whose own sleep needs no
/// allocation is used without a box.
///
/// [`VirtualClock`]: crate::VirtualClock
/// [`sleep`]: crate::sleep
/// [`now`]: crate::now
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::{Timer, VirtualClock};
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// let sleep = clock.sleep(Duration::from_secs(3));
/// clock.advance(Duration::from_secs(3));
/// sleep.await;
/// assert_eq!(clock.now() - start, Duration::from_secs(3));
/// # });
/// ```
pub trait Timer: Send + Sync {
    /// The future returned by [`sleep_until`](Timer::sleep_until).
    type Sleep: Sleep;

    /// The current time on this timer's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{AmbientRuntime, Timer};
    ///
    /// let earlier = AmbientRuntime.now();
    /// assert!(AmbientRuntime.now() >= earlier);
    /// ```
    fn now(&self) -> Instant;

    /// A future that completes at `deadline`, never before.
    ///
    /// A deadline in the past completes at the first poll. The runtimes'
    /// timers take a deadline past [`far_future`] (about 30 years ahead) as
    /// that instant, so such a sleep ends there.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::{Timer, VirtualClock};
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = VirtualClock::new();
    /// let wake_at = clock.now() + Duration::from_secs(2);
    /// let sleep = clock.sleep_until(wake_at);
    /// clock.advance(Duration::from_secs(2));
    /// sleep.await;
    /// assert_eq!(clock.now(), wake_at);
    /// # });
    /// ```
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// A future that completes `duration` after now.
    ///
    /// A huge duration saturates at [`far_future`] instead of panicking.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::{Sleep, Timer, VirtualClock};
    ///
    /// let clock = VirtualClock::new();
    /// let forever = clock.sleep(Duration::MAX);
    /// assert!(forever.deadline() >= anyrt::far_future());
    /// ```
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.sleep_until(deadline_after(self.now(), duration))
    }
}

/// A pending sleep made by a [`Timer`].
///
/// # Cancel safety
///
/// Dropping a sleep before it completes deregisters it from its timer; no
/// wake-up is left behind.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::Sleep;
///
/// /// Any timer's sleep will do.
/// async fn nap(sleep: impl Sleep) {
///     sleep.await
/// }
///
/// # futures_lite::future::block_on(async {
/// nap(anyrt::sleep(Duration::from_millis(1))).await;
/// # });
/// ```
pub trait Sleep: Future<Output = ()> + Send {
    /// The instant at which this sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use anyrt::Sleep;
    ///
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(anyrt::sleep_until(at).deadline(), at);
    /// ```
    fn deadline(&self) -> Instant;

    /// Moves the deadline, earlier or later, keeping the registration where
    /// the timer allows it. A sleep that already completed becomes pending
    /// again if the new deadline is in the future.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use anyrt::Sleep;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut sleep = std::pin::pin!(anyrt::sleep(Duration::from_secs(3600)));
    /// let soon = Instant::now() + Duration::from_millis(1);
    /// sleep.as_mut().reset(soon); // an hour becomes a millisecond
    /// sleep.await;
    /// assert!(Instant::now() >= soon);
    /// # });
    /// ```
    fn reset(self: Pin<&mut Self>, deadline: Instant);
}

/// A point so far ahead (about 30 years) that no program waits for it; every
/// huge duration saturates here.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let far = anyrt::far_future();
/// assert!(far > Instant::now() + Duration::from_secs(365 * 24 * 3600));
/// ```
#[inline]
pub fn far_future() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(|| Instant::now() + FAR_FUTURE)
}

const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `start + duration`, saturating at [`far_future`] (or at the largest
/// representable instant past it).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let now = Instant::now();
/// assert_eq!(anyrt::deadline_after(now, Duration::from_secs(1)), now + Duration::from_secs(1));
/// assert!(anyrt::deadline_after(now, Duration::MAX) >= anyrt::far_future());
/// ```
#[inline]
pub fn deadline_after(start: Instant, duration: Duration) -> Instant {
    let far = far_future();
    let cap = if start < far {
        Some(far)
    } else {
        start.checked_add(FAR_FUTURE)
    };
    match (start.checked_add(duration), cap) {
        (Some(deadline), Some(cap)) => deadline.min(cap),
        (Some(deadline), None) => deadline,
        (None, Some(cap)) => cap,
        (None, None) => last_instant(start),
    }
}

/// The largest instant at or after `start`: where a deadline past what an
/// `Instant` can hold saturates (not at `start`, which is already due).
#[cold]
fn last_instant(start: Instant) -> Instant {
    let mut last = start;
    let mut step = Duration::MAX;
    while !step.is_zero() {
        match last.checked_add(step) {
            Some(later) => last = later,
            None => step /= 2,
        }
    }
    last
}

/// `deadline`, or [`far_future`] if it is later: what a runtime's timer is
/// given, since some (tokio's) panic on instants near the largest one.
#[inline]
pub(crate) fn clamp(deadline: Instant) -> Instant {
    deadline.min(far_future())
}

/// A boxed sleep, for timers chosen at run time.
pub(crate) type BoxSleep = Pin<Box<dyn Sleep>>;

/// The timer override, an ambient value.
#[derive(Clone)]
pub(crate) struct TimerOverride(pub(crate) Arc<dyn DynTimer>);

/// Runs `f` with the ambient timer override, if one is in force.
#[inline]
pub(crate) fn with_override<R>(f: impl FnOnce(Option<&dyn DynTimer>) -> R) -> R {
    ambient::with_ref::<TimerOverride, R>(|timer| f(timer.map(|timer| &*timer.0)))
}

/// Runs `future` with `timer` as its ambient timer: [`now`](crate::now),
/// [`sleep`](crate::sleep) and everything built on them, in the future, in
/// what it calls and in tasks it spawns through [`spawn`](crate::spawn), use
/// `timer`. This is how tests put a [`VirtualClock`](crate::VirtualClock)
/// under code that was written for real time.
///
/// A sleep takes its timer when it is created: create it inside `future`
/// (in an `async` block), not before.
///
/// # Cancel safety
///
/// See [`WithAmbient`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::{with_timer, VirtualClock};
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// let nested = async { anyrt::now() };
/// clock.advance(Duration::from_secs(5));
/// let seen = with_timer(clock.clone(), nested).await;
/// assert_eq!(seen - start, Duration::from_secs(5));
/// # });
/// ```
pub fn with_timer<T, F>(timer: T, future: F) -> WithAmbient<F>
where
    T: Timer + 'static,
    T::Sleep: 'static,
{
    ambient::with_value(TimerOverride(Arc::new(timer)), future)
}

/// The object-safe face of a [`Timer`], for the ambient override.
pub(crate) trait DynTimer: Send + Sync + 'static {
    fn now(&self) -> Instant;
    fn sleep_until(&self, deadline: Instant) -> BoxSleep;
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<T> DynTimer for T
where
    T: Timer + 'static,
    T::Sleep: 'static,
{
    fn now(&self) -> Instant {
        Timer::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxSleep {
        Box::pin(Timer::sleep_until(self, deadline))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Sleep for BoxSleep {
    fn deadline(&self) -> Instant {
        self.as_ref().get_ref().deadline()
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().as_mut().reset(deadline);
    }
}
