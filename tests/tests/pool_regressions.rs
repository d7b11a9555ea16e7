//! Regression tests for defects found by trying to break `anyrt-pool`,
//! each named after the defect.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyrt_pool::Pool;
use anyrt_tests::pool::{TestManager, assert_settled};

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
