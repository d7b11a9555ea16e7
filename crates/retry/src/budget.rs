//! `RetryBudget`: a shared, lock-free cap on retries as a fraction of calls.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::BuildError;

/// Units of the balance per retry: ratios are kept to 1/10 000.
const UNIT: u64 = 10_000;

/// A retry budget shared by every clone: each call deposits a fraction of a
/// retry, each retry withdraws a whole one, so retries stay within `ratio`
/// of calls.
///
/// With ratio 0.2, a dependency that is down sees at most about
/// `calls × 1.2` requests, instead of `calls × max_attempts`: the budget
/// turns a retry storm into a trickle. On top of the balance, a floor of
/// `min_per_sec` retries in each second is always allowed, so a service with
/// little traffic can still retry. The balance holds at most `max_balance`
/// retries, so a long healthy spell does not bank an unbounded burst.
///
/// The bound is: retries ≤ `ratio × calls + max_balance +
/// min_per_sec × (seconds + 1)`, where `seconds` is the time since the
/// budget was built on the latest clock that withdrew from it. It holds
/// under any interleaving of threads, and when callers read clocks that
/// disagree (a thread that read the time a moment ago, or tasks under
/// different virtual clocks): the floor only moves forward, and a caller
/// that read an older second draws on the newest second's floor.
///
/// Lock-free (atomics only), no allocation after [`build`]; the floor reads
/// the ambient clock ([`anyrt::now`](anyrt_core::now)) on withdrawals only.
///
/// [`build`]: RetryBudgetBuilder::build
///
/// # Examples
///
/// ```
/// use anyrt::retry::RetryBudget;
///
/// let budget = RetryBudget::builder().ratio(0.5).min_per_sec(0).build()?;
/// assert!(!budget.try_withdraw()); // nothing deposited yet
/// budget.deposit();
/// budget.deposit();
/// assert!(budget.try_withdraw()); // two calls paid for one retry
/// assert!(!budget.try_withdraw());
/// # Ok::<(), anyrt::retry::BuildError>(())
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<Inner>,
}

/// Where a withdrawn retry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Withdrawal {
    /// The floor of retries per second, in the given second of the budget.
    Floor { second: u32 },
    /// The balance paid for by calls.
    Balance,
}

struct Inner {
    balance: AtomicU64,
    deposit: u64,
    max_balance: u64,
    min_per_sec: u32,
    epoch: Instant,
    /// The current second (high 32 bits) and the floor retries used in it.
    floor: AtomicU64,
}

impl RetryBudget {
    /// A builder with the defaults: ratio 0.2, 10 retries per second
    /// allowed regardless, a balance of at most 100 retries.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(0.1).build()?;
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder {
            ratio: 0.2,
            min_per_sec: 10,
            max_balance: 100,
        }
    }

    /// Records a call: adds `ratio` of a retry to the balance, up to
    /// `max_balance`. The retry loop calls it once per call, before the
    /// first attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(1.0).min_per_sec(0).build()?;
    /// budget.deposit();
    /// assert!(budget.try_withdraw());
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn deposit(&self) {
        let inner = &*self.inner;
        if inner.deposit == 0 {
            return;
        }
        let _ = inner
            .balance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |balance| {
                let next = balance.saturating_add(inner.deposit).min(inner.max_balance);
                (next != balance).then_some(next)
            });
    }

    /// Takes one retry from the per-second floor, else from the balance;
    /// `false` if neither has one left.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(0.0).min_per_sec(1).build()?;
    /// assert!(budget.try_withdraw()); // the floor of this second
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn try_withdraw(&self) -> bool {
        self.withdraw().is_some()
    }

    /// Takes one retry, from this second's floor first, and says where it
    /// came from so that [`refund`](Self::refund) can give it back.
    pub(crate) fn withdraw(&self) -> Option<Withdrawal> {
        if let Some(second) = self.take_floor() {
            return Some(Withdrawal::Floor { second });
        }
        self.take_balance().then_some(Withdrawal::Balance)
    }

    /// Gives back a retry that was withdrawn but never ran (its retry
    /// future was dropped while it slept or yielded). A floor retry of a
    /// second that has passed is not given back: that second's floor is
    /// gone anyway.
    pub(crate) fn refund(&self, withdrawal: Withdrawal) {
        let inner = &*self.inner;
        let _ = match withdrawal {
            Withdrawal::Balance => {
                inner
                    .balance
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |balance| {
                        Some(balance.saturating_add(UNIT).min(inner.max_balance))
                    })
            }
            Withdrawal::Floor { second } => {
                inner
                    .floor
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |packed| {
                        let (at, used) = ((packed >> 32) as u32, packed as u32);
                        (at == second && used > 0).then(|| packed - 1)
                    })
            }
        };
    }

    fn take_balance(&self) -> bool {
        let balance = &self.inner.balance;
        balance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| b.checked_sub(UNIT))
            .is_ok()
    }

    /// Takes a retry from the floor of the current second, if one is left,
    /// and returns the second it was taken from.
    ///
    /// The floor only moves forward: a caller that read an older second
    /// than the floor's (a stale read on another thread, or another clock)
    /// draws on the floor's second, and never resets its count. So each
    /// second the floor stands at grants at most `min_per_sec`, whatever
    /// the interleaving.
    fn take_floor(&self) -> Option<u32> {
        let inner = &*self.inner;
        if inner.min_per_sec == 0 {
            return None;
        }
        let now = anyrt_core::now().saturating_duration_since(inner.epoch);
        let second = u32::try_from(now.as_secs()).unwrap_or(u32::MAX);
        let min = inner.min_per_sec;
        let mut taken = second;
        let update = inner
            .floor
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |packed| {
                let (at, used) = ((packed >> 32) as u32, packed as u32);
                if second > at {
                    taken = second;
                    return Some(u64::from(second) << 32 | 1);
                }
                taken = at;
                (used < min).then_some(packed + 1)
            });
        update.ok().map(|_| taken)
    }

    /// How many whole retries the balance holds now (the floor not
    /// counted).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(0.5).build()?;
    /// (0..5).for_each(|_| budget.deposit());
    /// assert_eq!(budget.balance(), 2);
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn balance(&self) -> u64 {
        self.inner.balance.load(Ordering::Acquire) / UNIT
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        let builder = RetryBudget::builder();
        builder
            .build()
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ratio", &(self.inner.deposit as f64 / UNIT as f64))
            .field("min_per_sec", &self.inner.min_per_sec)
            .field("balance", &self.balance())
            .finish()
    }
}

