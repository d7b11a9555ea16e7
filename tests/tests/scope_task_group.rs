//! `TaskGroup`: parallel tasks with the group's lifetime; outputs in spawn
//! order, fail fast or supervise, `join_next`, `abort_all`, `shutdown`,
//! cancel on drop, panics resumed.

use std::future::pending;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_scope::TaskGroup;
use futures::FutureExt;
use futures::channel::oneshot;

const SEC: Duration = Duration::from_secs(1);

/// Counts its drops, from a `'static` task.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Sends on drop: tells the test that a task's future was dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[anyrt_test::test(virtual_time)]
async fn join_all_returns_outputs_in_spawn_order(clock: VirtualClock) {
    let mut group = TaskGroup::new();
    for i in 0..5_u32 {
        group.spawn(async move {
            anyrt_core::sleep((5 - i) * SEC).await;
            i
        });
    }
    assert_eq!(group.len(), 5);
    assert_eq!(group.join_all().await, [0, 1, 2, 3, 4]);
    assert_eq!(clock.elapsed(), 5 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn join_next_yields_in_completion_order() {
    let mut group = TaskGroup::new();
    for i in 0..4_u32 {
        group.spawn(async move {
            anyrt_core::sleep((4 - i) * SEC).await;
            i
        });
    }
    let mut seen = Vec::new();
    while let Some(i) = group.join_next().await {
        seen.push(i);
        assert_eq!(group.len(), 4 - seen.len());
    }
    assert_eq!(seen, [3, 2, 1, 0]);
    assert!(group.is_empty());
    assert_eq!(group.join_next().await, None);
}

#[anyrt_test::test(virtual_time)]
async fn try_join_all_fails_fast_and_waits_for_the_others_to_drop(clock: VirtualClock) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::new();
    for _ in 0..4 {
        let guard = Guard(dropped.clone());
        group.spawn(async move {
            let _guard = guard;
            pending::<Result<u32, String>>().await
        });
    }
    group.spawn(async {
        anyrt_core::sleep(2 * SEC).await;
        Err(String::from("task failed"))
    });
    assert_eq!(group.try_join_all().await, Err(String::from("task failed")));
    assert_eq!(
        dropped.load(SeqCst),
        4,
        "every other task's future was dropped"
    );
    assert_eq!(clock.elapsed(), 2 * SEC);

    let mut ok = TaskGroup::new();
    for i in 0..3_u32 {
        ok.spawn(async move {
            anyrt_core::sleep((3 - i) * SEC).await;
            Ok::<_, String>(i * 10)
        });
    }
    assert_eq!(ok.try_join_all().await, Ok(vec![0, 10, 20]));
}

#[anyrt_test::test(virtual_time)]
async fn join_all_supervises_every_task_to_its_end() {
    let mut group = TaskGroup::new();
    group.spawn(async {
        anyrt_core::sleep(SEC).await;
        Err::<u32, _>("early failure")
    });
    group.spawn(async {
        anyrt_core::sleep(3 * SEC).await;
        Ok(3)
    });
    assert_eq!(group.join_all().await, [Err("early failure"), Ok(3)]);
}

#[anyrt_test::test]
async fn shutdown_cancels_and_waits_until_every_future_is_dropped() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::new();
    for _ in 0..8 {
        let guard = Guard(dropped.clone());
        group.spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
    }
    group.shutdown().await;
    assert_eq!(dropped.load(SeqCst), 8);
    assert!(group.is_empty());
    // The group is usable again.
    group.spawn(async {});
    assert_eq!(group.join_next().await, Some(()));
}

#[anyrt_test::test]
async fn abort_all_empties_the_group_and_cancels() {
    let (tx, rx) = oneshot::channel();
    let mut group = TaskGroup::new();
    let signal = DropSignal(Some(tx));
    group.spawn(async move {
        let _signal = signal;
        pending::<u8>().await
    });
    group.spawn(async { 1 });
    group.abort_all();
    assert_eq!(group.len(), 0);
    assert_eq!(group.join_next().await, None);
    assert_eq!(rx.await, Ok(()), "the aborted task's future was dropped");
}

#[anyrt_test::test]
async fn dropping_the_group_cancels_every_task() {
    let mut receivers = Vec::new();
    let mut group = TaskGroup::new();
    for _ in 0..4 {
        let (tx, rx) = oneshot::channel();
        receivers.push(rx);
        let signal = DropSignal(Some(tx));
        group.spawn(async move {
            let _signal = signal;
            pending::<()>().await
        });
    }
    drop(group);
    for rx in receivers {
        assert_eq!(rx.await, Ok(()), "the task's future was dropped");
    }
}

#[anyrt_test::test]
async fn a_task_panic_is_resumed_with_its_payload() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::new();
    let guard = Guard(dropped.clone());
    group.spawn(async move {
        let _guard = guard;
        pending::<()>().await
    });
    group.spawn(async { std::panic::panic_any::<u64>(77) });
    let outcome = AssertUnwindSafe(group.join_next()).catch_unwind().await;
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(payload.downcast_ref::<u64>(), Some(&77));
    assert!(group.is_empty(), "the other tasks were cancelled");
}

