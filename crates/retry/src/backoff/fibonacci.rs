//! `Fibonacci`: delays that grow like the Fibonacci sequence, up to a cap.

use std::time::Duration;

use fastrand::Rng;

use super::{Backoff, Jitter, into_delays, nanos};
use crate::error::BuildError;

/// Delays that grow like the Fibonacci numbers: `initial × F(n)` before the
/// `n`th retry (`F` = 1, 1, 2, 3, 5, 8, ...), capped at `max_delay`, then
/// jittered ([`Jitter::Full`] by default).
///
/// Slower growth than doubling, which spreads retries of a long outage more
/// evenly. Integer nanoseconds that saturate; the sequence stops being
/// computed once the cap is reached. Built with [`Fibonacci::builder`]; the
/// default is 100 ms up to 10 s.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{Fibonacci, Jitter};
///
/// let policy = Fibonacci::builder()
///     .initial(Duration::from_secs(1))
///     .max_delay(Duration::from_secs(6))
///     .jitter(Jitter::None)
///     .build()?;
/// let secs: Vec<u64> = policy.into_iter().take(6).map(|d| d.as_secs()).collect();
/// assert_eq!(secs, [1, 1, 2, 3, 5, 6]);
/// # Ok::<(), anyrt::retry::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fibonacci {
    initial: u64,
    max_delay: u64,
    jitter: Jitter,
}

impl Fibonacci {
    /// Fibonacci delays from `initial` up to `max_delay`, with full jitter;
    /// it cannot fail. An `initial` above `max_delay` is lowered to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Fibonacci, Jitter};
    ///
    /// let policy = Fibonacci::new(Duration::from_secs(1), Duration::from_secs(4))
    ///     .jitter(Jitter::None);
    /// let secs: Vec<u64> = policy.into_iter().take(6).map(|d| d.as_secs()).collect();
    /// assert_eq!(secs, [1, 1, 2, 3, 4, 4]);
    /// ```
    pub const fn new(initial: Duration, max_delay: Duration) -> Self {
        let (initial, max_delay) = super::clamped(initial, max_delay);
        Fibonacci {
            initial,
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
    /// use anyrt::retry::{Backoff, Fibonacci, Jitter};
    ///
    /// let policy = Fibonacci::default().jitter(Jitter::None);
    /// assert_eq!(policy.delays().next(), Some(Duration::from_millis(100)));
    /// ```
    pub const fn jitter(self, jitter: Jitter) -> Self {
        Fibonacci { jitter, ..self }
    }

    /// A builder with the defaults: initial 100 ms, max delay 10 s, full
    /// jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Fibonacci};
    ///
    /// let policy = Fibonacci::builder().max_delay(Duration::from_secs(1)).build()?;
    /// assert_eq!(policy.max_delay(), Duration::from_secs(1));
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn builder() -> FibonacciBuilder {
        FibonacciBuilder {
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            jitter: Jitter::Full,
        }
    }
}

impl Default for Fibonacci {
    fn default() -> Self {
        let builder = Fibonacci::builder();
        builder
            .build()
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

impl Backoff for Fibonacci {
    #[inline]
    fn delay(&self, attempt: u32, _prev: Duration, rng: &mut Rng) -> Duration {
        let base = fib_scaled(self.initial, attempt, self.max_delay);
        self.jitter.apply(Duration::from_nanos(base), rng)
    }

    #[inline]
    fn max_delay(&self) -> Duration {
        Duration::from_nanos(self.max_delay)
    }
}

into_delays!(Fibonacci);

/// `initial × F(n)` (F(1) = F(2) = 1), saturating at `cap`. The loop ends
/// after about a hundred steps at most, because F grows exponentially.
pub(crate) fn fib_scaled(initial: u64, n: u32, cap: u64) -> u64 {
    if initial == 0 {
        return 0;
    }
    let (mut a, mut b) = (1u64, 1u64);
    for _ in 1..n {
        if initial.saturating_mul(a) >= cap {
            break;
        }
        (a, b) = (b, a.saturating_add(b));
    }
    initial.saturating_mul(a).min(cap)
}

/// Builds a [`Fibonacci`]; made by [`Fibonacci::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::Fibonacci;
///
/// let err = Fibonacci::builder().initial(Duration::from_secs(11)).build().unwrap_err();
/// assert!(err.is_initial_above_max());
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct FibonacciBuilder {
    initial: Duration,
    max_delay: Duration,
    jitter: Jitter,
}

impl FibonacciBuilder {
    /// The unit of the sequence: the delay before the first two retries.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Fibonacci, Jitter};
    ///
    /// let policy = Fibonacci::builder()
    ///     .initial(Duration::from_millis(10))
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// let ms: Vec<u128> = policy.into_iter().take(5).map(|d| d.as_millis()).collect();
    /// assert_eq!(ms, [10, 10, 20, 30, 50]);
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn initial(self, initial: Duration) -> Self {
        FibonacciBuilder { initial, ..self }
    }

    /// The cap: no delay, jitter included, exceeds it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Fibonacci, Jitter};
    ///
    /// let policy = Fibonacci::builder()
    ///     .initial(Duration::from_secs(1))
    ///     .max_delay(Duration::from_secs(4))
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// let secs: Vec<u64> = policy.into_iter().take(6).map(|d| d.as_secs()).collect();
    /// assert_eq!(secs, [1, 1, 2, 3, 4, 4]);
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn max_delay(self, max_delay: Duration) -> Self {
        FibonacciBuilder { max_delay, ..self }
    }

    /// The jitter ([`Jitter::Full`] unless set).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Fibonacci, Jitter};
    ///
    /// let policy = Fibonacci::builder()
    ///     .initial(Duration::from_secs(1))
    ///     .jitter(Jitter::Equal)
    ///     .build()?;
    /// for (delay, secs) in policy.delays_seeded(7).zip([1, 1, 2, 3, 5]) {
    ///     let d = Duration::from_secs(secs);
    ///     assert!(delay >= d / 2 && delay <= d); // half kept, half random
    /// }
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn jitter(self, jitter: Jitter) -> Self {
        FibonacciBuilder { jitter, ..self }
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when `initial` exceeds `max_delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Fibonacci, Jitter};
    ///
    /// let second = Duration::from_secs(1);
    /// let policy = Fibonacci::builder()
    ///     .initial(second)
    ///     .max_delay(second)
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// assert!(policy.into_iter().take(5).all(|d| d == second)); // capped at once
    ///
    /// let err = Fibonacci::builder().initial(second * 2).max_delay(second).build().unwrap_err();
    /// assert!(err.is_initial_above_max());
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn build(self) -> Result<Fibonacci, BuildError> {
        if self.initial > self.max_delay {
            return Err(BuildError::InitialAboveMax);
        }
        Ok(Fibonacci {
            initial: nanos(self.initial),
            max_delay: nanos(self.max_delay),
            jitter: self.jitter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fib_scaled;

    #[test]
    fn sequence() {
        let got: Vec<u64> = (1..=10).map(|n| fib_scaled(1, n, u64::MAX)).collect();
        assert_eq!(got, [1, 1, 2, 3, 5, 8, 13, 21, 34, 55]);
    }

    #[test]
    fn saturates() {
        assert_eq!(fib_scaled(1, u32::MAX, u64::MAX), u64::MAX);
        assert_eq!(fib_scaled(u64::MAX, u32::MAX, 10), 10);
        assert_eq!(fib_scaled(0, u32::MAX, 10), 0);
        assert_eq!(fib_scaled(1, 0, 10), 1);
    }
}
