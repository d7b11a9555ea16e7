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
    /// The random source of jitter: set by `.seed`, or from the thread's
    /// generator at the first retry.
    rng: Option<Rng>,
}

/// What follows a failed attempt that is to be retried.
pub(crate) enum Next {
    /// The delay is zero: the next attempt starts at once, without the
    /// timer (its retry from the budget, if any, is already spent).
    Now,
    /// The next attempt starts after this wait.
    After(Wait),
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
            rng: None,
        }
    }

    #[inline]
    pub(crate) fn set_max_elapsed(&mut self, max_elapsed: Duration) {
        self.max_elapsed = u64::try_from(max_elapsed.as_nanos()).unwrap_or(u64::MAX);
    }

    /// The `max_elapsed` limit, if any.
    pub(crate) fn max_elapsed(&self) -> Option<Duration> {
        self.limited()
            .then(|| Duration::from_nanos(self.max_elapsed))
    }

    /// Whether `max_elapsed` is set.
    #[inline]
    fn limited(&self) -> bool {
        self.max_elapsed != u64::MAX
    }

    #[inline]
    pub(crate) fn seed(&mut self, seed: u64) {
        self.rng = Some(Rng::with_seed(seed));
    }

    /// The random source of jitter, seeded from the thread's generator at
    /// first use unless `.seed` was called.
    #[inline]
    fn rng(&mut self) -> &mut Rng {
        self.rng.get_or_insert_with(Rng::new)
    }

    /// Counts the first attempt, about to start; it also pays into the
    /// budget and, when a time limit needs it, reads the clock. (Also
    /// called, and then only counting, when a retry resumes after a yield.)
    #[inline]
    pub(crate) fn begin_attempt(&mut self) {
        if self.attempts == 0 && (self.budget.is_some() || self.limited()) {
            self.begin_first();
        }
        self.attempts = self.attempts.saturating_add(1);
    }

    /// Counts a retry about to start. `decide` allowed it, so the count is
    /// below `max_attempts` and cannot overflow.
    #[inline]
    pub(crate) fn begin_retry(&mut self) {
        self.attempts += 1;
    }

    #[cold]
    fn begin_first(&mut self) {
        if let Some(budget) = &self.budget {
            budget.deposit();
        }
        if self.limited() {
            self.start = Some(anyrt_core::now());
        }
    }

    /// Whether the next attempt may start at once: only `max_elapsed` and
    /// the budget apply, since no sleep starts (the enclosing `within`
    /// still enforces the ambient deadline itself). The clock is read only
    /// if `max_elapsed` is set.
    #[inline]
    fn check_now(&self) -> Result<(), StopReason> {
        if self.budget.is_none() && !self.limited() {
            return Ok(());
        }
        self.check_now_slow()
    }

    fn check_now_slow(&self) -> Result<(), StopReason> {
        if self.limited() {
            self.check_elapsed(anyrt_core::now())?;
        }
        // Spent at once: the attempt starts now.
        self.withdraw().map(drop)
    }

    /// The retry taken from the budget, if there is one.
    fn withdraw(&self) -> Result<Option<Withdrawal>, StopReason> {
        match &self.budget {
            Some(budget) => budget.withdraw().map(Some).ok_or(StopReason::Budget),
            None => Ok(None),
        }
    }

    /// Stops if the sleep would end more than `max_elapsed` after the first
    /// attempt started.
    fn check_elapsed(&self, until: Instant) -> Result<(), StopReason> {
        match self.start {
            Some(start)
                if until.saturating_duration_since(start).as_nanos()
                    > u128::from(self.max_elapsed) =>
            {
                Err(StopReason::Elapsed)
            }
            _ => Ok(()),
        }
    }

    /// The wait for a sleep of `delay` (not zero), unless it would end past
    /// `max_elapsed` or at or past the ambient deadline, or the budget is
    /// empty. The clock is read only if a time limit is set.
    fn check_sleep(&self, delay: Duration) -> Result<Wait, StopReason> {
        let deadline = anyrt_deadline::current().map(|d| d.instant());
        let until = if deadline.is_some() || self.limited() {
            let until = anyrt_core::deadline_after(anyrt_core::now(), delay);
            if self.limited() {
                self.check_elapsed(until)?;
            }
            if deadline.is_some_and(|deadline| until >= deadline) {
                return Err(StopReason::Deadline);
            }
            Some(until)
        } else {
            None
        };
        Ok(Wait {
            delay,
            until,
            withdrawal: self.withdraw()?,
        })
    }
}

impl<B: Backoff, W, N, H> Config<B, W, N, H> {
    /// Decides what follows the failure `error` of the current attempt.
    #[inline]
    pub(crate) fn decide<E>(&mut self, error: &E) -> Result<Next, StopReason>
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
                let (attempts, prev) = (rules.attempts, rules.prev);
                self.backoff.delay(attempts, prev, rules.rng())
            }
        };
        let next = if delay.is_zero() {
            rules.check_now()?;
            Next::Now
        } else {
            Next::After(rules.check_sleep(delay)?)
        };
        rules.prev = delay;
        self.notify.notify(error, rules.attempts, delay);
        Ok(next)
    }
}
