//! The generic cell rate algorithm (GCRA) as pure arithmetic on integer
//! ticks: no clock, no atomics, no allocation. [`RateLimiter`] runs it on
//! one atomic; a limiter shared by many processes runs the same function
//! (or a copy of it in a store's script, tested against this one) on state
//! kept in the store.
//!
//! The state of a limiter is one number, the theoretical arrival time
//! (TAT): the tick at which the limiter would be back to a full burst if
//! nothing else were granted. A request of `cost` units at `now` is allowed
//! when, after adding `cost` emission intervals to `max(TAT, now)`, the new
//! TAT is no more than `burst` intervals ahead of `now`. Nothing else is
//! stored, so the same function runs on an atomic in this process or in a
//! script inside a shared store.
//!
//! Ticks are whatever unit the caller chooses, as long as `now`, the state
//! and the parameters share it; pick one in which the emission interval is
//! a whole number, so that the long-run rate is exact (the in-process
//! limiter uses a fraction of a nanosecond chosen that way; a store whose
//! clock counts microseconds can count in microseconds when the interval
//! is a whole number of them). A fresh state is `0` (or any tick at or
//! before the first `now`): the limiter starts rested, with its full burst.
//!
//! Nothing saturates into a grant: a request whose new TAT would not fit
//! in a `u64` is refused with `Wait { until: u64::MAX }` (never due), and
//! the caller keeps `now` where a grant still fits (the in-process limiter
//! stops its clock at `u64::MAX - window`). A store-side copy must do the
//! same with its own integer range.
//!
//! # Examples
//!
//! Ten requests a second, five at once, in millisecond ticks:
//!
//! ```
//! use anyrt::stream::gcra::{Decision, Gcra};
//!
//! let gcra = Gcra::new(100, 5).expect("neither is zero");
//! let mut tat = 0;
//! let mut granted = 0;
//! // Twenty requests at tick 1,000: the burst is granted, the rest wait.
//! for _ in 0..20 {
//!     match gcra.decide(tat, 1_000, 1) {
//!         Decision::Allow { tat: next } => {
//!             tat = next;
//!             granted += 1;
//!         }
//!         Decision::Wait { until } => assert_eq!(until, 1_100, "one interval on"),
//!         Decision::Never => unreachable!("a cost of 1 fits the burst"),
//!     }
//! }
//! assert_eq!(granted, 5);
//! ```
//!
//! [`RateLimiter`]: crate::RateLimiter

/// The parameters of a GCRA limiter, in ticks: one unit every `emission`
/// ticks, `burst` at once.
///
/// # Examples
///
/// ```
/// use anyrt::stream::gcra::Gcra;
///
/// let gcra = Gcra::new(10, 3).unwrap();
/// assert_eq!((gcra.emission(), gcra.burst(), gcra.window()), (10, 3, 30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gcra {
    /// Ticks between two units at the sustained rate (`T`).
    emission: u64,
    /// How many units may be granted at once from a rested limiter.
    burst: u64,
    /// `emission * burst`: how far ahead of `now` the TAT may run.
    window: u64,
}

/// The outcome of [`Gcra::decide`].
///
/// # Examples
///
/// ```
/// use anyrt::stream::gcra::{Decision, Gcra};
///
/// let gcra = Gcra::new(10, 1).unwrap();
/// assert_eq!(gcra.decide(0, 100, 1), Decision::Allow { tat: 110 });
/// assert_eq!(gcra.decide(110, 100, 1), Decision::Wait { until: 110 });
/// assert_eq!(gcra.decide(110, 100, 2), Decision::Never);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Granted: store this TAT.
    Allow {
        /// The new state.
        tat: u64,
    },
    /// Refused: the request would be allowed at this tick (the state is
    /// unchanged); `u64::MAX`: never, within the ticks' range.
    Wait {
        /// The first tick at which the same request is allowed, if
        /// nothing else is granted first.
        until: u64,
    },
    /// Refused for good: the cost exceeds the burst, so no wait helps.
    Never,
}

