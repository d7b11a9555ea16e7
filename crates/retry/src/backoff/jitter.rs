//! Jitter: spreading delays at random so that clients do not retry in step.

use std::time::Duration;

use fastrand::Rng;

use super::nanos;

/// How a computed delay `d` is randomised before it is used.
///
/// Jitter applies to the whole delay, after the cap, so a jittered delay
/// never exceeds the policy's `max_delay`.
///
/// | jitter | delay |
/// |---|---|
/// | `None` | exactly `d` |
/// | `Full` (default) | uniform in `[0, d]` |
/// | `Equal` | uniform in `[d / 2, d]` |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::Jitter;
///
/// let mut rng = anyrt::retry::Rng::with_seed(3);
/// let d = Duration::from_secs(1);
/// assert_eq!(Jitter::None.apply(d, &mut rng), d);
/// assert!(Jitter::Full.apply(d, &mut rng) <= d);
/// assert!(Jitter::Equal.apply(d, &mut rng) >= d / 2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// No jitter: the delay as computed.
    None,
    /// Full jitter: uniform in `[0, d]`.
    #[default]
    Full,
    /// Equal jitter: half the delay kept, the other half random:
    /// uniform in `[d / 2, d]`.
    Equal,
}

impl Jitter {
    /// Applies this jitter to `delay`, drawing from `rng`. A zero delay
    /// stays zero and draws nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::Jitter;
    ///
    /// let mut rng = anyrt::retry::Rng::with_seed(9);
    /// assert_eq!(Jitter::Full.apply(Duration::ZERO, &mut rng), Duration::ZERO);
    /// ```
    #[inline]
    pub fn apply(self, delay: Duration, rng: &mut Rng) -> Duration {
        if delay.is_zero() {
            return Duration::ZERO;
        }
        let d = nanos(delay);
        let jittered = match self {
            Jitter::None => d,
            Jitter::Full => rng.u64(0..=d),
            Jitter::Equal => {
                let low = d / 2;
                low + rng.u64(0..=d - low)
            }
        };
        Duration::from_nanos(jittered)
    }
}
