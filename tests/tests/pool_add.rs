//! `Pool::add`: a resource made outside the pool joins its idle set,
//! within `max_size`, counted apart from the pool's own creations, checked
//! at checkout and expired like the others; a full or closed pool gives it
//! back untouched.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyrt_pool::{AddError, Pool, Reuse};
use anyrt_tests::pool::{Resource, TestManager, assert_settled};

const SEC: Duration = Duration::from_secs(1);

#[anyrt_test::test]
async fn an_added_resource_is_handed_out_without_a_creation() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    pool.add(Resource::new(&control)).unwrap();
    let status = pool.status();
    assert_eq!(
        (status.size, status.idle, status.added, status.created),
        (1, 1, 1, 0),
        "{status:?}"
    );
    let guard = pool.get().await.unwrap();
    assert_eq!(guard.id, 0, "the added one");
    assert_eq!(
        control.recycles.load(Ordering::SeqCst),
        1,
        "checked at checkout"
    );
    assert_eq!(pool.status().created, 0, "nothing was created");
    drop(guard);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_full_pool_gives_the_resource_back() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let held = pool.get().await.unwrap();
    pool.add(Resource::new(&control)).unwrap();
    let err = pool.add(Resource::new(&control)).unwrap_err();
    assert!(matches!(err, AddError::Full(_)), "{err:?}");
    assert_eq!(err.to_string(), "the pool is full");
    let resource = err.into_resource();
    assert_eq!(resource.id, 2, "the same resource, untouched");
    assert_eq!(control.alive(), 3, "not dropped by the pool");
    drop(resource);
    let status = pool.status();
    assert_eq!((status.size, status.added), (2, 1), "{status:?}");
    drop(held);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_broken_resource_is_given_back() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).build().unwrap();
    control.broken_id.store(usize::MAX, Ordering::SeqCst);
    let err = pool.add(Resource::new(&control)).unwrap_err();
    assert!(matches!(err, AddError::Broken(_)), "{err:?}");
    assert_eq!(err.to_string(), "the resource is broken");
    assert_eq!(control.return_checks.load(Ordering::SeqCst), 1);
    drop(err);
    let status = pool.status();
    assert_eq!((status.size, status.added), (0, 0), "{status:?}");
    control.broken_id.store(0, Ordering::SeqCst);
    pool.add(Resource::new(&control)).unwrap();
    assert_eq!(control.return_checks.load(Ordering::SeqCst), 2);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_panicking_return_check_leaves_the_pool_unchanged() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).build().unwrap();
    control.panic_on_return.store(true, Ordering::SeqCst);
    let resource = Resource::new(&control);
    let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.add(resource)));
    assert!(added.is_err(), "the panic reached the caller");
    assert_eq!(control.alive(), 0, "the resource was dropped");
    assert_eq!(pool.status().size, 0);
    control.panic_on_return.store(false, Ordering::SeqCst);
    assert_eq!(pool.get().await.unwrap().id, 1, "the pool still works");
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn the_manager_makes_a_resource_the_pool_does_not_count() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).build().unwrap();
    let own = anyrt_pool::Manager::create(pool.manager()).await.unwrap();
    assert_eq!((own.id, pool.status().size), (0, 0));
    drop(own);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn added_resources_count_against_max_size() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(2)
        .acquire_timeout(SEC)
        .build()
        .unwrap();
    pool.add(Resource::new(&control)).unwrap();
    pool.add(Resource::new(&control)).unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    let mut ids = [a.id, b.id];
    ids.sort_unstable();
    assert_eq!(ids, [0, 1]);
    assert!(pool.try_get().is_err(), "both slots are held");
    assert_eq!(
        control.created.load(Ordering::SeqCst),
        2,
        "no third one made"
    );
    drop((a, b));
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_closed_pool_gives_the_resource_back() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).build().unwrap();
    pool.close();
    let err = pool.add(Resource::new(&control)).unwrap_err();
    assert!(matches!(err, AddError::Closed(_)), "{err:?}");
    assert_eq!(err.to_string(), "the pool is closed");
    assert_eq!(err.into_resource().id, 0);
    assert_eq!(pool.status().size, 0);
    assert_eq!(control.alive(), 0);
}

#[anyrt_test::test]
async fn added_resources_follow_the_reuse_order() {
    for (reuse, first) in [(Reuse::Lifo, 1), (Reuse::Fifo, 0)] {
        let (manager, control) = TestManager::new();
        let pool = Pool::builder(manager)
            .max_size(2)
            .reuse(reuse)
            .build()
            .unwrap();
        pool.add(Resource::new(&control)).unwrap();
        pool.add(Resource::new(&control)).unwrap();
        assert_eq!(pool.get().await.unwrap().id, first, "{reuse:?}");
    }
}

#[anyrt_test::test(virtual_time)]
async fn an_added_resource_expires_from_when_it_was_added() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_lifetime(100 * SEC)
        .build()
        .unwrap();
    anyrt_core::sleep(50 * SEC).await;
    pool.add(Resource::new(&control)).unwrap();
    // Its lifetime runs from the add, less up to 10% of jitter.
    anyrt_core::sleep(89 * SEC).await;
    assert_eq!(pool.get().await.unwrap().id, 0, "89 s after the add: kept");
    anyrt_core::sleep(11 * SEC).await;
    assert_eq!(
        pool.get().await.unwrap().id,
        1,
        "100 s after the add: replaced"
    );
    assert_eq!(pool.status().discarded.lifetime, 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_creation_in_flight_takes_room_an_add_cannot_have() {
    let (manager, control) = TestManager::new();
    let pool = Arc::new(
        Pool::builder(manager)
            .max_size(2)
            .create_timeout(10 * SEC)
            .build()
            .unwrap(),
    );
    let held = pool.get().await.unwrap();
    control.hang.store(true, Ordering::SeqCst);
    let creating = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|g| g.id) })
    };
    while pool.status().creating == 0 {
        anyrt_core::yield_now().await;
    }
    let refused = pool.add(Resource::new(&control)).unwrap_err();
    assert!(matches!(refused, AddError::Full(_)), "{refused:?}");
    drop(refused);
    assert!(creating.await.is_err(), "the hanging creation timed out");
    pool.add(Resource::new(&control)).unwrap();
    assert_eq!(pool.status().size, 2);
    drop(held);
    assert_settled(&pool, &control);
}
