//! Cancel safety of `Pool::get`: dropped while waiting for a slot, during
//! a health check, or while its resource is being created, it loses no
//! slot and no resource.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyrt_pool::Pool;
use anyrt_tests::cancel::cancel_after;
use anyrt_tests::pool::{TestManager, assert_settled};
use futures_lite::future;

const MS: Duration = Duration::from_millis(1);

/// For every cancel point of a `get` that waits for a slot, then takes an
/// idle resource and health-checks it: nothing is lost. The pool is
/// refilled (outside the cancelled future) before each round.
#[anyrt_test::test]
async fn get_cancelled_at_every_poll_while_waiting_loses_nothing() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(2)
        .min_idle(2)
        .build()
        .unwrap();
    let mut checked = 0;
    loop {
        pool.maintain_once().await.unwrap();
        let held = [pool.try_get().unwrap(), pool.try_get().unwrap()];
        let release = async move {
            anyrt_core::yield_now().await;
            drop(held);
            anyrt_core::yield_now().await;
        };
        let round = future::zip(async { pool.get().await.map(|g| g.id) }, release);
        if cancel_after(checked, round).await.is_some() {
            break;
        }
        assert_settled(&pool, &control);
        checked += 1;
        assert!(checked < 100, "a get completes within a few polls");
    }
    assert!(checked >= 3, "cancelled while queued and while checking");
    let status = pool.status();
    assert!(
        status.discarded.cancelled >= 1,
        "a health check was cut: {status:?}"
    );
    let all = future::zip(pool.get(), pool.get()).await;
    assert!(
        all.0.is_ok() && all.1.is_ok(),
        "both slots can be held at once"
    );
    drop(all);
    assert_settled(&pool, &control);
}

// Real time: under a virtual clock the test's future is polled while the
// clock looks for idleness, and those polls would count as cancel points.
#[anyrt_test::test]
async fn get_cancelled_while_creating_keeps_the_resource_idle() {
    let mut completed = false;
    for polls in 1..10 {
        let (manager, control) = TestManager::new();
        let pool = Pool::builder(manager).max_size(1).build().unwrap();
        if cancel_after(polls, pool.get()).await.is_some() {
            completed = true;
            break;
        }
        while pool.status().creating > 0 {
            anyrt_core::yield_now().await;
        }
        let status = pool.status();
        assert_eq!((status.created, status.idle, status.size), (1, 1, 1));
        assert_settled(&pool, &control);
        // `get`, not `try_get`: the creation task frees the slot just after
        // it has put the resource in the idle set.
        assert_eq!(pool.get().await.unwrap().id, 0, "the resource was kept");
    }
    assert!(completed, "a get completes within a few polls");
}

#[anyrt_test::test(virtual_time)]
async fn get_cancelled_while_creating_frees_the_slot_once_created() {
    let (manager, control) = TestManager::new();
    control.set_create_delay(10 * MS);
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    assert!(cancel_after(1, pool.get()).await.is_none());
    assert_eq!(pool.status().creating, 1, "the creation goes on");
    // A second get waits for the slot and gets the resource created for
    // the first one.
    let guard = pool.get().await.unwrap();
    assert_eq!(guard.id, 0);
    assert_eq!(control.created.load(Ordering::SeqCst), 1);
    drop(guard);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn get_cancelled_during_the_health_check_discards_that_resource() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    drop(pool.get().await.unwrap());
    assert!(cancel_after(1, pool.get()).await.is_none());
    assert_eq!(control.recycles.load(Ordering::SeqCst), 1);
    let status = pool.status();
    assert_eq!((status.size, status.discarded.cancelled), (0, 1));
    assert_eq!(status.recycled, 0, "a dropped check is not a passed one");
    assert_settled(&pool, &control);
    assert_eq!(pool.get().await.unwrap().id, 1);
}

#[anyrt_test::test]
async fn a_dropped_waiter_passes_its_turn_on() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let held = pool.get().await.unwrap();
    let mut first = Box::pin(pool.get());
    assert!(future::poll_once(first.as_mut()).await.is_none());
    let second = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|g| g.id) })
    };
    while pool.status().waiting < 2 {
        anyrt_core::yield_now().await;
    }
    drop(held);
    drop(first);
    assert_eq!(second.await, Ok(0));
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn max_creating_bounds_creations_and_a_queued_creation_can_be_cancelled(
    clock: anyrt_core::VirtualClock,
) {
    let (manager, control) = TestManager::new();
    control.set_create_delay(1000 * MS);
    let pool = Pool::builder(manager)
        .max_size(4)
        .max_creating(1)
        .build()
        .unwrap();
    let gets: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            // Each keeps its resource, so each needs a creation of its own.
            anyrt_core::spawn(async move { pool.get().await.map(|g| (g, anyrt_core::now())) })
        })
        .collect();
    anyrt_core::sleep(500 * MS).await;
    let status = pool.status();
    assert_eq!(status.creating, 1, "one creation at a time: {status:?}");
    assert_eq!(status.waiting, 2, "two wait to create: {status:?}");
    // A get cut while it waits to create leaves nothing behind.
    assert!(cancel_after(1, pool.get()).await.is_none());
    let status = pool.status();
    assert_eq!((status.size, status.waiting), (1, 2), "{status:?}");
    let start = clock.now() - 500 * MS;
    let (mut done, mut guards) = (Vec::new(), Vec::new());
    for get in gets {
        let (guard, at) = get.await.unwrap();
        done.push(at - start);
        guards.push(guard);
    }
    done.sort();
    assert_eq!(done, [1000 * MS, 2000 * MS, 3000 * MS], "one after another");
    drop(guards);
    assert_settled(&pool, &control);
}
