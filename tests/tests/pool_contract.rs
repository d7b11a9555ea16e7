//! Promises of the pool's docs that once broke: the books of `maintain`
//! and of waits, creations that outlive their `get` (its deadline, its
//! runtime), grown slots, a panicking manager under `maintain`, and the
//! reason a close-cut check is counted under. Each test quotes its promise.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_pool::{Pool, PoolError};
use anyrt_scope::Scope;
use anyrt_tests::pool::{Control, TestManager, assert_settled};
use futures_lite::{FutureExt, future};

const MS: Duration = Duration::from_millis(1);

/// `maintain_once`: "creates resources until `min_idle` are idle (or the
/// pool is full, or no slot is free, or `max_creating` creations are in
/// flight)".
///
/// `Shared::idle_missing` subtracts every creation in flight from what is
/// missing, the creation of a waiting `get` included, although that
/// resource goes to its `get` and never joins the idle set. With room and
/// free slots, a pass that ends while a `get` is creating leaves fewer
/// than `min_idle` idle.
#[anyrt_test::test(virtual_time)]
async fn maintain_once_counts_a_gets_creation_as_a_future_idle_resource(
    _clock: anyrt_core::VirtualClock,
) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(4)
        .min_idle(2)
        .build()
        .unwrap();
    control.set_create_delay(1000 * MS);
    let get = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.get().await.map(|g| g.id) })
    };
    // The creation is counted before its task runs: wait until it has
    // read its delay (the get's own time bound is a sleep too, so the
    // clock's sleepers do not tell), before the delay is changed.
    while control.creates_started.load(SeqCst) == 0 {
        anyrt_core::yield_now().await;
    }
    control.set_create_delay(Duration::ZERO);
    let made = pool.maintain_once().await.unwrap();
    let status = pool.status();
    assert_eq!(
        (made, status.idle),
        (2, 2),
        "room for two and no creation of maintain's in flight: {status:?}"
    );
    assert!(get.await.is_ok());
    assert_settled(&pool, &control);
}

/// The one creation of a pool of one ended well, and its resource is idle.
fn assert_the_creation_went_on<M: anyrt_pool::Manager>(pool: &Pool<M>, failures: &AtomicUsize) {
    let status = pool.status();
    assert_eq!(failures.load(SeqCst), 0, "the creation failed: {status:?}");
    assert_eq!(
        (status.created, status.idle),
        (1, 1),
        "the creation went on and its resource is idle: {status:?}"
    );
}

/// A pool of `max_size` with `min_idle`, whose creations take 10 ms.
fn slow_pool(max_size: usize, min_idle: usize) -> (Pool<TestManager>, Arc<Control>) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .min_idle(min_idle)
        .build()
        .unwrap();
    control.set_create_delay(10 * MS);
    (pool, control)
}

/// `maintain_once`: "creates resources until `min_idle` are idle".
///
/// Each pass reads what is missing once, when it starts
/// (`Shared::idle_missing`), and then creates that many without looking
/// again: two passes at once (a `maintain` task and a caller's own
/// `maintain_once`, say) each count the other's first creation only, and
/// together make more than `min_idle`.
#[anyrt_test::test(virtual_time)]
async fn two_maintain_passes_at_once_make_more_than_min_idle(_clock: anyrt_core::VirtualClock) {
    let (pool, control) = slow_pool(8, 2);
    let (a, b) = future::zip(pool.maintain_once(), pool.maintain_once()).await;
    let status = pool.status();
    assert_eq!(status.idle, 2, "min_idle, no more: {status:?}");
    assert_eq!(
        a.unwrap() + b.unwrap(),
        2,
        "the passes made two between them"
    );
    assert_settled(&pool, &control);
}

