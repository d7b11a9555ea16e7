//! `Exponential`: delays that grow by a factor per retry, up to a cap.

use std::fmt;
use std::time::Duration;

use fastrand::Rng;

use super::{Backoff, Jitter, into_delays, nanos};
use crate::error::BuildError;

/// Fixed-point scale of the multiplier: 32 fractional bits.
const ONE: u128 = 1 << 32;

/// Delays that grow exponentially: `initial × multiplier^(n-1)` before the
/// `n`th retry, capped at `max_delay`, then jittered ([`Jitter::Full`] by
/// default).
///
/// The arithmetic is integer nanoseconds with the multiplier in 32.32 fixed
/// point, by repeated squaring that stops as soon as the cap is reached: no
/// attempt number, up to `u32::MAX`, overflows or takes long. Built with
/// [`Exponential::builder`]; the default is 100 ms × 2 up to 10 s.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{Exponential, Jitter};
///
/// let policy = Exponential::builder()
///     .initial(Duration::from_millis(100))
///     .multiplier(3.0)
///     .max_delay(Duration::from_secs(1))
///     .jitter(Jitter::None)
///     .build()?;
/// let ms: Vec<u128> = policy.into_iter().take(4).map(|d| d.as_millis()).collect();
/// assert_eq!(ms, [100, 300, 900, 1000]);
/// # Ok::<(), anyrt::retry::BuildError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exponential {
    initial: u64,
    /// The multiplier in 32.32 fixed point.
    factor: u64,
    max_delay: u64,
    jitter: Jitter,
}

/// The default policy, written out so that `retry(..)` builds it for free.
const DEFAULT: Exponential = Exponential {
    initial: 100_000_000,
    factor: 2 << 32,
    max_delay: 10_000_000_000,
    jitter: Jitter::Full,
};

impl Exponential {
    /// Doubling delays from `initial` up to `max_delay`, with full jitter:
    /// the common configuration, which cannot fail. An `initial` above
    /// `max_delay` is lowered to it (every delay is then `max_delay`,
    /// before jitter). For another multiplier, use
    /// [`Exponential::builder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Exponential, Jitter};
    ///
    /// let policy = Exponential::new(Duration::from_millis(100), Duration::from_secs(1))
    ///     .jitter(Jitter::None);
    /// let ms: Vec<u128> = policy.into_iter().take(5).map(|d| d.as_millis()).collect();
    /// assert_eq!(ms, [100, 200, 400, 800, 1000]);
    /// ```
    pub const fn new(initial: Duration, max_delay: Duration) -> Self {
        let (initial, max_delay) = super::clamped(initial, max_delay);
        Exponential {
            initial,
            factor: 2 << 32,
            max_delay,
            jitter: Jitter::Full,
        }
    }

    /// The same policy with `jitter` instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Exponential, Jitter};
    ///
    /// let policy = Exponential::default().jitter(Jitter::Equal);
    /// // Equal jitter keeps at least half of each delay: 50 ms of the first.
    /// assert!(policy.delays().next().unwrap() >= Duration::from_millis(50));
    /// ```
    pub const fn jitter(self, jitter: Jitter) -> Self {
        Exponential { jitter, ..self }
    }

    /// A builder with the defaults: initial 100 ms, multiplier 2, max delay
    /// 10 s, full jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Exponential};
    ///
    /// let policy = Exponential::builder().build()?;
    /// assert_eq!(policy.max_delay(), Duration::from_secs(10));
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn builder() -> ExponentialBuilder {
        ExponentialBuilder {
            initial: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(10),
            jitter: Jitter::Full,
        }
    }

    /// The delay before jitter for the retry after attempt `attempt`.
    fn base(&self, attempt: u32) -> u64 {
        scale(
            self.initial,
            self.factor,
            attempt.saturating_sub(1),
            self.max_delay,
        )
    }
}

impl Default for Exponential {
    fn default() -> Self {
        DEFAULT
    }
}

impl fmt::Debug for Exponential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exponential")
            .field("initial", &Duration::from_nanos(self.initial))
            .field("multiplier", &(self.factor as f64 / ONE as f64))
            .field("max_delay", &Duration::from_nanos(self.max_delay))
            .field("jitter", &self.jitter)
            .finish()
    }
}

impl Backoff for Exponential {
    #[inline]
    fn delay(&self, attempt: u32, _prev: Duration, rng: &mut Rng) -> Duration {
        self.jitter
            .apply(Duration::from_nanos(self.base(attempt)), rng)
    }

    #[inline]
    fn max_delay(&self) -> Duration {
        Duration::from_nanos(self.max_delay)
    }
}

into_delays!(Exponential);

/// `initial × (factor / 2^32)^exp`, saturating at `cap`.
pub(crate) fn scale(initial: u64, factor: u64, exp: u32, cap: u64) -> u64 {
    let cap128 = u128::from(cap);
    let mut result = u128::from(initial.min(cap));
    let mut base = u128::from(factor);
    let mut exp = exp;
    while exp > 0 && result > 0 {
        if exp & 1 == 1 {
            result = match result.checked_mul(base) {
                Some(product) => product / ONE,
                None => return cap,
            };
            if result >= cap128 {
                return cap;
            }
        }
        exp >>= 1;
        if exp > 0 {
            // Past 2^64 the factor alone takes any delay of 1 ns over any cap.
            base = base
                .checked_mul(base)
                .map_or(u128::MAX, |square| square / ONE);
            base = base.min(ONE << 64);
        }
    }
    result as u64
}

