//! `max_creating`: a `get` that holds a slot and waits for a creation
//! permit takes a resource that comes back idle meanwhile, instead of
//! waiting for another `get`'s creation to end.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyrt_pool::{Pool, PoolError, PoolGuard};
use anyrt_tests::pool::{Control, TestManager, assert_settled};
use futures_lite::future::poll_once;

const SLOW: Duration = Duration::from_secs(10);

/// A pool of 4 with one creation at a time, whose first resource (id 0)
/// is held; from then on a creation takes `SLOW`.
async fn one_held() -> (Pool<TestManager>, Arc<Control>, PoolGuard<TestManager>) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(4)
        .max_creating(1)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    control.set_create_delay(SLOW);
    (pool, control, held)
}

/// A `get` spawned to create the pool's next resource, which takes `SLOW`.
fn creating(
    pool: &Pool<TestManager>,
) -> anyrt_core::Task<Result<usize, PoolError<anyrt_tests::pool::TestError>>> {
    let pool = pool.clone();
    anyrt_core::spawn(async move { pool.get().await.map(|guard| guard.id) })
}

#[anyrt_test::test(virtual_time)]
async fn a_get_waiting_to_create_takes_a_resource_given_back_meanwhile(
    clock: anyrt_core::VirtualClock,
) {
    let (pool, control, held) = one_held().await;
    let creation = creating(&pool);
    clock.advance(Duration::from_secs(1));
    anyrt_core::sleep(Duration::from_millis(1)).await;
    assert_eq!(pool.status().creating, 1);
    let start = clock.now();
    let mut waiting = pin!(pool.get());
    assert!(
        poll_once(waiting.as_mut()).await.is_none(),
        "it waits to create"
    );
    assert_eq!(pool.status().waiting, 1);
    drop(held);
    let guard = waiting.await.unwrap();
    assert_eq!(guard.id, 0, "the resource given back");
    assert_eq!(
        clock.now(),
        start,
        "at once, not once the other creation ends"
    );
    assert_eq!(pool.status().creating, 1, "the other creation goes on");
    drop(guard);
    assert_eq!(creation.await, Ok(1));
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn an_added_resource_wakes_a_get_waiting_to_create(clock: anyrt_core::VirtualClock) {
    let (pool, control, held) = one_held().await;
    let creation = creating(&pool);
    anyrt_core::sleep(Duration::from_millis(1)).await;
    let mut waiting = pin!(pool.get());
    assert!(poll_once(waiting.as_mut()).await.is_none());
    let added = anyrt_tests::pool::Resource::new(&control);
    let id = added.id;
    pool.add(added).unwrap();
    let start = clock.now();
    let guard = waiting.await.unwrap();
    assert_eq!(
        (guard.id, clock.now()),
        (id, start),
        "the added resource, at once"
    );
    drop((guard, held));
    assert_eq!(creation.await, Ok(id + 1));
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_get_woken_for_a_returned_resource_and_dropped_wakes_the_next(
    clock: anyrt_core::VirtualClock,
) {
    let (pool, control, held) = one_held().await;
    let creation = creating(&pool);
    anyrt_core::sleep(Duration::from_millis(1)).await;
    let mut first = Box::pin(pool.get());
    let mut second = pin!(pool.get());
    assert!(poll_once(first.as_mut()).await.is_none());
    assert!(poll_once(second.as_mut()).await.is_none());
    assert_eq!(pool.status().waiting, 2);
    let start = clock.now();
    drop(held); // wakes `first`, which is dropped before it runs
    drop(first);
    let guard = second.await.unwrap();
    assert_eq!(
        (guard.id, clock.now()),
        (0, start),
        "the wake was passed on"
    );
    drop(guard);
    assert_eq!(creation.await, Ok(1));
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_get_waiting_to_create_that_is_cancelled_leaves_nothing_behind(
    clock: anyrt_core::VirtualClock,
) {
    let (pool, control, held) = one_held().await;
    let creation = creating(&pool);
    anyrt_core::sleep(Duration::from_millis(1)).await;
    for _ in 0..3 {
        let mut waiting = pin!(pool.get());
        assert!(poll_once(waiting.as_mut()).await.is_none());
    }
    assert_eq!(pool.status().waiting, 0, "each cancelled wait left");
    // No wake is left over for a later waiter: it waits for the creation.
    let start = clock.now();
    let later = creating(&pool);
    anyrt_core::sleep(Duration::from_millis(1)).await;
    drop(held);
    assert_eq!(later.await, Ok(0), "the returned resource");
    assert_eq!(clock.now() - start, Duration::from_millis(1));
    assert_eq!(creation.await, Ok(1));
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn closing_fails_a_get_waiting_to_create(_clock: anyrt_core::VirtualClock) {
    let (pool, control, held) = one_held().await;
    let creation = creating(&pool);
    anyrt_core::sleep(Duration::from_millis(1)).await;
    let waiting = creating(&pool);
    anyrt_core::sleep(Duration::from_millis(1)).await;
    pool.close();
    assert!(matches!(waiting.await, Err(PoolError::Closed)));
    assert!(matches!(creation.await, Err(PoolError::Closed)));
    drop(held);
    assert_eq!(control.alive_once(0), 0);
}