/// `maintain_once`: "Returns how many it added to the idle set".
///
/// A resource whose creation ends after the pool was closed is discarded
/// at once (`Shared::created_idle`), but the pass counted it as made and
/// went on to the next creation.
#[anyrt_test::test(virtual_time)]
async fn a_maintain_pass_counts_a_resource_discarded_at_once(_clock: anyrt_core::VirtualClock) {
    let (pool, _control) = slow_pool(4, 2);
    let closer = {
        let pool = pool.clone();
        anyrt_core::spawn(async move {
            anyrt_core::sleep(5 * MS).await;
            pool.close();
        })
    };
    let made = pool.maintain_once().await;
    closer.await;
    let status = pool.status();
    assert_eq!(
        made.ok(),
        Some(0),
        "nothing joined the idle set: {status:?}"
    );
    assert_eq!(
        (status.created, status.discarded.closed, status.idle),
        (1, 1, 0),
        "one made, discarded at once, and no second creation on a closed pool: {status:?}"
    );
}

/// `Pool::get`, cancel safety: "during a creation, the creation goes on
/// and its resource joins the idle set"; `create_timeout`: "How long one
/// creation may take".
///
/// The creation task is spawned through `anyrt-core` from inside the
/// `get` (`create::spawn`, `anyrt_core::spawn`), so it takes the caller's
/// ambient deadline with it. A manager that honours the ambient deadline
/// (here an `anyrt_deadline::within` of its own, as a connect with a
/// timeout or a retry loop would) is cut at the deadline of the `get`
/// that happened to start it, so the creation that was to go on and fill
/// the idle set fails instead, although it would end well within its own
/// limit and `create_timeout`.
#[anyrt_test::test(virtual_time)]
async fn a_creation_outliving_its_get_is_cut_by_the_gets_ambient_deadline(
    _clock: anyrt_core::VirtualClock,
) {
    let failures = Arc::new(AtomicUsize::new(0));
    let counted = failures.clone();
    let pool = Pool::from_fn(|| async {
        // A connect bounded by its own 1 s limit; it takes 100 ms.
        anyrt_deadline::within(Duration::from_secs(1), anyrt_core::sleep(100 * MS))
            .await
            .map_err(|_| "connect cut short")
    })
    .max_size(1)
    .on_background_error(move |_| {
        counted.fetch_add(1, SeqCst);
    })
    .build()
    .unwrap();
    // A caller in a hurry gives up after 10 ms; the creation goes on.
    let got = anyrt_deadline::within(10 * MS, pool.get()).await;
    assert!(
        !matches!(got, Ok(Ok(_))),
        "the get cannot be served in 10 ms"
    );
    anyrt_core::sleep(200 * MS).await;
    assert_the_creation_went_on(&pool, &failures);
}

/// The same promise ("the creation goes on"), against the caller's
/// scope instead of its deadline.
///
/// The creation task takes every ambient value of the `get` that started
/// it, the cancel token of the caller's scope included. A manager that
/// runs its connect in a scope of its own (racing two addresses, say)
/// makes that scope's token a child of the caller's, so when the
/// caller's scope ends (here it fails at 10 ms, while the creation has
/// 90 ms to go) the manager's scope is cancelled with it and the creation
/// that was to fill the idle set fails instead.
#[anyrt_test::test(virtual_time)]
async fn a_creation_outliving_its_get_is_cancelled_with_the_gets_scope(
    _clock: anyrt_core::VirtualClock,
) {
    let failures = Arc::new(AtomicUsize::new(0));
    let counted = failures.clone();
    let pool = Pool::from_fn(|| async {
        let connect = Scope::<&'static str>::new();
        connect
            .run(async {
                let attempt = connect.spawn(async {
                    let token = connect.token();
                    let slow = token.run_until_cancelled(anyrt_core::sleep(100 * MS));
                    slow.await.ok_or("connect cancelled")
                });
                attempt.await;
                Ok(())
            })
            .await
    })
    .max_size(1)
    .on_background_error(move |_| {
        counted.fetch_add(1, SeqCst);
    })
    .build()
    .unwrap();
    let caller = Scope::<&'static str>::new();
    let ended = caller
        .run(async {
            caller.spawn(async {
                anyrt_core::sleep(10 * MS).await;
                Err::<(), _>("the caller's request failed")
            });
            let got = pool.get().await;
            Ok(got.is_ok())
        })
        .await;
    assert_eq!(ended, Err("the caller's request failed"));
    // Nothing of the caller is in the pool's task: its own scope, a
    // child of no token, is all the manager sees.
    anyrt_core::sleep(200 * MS).await;
    assert_the_creation_went_on(&pool, &failures);
}

