//! `close` and `maintain` against work in flight, a shrink that a
//! creation outlives, the order of the gets that wait for a `max_creating`
//! permit, and the books seen from inside the `on_background_error` hook.
//! The first five tests are regressions: each failed before its fix.

use std::pin::pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_pool::{Pool, PoolError, PoolGuard, Status};
use anyrt_tests::cancel::cancel_after;
use anyrt_tests::pool::{TestError, TestManager, assert_settled};
use futures_lite::future::poll_once;

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// `Pool::close`: "every waiting and later `get` fails with
/// [`PoolError::Closed`]", and `Pool::get`: `Closed` "also when it was
/// closed during this call's creation". Regression: a `get` whose own
/// creation hung when the pool was closed kept waiting for it until
/// `create_timeout`, then failed with `Timeout` instead of `Closed`. The
/// wait for a creation now also listens for the close.
#[anyrt_test::test(virtual_time)]
async fn close_fails_a_get_whose_creation_hangs_with_closed(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control.hang.store(true, SeqCst);
    let pool = Pool::builder(manager)
        .create_timeout(10 * SEC)
        .acquire_timeout(60 * SEC)
        .build()
        .unwrap();
    let get = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|guard| guard.id) })
    };
    anyrt_core::sleep(SEC).await;
    assert_eq!(pool.status().creating, 1, "its creation hangs");
    pool.close();
    let closed_at = clock.elapsed();
    let got = anyrt_deadline::timeout(30 * SEC, get)
        .await
        .expect("the get ends");
    assert!(
        matches!(got, Err(PoolError::Closed)),
        "a get of a closed pool fails with Closed, got {got:?} after {:?}",
        clock.elapsed() - closed_at
    );
    assert_eq!(pool.status().timed_out, 0, "it did not time out");
}

/// As above for a health check: `Pool::get` fails with `Closed` "also
/// when it was closed during this call's ... health check". Regression: a
/// check that hung when the pool was closed held the `get` until
/// `acquire_timeout`, which then failed with `Timeout`.
#[anyrt_test::test(virtual_time)]
async fn close_fails_a_get_whose_health_check_hangs_with_closed(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .acquire_timeout(10 * SEC)
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    control.set_recycle_delay(1000 * SEC);
    let get = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|guard| guard.id) })
    };
    anyrt_core::sleep(SEC).await;
    assert_eq!(pool.status().in_use, 1, "its check hangs");
    pool.close();
    let closed_at = clock.elapsed();
    let got = anyrt_deadline::timeout(30 * SEC, get)
        .await
        .expect("the get ends");
    assert!(
        matches!(got, Err(PoolError::Closed)),
        "a get of a closed pool fails with Closed, got {got:?} after {:?}",
        clock.elapsed() - closed_at
    );
    assert_eq!(pool.status().timed_out, 0, "it did not time out");
}

/// `Pool::maintain`: "Runs until the pool is closed (it ends as soon as it
/// is)", and `maintain_once` is cancel safe ("Dropping it during a
/// creation drops that creation and frees its slot"). Regression: a
/// `maintain` whose refill was in a creation that hung when the pool was
/// closed ran on until `create_timeout` (and so did `wait_closed`, for
/// that creation's slot).
#[anyrt_test::test(virtual_time)]
async fn maintain_ends_as_soon_as_the_pool_is_closed_even_mid_creation(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control.hang.store(true, SeqCst);
    let pool = Pool::builder(manager)
        .min_idle(1)
        .create_timeout(60 * SEC)
        .maintain_interval(10 * SEC)
        .build()
        .unwrap();
    let upkeep = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.maintain().await })
    };
    anyrt_core::sleep(SEC).await;
    assert_eq!(pool.status().creating, 1, "the refill's creation hangs");
    pool.close();
    let closed_at = clock.elapsed();
    let ended = anyrt_deadline::timeout(5 * SEC, upkeep).await;
    assert!(
        ended.is_ok(),
        "maintain still runs {:?} after close: {:?}",
        clock.elapsed() - closed_at,
        pool.status()
    );
    let drained = anyrt_deadline::timeout(5 * SEC, pool.wait_closed()).await;
    assert!(drained.is_ok(), "{:?}", pool.status());
}

/// `Pool::resize`: "shrinking discards idle resources above the new size
/// now and resources in use as they come back, so the size never again
/// exceeds the new maximum once they have"; ARCHITECTURE: `size` "never
/// exceeds `max_size`" but for a shrink that still owes slots.
/// Regression: creations whose `get`s were dropped, ending after a
/// shrink, put their resources into the idle set regardless: with nothing
/// in use and nothing owed the pool held 2 resources at a `max_size` of
/// 1. They are now discarded as a return would be.
#[anyrt_test::test(virtual_time)]
async fn creations_that_end_after_a_shrink_do_not_keep_the_pool_above_its_size(
    _clock: VirtualClock,
) {
    let (manager, control) = TestManager::new();
    control.set_create_delay(10 * SEC);
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    for _ in 0..2 {
        let mut get = pin!(pool.get());
        assert!(poll_once(get.as_mut()).await.is_none(), "creating");
    }
    assert_eq!(pool.status().creating, 2);
    pool.resize(1).unwrap();
    anyrt_core::sleep(20 * SEC).await;
    let status = pool.status();
    assert_eq!(
        (status.creating, status.in_use),
        (0, 0),
        "both creations ended: {status:?}"
    );
    assert!(status.size <= status.max_size, "{status:?}");
    assert_settled(&pool, &control);
}