impl Gcra {
    /// Parameters for `burst` units at once and one unit every `emission`
    /// ticks; `None` if either is zero or their product overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::stream::gcra::Gcra;
    ///
    /// assert!(Gcra::new(1_000, 10).is_some());
    /// assert_eq!(Gcra::new(0, 10), None, "no interval");
    /// assert_eq!(Gcra::new(1_000, 0), None, "no burst");
    /// assert_eq!(Gcra::new(u64::MAX, 2), None, "the window overflows");
    /// ```
    pub fn new(emission: u64, burst: u64) -> Option<Gcra> {
        if emission == 0 || burst == 0 {
            return None;
        }
        let window = emission.checked_mul(burst)?;
        Some(Gcra {
            emission,
            burst,
            window,
        })
    }

    /// Decides a request of `cost` units at tick `now` against the stored
    /// `tat`. A cost of zero is always allowed and changes nothing; a cost
    /// above the burst is [`Decision::Never`]. A `now` before `tat` is
    /// fine (the clock of another process may lag): against the same
    /// state, an earlier `now` is never allowed what a later one is
    /// refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::stream::gcra::{Decision, Gcra};
    ///
    /// let gcra = Gcra::new(10, 5).unwrap();
    /// let Decision::Allow { tat } = gcra.decide(0, 0, 5) else { unreachable!() };
    /// assert_eq!(gcra.decide(tat, 0, 2), Decision::Wait { until: 20 });
    /// assert_eq!(gcra.decide(tat, 20, 2), Decision::Allow { tat: 70 });
    /// ```
    #[inline]
    pub fn decide(&self, tat: u64, now: u64, cost: u64) -> Decision {
        if cost > self.burst {
            return Decision::Never;
        }
        if cost == 0 {
            return Decision::Allow { tat };
        }
        let base = tat.max(now);
        // cost <= burst, so cost * emission <= window: no overflow.
        let spent = cost * self.emission;
        // The earliest `now` at which `base + spent - now <= window`,
        // computed without forming `base + spent`, which a window near the
        // clock's range would saturate (and so put too early).
        let allowed_at = base.saturating_sub(self.window - spent);
        if now < allowed_at {
            return Decision::Wait { until: allowed_at };
        }
        match base.checked_add(spent) {
            Some(tat) => Decision::Allow { tat },
            // The new TAT is past the clock's range: were it saturated,
            // every later request would be allowed. Never due, instead.
            None => Decision::Wait { until: u64::MAX },
        }
    }

    /// How far ahead of `now` the TAT may run: `emission * burst` ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// let gcra = anyrt::stream::gcra::Gcra::new(10, 3).unwrap();
    /// assert_eq!(gcra.window(), 30);
    /// ```
    pub fn window(&self) -> u64 {
        self.window
    }

    /// Ticks between two units at the sustained rate.
    ///
    /// # Examples
    ///
    /// ```
    /// let gcra = anyrt::stream::gcra::Gcra::new(10, 3).unwrap();
    /// assert_eq!(gcra.emission(), 10);
    /// ```
    pub fn emission(&self) -> u64 {
        self.emission
    }

    /// How many units a rested limiter grants at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let gcra = anyrt::stream::gcra::Gcra::new(10, 3).unwrap();
    /// assert_eq!(gcra.burst(), 3);
    /// ```
    pub fn burst(&self) -> u64 {
        self.burst
    }

    /// How many units a request at `now` could be granted at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::stream::gcra::{Decision, Gcra};
    ///
    /// let gcra = Gcra::new(10, 5).unwrap();
    /// assert_eq!(gcra.available(0, 0), 5, "rested");
    /// let Decision::Allow { tat } = gcra.decide(0, 0, 5) else { unreachable!() };
    /// assert_eq!(gcra.available(tat, 0), 0);
    /// assert_eq!(gcra.available(tat, 20), 2, "two intervals later");
    /// ```
    pub fn available(&self, tat: u64, now: u64) -> u64 {
        let ahead = tat.saturating_sub(now);
        self.window.saturating_sub(ahead) / self.emission
    }
}

#[cfg(test)]
mod tests {
    use super::{Decision, Gcra};

    fn allow(gcra: &Gcra, tat: &mut u64, now: u64, cost: u64) -> Result<(), u64> {
        match gcra.decide(*tat, now, cost) {
            Decision::Allow { tat: next } => {
                *tat = next;
                Ok(())
            }
            Decision::Wait { until } => Err(until),
            Decision::Never => Err(u64::MAX),
        }
    }