/// `Pool::resize`: "Growing frees slots at once (to waiters first)".
///
/// `Shared::resize` hands the new slots to the semaphore with a plain
/// `add_permits` (shared.rs, the grow branch), which only wakes the
/// oldest waiter and leaves the permit free until that waiter runs: a
/// `get` that arrives meanwhile barges in (`try_slot`, the fast path of
/// `get`) and takes the new slot to create on it, and the waiter that
/// was queued before the grow goes on waiting.
#[anyrt_test::test(virtual_time)]
async fn a_grown_slot_goes_to_a_newcomer_before_the_queued_waiter(
    _clock: anyrt_core::VirtualClock,
) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let held = pool.get().await.unwrap();
    // No limit of its own, so that no sleep gives the clock a reason to move.
    let mut waiter = Box::pin(pool.get_timeout(Duration::MAX));
    assert!(future::poll_once(waiter.as_mut()).await.is_none());
    assert_eq!(pool.status().waiting, 1);
    pool.resize(2).unwrap();
    // A newcomer, polled before the woken waiter runs.
    let mut newcomer = Box::pin(pool.get_timeout(Duration::MAX));
    let first = future::poll_once(newcomer.as_mut()).await;
    let status = pool.status();
    assert_eq!(
        status.size, 1,
        "the newcomer took the slot the grow freed for the waiter: {status:?}"
    );
    assert!(waiter.await.is_ok());
    drop((held, first, newcomer));
    while pool.status().creating > 0 {
        anyrt_core::yield_now().await;
    }
    assert_settled(&pool, &control);
}

/// `Status::total_wait`: "Time `get` calls spent waiting for a slot,
/// summed"; `max_wait`: "The longest such wait".
///
/// The wait is measured only once the slot is had (`Pool::slot` reads
/// `queued_since` after the acquire completes, and `Shared::take` adds
/// it): a `get` that waits for a slot and times out, or is dropped while
/// queued, leaves no trace in either, so a pool whose callers all time out
/// waiting reports that nobody waited at all.
#[anyrt_test::test(virtual_time)]
async fn a_wait_for_a_slot_that_times_out_is_not_counted(clock: anyrt_core::VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let held = pool.get().await.unwrap();
    let got = pool.get_timeout(Duration::from_secs(2)).await;
    assert!(matches!(got, Err(PoolError::Timeout { .. })), "{got:?}");
    assert_eq!(clock.elapsed(), Duration::from_secs(2));
    let status = pool.status();
    assert_eq!(status.timed_out, 1);
    assert_eq!(
        (status.total_wait, status.max_wait),
        (Duration::from_secs(2), Duration::from_secs(2)),
        "the get waited 2 s for a slot: {status:?}"
    );
    drop(held);
    assert_settled(&pool, &control);
}

/// `PoolError::Closed`: "The pool was closed"; the design: "Errors say
/// what happened".
///
/// A creation runs as a task of the runtime the `get` was first polled
/// on. When that runtime shuts down, the task is dropped unfinished and
/// `Deliver::drop` hands `Outcome::Cancelled` to the `get`, which
/// `Pool::create` maps to `PoolError::Closed` (its last match arm), from
/// a pool that is open: the caller is told to stop using a pool that
/// works, as a panicking `create` once was.
#[test]
fn a_creation_dropped_with_its_runtime_is_reported_as_closed() {
    let (manager, control) = TestManager::new();
    // The creation is still under way when its runtime goes.
    control.set_create_delay(Duration::from_secs(3600));
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // No limit of its own: no timer of that runtime is left in the call.
    let mut get = Box::pin(pool.get_timeout(Duration::MAX));
    assert!(runtime.block_on(future::poll_once(get.as_mut())).is_none());
    assert_eq!(pool.status().creating, 1);
    drop(runtime);
    control.set_create_delay(Duration::ZERO);
    let got = futures::executor::block_on(get);
    assert!(!pool.is_closed());
    assert!(
        !matches!(got, Err(PoolError::Closed)),
        "an open pool reported as closed"
    );
    drop(got);
    let status = pool.status();
    assert_eq!((status.in_use, status.creating), (0, 0), "{status:?}");
}

