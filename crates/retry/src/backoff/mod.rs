//! Backoff policies: plain values that say how long to wait before each
//! retry, usable on their own as iterators of delays.

mod constant;
mod decorrelated;
mod exponential;
mod fibonacci;
mod jitter;

pub use constant::Constant;
pub use decorrelated::{Decorrelated, DecorrelatedBuilder};
pub use exponential::{Exponential, ExponentialBuilder};
pub use fibonacci::{Fibonacci, FibonacciBuilder};
pub use jitter::Jitter;

use std::fmt;
use std::time::Duration;

use fastrand::Rng;

/// A backoff policy: the delay to wait after a failed attempt.
///
/// A policy is a plain value: it holds its configuration and no state. The
/// retry loop (or a [`Delays`] iterator) keeps the attempt number, the
/// previous delay and the random source, and asks the policy for each
/// delay. Every implementation in this crate works in integer nanoseconds
/// that saturate, so no attempt number and no configuration overflows or
/// panics, and no delay exceeds [`max_delay`](Backoff::max_delay), jitter
/// included.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{Backoff, Constant, Jitter};
///
/// let policy = Constant::new(Duration::from_millis(10)).jitter(Jitter::None);
/// let mut rng = anyrt::retry::Rng::with_seed(7);
/// assert_eq!(policy.delay(1, Duration::ZERO, &mut rng), Duration::from_millis(10));
/// assert_eq!(policy.max_delay(), Duration::from_millis(10));
/// ```
pub trait Backoff {
    /// The delay after the failure of attempt number `attempt` (1 is the
    /// first call), given the delay used before it (`prev`, zero before the
    /// first retry) and a random source for jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Exponential, Jitter, Rng};
    ///
    /// let policy = Exponential::new(Duration::from_millis(100), Duration::from_secs(1))
    ///     .jitter(Jitter::None);
    /// let mut rng = Rng::with_seed(1);
    /// // After the third attempt failed: 100 ms doubled twice.
    /// let delay = policy.delay(3, Duration::from_millis(200), &mut rng);
    /// assert_eq!(delay, Duration::from_millis(400));
    /// ```
    fn delay(&self, attempt: u32, prev: Duration, rng: &mut Rng) -> Duration;

    /// The longest delay this policy yields; a server hint is clamped to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Decorrelated, Exponential};
    ///
    /// let second = Duration::from_secs(1);
    /// assert_eq!(Exponential::new(second / 10, second).max_delay(), second);
    /// assert_eq!(Decorrelated::default().max_delay(), Duration::from_secs(10));
    /// ```
    fn max_delay(&self) -> Duration;

    /// The delays of this policy, one per retry, with jitter from a fresh
    /// random seed. The iterator never ends; take what you need.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Exponential, Jitter};
    ///
    /// let policy = Exponential::builder().jitter(Jitter::Full).build().unwrap();
    /// for delay in policy.delays().take(5) {
    ///     assert!(delay <= policy.max_delay());
    /// }
    /// ```
    fn delays(self) -> Delays<Self>
    where
        Self: Sized,
    {
        Delays::new(self, Rng::new())
    }

    /// Like [`delays`](Backoff::delays), with jitter from `seed`, so the
    /// sequence is the same on every run.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::{Backoff, Fibonacci};
    ///
    /// let policy = Fibonacci::builder().build().unwrap();
    /// let a: Vec<_> = policy.delays_seeded(1).take(4).collect();
    /// let b: Vec<_> = policy.delays_seeded(1).take(4).collect();
    /// assert_eq!(a, b);
    /// ```
    fn delays_seeded(self, seed: u64) -> Delays<Self>
    where
        Self: Sized,
    {
        Delays::new(self, Rng::with_seed(seed))
    }
}

/// An endless iterator over the delays of a [`Backoff`] policy; made by
/// [`Backoff::delays`], [`Backoff::delays_seeded`] or `into_iter()` on a
/// policy.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{Exponential, Jitter};
///
/// let policy = Exponential::builder()
///     .initial(Duration::from_secs(1))
///     .multiplier(2.0)
///     .max_delay(Duration::from_secs(5))
///     .jitter(Jitter::None)
///     .build()
///     .unwrap();
/// let secs: Vec<u64> = policy.into_iter().take(5).map(|d| d.as_secs()).collect();
/// assert_eq!(secs, [1, 2, 4, 5, 5]);
/// ```
#[derive(Clone)]
pub struct Delays<B> {
    policy: B,
    attempt: u32,
    prev: Duration,
    rng: Rng,
}

impl<B> Delays<B> {
    fn new(policy: B, rng: Rng) -> Self {
        Delays {
            policy,
            attempt: 0,
            prev: Duration::ZERO,
            rng,
        }
    }
}

impl<B: Backoff> Iterator for Delays<B> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.attempt = self.attempt.saturating_add(1);
        let delay = self.policy.delay(self.attempt, self.prev, &mut self.rng);
        self.prev = delay;
        Some(delay)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl<B: fmt::Debug> fmt::Debug for Delays<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delays")
            .field("policy", &self.policy)
            .field("attempt", &self.attempt)
            .field("prev", &self.prev)
            .finish_non_exhaustive()
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (about 584 years).
#[inline]
pub(crate) const fn nanos(duration: Duration) -> u64 {
    let nanos = duration.as_nanos();
    if nanos > u64::MAX as u128 {
        u64::MAX
    } else {
        nanos as u64
    }
}

/// `initial` and `max_delay` in nanoseconds, `initial` lowered to
/// `max_delay` if above it: what the constructors that cannot fail do.
#[inline]
pub(crate) const fn clamped(initial: Duration, max_delay: Duration) -> (u64, u64) {
    let (initial, max_delay) = (nanos(initial), nanos(max_delay));
    if initial > max_delay {
        (max_delay, max_delay)
    } else {
        (initial, max_delay)
    }
}

/// Implements `IntoIterator` (yielding [`Delays`]) for a policy.
macro_rules! into_delays {
    ($policy:ty) => {
        impl IntoIterator for $policy {
            type Item = std::time::Duration;
            type IntoIter = $crate::backoff::Delays<$policy>;

            fn into_iter(self) -> Self::IntoIter {
                $crate::backoff::Backoff::delays(self)
            }
        }
    };
}
pub(crate) use into_delays;
