//! Smoke test of the harness on the core crate.

use std::time::Duration;

#[anyrt_test::test]
async fn sleeps() {
    let start = anyrt_core::now();
    anyrt_core::sleep(Duration::from_millis(3)).await;
    assert!(anyrt_core::now() - start >= Duration::from_millis(3));
}

#[anyrt_test::test(virtual_time)]
async fn virtual_sleep(clock: anyrt_core::VirtualClock) {
    anyrt_core::sleep(Duration::from_secs(10)).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(10));
}
