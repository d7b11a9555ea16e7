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
/// kept small: the whole retry future is moved at least once on `.await`,
/// and building it writes every field.
pub(crate) struct Rules {
    /// The number of the current attempt, the first included: 1 from the
    /// start, so the first poll writes nothing here.
    pub(crate) attempts: u32,
    pub(crate) max_attempts: u32,
    /// The delay before the current attempt, in nanoseconds (saturated).
    prev: u64,
    /// The budget and `max_elapsed`, when either is set: one field to test
    /// (and to write when building the retry) when neither is.
    limits: Option<Limits>,
    /// The random source of jitter: set by `.seed`, or from the thread's
    /// generator at the first retry.
    rng: Option<Rng>,
}

/// The stop rules that need a clock or a shared budget.
struct Limits {
    /// `max_elapsed` in nanoseconds; `u64::MAX` (584 years) is no limit.
    max_elapsed: u64,
    /// When the first attempt started, if `max_elapsed` is set.
    start: Option<Instant>,
    budget: Option<RetryBudget>,
    /// The retry taken from the budget for the next attempt, held until
    /// that attempt starts: given back if the retry future is dropped first
    /// (during the sleep or the yield before it), so a cancelled retry
    /// costs the budget nothing.
    held: Option<Withdrawal>,
}

impl Drop for Limits {
    fn drop(&mut self) {
        if let (Some(budget), Some(withdrawal)) = (&self.budget, self.held.take()) {
            budget.refund(withdrawal);
        }
    }
}

impl Limits {
    const NONE: Limits = Limits {
        max_elapsed: u64::MAX,
        start: None,
        budget: None,
        held: None,
    };

    /// Whether `max_elapsed` is set.
    fn timed(&self) -> bool {
        self.max_elapsed != u64::MAX
    }

    /// Stops if `until` is more than `max_elapsed` after the first attempt
    /// started.
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

    /// Takes a retry from the budget, if there is one, and holds it for the
    /// next attempt. A retry already held (a hook panicked after it was
    /// taken, and the failure is judged again) is kept, not taken twice.
    fn withdraw(&mut self) -> Result<(), StopReason> {
        if let (Some(budget), None) = (&self.budget, self.held) {
            let withdrawal = budget.withdraw().ok_or(StopReason::Budget)?;
            self.held = Some(withdrawal);
        }
        Ok(())
    }
}

/// What follows a failed attempt that is to be retried.
pub(crate) enum Next {
    /// The delay is zero: the next attempt starts at once, without the
    /// timer. `held`: a retry may be held for it (a budget or `max_elapsed`
    /// is set); never without either, and the caller then has nothing to
    /// spend.
    Now { held: bool },
    /// The next attempt starts after this wait.
    After(Wait),
}

/// The next sleep: its length and, when the clock was read, its end.
pub(crate) struct Wait {
    pub(crate) delay: Duration,
    pub(crate) until: Option<Instant>,
}

impl Rules {
    pub(crate) const fn new() -> Self {
        Rules {
            attempts: 1,
            max_attempts: 3,
            prev: 0,
            limits: None,
            rng: None,
        }
    }

    /// The limits, set up on first use.
    fn limits_mut(&mut self) -> &mut Limits {
        self.limits.get_or_insert(Limits::NONE)
    }

    #[inline]
    pub(crate) fn set_max_elapsed(&mut self, max_elapsed: Duration) {
        self.limits_mut().max_elapsed = crate::backoff::nanos(max_elapsed);
        if self
            .limits
            .as_ref()
            .is_some_and(|l| !l.timed() && l.budget.is_none())
        {
            self.limits = None;
        }
    }

    #[inline]
    pub(crate) fn set_budget(&mut self, budget: RetryBudget) {
        self.limits_mut().budget = Some(budget);
    }

    /// The `max_elapsed` limit, if any.
    pub(crate) fn max_elapsed(&self) -> Option<Duration> {
        let limits = self.limits.as_ref()?;
        limits
            .timed()
            .then(|| Duration::from_nanos(limits.max_elapsed))
    }