// A clock moved only by hand (here: never): the check is which deadline
// the task sees, and a task's trip through the runtime cannot race an
// auto-advance.
#[anyrt_test::test]
async fn tasks_see_the_context_where_the_group_was_made() {
    let clock = VirtualClock::new();
    let outer = anyrt_deadline::Deadline::at(clock.now() + 10 * SEC);
    let seen = anyrt_core::with_timer(
        clock.clone(),
        anyrt_deadline::within(10 * SEC, async {
            let mut group = TaskGroup::new();
            anyrt_deadline::within(SEC, async {
                group.spawn(async { anyrt_deadline::current() });
            })
            .await
            .unwrap();
            group.join_next().await.flatten()
        }),
    )
    .await;
    assert_eq!(seen, Ok(Some(outer)));
}

#[anyrt_test::test]
async fn join_all_fails_fast_on_a_panic_behind_a_pending_task() {
    let (tx, dropped) = oneshot::channel();
    let mut group = TaskGroup::new();
    let signal = DropSignal(Some(tx));
    group.spawn(async move {
        let _signal = signal;
        pending::<u32>().await
    });
    group.spawn(async {
        anyrt_core::yield_now().await;
        std::panic::panic_any::<u64>(78)
    });
    let outcome = AssertUnwindSafe(group.join_all()).catch_unwind().await;
    let payload = outcome.expect_err("the panic is resumed, not waited behind task 0");
    assert_eq!(payload.downcast_ref::<u64>(), Some(&78));
    // The pending task is cancelled (on a pool thread it may take a
    // moment; a task left running would hang here until the watchdog).
    assert_eq!(dropped.await, Ok(()), "the pending task was cancelled");
}

#[anyrt_test::test]
async fn join_all_after_join_next_keeps_spawn_order_and_loses_nothing() {
    let mut group = TaskGroup::new();
    for i in 0..6_u32 {
        group.spawn(async move { i });
    }
    let first = group.join_next().await.expect("a task");
    // Let some of the others finish before `join_all` starts.
    for _ in 0..10 {
        anyrt_core::yield_now().await;
    }
    let rest = group.join_all().await;
    assert_eq!(rest.len(), 5);
    assert!(
        rest.windows(2).all(|pair| pair[0] < pair[1]),
        "spawn order: {rest:?}"
    );
    let mut all = rest;
    all.push(first);
    all.sort_unstable();
    assert_eq!(all, [0, 1, 2, 3, 4, 5]);
}

#[anyrt_test::test]
async fn join_all_resumes_a_panic_of_a_task_that_ended_before_it_started() {
    let mut group = TaskGroup::new();
    group.spawn(async { 1_u32 });
    group.spawn(async { std::panic::panic_any::<u64>(79) });
    group.spawn(pending::<u32>());
    // Both ended tasks are done before `join_all` is first polled.
    for _ in 0..10 {
        anyrt_core::yield_now().await;
    }
    let outcome = AssertUnwindSafe(group.join_all()).catch_unwind().await;
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(payload.downcast_ref::<u64>(), Some(&79));
}

/// Takes finished outputs without waiting, in a loop that stays runnable
/// (so the virtual clock stands still meanwhile).
async fn try_join_until_some<T: Send + 'static>(group: &mut TaskGroup<T>) -> T {
    loop {
        if let Some(output) = group.try_join_next() {
            return output;
        }
        anyrt_core::yield_now().await;
    }
}

#[anyrt_test::test(virtual_time)]
async fn try_join_next_takes_only_what_has_finished(clock: VirtualClock) {
    let mut group = TaskGroup::new();
    assert_eq!(group.try_join_next(), None, "an empty group");
    group.spawn(async {
        anyrt_core::sleep(SEC).await;
        1_u32
    });
    group.spawn(async { 2 });
    assert_eq!(try_join_until_some(&mut group).await, 2);
    assert_eq!(group.try_join_next(), None, "the sleeper has not finished");
    assert_eq!(group.len(), 1);
    assert_eq!(group.join_next().await, Some(1));
    assert_eq!(clock.elapsed(), SEC);
    assert_eq!(group.try_join_next(), None);
    // A panic is resumed, as by join_next, after the others are aborted.
    let (tx, dropped) = oneshot::channel();
    let signal = DropSignal(Some(tx));
    group.spawn(async move {
        let _signal = signal;
        pending::<u32>().await
    });
    group.spawn(async { std::panic::panic_any::<u64>(80) });
    let outcome = AssertUnwindSafe(try_join_until_some(&mut group))
        .catch_unwind()
        .await;
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(payload.downcast_ref::<u64>(), Some(&80));
    assert_eq!(dropped.await, Ok(()), "the other task was aborted");
    assert!(group.is_empty());
}
