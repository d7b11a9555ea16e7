//! Conformance: the ambient context finds the right runtime, carries
//! overrides into nested and spawned work, and never leaks.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use anyrt_core::{Runtime, VirtualClock, with_timer, with_value};
use anyrt_test::TestRuntime;
use futures::FutureExt;

fn expected_runtime() -> &'static str {
    match anyrt_test::runtime().expect("inside the harness") {
        TestRuntime::Smol => "smol",
        TestRuntime::AsyncStd => "async-std",
        TestRuntime::BlockOn => "fallback",
        _ => "tokio",
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Tag(&'static str);

#[anyrt_test::test]
async fn the_ambient_runtime_is_the_one_running_the_test() {
    assert_eq!(Runtime::current().name(), expected_runtime());
    let in_task = anyrt_core::spawn(async { Runtime::current().name() }).await;
    assert_eq!(in_task, expected_runtime());
}

#[anyrt_test::test(runtimes(tokio_current_thread, tokio_multi_thread))]
async fn tokio_is_detected_without_any_override() {
    assert_eq!(Runtime::detect().name(), "tokio");
}

#[anyrt_test::test(runtimes(smol))]
async fn smol_is_detected_outside_tokio() {
    assert_eq!(Runtime::detect().name(), "smol");
}

#[anyrt_test::test]
async fn with_timer_reaches_nested_calls() {
    let clock = VirtualClock::new();
    let start = clock.now();
    clock.advance(Duration::from_secs(90));
    async fn deep() -> std::time::Instant {
        async { anyrt_core::now() }.await
    }
    let seen = with_timer(clock.clone(), deep()).await;
    assert_eq!(seen - start, Duration::from_secs(90));
}

#[anyrt_test::test]
#[allow(
    clippy::async_yields_async,
    reason = "the task is spawned inside the override and awaited outside"
)]
async fn with_timer_reaches_spawned_tasks() {
    let clock = VirtualClock::new();
    let start = clock.now();
    let task = with_timer(clock.clone(), async {
        anyrt_core::spawn(async {
            anyrt_core::sleep(Duration::from_secs(10)).await;
            anyrt_core::now()
        })
    })
    .await;
    // The task sleeps on the virtual clock, so it waits for us to advance it.
    while clock.pending_sleepers() == 0 {
        anyrt_core::sleep(Duration::from_millis(1)).await;
    }
    clock.advance(Duration::from_secs(10));
    assert_eq!(task.await - start, Duration::from_secs(10));
}

#[anyrt_test::test]
async fn values_are_layered_and_restored() {
    assert_eq!(anyrt_core::value::<Tag>(), None);
    let outer = with_value(Tag("outer"), async {
        let inner = with_value(Tag("inner"), async { anyrt_core::value::<Tag>() }).await;
        (inner, anyrt_core::value::<Tag>())
    })
    .await;
    assert_eq!(outer, (Some(Tag("inner")), Some(Tag("outer"))));
    assert_eq!(anyrt_core::value::<Tag>(), None);
}

#[anyrt_test::test]
#[allow(
    clippy::async_yields_async,
    reason = "the task is spawned inside the value and awaited outside"
)]
async fn values_reach_spawned_tasks() {
    let seen = with_value(Tag("parent"), async {
        anyrt_core::spawn(async { anyrt_core::value::<Tag>() })
    })
    .await
    .await;
    assert_eq!(seen, Some(Tag("parent")));
}

#[anyrt_test::test]
async fn a_panicking_poll_restores_the_context() {
    let result = AssertUnwindSafe(with_value(Tag("doomed"), async {
        panic!("inside the wrapper");
    }))
    .catch_unwind()
    .await;
    assert!(result.is_err());
    assert_eq!(anyrt_core::value::<Tag>(), None);
}

#[anyrt_test::test]
async fn tasks_sharing_a_thread_keep_their_own_values() {
    async fn observe(tag: &'static str) -> bool {
        let mut consistent = true;
        for _ in 0..20 {
            consistent &= anyrt_core::value::<Tag>() == Some(Tag(tag));
            futures_lite::future::yield_now().await;
        }
        consistent
    }
    let a = with_value(Tag("a"), observe("a"));
    let b = with_value(Tag("b"), observe("b"));
    let (a, b) = futures::join!(a, b);
    assert!(a && b);
    assert_eq!(anyrt_core::value::<Tag>(), None);
}

/// `Ambient::capture_runtime`: the timer override and the task hooks of
/// an auto-advancing clock go with the snapshot, the values of the work
/// (here a tag and a deadline) do not.
#[anyrt_test::test(virtual_time)]
async fn the_runtime_part_keeps_the_clock_and_leaves_the_values(clock: VirtualClock) {
    let start = clock.now();
    let seen = clock.clone();
    let runtime_only = with_value(Tag("request 7"), async {
        anyrt_deadline::within(Duration::from_millis(5), async {
            anyrt_core::Ambient::capture_runtime()
        })
        .await
    })
    .await
    .expect("taken well within the deadline");
    let handle = anyrt_core::spawn(runtime_only.attach(async move {
        // A task of its own, runnable all along: the clock may not move
        // meanwhile, although the test's sleep is due in 1 ms.
        let busy = anyrt_core::spawn(async move {
            for _ in 0..100 {
                anyrt_core::yield_now().await;
            }
            seen.now() - start
        });
        let busy = busy.await;
        // Longer than the deadline of the work that took the snapshot.
        anyrt_core::sleep(Duration::from_secs(1)).await;
        (
            busy,
            anyrt_core::value::<Tag>(),
            anyrt_deadline::remaining(),
        )
    }));
    let ((), (busy, tag, deadline)) =
        futures_lite::future::zip(anyrt_core::sleep(Duration::from_millis(1)), handle).await;
    assert_eq!(busy, Duration::ZERO, "the task was counted as runnable");
    assert_eq!((tag, deadline), (None, None), "no value of the caller");
    assert_eq!(
        clock.now() - start,
        Duration::from_secs(1),
        "the sleep ran on the virtual clock, which advanced by itself"
    );
    // Without any value, the runtime's override is still the one in force.
    let named = anyrt_core::Ambient::capture_runtime()
        .attach(async { Runtime::current().name() })
        .await;
    assert_eq!(named, expected_runtime());
}

/// `Ambient::spawn`: the task sees the context it was given, on that
/// context's runtime, and keeps nothing of the caller's context alive.
#[anyrt_test::test]
#[allow(
    clippy::async_yields_async,
    reason = "the task is spawned inside the wrapper and awaited outside"
)]
async fn a_task_spawned_with_a_context_keeps_nothing_of_the_callers() {
    let given = with_value(Tag("given"), async { anyrt_core::Ambient::capture() }).await;
    let data = std::sync::Arc::new(Tag("caller"));
    let freed = std::sync::Arc::downgrade(&data);
    let (release, released) = futures::channel::oneshot::channel::<()>();
    let task = with_value(data, async {
        given.spawn(async move {
            let seen = (
                anyrt_core::value::<Tag>(),
                anyrt_core::value::<std::sync::Arc<Tag>>(),
                Runtime::current().name(),
            );
            let _ = released.await;
            seen
        })
    })
    .await;
    assert!(
        freed.upgrade().is_none(),
        "the caller's context is not kept by the running task"
    );
    release.send(()).unwrap();
    let (tag, caller, runtime) = task.await;
    assert_eq!(tag, Some(Tag("given")));
    assert!(caller.is_none(), "the caller's values are not seen");
    assert_eq!(runtime, expected_runtime());
}