/// `PoolBuilder::max_creating`: "A `get` that finds nothing idle waits
/// for its turn to create, and takes a resource that comes back to the
/// pool meanwhile instead"; `Pool`: "waiters are served in order". A `get`
/// woken for a returned resource that another caller took first
/// (`try_get` here, or any `get` that found a free slot) keeps its place.
/// Regression: it left both of its lines and joined them again behind
/// every `get` that came after it, so `a` waited first, yet the next
/// resource to come back went to `b`, and `a` was left to create one.
#[anyrt_test::test(virtual_time)]
async fn a_get_woken_for_a_resource_taken_by_another_keeps_its_turn_to_create(
    _clock: VirtualClock,
) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(4)
        .max_creating(1)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    control.set_create_delay(10 * SEC);
    let creation = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|guard| guard.id) })
    };
    anyrt_core::sleep(MS).await;
    assert_eq!(pool.status().creating, 1);
    let mut a = pin!(pool.get());
    assert!(poll_once(a.as_mut()).await.is_none(), "a waits to create");
    let mut b = pin!(pool.get());
    assert!(poll_once(b.as_mut()).await.is_none(), "b waits behind a");
    drop(held); // wakes `a`
    let stolen = pool.try_get().expect("the returned resource");
    assert!(poll_once(a.as_mut()).await.is_none(), "a finds nothing");
    assert_eq!(creation.await, Ok(1));
    // Its getter gave resource 1 back at once, and the permit is free.
    let order = Arc::new(Mutex::new(Vec::new()));
    let record = |name: &'static str, got: Result<PoolGuard<TestManager>, PoolError<TestError>>| {
        let guard = got.unwrap();
        order.lock().unwrap().push((name, guard.id));
        guard
    };
    let (ga, gb) = futures_lite::future::zip(async { record("a", a.await) }, async {
        record("b", b.await)
    })
    .await;
    let order = order.lock().unwrap().clone();
    assert_eq!(
        order[0].0, "a",
        "the first to wait is served first: {order:?}"
    );
    drop((ga, gb, stolen));
    assert_settled(&pool, &control);
}

/// With `max_creating(1)` and the one creation hanging for good, a single
/// resource passes from hand to hand among gets on every runtime (two
/// workers on tokio's multi-thread one), many of them cancelled at a
/// random poll while they wait: each return must wake a waiter, so none
/// times out.
#[anyrt_test::test(virtual_time)]
async fn one_resource_circulates_while_the_only_creation_hangs(_clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(16)
        .max_creating(1)
        // A get cancelled in a health check would discard the resource.
        .recycle_on_checkout(false)
        .create_timeout(Duration::MAX)
        .acquire_timeout(Duration::MAX)
        .build()
        .unwrap();
    let first = pool.get().await.unwrap();
    control.hang.store(true, SeqCst);
    let mut hanging = Box::pin(pool.get());
    assert!(poll_once(hanging.as_mut()).await.is_none(), "creating");
    drop(hanging); // its creation goes on, holding the one permit
    drop(first);
    let tasks: Vec<_> = (0..8u64)
        .map(|task| {
            let pool = pool.clone();
            anyrt_core::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(task);
                let mut served = 0;
                for _ in 0..100 {
                    let polls = if rng.bool() { rng.usize(0..4) } else { 1000 };
                    match cancel_after(polls, pool.get_timeout(10 * SEC)).await {
                        None => {}
                        Some(Ok(guard)) => {
                            served += 1;
                            anyrt_core::yield_now().await;
                            drop(guard);
                        }
                        Some(Err(e)) => {
                            return Err(format!("task {task}: {e}: {:?}", pool.status()));
                        }
                    }
                    anyrt_core::yield_now().await;
                }
                Ok(served)
            })
        })
        .collect();
    let mut served = 0;
    for task in tasks {
        served += task.await.unwrap();
    }
    assert!(served > 0);
    let status = pool.status();
    assert_eq!(
        (status.size, status.idle, status.creating, status.waiting),
        (2, 1, 1, 0),
        "{status:?}"
    );
    assert_eq!(status.timed_out, 0, "{status:?}");
    let guard = pool.get_timeout(SEC).await.expect("the idle one, at once");
    assert_eq!(guard.id, 0);
    drop(guard);
    pool.close();
}

/// `on_background_error`: "The hook runs outside the pool's locks, after
/// the pool has freed the failed creation's slot". From inside the hook
/// the pool can be asked for its status and a resource without a
/// deadlock, and the books already show the failed creation gone.
#[anyrt_test::test(virtual_time)]
async fn the_hook_sees_the_books_settled_and_may_call_the_pool(_clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control.set_create_delay(SEC);
    let seen: Arc<Mutex<Vec<(Status, bool)>>> = Arc::default();
    let slot = Arc::new(Mutex::new(None::<Pool<TestManager>>));
    let (record, inner) = (seen.clone(), slot.clone());
    let pool = Pool::builder(manager)
        .max_size(1)
        .on_background_error(move |_| {
            let pool = inner.lock().unwrap().clone().expect("set");
            let status = pool.status();
            let got = pool.try_get().is_ok();
            record.lock().unwrap().push((status, got));
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(pool.clone());
    // A resource idle, so the hook's `try_get` finds one.
    drop(pool.get().await.unwrap());
    pool.resize(2).unwrap();
    let held = pool.get().await.unwrap();
    control.refuse.store(true, SeqCst);
    {
        let mut get = pin!(pool.get());
        assert!(poll_once(get.as_mut()).await.is_none(), "creating");
    }
    anyrt_core::sleep(5 * SEC).await;
    drop(held);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (status, got) = seen[0];
    assert_eq!(
        (status.size, status.creating, status.in_use, status.idle),
        (1, 0, 1, 0),
        "{status:?}"
    );
    assert!(!got, "nothing idle then: the one resource was held");
    *slot.lock().unwrap() = None;
    assert_settled(&pool, &control);
}
