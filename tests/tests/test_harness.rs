//! Conformance of the harness itself: options, `Result` bodies and
//! `#[should_panic]` (the watchdog: `test_watchdog.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyrt_test::TestRuntime;

#[anyrt_test::test]
async fn result_bodies_work() -> Result<(), std::io::Error> {
    anyrt_core::sleep(Duration::from_millis(1)).await;
    Ok(())
}

#[anyrt_test::test]
#[should_panic(expected = "expected failure")]
async fn should_panic_works() {
    anyrt_core::sleep(Duration::from_millis(1)).await;
    panic!("expected failure");
}

static SELECTED: AtomicUsize = AtomicUsize::new(0);

#[anyrt_test::test(runtimes(tokio_multi_thread, smol))]
async fn only_the_chosen_runtimes_run() {
    let runtime = anyrt_test::runtime().expect("inside the harness");
    assert!(
        matches!(runtime, TestRuntime::TokioMultiThread | TestRuntime::Smol),
        "{runtime:?}"
    );
    SELECTED.fetch_add(1, Ordering::SeqCst);
}

#[anyrt_test::test(virtual_time, timeout = 5)]
async fn virtual_time_takes_no_real_time(clock: anyrt_core::VirtualClock) {
    let real = std::time::Instant::now();
    anyrt_core::sleep(Duration::from_secs(24 * 3600)).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(24 * 3600));
    assert!(real.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_generated_test_is_a_plain_function_per_runtime() {
    // The two selected runtimes exist as functions and can be called.
    only_the_chosen_runtimes_run::tokio_multi_thread();
    only_the_chosen_runtimes_run::smol();
    assert!(SELECTED.load(Ordering::SeqCst) >= 2);
}
