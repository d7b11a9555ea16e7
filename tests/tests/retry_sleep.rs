//! The sleeps between attempts: one sleep is made at the first retry and
//! moved to each later deadline, so these tests check that every sleep after
//! the first still waits its whole delay, on the virtual clock and on each
//! runtime's real timer.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_retry::{Constant, Exponential, Jitter, retry};

const MS: Duration = Duration::from_millis(1);

/// Runs a retry whose first `failures` attempts fail and returns the
/// instant each attempt started.
async fn attempt_starts<B: anyrt_retry::Backoff>(backoff: B, failures: usize) -> Vec<Instant> {
    let starts = RefCell::new(Vec::new());
    let out = retry(|| {
        let mut starts = starts.borrow_mut();
        starts.push(anyrt_core::now());
        let n = starts.len();
        async move { if n <= failures { Err(n) } else { Ok(n) } }
    })
    .backoff(backoff)
    .max_attempts(10)
    .await;
    assert_eq!(out, Ok(failures + 1));
    starts.into_inner()
}

#[anyrt_test::test(virtual_time)]
async fn each_sleep_waits_its_own_delay_exactly(clock: VirtualClock) {
    let policy = Exponential::builder()
        .initial(10 * MS)
        .max_delay(Duration::from_secs(1))
        .jitter(Jitter::None)
        .build()
        .unwrap();
    let starts = attempt_starts(policy, 4).await;
    let offsets: Vec<Duration> = starts.iter().map(|t| *t - starts[0]).collect();
    assert_eq!(offsets, [0, 10, 30, 70, 150].map(|ms| ms * MS));
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test]
async fn later_sleeps_are_never_early_on_a_real_timer() {
    let delay = 3 * MS;
    let starts = attempt_starts(Constant::new(delay).jitter(Jitter::None), 3).await;
    assert_eq!(starts.len(), 4);
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= delay,
            "an attempt started {gap:?} after the last one, before the {delay:?} delay"
        );
    }
}
