//! A `TaskGroup` whose tasks' tokio runtime shuts down: a task the
//! runtime dropped unfinished reports as a panic with a message saying so,
//! as awaiting its `Task` does, where tokio's `JoinSet` reports it
//! cancelled; before the fix, `join_next` and `try_join_all` waited for it
//! forever. A task the group itself cancelled still reports nothing.

use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use anyrt_scope::TaskGroup;

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` on a thread of its own; `None` if it has not ended within
/// 10 s (a hang). Only a bound: the work itself is instant.
fn ends<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<std::thread::Result<T>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    rx.recv_timeout(Duration::from_secs(10)).ok()
}

fn message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic.downcast_ref::<&str>().copied().unwrap_or("")
}

/// A group made on a runtime that is then dropped, with a task that
/// waits forever (dropped by the shutdown) and one that finished.
fn group_outliving_its_runtime(limit: Option<NonZeroUsize>) -> TaskGroup<u32> {
    let runtime = tokio_runtime();
    let group = runtime.block_on(async {
        let mut group = match limit {
            Some(n) => TaskGroup::with_limit(n),
            None => TaskGroup::new(),
        };
        group.spawn(async { 5 });
        group.spawn(std::future::pending());
        // The first has finished (the second waits, for ever).
        while group.try_join_next().is_none() {
            anyrt_core::yield_now().await;
        }
        group.spawn(async { 6 });
        group
    });
    drop(runtime);
    group
}

#[test]
fn join_next_hands_out_what_finished_then_reports_the_dropped_task() {
    let mut group = group_outliving_its_runtime(None);
    let outcome = ends(move || {
        let mut outputs = Vec::new();
        let panic = catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(async {
                while let Some(output) = group.join_next().await {
                    outputs.push(output);
                }
            })
        }));
        (
            outputs,
            panic.err().map(|p| message(&*p).to_owned()),
            group.len(),
        )
    });
    let (outputs, panic, left) = outcome.expect("join_next ends").expect("no panic escapes");
    assert!(
        outputs.len() <= 1 && outputs.iter().all(|&n| n == 6),
        "{outputs:?}"
    );
    let panic = panic.expect("the task the runtime dropped is reported");
    assert!(
        panic.contains("dropped unfinished by its runtime"),
        "{panic}"
    );
    assert_eq!(left, 0, "the panic aborted the rest");
}

#[test]
fn try_join_all_reports_the_dropped_task() {
    let runtime = tokio_runtime();
    let group = runtime.block_on(async {
        let mut group = TaskGroup::new();
        group.spawn(std::future::pending::<Result<u32, ()>>());
        group.spawn(async { Ok(1) });
        group
    });
    drop(runtime);
    let outcome = ends(move || futures::executor::block_on(group.try_join_all()));
    let panic = outcome
        .expect("try_join_all ends")
        .expect_err("it resumes a panic");
    assert!(message(&*panic).contains("dropped unfinished by its runtime"));
}

#[test]
fn a_limited_group_reports_a_task_dropped_while_waiting_for_its_place() {
    let mut group = group_outliving_its_runtime(Some(NonZeroUsize::MIN));
    let outcome = ends(move || futures::executor::block_on(group.join_next()));
    let panic = outcome
        .expect("join_next ends")
        .expect_err("it resumes a panic");
    assert!(message(&*panic).contains("dropped unfinished by its runtime"));
}

#[test]
fn tasks_the_group_aborted_report_nothing_once_their_runtime_is_gone() {
    let runtime = tokio_runtime();
    let mut group = runtime.block_on(async {
        let mut group = TaskGroup::new();
        group.spawn(std::future::pending::<u32>());
        group.abort_all();
        group.spawn(async { 7 });
        while !group.is_empty() {
            if let Some(n) = group.try_join_next() {
                assert_eq!(n, 7);
                break;
            }
            anyrt_core::yield_now().await;
        }
        group
    });
    drop(runtime);
    let outcome = ends(move || futures::executor::block_on(group.join_next()));
    assert_eq!(outcome.expect("ends").expect("no panic"), None);
}