/// `Pool::maintain`: "Runs until the pool is closed (it ends as soon as
/// it is): every `maintain_interval`, reaps and refills [...]; a pass that
/// fails is tried again at the next interval".
///
/// A pass creates in place (`maintain_once` awaits `create::run`, which,
/// unlike the task of a `get`'s creation, catches no panic), so one
/// `Manager::create` that panics unwinds through `maintain` and ends it:
/// driven on a detached task as its docs say, the upkeep of `min_idle`
/// stops for good, unseen, while the pool stays open.
#[anyrt_test::test(virtual_time)]
async fn a_create_that_panics_ends_maintain_for_good(_clock: anyrt_core::VirtualClock) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let pool = Pool::from_fn(move || {
        let first = counted.fetch_add(1, SeqCst) == 0;
        async move {
            assert!(!first, "the first creation panics");
            Ok::<_, ()>(())
        }
    })
    .min_idle(1)
    .maintain_interval(Duration::from_secs(1))
    .build()
    .unwrap();
    let upkeep = pool.clone();
    let maintain = AssertUnwindSafe(async move { upkeep.maintain().await }).catch_unwind();
    let sleeper = async {
        anyrt_core::sleep(Duration::from_secs(5)).await;
        pool.close();
    };
    let (maintained, ()) = future::zip(maintain, sleeper).await;
    assert!(
        maintained.is_ok(),
        "maintain ended with the manager's panic"
    );
    assert!(calls.load(SeqCst) >= 2, "the refill was tried again");
}

/// `Discarded::closed`: "The pool was closed"; `Discarded::cancelled`:
/// "The checkout was cancelled during the health check".
///
/// A `close` during a checkout's health check makes `or_closed` drop the
/// check, and the guard under it (marked as checking) discards its
/// resource in `PoolGuard::drop` with `Reason::Cancelled` whenever the
/// thread is not panicking (guard.rs, the `Fate::Checking` arm): the
/// resource the close threw away is counted as a cancelled checkout,
/// although nobody cancelled the `get` (it returned `Closed`), while a
/// creation that the close cut is counted under `closed`.
#[anyrt_test::test(virtual_time)]
async fn a_health_check_cut_by_close_is_counted_as_a_cancelled_checkout(
    _clock: anyrt_core::VirtualClock,
) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    drop(pool.get().await.unwrap());
    control.set_recycle_delay(Duration::from_secs(1));
    let mut get = Box::pin(pool.get());
    assert!(future::poll_once(get.as_mut()).await.is_none());
    assert_eq!(control.recycles.load(SeqCst), 1);
    pool.close();
    assert!(matches!(get.await, Err(PoolError::Closed)));
    let discarded = pool.status().discarded;
    assert_eq!(
        (discarded.closed, discarded.cancelled),
        (1, 0),
        "thrown away by the close: {discarded:?}"
    );
    assert_eq!(control.alive(), 0);
}

/// A creation that goes on after its `get` gave up holds nothing of the
/// caller's context: a request's data set with `with_value` is freed
/// with the request, not when the creation ends. (The creation's task
/// was spawned from the caller's context, whose outer wrapper kept that
/// context alive for as long as the creation ran.)
#[anyrt_test::test(virtual_time)]
async fn a_creation_outliving_its_get_keeps_nothing_of_the_callers_context(
    _clock: anyrt_core::VirtualClock,
) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    control.set_create_delay(100 * MS);
    let request = Arc::new([0u8; 64]);
    let freed = Arc::downgrade(&request);
    let got = anyrt_core::with_value(
        request,
        anyrt_deadline::within(10 * MS, async { pool.get().await.is_ok() }),
    )
    .await;
    // The get honours the deadline itself (a timeout error), or is cut.
    assert!(!got.unwrap_or(false), "the get gave up at its deadline");
    assert_eq!(pool.status().creating, 1, "the creation goes on");
    assert!(
        freed.upgrade().is_none(),
        "the request's data is freed while the creation runs"
    );
    anyrt_core::sleep(200 * MS).await;
    let status = pool.status();
    assert_eq!((status.idle, status.creating), (1, 0), "{status:?}");
}
