//! `Interval`: ticks at a fixed period on the ambient timer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use crate::futures::AnySleep;
use crate::timer::{Sleep, TimerOverride, deadline_after};

/// The shortest period: a zero period would tick without ever waiting.
const MIN_PERIOD: Duration = Duration::from_millis(1);

/// What an [`Interval`] does when a tick is a whole period (or more) late,
/// because the code that awaits the ticks was busy.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::{MissedTickBehavior, VirtualClock};
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// let ticks = clock
///     .auto_advance(async {
///         let mut every = anyrt::interval(Duration::from_secs(1));
///         every.set_missed_tick_behavior(MissedTickBehavior::Skip);
///         every.tick().await;
///         anyrt::sleep(Duration::from_millis(3500)).await; // busy
///         [every.tick().await - start, every.tick().await - start]
///     })
///     .await;
/// // The tick at 1 s is late and taken at once; 2 s and 3 s are skipped.
/// assert_eq!(ticks, [Duration::from_secs(1), Duration::from_secs(4)]);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissedTickBehavior {
    /// Tick at once for every missed tick, then go on at the original
    /// schedule (`start + n * period`).
    #[default]
    Burst,
    /// Tick now, then one period after each late tick: the schedule moves.
    Delay,
    /// Tick now, then at the next tick of the original schedule: the missed
    /// ones are skipped.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after the one scheduled at `scheduled` and seen at `now`;
    /// `None` if it would come after the largest `Instant`.
    fn next(self, scheduled: Instant, now: Instant, period: Duration) -> Option<Instant> {
        let on_time = later(scheduled, period)?;
        if now < on_time {
            return Some(on_time);
        }
        match self {
            MissedTickBehavior::Burst => Some(on_time),
            MissedTickBehavior::Delay => later(now, period),
            MissedTickBehavior::Skip => {
                let late = now.duration_since(scheduled).as_nanos();
                let periods = late / period.as_nanos() + 1;
                let ahead = period.as_nanos().saturating_mul(periods);
                later(scheduled, nanos(ahead)?)
            }
        }
    }
}

/// `start + duration` (with `duration` not zero), saturated at the far
/// future as every deadline is; `None` past the largest `Instant`, where
/// a deadline would saturate at an instant off the schedule.
fn later(start: Instant, duration: Duration) -> Option<Instant> {
    start.checked_add(duration)?;
    Some(deadline_after(start, duration))
}

/// A count of nanoseconds as a `Duration`, if it fits.
fn nanos(nanos: u128) -> Option<Duration> {
    const PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / PER_SEC).ok()?;
    let subsec = u32::try_from(nanos % PER_SEC).ok()?;
    Some(Duration::new(secs, subsec))
}

/// Ticks at a fixed period on the ambient timer; made by [`interval`] or
/// [`interval_at`].
///
/// [`tick`](Interval::tick) completes at each scheduled instant and returns
/// it. The first tick is at the start. A tick a whole period late or more
/// (the awaiting code was busy) is handled by its
/// [`MissedTickBehavior`]; one less late keeps the schedule. The ticks are
/// also a `Stream` of instants that never ends.
///
/// A tick whose successor would come after the largest `Instant` (a
/// period that overflows it) is the last: the interval stays pending
/// after it, until [`reset`](Interval::reset) finds a later instant.
///
/// The timer is the one found where the interval is made (as for
/// [`sleep`](crate::sleep)), and so is the time it reads at each tick,
/// wherever it is polled, so under a
/// [`VirtualClock`](crate::VirtualClock) the ticks are exact.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::VirtualClock;
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// let ticks = clock
///     .auto_advance(async {
///         let mut every = anyrt::interval(Duration::from_secs(10));
///         let mut ticks = Vec::new();
///         for _ in 0..3 {
///             ticks.push(every.tick().await - start);
///         }
///         ticks
///     })
///     .await;
/// assert_eq!(ticks, [Duration::ZERO, Duration::from_secs(10), Duration::from_secs(20)]);
/// # });
/// ```
pub struct Interval {
    sleep: Pin<Box<AnySleep>>,
    period: Duration,
    behavior: MissedTickBehavior,
    /// The next tick would come after the largest `Instant`: none comes.
    ended: bool,
    /// The timer override where the interval was made (its sleep's timer),
    /// read for the time at each tick, wherever the interval is polled.
    timer: Option<TimerOverride>,
    /// Else the runtime override where it was made, whose timer (and so
    /// whose clock) the sleep uses: the system's for every runtime but
    /// tokio, also inside a tokio runtime whose clock is paused.
    runtime: Option<crate::Runtime>,
}

