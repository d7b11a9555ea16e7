//! The errors of the rate limiter.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// Why [`RateLimiterBuilder::build`](crate::RateLimiterBuilder::build)
/// refused a configuration.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::{BuildError, RateLimiter};
///
/// let err = RateLimiter::new(0, Duration::from_secs(1)).unwrap_err();
/// assert_eq!(err, BuildError::ZeroRate);
/// assert!(err.is_zero_rate());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildError {
    /// The rate was zero: nothing would ever be granted.
    ZeroRate,
    /// The period was zero: the rate would be infinite.
    ZeroPeriod,
    /// The burst was zero: nothing would ever be granted.
    ZeroBurst,
    /// The period (over about 584 years) or the burst times the interval
    /// between two permits does not fit the limiter's clock.
    TooLarge,
}

impl BuildError {
    /// Whether the rate was zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(anyrt::stream::RateLimiter::new(0, Duration::from_secs(1)).unwrap_err().is_zero_rate());
    /// ```
    pub fn is_zero_rate(&self) -> bool {
        matches!(self, BuildError::ZeroRate)
    }

    /// Whether the period was zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(anyrt::stream::RateLimiter::new(1, Duration::ZERO).unwrap_err().is_zero_period());
    /// ```
    pub fn is_zero_period(&self) -> bool {
        matches!(self, BuildError::ZeroPeriod)
    }

    /// Whether the burst was zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// let err = RateLimiter::builder(1, Duration::from_secs(1)).burst(0).build().unwrap_err();
    /// assert!(err.is_zero_burst());
    /// ```
    pub fn is_zero_burst(&self) -> bool {
        matches!(self, BuildError::ZeroBurst)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildError::ZeroRate => "rate limiter rate is zero",
            BuildError::ZeroPeriod => "rate limiter period is zero",
            BuildError::ZeroBurst => "rate limiter burst is zero",
            BuildError::TooLarge => "rate limiter period or burst is too large",
        })
    }
}

impl Error for BuildError {}

/// The error of [`RateLimiter::try_acquire`](crate::RateLimiter::try_acquire):
/// no permit is free now, or waiters are queued ahead; with how long until
/// the permits are due ([`retry_after`](RateLimited::retry_after)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::RateLimiter;
///
/// let limiter = RateLimiter::builder(1, Duration::from_secs(60)).burst(1).build()?;
/// assert!(limiter.try_acquire().is_ok());
/// let err = limiter.try_acquire().unwrap_err();
/// assert_eq!(err.to_string(), "rate limit reached");
/// # Ok::<(), anyrt::stream::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimited {
    pub(crate) wait_ns: u64,
}

impl RateLimited {
    /// How long from the refusal until the permits asked for are due at
    /// the limiter's rate (governor's `wait_time_from`), rounded up to a
    /// nanosecond: what an HTTP server puts in `Retry-After`. With waiters
    /// queued it is a lower bound: they take their permits first, and it
    /// may be zero (free now, but owed to them).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// # futures_lite::future::block_on(anyrt::with_timer(anyrt::VirtualClock::new(), async {
    /// let limiter = RateLimiter::builder(1, Duration::from_secs(60)).burst(1).build()?;
    /// limiter.try_acquire()?;
    /// let refused = limiter.try_acquire().unwrap_err();
    /// assert_eq!(refused.retry_after(), Duration::from_secs(60));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })).unwrap();
    /// ```
    pub fn retry_after(&self) -> Duration {
        Duration::from_nanos(self.wait_ns)
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("rate limit reached")
    }
}

impl Error for RateLimited {}

/// The error of [`RateLimiter::acquire_n`](crate::RateLimiter::acquire_n)
/// for more permits than the burst: they could never be granted at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::RateLimiter;
///
/// # futures_lite::future::block_on(async {
/// let limiter = RateLimiter::builder(10, Duration::from_secs(1)).burst(5).build()?;
/// let err = limiter.acquire_n(6).await.unwrap_err();
/// assert_eq!((err.requested(), err.burst()), (6, 5));
/// # Ok::<(), anyrt::stream::BuildError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExceedsBurst {
    pub(crate) requested: u32,
    pub(crate) burst: u32,
}

impl ExceedsBurst {
    /// `Err` if `requested` permits are more than `burst`: that many are
    /// never granted together.
    pub(crate) fn check(requested: u32, burst: u32) -> Result<(), ExceedsBurst> {
        if requested > burst {
            return Err(ExceedsBurst { requested, burst });
        }
        Ok(())
    }

    /// The permits asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(10, Duration::from_secs(1)).burst(2).build()?;
    /// let err = limiter.acquire_n(3).await.unwrap_err();
    /// assert_eq!(err.requested(), 3);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn requested(&self) -> u32 {
        self.requested
    }

    /// The limiter's burst, the most permits granted at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(10, Duration::from_secs(1)).burst(2).build()?;
    /// let err = limiter.acquire_n(3).await.unwrap_err();
    /// assert_eq!(err.burst(), 2);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl fmt::Display for ExceedsBurst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} permits asked for, more than the burst of {}",
            self.requested, self.burst
        )
    }
}

impl Error for ExceedsBurst {}
