//! `Deadline`: an absolute point in time on the ambient clock.

use std::time::{Duration, Instant};

/// An absolute point in time by which work must be done.
///
/// A deadline is read against the ambient clock of `anyrt-core` (a
/// runtime's clock, or a test's [`VirtualClock`]). Deadlines compare by
/// time, so the earlier of two is `a.min(b)` ([`Ord::min`]), and they
/// convert from and into [`Instant`].
///
/// [`VirtualClock`]: anyrt_core::VirtualClock
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::deadline::Deadline;
///
/// let soon = Deadline::after(Duration::from_secs(1));
/// let later = Deadline::after(Duration::from_secs(60));
/// assert!(soon < later);
/// assert_eq!(soon.min(later), soon);
/// assert!(!soon.is_expired());
/// assert!(later.remaining() > Duration::from_secs(59));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// The deadline at `instant`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Instant;
    /// use anyrt::deadline::Deadline;
    ///
    /// let now = Instant::now();
    /// assert_eq!(Deadline::at(now).instant(), now);
    /// ```
    pub fn at(instant: Instant) -> Deadline {
        Deadline { at: instant }
    }

    /// The deadline `duration` from now on the ambient clock.
    ///
    /// A huge duration (even [`Duration::MAX`]) saturates at
    /// [`anyrt::far_future`](anyrt_core::far_future) instead of panicking.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::Deadline;
    ///
    /// let never = Deadline::after(Duration::MAX);
    /// assert!(never.instant() >= anyrt::far_future());
    /// ```
    pub fn after(duration: Duration) -> Deadline {
        Deadline::at(anyrt_core::deadline_after(anyrt_core::now(), duration))
    }

    /// The point in time of this deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Instant;
    /// use anyrt::deadline::Deadline;
    ///
    /// let now = Instant::now();
    /// assert_eq!(Deadline::from(now).instant(), now);
    /// ```
    pub fn instant(self) -> Instant {
        self.at
    }

    /// The time left until this deadline on the ambient clock; zero once it
    /// has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::Deadline;
    ///
    /// assert!(Deadline::after(Duration::from_secs(5)).remaining() <= Duration::from_secs(5));
    /// assert_eq!(Deadline::after(Duration::ZERO).remaining(), Duration::ZERO);
    /// ```
    pub fn remaining(self) -> Duration {
        self.at.saturating_duration_since(anyrt_core::now())
    }

    /// Whether this deadline has been reached on the ambient clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::deadline::Deadline;
    ///
    /// assert!(Deadline::after(Duration::ZERO).is_expired());
    /// assert!(!Deadline::after(Duration::from_secs(60)).is_expired());
    /// ```
    pub fn is_expired(self) -> bool {
        anyrt_core::now() >= self.at
    }
}

impl From<Instant> for Deadline {
    fn from(instant: Instant) -> Deadline {
        Deadline::at(instant)
    }
}

impl From<Deadline> for Instant {
    fn from(deadline: Deadline) -> Instant {
        deadline.at
    }
}
