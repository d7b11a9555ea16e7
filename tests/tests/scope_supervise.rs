//! `Supervisor`: every child runs to its end, outcomes in spawn order, a
//! child's panic resumed only after the others ended.

use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_scope::Supervisor;
use futures::FutureExt;

const SEC: Duration = Duration::from_secs(1);

/// A sibling that sleeps a second, then counts itself in `finished`.
async fn finishes_after_a_second(finished: &AtomicUsize) -> Result<(), ()> {
    anyrt_core::sleep(SEC).await;
    finished.fetch_add(1, SeqCst);
    Ok(())
}

#[anyrt_test::test(virtual_time)]
async fn every_child_runs_to_its_end_outcomes_in_spawn_order(clock: VirtualClock) {
    let finished = AtomicUsize::new(0);
    let sup = Supervisor::new();
    let (body, outcomes) = sup
        .run(async {
            for i in 0..6_u32 {
                let finished = &finished;
                sup.spawn(async move {
                    // Later children finish first.
                    anyrt_core::sleep((6 - i) * SEC).await;
                    finished.fetch_add(1, SeqCst);
                    if i % 2 == 0 {
                        Ok(i)
                    } else {
                        Err(format!("child {i} failed"))
                    }
                });
            }
            "body"
        })
        .await;
    assert_eq!(body, "body");
    assert_eq!(finished.load(SeqCst), 6, "an error cancelled nobody");
    assert_eq!(
        outcomes,
        [
            Ok(0),
            Err("child 1 failed".to_string()),
            Ok(2),
            Err("child 3 failed".to_string()),
            Ok(4),
            Err("child 5 failed".to_string()),
        ]
    );
    assert_eq!(clock.elapsed(), 6 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn supervise_under_a_limit() {
    let running = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let sup = Supervisor::<usize, ()>::new().limit(NonZeroUsize::new(2).unwrap());
    let ((), outcomes) = sup
        .run(async {
            for i in 0..10 {
                let (running, most) = (&running, &most);
                assert!(
                    sup.spawn_wait(async move {
                        most.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                        anyrt_core::sleep(SEC).await;
                        running.fetch_sub(1, SeqCst);
                        Ok(i)
                    })
                    .await
                );
            }
        })
        .await;
    assert_eq!(outcomes, (0..10).map(Ok).collect::<Vec<_>>());
    assert_eq!(most.load(SeqCst), 2);
}

#[anyrt_test::test(virtual_time)]
async fn a_child_panic_is_resumed_after_the_others_ended() {
    let finished = AtomicUsize::new(0);
    let sup = Supervisor::<(), ()>::new();
    let outcome = AssertUnwindSafe(sup.run(async {
        let finished = &finished;
        sup.spawn(async {
            std::panic::panic_any::<&str>("supervised panic");
        });
        sup.spawn(finishes_after_a_second(finished));
    }))
    .catch_unwind()
    .await;
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"supervised panic"));
    assert_eq!(finished.load(SeqCst), 1, "the sibling ran to its end first");
}

#[anyrt_test::test]
async fn a_spawn_outside_a_run_is_refused() {
    let sup = Supervisor::<u8, ()>::new();
    assert!(!sup.spawn(async { Ok(1) }));
    let ((), outcomes) = sup.run(async {}).await;
    assert!(outcomes.is_empty());
}

/// Regression: a child's panic held for the end of a run stayed behind
/// when the run ended otherwise (its future dropped, or the body
/// panicking), and the next run of the supervisor resumed it.
#[anyrt_test::test]
async fn regression_a_held_panic_does_not_outlive_its_run() {
    let sup = Supervisor::<u8, ()>::new();
    {
        let run = sup.run(async {
            sup.spawn(async {
                std::panic::panic_any::<&str>("a panic of the first run");
            });
            sup.spawn(std::future::pending());
            std::future::pending::<()>().await
        });
        let mut run = std::pin::pin!(run);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(run.as_mut().poll(&mut cx).is_pending());
    }
    let body_panicked = AssertUnwindSafe(sup.run(async {
        sup.spawn(async {
            std::panic::panic_any::<&str>("a child's panic, held");
        });
        anyrt_core::yield_now().await;
        std::panic::panic_any::<&str>("the body's panic");
    }))
    .catch_unwind()
    .await;
    let payload = body_panicked.expect_err("the body's panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the body's panic"));
    let ((), outcomes) = sup.run(async { assert!(sup.spawn(async { Ok(1) })) }).await;
    assert_eq!(outcomes, [Ok(1)], "the next run has nothing of the last");
}

/// A future that is ready at once, and panics when dropped.
struct PanicsOnDrop;

impl std::future::Future for PanicsOnDrop {
    type Output = Result<(), ()>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        std::panic::panic_any::<&str>("a child's destructor panicked");
    }
}

/// A child whose future panics while it is dropped, after it finished,
/// is held like a panic in its poll: its siblings still run to their end,
/// then the panic is resumed. It used to fail the whole run at once,
/// dropping the siblings midway (the scope dropped the finished future).
#[anyrt_test::test(virtual_time)]
async fn a_panicking_destructor_of_a_child_is_held_like_a_panic_in_its_poll() {
    let finished = AtomicUsize::new(0);
    let sup = Supervisor::<(), ()>::new();
    let outcome = AssertUnwindSafe(sup.run(async {
        let finished = &finished;
        // Not an async block, which would drop what it holds inside the
        // poll that completes it: a future whose own destructor panics.
        sup.spawn(PanicsOnDrop);
        sup.spawn(finishes_after_a_second(finished));
    }))
    .catch_unwind()
    .await;
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"a child's destructor panicked")
    );
    assert_eq!(finished.load(SeqCst), 1, "the sibling ran to its end first");
}
