//! What happens after a failed attempt: retry after some delay, or stop
//! and say why.

use std::time::{Duration, Instant};

use fastrand::Rng;

use super::hooks::{Condition, Hint, Notify};
use crate::backoff::Backoff;
use crate::budget::RetryBudget;
use crate::error::StopReason;

/// The configuration of one retry and its progress so far.
pub(crate) struct Config<B, W, N, H> {
    pub(crate) backoff: B,
    pub(crate) when: W,
    pub(crate) notify: N,
    pub(crate) hint: H,
    pub(crate) rules: Rules,
}

/// Everything that does not change type when the builder methods run.
pub(crate) struct Rules {
    pub(crate) max_attempts: u32,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) rng: Option<Rng>,
    pub(crate) attempts: u32,
    prev: Duration,
    start: Option<Instant>,
}

/// The next sleep: its length and, when the clock was read, its end.
pub(crate) struct Wait {
    pub(crate) delay: Duration,
    pub(crate) until: Option<Instant>,
}

impl Rules {
    pub(crate) fn new() -> Self {
        Rules {
            max_attempts: 3,
            max_elapsed: None,
            budget: None,
            rng: None,
            attempts: 0,
            prev: Duration::ZERO,
            start: None,
        }
    }

    /// Counts an attempt about to start; the first one also pays into the
    /// budget and, when a time limit needs it, reads the clock.
    pub(crate) fn begin_attempt(&mut self) {
        if self.attempts == 0 {
            if let Some(budget) = &self.budget {
                budget.deposit();
            }
            if self.max_elapsed.is_some() {
                self.start = Some(anyrt_core::now());
            }
        }
        self.attempts = self.attempts.saturating_add(1);
    }

    /// Stops if a sleep of `delay` would end past `max_elapsed` or at or past
    /// the ambient deadline. The clock is read only if one of them is set. A
    /// zero delay starts no sleep, so only `max_elapsed` applies to it (the
    /// enclosing `within` still enforces the deadline itself).
    fn check_time(&self, delay: Duration) -> Result<Option<Instant>, StopReason> {
        if delay.is_zero() && self.max_elapsed.is_none() {
            return Ok(None);
        }
        let deadline = anyrt_deadline::current().map(|d| d.instant());
        if deadline.is_none() && self.max_elapsed.is_none() {
            return Ok(None);
        }
        let until = anyrt_core::deadline_after(anyrt_core::now(), delay);
        if let (Some(max), Some(start)) = (self.max_elapsed, self.start) {
            if until.saturating_duration_since(start) > max {
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
                let rng = rules.rng.get_or_insert_with(Rng::new);
                self.backoff.delay(rules.attempts, rules.prev, rng)
            }
        };
        let until = rules.check_time(delay)?;
        if let Some(budget) = &rules.budget {
            if !budget.try_withdraw() {
                return Err(StopReason::Budget);
            }
        }
        rules.prev = delay;
        self.notify.notify(error, rules.attempts, delay);
        Ok(Wait { delay, until })
    }
}
