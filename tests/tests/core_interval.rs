//! Conformance: `interval` ticks at exact instants on the virtual clock,
//! with each missed-tick behaviour, as a future and as a stream.

use std::time::{Duration, Instant};

use anyrt_core::{MissedTickBehavior, VirtualClock};
use anyrt_tests::time::last_instant;
use futures::StreamExt;

const MS: Duration = Duration::from_millis(1);

/// Ticks every 10 ms; after the tick at 10 ms the body is busy for `busy`;
/// returns (tick, seen at) for the next `count` ticks, in ms from start.
async fn ticks_after_busy(
    behavior: MissedTickBehavior,
    busy: Duration,
    count: usize,
) -> Vec<(u128, u128)> {
    let start = anyrt_core::now();
    let ms = |at: Instant| (at - start).as_millis();
    let mut every = anyrt_core::interval(10 * MS);
    every.set_missed_tick_behavior(behavior);
    assert_eq!(ms(every.tick().await), 0);
    assert_eq!(ms(every.tick().await), 10);
    anyrt_core::sleep(busy).await;
    let mut seen = Vec::new();
    for _ in 0..count {
        let tick = every.tick().await;
        seen.push((ms(tick), ms(anyrt_core::now())));
    }
    seen
}

#[anyrt_test::test(virtual_time)]
async fn ticks_are_exact_and_the_first_is_at_the_start(clock: VirtualClock) {
    let start = clock.now();
    let mut every = anyrt_core::interval(Duration::from_secs(60));
    for n in 0..5u32 {
        assert_eq!(every.tick().await - start, Duration::from_secs(60) * n);
        assert_eq!(clock.now() - start, Duration::from_secs(60) * n);
    }
}

#[anyrt_test::test(virtual_time)]
async fn burst_catches_up_on_missed_ticks() {
    let seen = ticks_after_busy(MissedTickBehavior::Burst, 35 * MS, 4).await;
    assert_eq!(seen, vec![(20, 45), (30, 45), (40, 45), (50, 50)]);
}

#[anyrt_test::test(virtual_time)]
async fn delay_moves_the_schedule() {
    let seen = ticks_after_busy(MissedTickBehavior::Delay, 35 * MS, 3).await;
    assert_eq!(seen, vec![(20, 45), (55, 55), (65, 65)]);
}

#[anyrt_test::test(virtual_time)]
async fn skip_drops_the_missed_ticks() {
    let seen = ticks_after_busy(MissedTickBehavior::Skip, 35 * MS, 3).await;
    assert_eq!(seen, vec![(20, 45), (50, 50), (60, 60)]);
}

#[anyrt_test::test(virtual_time)]
async fn a_tick_less_than_a_period_late_keeps_the_schedule() {
    for behavior in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        let seen = ticks_after_busy(behavior, 15 * MS, 2).await;
        assert_eq!(seen, vec![(20, 25), (30, 30)], "{behavior:?}");
    }
}

#[anyrt_test::test(virtual_time)]
async fn the_stream_view_yields_the_same_ticks(clock: VirtualClock) {
    let start = clock.now();
    let ticks: Vec<_> = anyrt_core::interval(5 * MS)
        .take(4)
        .map(|tick| (tick - start).as_millis())
        .collect()
        .await;
    assert_eq!(ticks, vec![0, 5, 10, 15]);
}

#[anyrt_test::test(virtual_time)]
async fn a_cancelled_tick_loses_nothing(clock: VirtualClock) {
    let start = clock.now();
    let mut every = anyrt_core::interval(10 * MS);
    every.tick().await;
    // Dropped before its tick: the next call completes at the same tick.
    let early = anyrt_deadline::timeout(3 * MS, every.tick()).await;
    assert!(early.is_err());
    assert_eq!(every.tick().await - start, 10 * MS);
    assert_eq!(clock.now() - start, 10 * MS);
}

#[anyrt_test::test(virtual_time)]
async fn interval_at_and_reset(clock: VirtualClock) {
    let start = clock.now();
    let mut every = anyrt_core::interval_at(start + 7 * MS, 10 * MS);
    assert_eq!(every.tick().await - start, 7 * MS);
    anyrt_core::sleep(2 * MS).await;
    every.reset();
    assert_eq!(every.tick().await - start, 19 * MS);
}

#[anyrt_test::test]
async fn a_zero_period_is_raised_to_a_millisecond_and_still_waits() {
    let mut every = anyrt_core::interval(Duration::ZERO);
    assert_eq!(every.period(), MS);
    let first = every.tick().await;
    let second = every.tick().await;
    assert!(second - first >= MS);
}

#[anyrt_test::test]
async fn ticks_on_the_real_timer_are_never_early() {
    let mut every = anyrt_core::interval(2 * MS);
    let start = every.tick().await;
    for n in 1..=3u32 {
        every.tick().await;
        assert!(Instant::now() >= start + 2 * MS * n);
    }
}

/// Regression: a tick whose next instant cannot be represented (a period
/// that overflows `Instant`) was rescheduled at its own instant, so the
/// interval ticked at that one instant for ever, a busy loop; it must
/// stop ticking instead, with every missed-tick behaviour.
#[anyrt_test::test]
async fn regression_an_interval_whose_next_tick_overflows_instant_stops_ticking() {
    for behavior in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        let clock = VirtualClock::new();
        let last = last_instant(Instant::now());
        let start = last - Duration::from_secs(1);
        let ticks = anyrt_core::with_timer(clock.clone(), async {
            let mut every = anyrt_core::interval_at(start, Duration::from_millis(600));
            every.set_missed_tick_behavior(behavior);
            clock.advance_to(last);
            let mut ticks = Vec::new();
            while let Some(tick) = futures::FutureExt::now_or_never(every.tick()) {
                ticks.push(tick);
                assert!(ticks.len() <= 3, "{behavior:?}: ticks {ticks:?}");
            }
            ticks
        })
        .await;
        let expected: &[Instant] = match behavior {
            MissedTickBehavior::Burst => &[start, start + Duration::from_millis(600)],
            _ => &[start],
        };
        assert_eq!(ticks, expected, "{behavior:?}");
    }
}

/// Regression: the interval slept on the timer found where it was made,
/// but read the time of the timer found where it was polled, so one made
/// under a virtual clock and polled outside it scheduled a late tick from
/// the real time: with `Delay`, its next tick came a period after the
/// missed one instead of a period after the late one.
#[anyrt_test::test]
async fn regression_an_interval_reads_the_time_of_its_own_timer() {
    let clock = VirtualClock::new();
    let start = clock.now();
    let mut every = anyrt_core::with_timer(clock.clone(), async {
        let mut every = anyrt_core::interval(10 * MS);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        every
    })
    .await;
    let mut tick = || futures::FutureExt::now_or_never(every.tick());
    assert_eq!(tick(), Some(start));
    clock.advance(25 * MS);
    assert_eq!(tick(), Some(start + 10 * MS), "the late tick, at once");
    clock.advance(9 * MS);
    assert_eq!(
        tick(),
        None,
        "the next tick is a period after the late one, at 35 ms"
    );
    clock.advance(MS);
    assert_eq!(tick(), Some(start + 35 * MS));
}
