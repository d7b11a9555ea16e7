//! `Decorrelated`: AWS's decorrelated jitter.

use std::time::Duration;

use fastrand::Rng;

use super::{Backoff, into_delays, nanos};
use crate::error::BuildError;

/// AWS's "decorrelated jitter": each delay is random between `base` and
/// three times the previous delay, capped:
/// `min(max_delay, random(base, prev × 3))`, with `prev = base` before the
/// first retry.
///
/// The randomness is built in, so it takes no [`Jitter`](crate::Jitter).
/// Delays grow about as fast as exponential backoff but stay spread out.
/// Built with [`Decorrelated::builder`]; the default is base 100 ms up to
/// 10 s.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{Backoff, Decorrelated};
///
/// let policy = Decorrelated::builder()
///     .base(Duration::from_millis(10))
///     .max_delay(Duration::from_secs(1))
///     .build()?;
/// let mut prev = Duration::from_millis(10);
/// for delay in policy.delays_seeded(5).take(20) {
///     assert!(delay >= Duration::from_millis(10));
///     assert!(delay <= (prev * 3).min(Duration::from_secs(1)));
///     prev = delay;
/// }
/// # Ok::<(), anyrt::retry::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decorrelated {
    base: u64,
    max_delay: u64,
}

impl Decorrelated {
    /// Decorrelated delays from `base` up to `max_delay`; it cannot fail. A
    /// `base` above `max_delay` is lowered to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Decorrelated};
    ///
    /// let policy = Decorrelated::new(Duration::from_millis(10), Duration::from_secs(1));
    /// assert!(policy.delays().take(20).all(|d| d >= Duration::from_millis(10)));
    /// assert_eq!(policy.max_delay(), Duration::from_secs(1));
    /// ```
    pub const fn new(base: Duration, max_delay: Duration) -> Self {
        let (base, max_delay) = super::clamped(base, max_delay);
        Decorrelated { base, max_delay }
    }

    /// A builder with the defaults: base 100 ms, max delay 10 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Decorrelated};
    ///
    /// let policy = Decorrelated::builder().build()?;
    /// assert_eq!(policy.max_delay(), Duration::from_secs(10));
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn builder() -> DecorrelatedBuilder {
        DecorrelatedBuilder {
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl Default for Decorrelated {
    fn default() -> Self {
        let builder = Decorrelated::builder();
        builder
            .build()
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

impl Backoff for Decorrelated {
    #[inline]
    fn delay(&self, _attempt: u32, prev: Duration, rng: &mut Rng) -> Duration {
        let prev = nanos(prev).max(self.base);
        let high = prev.saturating_mul(3).min(self.max_delay);
        let low = self.base.min(high);
        Duration::from_nanos(rng.u64(low..=high))
    }

    #[inline]
    fn max_delay(&self) -> Duration {
        Duration::from_nanos(self.max_delay)
    }
}

into_delays!(Decorrelated);

/// Builds a [`Decorrelated`]; made by [`Decorrelated::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::Decorrelated;
///
/// let err = Decorrelated::builder().base(Duration::from_secs(60)).build().unwrap_err();
/// assert!(err.is_initial_above_max());
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct DecorrelatedBuilder {
    base: Duration,
    max_delay: Duration,
}

impl DecorrelatedBuilder {
    /// The shortest delay, and the first `prev`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Decorrelated};
    ///
    /// let base = Duration::from_millis(50);
    /// let policy = Decorrelated::builder().base(base).build()?;
    /// let first = policy.delays_seeded(1).next().unwrap();
    /// assert!(first >= base && first <= base * 3); // random in [base, 3 × base]
    /// assert!(policy.delays_seeded(2).take(20).all(|d| d >= base));
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn base(self, base: Duration) -> Self {
        DecorrelatedBuilder { base, ..self }
    }

    /// The cap: no delay exceeds it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Decorrelated};
    ///
    /// let cap = Duration::from_millis(200);
    /// let policy = Decorrelated::builder().max_delay(cap).build()?;
    /// assert_eq!(policy.max_delay(), cap);
    /// assert!(policy.delays_seeded(3).take(50).all(|d| d <= cap));
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn max_delay(self, max_delay: Duration) -> Self {
        DecorrelatedBuilder { max_delay, ..self }
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when `base` exceeds `max_delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Decorrelated};
    ///
    /// let second = Duration::from_secs(1);
    /// let policy = Decorrelated::builder().base(second).max_delay(second).build()?;
    /// assert!(policy.delays_seeded(4).take(5).all(|d| d == second)); // no room to vary
    ///
    /// let err = Decorrelated::builder().base(second * 20).build().unwrap_err();
    /// assert!(err.is_initial_above_max());
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn build(self) -> Result<Decorrelated, BuildError> {
        if self.base > self.max_delay {
            return Err(BuildError::InitialAboveMax);
        }
        Ok(Decorrelated {
            base: nanos(self.base),
            max_delay: nanos(self.max_delay),
        })
    }
}
