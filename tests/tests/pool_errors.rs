//! `Pool::get` errors: a backend error comes back at once (real TCP,
//! connection refused), a hanging creation hits `create_timeout`, a
//! timeout carries the last health-check error, and the earlier of
//! `acquire_timeout` and the ambient deadline wins.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_pool::{Pool, PoolError};
use anyrt_tests::pool::{TestError, TestManager, assert_settled};

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

#[anyrt_test::test]
async fn connection_refused_is_returned_at_once_not_as_a_timeout() {
    let addr = anyrt_tests::tcp::refused_addr().unwrap();
    let pool = Pool::from_fn(move || async_net::TcpStream::connect(addr))
        .max_size(2)
        .acquire_timeout(600 * SEC)
        .build()
        .unwrap();
    for _ in 0..3 {
        match pool.get().await {
            Err(PoolError::Backend(e)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused)
            }
            other => panic!("expected the backend's error, got {other:?}"),
        }
    }
    let status = pool.status();
    assert_eq!((status.size, status.created, status.timed_out), (0, 0, 0));
}

#[anyrt_test::test(virtual_time)]
async fn a_failed_creation_is_not_retried_and_frees_its_slot(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control.refuse.store(true, Ordering::SeqCst);
    let pool = Pool::builder(manager).max_size(1).build().unwrap();
    assert_eq!(
        pool.get().await.unwrap_err(),
        PoolError::Backend(TestError("refused"))
    );
    assert_eq!(clock.elapsed(), Duration::ZERO, "no wait, no retry loop");
    control.refuse.store(false, Ordering::SeqCst);
    assert_eq!(pool.get().await.unwrap().id, 0, "the slot is free again");
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_hanging_creation_hits_create_timeout(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    control.hang.store(true, Ordering::SeqCst);
    let pool = Pool::builder(manager)
        .max_size(1)
        .create_timeout(2 * SEC)
        .acquire_timeout(60 * SEC)
        .build()
        .unwrap();
    let err = pool.get().await.unwrap_err();
    assert_eq!(err, PoolError::Timeout { last_error: None });
    assert_eq!(clock.elapsed(), 2 * SEC);
    let status = pool.status();
    assert_eq!((status.size, status.creating, status.timed_out), (0, 0, 1));
    control.hang.store(false, Ordering::SeqCst);
    assert!(pool.get().await.is_ok(), "the slot came back");
}

#[anyrt_test::test(virtual_time)]
async fn a_timeout_carries_the_last_health_check_error(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(2)
        .create_timeout(3 * SEC)
        .build()
        .unwrap();
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    drop((a, b));
    // The backend goes away: both idle resources fail their check, and a
    // new connection hangs.
    control.unhealthy.store(true, Ordering::SeqCst);
    control.hang.store(true, Ordering::SeqCst);
    let err = pool.get().await.unwrap_err();
    assert_eq!(
        err,
        PoolError::Timeout {
            last_error: Some(TestError("unhealthy"))
        }
    );
    assert_eq!(clock.elapsed(), 3 * SEC);
    assert_eq!(pool.status().discarded.recycle_failed, 2);
    assert_eq!(
        pool.status().recycled,
        0,
        "failed checks are not passed ones"
    );
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn acquire_timeout_bounds_a_health_check_that_hangs(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(1)
        .acquire_timeout(2 * SEC)
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    control.set_recycle_delay(Duration::MAX);
    let err = pool.get().await.unwrap_err();
    assert_eq!(err, PoolError::Timeout { last_error: None });
    assert_eq!(clock.elapsed(), 2 * SEC);
    let status = pool.status();
    assert_eq!((status.size, status.discarded.cancelled), (0, 1));
    assert_eq!(status.timed_out, 1);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn a_slow_failed_health_check_and_the_creation_after_it_share_one_timeout(
    clock: VirtualClock,
) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(1)
        .acquire_timeout(2 * SEC)
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    // The check fails after 1.5 s; the creation after it would end at
    // 2.5 s, past the 2 s that the whole call may take.
    control.set_recycle_delay(1500 * MS);
    control.unhealthy.store(true, Ordering::SeqCst);
    control.set_create_delay(SEC);
    let err = pool.get().await.unwrap_err();
    assert_eq!(
        err,
        PoolError::Timeout {
            last_error: Some(TestError("unhealthy"))
        }
    );
    assert_eq!(clock.elapsed(), 2 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn acquire_timeout_bounds_the_wait_for_a_slot(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(1)
        .acquire_timeout(5 * SEC)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    let err = pool.get().await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(clock.elapsed(), 5 * SEC);
    let status = pool.status();
    assert_eq!((status.waiting, status.timed_out), (0, 1));
    drop(held);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn the_earlier_of_the_ambient_deadline_and_acquire_timeout_wins(clock: VirtualClock) {
    let (manager, _control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(1)
        .acquire_timeout(10 * SEC)
        .build()
        .unwrap();
    let _held = pool.get().await.unwrap();

    let start = clock.elapsed();
    let inside = anyrt_deadline::within(2 * SEC, pool.get()).await;
    assert!(matches!(inside, Ok(Err(PoolError::Timeout { .. }))));
    assert_eq!(clock.elapsed() - start, 2 * SEC, "the ambient deadline");

    let start = clock.elapsed();
    let inside = anyrt_deadline::within(60 * SEC, pool.get()).await;
    assert!(matches!(inside, Ok(Err(PoolError::Timeout { .. }))));
    assert_eq!(clock.elapsed() - start, 10 * SEC, "acquire_timeout");
    assert_eq!(pool.status().timed_out, 2);
}

#[test]
fn errors_say_what_happened() {
    let timeout = PoolError::Timeout {
        last_error: Some(TestError("unhealthy")),
    };
    assert_eq!(
        timeout.to_string(),
        "timed out waiting for a resource (last error: unhealthy)"
    );
    let source = std::error::Error::source(&timeout).map(|e| e.to_string());
    assert_eq!(source.as_deref(), Some("unhealthy"));
    assert_eq!(
        PoolError::Backend(TestError("refused")).to_string(),
        "creating a resource failed: refused"
    );
    assert_eq!(PoolError::<TestError>::Closed.to_string(), "pool closed");
    assert_eq!(timeout.into_backend(), Some(TestError("unhealthy")));
}

#[anyrt_test::test(virtual_time)]
async fn get_timeout_bounds_one_call_in_place_of_acquire_timeout(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(1)
        .acquire_timeout(30 * SEC)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    let err = pool.get_timeout(SEC).await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(
        clock.elapsed(),
        SEC,
        "the call's own timeout, not the pool's"
    );
    // A longer one than the pool's also holds: the slot comes back at 3 s.
    let short = Pool::builder(TestManager::new().0)
        .max_size(1)
        .acquire_timeout(SEC)
        .build()
        .unwrap();
    let short_held = short.get().await.unwrap();
    let release = anyrt_core::spawn(async move {
        anyrt_core::sleep(2 * SEC).await;
        drop(short_held);
    });
    assert!(short.get_timeout(5 * SEC).await.is_ok());
    assert_eq!(clock.elapsed(), 3 * SEC);
    release.await;
    assert_eq!(pool.status().timed_out, 1);
    drop(held);
    assert_settled(&pool, &control);
}

#[anyrt_test::test(virtual_time)]
async fn get_timeout_of_zero_takes_only_what_needs_no_wait(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager)
        .max_size(1)
        .recycle_on_checkout(false)
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    let guard = pool.get_timeout(Duration::ZERO).await;
    let guard = guard.expect("an idle resource, which needs no wait");
    let err = pool.get_timeout(Duration::ZERO).await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(clock.elapsed(), Duration::ZERO);
    drop(guard);
    assert_settled(&pool, &control);
}
