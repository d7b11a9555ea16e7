//! Conformance of the harness's watchdog: a hung test always fails, with a
//! message naming it, whatever its attributes, its runtime's shutdown or
//! libtest's output capture.
//!
//! Each scenario is an ignored test that hangs on purpose; a plain test
//! runs it in a child process of this binary (without `--nocapture`) and
//! checks how that process ended.

use std::future::pending;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the ignored test `name` in a child process and returns how it
/// ended; kills it if it has not ended within a minute.
fn run_scenario(name: &str) -> Output {
    run_scenario_with(name, &[])
}

fn run_scenario_with(name: &str, extra: &[&str]) -> Output {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--ignored", "--exact", name, "--test-threads", "1"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary starts");
    let limit = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("the child's status").is_none() {
        if Instant::now() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("the killed child");
            panic!(
                "{name} still runs after 60 s: the watchdog did not end it\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the child's output")
}

/// Asserts that the scenario failed, with a message naming it and its
/// runtime.
fn assert_failed_naming(name: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{name} passed although it hangs\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let (test, runtime) = name.rsplit_once("::").expect("test::runtime");
    let needle = format!("{test} on runtime `{runtime}`");
    assert!(
        stdout.contains(&needle) || stderr.contains(&needle),
        "no message names `{needle}`\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[anyrt_test::test(timeout = 1)]
#[ignore = "a scenario of test_watchdog.rs: hangs on purpose"]
async fn scenario_pending_forever() {
    pending::<()>().await;
}

#[anyrt_test::test(timeout = 1, runtimes(tokio_multi_thread))]
#[ignore = "a scenario of test_watchdog.rs: hangs on purpose"]
async fn scenario_stuck_tokio_worker() {
    let stuck = anyrt_core::spawn(async {
        loop {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    stuck.detach();
    pending::<()>().await;
}

#[anyrt_test::test(timeout = 1, runtimes(smol, tokio_current_thread))]
#[ignore = "a scenario of test_watchdog.rs: hangs on purpose"]
async fn scenario_stuck_inside_a_poll() {
    loop {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[anyrt_test::test(timeout = 1, runtimes(smol))]
#[ignore = "a scenario of test_watchdog.rs: hangs on purpose"]
#[should_panic]
async fn scenario_should_panic_but_hangs() {
    pending::<()>().await;
}

#[anyrt_test::test(timeout = 18446744073709551615, runtimes(smol))]
#[ignore = "a scenario of test_watchdog.rs: must pass"]
async fn scenario_huge_timeout() {
    anyrt_core::sleep(Duration::from_millis(200)).await;
}

#[test]
fn the_watchdog_fails_a_pending_test_on_every_runtime() {
    for runtime in [
        "smol",
        "tokio_current_thread",
        "tokio_multi_thread",
        "async_std",
        "block_on",
    ] {
        let name = format!("scenario_pending_forever::{runtime}");
        let output = run_scenario(&name);
        assert_failed_naming(&name, &output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("timed out after 1s of real time"),
            "{stdout}"
        );
    }
}

/// Regression: the watchdog fired, but dropping the tokio runtime while
/// unwinding waited for the stuck worker forever, and the watchdog had
/// already been told the test finished.
#[test]
fn regression_a_stuck_tokio_worker_cannot_keep_the_process_alive() {
    let name = "scenario_stuck_tokio_worker::tokio_multi_thread";
    assert_failed_naming(name, &run_scenario(name));
}

/// Regression: without `--nocapture`, the message of a test stuck inside
/// a poll was written into libtest's capture and lost when the process
/// ended; it must reach the real stderr.
#[test]
fn regression_the_message_of_a_stuck_test_reaches_stderr_under_capture() {
    for runtime in ["smol", "tokio_current_thread"] {
        let name = format!("scenario_stuck_inside_a_poll::{runtime}");
        let output = run_scenario(&name);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "scenario_stuck_inside_a_poll on runtime `{runtime}`"
            )),
            "stderr:\n{stderr}"
        );
    }
}

/// Regression: a bare `#[should_panic]` test that hangs passed, because
/// the watchdog's own panic satisfied the attribute.
#[test]
fn regression_a_hang_fails_a_should_panic_test() {
    let name = "scenario_should_panic_but_hangs::smol";
    assert_failed_naming(name, &run_scenario(name));
}

/// Regression: `timeout = u64::MAX` made the watchdog's thread panic on an
/// `Instant` overflow, which silently disabled it.
#[test]
fn regression_a_huge_timeout_keeps_the_watchdog_alive() {
    // Uncaptured, so that a panic of the watchdog's thread would show.
    let output = run_scenario_with("scenario_huge_timeout::smol", &["--nocapture"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
    assert!(!stdout.contains("panicked"), "stdout:\n{stdout}");
}

#[anyrt_test::test(virtual_time, timeout = 1, runtimes(block_on))]
#[ignore = "a scenario of test_watchdog.rs: hangs on purpose"]
async fn scenario_virtual_time_waits_outside_the_clock(_clock: anyrt_core::VirtualClock) {
    // A signal from a thread the clock does not see, which never comes.
    let (_signal, never) = futures::channel::oneshot::channel::<()>();
    let _ = never.await;
}

/// Regression: a test under `virtual_time` that waited on something the
/// clock does not see failed with the same words as any hang; the one
/// real-time bound left must say that the clock was waiting, and on what.
#[test]
fn regression_a_virtual_time_hang_says_the_clock_waits_on_something_it_does_not_see() {
    let name = "scenario_virtual_time_waits_outside_the_clock::block_on";
    let output = run_scenario(name);
    assert_failed_naming(name, &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("virtual clock") && stdout.contains("does not see"),
        "{stdout}"
    );
}
