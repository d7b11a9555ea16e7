//! What happens after a failed attempt: retry after some delay, or stop
//! and say why.

use std::time::{Duration, Instant};

use fastrand::Rng;

use super::hooks::{Condition, Hint, Notify};
use crate::backoff::Backoff;
use crate::budget::{RetryBudget, Withdrawal};
use crate::error::StopReason;

/// The configuration of one retry and its progress so far.
pub(crate) struct Config<B, W, N, H> {
    pub(crate) backoff: B,
    pub(crate) when: W,
    pub(crate) notify: N,
    pub(crate) hint: H,
    pub(crate) rules: Rules,
}

/// Everything that does not change type when the builder methods run,
/// kept small: the whole retry future is moved at least once on `.await`.
pub(crate) struct Rules {
    pub(crate) attempts: u32,
    pub(crate) max_attempts: u32,
    /// `max_elapsed` in nanoseconds; `u64::MAX` (584 years) is no limit.
    max_elapsed: u64,
    /// The delay before the current attempt.
    prev: Duration,
    start: Option<Instant>,
    pub(crate) budget: Option<RetryBudget>,
    /// The state of the jitter's generator; zero until it is seeded (by
    /// `.seed` or at the first jittered delay).
    rng: u64,
}

/// The next sleep: its length and, when the clock was read, its end; and
/// the retry taken from the budget for the attempt after it.
pub(crate) struct Wait {
    pub(crate) delay: Duration,
    pub(crate) until: Option<Instant>,
    pub(crate) withdrawal: Option<Withdrawal>,
}

impl Rules {
    pub(crate) const fn new() -> Self {
        Rules {
            attempts: 0,
            max_attempts: 3,
            max_elapsed: u64::MAX,
            prev: Duration::ZERO,
            start: None,
            budget: None,
            rng: 0,
        }
    }

    #[inline]
    pub(crate) fn set_max_elapsed(&mut self, max_elapsed: Duration) {
        self.max_elapsed = u64::try_from(max_elapsed.as_nanos()).unwrap_or(u64::MAX);
    }

    /// The `max_elapsed` limit, if any.
    pub(crate) fn max_elapsed(&self) -> Option<Duration> {
        (self.max_elapsed != u64::MAX).then(|| Duration::from_nanos(self.max_elapsed))
    }

    #[inline]
    pub(crate) fn seed(&mut self, seed: u64) {
        // Zero means "not seeded yet", so seeds 0 and 1 give the same delays.
        self.rng = seed.max(1);
    }

    /// Runs `f` with the random source of jitter, seeded from the thread's
    /// generator at first use unless `.seed` was called.
    #[inline]
    fn with_rng<R>(&mut self, f: impl FnOnce(&mut Rng) -> R) -> R {
        let mut rng = match self.rng {
            0 => Rng::new(),
            state => Rng::with_seed(state),
        };
        let out = f(&mut rng);
        // A generator state of zero (one in 2^64 steps) would read as "not
        // seeded yet"; it is stored as 1 so seeded delays stay reproducible.
        self.rng = rng.get_seed().max(1);
        out
    }

    /// Counts an attempt about to start; the first one also pays into the
    /// budget and, when a time limit needs it, reads the clock.
    #[inline]
    pub(crate) fn begin_attempt(&mut self) {
        if self.attempts == 0 && (self.budget.is_some() || self.max_elapsed != u64::MAX) {
            self.begin_first();
        }
        self.attempts = self.attempts.saturating_add(1);
    }

    #[cold]
    fn begin_first(&mut self) {
        if let Some(budget) = &self.budget {
            budget.deposit();
        }
        if self.max_elapsed != u64::MAX {
            self.start = Some(anyrt_core::now());
        }
    }

    /// Stops if a sleep of `delay` would end past `max_elapsed` or at or past
    /// the ambient deadline. The clock is read only if one of them is set. A
    /// zero delay starts no sleep, so only `max_elapsed` applies to it (the
    /// enclosing `within` still enforces the deadline itself).
    #[inline]
    fn check_time(&self, delay: Duration) -> Result<Option<Instant>, StopReason> {
        if delay.is_zero() && self.max_elapsed == u64::MAX {
            return Ok(None);
        }
        self.check_time_slow(delay)
    }

    fn check_time_slow(&self, delay: Duration) -> Result<Option<Instant>, StopReason> {
        let limited = self.max_elapsed != u64::MAX;
        let deadline = anyrt_deadline::current().map(|d| d.instant());
        if deadline.is_none() && !limited {
            return Ok(None);
        }
        let until = anyrt_core::deadline_after(anyrt_core::now(), delay);
        if let (true, Some(start)) = (limited, self.start) {
            if until.saturating_duration_since(start).as_nanos() > u128::from(self.max_elapsed) {
                return Err(StopReason::Elapsed);
            }
        }
        match deadline {
            Some(deadline) if until >= deadline => Err(StopReason::Deadline),
            _ => Ok(Some(until)),
        }
    }
}

impl<B: Backoff, W, N, H> Config<B, W, N, H> {
    /// Decides what follows the failure `error` of the current attempt.
    #[inline]
    pub(crate) fn decide<E>(&mut self, error: &E) -> Result<Wait, StopReason>
    where
        W: Condition<E>,
        N: Notify<E>,
        H: Hint<E>,
    {
        if !self.when.should_retry(error) {
            return Err(StopReason::NotRetryable);
        }
        let rules = &mut self.rules;
        if rules.attempts >= rules.max_attempts {
            return Err(StopReason::Attempts);
        }
        let delay = match self.hint.hint(error) {
            Some(hint) => hint.min(self.backoff.max_delay()),
            None => {
                let (backoff, attempts, prev) = (&self.backoff, rules.attempts, rules.prev);
                rules.with_rng(|rng| backoff.delay(attempts, prev, rng))
            }
        };
        let until = rules.check_time(delay)?;
        let withdrawal = match &rules.budget {
            Some(budget) => Some(budget.withdraw().ok_or(StopReason::Budget)?),
            None => None,
        };
        rules.prev = delay;
        self.notify.notify(error, rules.attempts, delay);
        Ok(Wait {
            delay,
            until,
            withdrawal,
        })
    }
}
