//! The state every clone of a limiter shares: the GCRA state on one atomic,
//! the clock conversion, and the queue of waiters.

use std::collections::VecDeque;
use std::task::Waker;

#[cfg(all(test, anyrt_loom))]
use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(all(test, anyrt_loom))]
use loom::sync::{Mutex, MutexGuard};
#[cfg(not(all(test, anyrt_loom)))]
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(not(all(test, anyrt_loom)))]
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyrt_core::FastClock;

use super::RateLimited;
use crate::gcra::{Decision, Gcra};

/// The largest number of ticks per nanosecond: with it the clock covers
/// `u64::MAX / 16` ns, about 36 years (35 after the limiter's creation, one
/// before it), past `anyrt_core::far_future`.
const MAX_SCALE: u64 = 16;

/// How far before the limiter's creation its clock reaches, in
/// nanoseconds (a year): a clone used under a clock that is behind the one
/// it was made under (another `VirtualClock`, or the real clock after a
/// virtual one that ran ahead) still sees time pass.
const BEHIND_NS: u64 = 365 * 24 * 3600 * 1_000_000_000;

/// Why a permit could not be taken now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Allowed at this tick ([`Shared::instant`] gives the instant, for a
    /// waiter's sleep; `try_acquire` needs neither).
    Until(u64),
    /// More than the burst.
    Never,
}

pub(crate) struct Shared {
    /// The theoretical arrival time, in ticks since `epoch`.
    tat: AtomicU64,
    gcra: Gcra,
    /// Ticks per nanosecond.
    scale: u64,
    /// The instant of tick `behind`: earlier instants count down from it
    /// to tick zero, later ones up.
    epoch: Instant,
    behind: u64,
    /// Where a clock past the range of the ticks stands still, so that the
    /// GCRA grants what is left of the burst and then refuses (at a tick
    /// saturated at `u64::MAX` no grant would fit, and the limiter could
    /// only refuse): `u64::MAX - window`, where a grant always fits.
    top: u64,
    /// The limiter's fast clock (see [`FastClock`]), if it has one.
    fast: Option<Fast>,
    /// How many waiters are queued: `try_acquire` and new waiters take the
    /// fast path only when it is zero, so they never pass a queued waiter.
    queued: AtomicUsize,
    queue: Mutex<Queue>,
    pub(crate) rate: u32,
    pub(crate) period: Duration,
    pub(crate) burst: u32,
}

/// The system clock read through the CPU's counter ([`FastClock`]), and the tick of each of
/// its readings: a reading of `ns` nanoseconds since the counter's base is
/// tick `ns * scale + add - sub` (one of the two is zero), the same as
/// [`Shared::ticks`] of the instant `base + ns`, with no `Instant` between.
#[derive(Clone, Copy)]
struct Fast {
    counter: &'static FastClock,
    add: u64,
    sub: u64,
}

impl Fast {
    /// The fast clock of a limiter whose tick `behind` is at `epoch`, if
    /// the counter is started and `epoch` is not before its base.
    fn new(epoch: Instant, behind: u64, scale: u64) -> Option<Fast> {
        let counter = FastClock::get()?;
        let epoch_ns = epoch.checked_duration_since(counter.base())?.as_nanos();
        // Tick zero minus the base, in ticks: `behind - epoch_ns * scale`.
        let offset = i128::from(behind) - i128::try_from(epoch_ns).ok()? * i128::from(scale);
        let clamp = |ticks: i128| u64::try_from(ticks.max(0)).unwrap_or(u64::MAX);
        Some(Fast {
            counter,
            add: clamp(offset),
            sub: clamp(-offset),
        })
    }

    /// The tick of now, if the system clock applies here.
    #[inline]
    fn ticks(&self, scale: u64) -> Option<u64> {
        let ns = self.counter.now_ns()?;
        // Past the range: `u64::MAX`, which the limiter pins.
        let ticks = ns.checked_mul(scale).and_then(|t| t.checked_add(self.add));
        Some(ticks.map_or(u64::MAX, |t| t.saturating_sub(self.sub)))
    }
}

/// Waiters in arrival order; ids grow, so a waiter is found by binary search.
#[derive(Default)]
struct Queue {
    next_id: u64,
    waiters: VecDeque<Entry>,
}

struct Entry {
    id: u64,
    waker: Option<Waker>,
}

impl Shared {
    /// The state for `rate` permits per `period`, `burst` at once, with the
    /// clock starting at `epoch`; `None` if the numbers do not fit.
    pub(crate) fn new(rate: u32, period: Duration, burst: u32, epoch: Instant) -> Option<Shared> {
        let period_ns = u64::try_from(period.as_nanos()).ok()?;
        let (scale, emission) = ticks_per_permit(u64::from(rate), period_ns);
        let gcra = Gcra::new(emission, u64::from(burst))?;
        // Never so far that a burst's span no longer fits after it.
        let behind = BEHIND_NS
            .saturating_mul(scale)
            .min((u64::MAX - gcra.window()) / 2);
        Some(Shared {
            tat: AtomicU64::new(0),
            gcra,
            scale,
            epoch,
            behind,
            top: u64::MAX - gcra.window(),
            fast: Fast::new(epoch, behind, scale),
            queued: AtomicUsize::new(0),
            queue: Mutex::new(Queue::default()),
            rate,
            period,
            burst,
        })
    }

