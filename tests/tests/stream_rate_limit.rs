//! Conformance: the GCRA rate limiter grants at exactly the times GCRA
//! predicts, serves waiters in order, and loses nothing to cancellation.

use std::pin::pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_stream::{BuildError, RateLimited, RateLimiter};
use anyrt_tests::cancel::cancel_at_every_poll;
use futures::poll;

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

fn limiter(rate: u32, period: Duration, burst: u32) -> RateLimiter {
    RateLimiter::builder(rate, period)
        .burst(burst)
        .build()
        .unwrap()
}

fn since(start: Instant) -> Duration {
    anyrt_core::now() - start
}

#[anyrt_test::test(virtual_time)]
async fn a_thousand_permits_at_100_per_second_finish_when_gcra_says() {
    let limiter = limiter(100, SEC, 10);
    let start = anyrt_core::now();
    let mut times = Vec::with_capacity(1000);
    for _ in 0..1000 {
        limiter.acquire().await;
        times.push(since(start));
    }
    // The burst of 10 at once, then one every 10 ms.
    let expected: Vec<Duration> = (0..1000_u32)
        .map(|k| k.saturating_sub(9) * 10 * MS)
        .collect();
    assert_eq!(times, expected);
    assert_eq!(times[999], Duration::from_millis(9900));
}

#[anyrt_test::test(virtual_time)]
async fn a_rate_that_does_not_divide_the_period_is_exact_in_the_long_run() {
    // 3 per second: 1/3 s is no whole number of nanoseconds.
    let limiter = limiter(3, SEC, 1);
    let start = anyrt_core::now();
    for _ in 0..301 {
        limiter.acquire().await;
    }
    assert_eq!(since(start), Duration::from_secs(100));
}

