//! `Constant`: the same delay before every retry.

use std::time::Duration;

use fastrand::Rng;

use super::{Backoff, Jitter, into_delays};

/// The same delay before every retry (then jittered, [`Jitter::Full`] by
/// default).
///
/// Its `max_delay` is the delay itself. A zero delay retries at once,
/// without touching the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{Constant, Jitter};
///
/// let policy = Constant::new(Duration::from_millis(50)).jitter(Jitter::None);
/// assert!(policy.into_iter().take(3).all(|d| d == Duration::from_millis(50)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Constant {
    delay: Duration,
    jitter: Jitter,
}

impl Constant {
    /// A policy that waits `delay` (jittered) before every retry.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Constant};
    ///
    /// let policy = Constant::new(Duration::from_secs(1));
    /// assert!(policy.delays().take(10).all(|d| d <= Duration::from_secs(1)));
    /// ```
    pub const fn new(delay: Duration) -> Self {
        Constant {
            delay,
            jitter: Jitter::Full,
        }
    }

    /// The same policy with `jitter` instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{Backoff, Constant, Jitter};
    ///
    /// let policy = Constant::new(Duration::from_secs(2)).jitter(Jitter::Equal);
    /// assert!(policy.delays().take(10).all(|d| d >= Duration::from_secs(1)));
    /// ```
    pub const fn jitter(self, jitter: Jitter) -> Self {
        Constant { jitter, ..self }
    }
}

impl Backoff for Constant {
    #[inline]
    fn delay(&self, _attempt: u32, _prev: Duration, rng: &mut Rng) -> Duration {
        self.jitter.apply(self.delay, rng)
    }

    #[inline]
    fn max_delay(&self) -> Duration {
        self.delay
    }
}

into_delays!(Constant);
