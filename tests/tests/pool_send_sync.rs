//! Auto traits of the public types and futures of `anyrt-pool`.

use std::sync::Arc;

use anyrt_pool::{Pool, PoolError};
use anyrt_tests::pool::TestManager;

#[test]
fn the_pool_and_its_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Pool<TestManager>>();
    send_sync::<anyrt_pool::PoolGuard<TestManager>>();
    send_sync::<PoolError<anyrt_tests::pool::TestError>>();
    send_sync::<anyrt_pool::Status>();
    send_sync::<anyrt_pool::Semaphore>();
    send_sync::<anyrt_pool::SemaphorePermit<'static>>();
    send_sync::<anyrt_pool::OwnedSemaphorePermit>();
    send_sync::<anyrt_pool::futures::Acquire<'static>>();
    send_sync::<anyrt_pool::futures::AcquireOwned>();
    send_sync::<anyrt_pool::BufferPool>();
    send_sync::<anyrt_pool::PooledBuffer>();
    send_sync::<anyrt_pool::futures::GetBuffer<'static>>();
    let pool = Pool::builder(TestManager::default()).build().unwrap();
    send(&pool.get());
    send(&pool.maintain());
    send(&pool.maintain_once());
    let _ = Arc::new(pool);
}

/// A pool of a closure whose resource or error borrows for `'static`
/// (`&'static str`) can be used from a spawned task. While the manager's
/// types were bound by `'static` themselves, the futures of such a pool
/// failed to compile inside `spawn` ("implementation of `Send` is not
/// general enough": the compiler cannot prove those bounds on the
/// lifetimes it erases inside a future).
#[anyrt_test::test]
async fn a_pool_of_borrowed_static_types_is_usable_from_spawned_tasks() {
    let refusing = Pool::from_fn(|| async { Err::<(), _>("refused") })
        .min_idle(1)
        .build()
        .unwrap();
    let names = Pool::from_fn(|| async { Ok::<_, ()>("conn") })
        .build()
        .unwrap();
    let get = {
        let (refusing, names) = (refusing.clone(), names.clone());
        anyrt_core::spawn(async move {
            let name = *names.get().await.unwrap();
            (refusing.get().await.map(|_| ()), name)
        })
    };
    assert_eq!(get.await, (Err(PoolError::Backend("refused")), "conn"));
    let upkeep = {
        let refusing = refusing.clone();
        anyrt_core::spawn(async move { refusing.maintain().await })
    };
    refusing.close();
    upkeep.await;
}
