//! `RateLimiter`: GCRA on one atomic, with a queue of waiters served in
//! order.

mod acquire;
mod error;
mod keyed;
#[cfg(all(test, anyrt_loom))]
mod loom_model;
mod shared;
mod waiter;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use acquire::{Acquire, AcquireN, AcquireNOwned, AcquireOwned};
pub use error::{BuildError, ExceedsBurst, RateLimited};
pub use keyed::KeyedRateLimiter;
pub(crate) use shared::Shared;
pub(crate) use waiter::Waiter;

/// A rate limiter: `rate` permits per `period`, up to `burst` at once, by
/// the generic cell rate algorithm (GCRA).
///
/// Every clone shares one state, so one limiter caps a whole program (hand
/// clones to every task, or `&limiter` to the stream operators). The state
/// is one atomic integer: [`try_acquire`](RateLimiter::try_acquire) reads
/// the clock once and does one compare-and-swap, with no lock and no
/// allocation.
///
/// Waiters ([`acquire`](RateLimiter::acquire),
/// [`acquire_n`](RateLimiter::acquire_n)) queue in arrival order. Only the
/// waiter at the head sleeps on the timer, until its permits are due; when
/// it is served it wakes the next one, so each waiter is woken once, when
/// its turn comes: no leader task, no thundering herd. While waiters are
/// queued, newcomers and `try_acquire` do not pass them.
///
/// The long-run rate is exact: permits are counted on a clock of whole
/// fractions of a nanosecond in which the interval between two permits is a
/// whole number. Only when that fraction would be finer than 1/16 ns (a
/// rate with a large factor that does not divide the period, such as 333
/// per second) is the interval rounded up to whole sixteenths of a
/// nanosecond, so the limiter is then slower than asked by less than
/// 1/16 ns per permit (and it grants at most 16 permits per nanosecond).
///
/// Time is the ambient clock's, `anyrt_core::now` (a test's virtual
/// clock, or tokio's clock inside tokio, paused or not), measured from the
/// limiter's creation. Where that clock is the system's monotonic clock
/// (no timer override, outside tokio: see
/// [`reads_system_clock`](anyrt_core::reads_system_clock)),
/// `try_acquire` and a new waiter's first try read it through the CPU's
/// counter (the TSC, through [`anyrt_core::FastClock`]), re-anchored to
/// `std::time::Instant::now` every millisecond on each thread: a reading
/// is off by about the time `Instant::now` takes plus the counter's
/// calibration error over that millisecond (tens of nanoseconds), and the
/// error never accumulates, so the long-run rate stays exact on the system
/// clock. A queued waiter, woken at
/// a deadline on the system clock, reads `Instant::now` itself. The first
/// limiter built on the system clock in a process calibrates the counter,
/// which takes about a millisecond (at most 200 ms).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::RateLimiter;
///
/// # futures_lite::future::block_on(async {
/// // 100 per second, at most 10 at once.
/// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(10).build()?;
/// for _ in 0..10 {
///     limiter.try_acquire()?; // the burst is there at once
/// }
/// assert!(limiter.try_acquire().is_err());
/// limiter.acquire().await; // about 10 ms later
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    shared: Arc<Shared>,
}

