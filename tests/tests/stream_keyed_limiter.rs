//! Conformance of `KeyedRateLimiter`: each key is a GCRA limiter of its
//! own (exact grant times, waiters in order, nothing lost to
//! cancellation), keys never hold each other up, and forgetting rested
//! keys changes no decision.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_stream::{BuildError, KeyedRateLimiter, RateLimiter};
use anyrt_tests::cancel::cancel_at_every_poll;
use futures::poll;

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

fn keyed<K: std::hash::Hash + Eq>(rate: u32, period: Duration, burst: u32) -> KeyedRateLimiter<K> {
    RateLimiter::builder(rate, period)
        .burst(burst)
        .build_keyed()
        .unwrap()
}

fn since(start: Instant) -> Duration {
    anyrt_core::now() - start
}

#[anyrt_test::test(virtual_time)]
async fn each_key_grants_when_gcra_says() {
    let limiter = keyed::<String>(100, SEC, 10);
    let start = anyrt_core::now();
    let mut times = Vec::with_capacity(1000);
    for _ in 0..1000 {
        limiter.acquire("a").await;
        times.push(since(start));
    }
    let expected: Vec<Duration> = (0..1000_u32)
        .map(|k| k.saturating_sub(9) * 10 * MS)
        .collect();
    assert_eq!(times, expected);
    // Another key is untouched: its whole burst at once.
    for _ in 0..10 {
        limiter.try_acquire("b").unwrap();
    }
    assert!(limiter.try_acquire("b").is_err());
    assert_eq!(limiter.len(), 2);
}

#[anyrt_test::test(virtual_time)]
async fn a_busy_key_never_delays_another() {
    let limiter = keyed::<u32>(1, SEC, 1);
    limiter.try_acquire(&1).unwrap();
    let start = anyrt_core::now();
    let mut queued: Vec<_> = (0..5).map(|_| Box::pin(limiter.acquire(&1))).collect();
    for waiter in &mut queued {
        assert!(poll!(waiter.as_mut()).is_pending());
    }
    assert_eq!(limiter.limiter(&1).waiting(), 5);
    limiter.acquire(&2).await;
    assert_eq!(since(start), Duration::ZERO, "key 2 waits for nobody");
    for (i, waiter) in queued.into_iter().enumerate() {
        waiter.await;
        assert_eq!(since(start), (i as u32 + 1) * SEC);
    }
}

#[anyrt_test::test(virtual_time)]
async fn waiters_of_a_key_are_served_in_arrival_order() {
    let limiter = keyed::<&str>(10, SEC, 1);
    limiter.try_acquire(&"k").unwrap();
    let start = anyrt_core::now();
    let served = Mutex::new(Vec::new());
    let waiters = (0..50_u32).map(|i| {
        let (limiter, served) = (&limiter, &served);
        async move {
            limiter.acquire(&"k").await;
            served.lock().unwrap().push((i, since(start)));
        }
    });
    futures::future::join_all(waiters).await;
    let expected: Vec<(u32, Duration)> = (0..50).map(|i| (i, (i + 1) * 100 * MS)).collect();
    assert_eq!(*served.lock().unwrap(), expected);
}

