//! `Pool::resize` up and down at run time, and `Pool::close` with waiters.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyrt_pool::{BuildError, Pool, PoolError, PoolGuard};
use anyrt_tests::pool::{Control, TestManager, assert_settled};

#[anyrt_test::test]
async fn growing_wakes_waiters() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let held = pool.get().await.unwrap();
    let waiter = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|g| g.id) })
    };
    while pool.status().waiting == 0 {
        anyrt_core::yield_now().await;
    }
    pool.resize(2).unwrap();
    assert_eq!(waiter.await, Ok(1), "a second resource was made");
    assert_eq!(pool.status().max_size, 2);
    drop(held);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn shrinking_discards_idle_now_and_in_use_on_return() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(4).build().unwrap();
    let mut guards: Vec<_> = futures::future::join_all((0..4).map(|_| pool.get()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    drop(guards.split_off(2)); // 2 idle, 2 in use
    pool.resize(1).unwrap();
    let status = pool.status();
    assert_eq!((status.size, status.idle), (2, 0), "idle ones above 1 went");
    drop(guards.pop());
    assert_eq!(
        pool.status().size,
        1,
        "the first one back was over the size"
    );
    assert!(pool.try_get().is_err(), "no slot while one is in use");
    drop(guards.pop());
    let status = pool.status();
    assert_eq!(
        (status.size, status.idle, status.discarded.resized),
        (1, 1, 3)
    );
    let one = pool.get().await.unwrap();
    assert!(
        futures_lite::future::poll_once(pool.get()).await.is_none(),
        "one slot"
    );
    drop(one);
    assert_settled(&pool, &control);
    assert_eq!(pool.resize(0).unwrap_err(), BuildError::MaxSizeZero);
}

#[anyrt_test::test]
async fn shrink_then_grow_gives_back_exactly_the_new_size() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(3).build().unwrap();
    let held: Vec<_> = futures::future::join_all((0..3).map(|_| pool.get())).await;
    pool.resize(1).unwrap(); // two slots owed back
    pool.resize(2).unwrap(); // one of them is cancelled
    drop(held);
    let two: Vec<_> = futures::future::join_all((0..2).map(|_| pool.get())).await;
    assert!(two.iter().all(Result::is_ok));
    assert!(pool.try_get().is_err(), "only two slots");
    drop(two);
    assert!(pool.status().size <= 2);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn close_wakes_every_waiter_with_closed() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(1)
        .acquire_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let pool = pool.clone();
            anyrt_core::spawn(async move { pool.get().await.map(|g| g.id) })
        })
        .collect();
    while pool.status().waiting < 5 {
        anyrt_core::yield_now().await;
    }
    pool.close();
    for waiter in waiters {
        assert_eq!(waiter.await, Err(PoolError::Closed));
    }
    assert!(pool.get().await.unwrap_err().is_closed());
    assert_eq!(control.alive(), 1, "the one in use lives until returned");
    drop(held);
    let status = pool.status();
    assert_eq!((status.size, status.discarded.closed), (0, 1));
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_slot_held_across_a_shrink_creates_nothing_past_the_new_size() {
    // Three slots, one creation at a time: one resource held, one being
    // created (10 s), and a third `get` holding its slot while it waits to
    // create. The pool then shrinks to 1: the third slot is one the
    // shrink takes out, so that `get` must wait for a resource, not make
    // a third.
    let (pool, control, held) = three_slots_one_held().await;
    let spawn_get = || {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|g| (g.id, g)) })
    };
    let creating = spawn_get();
    while pool.status().creating == 0 {
        anyrt_core::yield_now().await;
    }
    let waiting = spawn_get();
    while pool.status().waiting == 0 {
        anyrt_core::yield_now().await;
    }
    pool.resize(1).unwrap();
    let (id, second) = creating.await.unwrap();
    assert_eq!(id, 1);
    // Long enough for a creation (10 s) to have ended, within the
    // waiting get's 30 s timeout.
    anyrt_core::sleep(Duration::from_secs(15)).await;
    let status = pool.status();
    assert_eq!(
        control.created.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "no resource past the new size: {status:?}"
    );
    assert!(status.size <= 2, "{status:?}");
    drop(held); // above the new size: discarded
    drop(second); // kept, and handed to the waiting get
    let (id, third) = waiting.await.unwrap();
    assert_eq!(id, 1, "the waiting get took the one kept");
    drop(third);
    assert_eq!(pool.status().size, 1);
    assert_settled(&pool, &control);
}

/// `c` holds slot 3 (waiting to create) before `d` queues for a slot; the
/// shrink takes `c`'s slot back, and `c` waits again ahead of `d`, so the
/// one resource freed goes to `c`.
#[anyrt_test::test(virtual_time)]
async fn a_get_whose_slot_a_shrink_took_back_keeps_its_turn() {
    let (pool, control, held) = three_slots_one_held().await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let spawn_get = |tag: &'static str| {
        let (pool, order) = (pool.clone(), order.clone());
        anyrt_core::spawn(async move {
            let got = pool.get().await;
            order.lock().unwrap().push(tag);
            got.map(|g| (g.id, g))
        })
    };
    let b = spawn_get("b"); // creating, 10 s
    while pool.status().creating == 0 {
        anyrt_core::yield_now().await;
    }
    let c = spawn_get("c"); // holds slot 3, waits to create
    while pool.status().waiting < 1 {
        anyrt_core::yield_now().await;
    }
    anyrt_core::sleep(Duration::from_secs(1)).await;
    let d = spawn_get("d"); // queued for a slot, after c
    while pool.status().waiting < 2 {
        anyrt_core::yield_now().await;
    }
    pool.resize(1).unwrap();
    let (_, second) = b.await.unwrap(); // c is shrunk now, queued behind d
    anyrt_core::sleep(Duration::from_secs(1)).await;
    drop(held); // above the new size: discarded, pays the last slot owed
    drop(second); // kept: the one slot goes to the first in line
    anyrt_core::sleep(Duration::from_secs(1)).await;
    let served = order.lock().unwrap().clone();
    // Both are served in the end (each drops its guard at once).
    let (c, d) = futures::future::join(async { c.await.map(|(id, _)| id) }, async {
        d.await.map(|(id, _)| id)
    })
    .await;
    assert!(c.is_ok() && d.is_ok(), "{c:?} {d:?}");
    assert_settled(&pool, &control);
    assert_eq!(served, ["b", "c"], "c held a slot before d queued");
}

/// Three slots, one creation at a time, one resource held; creations take
/// 10 s from now on.
async fn three_slots_one_held() -> (Pool<TestManager>, Arc<Control>, PoolGuard<TestManager>) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(3)
        .max_creating(1)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    control.set_create_delay(Duration::from_secs(10));
    (pool, control, held)
}
