//! Conformance: `Task::abort`, `Task::is_finished` and `spawn_blocking`
//! behave the same on every runtime.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use anyrt_core::VirtualClock;
use futures::FutureExt;
use futures::channel::oneshot;

/// Sends on drop: tells when a task's future is gone.
struct Dropped(Option<oneshot::Sender<()>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        if let Some(sender) = self.0.take() {
            let _ = sender.send(());
        }
    }
}

/// Waits for `task` to report finished, yielding meanwhile; the real-time
/// bound only turns a hang into a clear failure.
async fn until_finished<T>(task: &anyrt_core::Task<T>) {
    let waiting = async {
        while !task.is_finished() {
            anyrt_core::yield_now().await;
        }
    };
    anyrt_deadline::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the task never reported finished");
}

#[anyrt_test::test]
async fn abort_cancels_the_task_and_marks_it_finished() {
    let (dropped, gone) = oneshot::channel();
    let mut task = anyrt_core::spawn(async move {
        let _guard = Dropped(Some(dropped));
        std::future::pending::<()>().await;
    });
    assert!(!task.is_finished());
    task.abort();
    assert!(task.is_finished());
    // Sent by the guard, or cancelled if the future was dropped before its
    // first poll made the guard: either way the future is gone.
    let _ = anyrt_deadline::timeout(Duration::from_secs(30), gone)
        .await
        .expect("the aborted task's future is dropped");
    let awaited = AssertUnwindSafe(task).catch_unwind().await;
    assert!(awaited.is_err(), "awaiting an aborted task panics");
}

#[anyrt_test::test]
async fn is_finished_turns_true_once_the_task_ended() {
    let task = anyrt_core::spawn(async { 41 + 1 });
    until_finished(&task).await;
    assert_eq!(task.await, 42);
    let task = anyrt_core::spawn(async { panic!("boom") });
    until_finished(&task).await;
    let awaited = AssertUnwindSafe(task).catch_unwind().await;
    assert!(awaited.is_err());
}

#[anyrt_test::test]
async fn spawn_blocking_runs_off_the_calling_thread() {
    let caller = std::thread::current().id();
    let task = anyrt_core::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(5));
        std::thread::current().id()
    });
    assert_ne!(task.await, caller);
}

#[anyrt_test::test]
async fn spawn_blocking_resumes_a_panic_and_reports_finished() {
    let task = anyrt_core::spawn_blocking(|| -> u8 { panic!("blocking boom") });
    until_finished(&task).await;
    let awaited = AssertUnwindSafe(task).catch_unwind().await;
    assert!(awaited.is_err());
    let task = anyrt_core::spawn_blocking(|| 7);
    until_finished(&task).await;
    assert_eq!(task.await, 7);
}

#[anyrt_test::test]
async fn spawn_blocking_sees_the_ambient_context() {
    #[derive(Clone, Debug, PartialEq)]
    struct RequestId(u32);
    let seen = anyrt_core::with_value(RequestId(9), async {
        anyrt_core::spawn_blocking(anyrt_core::value::<RequestId>).await
    })
    .await;
    assert_eq!(seen, Some(RequestId(9)));
}

#[anyrt_test::test]
async fn many_blocking_calls_at_once_all_finish() {
    let tasks: Vec<_> = (0..100u64)
        .map(|n| {
            anyrt_core::spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(1));
                n
            })
        })
        .collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await;
    }
    assert_eq!(sum, 4950);
}

/// The clock does not jump while a blocking call runs, as tokio's paused
/// clock does not: a 10 ms virtual timeout around a call that takes 50 ms
/// of real time does not fire.
#[anyrt_test::test(virtual_time)]
async fn the_virtual_clock_waits_for_a_blocking_call(clock: VirtualClock) {
    let start = clock.now();
    let call = anyrt_core::spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(50));
        anyrt_core::now()
    });
    let at = anyrt_deadline::timeout(Duration::from_millis(10), call)
        .await
        .expect("the clock jumped while the call ran");
    assert_eq!(at, start);
    assert_eq!(clock.now(), start);
}

/// Regression: the flag behind `is_finished` was set inside the task's
/// future, before the runtime handed the output to the handle (async-std
/// most of the time, the fallback pool and its blocking pool now and
/// then), so a handle that said it was finished could still be pending at
/// its next poll, against the documented promise.
#[anyrt_test::test]
async fn regression_a_finished_task_is_ready_at_the_first_poll() {
    let mut late = 0;
    for round in 0..3000u32 {
        let mut task = if round % 2 == 0 {
            anyrt_core::spawn(async move { vec![round; 8] })
        } else {
            anyrt_core::spawn_blocking(move || vec![round; 8])
        };
        until_finished(&task).await;
        match (&mut task).now_or_never() {
            Some(output) => assert_eq!(output, vec![round; 8]),
            None => late += 1,
        }
    }
    assert_eq!(late, 0, "rounds whose finished handle was still pending");
}
