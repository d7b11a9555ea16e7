//! `Pool::wait_closed`, a graceful shutdown: after `close`, it waits for
//! every resource still out (in use, being created, being checked) to
//! leave the pool, and for nothing else.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_pool::{Metrics, Pool, Reuse};
use anyrt_tests::pool::{TestManager, assert_settled};
use futures_lite::FutureExt;
use futures_lite::future::poll_once;

const SEC: Duration = Duration::from_secs(1);

#[anyrt_test::test]
async fn an_open_pool_is_waited_for_until_it_closes() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    drop(pool.get().await.unwrap()); // one idle resource
    let mut done = pin!(pool.wait_closed());
    assert!(poll_once(done.as_mut()).await.is_none(), "not closed yet");
    pool.close();
    done.await;
    assert_eq!(pool.status().size, 0);
    assert_eq!(control.alive(), 0, "the idle one was dropped at close");
    pool.wait_closed().await; // and again, at once
}

#[anyrt_test::test]
async fn it_waits_for_every_guard_in_use() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(3).build().unwrap();
    let a = pool.get().await.unwrap();
    let mut b = pool.get().await.unwrap();
    let c = pool.get().await.unwrap();
    pool.close();
    let mut done = pin!(pool.wait_closed());
    assert!(poll_once(done.as_mut()).await.is_none());
    drop(a);
    assert!(poll_once(done.as_mut()).await.is_none(), "two still out");
    b.mark_broken();
    drop(b);
    assert!(poll_once(done.as_mut()).await.is_none(), "one still out");
    let kept = c.detach(); // leaves the pool with its new owner
    done.await;
    let status = pool.status();
    assert_eq!((status.size, status.in_use), (0, 0), "{status:?}");
    assert_eq!(
        (
            status.discarded.closed,
            status.discarded.broken,
            status.discarded.detached
        ),
        (1, 1, 1)
    );
    assert_eq!(control.alive(), 1, "only the detached one lives");
    drop(kept);
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn a_guard_dropped_while_panicking_counts_as_gone() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let guard = pool.get().await.unwrap();
    pool.close();
    let unwound = catch_unwind(AssertUnwindSafe(move || {
        let _guard = guard;
        panic!("a user of the resource panicked");
    }));
    assert!(unwound.is_err());
    pool.wait_closed().await;
    assert_eq!(pool.status().discarded.panicked, 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn it_waits_for_a_creation_in_flight(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control.set_create_delay(SEC);
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let mut get = Box::pin(pool.get());
    assert!(poll_once(get.as_mut()).await.is_none());
    assert_eq!(pool.status().creating, 1);
    pool.close();
    let start = anyrt_core::now();
    let waiter = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.wait_closed().await })
    };
    drop(get); // the creation goes on without its get
    waiter.await;
    assert_eq!(clock.now() - start, SEC, "done when the creation ended");
    let status = pool.status();
    assert_eq!((status.size, status.creating, status.created), (0, 0, 1));
    assert_eq!(status.discarded.closed, 1);
    // The creation's thread drops the resource just after it left.
    while control.alive() > 0 {
        anyrt_core::yield_now().await;
    }
}

#[anyrt_test::test]
async fn every_waiter_is_woken() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let guard = pool.get().await.unwrap();
    pool.close();
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let pool = pool.clone();
            anyrt_core::spawn(async move { pool.wait_closed().await })
        })
        .collect();
    anyrt_core::yield_now().await;
    drop(guard);
    for waiter in waiters {
        waiter.await;
    }
    assert_settled(&pool, &control);
}

#[anyrt_test::test]
async fn dropped_at_any_poll_it_changes_nothing() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let guard = pool.get().await.unwrap();
    pool.close();
    for polls in 0..4 {
        let mut done = pin!(pool.wait_closed());
        for _ in 0..polls {
            assert!(poll_once(done.as_mut()).await.is_none(), "a guard is out");
        }
    }
    assert_eq!(pool.status().in_use, 1);
    drop(guard);
    pool.wait_closed().await;
    assert_settled(&pool, &control);
}

/// Numbered resources; the destructor of the one numbered `doomed - 1`
/// panics (once).
struct Doomed {
    id: usize,
    doomed: Arc<AtomicUsize>,
}