/// Builds an [`Exponential`]; made by [`Exponential::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::Exponential;
///
/// let err = Exponential::builder().multiplier(0.5).build().unwrap_err();
/// assert!(err.is_invalid_multiplier());
/// let err = Exponential::builder().initial(Duration::from_secs(20)).build().unwrap_err();
/// assert!(err.is_initial_above_max());
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct ExponentialBuilder {
    initial: Duration,
    multiplier: f64,
    max_delay: Duration,
    jitter: Jitter,
}

impl ExponentialBuilder {
    /// The delay before the first retry (before jitter).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Exponential, Jitter};
    ///
    /// let policy = Exponential::builder()
    ///     .initial(Duration::from_millis(250))
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// let ms: Vec<u128> = policy.into_iter().take(3).map(|d| d.as_millis()).collect();
    /// assert_eq!(ms, [250, 500, 1000]); // doubled by the default multiplier
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn initial(self, initial: Duration) -> Self {
        ExponentialBuilder { initial, ..self }
    }

    /// The growth factor per retry; at least 1 and below 2^31.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Exponential, Jitter};
    ///
    /// let policy = Exponential::builder()
    ///     .initial(Duration::from_millis(100))
    ///     .multiplier(1.5)
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// let ms: Vec<u128> = policy.into_iter().take(4).map(|d| d.as_millis()).collect();
    /// assert_eq!(ms, [100, 150, 225, 337]);
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn multiplier(self, multiplier: f64) -> Self {
        ExponentialBuilder { multiplier, ..self }
    }

    /// The cap: no delay, jitter included, exceeds it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Exponential, Jitter};
    ///
    /// let policy = Exponential::builder()
    ///     .initial(Duration::from_secs(1))
    ///     .max_delay(Duration::from_secs(3))
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// let secs: Vec<u64> = policy.into_iter().take(4).map(|d| d.as_secs()).collect();
    /// assert_eq!(secs, [1, 2, 3, 3]);
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn max_delay(self, max_delay: Duration) -> Self {
        ExponentialBuilder { max_delay, ..self }
    }

    /// The jitter ([`Jitter::Full`] unless set).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Exponential, Jitter};
    ///
    /// let policy = Exponential::builder()
    ///     .initial(Duration::from_secs(1))
    ///     .jitter(Jitter::Equal)
    ///     .build()?;
    /// for (delay, secs) in policy.delays_seeded(7).zip([1, 2, 4, 8]) {
    ///     let d = Duration::from_secs(secs);
    ///     assert!(delay >= d / 2 && delay <= d); // half kept, half random
    /// }
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn jitter(self, jitter: Jitter) -> Self {
        ExponentialBuilder { jitter, ..self }
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when the multiplier is below 1, not finite or not
    /// below 2^31, or when `initial` exceeds `max_delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Exponential, Jitter};
    ///
    /// let policy = Exponential::builder().multiplier(1.0).jitter(Jitter::None).build()?;
    /// assert!(policy.into_iter().take(5).all(|d| d == Duration::from_millis(100)));
    ///
    /// let err = Exponential::builder().multiplier(f64::NAN).build().unwrap_err();
    /// assert!(err.is_invalid_multiplier());
    /// let err = Exponential::builder().multiplier(2_147_483_648.0).build().unwrap_err();
    /// assert!(err.is_invalid_multiplier());
    /// let err = Exponential::builder().initial(Duration::from_secs(11)).build().unwrap_err();
    /// assert!(err.is_initial_above_max());
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn build(self) -> Result<Exponential, BuildError> {
        if !(1.0..2_147_483_648.0).contains(&self.multiplier) {
            return Err(BuildError::InvalidMultiplier);
        }
        if self.initial > self.max_delay {
            return Err(BuildError::InitialAboveMax);
        }
        Ok(Exponential {
            initial: nanos(self.initial),
            factor: (self.multiplier * ONE as f64).round() as u64,
            max_delay: nanos(self.max_delay),
            jitter: self.jitter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F2: u64 = 2 << 32;

    #[test]
    fn the_written_out_default_is_the_builders_default() {
        assert_eq!(
            Exponential::default(),
            Exponential::builder().build().unwrap()
        );
    }

    #[test]
    fn doubles_exactly() {
        assert_eq!(scale(1, F2, 0, u64::MAX), 1);
        assert_eq!(scale(1, F2, 10, u64::MAX), 1024);
        assert_eq!(scale(3, F2, 62, u64::MAX), 3 << 62);
        assert_eq!(scale(3, F2, 63, u64::MAX), u64::MAX);
        assert_eq!(scale(1, F2, 63, u64::MAX), 1 << 63);
    }

    #[test]
    fn saturates_at_the_cap_for_huge_exponents() {
        for exp in [64, 1000, u32::MAX / 2, u32::MAX] {
            assert_eq!(scale(1, F2, exp, 5_000), 5_000);
            assert_eq!(
                scale(1, (1 << 32) + 1, exp, u64::MAX),
                scale(1, (1 << 32) + 1, exp, u64::MAX)
            );
        }
    }

    #[test]
    fn one_and_a_half() {
        let f = 3 << 31;
        let got: Vec<u64> = (0..5).map(|e| scale(16, f, e, u64::MAX)).collect();
        assert_eq!(got, [16, 24, 36, 54, 81]);
    }

    #[test]
    fn multiplier_one_stays() {
        assert_eq!(scale(7, 1 << 32, u32::MAX, u64::MAX), 7);
    }

    #[test]
    fn zero_initial_stays_zero() {
        assert_eq!(scale(0, F2, u32::MAX, u64::MAX), 0);
    }
}
