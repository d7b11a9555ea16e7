//! The system clock read through the CPU's counter, for code that reads
//! the time on every call of a hot operation (a rate limiter's
//! `try_acquire`) and needs it to the nearest tens of nanoseconds. It
//! lives here so that the pattern crates keep to their few dependencies.
//!
//! `Instant::now()` costs tens of nanoseconds on some machines (a virtual
//! machine's `clock_gettime`); the CPU's counter (the TSC, or the ARM
//! system counter, through `quanta`, which falls back to the monotonic
//! clock where there is no usable counter) is read in less. Each thread
//! keeps an anchor: an `Instant::now()` and the counter read just after
//! it. A reading is the anchor plus the counter's advance since, scaled to
//! nanoseconds by quanta's calibration (taken once as a 32.32 fixed-point
//! factor, so that a reading is one 64-bit multiplication and a shift).
//! The anchor is renewed once it is `SPAN_NS` old on the counter, or when
//! the counter went back (a thread moved to a core whose counter is
//! behind), so a reading differs from `Instant::now()` by about the time
//! that call takes (at most `MAX_READ_NS`) plus the calibration's error
//! over one span (tens of nanoseconds for an error of tens of parts per
//! million), and the difference never accumulates.
//!
//! Where a timer override (a `VirtualClock`) or tokio's clock applies
//! (see [`reads_system_clock`](crate::reads_system_clock)), there is no
//! reading: the callers read [`now`](crate::now) there.

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The system clock read through the CPU's counter: within tens of
/// nanoseconds of `Instant::now()`, and cheaper to read on machines where
/// that is slow.
///
/// For timestamps read on every call of a hot operation (a rate limiter's
/// tick), not for deadlines a timer must honour: a reading may be a few
/// nanoseconds before the instant a sleep woke at. It answers only where
/// the ambient clock is the system clock; under a
/// [`VirtualClock`](crate::VirtualClock) or tokio's clock, read
/// [`now`](crate::now) instead.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use anyrt::FastClock;
///
/// let clock = FastClock::get().expect("the system clock applies here");
/// let before = Instant::now();
/// let reading = clock.now().expect("the system clock applies here");
/// assert!(reading + Duration::from_millis(1) > before);
/// ```
pub struct FastClock {
    clock: quanta::Clock,
    base: Instant,
    /// Nanoseconds per 2^32 counts, so that an advance within an anchor's
    /// span converts with one 64-bit multiplication and a fixed shift
    /// (the span bounds the product under 2^53).
    factor: u64,
    /// The counts in `SPAN_NS`.
    span: u64,
}

static CLOCK: OnceLock<FastClock> = OnceLock::new();

/// How long an anchor is used, in nanoseconds on the counter.
const SPAN_NS: u64 = 1_000_000;

/// The longest a reading of the system clock may take, counter to
/// counter, for it to become an anchor.
const MAX_READ_NS: u64 = 10_000;

/// A reading of the system clock (in nanoseconds since the clock's base),
/// the counter just after it, and for how many counts after that it may be
/// used (zero: no anchor).
#[derive(Clone, Copy)]
struct Anchor {
    ns: u64,
    raw: u64,
    span: u64,
}

thread_local! {
    static ANCHOR: Cell<Anchor> = const { Cell::new(Anchor { ns: 0, raw: 0, span: 0 }) };
}

