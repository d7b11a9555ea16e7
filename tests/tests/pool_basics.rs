//! Conformance of `anyrt_pool::Pool`: checkout and return, reuse order,
//! guards that detach, break or panic, `try_get`, the builder's checks and
//! the status counters.

use std::time::Duration;

use anyrt_pool::{BuildError, Pool, PoolError, Reuse, TryGetError};
use anyrt_tests::pool::{TestManager, assert_settled};

#[anyrt_test::test]
async fn a_returned_resource_is_reused() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let first = pool.get().await.unwrap();
    assert_eq!(first.id, 0);
    drop(first);
    let again = pool.get().await.unwrap();
    assert_eq!(again.id, 0, "the idle resource came back");
    assert_eq!(again.metrics().recycled, 1);
    drop(again);
    let status = pool.status();
    assert_eq!((status.created, status.recycled, status.size), (1, 1, 1));
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn never_more_than_max_size_resources() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(3).build().unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let pool = pool.clone();
            anyrt_core::spawn(async move {
                for _ in 0..5 {
                    let guard = pool.get().await.unwrap();
                    assert!(pool.status().size <= 3);
                    anyrt_core::yield_now().await;
                    drop(guard);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    assert!(control.created.load(std::sync::atomic::Ordering::SeqCst) <= 3);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn lifo_reuses_the_newest_and_fifo_the_oldest() {
    for (reuse, expected) in [(Reuse::Lifo, 2), (Reuse::Fifo, 0)] {
        let (manager, _control) = TestManager::new();
        let pool = Pool::builder(manager)
            .max_size(3)
            .reuse(reuse)
            .build()
            .unwrap();
        let guards = [
            pool.get().await.unwrap(),
            pool.get().await.unwrap(),
            pool.get().await.unwrap(),
        ];
        let ids: Vec<_> = guards.iter().map(|g| g.id).collect();
        assert_eq!(ids, [0, 1, 2]);
        drop(guards); // returned in order 0, 1, 2
        assert_eq!(pool.get().await.unwrap().id, expected, "{reuse:?}");
    }
}

#[anyrt_test::test]
async fn detach_frees_the_slot_and_keeps_the_resource() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let resource = pool.get().await.unwrap().detach();
    assert_eq!(pool.status().size, 0);
    let next = pool.get().await.unwrap();
    assert_eq!((resource.id, next.id), (0, 1));
    assert_eq!(control.alive(), 2);
    drop((resource, next));
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_broken_resource_is_discarded() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let mut guard = pool.get().await.unwrap();
    guard.mark_broken();
    drop(guard);
    assert_eq!(control.alive(), 0);
    assert_eq!(pool.get().await.unwrap().id, 1, "a new one was made");
    assert_eq!(pool.status().discarded.broken, 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_guard_dropped_while_panicking_discards_its_resource() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let guard = pool.get().await.unwrap();
    let panicked = std::thread::spawn(move || {
        let _guard = guard;
        panic!("while holding the resource");
    })
    .join();
    assert!(panicked.is_err());
    let status = pool.status();
    assert_eq!((status.size, status.discarded.panicked), (0, 1));
    assert_eq!(control.alive(), 0);
    assert_eq!(pool.get().await.unwrap().id, 1, "the slot was freed");
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn try_get_neither_waits_nor_creates() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    assert_eq!(pool.try_get().unwrap_err(), TryGetError::NoneIdle);
    assert_eq!(pool.status().created, 0);
    drop(pool.get().await.unwrap());
    let guard = pool.try_get().unwrap();
    assert_eq!(guard.id, 0);
    assert_eq!(pool.try_get().unwrap_err(), TryGetError::NoneIdle);
    drop(guard);
    pool.close();
    assert_eq!(pool.try_get().unwrap_err(), TryGetError::Closed);
    assert_settled(&pool, &control);
}

#[test]
fn bad_configurations_are_errors() {
    let build =
        |f: fn(anyrt_pool::PoolBuilder<TestManager>) -> anyrt_pool::PoolBuilder<TestManager>| {
            f(Pool::builder(TestManager::default()))
                .build()
                .unwrap_err()
        };
    assert_eq!(build(|b| b.max_size(0)), BuildError::MaxSizeZero);
    assert_eq!(
        build(|b| b.max_size(2).min_idle(3)),
        BuildError::MinIdleAboveMaxSize
    );
    assert_eq!(build(|b| b.max_creating(0)), BuildError::MaxCreatingZero);
    for f in [
        |b: anyrt_pool::PoolBuilder<TestManager>| b.acquire_timeout(Duration::ZERO),
        |b: anyrt_pool::PoolBuilder<TestManager>| b.create_timeout(Duration::ZERO),
        |b: anyrt_pool::PoolBuilder<TestManager>| b.idle_timeout(Duration::ZERO),
        |b: anyrt_pool::PoolBuilder<TestManager>| b.max_lifetime(Duration::ZERO),
        |b: anyrt_pool::PoolBuilder<TestManager>| b.maintain_interval(Duration::ZERO),
    ] {
        assert!(matches!(build(f), BuildError::ZeroDuration(_)));
    }
    // Huge values are fine: durations saturate, sizes are not preallocated.
    let pool = Pool::builder(TestManager::default())
        .max_size(usize::MAX)
        .max_creating(usize::MAX)
        .acquire_timeout(Duration::MAX)
        .idle_timeout(Duration::MAX)
        .max_lifetime(Duration::MAX)
        .build()
        .unwrap();
    // The size in force: the slot semaphore counts up to `usize::MAX / 4`.
    assert_eq!(pool.status().max_size, usize::MAX / 4);
}

#[anyrt_test::test]
async fn from_fn_makes_a_pool_of_a_closure() {
    let pool = Pool::from_fn(|| async { Ok::<_, std::io::Error>(String::from("conn")) })
        .max_size(1)
        .build()
        .unwrap();
    assert_eq!(*pool.get().await.unwrap(), "conn");
    let failing = Pool::from_fn(|| async { Err::<(), _>("nope") })
        .build()
        .unwrap();
    assert!(matches!(
        failing.get().await.unwrap_err(),
        PoolError::Backend("nope")
    ));
}

#[anyrt_test::test]
async fn guards_move_into_static_tasks() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let guard = pool.get().await.unwrap();
    let task = anyrt_core::spawn(async move { guard.id });
    assert_eq!(task.await, 0);
    assert_eq!(pool.status().idle, 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn the_status_sums_and_bounds_the_waits_for_a_slot(clock: anyrt_core::VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let held = pool.get().await.unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            anyrt_core::spawn(async move { pool.get().await.map(drop) })
        })
        .collect();
    while pool.status().waiting < 2 {
        anyrt_core::yield_now().await;
    }
    anyrt_core::sleep(Duration::from_secs(2)).await;
    drop(held);
    for waiter in waiters {
        waiter.await.unwrap();
    }
    assert_eq!(clock.elapsed(), Duration::from_secs(2));
    let status = pool.status();
    // Both waited 2 s: the one served after the other waited as long, as
    // nothing moves the clock between their turns.
    assert_eq!(status.max_wait, Duration::from_secs(2));
    assert_eq!(status.total_wait, Duration::from_secs(4));
    assert_settled(&pool, &control);
}

/// A manager whose `create` future keeps 64 KiB across an await.
struct HugeCreate;

impl anyrt_pool::Manager for HugeCreate {
    type Type = u8;
    type Error = ();

    async fn create(&self) -> Result<u8, ()> {
        let scratch = [7u8; 64 * 1024];
        anyrt_core::yield_now().await;
        Ok(std::hint::black_box(scratch)[0])
    }
}

/// Neither inline in a `get`'s future nor moved through the spawn's
/// layers on a stack: a 64 KiB creation overflowed a debug build's stack.
#[anyrt_test::test]
async fn a_get_future_does_not_hold_the_managers_create_future() {
    let pool = Pool::builder(HugeCreate).build().unwrap();
    let get = pool.get();
    let size = std::mem::size_of_val(&get);
    assert!(size < 4 * 1024, "a get's future is {size} bytes");
    let created = get.await.unwrap();
    assert_eq!(*created, 7);
}
