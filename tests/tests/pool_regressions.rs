//! Regression tests for defects found by trying to break `anyrt-pool`,
//! each named after the defect.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use anyrt_pool::Pool;
use anyrt_tests::pool::{TestManager, assert_settled};
use anyrt_tests::wakers::ends_without_deadlock;

/// A `retain` predicate that panicked lost the idle resources already
/// looked at: they were dropped under the pool's lock, yet still counted
/// in `size`, so `created - discarded != size` forever after and the pool
/// believed it held resources it did not have.
#[anyrt_test::test]
async fn regression_retain_that_panics_loses_idle_resources() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(4).build().unwrap();
    let guards = [
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
    ];
    drop(guards);
    assert_eq!(pool.status().idle, 3);
    let mut seen = 0;
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        pool.retain(|_, _| {
            seen += 1;
            assert!(seen < 3, "the predicate fails on the third resource");
            true
        });
    }));
    assert!(panicked.is_err());
    let status = pool.status();
    assert_eq!(status.idle, 3, "no idle resource lost: {status:?}");
    assert_settled(&pool, &control);
    // All of them can still be checked out, and the pool is full after.
    let held: Vec<_> = (0..4).map(|_| pool.try_get().ok()).collect();
    assert_eq!(held.iter().filter(|g| g.is_some()).count(), 3);
    drop(held);
    assert_settled(&pool, &control);
}

/// A waker that looks at the semaphore when woken, as a task does when
/// its waker runs it or drops it in place.
struct Inspecting(std::sync::Arc<anyrt_pool::Semaphore>);

impl std::task::Wake for Inspecting {
    fn wake(self: std::sync::Arc<Self>) {
        let _ = self.0.available_permits();
    }
}

/// Polls `count` acquires of one permit each until they queue.
fn queue_waiters(
    semaphore: &std::sync::Arc<anyrt_pool::Semaphore>,
    count: usize,
) -> Vec<std::pin::Pin<Box<anyrt_pool::futures::AcquireOwned>>> {
    let waker = std::task::Waker::from(std::sync::Arc::new(Inspecting(semaphore.clone())));
    let mut cx = std::task::Context::from_waker(&waker);
    (0..count)
        .map(|_| {
            let mut acquire = Box::pin(semaphore.clone().acquire_owned());
            assert!(acquire.as_mut().poll(&mut cx).is_pending());
            acquire
        })
        .collect()
}

/// `close` woke its waiters while holding the semaphore's lock, so a
/// waker that touched the semaphore (a task run or dropped in place by
/// its waker) deadlocked.
#[test]
fn regression_close_wakes_waiters_under_the_lock() {
    ends_without_deadlock("close", || {
        let semaphore = std::sync::Arc::new(anyrt_pool::Semaphore::new(0));
        let waiters = queue_waiters(&semaphore, 2);
        semaphore.close();
        drop(waiters);
        assert_eq!(semaphore.waiters(), 0);
    });
}

/// A class above the semaphore's largest count (`usize::MAX / 4` bytes)
/// was accepted beside a budget that only counted as that much, so a
/// `get` of that class waited forever instead of failing: the byte budget
/// could never hold it.
#[test]
fn regression_buffer_class_above_the_effective_budget_hangs() {
    let largest = isize::MAX as usize;
    let built = anyrt_pool::BufferPool::builder()
        .classes([4096, largest])
        .max_bytes(usize::MAX)
        .build();
    assert_eq!(
        built.unwrap_err(),
        anyrt_pool::BuildError::BudgetBelowClass,
        "a buffer of the largest class could never be had"
    );
    let pool = anyrt_pool::BufferPool::builder()
        .classes([4096])
        .max_bytes(usize::MAX)
        .build()
        .unwrap();
    assert_eq!(
        pool.status().max_bytes,
        usize::MAX / 4,
        "the budget in force"
    );
}

/// A `Manager::create` that panicked (it runs in a task of its own) made
/// `get` return `PoolError::Closed` from an open pool, hiding the panic.
/// The panic now reaches the caller of `get`, as a panic of a task does
/// through its handle, and the slot is free again.
#[anyrt_test::test]
async fn regression_a_panicking_create_is_reported_as_closed() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let pool = Pool::from_fn(move || {
        let first = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        async move {
            assert!(!first, "create fails the first time");
            Ok::<_, ()>(7)
        }
    })
    .max_size(1)
    .build()
    .unwrap();
    let get = futures_lite::FutureExt::catch_unwind(AssertUnwindSafe(pool.get())).await;
    match get {
        Err(panic) => {
            let message = panic.downcast_ref::<&str>().copied();
            let message = message.or(panic.downcast_ref::<String>().map(String::as_str));
            assert_eq!(message, Some("create fails the first time"));
        }
        Ok(got) => panic!("expected the creation's panic, got {got:?}"),
    }
    assert!(!pool.is_closed());
    assert_eq!(*pool.get().await.unwrap(), 7, "the slot is free again");
    let status = pool.status();
    assert_eq!((status.size, status.in_use, status.creating), (1, 0, 0));
}