    #[test]
    fn zero_parameters_and_overflow_are_rejected() {
        assert_eq!(Gcra::new(0, 1), None);
        assert_eq!(Gcra::new(1, 0), None);
        assert_eq!(Gcra::new(u64::MAX, 2), None);
        assert!(Gcra::new(u64::MAX, 1).is_some());
    }

    #[test]
    fn a_rested_limiter_grants_the_burst_then_waits_one_interval() {
        let gcra = Gcra::new(10, 3).unwrap();
        let mut tat = 0;
        for _ in 0..3 {
            assert_eq!(allow(&gcra, &mut tat, 100, 1), Ok(()));
        }
        assert_eq!(allow(&gcra, &mut tat, 100, 1), Err(110));
        assert_eq!(allow(&gcra, &mut tat, 109, 1), Err(110));
        assert_eq!(allow(&gcra, &mut tat, 110, 1), Ok(()));
        assert_eq!(allow(&gcra, &mut tat, 110, 1), Err(120));
    }

    #[test]
    fn a_refusal_leaves_the_state_alone() {
        let gcra = Gcra::new(10, 1).unwrap();
        let tat = 50;
        assert_eq!(gcra.decide(tat, 30, 1), Decision::Wait { until: 50 });
        assert_eq!(gcra.decide(tat, 50, 1), Decision::Allow { tat: 60 });
    }

    #[test]
    fn the_sustained_rate_is_exact() {
        // One unit every 7 ticks, burst 4: n grants at the earliest tick
        // each is allowed end at (n - burst) * 7.
        let gcra = Gcra::new(7, 4).unwrap();
        let (mut tat, mut now) = (0, 0);
        for _ in 0..1000 {
            if let Err(until) = allow(&gcra, &mut tat, now, 1) {
                now = until;
                assert_eq!(allow(&gcra, &mut tat, now, 1), Ok(()));
            }
        }
        assert_eq!(now, (1000 - 4) * 7);
    }

    #[test]
    fn costs_weigh_as_that_many_units() {
        let gcra = Gcra::new(10, 5).unwrap();
        let mut tat = 0;
        assert_eq!(allow(&gcra, &mut tat, 0, 5), Ok(()));
        assert_eq!(allow(&gcra, &mut tat, 0, 2), Err(20));
        assert_eq!(allow(&gcra, &mut tat, 20, 2), Ok(()));
        assert_eq!(gcra.available(tat, 20), 0);
        assert_eq!(gcra.available(tat, 70), 5);
    }

    #[test]
    fn a_cost_above_the_burst_is_never_allowed_and_zero_always_is() {
        let gcra = Gcra::new(10, 5).unwrap();
        assert_eq!(gcra.decide(0, 1_000_000, 6), Decision::Never);
        assert_eq!(gcra.decide(500, 0, 0), Decision::Allow { tat: 500 });
    }

    #[test]
    fn an_idle_limiter_banks_no_more_than_the_burst() {
        let gcra = Gcra::new(10, 2).unwrap();
        let mut tat = 0;
        let now = 1_000_000;
        assert_eq!(allow(&gcra, &mut tat, now, 1), Ok(()));
        assert_eq!(allow(&gcra, &mut tat, now, 1), Ok(()));
        assert_eq!(allow(&gcra, &mut tat, now, 1), Err(now + 10));
    }

    #[test]
    fn a_grant_past_the_end_of_the_range_is_never_due() {
        let gcra = Gcra::new(10, 2).unwrap();
        // Fits: the TAT may reach the last tick.
        assert_eq!(
            gcra.decide(u64::MAX - 20, u64::MAX - 10, 1),
            Decision::Allow { tat: u64::MAX }
        );
        // Would not fit: a saturated TAT would let every later request
        // through, so it is refused for good instead.
        assert_eq!(
            gcra.decide(u64::MAX - 5, u64::MAX - 5, 1),
            Decision::Wait { until: u64::MAX }
        );
        assert_eq!(
            gcra.decide(u64::MAX, u64::MAX, 1),
            Decision::Wait { until: u64::MAX }
        );
    }
}
