//! Conformance: an application that runs inside its runtime never starts
//! the fallback timer or thread pool. (Plain tests: the harness is not
//! used, so that nothing else in this process touches the fallbacks.)

use std::time::Duration;

#[test]
fn tokio_and_smol_never_start_the_fallbacks() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        anyrt_core::sleep(Duration::from_millis(2)).await;
        assert_eq!(anyrt_core::spawn(async { 1 }).await, 1);
    });
    smol_like_block_on();
    assert!(!anyrt_core::fallback_started());
}

fn smol_like_block_on() {
    anyrt_test::TestRuntime::Smol.block_on(async {
        anyrt_core::sleep(Duration::from_millis(2)).await;
        assert_eq!(anyrt_core::spawn(async { 2 }).await, 2);
    });
}
