//! Retry stop rules: attempts, elapsed time, the ambient deadline, the
//! predicate and the retry budget.

use std::cell::Cell;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_retry::{Constant, Jitter, RetryBudget, RetryError, StopReason, retry};

const SEC: Duration = Duration::from_secs(1);

fn constant(delay: Duration) -> Constant {
    Constant::new(delay).jitter(Jitter::None)
}

#[anyrt_test::test(virtual_time)]
async fn stops_after_max_attempts(clock: VirtualClock) {
    let calls = Cell::new(0);
    let err = retry(|| async {
        calls.set(calls.get() + 1);
        Err::<(), _>(calls.get())
    })
    .backoff(constant(SEC))
    .max_attempts(4)
    .await
    .unwrap_err();
    assert_eq!(err.reason(), StopReason::Attempts);
    assert_eq!((err.attempts(), *err.error(), calls.get()), (4, 4, 4));
    assert_eq!(clock.elapsed(), 3 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn first_success_sleeps_never(clock: VirtualClock) {
    let out = retry(|| async { Ok::<_, ()>(5) }).max_elapsed(SEC).await;
    assert_eq!(out, Ok(5));
    assert_eq!(clock.elapsed(), Duration::ZERO);
    assert_eq!(clock.pending_sleepers(), 0);
}

/// A retry of attempts that each take 2 s and fail, `delay` apart, within
/// `max_elapsed`.
async fn slow_failures(delay: Duration, max_elapsed: Duration) -> RetryError<&'static str> {
    retry(|| async {
        anyrt_core::sleep(2 * SEC).await;
        Err::<(), _>("slow failure")
    })
    .backoff(constant(delay))
    .max_attempts(100)
    .max_elapsed(max_elapsed)
    .await
    .unwrap_err()
}

#[anyrt_test::test(virtual_time)]
async fn elapsed_counts_slow_attempts(clock: VirtualClock) {
    // Attempts take 2 s and sleeps 1 s: attempts start at 0, 3, 6 and 9 s;
    // at 11 s a sleep would end at 12 s, past the 10 s limit.
    let err = slow_failures(SEC, 10 * SEC).await;
    assert!(err.reason().is_elapsed());
    assert_eq!(err.attempts(), 4);
    assert_eq!(clock.elapsed(), 11 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn elapsed_stops_zero_delay_retries_too(clock: VirtualClock) {
    // Attempts take 2 s and retry at once: they start at 0, 2 and 4 s; at
    // 6 s the next would start past the 5 s limit.
    let err = slow_failures(Duration::ZERO, 5 * SEC).await;
    assert!(err.reason().is_elapsed());
    assert_eq!(err.attempts(), 3);
    assert_eq!(clock.elapsed(), 6 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn never_sleeps_past_the_deadline(clock: VirtualClock) {
    // Attempts at 0, 3, 6 and 9 s; a sleep from 9 s would end at 12 s.
    let calls = Cell::new(0);
    let outcome = anyrt_deadline::within(10 * SEC, async {
        retry(|| async {
            calls.set(calls.get() + 1);
            Err::<(), _>("down")
        })
        .backoff(constant(3 * SEC))
        .max_attempts(100)
        .await
    })
    .await;
    let err = outcome
        .expect("the retry stops before the deadline")
        .unwrap_err();
    assert!(err.reason().is_deadline());
    assert_eq!((err.attempts(), calls.get()), (4, 4));
    assert_eq!(clock.elapsed(), 9 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn a_sleep_ending_at_the_deadline_is_not_started(clock: VirtualClock) {
    let outcome = anyrt_deadline::within(2 * SEC, async {
        retry(|| async { Err::<(), _>(()) })
            .backoff(constant(2 * SEC))
            .await
    })
    .await;
    assert!(outcome.unwrap().unwrap_err().reason().is_deadline());
    assert_eq!(clock.elapsed(), Duration::ZERO);
}

#[anyrt_test::test(virtual_time)]
async fn predicate_false_stops_at_once(clock: VirtualClock) {
    let calls = Cell::new(0);
    let err = retry(|| async {
        calls.set(calls.get() + 1);
        Err::<(), _>(if calls.get() < 2 {
            "transient"
        } else {
            "fatal"
        })
    })
    .backoff(constant(SEC))
    .max_attempts(10)
    .when(|e: &&str| *e != "fatal")
    .await
    .unwrap_err();
    assert!(err.reason().is_not_retryable());
    assert_eq!((err.attempts(), err.into_inner()), (2, "fatal"));
    assert_eq!(clock.elapsed(), SEC);
}

#[anyrt_test::test(virtual_time)]
async fn budget_caps_a_storm_of_sequential_calls() {
    let budget = RetryBudget::builder()
        .ratio(0.2)
        .min_per_sec(0)
        .build()
        .unwrap();
    let total = Cell::new(0u32);
    let mut stopped_by_budget = 0;
    for _ in 0..1000 {
        let err = retry(|| async {
            total.set(total.get() + 1);
            Err::<(), _>(())
        })
        .backoff(constant(Duration::ZERO))
        .max_attempts(5)
        .budget(budget.clone())
        .await
        .unwrap_err();
        stopped_by_budget += u32::from(err.reason().is_budget());
    }
    // Without the budget: 5,000 attempts.
    assert!(total.get() <= 1200, "{} attempts", total.get());
    assert!(total.get() >= 1000);
    assert!(stopped_by_budget >= 800);
}

#[anyrt_test::test(virtual_time)]
async fn budget_caps_a_storm_of_concurrent_calls(clock: VirtualClock) {
    let budget = RetryBudget::builder()
        .ratio(0.1)
        .min_per_sec(5)
        .build()
        .unwrap();
    let total = Cell::new(0u32);
    let calls = (0..1000).map(|i| {
        let (total, budget) = (&total, budget.clone());
        async move {
            anyrt_core::sleep(Duration::from_millis(i)).await;
            retry(|| async {
                total.set(total.get() + 1);
                Err::<(), _>(())
            })
            .backoff(constant(SEC))
            .max_attempts(5)
            .budget(budget)
            .await
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    assert!(outcomes.iter().all(Result::is_err));
    let seconds = clock.elapsed().as_secs() as u32;
    let bound = 1000 + 100 + 5 * (seconds + 1);
    assert!(
        total.get() <= bound,
        "{} attempts in {seconds} s, bound {bound}",
        total.get()
    );
}

#[anyrt_test::test(virtual_time)]
async fn max_elapsed_max_after_a_finite_one_lifts_the_limit(clock: VirtualClock) {
    let calls = Cell::new(0);
    let err = retry(|| async {
        calls.set(calls.get() + 1);
        Err::<(), _>(())
    })
    .backoff(constant(SEC))
    .max_attempts(5)
    .max_elapsed(SEC)
    .max_elapsed(Duration::MAX)
    .await
    .unwrap_err();
    assert_eq!((err.reason(), calls.get()), (StopReason::Attempts, 5));
    assert_eq!(clock.elapsed(), 4 * SEC);
}

#[anyrt_test::test]
async fn a_budget_set_before_lifting_max_elapsed_still_counts_the_call() {
    let budget = RetryBudget::builder()
        .ratio(1.0)
        .min_per_sec(0)
        .build()
        .unwrap();
    let out = retry(|| async { Ok::<_, ()>(1) })
        .budget(budget.clone())
        .max_elapsed(SEC)
        .max_elapsed(Duration::MAX)
        .await;
    assert_eq!(out, Ok(1));
    assert_eq!(budget.balance(), 1, "one call, one deposit");
}

#[anyrt_test::test(virtual_time)]
async fn zero_max_attempts_calls_once_like_one(clock: VirtualClock) {
    for max in [0, 1] {
        let calls = Cell::new(0);
        let err = retry(|| async {
            calls.set(calls.get() + 1);
            Err::<(), _>(calls.get())
        })
        .backoff(constant(SEC))
        .max_attempts(max)
        .await
        .unwrap_err();
        assert_eq!(err.reason(), StopReason::Attempts, "max_attempts({max})");
        assert_eq!((err.attempts(), *err.error(), calls.get()), (1, 1, 1));
    }
    assert_eq!(clock.elapsed(), Duration::ZERO, "no retry slept");
}
