//! Expiry and upkeep on the virtual clock: `max_lifetime` (with jitter)
//! and `idle_timeout` at checkout, at return and in `maintain`; `min_idle`
//! refilled by `maintain`; `retain`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_pool::Pool;
use anyrt_tests::pool::{TestManager, assert_settled};

const SEC: Duration = Duration::from_secs(1);

#[anyrt_test::test(virtual_time)]
async fn an_idle_resource_past_idle_timeout_is_replaced_at_checkout() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .idle_timeout(10 * SEC)
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    anyrt_core::sleep(9 * SEC).await;
    let guard = pool.get().await.unwrap();
    assert_eq!(guard.id, 0, "idle 9 s < 10 s: kept");
    drop(guard); // idle again from here
    anyrt_core::sleep(10 * SEC).await;
    assert_eq!(pool.get().await.unwrap().id, 1, "idle 10 s: replaced");
    assert_eq!(pool.status().discarded.idle_timeout, 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn max_lifetime_expires_resources_with_jitter(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(20)
        .max_lifetime(100 * SEC)
        .build()
        .unwrap();
    let guards: Vec<_> = futures::future::join_all((0..20).map(|_| pool.get())).await;
    let guards: Vec<_> = guards.into_iter().map(Result::unwrap).collect();
    drop(guards);
    // Each resource expires between 90 s and 100 s after its creation.
    anyrt_core::sleep(89 * SEC).await;
    pool.maintain_once().await.unwrap();
    assert_eq!(pool.status().idle, 20, "none expired before 90 s");
    let mut expired_at = Vec::new();
    while pool.status().idle > 0 {
        anyrt_core::sleep(SEC).await;
        pool.maintain_once().await.unwrap();
        expired_at.push((clock.elapsed(), pool.status().idle));
    }
    assert!(clock.elapsed() <= 100 * SEC, "all gone by 100 s");
    let distinct = expired_at.windows(2).filter(|w| w[0].1 != w[1].1).count();
    assert!(
        distinct >= 2,
        "they did not all expire at once: {expired_at:?}"
    );
    assert_eq!(pool.status().discarded.lifetime, 20);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_resource_past_its_lifetime_is_discarded_when_given_back() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_lifetime(10 * SEC)
        .build()
        .unwrap();
    let guard = pool.get().await.unwrap();
    anyrt_core::sleep(10 * SEC).await;
    drop(guard);
    let status = pool.status();
    assert_eq!((status.idle, status.discarded.lifetime), (0, 1));
    assert_eq!(control.alive(), 0);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn maintain_once_keeps_min_idle_and_reaps(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(4)
        .min_idle(2)
        .idle_timeout(30 * SEC)
        .build()
        .unwrap();
    assert_eq!(pool.maintain_once().await, Ok(2), "refilled");
    let (a, b, c) = (
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
    );
    assert_eq!(pool.status().idle, 0);
    assert_eq!(pool.maintain_once().await, Ok(1), "up to max_size only");
    assert_eq!((pool.status().idle, pool.status().size), (1, 4));
    drop((a, b, c));
    anyrt_core::sleep(30 * SEC).await;
    // All four idle for 30 s: reaped, then two fresh ones made.
    assert_eq!(pool.maintain_once().await, Ok(2));
    let status = pool.status();
    assert_eq!(
        (status.idle, status.discarded.idle_timeout),
        (2, 4),
        "{status:?}"
    );
    assert_eq!(control.alive(), 2);
    assert_eq!(clock.elapsed(), 30 * SEC);
    assert_settled(&pool, &control);
}

/// `maintain` on a clock moved only by hand: a pass at once, the next one
/// a `maintain_interval` later, and the loop ends as soon as the pool is
/// closed, in the middle of an interval (else this test hangs).
#[anyrt_test::test]
async fn maintain_runs_a_pass_every_interval_until_closed() {
    let clock = VirtualClock::new();
    anyrt_core::with_timer(clock.clone(), async {
        let (manager, control) = TestManager::new();
        let pool = Pool::builder(manager)
            .min_idle(1)
            .maintain_interval(10 * SEC)
            .build()
            .unwrap();
        let upkeep = {
            let pool = pool.clone();
            anyrt_core::spawn(async move { pool.maintain().await })
        };
        // The first pass made one; maintain then waits out its interval.
        while pool.status().idle < 1 || clock.pending_sleepers() == 0 {
            anyrt_core::yield_now().await;
        }
        let held = pool.try_get().unwrap();
        anyrt_core::yield_now().await;
        assert_eq!(pool.status().idle, 0, "no pass before the interval");
        clock.advance(10 * SEC);
        while pool.status().idle < 1 || clock.pending_sleepers() == 0 {
            anyrt_core::yield_now().await;
        }
        assert_eq!(control.created.load(Ordering::SeqCst), 2, "the second pass");
        drop(held);
        pool.close();
        upkeep.await;
        assert_eq!(
            clock.elapsed(),
            10 * SEC,
            "it ended with the clock standing"
        );
        assert_settled(&pool, &control);
    })
    .await;
}

#[anyrt_test::test]
async fn retain_discards_what_the_predicate_refuses() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(4).build().unwrap();
    let guards: Vec<_> = futures::future::join_all((0..4).map(|_| pool.get())).await;
    drop(guards);
    pool.retain(|resource, metrics| {
        assert_eq!(metrics.recycled, 0);
        resource.id % 2 == 0
    });
    let status = pool.status();
    assert_eq!((status.idle, status.discarded.retain), (2, 2));
    assert_eq!(control.alive(), 2);
    assert_eq!(control.created.load(Ordering::SeqCst), 4);
    assert_settled(&pool, &control);
}
