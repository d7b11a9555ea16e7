//! Conformance: `spawn` and `Task` behave the same on every runtime: output,
//! panic resumed in the awaiter, cancel on drop, detach.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use futures::channel::oneshot;

/// Sends on drop: tells the test that a task's future was dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[anyrt_test::test]
async fn task_yields_its_output() {
    let task = anyrt_core::spawn(async {
        anyrt_core::sleep(Duration::from_millis(1)).await;
        String::from("output")
    });
    assert_eq!(task.await, "output");
}

#[anyrt_test::test]
async fn many_tasks_run_concurrently() {
    let tasks: Vec<_> = (0..100u64)
        .map(|i| anyrt_core::spawn(async move { i * 2 }))
        .collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await;
    }
    assert_eq!(sum, (0..100u64).map(|i| i * 2).sum::<u64>());
}

#[anyrt_test::test]
async fn awaiting_a_panicked_task_resumes_the_panic() {
    let task = anyrt_core::spawn(async {
        anyrt_core::sleep(Duration::from_millis(1)).await;
        panic!("the task's own message");
    });
    let payload = AssertUnwindSafe(task)
        .catch_unwind()
        .await
        .expect_err("the panic must reach the awaiter");
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .expect("a string payload");
    assert_eq!(message, "the task's own message");
}

#[anyrt_test::test]
async fn dropping_the_task_cancels_it() {
    let (dropped_tx, dropped_rx) = oneshot::channel();
    let (started_tx, started_rx) = oneshot::channel();
    let (ran_tx, ran_rx) = oneshot::channel::<()>();
    let task = anyrt_core::spawn(async move {
        let _signal = DropSignal(Some(dropped_tx));
        let _ = started_tx.send(());
        anyrt_core::sleep(Duration::from_secs(3600)).await;
        let _ = ran_tx.send(());
    });
    // Cancel it only once it has started (a sleep here would be a guess
    // that a loaded machine can lose).
    started_rx.await.expect("the task starts");
    drop(task);
    dropped_rx
        .await
        .expect("the task's future is dropped once the task is cancelled");
    assert!(
        ran_rx.await.is_err(),
        "a cancelled task never runs past its await point"
    );
}

#[anyrt_test::test]
async fn dropping_a_task_before_it_starts_cancels_it() {
    let (dropped_tx, dropped_rx) = oneshot::channel();
    let (ran_tx, ran_rx) = oneshot::channel::<()>();
    let task = anyrt_core::spawn(async move {
        let _signal = DropSignal(Some(dropped_tx));
        anyrt_core::sleep(Duration::from_secs(3600)).await;
        let _ = ran_tx.send(());
    });
    drop(task);
    // Either the future was dropped after starting (the signal sends), or
    // it was never polled and was dropped with its captured sender: the
    // receiver resolves only once the future's state is gone.
    let _ = dropped_rx.await;
    assert!(ran_rx.await.is_err());
}

#[anyrt_test::test]
async fn a_detached_task_runs_to_its_end() {
    let (tx, rx) = oneshot::channel();
    anyrt_core::spawn(async move {
        anyrt_core::sleep(Duration::from_millis(3)).await;
        let _ = tx.send(42);
    })
    .detach();
    assert_eq!(rx.await, Ok(42));
}

#[anyrt_test::test]
async fn task_debug_names_its_runtime() {
    let task = anyrt_core::spawn(async {});
    let debug = format!("{task:?}");
    let expected = match anyrt_test::runtime().expect("inside the harness") {
        anyrt_test::TestRuntime::Smol => "smol",
        anyrt_test::TestRuntime::AsyncStd => "async-std",
        anyrt_test::TestRuntime::BlockOn => "fallback",
        _ => "tokio",
    };
    assert!(debug.contains(expected), "{debug} should name {expected}");
    task.await;
}