#[anyrt_test::test(virtual_time)]
async fn fifty_waiters_are_served_in_arrival_order() {
    let limiter = limiter(10, SEC, 1);
    limiter.try_acquire().unwrap();
    let start = anyrt_core::now();
    let served = Mutex::new(Vec::new());
    let waiters = (0..50_u32).map(|i| {
        let (limiter, served) = (&limiter, &served);
        async move {
            limiter.acquire().await;
            served.lock().unwrap().push((i, since(start)));
        }
    });
    futures::future::join_all(waiters).await;
    let expected: Vec<(u32, Duration)> = (0..50).map(|i| (i, (i + 1) * 100 * MS)).collect();
    assert_eq!(*served.lock().unwrap(), expected);
    assert_eq!(limiter.waiting(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_cancelled_waiter_takes_nothing_and_blocks_nobody() {
    let limiter = limiter(1, SEC, 1);
    limiter.try_acquire().unwrap();
    let start = anyrt_core::now();
    let mut a = pin!(limiter.acquire());
    let mut b = Box::pin(limiter.acquire());
    let mut c = pin!(limiter.acquire());
    assert!(poll!(a.as_mut()).is_pending());
    assert!(poll!(b.as_mut()).is_pending());
    assert!(poll!(c.as_mut()).is_pending());
    assert_eq!(limiter.waiting(), 3);
    drop(b); // in the middle of the queue
    assert_eq!(limiter.waiting(), 2);
    a.await;
    assert_eq!(since(start), SEC);
    c.await;
    assert_eq!(since(start), 2 * SEC, "c is served right after a");
    assert_eq!(limiter.available(), 0);
    assert_eq!(limiter.waiting(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_cancelled_head_hands_its_turn_to_the_next() {
    let limiter = limiter(1, SEC, 1);
    limiter.try_acquire().unwrap();
    let start = anyrt_core::now();
    let mut head = Box::pin(limiter.acquire_n(1));
    let mut next = pin!(limiter.acquire());
    assert!(poll!(head.as_mut()).is_pending());
    assert!(poll!(next.as_mut()).is_pending());
    drop(head); // the head sleeps on the timer; the next must be woken
    next.await;
    assert_eq!(since(start), SEC);
    assert_eq!(limiter.waiting(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn an_acquire_dropped_at_any_poll_takes_no_permit(clock: VirtualClock) {
    let current: Mutex<Option<(RateLimiter, Instant)>> = Mutex::new(None);
    let checked = cancel_at_every_poll(
        || {
            let limiter = limiter(1, SEC, 1);
            limiter.try_acquire().unwrap();
            *current.lock().unwrap() = Some((limiter.clone(), anyrt_core::now()));
            async move { limiter.acquire_n(1).await }
        },
        |polls| {
            let guard = current.lock().unwrap();
            let (limiter, start) = guard.as_ref().unwrap();
            assert_eq!(limiter.waiting(), 0, "cancelled after {polls} polls");
            // Exactly the one permit taken up front is spent.
            let rested = u32::from(since(*start) >= SEC);
            assert_eq!(limiter.available(), rested, "cancelled after {polls} polls");
        },
    )
    .await;
    assert!(checked >= 1, "the acquire waited at least one poll");
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn try_acquire_does_not_pass_a_queued_waiter(clock: VirtualClock) {
    let limiter = limiter(1, SEC, 1);
    limiter.try_acquire().unwrap();
    let mut waiter = pin!(limiter.acquire());
    assert!(poll!(waiter.as_mut()).is_pending());
    clock.advance(SEC);
    assert_eq!(limiter.available(), 1);
    assert!(limiter.try_acquire().is_err(), "a waiter is queued");
    waiter.await;
    assert_eq!(limiter.available(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn clones_share_one_state() {
    let a = limiter(5, SEC, 5);
    let b = a.clone();
    for _ in 0..5 {
        b.try_acquire().unwrap();
    }
    assert!(a.try_acquire().is_err());
    assert_eq!(a.available(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn weighted_acquires_wait_for_their_whole_cost() {
    let limiter = limiter(10, SEC, 5);
    let start = anyrt_core::now();
    limiter.acquire_n(5).await.unwrap();
    assert_eq!(since(start), Duration::ZERO);
    limiter.acquire_n(3).await.unwrap();
    assert_eq!(since(start), 300 * MS);
    limiter.acquire_n(0).await.unwrap();
    assert_eq!(since(start), 300 * MS, "zero permits are granted at once");
}

#[anyrt_test::test(virtual_time)]
async fn bad_input_is_an_error_never_a_hang() {
    assert_eq!(RateLimiter::new(0, SEC).unwrap_err(), BuildError::ZeroRate);
    assert_eq!(
        RateLimiter::new(1, Duration::ZERO).unwrap_err(),
        BuildError::ZeroPeriod
    );
    assert_eq!(
        RateLimiter::builder(1, SEC).burst(0).build().unwrap_err(),
        BuildError::ZeroBurst
    );
    assert_eq!(
        RateLimiter::new(1, Duration::MAX).unwrap_err(),
        BuildError::TooLarge
    );
    assert_eq!(
        RateLimiter::builder(1, Duration::from_secs(1 << 40))
            .burst(u32::MAX)
            .build()
            .unwrap_err(),
        BuildError::TooLarge
    );
    let limiter = limiter(10, SEC, 4);
    let err = limiter.acquire_n(5).await.unwrap_err();
    assert_eq!((err.requested(), err.burst()), (5, 4));
    assert_eq!(limiter.available(), 4, "a refused acquire takes nothing");
    assert_eq!(limiter.waiting(), 0);
    // Extremes that are valid work.
    let fast = RateLimiter::new(u32::MAX, Duration::from_nanos(1)).unwrap();
    assert!(fast.try_acquire().is_ok());
    let slow = RateLimiter::new(1, Duration::from_secs(365 * 24 * 3600)).unwrap();
    assert!(slow.try_acquire().is_ok());
    assert!(slow.try_acquire().is_err());
}

#[anyrt_test::test]
async fn on_a_real_timer_permits_are_never_early() {
    // 1 per 2 ms, burst 1: 10 permits span at least 18 ms of real time.
    let limiter = limiter(1, 2 * MS, 1);
    let start = Instant::now();
    for _ in 0..10 {
        limiter.acquire().await;
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= 18 * MS, "10 permits in {elapsed:?}");
}

#[anyrt_test::test(virtual_time)]
async fn a_rate_too_fine_for_the_clock_is_rounded_slower_by_under_a_sixteenth_ns() {
    // 333 per second: 1/333 s is not a whole number of sixteenths of a
    // nanosecond, so each interval is rounded up by less than 1/16 ns.
    let limiter = limiter(333, SEC, 1);
    let start = anyrt_core::now();
    for _ in 0..334 {
        limiter.acquire().await;
    }
    let elapsed = since(start);
    assert!(elapsed >= SEC, "faster than asked: {elapsed:?}");
    assert!(
        elapsed <= SEC + Duration::from_nanos(333 / 16 + 1),
        "{elapsed:?}"
    );
}

#[anyrt_test::test(virtual_time)]
async fn clones_in_spawned_tasks_share_one_rate() {
    let limiter = limiter(100, SEC, 1);
    let start = anyrt_core::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let limiter = limiter.clone();
            anyrt_core::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..25 {
                    limiter.acquire().await;
                    times.push(since(start));
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await);
    }
    times.sort_unstable();
    // 100 permits, one every 10 ms, whoever takes them.
    let expected: Vec<Duration> = (0..100).map(|k| k * 10 * MS).collect();
    assert_eq!(times, expected);
}

#[anyrt_test::test(timeout = 10)]
async fn regression_a_clock_behind_the_limiters_creation_still_sees_time_pass() {
    // Made under a clock an hour ahead, then used under one that is not:
    // every instant before the creation counted as the creation itself, so
    // after the burst each permit waited for the hour to pass.
    let ahead = VirtualClock::new();
    ahead.advance(Duration::from_secs(3600));
    let limiter = anyrt_core::with_timer(ahead, async { limiter(10, SEC, 1) }).await;
    let behind = VirtualClock::new();
    let start = behind.now();
    let times = behind
        .auto_advance(async {
            let mut times = Vec::new();
            for _ in 0..3 {
                limiter.acquire().await;
                times.push(since(start));
            }
            times
        })
        .await;
    assert_eq!(times, [Duration::ZERO, 100 * MS, 200 * MS]);
}

#[test]
fn try_acquire_follows_a_paused_tokio_clock_wherever_the_limiter_was_made() {
    // Made outside tokio, on the system clock, which try_acquire reads
    // through the CPU's counter there.
    let made_outside = limiter(10, SEC, 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let made_inside = limiter(10, SEC, 1);
        let both = [made_outside, made_inside];
        for limiter in &both {
            assert!(limiter.try_acquire().is_ok());
            assert!(limiter.try_acquire().is_err());
        }
        // Real time passes, the paused clock does not: on the thread that
        // drives the runtime and on one of its blocking threads alike.
        std::thread::sleep(150 * MS);
        for limiter in &both {
            assert!(limiter.try_acquire().is_err());
            let clone = limiter.clone();
            let blocking = tokio::task::spawn_blocking(move || clone.try_acquire().is_ok());
            assert!(!blocking.await.unwrap());
        }
        tokio::time::advance(99 * MS).await;
        for limiter in &both {
            assert!(limiter.try_acquire().is_err());
        }
        tokio::time::advance(MS).await;
        for limiter in &both {
            assert!(limiter.try_acquire().is_ok());
        }
    });
}

#[anyrt_test::test]
async fn on_a_real_timer_try_acquire_and_acquire_share_one_rate() {
    // 1 per 2 ms, burst 1: in 40 ms, at most 1 + 20 permits, whichever
    // way they are taken (try_acquire and acquire may read the clock
    // differently). It goes on past 40 ms until a permit after the burst
    // was granted, however slow the machine (a limiter that never saw
    // time pass would hang here until the watchdog).
    let limiter = limiter(1, 2 * MS, 1);
    let start = Instant::now();
    let mut granted = 0;
    let mut calls = 0u32;
    while start.elapsed() < 40 * MS || granted < 2 {
        calls += 1;
        if calls % 64 == 0 {
            limiter.acquire().await;
            granted += 1;
        } else if limiter.try_acquire().is_ok() {
            granted += 1;
        }
    }
    let elapsed = start.elapsed();
    let most = 1 + elapsed.as_nanos() / (2 * MS).as_nanos();
    assert!(granted as u128 <= most, "{granted} permits in {elapsed:?}");
}

#[anyrt_test::test(virtual_time)]
async fn try_acquire_n_takes_all_or_nothing_and_refuses_more_than_the_burst(clock: VirtualClock) {
    // 10 per second, burst 5: one permit every 100 ms.
    let limiter = limiter(10, SEC, 5);
    let burst = limiter.try_acquire_n(6).unwrap_err();
    assert_eq!((burst.requested(), burst.burst()), (6, 5));
    assert_eq!(limiter.try_acquire_n(0), Ok(Ok(())), "zero takes nothing");
    assert_eq!(limiter.try_acquire_n(5), Ok(Ok(())));
    assert!(matches!(
        limiter.try_acquire_n(1),
        Ok(Err(RateLimited { .. }))
    ));
    clock.advance(300 * MS);
    // Three are free again: four are refused whole, and take none.
    assert!(matches!(
        limiter.try_acquire_n(4),
        Ok(Err(RateLimited { .. }))
    ));
    assert_eq!(limiter.available(), 3);
    assert_eq!(limiter.try_acquire_n(3), Ok(Ok(())));
    assert!(matches!(
        limiter.try_acquire_n(1),
        Ok(Err(RateLimited { .. }))
    ));
    assert_eq!(limiter.try_acquire_n(0), Ok(Ok(())));
    // A queued waiter goes first: permits freed for it are not taken.
    let mut waiter = pin!(limiter.acquire());
    assert!(
        futures_lite::future::poll_once(waiter.as_mut())
            .await
            .is_none()
    );
    clock.advance(100 * MS);
    assert!(matches!(
        limiter.try_acquire_n(1),
        Ok(Err(RateLimited { .. }))
    ));
    waiter.await;
}

/// The wait a refusal reports, for a `Retry-After` header.
fn retry_after(refused: Result<(), RateLimited>) -> Duration {
    refused.expect_err("refused").retry_after()
}

#[anyrt_test::test(virtual_time)]
async fn a_refusal_says_how_long_until_the_permits_are_due(clock: VirtualClock) {
    // 1 per minute, burst 1.
    let minute = limiter(1, 60 * SEC, 1);
    assert_eq!(minute.try_acquire(), Ok(()));
    assert_eq!(retry_after(minute.try_acquire()), 60 * SEC);
    clock.advance(20 * SEC);
    assert_eq!(retry_after(minute.try_acquire()), 40 * SEC, "counts down");
    clock.advance(40 * SEC);
    assert_eq!(minute.try_acquire(), Ok(()), "due when it said");

    // 10 per second, burst 5: one permit every 100 ms.
    let tenth = limiter(10, SEC, 5);
    assert_eq!(tenth.try_acquire_n(4), Ok(Ok(())));
    let three = tenth.try_acquire_n(3).unwrap();
    assert_eq!(
        retry_after(three),
        200 * MS,
        "one is free, two more to come"
    );
    assert_eq!(tenth.try_acquire(), Ok(()));
    assert_eq!(retry_after(tenth.try_acquire()), 100 * MS);
    clock.advance(30 * MS);
    assert_eq!(retry_after(tenth.try_acquire()), 70 * MS);
}

#[anyrt_test::test(virtual_time)]
async fn with_waiters_queued_the_wait_reported_is_a_lower_bound(clock: VirtualClock) {
    let limiter = limiter(1, SEC, 1);
    assert_eq!(limiter.try_acquire(), Ok(()));
    let mut waiter = pin!(limiter.acquire());
    assert!(poll!(waiter.as_mut()).is_pending());
    // The waiter is owed the permit due in 1 s; the refusal cannot know
    // how much the queue takes, and says what the rate alone says.
    assert_eq!(retry_after(limiter.try_acquire()), SEC);
    clock.advance(SEC);
    assert_eq!(
        retry_after(limiter.try_acquire()),
        Duration::ZERO,
        "free, but the waiter goes first"
    );
    waiter.await;
    assert_eq!(retry_after(limiter.try_acquire()), SEC);
}

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

#[anyrt_test::test(virtual_time)]
async fn a_period_of_centuries_is_kept_exactly(clock: VirtualClock) {
    // A window near the clock's range: the GCRA must not saturate into
    // granting early (or reporting too short a wait).
    let limiter = limiter(1, 500 * YEAR, 1);
    assert_eq!(limiter.try_acquire(), Ok(()));
    assert_eq!(retry_after(limiter.try_acquire()), 500 * YEAR);
    clock.advance_to(clock.now() + 100 * YEAR);
    assert_eq!(retry_after(limiter.try_acquire()), 400 * YEAR);
}