impl Drop for Doomed {
    fn drop(&mut self) {
        if self
            .doomed
            .compare_exchange(self.id + 1, 0, SeqCst, SeqCst)
            .is_ok()
        {
            panic!("the expired resource's destructor panics");
        }
    }
}

#[derive(Default)]
struct Numbered {
    next: AtomicUsize,
    doomed: Arc<AtomicUsize>,
}

impl anyrt_pool::Manager for Numbered {
    type Type = Doomed;
    type Error = ();

    async fn create(&self) -> Result<Doomed, ()> {
        let id = self.next.fetch_add(1, SeqCst);
        let doomed = self.doomed.clone();
        Ok(Doomed { id, doomed })
    }

    async fn recycle(&self, _: &mut Doomed, _: &Metrics) -> Result<(), ()> {
        Ok(())
    }
}

/// Closes the pool and checks that the wait ends with nothing left in it.
async fn closes_empty<M: anyrt_pool::Manager>(pool: &Pool<M>) {
    pool.close();
    let done = anyrt_deadline::within(Duration::from_secs(3600), pool.wait_closed()).await;
    let status = pool.status();
    assert!(done.is_ok(), "wait_closed never ends: {status:?}");
    assert_eq!((status.size, status.creating, status.in_use), (0, 0, 0));
    assert_eq!(status.created - status.discarded.total(), 0, "{status:?}");
}

/// A checkout that found only an expired resource counted the creation
/// it was about to start, then dropped the expired one; its destructor
/// panicked, the creation never started, and `size` and `creating` kept
/// it for good: `wait_closed` never ended.
#[anyrt_test::test(virtual_time)]
async fn regression_an_expired_destructor_that_panics_leaves_no_creation_counted(
    clock: VirtualClock,
) {
    let manager = Numbered::default();
    let doomed = manager.doomed.clone();
    let pool = Pool::builder(manager)
        .max_size(1)
        .idle_timeout(SEC)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    let mut get = Box::pin(pool.get());
    assert!(
        poll_once(get.as_mut()).await.is_none(),
        "queued for the slot"
    );
    drop(held); // idle, its slot the waiter's
    clock.advance(2 * SEC);
    doomed.store(1, SeqCst);
    assert!(AssertUnwindSafe(get).catch_unwind().await.is_err());
    closes_empty(&pool).await;
}

/// Two idle resources, the first expired and its destructor doomed.
async fn one_expired_before_one_fresh(clock: &VirtualClock) -> Pool<Numbered> {
    let manager = Numbered::default();
    let doomed = manager.doomed.clone();
    let pool = Pool::builder(manager)
        .max_size(2)
        .idle_timeout(2 * SEC)
        .reuse(Reuse::Fifo)
        .build()
        .unwrap();
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    doomed.store(a.id + 1, SeqCst);
    drop(a);
    clock.advance(SEC);
    drop(b);
    clock.advance(SEC + SEC / 2); // `a` idle past the timeout, `b` not
    pool
}

/// The same with a fresh resource behind the expired one: the checkout
/// took the fresh one, then lost it when the expired one's destructor
/// panicked, and `size` kept it for good.
#[anyrt_test::test(virtual_time)]
async fn regression_an_expired_destructor_that_panics_loses_no_idle_resource(clock: VirtualClock) {
    let pool = one_expired_before_one_fresh(&clock).await;
    assert!(AssertUnwindSafe(pool.get()).catch_unwind().await.is_err());
    assert_eq!(pool.status().idle, 1, "the fresh one is still there");
    closes_empty(&pool).await;
}

/// The same through `try_get`.
#[anyrt_test::test(virtual_time)]
async fn regression_an_expired_destructor_that_panics_loses_nothing_to_try_get(
    clock: VirtualClock,
) {
    let pool = one_expired_before_one_fresh(&clock).await;
    assert!(catch_unwind(AssertUnwindSafe(|| pool.try_get().is_ok())).is_err());
    assert_eq!(pool.status().idle, 1, "the fresh one is still there");
    assert!(pool.try_get().is_ok());
    closes_empty(&pool).await;
}
