//! The limiter's clock on its fast paths: the ambient clock, read through
//! the CPU's counter where that clock is the system's monotonic clock.
//!
//! `Instant::now()` costs tens of nanoseconds on some machines (a virtual
//! machine's `clock_gettime`), most of a `try_acquire`; the CPU's counter
//! (the TSC, or the ARM system counter, through `quanta`, which falls back
//! to the monotonic clock where there is no usable counter) is read in
//! less. Each thread keeps an anchor: an `Instant::now()` and the counter
//! read just after it. A reading is the anchor plus the counter's advance
//! since, scaled to nanoseconds by quanta's calibration. The anchor is
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
struct Counter {
    clock: quanta::Clock,
    base: Instant,
}

static COUNTER: OnceLock<Counter> = OnceLock::new();

/// How long an anchor is used, in nanoseconds on the counter.
const SPAN_NS: u64 = 1_000_000;

/// The longest a reading of the system clock may take, counter to
/// counter, for it to become an anchor.
const MAX_READ_NS: u64 = 10_000;

/// A reading of the system clock (in nanoseconds since the counter's base)
/// and of the counter just after it.
#[derive(Clone, Copy)]
struct Anchor {
    ns: u64,
    raw: u64,
}

thread_local! {
    static ANCHOR: Cell<Option<Anchor>> = const { Cell::new(None) };
}

/// The instant the counter's readings count from, calibrating the counter
/// first if the system clock applies here and nobody has yet; `None` where
/// neither is so (a limiter built under a virtual clock does not pay for
/// the calibration).
pub(crate) fn base() -> Option<Instant> {
    let counter = match COUNTER.get() {
        Some(counter) => counter,
        None if anyrt_core::reads_system_clock() => COUNTER.get_or_init(|| Counter {
            clock: quanta::Clock::new(),
            base: Instant::now(),
        }),
        None => return None,
    };
    Some(counter.base)
}

/// The system clock, in nanoseconds since [`base`], read through the
/// counter; `None` where the ambient clock is not the system clock (a
/// timer override, tokio's clock) or the counter was never started: read
/// `anyrt_core::now()` there.
#[inline]
pub(crate) fn system_ns() -> Option<u64> {
    let counter = COUNTER.get()?;
    if !anyrt_core::reads_system_clock() {
        return None;
    }
    let raw = counter.clock.raw();
    if let Some(anchor) = ANCHOR.get() {
        let ns = counter.clock.delta_as_nanos(anchor.raw, raw);
        if raw >= anchor.raw && ns < SPAN_NS {
            return Some(anchor.ns + ns);
        }
    }
    Some(reanchor(counter))
}

/// Takes a new anchor: the counter, the system clock, the counter again.
/// The second count is the anchor's, so that it is never from before the
/// clock's reading; a thread held up between the reads (preempted) would
/// pair the clock with a later count, so then nothing is anchored and the
/// next reading tries again.
#[cold]
fn reanchor(counter: &Counter) -> u64 {
    let first = counter.clock.raw();
    let at = Instant::now();
    let raw = counter.clock.raw();
    let since = at.saturating_duration_since(counter.base);
    let ns = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
    let held_up = counter.clock.delta_as_nanos(first, raw) > MAX_READ_NS;
    ANCHOR.set((!held_up).then_some(Anchor { ns, raw }));
    ns
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[test]
    fn readings_follow_the_system_clock_closely() {
        let base = super::base().expect("the system clock applies in a plain test");
        let (mut ahead, mut behind) = (Duration::ZERO, Duration::ZERO);
        for i in 0..200_000u32 {
            let before = Instant::now();
            let ns = super::system_ns().expect("the counter is started");
            let reading = base + Duration::from_nanos(ns);
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
