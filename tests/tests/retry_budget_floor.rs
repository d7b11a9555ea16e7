//! Regression tests: `RetryBudget`'s floor over-issued retries. It reset
//! its count on any change of second, backwards too, so a withdrawal that
//! read a stale second wiped the current second's count. The documented
//! bound, `retries ≤ ratio × calls + max_balance + min_per_sec × (seconds
//! + 1)`, must hold under any interleaving and any mix of clocks.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_retry::RetryBudget;

const SEC: Duration = Duration::from_secs(1);

/// A budget of the floor alone (no ratio, no balance), built under `clock`.
fn floor_only(clock: &VirtualClock, min_per_sec: u32) -> RetryBudget {
    under(clock, || {
        RetryBudget::builder()
            .ratio(0.0)
            .max_balance(0)
            .min_per_sec(min_per_sec)
            .build()
            .unwrap()
    })
}

/// Runs `f` with `clock` as the ambient timer.
fn under<T>(clock: &VirtualClock, f: impl FnOnce() -> T) -> T {
    futures_lite::future::block_on(anyrt_core::with_timer(clock.clone(), async { f() }))
}

/// How many of `tries` withdrawals under `clock` were granted.
fn granted(budget: &RetryBudget, clock: &VirtualClock, tries: u32) -> u32 {
    under(clock, || {
        (0..tries).map(|_| u32::from(budget.try_withdraw())).sum()
    })
}

#[test]
fn budget_floor_over_issues_when_clocks_disagree() {
    // Two clocks of different times draw on one budget: `late` reads second
    // 5 of the budget, `early` second 1. Each withdrawal under a clock other
    // than the last one used reset the floor's count.
    let late = VirtualClock::new();
    let early = VirtualClock::new();
    let budget = floor_only(&late, 10);
    late.advance(5 * SEC);
    early.advance(SEC);
    let total: u32 = (0..1000)
        .map(|_| granted(&budget, &late, 1) + granted(&budget, &early, 1))
        .sum();
    // The floor stands at second 5 from the first withdrawal on, and a
    // stale second draws on that second's count: ten in all, well within
    // the documented bound of 10 × (5 + 1).
    assert_eq!(total, 10);
}

#[test]
fn budget_floor_over_issues_after_a_stale_second() {
    let late = VirtualClock::new();
    let early = VirtualClock::new();
    let budget = floor_only(&late, 3);
    late.advance(2 * SEC);
    assert_eq!(granted(&budget, &late, 5), 3, "second 2 allows three");
    // A withdrawal that read an older second neither resets the count nor
    // moves the floor back: second 2 stays used up.
    assert_eq!(granted(&budget, &early, 5), 0);
    assert_eq!(granted(&budget, &late, 5), 0);
    // The next second of the newest clock has its own three.
    late.advance(SEC);
    assert_eq!(granted(&budget, &late, 5), 3);
    assert_eq!(granted(&budget, &early, 5), 0);
}

#[test]
fn budget_floor_over_issues_under_threads_at_different_seconds() {
    const THREADS: u32 = 8;
    const SECONDS: u32 = 10;
    const MIN_PER_SEC: u32 = 100;
    // Every clock is made before the budget, so none reads more than
    // second `SECONDS - 1` of the budget after `SECONDS - 1` steps.
    let clocks: Vec<VirtualClock> = (0..THREADS).map(|_| VirtualClock::new()).collect();
    let budget = floor_only(clocks.last().unwrap(), MIN_PER_SEC);
    let start = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = clocks
        .into_iter()
        .zip(0..)
        .map(|(clock, i)| {
            let (budget, start) = (budget.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                // Each thread walks through the seconds at its own pace,
                // so at any moment the threads read different seconds.
                let per_second = 300 + 100 * i;
                (0..SECONDS)
                    .map(|second| {
                        if second > 0 {
                            clock.advance(SEC);
                        }
                        granted(&budget, &clock, per_second)
                    })
                    .sum::<u32>()
            })
        })
        .collect();
    let total: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    // Ratio 0 and no balance: only the floor, `MIN_PER_SEC × (seconds + 1)`
    // with at most `SECONDS - 1` seconds elapsed on any clock.
    assert!(
        total <= MIN_PER_SEC * SECONDS,
        "{total} retries granted, more than {}",
        MIN_PER_SEC * SECONDS
    );
    // The floor of the last second was reached by every thread's clock.
    assert!(total >= MIN_PER_SEC, "{total} retries granted");
}