/// A `max_size` above what the slot semaphore counts (`usize::MAX / 4`)
/// was kept as asked while the semaphore saturated, so shrinking later
/// forgot every free slot and owed the difference: no `get` was ever
/// served again.
#[anyrt_test::test(virtual_time)]
async fn regression_shrinking_from_a_huge_max_size_leaves_no_slot(
    _clock: anyrt_core::VirtualClock,
) {
    let limit = std::time::Duration::from_secs(1);
    let (manager, control) = TestManager::new();
    let built = Pool::builder(manager)
        .max_size(usize::MAX)
        .acquire_timeout(limit)
        .build()
        .unwrap();
    built.resize(2).unwrap();
    let (manager, _control) = TestManager::new();
    let grown = Pool::builder(manager)
        .max_size(3)
        .acquire_timeout(limit)
        .build()
        .unwrap();
    grown.resize(usize::MAX).unwrap();
    grown.resize(2).unwrap();
    for pool in [&built, &grown] {
        let a = pool.get().await.expect("a slot after the shrink");
        let b = pool.get().await.expect("both slots after the shrink");
        assert!(pool.try_get().is_err(), "no third slot");
        drop((a, b));
        assert_eq!(pool.status().max_size, 2);
    }
    assert_settled(&built, &control);
}

/// A health check that panics discards its resource, as it must, but the
/// resource was counted as `cancelled` (a dropped checkout), not as
/// `panicked`.
#[anyrt_test::test]
async fn regression_a_panicking_recycle_is_counted_as_cancelled() {
    struct PanicsOnRecycle;

    impl anyrt_pool::Manager for PanicsOnRecycle {
        type Type = u8;
        type Error = ();

        async fn create(&self) -> Result<u8, ()> {
            Ok(1)
        }

        async fn recycle(&self, _: &mut u8, _: &anyrt_pool::Metrics) -> Result<(), ()> {
            panic!("the health check panics");
        }
    }

    let pool = Pool::builder(PanicsOnRecycle).max_size(1).build().unwrap();
    drop(pool.get().await.unwrap());
    let get = futures_lite::FutureExt::catch_unwind(AssertUnwindSafe(pool.get())).await;
    assert!(get.is_err(), "the panic reaches the caller");
    let status = pool.status();
    assert_eq!(status.discarded.panicked, 1, "{status:?}");
    assert_eq!(status.discarded.cancelled, 0, "{status:?}");
    assert_eq!((status.size, status.in_use, status.idle), (0, 0, 0));
    assert_eq!(*pool.get().await.unwrap(), 1, "the slot is free again");
}

/// `maintain_once` created in place without a permit of `max_creating`,
/// so a refill ran beside the creations of `get`s, past the bound.
#[anyrt_test::test(virtual_time)]
async fn regression_maintain_ignores_max_creating(_clock: anyrt_core::VirtualClock) {
    let ms = std::time::Duration::from_millis(1);
    let (manager, control) = TestManager::new();
    control.set_create_delay(1000 * ms);
    let pool = Pool::builder(manager)
        .max_size(4)
        .min_idle(2)
        .max_creating(1)
        .build()
        .unwrap();
    // Holds its resource until told, so that it never ends unjoined.
    let release = std::sync::Arc::new(anyrt_pool::Semaphore::new(0));
    let get = {
        let (pool, release) = (pool.clone(), release.clone());
        anyrt_core::spawn(async move {
            let guard = pool.get().await.unwrap();
            let _ = release.acquire().await.map(|p| p.forget());
            drop(guard);
        })
    };
    anyrt_core::sleep(500 * ms).await;
    assert_eq!(pool.status().creating, 1, "the get's creation");
    assert_eq!(
        pool.maintain_once().await.ok(),
        Some(0),
        "no refill while max_creating creations are in flight"
    );
    release.add_permits(1);
    get.await;
    // Once the get's creation is done, the refill goes on.
    assert_eq!(pool.maintain_once().await.ok(), Some(1));
    assert_eq!(pool.status().idle, 2);
    assert_settled(&pool, &control);
}

/// A `get` whose creation was under way when the pool was closed
/// returned a guard from the closed pool: `close` fails every waiter
/// with `Closed`, and the one that was creating was no exception to
/// make. Now its resource is dropped and it fails with `Closed` too.
#[anyrt_test::test(virtual_time)]
async fn regression_a_creation_that_ends_after_close_returns_a_guard(
    clock: anyrt_core::VirtualClock,
) {
    let (manager, control) = TestManager::new();
    control.set_create_delay(std::time::Duration::from_secs(1));
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let mut get = std::pin::pin!(pool.get());
    assert!(
        futures_lite::future::poll_once(get.as_mut())
            .await
            .is_none()
    );
    assert_eq!(pool.status().creating, 1);
    pool.close();
    clock.advance(std::time::Duration::from_secs(1));
    let got = get.await;
    assert!(
        matches!(got, Err(anyrt_pool::PoolError::Closed)),
        "expected Closed, got {got:?}"
    );
    // The get fails at the close; its creation ends alone.
    pool.wait_closed().await;
    let status = pool.status();
    assert_eq!((status.size, status.creating, status.in_use), (0, 0, 0));
    assert_eq!(control.alive_once(0), 0, "the late resource was dropped");
    assert_eq!(status.discarded.closed, 1, "{status:?}");
}

/// The same for a `get` whose health check of an idle resource spanned
/// the `close`.
#[anyrt_test::test]
async fn regression_a_health_check_that_ends_after_close_returns_a_guard() {
    let (manager, control) = TestManager::new();
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    drop(pool.get().await.unwrap());
    assert_eq!(pool.status().idle, 1);
    let mut get = std::pin::pin!(pool.get());
    // The check yields once: the first poll leaves it pending.
    assert!(
        futures_lite::future::poll_once(get.as_mut())
            .await
            .is_none()
    );
    assert_eq!(
        control.recycles.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    pool.close();
    let got = get.await;
    assert!(
        matches!(got, Err(anyrt_pool::PoolError::Closed)),
        "expected Closed, got {got:?}"
    );
    let status = pool.status();
    assert_eq!((status.size, status.in_use), (0, 0), "{status:?}");
    assert_eq!(control.alive(), 0);
}