/// Builds a [`RetryBudget`]; made by [`RetryBudget::builder`].
///
/// # Examples
///
/// ```
/// use anyrt::retry::RetryBudget;
///
/// let err = RetryBudget::builder().ratio(-1.0).build().unwrap_err();
/// assert!(err.is_invalid_ratio());
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct RetryBudgetBuilder {
    ratio: f64,
    min_per_sec: u32,
    max_balance: u32,
}

impl RetryBudgetBuilder {
    /// Retries allowed per call, on average (0.2: one retry per five
    /// calls). Kept to 1/10 000.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(0.25).min_per_sec(0).build()?;
    /// (0..8).for_each(|_| budget.deposit());
    /// assert_eq!(budget.balance(), 2); // a quarter of a retry per call
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn ratio(self, ratio: f64) -> Self {
        RetryBudgetBuilder { ratio, ..self }
    }

    /// Retries allowed in each second whatever the balance (0 for none).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(0.0).min_per_sec(2).build()?;
    /// assert_eq!(budget.balance(), 0); // no call has paid for a retry
    /// assert!(budget.try_withdraw()); // but this second's floor allows two
    /// assert!(budget.try_withdraw());
    /// assert!(!budget.try_withdraw());
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn min_per_sec(self, min_per_sec: u32) -> Self {
        RetryBudgetBuilder {
            min_per_sec,
            ..self
        }
    }

    /// The most retries the balance can hold.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(1.0).max_balance(3).build()?;
    /// (0..10).for_each(|_| budget.deposit());
    /// assert_eq!(budget.balance(), 3); // ten calls, but only three retries banked
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn max_balance(self, max_balance: u32) -> Self {
        RetryBudgetBuilder {
            max_balance,
            ..self
        }
    }

    /// Checks the configuration and builds the budget, starting with an
    /// empty balance.
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidRatio`] when the ratio is negative or not finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let budget = RetryBudget::builder().ratio(0.5).build()?;
    /// assert_eq!(budget.balance(), 0); // a new budget starts empty
    ///
    /// let err = RetryBudget::builder().ratio(f64::NAN).build().unwrap_err();
    /// assert!(err.is_invalid_ratio());
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// ```
    pub fn build(self) -> Result<RetryBudget, BuildError> {
        if !self.ratio.is_finite() || self.ratio < 0.0 {
            return Err(BuildError::InvalidRatio);
        }
        let inner = Inner {
            balance: AtomicU64::new(0),
            deposit: (self.ratio * UNIT as f64).round() as u64,
            max_balance: u64::from(self.max_balance) * UNIT,
            min_per_sec: self.min_per_sec,
            epoch: anyrt_core::now(),
            floor: AtomicU64::new(0),
        };
        Ok(RetryBudget {
            inner: Arc::new(inner),
        })
    }
}
