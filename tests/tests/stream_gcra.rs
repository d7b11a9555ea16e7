//! `anyrt_stream::gcra` is the arithmetic `RateLimiter` runs: replayed on
//! the pure function, a seeded sequence of requests at virtual times gets
//! the same grants, refusals and waits as the limiter. A limiter that keeps
//! its state elsewhere (a store shared by processes) can test its own copy
//! of the algorithm against the same function.

use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_stream::RateLimiter;
use anyrt_stream::gcra::{Decision, Gcra};

/// Replays `steps` random requests on a limiter of `rate` per `period`,
/// `burst` at once, and on the pure GCRA in ticks of `1 / scale` ns, one
/// permit every `emission` ticks (the limiter's exact ticks for that rate).
async fn replay(clock: &VirtualClock, rate: u32, period: Duration, burst: u32, ticks: (u64, u64)) {
    let (scale, emission) = ticks;
    let limiter = RateLimiter::builder(rate, period)
        .burst(burst)
        .build()
        .unwrap();
    let gcra = Gcra::new(emission, u64::from(burst)).unwrap();
    // Far enough past tick zero that the fresh state is rested.
    let offset = 2 * gcra.window();
    let mut rng = fastrand::Rng::with_seed(u64::from(rate) ^ u64::from(burst) << 32);
    let (mut tat, mut elapsed_ns, mut granted) = (0u64, 0u64, 0u32);
    let period_ns = u64::try_from(period.as_nanos()).unwrap();
    let interval_ns = period_ns.div_ceil(u64::from(rate));
    for step in 0..2_000 {
        let advance = match rng.u8(0..4) {
            0 => 0,
            _ => rng.u64(0..=2 * interval_ns),
        };
        clock.advance(Duration::from_nanos(advance));
        elapsed_ns += advance;
        let now = offset + elapsed_ns * scale;
        let cost = rng.u32(0..=burst + 1);
        let ours = limiter.try_acquire_n(cost);
        match gcra.decide(tat, now, u64::from(cost)) {
            Decision::Never => assert!(ours.is_err(), "step {step}: {cost} > burst {burst}"),
            Decision::Allow { tat: next } => {
                assert_eq!(ours, Ok(Ok(())), "step {step}: granted by the GCRA");
                tat = next;
                granted += cost;
            }
            Decision::Wait { until } => {
                let refused = ours.unwrap().unwrap_err();
                let wait = Duration::from_nanos((until - now).div_ceil(scale));
                assert_eq!(
                    refused.retry_after(),
                    wait,
                    "step {step}: refused until {until}"
                );
            }
        }
    }
    assert!(granted > 0, "the sequence granted something");
}

#[anyrt_test::test(virtual_time)]
async fn ten_a_second_in_whole_nanoseconds(clock: VirtualClock) {
    replay(&clock, 10, Duration::from_secs(1), 5, (1, 100_000_000)).await;
}

#[anyrt_test::test(virtual_time)]
async fn three_per_seven_milliseconds_in_thirds_of_a_nanosecond(clock: VirtualClock) {
    // 7 ms / 3 is no whole number of nanoseconds: the limiter counts in
    // thirds of one, where it is 7,000,000.
    replay(&clock, 3, Duration::from_millis(7), 4, (3, 7_000_000)).await;
}

#[anyrt_test::test(virtual_time)]
async fn a_burst_of_one(clock: VirtualClock) {
    replay(&clock, 1_000, Duration::from_secs(1), 1, (1, 1_000_000)).await;
}
