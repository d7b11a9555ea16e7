//! `Manager::is_broken`, the manager's own check when a guard gives its
//! resource back: a resource it calls broken is discarded there, its slot
//! goes to the next `get`, and a check that panics loses no slot. Over
//! real TCP, in `pool_tcp`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use anyrt_pool::Pool;
use anyrt_tests::pool::{TestManager, assert_settled};

#[anyrt_test::test]
async fn a_resource_called_broken_is_discarded_at_return() {
    let (manager, control) = TestManager::new();
    control.broken_id.store(1, Ordering::SeqCst); // resource 0
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    assert_eq!((a.id, b.id), (0, 1));
    drop((a, b));
    let status = pool.status();
    assert_eq!(control.return_checks.load(Ordering::SeqCst), 2);
    assert_eq!(
        (status.discarded.broken, status.size, status.idle),
        (1, 1, 1)
    );
    assert_eq!(pool.get().await.unwrap().id, 1, "the sound one was kept");
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn every_resource_called_broken_means_a_new_one_each_time() {
    let (manager, control) = TestManager::new();
    control.broken_id.store(usize::MAX, Ordering::SeqCst);
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    for id in 0..5 {
        assert_eq!(pool.get().await.unwrap().id, id);
    }
    let status = pool.status();
    assert_eq!((status.created, status.discarded.broken), (5, 5));
    assert_eq!(status.recycled, 0, "nothing came back to be recycled");
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_waiter_gets_a_new_resource_when_the_returned_one_is_broken() {
    let (manager, control) = TestManager::new();
    control.broken_id.store(1, Ordering::SeqCst);
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let held = pool.get().await.unwrap();
    let waiter = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.unwrap().id })
    };
    while pool.status().waiting == 0 {
        anyrt_core::yield_now().await;
    }
    drop(held);
    assert_eq!(
        waiter.await,
        1,
        "the waiter got a fresh one, not resource 0"
    );
    assert_eq!(pool.status().discarded.broken, 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn the_check_runs_only_for_a_resource_that_would_be_kept() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(3).build().unwrap();
    let mut broken = pool.get().await.unwrap();
    broken.mark_broken();
    drop(broken);
    drop(pool.get().await.unwrap().detach());
    let panicked = pool.get().await.unwrap();
    let unwound = catch_unwind(AssertUnwindSafe(move || {
        let _guard = panicked;
        panic!("a user of the resource panicked");
    }));
    assert!(unwound.is_err());
    assert_eq!(control.return_checks.load(Ordering::SeqCst), 0);
    drop(pool.get().await.unwrap());
    assert_eq!(control.return_checks.load(Ordering::SeqCst), 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_check_that_panics_discards_the_resource_and_keeps_the_slot() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    control.panic_on_return.store(true, Ordering::SeqCst);
    let unwound = catch_unwind(AssertUnwindSafe(|| drop(a)));
    let message = unwound.expect_err("the check's panic reaches the dropper");
    assert_eq!(message.downcast_ref::<&str>(), Some(&"is_broken panicked"));
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.discarded.panicked),
        (1, 1, 1)
    );
    assert_eq!(control.alive(), 1, "the resource was dropped");
    control.panic_on_return.store(false, Ordering::SeqCst);
    drop(b);
    // The pool still hands out `max_size` resources at once.
    let (c, d) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    assert_eq!((c.id, d.id), (1, 2));
    drop((c, d));
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn the_check_is_not_asked_after_close() {
    let (manager, control) = TestManager::new();
    control.broken_id.store(usize::MAX, Ordering::SeqCst);
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let guard = pool.get().await.unwrap();
    pool.close();
    drop(guard);
    assert_eq!(control.return_checks.load(Ordering::SeqCst), 0);
    let status = pool.status();
    assert_eq!((status.discarded.closed, status.discarded.broken), (1, 0));
    assert_settled(&pool, &control);
}