impl RateLimiter {
    /// A limiter of `rate` permits per `period` whose burst is `rate`: a
    /// rested limiter grants a whole period's worth at once.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for a zero rate, a zero period, or a period too long
    /// for the clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// let limiter = RateLimiter::new(5, Duration::from_secs(1))?;
    /// assert_eq!(limiter.burst(), 5);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn new(rate: u32, period: Duration) -> Result<RateLimiter, BuildError> {
        RateLimiter::builder(rate, period).build()
    }

    /// A builder for `rate` permits per `period`; set the burst with
    /// [`burst`](RateLimiterBuilder::burst).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// let limiter = RateLimiter::builder(10, Duration::from_secs(1)).burst(1).build()?;
    /// assert_eq!((limiter.rate(), limiter.burst()), (10, 1));
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn builder(rate: u32, period: Duration) -> RateLimiterBuilder {
        RateLimiterBuilder {
            rate,
            period,
            burst: None,
        }
    }

    /// Takes one permit if one is free now and nobody is queued for one.
    ///
    /// Reads the ambient clock once (on the system clock, through the CPU's
    /// counter: see [`RateLimiter`]); lock-free and allocation-free.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] if no permit is free or waiters are queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// let limiter = RateLimiter::builder(1, Duration::from_secs(60)).burst(2).build()?;
    /// assert!(limiter.try_acquire().is_ok());
    /// assert!(limiter.try_acquire().is_ok());
    /// assert!(limiter.try_acquire().is_err());
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<(), RateLimited> {
        self.shared.try_take(1)
    }

    /// Takes `n` permits together if they are all free now and nobody is
    /// queued, else none; `n = 0` succeeds and takes nothing. As
    /// [`try_acquire`](RateLimiter::try_acquire), it reads the clock once
    /// and never blocks.
    ///
    /// # Errors
    ///
    /// [`ExceedsBurst`] if `n` is more than the burst (that many are never
    /// free together); otherwise `Ok(Err(RateLimited))` when they are not
    /// all free now or waiters are queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{RateLimited, RateLimiter};
    ///
    /// let limiter = RateLimiter::builder(1, Duration::from_secs(60)).burst(3).build()?;
    /// assert_eq!(limiter.try_acquire_n(2), Ok(Ok(())));
    /// assert!(matches!(limiter.try_acquire_n(2), Ok(Err(RateLimited { .. }))), "one is left");
    /// assert!(limiter.try_acquire_n(4).is_err(), "more than the burst");
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn try_acquire_n(&self, n: u32) -> Result<Result<(), RateLimited>, ExceedsBurst> {
        ExceedsBurst::check(n, self.shared.burst)?;
        if n == 0 {
            return Ok(Ok(()));
        }
        Ok(self.shared.try_take(u64::from(n)))
    }

    /// Waits for one permit, in turn behind the waiters queued before.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes takes no permit and gives
    /// its place in the queue back; if it was at the head, the next waiter
    /// is woken and served in its place. A completed acquire cannot be
    /// undone: its permit is spent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::new(1000, Duration::from_secs(1))?;
    /// limiter.acquire().await;
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire::new(&self.shared)
    }

    /// Waits for `n` permits at once, in turn behind the waiters queued
    /// before. `n = 0` completes at once and takes nothing.
    ///
    /// # Errors
    ///
    /// [`ExceedsBurst`] at once if `n` is more than the burst: that many
    /// are never granted together, so waiting would hang.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire`](RateLimiter::acquire): dropped early it takes
    /// nothing and hands its turn on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(1000, Duration::from_secs(1)).burst(8).build()?;
    /// limiter.acquire_n(8).await?;
    /// assert!(limiter.acquire_n(9).await.is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn acquire_n(&self, n: u32) -> AcquireN<'_> {
        AcquireN::new(&self.shared, n)
    }

    /// [`acquire`](RateLimiter::acquire) as a future that holds the
    /// limiter's state rather than borrowing it, for a `'static` task.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire`](RateLimiter::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// fn later(limiter: &RateLimiter) -> impl std::future::Future<Output = ()> + 'static {
    ///     limiter.acquire_owned()
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::new(1000, Duration::from_secs(1))?;
    /// later(&limiter).await;
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn acquire_owned(&self) -> AcquireOwned {
        AcquireOwned::new(self.shared.clone())
    }

    /// [`acquire_n`](RateLimiter::acquire_n) as a future that holds the
    /// limiter's state rather than borrowing it, for a `'static` task.
    ///
    /// # Errors
    ///
    /// [`ExceedsBurst`] at once if `n` is more than the burst.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire`](RateLimiter::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(1000, Duration::from_secs(1)).burst(4).build()?;
    /// limiter.acquire_n_owned(4).await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn acquire_n_owned(&self, n: u32) -> AcquireNOwned {
        AcquireNOwned::new(self.shared.clone(), n)
    }

    /// Permits that could be taken now, if nobody were queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// let limiter = RateLimiter::new(3, Duration::from_secs(60))?;
    /// limiter.try_acquire()?;
    /// assert_eq!(limiter.available(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn available(&self) -> u32 {
        let available = self.shared.available(anyrt_core::now());
        u32::try_from(available).unwrap_or(u32::MAX)
    }

    /// How many waiters are queued now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::RateLimiter::new(3, Duration::from_secs(1))?;
    /// assert_eq!(limiter.waiting(), 0);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn waiting(&self) -> usize {
        self.shared.queued()
    }

    /// The permits per period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(anyrt::stream::RateLimiter::new(3, Duration::from_secs(1))?.rate(), 3);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn rate(&self) -> u32 {
        self.shared.rate
    }

    /// The period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::RateLimiter::new(3, Duration::from_secs(1))?;
    /// assert_eq!(limiter.period(), Duration::from_secs(1));
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn period(&self) -> Duration {
        self.shared.period
    }

    /// The most permits granted at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::RateLimiter::builder(3, Duration::from_secs(1)).burst(1).build()?;
    /// assert_eq!(limiter.burst(), 1);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn burst(&self) -> u32 {
        self.shared.burst
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("rate", &self.shared.rate)
            .field("period", &self.shared.period)
            .field("burst", &self.shared.burst)
            .field("waiting", &self.shared.queued())
            .finish()
    }
}

/// The builder of a [`RateLimiter`]; made by [`RateLimiter::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::RateLimiter;
///
/// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(10).build()?;
/// # Ok::<(), anyrt::stream::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct RateLimiterBuilder {
    rate: u32,
    period: Duration,
    burst: Option<u32>,
}

impl RateLimiterBuilder {
    /// The most permits granted at once by a rested limiter (default: the
    /// rate). Zero is rejected by [`build`](RateLimiterBuilder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::RateLimiter::builder(100, Duration::from_secs(1)).burst(1).build()?;
    /// assert!(limiter.try_acquire().is_ok());
    /// assert!(limiter.try_acquire().is_err());
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Checks the configuration and makes the limiter, rested (a full
    /// burst available), its clock starting now on the ambient timer.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroRate`], [`BuildError::ZeroPeriod`],
    /// [`BuildError::ZeroBurst`], or [`BuildError::TooLarge`] for a period
    /// over about 584 years or a burst whose span does not fit the clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{BuildError, RateLimiter};
    ///
    /// let builder = RateLimiter::builder(1, Duration::ZERO);
    /// assert_eq!(builder.build().unwrap_err(), BuildError::ZeroPeriod);
    /// ```
    pub fn build(self) -> Result<RateLimiter, BuildError> {
        let burst = self.burst.unwrap_or(self.rate);
        if self.rate == 0 {
            return Err(BuildError::ZeroRate);
        }
        if self.period.is_zero() {
            return Err(BuildError::ZeroPeriod);
        }
        if burst == 0 {
            return Err(BuildError::ZeroBurst);
        }
        // The fast clock's base first, so that the epoch is not before it.
        anyrt_core::FastClock::get();
        let shared = Shared::new(self.rate, self.period, burst, anyrt_core::now())
            .ok_or(BuildError::TooLarge)?;
        Ok(RateLimiter {
            shared: Arc::new(shared),
        })
    }
}