    fn ticks(&self, now: Instant) -> u64 {
        let to_ticks = |elapsed: Duration| {
            u64::try_from(elapsed.as_nanos())
                .unwrap_or(u64::MAX)
                .saturating_mul(self.scale)
        };
        match now.checked_duration_since(self.epoch) {
            Some(after) => self.pinned(self.behind.saturating_add(to_ticks(after))),
            None => self.behind.saturating_sub(to_ticks(self.epoch - now)),
        }
    }

    /// The tick of now on the ambient clock, read the cheap way where the
    /// system clock applies (see [`FastClock`]), else `ticks(anyrt_core::now())`.
    #[inline]
    fn ticks_now(&self) -> u64 {
        match self.fast.and_then(|fast| fast.ticks(self.scale)) {
            Some(ticks) => self.pinned(ticks),
            None => self.ticks_ambient(),
        }
    }

    /// A tick saturated at `u64::MAX` (the clock is past the range) stands
    /// at [`top`](Shared::top).
    #[inline]
    fn pinned(&self, ticks: u64) -> u64 {
        match ticks {
            u64::MAX => self.top,
            ticks => ticks,
        }
    }

    /// The tick of `anyrt_core::now()`: where a virtual clock or tokio's
    /// clock applies, or the fast clock is not started.
    fn ticks_ambient(&self) -> u64 {
        self.ticks(anyrt_core::now())
    }

    /// The first instant at or after tick `tick`, for a waiter refused at
    /// `now` to sleep until (whole nanoseconds). Counted from `now`, not
    /// from the epoch: `deadline_after` caps a deadline at `far_future`
    /// (or 30 years past its start), and one counted from the epoch would
    /// be due at once on a clock at or past that cap, so the waiter would
    /// spin. A permit past the range of the ticks never comes due: the
    /// waiter sleeps as long as a sleep can.
    pub(crate) fn deadline(&self, now: Instant, tick: u64) -> Instant {
        let at = self.ticks(now);
        let wait = match tick {
            // Beyond the range: it never comes due.
            u64::MAX => Duration::MAX,
            tick => Duration::from_nanos(tick.saturating_sub(at).div_ceil(self.scale)),
        };
        anyrt_core::deadline_after(now, wait)
    }

    /// Takes `cost` permits at `now` if the GCRA allows it: one
    /// compare-and-swap loop on the state.
    ///
    /// `due` is the tick a waiter slept until, if it did: woken at that
    /// tick rounded up to a nanosecond, it is counted as arriving at the
    /// tick itself, so the rounding is not lost from the long-run rate.
    pub(crate) fn take(&self, now: Instant, cost: u64, due: Option<u64>) -> Result<(), Refusal> {
        self.take_at(self.ticks(now), cost, due)
    }

    /// Takes `cost` permits now, if the GCRA allows it, with the clock read
    /// the cheap way (see `ticks_now`): the fast paths of `try_acquire` and
    /// of a new waiter, which queues if refused.
    #[inline]
    pub(crate) fn take_now(&self, cost: u64) -> Result<(), Refusal> {
        self.take_at(self.ticks_now(), cost, None)
    }

    /// For `try_acquire`: takes `cost` permits (at most the burst) now if
    /// nobody is queued and the GCRA allows it; else says how long until
    /// the GCRA would (with waiters queued, a lower bound).
    #[inline]
    pub(crate) fn try_take(&self, cost: u64) -> Result<(), RateLimited> {
        let queued = !self.nobody_queued();
        let now = self.ticks_now();
        let until = if queued {
            match self
                .gcra
                .decide(self.tat.load(Ordering::Acquire), now, cost)
            {
                Decision::Wait { until } => until,
                Decision::Allow { .. } | Decision::Never => now,
            }
        } else {
            match self.take_at(now, cost, None) {
                Ok(()) => return Ok(()),
                Err(Refusal::Until(until)) => until,
                // The callers check the burst first.
                Err(Refusal::Never) => u64::MAX,
            }
        };
        Err(self.refused(until.saturating_sub(now)))
    }

    /// A refusal `wait` ticks before its permits are due.
    #[cold]
    fn refused(&self, wait: u64) -> RateLimited {
        RateLimited {
            wait_ns: wait.div_ceil(self.scale),
        }
    }

