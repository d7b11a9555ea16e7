//! Conformance: under a bare `block_on` the fallback timer and spawner do
//! the work, and a cancelled fallback sleep leaves nothing queued. (One test
//! in this file, so that no other test shares the fallback timer's count.)

use std::pin::pin;
use std::time::{Duration, Instant};

use futures_lite::future::poll_once;

#[anyrt_test::test(runtimes(block_on))]
async fn fallback_timer_and_spawner_work_and_leave_nothing_behind() {
    assert_eq!(anyrt_core::Runtime::current().name(), "fallback");
    for _ in 0..1000 {
        let mut sleep = pin!(anyrt_core::sleep(Duration::from_secs(3600)));
        assert!(poll_once(sleep.as_mut()).await.is_none());
    }
    assert_eq!(anyrt_core::fallback_pending_sleepers(), 0);
    let start = Instant::now();
    let task = anyrt_core::spawn(async {
        anyrt_core::sleep(Duration::from_millis(5)).await;
        std::thread::current().name().map(str::to_owned)
    });
    let thread = task.await.unwrap_or_default();
    assert!(start.elapsed() >= Duration::from_millis(5));
    assert!(thread.starts_with("anyrt-worker-"), "ran on {thread:?}");
    assert!(anyrt_core::fallback_started());
    assert_eq!(anyrt_core::fallback_pending_sleepers(), 0);
}
