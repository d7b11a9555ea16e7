//! Checkouts broken at odd moments: a resource destructor that panics
//! after a failed health check, and `get` cancelled at every poll of a
//! slow health check.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use anyrt_pool::{Metrics, Pool};
use anyrt_tests::cancel::cancel_after;
use anyrt_tests::pool::{TestManager, assert_settled};
use futures_lite::FutureExt;

const MS: Duration = Duration::from_millis(1);

/// A resource whose destructor panics once `boom` is set.
struct Fragile(Arc<AtomicBool>);

impl Drop for Fragile {
    fn drop(&mut self) {
        if self.0.load(SeqCst) {
            panic!("the resource's destructor panics");
        }
    }
}

/// Every health check fails.
struct FailsChecks(Arc<AtomicBool>);

impl anyrt_pool::Manager for FailsChecks {
    type Type = Fragile;
    type Error = ();

    async fn create(&self) -> Result<Fragile, ()> {
        Ok(Fragile(self.0.clone()))
    }

    async fn recycle(&self, _: &mut Fragile, _: &Metrics) -> Result<(), ()> {
        Err(())
    }
}

/// The destructor of a resource that failed its check panicked after the
/// check had taken the slot from the checkout and before anything held
/// it again, so the slot was lost: the pool could never again hand out
/// `max_size` resources at once.
#[anyrt_test::test]
async fn regression_a_panicking_destructor_after_a_failed_check_keeps_the_slot() {
    let boom = Arc::new(AtomicBool::new(false));
    let pool = Pool::builder(FailsChecks(boom.clone()))
        .max_size(2)
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    boom.store(true, SeqCst);
    let get = AssertUnwindSafe(pool.get()).catch_unwind().await;
    boom.store(false, SeqCst);
    assert!(get.is_err(), "the panic reaches the caller");
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.idle),
        (0, 0, 0),
        "{status:?}"
    );
    assert_eq!(status.recycled, 0, "{status:?}");
    let held = [pool.get().await.unwrap(), pool.get().await.unwrap()];
    assert_eq!(pool.status().in_use, 2, "every slot can be held");
    drop(held);
}

/// A `get` dropped at every poll of a slow health check discards that
/// resource and takes back the check it counted; the books balance.
#[anyrt_test::test(virtual_time)]
async fn get_cancelled_at_every_poll_of_a_slow_check_keeps_the_books(
    _clock: anyrt_core::VirtualClock,
) {
    let (manager, control) = TestManager::new();
    control.set_recycle_delay(3 * MS);
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    for polls in 0.. {
        if pool.status().idle == 0 {
            drop(pool.get().await.unwrap());
        }
        if let Some(got) = cancel_after(polls, pool.get()).await {
            assert!(got.is_ok());
            assert_eq!(pool.status().recycled, 1, "only the last check passed");
            assert!(polls > 1, "the check waited");
            return;
        }
        let status = pool.status();
        assert_eq!(status.recycled, 0, "{status:?}");
        assert_settled(&pool, &control);
    }
}