    #[inline]
    fn take_at(&self, mut now: u64, cost: u64, due: Option<u64>) -> Result<(), Refusal> {
        if let Some(due) = due {
            if now > due && now - due < self.scale {
                now = due;
            }
        }
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            match self.gcra.decide(tat, now, cost) {
                Decision::Allow { tat: next } => {
                    match self.tat.compare_exchange_weak(
                        tat,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return Ok(()),
                        Err(current) => tat = current,
                    }
                }
                Decision::Wait { until } => {
                    return Err(Refusal::Until(until));
                }
                Decision::Never => return Err(Refusal::Never),
            }
        }
    }

    /// Permits that could be taken at `now`, ignoring the queue.
    pub(crate) fn available(&self, now: Instant) -> u64 {
        self.gcra
            .available(self.tat.load(Ordering::Acquire), self.ticks(now))
    }

    /// Whether a newcomer may try the state directly (nobody is queued).
    #[inline]
    pub(crate) fn nobody_queued(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }

    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a waiter at the back and returns its id.
    pub(crate) fn join(&self, waker: &Waker) -> u64 {
        let mut queue = self.lock();
        let id = queue.next_id;
        queue.next_id += 1;
        queue.waiters.push_back(Entry {
            id,
            waker: Some(waker.clone()),
        });
        self.queued.store(queue.waiters.len(), Ordering::Release);
        id
    }

    /// Whether waiter `id` is at the head; if not, its waker is updated to
    /// `waker`.
    pub(crate) fn is_head(&self, id: u64, waker: &Waker) -> bool {
        // A waker replaced is dropped after the lock (declared before it):
        // dropping the last handle of a task may drop a waiter of this
        // limiter, whose leave takes the lock.
        let mut replaced = None;
        let mut queue = self.lock();
        match queue.waiters.front() {
            Some(front) if front.id == id => true,
            _ => {
                if let Some(entry) = queue.find(id) {
                    match &mut entry.waker {
                        Some(old) if old.will_wake(waker) => {}
                        slot => replaced = slot.replace(waker.clone()),
                    }
                }
                drop(queue);
                drop(replaced);
                false
            }
        }
    }

    /// Takes waiter `id` out of the queue (granted or given up); if it was
    /// at the head, wakes the next one, whose turn it now is.
    ///
    /// Its own waker is dropped after the lock, as in
    /// [`is_head`](Self::is_head). A next waker that panics (its waiter's
    /// bug, reported by the panic hook) goes no further: the caller may be
    /// a grant that already took its permit, or a drop while its task
    /// unwinds, where a second panic would abort.
    pub(crate) fn leave(&self, id: u64) {
        let (left, next) = {
            let mut queue = self.lock();
            let Ok(position) = queue.waiters.binary_search_by_key(&id, |e| e.id) else {
                return;
            };
            let left = queue.waiters.remove(position);
            self.queued.store(queue.waiters.len(), Ordering::Release);
            let next = match position {
                0 => queue.waiters.front_mut().and_then(|e| e.waker.take()),
                _ => None,
            };
            (left, next)
        };
        drop(left);
        if let Some(waker) = next {
            anyrt_core::wake_quietly(waker);
        }
    }
}

impl Queue {
    fn find(&mut self, id: u64) -> Option<&mut Entry> {
        let position = self.waiters.binary_search_by_key(&id, |e| e.id).ok()?;
        self.waiters.get_mut(position)
    }
}

/// Ticks per nanosecond and ticks per permit for `rate` permits per
/// `period_ns`. With ticks of `1 / scale` ns, where `scale` is `rate`
/// divided by its common factor with the period, the interval between two
/// permits is a whole number of ticks and the long-run rate is exact. When
/// that scale would shorten the clock's range too much, ticks are 1/16 ns
/// (the finest the range allows) and the interval is rounded up: never
/// faster than asked, and slower by less than 1/16 ns per permit.
fn ticks_per_permit(rate: u64, period_ns: u64) -> (u64, u64) {
    let common = gcd(rate, period_ns).max(1);
    let scale = rate / common;
    if scale <= MAX_SCALE {
        return (scale, period_ns / common);
    }
    let ticks = (u128::from(period_ns) * u128::from(MAX_SCALE)).div_ceil(u128::from(rate));
    (MAX_SCALE, u64::try_from(ticks).unwrap_or(u64::MAX))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(all(test, not(anyrt_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::{Shared, ticks_per_permit};

    #[test]
    fn racing_takes_grant_exactly_the_burst() {
        let epoch = Instant::now();
        let shared = Shared::new(1, Duration::from_secs(3600), 3, epoch).unwrap();
        let granted = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..2 {
                        if shared.take(epoch, 1, None).is_ok() {
                            granted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        assert_eq!(granted.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn permits_are_a_whole_number_of_ticks_apart() {
        assert_eq!(ticks_per_permit(100, 1_000_000_000), (1, 10_000_000));
        assert_eq!(ticks_per_permit(3, 1_000_000_000), (3, 1_000_000_000));
        assert_eq!(ticks_per_permit(7, 1_000), (7, 1_000));
        assert_eq!(ticks_per_permit(2_000_000_000, 1_000_000_000), (2, 1));
        // Too fine a scale: sixteenths of a nanosecond, rounded up.
        assert_eq!(ticks_per_permit(333, 1_000_000_000), (16, 48_048_049));
        assert_eq!(
            ticks_per_permit(u64::from(u32::MAX), 1_000_000_000),
            (16, 4)
        );
        assert_eq!(ticks_per_permit(u64::from(u32::MAX), 1), (16, 1));
    }
}
