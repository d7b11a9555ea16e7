//! `PoolBuilder::on_background_error`: the creation errors no caller
//! sees (a `maintain` pass, a creation whose `get` was dropped or timed
//! out) reach the hook; the ones a caller gets do not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_pool::{Pool, PoolBuilder, PoolError};
use anyrt_tests::pool::{TestError, TestManager, assert_settled};
use futures_lite::future::poll_once;

const SEC: Duration = Duration::from_secs(1);

/// What the hook saw, and when, on the test's clock.
type Seen = Arc<Mutex<Vec<(String, Duration)>>>;

/// `builder` with a hook that records each error and the time since
/// `clock` started.
fn recorded(
    builder: PoolBuilder<TestManager>,
    clock: &VirtualClock,
) -> (PoolBuilder<TestManager>, Seen) {
    let seen = Seen::default();
    let (record, clock) = (seen.clone(), clock.clone());
    let builder = builder.on_background_error(move |e: PoolError<TestError>| {
        record
            .lock()
            .unwrap()
            .push((e.to_string(), clock.elapsed()));
    });
    (builder, seen)
}

fn taken(seen: &Seen) -> Vec<(String, Duration)> {
    std::mem::take(&mut *seen.lock().unwrap())
}

#[anyrt_test::test(virtual_time)]
async fn each_failed_maintain_pass_reaches_the_hook(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let builder = Pool::builder(manager)
        .min_idle(1)
        .maintain_interval(10 * SEC);
    let (builder, seen) = recorded(builder, &clock);
    let pool = builder.build().unwrap();
    let upkeep = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.maintain().await })
    };
    anyrt_core::sleep(25 * SEC).await;
    pool.close();
    upkeep.await;
    let refused = PoolError::Backend(TestError("refused")).to_string();
    assert_eq!(
        taken(&seen),
        [
            (refused.clone(), Duration::ZERO),
            (refused.clone(), 10 * SEC),
            (refused, 20 * SEC)
        ],
        "one report per pass"
    );
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn maintain_once_returns_its_error_instead(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (builder, seen) = recorded(Pool::builder(manager).min_idle(1), &clock);
    let pool = builder.build().unwrap();
    assert!(matches!(
        pool.maintain_once().await,
        Err(PoolError::Backend(_))
    ));
    assert!(taken(&seen).is_empty(), "the caller saw it");
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_get_gets_its_own_creation_error_and_the_hook_does_not(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (builder, seen) = recorded(Pool::builder(manager), &clock);
    let pool = builder.build().unwrap();
    assert!(matches!(
        pool.get().await,
        Err(PoolError::Backend(TestError("refused")))
    ));
    anyrt_core::sleep(SEC).await;
    assert!(taken(&seen).is_empty());
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn the_failed_creation_of_a_dropped_get_reaches_the_hook(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    control.set_create_delay(2 * SEC);
    let (builder, seen) = recorded(Pool::builder(manager), &clock);
    let pool = builder.build().unwrap();
    {
        let mut get = std::pin::pin!(pool.get());
        assert!(poll_once(get.as_mut()).await.is_none(), "creating");
    }
    anyrt_core::sleep(5 * SEC).await;
    let refused = PoolError::Backend(TestError("refused")).to_string();
    assert_eq!(taken(&seen), [(refused, 2 * SEC)]);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_creation_past_create_timeout_after_its_get_timed_out_reaches_the_hook(
    clock: VirtualClock,
) {
    let (manager, control) = TestManager::new();
    control
        .hang
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let builder = Pool::builder(manager)
        .acquire_timeout(SEC)
        .create_timeout(3 * SEC);
    let (builder, seen) = recorded(builder, &clock);
    let pool = builder.build().unwrap();
    let err = pool.get().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(clock.elapsed(), SEC);
    assert!(taken(&seen).is_empty(), "the creation goes on");
    anyrt_core::sleep(5 * SEC).await;
    let report = taken(&seen);
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].1, 3 * SEC, "at create_timeout");
    assert!(report[0].0.contains("timed out"), "{report:?}");
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_panicking_hook_leaves_the_pool_as_it_was(_clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    control.set_create_delay(SEC);
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let pool = Pool::builder(manager)
        .min_idle(1)
        .max_size(1)
        .maintain_interval(10 * SEC)
        .on_background_error(move |_| {
            *counted.lock().unwrap() += 1;
            panic!("the hook panicked");
        })
        .build()
        .unwrap();
    // In a creation task whose get was dropped.
    {
        let mut get = std::pin::pin!(pool.get());
        assert!(poll_once(get.as_mut()).await.is_none());
    }
    anyrt_core::sleep(2 * SEC).await;
    assert_eq!(*calls.lock().unwrap(), 1);
    assert_settled(&pool, &control);
    // In `maintain`, which goes on to its next pass.
    let upkeep = {
        let pool = pool.clone();
        anyrt_core::spawn(async move { pool.maintain().await })
    };
    anyrt_core::sleep(15 * SEC).await;
    assert_eq!(*calls.lock().unwrap(), 3, "two passes, each reported");
    // The pool still works once creations succeed again.
    control
        .refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    drop(pool.get().await.unwrap());
    pool.close();
    upkeep.await;
    assert_settled(&pool, &control);
}