    /// Whether a budget or `max_elapsed` is set: the first attempt then
    /// pays into the budget or reads the clock.
    #[inline]
    pub(crate) fn checked(&self) -> bool {
        self.limits.is_some()
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

    /// Counts a retry about to start, and spends the retry held for it.
    /// `decide` allowed it, so the count is below `max_attempts` and cannot
    /// overflow.
    #[inline]
    pub(crate) fn begin_retry(&mut self) {
        self.attempts += 1;
        self.spend();
    }

    /// The attempt that the held retry paid for is starting.
    #[inline]
    pub(crate) fn spend(&mut self) {
        if let Some(limits) = &mut self.limits {
            limits.held = None;
        }
    }

    /// The first attempt is about to start, with a budget or `max_elapsed`
    /// set: it pays into the budget and, for a time limit, reads the clock.
    #[cold]
    pub(crate) fn begin_first(&mut self) {
        if let Some(limits) = &mut self.limits {
            if let Some(budget) = &limits.budget {
                budget.deposit();
            }
            if limits.timed() {
                limits.start = Some(anyrt_core::now());
            }
        }
    }

    /// Whether the next attempt may start at once: not past `max_elapsed`,
    /// nor with the budget empty, nor once the ambient deadline has passed
    /// (a task spawned under it inherits the deadline but no `within` that
    /// would enforce it, and a `within` sees the clock only when the retry
    /// is pending, which a run of attempts that fail at once is not). The
    /// clock is read only if a deadline or `max_elapsed` is set.
    #[inline]
    fn check_now(&mut self) -> Result<bool, StopReason> {
        check_deadline_now()?;
        match &mut self.limits {
            None => Ok(false),
            Some(limits) => check_now_slow(limits).map(|()| true),
        }
    }

    /// The wait for a sleep of `delay` (not zero), unless it would end past
    /// `max_elapsed` or at or past the ambient deadline, or the budget is
    /// empty (the retry it takes is held for the attempt after the sleep).
    /// The clock is read only if a time limit is set.
    fn check_sleep(&mut self, delay: Duration) -> Result<Wait, StopReason> {
        let deadline = anyrt_deadline::current().map(|d| d.instant());
        let timed = self.limits.as_ref().filter(|limits| limits.timed());
        let until = if deadline.is_some() || timed.is_some() {
            let until = anyrt_core::deadline_after(anyrt_core::now(), delay);
            if let Some(limits) = timed {
                limits.check_elapsed(until)?;
            }
            if deadline.is_some_and(|deadline| until >= deadline) {
                return Err(StopReason::Deadline);
            }
            Some(until)
        } else {
            None
        };
        if let Some(limits) = &mut self.limits {
            limits.withdraw()?;
        }
        Ok(Wait { delay, until })
    }
}

/// Whether the ambient deadline, if any, has passed.
#[inline]
fn check_deadline_now() -> Result<(), StopReason> {
    match anyrt_deadline::current() {
        Some(deadline) if anyrt_core::now() >= deadline.instant() => Err(StopReason::Deadline),
        _ => Ok(()),
    }
}

/// [`Rules::check_now`] with a budget or `max_elapsed` set.
fn check_now_slow(limits: &mut Limits) -> Result<(), StopReason> {
    if limits.timed() {
        limits.check_elapsed(anyrt_core::now())?;
    }
    limits.withdraw()
}

impl<B: Backoff, W, N, H> Config<B, W, N, H> {
    /// Decides what follows the failure `error` of attempt number
    /// `attempts` (the count in `rules`, passed in so that a caller's loop
    /// can keep it in a register).
    #[inline]
    pub(crate) fn decide<E>(
        &mut self,
        error: &E,
        attempts: u32,
        max_attempts: u32,
    ) -> Result<Next, StopReason>
    where
        W: Condition<E>,
        N: Notify<E>,
        H: Hint<E>,
    {
        if !self.when.should_retry(error) {
            return Err(StopReason::NotRetryable);
        }
        let rules = &mut self.rules;
        if attempts >= max_attempts {
            return Err(StopReason::Attempts);
        }
        // Jitter is drawn from a copy of the random source, kept once the
        // retry is decided: a hook that panics leaves the source as it was,
        // so the failure judged again gets the same delay.
        let mut drawn = None;
        let delay = match self.hint.hint(error) {
            Some(hint) => hint.min(self.backoff.max_delay()),
            None => {
                let prev = Duration::from_nanos(rules.prev);
                let rng = drawn.insert(rules.rng().clone());
                self.backoff.delay(attempts, prev, rng)
            }
        };
        let (next, prev) = if delay.is_zero() {
            (
                Next::Now {
                    held: rules.check_now()?,
                },
                0,
            )
        } else {
            let wait = rules.check_sleep(delay)?;
            (Next::After(wait), crate::backoff::nanos(delay))
        };
        self.notify.notify(error, attempts, delay);
        // The previous delay and the random source change only once the
        // retry is decided: a `notify` that panics leaves the backoff to be
        // asked the same question when the failure is judged again.
        self.rules.prev = prev;
        if drawn.is_some() {
            self.rules.rng = drawn;
        }
        Ok(next)
    }
}
