//! Conformance: sleeps on every runtime never complete early, saturate on
//! huge durations and can be reset.

use std::pin::pin;
use std::time::{Duration, Instant};

use anyrt_core::{AmbientRuntime, Runtime, Sleep, Timer, with_runtime};
use anyrt_test::TestRuntime;
use anyrt_tests::time::last_instant;
use futures_lite::future::poll_once;

/// The timer of a sleep made here, as its `Debug` output names it.
fn expected_timer() -> &'static str {
    match anyrt_test::runtime().expect("inside the harness") {
        TestRuntime::Smol | TestRuntime::AsyncStd => "async-io",
        TestRuntime::BlockOn => "fallback",
        _ => "tokio",
    }
}

/// Whether `sleep` is on the timer named `timer`.
fn on_timer(sleep: &impl std::fmt::Debug, timer: &str) -> bool {
    format!("{sleep:?}").contains(&format!("timer: \"{timer}\""))
}

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

/// Resets an hour's sleep to end in 5 ms, after one poll or before any.
async fn reset_an_hour_to_5_ms(poll_first: bool) {
    let start = Instant::now();
    let mut sleep = pin!(anyrt_core::sleep(Duration::from_secs(3600)));
    if poll_first {
        assert!(poll_once(sleep.as_mut()).await.is_none());
    }
    let new_deadline = Instant::now() + Duration::from_millis(5);
    sleep.as_mut().reset(new_deadline);
    assert_eq!(sleep.deadline(), new_deadline);
    sleep.await;
    assert!(Instant::now() >= new_deadline);
    assert!(start.elapsed() < Duration::from_secs(3600));
}

#[anyrt_test::test]
async fn reset_moves_a_pending_sleep_earlier() {
    reset_an_hour_to_5_ms(true).await;
}

#[anyrt_test::test]
async fn reset_before_the_first_poll_moves_the_deadline() {
    reset_an_hour_to_5_ms(false).await;
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

/// A sleep made in a poll of this future, handed out unpolled.
async fn made_not_polled() -> anyrt_core::futures::AnySleep {
    anyrt_core::sleep(Duration::from_secs(3600))
}

#[anyrt_test::test]
async fn a_sleep_keeps_the_timer_found_where_it_was_made() {
    // Made here, first polled under an override: the timer found here. (An
    // hour, so that it is still pending at its first poll however loaded
    // the machine is.)
    let mut here = pin!(anyrt_core::sleep(Duration::from_secs(3600)));
    assert!(on_timer(&here, expected_timer()), "{here:?}");
    with_runtime(Runtime::Fallback, async {
        assert!(poll_once(here.as_mut()).await.is_none());
    })
    .await;
    assert!(on_timer(&here, expected_timer()), "{here:?}");
    // Made under an override, first polled outside it: the override's.
    let made_there = with_runtime(Runtime::Fallback, made_not_polled()).await;
    let mut there = pin!(made_there);
    assert!(poll_once(there.as_mut()).await.is_none());
    assert!(on_timer(&there, "fallback"), "{there:?}");
}

/// Regression (async-io's timer forgets its deadline once it has fired): a
/// sleep polled again after it completed stays ready, on every runtime.
#[anyrt_test::test]
async fn regression_a_completed_sleep_is_ready_at_every_later_poll() {
    let mut sleep = pin!(anyrt_core::sleep(Duration::from_millis(1)));
    sleep.as_mut().await;
    for poll in 1..=3 {
        assert!(
            poll_once(sleep.as_mut()).await.is_some(),
            "poll {poll} after completion was pending"
        );
    }
    let mut sleep = pin!(Runtime::current().sleep(Duration::from_millis(1)));
    sleep.as_mut().await;
    assert!(poll_once(sleep.as_mut()).await.is_some());
}

/// Regression (tokio panicked with "overflow when adding duration to
/// instant"): sleeps, timeouts and deadlines at instants within a
/// millisecond of the largest one are pending, and never panic.
#[anyrt_test::test]
async fn regression_instants_near_the_largest_never_panic() {
    use anyrt_deadline::{DeadlineExt, timeout_at, within_deadline};
    let last = last_instant(Instant::now());
    for at in [
        last,
        last - Duration::from_micros(999),
        last - Duration::from_millis(1),
    ] {
        let mut sleep = pin!(anyrt_core::sleep_until(at));
        assert!(poll_once(sleep.as_mut()).await.is_none());
        sleep.as_mut().reset(at);
        assert!(poll_once(sleep.as_mut()).await.is_none());
        let mut sleep = pin!(Runtime::current().sleep_until(at));
        assert!(poll_once(sleep.as_mut()).await.is_none());
        assert_eq!(timeout_at(at, async { 1 }).await, Ok(1));
        let mut pending = pin!(timeout_at(at, std::future::pending::<()>()));
        assert!(poll_once(pending.as_mut()).await.is_none());
        let mut within = pin!(within_deadline(
            at,
            anyrt_core::sleep(Duration::from_secs(3600))
        ));
        assert!(poll_once(within.as_mut()).await.is_none());
        let mut deadline = pin!(std::future::pending::<()>().deadline(at));
        assert!(poll_once(deadline.as_mut()).await.is_none());
    }
}

#[anyrt_test::test]
async fn a_sleep_on_a_runtime_value_completes_on_another_thread() {
    // On tokio the value holds the runtime's handle: the sleep, first
    // polled on a thread outside every runtime, is still tokio's.
    let deadline = Instant::now() + Duration::from_millis(3);
    let sleep = Runtime::current().sleep_until(deadline);
    let (done, finished) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        futures::executor::block_on(sleep);
        let _ = done.send(Instant::now());
    });
    let at = finished
        .await
        .expect("the thread sends when the sleep ends");
    assert!(at >= deadline);
}

/// Regression: past the far future, a deadline that overflowed `Instant`
/// saturated at its start, so near the largest instant `start + 1 ms` came
/// back as `start`, and a sleep of `Duration::MAX` on a virtual clock
/// standing there completed at once instead of never.
#[anyrt_test::test]
async fn regression_a_deadline_past_the_largest_instant_saturates_there() {
    let last = last_instant(Instant::now());
    let start = last - Duration::from_secs(1);
    assert_eq!(
        anyrt_core::deadline_after(start, Duration::from_millis(1)),
        start + Duration::from_millis(1)
    );
    assert_eq!(anyrt_core::deadline_after(start, Duration::MAX), last);
    assert_eq!(
        anyrt_core::deadline_after(last, Duration::from_nanos(1)),
        last
    );
    let clock = anyrt_core::VirtualClock::new();
    clock.advance_to(start);
    let mut sleep = pin!(clock.sleep(Duration::MAX));
    assert!(
        poll_once(sleep.as_mut()).await.is_none(),
        "the sleep of Duration::MAX completed at once"
    );
    assert_eq!(sleep.deadline(), last);
}
