//! Conformance: sleeps on every runtime never complete early, saturate on
//! huge durations and can be reset.

use std::pin::pin;
use std::time::{Duration, Instant};

use anyrt_core::{AmbientRuntime, Sleep, Timer};
use futures_lite::future::poll_once;

#[anyrt_test::test]
async fn sleep_is_never_early() {
    for millis in [1u64, 2, 5, 10, 20] {
        let duration = Duration::from_millis(millis);
        let start = Instant::now();
        anyrt_core::sleep(duration).await;
        assert!(
            start.elapsed() >= duration,
            "a {duration:?} sleep ended after {:?}",
            start.elapsed()
        );
    }
}

#[anyrt_test::test]
async fn sleep_until_is_never_early() {
    let deadline = Instant::now() + Duration::from_millis(7);
    anyrt_core::sleep_until(deadline).await;
    assert!(Instant::now() >= deadline);
}

#[anyrt_test::test]
async fn deadline_in_the_past_completes_at_once() {
    let past = Instant::now()
        .checked_sub(Duration::from_secs(1))
        .unwrap_or_else(Instant::now);
    assert!(poll_once(anyrt_core::sleep_until(past)).await.is_some());
}

#[anyrt_test::test]
async fn huge_durations_saturate_without_panicking() {
    let mut sleep = pin!(anyrt_core::sleep(Duration::MAX));
    assert!(poll_once(sleep.as_mut()).await.is_none());
    assert!(sleep.deadline() >= anyrt_core::far_future());
    let deadline = anyrt_core::deadline_after(Instant::now(), Duration::MAX);
    assert!(deadline >= anyrt_core::far_future());
}

#[anyrt_test::test]
async fn reset_moves_a_pending_sleep_earlier() {
    let start = Instant::now();
    let mut sleep = pin!(anyrt_core::sleep(Duration::from_secs(3600)));
    assert!(poll_once(sleep.as_mut()).await.is_none());
    let new_deadline = Instant::now() + Duration::from_millis(5);
    sleep.as_mut().reset(new_deadline);
    assert_eq!(sleep.deadline(), new_deadline);
    sleep.await;
    assert!(Instant::now() >= new_deadline);
    assert!(start.elapsed() < Duration::from_secs(3600));
}

#[anyrt_test::test]
async fn reset_revives_a_completed_sleep() {
    let mut sleep = pin!(AmbientRuntime.sleep(Duration::from_millis(1)));
    sleep.as_mut().await;
    let later = Instant::now() + Duration::from_millis(3);
    sleep.as_mut().reset(later);
    sleep.await;
    assert!(Instant::now() >= later);
}

#[anyrt_test::test(virtual_time)]
async fn virtual_sleep_completes_exactly_at_its_deadline(clock: anyrt_core::VirtualClock) {
    let start = anyrt_core::now();
    anyrt_core::sleep(Duration::from_millis(1500)).await;
    assert_eq!(anyrt_core::now() - start, Duration::from_millis(1500));
    assert_eq!(clock.elapsed(), Duration::from_millis(1500));
    assert_eq!(clock.pending_sleepers(), 0);
}