impl FastClock {
    /// The process's fast clock, calibrated by the first call made where
    /// the system clock applies (about a millisecond, at most 200 ms,
    /// once); `None` before that where it does not apply (code set up
    /// under a virtual clock does not pay for the calibration), and under
    /// Miri, which has no counter.
    ///
    /// Call it when building what will read it (a limiter), and keep the
    /// reference.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = anyrt::FastClock::get();
    /// assert!(clock.is_some(), "a plain thread reads the system clock");
    /// ```
    pub fn get() -> Option<&'static FastClock> {
        if cfg!(miri) {
            return None;
        }
        match CLOCK.get() {
            Some(clock) => Some(clock),
            None if crate::reads_system_clock() => Some(CLOCK.get_or_init(|| {
                let clock = quanta::Clock::new();
                let factor = clock.delta_as_nanos(0, 1 << 32).max(1);
                FastClock {
                    clock,
                    base: Instant::now(),
                    factor,
                    span: (SPAN_NS << 32) / factor,
                }
            })),
            None => None,
        }
    }

    /// The instant the readings of [`now_ns`](FastClock::now_ns) count
    /// from (taken when the clock was calibrated).
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = anyrt::FastClock::get().unwrap();
    /// assert!(clock.base() <= std::time::Instant::now());
    /// ```
    pub fn base(&self) -> Instant {
        self.base
    }

    /// The system clock, in nanoseconds since [`base`](FastClock::base);
    /// `None` where the ambient clock is not the system clock (a timer
    /// override, tokio's clock): read [`now`](crate::now) there.
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = anyrt::FastClock::get().unwrap();
    /// let (a, b) = (clock.now_ns().unwrap(), clock.now_ns().unwrap());
    /// assert!(b + 1_000 >= a, "readings of one thread follow each other");
    /// ```
    #[inline]
    pub fn now_ns(&self) -> Option<u64> {
        if !crate::reads_system_clock() {
            return None;
        }
        let raw = self.clock.raw();
        let anchor = ANCHOR.get();
        // A counter that went back wraps past any span.
        let since = raw.wrapping_sub(anchor.raw);
        if since < anchor.span {
            return Some(anchor.ns + ((since * self.factor) >> 32));
        }
        Some(self.reanchor())
    }

    /// The system clock as an `Instant`; `None` where the ambient clock is
    /// not the system clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{FastClock, VirtualClock, with_timer};
    ///
    /// # futures_lite::future::block_on(async {
    /// let clock = FastClock::get().unwrap();
    /// assert!(clock.now().is_some());
    /// let virtual_time = with_timer(VirtualClock::new(), async { clock.now() }).await;
    /// assert_eq!(virtual_time, None, "read anyrt::now() under a virtual clock");
    /// # });
    /// ```
    #[inline]
    pub fn now(&self) -> Option<Instant> {
        self.now_ns().map(|ns| self.base + Duration::from_nanos(ns))
    }

    /// Takes a new anchor: the counter, the system clock, the counter
    /// again. The second count is the anchor's, so that it is never from
    /// before the clock's reading; a thread held up between the reads
    /// (preempted) would pair the clock with a later count, so then
    /// nothing is anchored and the next reading tries again.
    #[cold]
    fn reanchor(&self) -> u64 {
        let first = self.clock.raw();
        let at = Instant::now();
        let raw = self.clock.raw();
        let since = at.saturating_duration_since(self.base);
        let ns = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        let held_up = self.clock.delta_as_nanos(first, raw) > MAX_READ_NS;
        let span = if held_up { 0 } else { self.span };
        ANCHOR.set(Anchor { ns, raw, span });
        ns
    }
}

impl fmt::Debug for FastClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastClock")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::FastClock;

    #[test]
    fn readings_follow_the_system_clock_closely() {
        let clock = FastClock::get().expect("the system clock applies in a plain test");
        let (mut ahead, mut behind) = (Duration::ZERO, Duration::ZERO);
        for i in 0..200_000u32 {
            let before = Instant::now();
            let reading = clock.now().expect("the system clock applies");
            let after = Instant::now();
            ahead = ahead.max(reading.saturating_duration_since(after));
            behind = behind.max(before.saturating_duration_since(reading));
            if i % 10_000 == 0 {
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        // Bounds with room for a slow machine; the error is far smaller.
        assert!(ahead < Duration::from_micros(20), "ahead by {ahead:?}");
        assert!(behind < Duration::from_micros(20), "behind by {behind:?}");
    }
}
