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
