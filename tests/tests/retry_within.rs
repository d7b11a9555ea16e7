//! `Retry::within`: one deadline over the whole retry, one error type.

use std::cell::Cell;
use std::io;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_retry::{Constant, Jitter, StopReason, retry, retry_with};

const SEC: Duration = Duration::from_secs(1);

fn refused() -> io::Error {
    io::Error::from(io::ErrorKind::ConnectionRefused)
}

#[anyrt_test::test(virtual_time)]
async fn a_deadline_during_an_attempt_is_a_retry_error_of_kind_timed_out(clock: VirtualClock) {
    let calls = Cell::new(0);
    // Attempts of 10 s, 1 s apart: the third starts at 22 s and is cut at 25 s.
    let err = retry(|| async {
        calls.set(calls.get() + 1);
        anyrt_core::sleep(10 * SEC).await;
        Err::<(), _>(refused())
    })
    .backoff(Constant::new(SEC).jitter(Jitter::None))
    .max_attempts(10)
    .within(25 * SEC)
    .await
    .unwrap_err();
    assert_eq!(err.reason(), StopReason::Deadline);
    assert_eq!((err.attempts(), calls.get()), (3, 3));
    assert_eq!(err.error().kind(), io::ErrorKind::TimedOut);
    assert_eq!(clock.elapsed(), 25 * SEC);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_deadline_before_a_sleep_ends_keeps_the_last_real_error(clock: VirtualClock) {
    // Fast failures 10 s apart: after the second (at 10 s) the next sleep
    // would end at 20 s, past the deadline at 15 s.
    let err = retry(|| async { Err::<(), _>(refused()) })
        .backoff(Constant::new(10 * SEC).jitter(Jitter::None))
        .max_attempts(10)
        .within(15 * SEC)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), StopReason::Deadline);
    assert_eq!(err.attempts(), 2);
    assert_eq!(err.error().kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(clock.elapsed(), 10 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn a_deadline_during_the_first_attempt_counts_one_attempt() {
    let err = retry(|| async {
        anyrt_core::sleep(60 * SEC).await;
        Ok::<_, io::Error>(())
    })
    .within(SEC)
    .await
    .unwrap_err();
    assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 1));
}

#[anyrt_test::test(virtual_time)]
async fn a_retry_within_a_deadline_succeeds_as_without(clock: VirtualClock) {
    let calls = Cell::new(0);
    let out = retry(|| async {
        calls.set(calls.get() + 1);
        anyrt_core::sleep(SEC).await;
        if calls.get() < 3 {
            Err(refused())
        } else {
            Ok(calls.get())
        }
    })
    .backoff(Constant::new(SEC).jitter(Jitter::None))
    .within(60 * SEC)
    .await;
    assert_eq!(out.unwrap(), 3);
    assert_eq!(clock.elapsed(), 5 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn an_outer_deadline_that_is_earlier_wins(clock: VirtualClock) {
    let out = anyrt_deadline::within(2 * SEC, async {
        retry(|| async {
            anyrt_core::sleep(60 * SEC).await;
            Ok::<_, io::Error>(())
        })
        .within(30 * SEC)
        .await
    })
    .await;
    // The inner `within` cannot extend the outer deadline: the retry is cut
    // at 2 s, and says so in its own error type.
    let err = out.unwrap().unwrap_err();
    assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 1));
    assert_eq!(clock.elapsed(), 2 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn a_retry_within_inside_an_attempt_of_another_keeps_its_own_count() {
    let outer_calls = Cell::new(0);
    let err = retry(|| async {
        outer_calls.set(outer_calls.get() + 1);
        // An inner bounded retry that runs 4 attempts and gives up.
        let inner = retry(|| async { Err::<(), _>(refused()) })
            .backoff(Constant::new(Duration::ZERO))
            .max_attempts(4)
            .within(SEC)
            .await
            .unwrap_err();
        assert_eq!(inner.attempts(), 4);
        anyrt_core::sleep(60 * SEC).await;
        Err::<(), _>(refused())
    })
    .backoff(Constant::new(Duration::ZERO))
    .within(90 * SEC)
    .await
    .unwrap_err();
    assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 2));
    assert_eq!(outer_calls.get(), 2);
}

#[anyrt_test::test(virtual_time)]
async fn retry_with_within_a_deadline_cut_during_an_attempt(clock: VirtualClock) {
    let mut calls = 0_u32;
    let err = retry_with(&mut calls, async |calls: &mut u32| {
        *calls += 1;
        anyrt_core::sleep(10 * SEC).await;
        Err::<(), _>(refused())
    })
    .backoff(Constant::new(SEC).jitter(Jitter::None))
    .max_attempts(10)
    .within(25 * SEC)
    .await
    .unwrap_err();
    assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 3));
    assert_eq!(err.error().kind(), io::ErrorKind::TimedOut);
    assert_eq!(calls, 3);
    assert_eq!(clock.elapsed(), 25 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn retry_with_within_a_deadline_keeps_the_last_real_error(clock: VirtualClock) {
    let mut calls = 0_u32;
    let err = retry_with(&mut calls, async |calls: &mut u32| {
        *calls += 1;
        Err::<(), _>(refused())
    })
    .backoff(Constant::new(10 * SEC).jitter(Jitter::None))
    .max_attempts(10)
    .within(15 * SEC)
    .await
    .unwrap_err();
    assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 2));
    assert_eq!(err.error().kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(calls, 2);
    assert_eq!(clock.elapsed(), 10 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn retry_with_within_a_deadline_succeeds_as_without() {
    let mut calls = 0_u32;
    let out = retry_with(&mut calls, async |calls: &mut u32| {
        *calls += 1;
        if *calls < 3 {
            Err(refused())
        } else {
            Ok(*calls)
        }
    })
    .backoff(Constant::new(SEC))
    .within(60 * SEC)
    .await;
    assert_eq!(out.unwrap(), 3);
}