/// An interval whose first tick is now, then every `period`.
///
/// A period under one millisecond (zero included) is raised to one
/// millisecond, so the ticks always wait: tokio panics on a zero period.
///
/// Allocates once, for the sleep it keeps and moves from tick to tick.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// let mut every = anyrt::interval(Duration::from_millis(1));
/// let first = every.tick().await;
/// let second = every.tick().await;
/// assert!(second - first >= Duration::from_millis(1));
/// # });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(crate::now(), period)
}

/// An interval whose first tick is at `start`, then every `period`; see
/// [`interval`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::VirtualClock;
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now() + Duration::from_secs(5);
/// let first = clock
///     .auto_advance(async { anyrt::interval_at(start, Duration::from_secs(1)).tick().await })
///     .await;
/// assert_eq!(first, start);
/// # });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval {
        sleep: Box::pin(crate::sleep_until(start)),
        timer: crate::ambient::with_ref::<TimerOverride, _>(|timer| timer.cloned()),
        runtime: crate::ambient::with_ref::<crate::runtime::RuntimeOverride, _>(|r| {
            r.map(|r| r.0.clone())
        }),
        period: period.max(MIN_PERIOD),
        behavior: MissedTickBehavior::default(),
        ended: false,
    }
}

impl Interval {
    /// Completes at the next scheduled tick and returns its instant.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses no tick; the next call
    /// completes at the same scheduled instant.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut every = anyrt::interval(Duration::from_secs(3600));
    /// let now = anyrt::now();
    /// assert!(every.tick().await <= now); // the first tick is at the start
    /// # });
    /// ```
    pub fn tick(&mut self) -> crate::futures::Tick<'_> {
        Tick { interval: self }
    }

    /// Polls for the next tick; what [`tick`](Interval::tick) and the
    /// `Stream` impl do.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// use std::time::Duration;
    ///
    /// let mut every = anyrt::interval(Duration::from_secs(3600));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(every.poll_tick(&mut cx).is_ready()); // the first, at once
    /// assert!(every.poll_tick(&mut cx).is_pending());
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.ended {
            return Poll::Pending;
        }
        ready!(self.sleep.as_mut().poll(cx));
        let scheduled = self.sleep.deadline();
        let next = self.behavior.next(scheduled, self.now(), self.period);
        self.reschedule(next);
        Poll::Ready(scheduled)
    }

    /// Moves the next tick to one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::VirtualClock;
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = VirtualClock::new();
    /// let start = clock.now();
    /// let at = clock
    ///     .auto_advance(async {
    ///         let mut every = anyrt::interval(Duration::from_secs(10));
    ///         every.tick().await;
    ///         anyrt::sleep(Duration::from_secs(4)).await;
    ///         every.reset();
    ///         every.tick().await
    ///     })
    ///     .await;
    /// assert_eq!(at - start, Duration::from_secs(14));
    /// # });
    /// ```
    pub fn reset(&mut self) {
        let next = later(self.now(), self.period);
        self.reschedule(next);
    }

    /// The time on the interval's own timer.
    fn now(&self) -> Instant {
        match &self.timer {
            Some(timer) => timer.0.now(),
            None => match &self.runtime {
                Some(runtime) => crate::Timer::now(runtime),
                None => crate::runtime::real_now(),
            },
        }
    }

    /// Moves the next tick to `next`, or ends the ticks.
    fn reschedule(&mut self, next: Option<Instant>) {
        self.ended = next.is_none();
        if let Some(next) = next {
            self.sleep.as_mut().reset(next);
        }
    }

    /// The period between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let every = anyrt::interval(Duration::ZERO);
    /// assert_eq!(every.period(), Duration::from_millis(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What a late tick does; [`MissedTickBehavior::Burst`] by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::MissedTickBehavior;
    ///
    /// let every = anyrt::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// Sets what a late tick does.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::MissedTickBehavior;
    ///
    /// let mut every = anyrt::interval(std::time::Duration::from_secs(1));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }
}

impl futures::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl futures::stream::FusedStream for Interval {
    fn is_terminated(&self) -> bool {
        false
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.sleep.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.behavior)
            .finish()
    }
}

/// The next tick of an [`Interval`]; made by [`Interval::tick`].
///
/// # Cancel safety
///
/// Cancel safe: see [`Interval::tick`].
///
/// # Examples
///
/// ```
/// let mut every = anyrt::interval(std::time::Duration::from_secs(1));
/// let tick: anyrt::futures::Tick<'_> = every.tick();
/// # drop(tick);
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Tick<'a> {
    interval: &'a mut Interval,
}

impl Future for Tick<'_> {
    type Output = Instant;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.get_mut().interval.poll_tick(cx)
    }
}
