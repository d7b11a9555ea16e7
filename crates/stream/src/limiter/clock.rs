//! The limiter's clock on its fast paths: the ambient clock, read through
//! the CPU's counter where that clock is the system's monotonic clock.
//!
//! `Instant::now()` costs tens of nanoseconds on some machines (a virtual
//! machine's `clock_gettime`), most of a `try_acquire`; the CPU's counter
//! (the TSC, or the ARM system counter, through `quanta`, which falls back
//! to the monotonic clock where there is no usable counter) is read in
//! less. Each thread keeps an anchor: an `Instant::now()` and the counter
//! read just after it. A reading is the anchor plus the counter's advance
//! since, scaled to nanoseconds by quanta's calibration (taken once as a
//! 32.32 fixed-point factor, so that a reading is one 64-bit multiplication
//! and a shift; the limiter turns it into its ticks with one more, never
//! through an `Instant`). The anchor is
//! renewed once it is `SPAN_NS` old on the counter, or when the counter
//! went back (a thread moved to a core whose counter is behind), so a
//! reading differs from `Instant::now()` by about the time that call takes
//! (at most `MAX_READ_NS`) plus the calibration's error over one span
//! (tens of nanoseconds for an error of tens of parts per million), and
//! the difference never accumulates: the long-run rate
//! stays exact on the system clock, and the GCRA sees the clock as it
//! would see `Instant::now()` read a few nanoseconds early or late.
//!
//! The waiters' queued path, whose deadlines the timer checks against the
//! system clock, reads `anyrt_core::now()` itself, so a waiter woken at its
//! deadline always finds its permits due. Where a timer override (a
//! `VirtualClock`) or tokio's clock applies (see
//! `anyrt_core::reads_system_clock`), every path reads `anyrt_core::now()`.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Instant;

/// The counter, calibrated once per process by the first limiter built
/// where the system clock applies, and the instant its readings count from.
pub(crate) struct Counter {
    clock: quanta::Clock,
    base: Instant,
    /// Nanoseconds per 2^32 counts, so that an advance within an anchor's
    /// span converts with one 64-bit multiplication and a fixed shift
    /// (the span bounds the product under 2^53).
    factor: u64,
    /// The counts in `SPAN_NS`.
    span: u64,
}

static COUNTER: OnceLock<Counter> = OnceLock::new();

/// How long an anchor is used, in nanoseconds on the counter.
const SPAN_NS: u64 = 1_000_000;

/// The longest a reading of the system clock may take, counter to
/// counter, for it to become an anchor.
const MAX_READ_NS: u64 = 10_000;

/// A reading of the system clock (in nanoseconds since the counter's base),
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

impl Counter {
    /// The counter, calibrating it first if the system clock applies here
    /// and nobody has yet; `None` where neither is so (a limiter built
    /// under a virtual clock does not pay for the calibration).
    pub(crate) fn get() -> Option<&'static Counter> {
        match COUNTER.get() {
            Some(counter) => Some(counter),
            None if anyrt_core::reads_system_clock() => Some(COUNTER.get_or_init(|| {
                let clock = quanta::Clock::new();
                let factor = clock.delta_as_nanos(0, 1 << 32).max(1);
                Counter {
                    clock,
                    base: Instant::now(),
                    factor,
                    span: (SPAN_NS << 32) / factor,
                }
            })),
            None => None,
        }
    }

    /// The instant the counter's readings count from.
    pub(crate) fn base(&self) -> Instant {
        self.base
    }

    /// The system clock, in nanoseconds since [`base`](Counter::base), read
    /// through the counter; `None` where the ambient clock is not the
    /// system clock (a timer override, tokio's clock): read
    /// `anyrt_core::now()` there.
    #[inline]
    pub(crate) fn now_ns(&self) -> Option<u64> {
        if !anyrt_core::reads_system_clock() {
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Counter;

    #[test]
    fn readings_follow_the_system_clock_closely() {
        let counter = Counter::get().expect("the system clock applies in a plain test");
        let (mut ahead, mut behind) = (Duration::ZERO, Duration::ZERO);
        for i in 0..200_000u32 {
            let before = Instant::now();
            let ns = counter.now_ns().expect("the system clock applies");
            let reading = counter.base() + Duration::from_nanos(ns);
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