#[anyrt_test::test(virtual_time)]
async fn an_acquire_dropped_at_any_poll_takes_no_permit(clock: VirtualClock) {
    let current: Mutex<Option<(KeyedRateLimiter<u8>, Instant)>> = Mutex::new(None);
    let checked = cancel_at_every_poll(
        || {
            let limiter = keyed::<u8>(1, SEC, 1);
            limiter.try_acquire(&0).unwrap();
            *current.lock().unwrap() = Some((limiter.clone(), anyrt_core::now()));
            limiter.acquire_n(&0, 1)
        },
        |polls| {
            let guard = current.lock().unwrap();
            let (limiter, start) = guard.as_ref().unwrap();
            let key = limiter.limiter(&0);
            assert_eq!(key.waiting(), 0, "cancelled after {polls} polls");
            // Exactly the one permit taken up front is spent.
            let rested = u32::from(since(*start) >= SEC);
            assert_eq!(key.available(), rested, "cancelled after {polls} polls");
        },
    )
    .await;
    assert!(checked >= 1, "the acquire waited at least one poll");
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_cancelled_waiter_hands_its_turn_on() {
    let limiter = keyed::<u8>(1, SEC, 1);
    limiter.try_acquire(&9).unwrap();
    let start = anyrt_core::now();
    let mut head = Box::pin(limiter.acquire(&9));
    let mut next = pin!(limiter.acquire(&9));
    assert!(poll!(head.as_mut()).is_pending());
    assert!(poll!(next.as_mut()).is_pending());
    drop(head);
    next.await;
    assert_eq!(since(start), SEC, "the next one got the first free permit");
}

#[anyrt_test::test(virtual_time)]
async fn more_than_the_burst_is_an_error_not_a_hang() {
    let limiter = keyed::<u8>(10, SEC, 3);
    let err = limiter.acquire_n(&1, 4).await.unwrap_err();
    assert_eq!((err.requested(), err.burst()), (4, 3));
    assert!(limiter.try_acquire_n(&2, 4).is_err());
    assert_eq!(limiter.try_acquire_n(&2, 0).unwrap(), Ok(()));
    assert!(limiter.acquire_n(&2, 0).await.is_ok());
    assert_eq!(
        limiter.len(),
        0,
        "no key is made for a request of none or too many"
    );
}

#[anyrt_test::test]
async fn bad_numbers_are_build_errors() {
    let build = |rate, period, burst| {
        RateLimiter::builder(rate, period)
            .burst(burst)
            .build_keyed::<u8>()
            .unwrap_err()
    };
    assert_eq!(build(0, SEC, 1), BuildError::ZeroRate);
    assert_eq!(build(1, Duration::ZERO, 1), BuildError::ZeroPeriod);
    assert_eq!(build(1, SEC, 0), BuildError::ZeroBurst);
    assert_eq!(build(1, Duration::MAX, 1), BuildError::TooLarge);
    let huge = keyed::<u8>(u32::MAX, Duration::from_nanos(1), u32::MAX);
    assert!(huge.try_acquire_n(&0, u32::MAX).unwrap().is_ok());
}

#[anyrt_test::test(virtual_time)]
async fn forgetting_rested_keys_changes_no_decision(clock: VirtualClock) {
    let limiter = keyed::<u32>(2, SEC, 2);
    for key in 0..100 {
        limiter.try_acquire(&key).unwrap();
    }
    limiter.try_acquire(&0).unwrap();
    assert_eq!(limiter.len(), 100);
    assert_eq!(limiter.retain_recent(), 100, "none is rested yet");
    clock.advance(500 * MS);
    // Keys 1..100 took one of two permits: rested again after 500 ms.
    // Key 0 took both: one permit back, not rested.
    assert_eq!(limiter.retain_recent(), 1);
    assert!(limiter.try_acquire(&0).is_ok());
    assert!(limiter.try_acquire(&0).is_err(), "key 0 kept its state");
    for key in 1..100 {
        limiter.try_acquire(&key).unwrap();
        limiter.try_acquire(&key).unwrap();
        assert!(
            limiter.try_acquire(&key).is_err(),
            "a new key starts rested"
        );
    }
}

#[anyrt_test::test(virtual_time)]
async fn a_key_held_or_waited_on_is_not_forgotten() {
    let limiter = keyed::<u8>(1, SEC, 1);
    let held = limiter.limiter(&1);
    limiter.try_acquire(&2).unwrap();
    let mut waiter = Box::pin(limiter.acquire(&2));
    assert!(poll!(waiter.as_mut()).is_pending());
    let _unpolled = limiter.acquire(&3);
    assert_eq!(limiter.retain_recent(), 3);
    drop((held, waiter, _unpolled));
    anyrt_core::sleep(SEC).await;
    assert_eq!(limiter.retain_recent(), 0);
    assert!(limiter.is_empty());
}

#[anyrt_test::test(virtual_time)]
async fn threads_on_one_key_never_get_more_than_the_burst() {
    // The virtual clock stands still: exactly the burst is granted, however
    // the threads interleave.
    let limiter = keyed::<u8>(1, SEC, 64);
    let granted = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (limiter, granted) = (limiter.clone(), granted.clone());
            anyrt_core::spawn(async move {
                for _ in 0..100 {
                    if limiter.try_acquire(&7).is_ok() {
                        granted.fetch_add(1, Ordering::Relaxed);
                    }
                    anyrt_core::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    assert_eq!(granted.load(Ordering::Relaxed), 64);
}

#[anyrt_test::test]
async fn keyed_futures_are_send_and_static() {
    fn assert_send_static<T: Send + 'static>(_: &T) {}
    fn assert_sync<T: Sync>(_: &T) {}
    let limiter = keyed::<String>(10, SEC, 1);
    let future = limiter.acquire("x");
    assert_send_static(&future);
    assert_send_static(&limiter.acquire_n("x", 1));
    assert_send_static(&limiter);
    assert_sync(&limiter);
    future.await;
}
