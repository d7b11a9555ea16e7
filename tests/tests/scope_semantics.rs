//! The in-place scope has the semantics of Python's `TaskGroup` and trio's
//! nursery: errors cancel everything else, destructors run before the
//! scope returns, nesting propagates errors, panics keep their payload, and
//! a failed scope leaves nothing behind.

use std::future::pending;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_scope::{CancelToken, Scope};
use futures::FutureExt;

const SEC: Duration = Duration::from_secs(1);

/// Counts its drops: a child or body holding one shows it was dropped.
struct Guard<'c>(&'c AtomicUsize);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[anyrt_test::test(virtual_time)]
async fn body_error_cancels_children(clock: VirtualClock) {
    let dropped = AtomicUsize::new(0);
    let s = Scope::new();
    let outcome: Result<(), &str> = s
        .run(async {
            for _ in 0..3 {
                let guard = Guard(&dropped);
                s.spawn(async move {
                    let _guard = guard;
                    pending::<Result<(), &str>>().await
                });
            }
            anyrt_core::sleep(SEC).await;
            Err("body failed")
        })
        .await;
    assert_eq!(outcome, Err("body failed"));
    assert_eq!(
        dropped.load(SeqCst),
        3,
        "every child dropped before the scope returned"
    );
    assert_eq!(clock.elapsed(), SEC);
}

#[anyrt_test::test(virtual_time)]
async fn child_error_cancels_body_and_siblings(clock: VirtualClock) {
    let dropped = AtomicUsize::new(0);
    let s = Scope::new();
    let outcome: Result<(), &str> = s
        .run(async {
            let _body_guard = Guard(&dropped);
            let guard = Guard(&dropped);
            s.spawn(async move {
                let _guard = guard;
                anyrt_core::sleep(10 * SEC).await;
                Ok(())
            });
            s.spawn(async {
                anyrt_core::sleep(2 * SEC).await;
                Err::<(), _>("child failed")
            });
            pending().await
        })
        .await;
    assert_eq!(outcome, Err("child failed"));
    assert_eq!(
        dropped.load(SeqCst),
        2,
        "the body and the sibling were dropped"
    );
    assert_eq!(
        clock.elapsed(),
        2 * SEC,
        "the error ended the scope at once"
    );
    assert_eq!(clock.pending_sleepers(), 0, "the sibling's sleep is gone");
}

#[anyrt_test::test(virtual_time)]
async fn the_scope_waits_for_every_child_and_their_siblings(clock: VirtualClock) {
    let finished = AtomicUsize::new(0);
    let s = Scope::<()>::new();
    let output = s
        .run(async {
            let (s, finished) = (&s, &finished);
            s.spawn(async move {
                anyrt_core::sleep(SEC).await;
                s.spawn(async move {
                    anyrt_core::sleep(2 * SEC).await;
                    finished.fetch_add(1, SeqCst);
                    Ok(())
                });
                finished.fetch_add(1, SeqCst);
                Ok(())
            });
            Ok("body done")
        })
        .await;
    assert_eq!(output, Ok("body done"));
    assert_eq!(
        finished.load(SeqCst),
        2,
        "the sibling spawned by a child ran to its end"
    );
    assert_eq!(clock.elapsed(), 3 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn handles_yield_outputs_inside_the_scope() {
    let s = Scope::<String>::new();
    let sum = s
        .run(async {
            let slow = s.spawn(async {
                anyrt_core::sleep(3 * SEC).await;
                Ok(40_u64)
            });
            let fast = s.spawn(async { Ok(2_u64) });
            Ok(slow.await + fast.await)
        })
        .await;
    assert_eq!(sum, Ok(42));
}

#[anyrt_test::test(virtual_time)]
async fn a_finished_child_is_released_before_the_scope_ends() {
    let dropped = AtomicUsize::new(0);
    let s = Scope::<()>::new();
    let seen = s
        .run(async {
            let guard = Guard(&dropped);
            let child = s.spawn(async move {
                let _guard = guard;
                Ok(7)
            });
            assert_eq!(child.await, 7);
            let at_finish = dropped.load(SeqCst);
            // A second child still runs: the scope has not ended.
            s.spawn(async {
                anyrt_core::sleep(SEC).await;
                Ok(())
            });
            Ok(at_finish)
        })
        .await;
    assert_eq!(
        seen,
        Ok(1),
        "the child's future was dropped when it finished"
    );
}

#[anyrt_test::test(virtual_time)]
async fn nested_scope_error_propagates(clock: VirtualClock) {
    let dropped = AtomicUsize::new(0);
    let outer = Scope::new();
    let outcome: Result<(), String> = outer
        .run(async {
            let guard = Guard(&dropped);
            outer.spawn(async move {
                let _guard = guard;
                pending::<Result<(), String>>().await
            });
            outer.spawn(async {
                let inner = Scope::new();
                inner
                    .run(async {
                        inner.spawn(async {
                            anyrt_core::sleep(SEC).await;
                            Err::<(), _>(String::from("inner child failed"))
                        });
                        Ok(())
                    })
                    .await?;
                Ok(())
            });
            Ok(())
        })
        .await;
    assert_eq!(outcome, Err(String::from("inner child failed")));
    assert_eq!(dropped.load(SeqCst), 1, "the outer sibling was dropped");
    assert_eq!(clock.elapsed(), SEC);
}

#[anyrt_test::test]
async fn panic_payload_is_preserved_after_siblings_dropped() {
    let dropped = AtomicUsize::new(0);
    let s = Scope::<()>::new();
    let outcome = AssertUnwindSafe(s.run(async {
        let guard = Guard(&dropped);
        s.spawn(async move {
            let _guard = guard;
            pending::<Result<(), ()>>().await
        });
        s.spawn(async {
            anyrt_core::yield_now().await;
            std::panic::panic_any::<u32>(0xC0FFEE);
            #[allow(unreachable_code)]
            Ok::<(), ()>(())
        });
        pending::<Result<(), ()>>().await
    }))
    .catch_unwind()
    .await;
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(payload.downcast_ref::<u32>(), Some(&0xC0FFEE));
    assert_eq!(dropped.load(SeqCst), 1);
    assert!(!s.is_running());
}

#[anyrt_test::test]
async fn a_panicking_body_drops_children_first() {
    let dropped = AtomicUsize::new(0);
    let s = Scope::<()>::new();
    let outcome = AssertUnwindSafe(s.run(async {
        let guard = Guard(&dropped);
        s.spawn(async move {
            let _guard = guard;
            pending::<Result<(), ()>>().await
        });
        anyrt_core::yield_now().await;
        if dropped.load(SeqCst) == 0 {
            panic!("body panic");
        }
        Ok(())
    }))
    .catch_unwind()
    .await;
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"body panic"));
    assert_eq!(dropped.load(SeqCst), 1);
}

#[anyrt_test::test(virtual_time)]
async fn a_failed_scope_leaves_nothing_cancelled_behind() {
    let outer = Scope::<&str>::new();
    outer
        .run(async {
            let outer_token = outer.token();
            let failed = Scope::new();
            let outcome: Result<(), &str> = failed
                .run(async {
                    failed.spawn(async { Err::<(), _>("first scope failed") });
                    Ok(())
                })
                .await;
            assert_eq!(outcome, Err("first scope failed"));
            assert!(
                failed.token().is_cancelled(),
                "the failed scope's own token"
            );
            assert!(
                !outer_token.is_cancelled(),
                "the caller's token is untouched"
            );
            assert_eq!(
                CancelToken::current().map(|t| t.is_cancelled()),
                Some(false)
            );

            // The caller's next scope, and the failed scope run again, work.
            let next = Scope::<&str>::new();
            let sum = next
                .run(async {
                    let a = next.spawn(async {
                        anyrt_core::sleep(SEC).await;
                        Ok(1)
                    });
                    Ok(a.await + 1)
                })
                .await;
            assert_eq!(sum, Ok(2));
            assert!(
                next.token().reason().is_some(),
                "the next scope finished normally"
            );
            let again = failed
                .run(async { Ok(failed.spawn(async { Ok(5) }).await) })
                .await;
            assert_eq!(again, Ok(5));
            Ok(())
        })
        .await
        .expect("the outer scope succeeds");
}

#[anyrt_test::test]
async fn dropping_the_run_drops_children_before_drop_returns() {
    let dropped = AtomicUsize::new(0);
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    struct SendOnDrop(Option<futures::channel::oneshot::Sender<()>>);
    impl Drop for SendOnDrop {
        fn drop(&mut self) {
            let _ = self.0.take().map(|tx| tx.send(()));
        }
    }
    let task_signal = SendOnDrop(Some(tx));
    let task_started = std::sync::Arc::new(AtomicBool::new(false));
    let started = task_started.clone();
    let s = Scope::<()>::new();
    {
        let mut run = pin!(s.run(async {
            for _ in 0..5 {
                let guard = Guard(&dropped);
                s.spawn(async move {
                    let _guard = guard;
                    pending::<Result<(), ()>>().await
                });
            }
            s.spawn_task(async move {
                let _signal = task_signal;
                started.store(true, SeqCst);
                pending::<Result<(), ()>>().await
            });
            pending::<Result<(), ()>>().await
        }));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(run.as_mut().poll(&mut cx).is_pending());
        assert_eq!(dropped.load(SeqCst), 0);
    }
    assert_eq!(
        dropped.load(SeqCst),
        5,
        "every child dropped when the run was"
    );
    assert!(s.token().is_cancelled());
    assert_eq!(
        rx.await,
        Ok(()),
        "the spawned task's future was dropped (cancelled), not kept running"
    );
    let _ = task_started;
}

#[anyrt_test::test]
async fn a_spawn_outside_a_run_is_dropped_unpolled() {
    let polled = AtomicBool::new(false);
    let dropped = AtomicUsize::new(0);
    let s = Scope::<()>::new();
    let guard = Guard(&dropped);
    let before = s.spawn(async {
        let _guard = guard;
        polled.store(true, SeqCst);
        Ok::<(), ()>(())
    });
    assert!(before.is_rejected());
    assert_eq!(dropped.load(SeqCst), 1, "dropped at once");
    s.run(async { Ok(()) }).await.unwrap();
    let guard = Guard(&dropped);
    let after = s.spawn(async {
        let _guard = guard;
        polled.store(true, SeqCst);
        Ok::<(), ()>(())
    });
    assert!(after.is_rejected());
    assert_eq!(dropped.load(SeqCst), 2);
    assert!(!polled.load(SeqCst), "never polled");
}

/// A future that counts its polls and waits for a flag.
struct Gate<'c> {
    polls: &'c AtomicUsize,
    open: &'c AtomicBool,
    waker: &'c std::sync::Mutex<Option<Waker>>,
}

impl std::future::Future for Gate<'_> {
    type Output = Result<(), ()>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls.fetch_add(1, SeqCst);
        if self.open.load(SeqCst) {
            return Poll::Ready(Ok(()));
        }
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[anyrt_test::test]
async fn a_wake_polls_that_child_only() {
    const N: usize = 1000;
    let polls: Vec<AtomicUsize> = (0..N).map(|_| AtomicUsize::new(0)).collect();
    let open: Vec<AtomicBool> = (0..N).map(|_| AtomicBool::new(false)).collect();
    let wakers: Vec<std::sync::Mutex<Option<Waker>>> =
        (0..N).map(|_| std::sync::Mutex::new(None)).collect();
    let s = Scope::<()>::new();
    s.run(async {
        for i in 0..N {
            s.spawn(Gate {
                polls: &polls[i],
                open: &open[i],
                waker: &wakers[i],
            });
        }
        anyrt_core::yield_now().await;
        assert!(
            polls.iter().all(|p| p.load(SeqCst) == 1),
            "each polled once"
        );
        for round in 0..3 {
            let i = 17 + round * 100;
            open[i].store(true, SeqCst);
            wakers[i].lock().unwrap().take().unwrap().wake();
            anyrt_core::yield_now().await;
            assert_eq!(polls[i].load(SeqCst), 2, "the woken child was polled");
        }
        let total: usize = polls.iter().map(|p| p.load(SeqCst)).sum();
        assert_eq!(total, N + 3, "no other child was polled");
        for i in 0..N {
            open[i].store(true, SeqCst);
            if let Some(waker) = wakers[i].lock().unwrap().take() {
                waker.wake();
            }
        }
        Ok(())
    })
    .await
    .unwrap();
    let total: usize = polls.iter().map(|p| p.load(SeqCst)).sum();
    assert_eq!(total, 2 * N);
}

/// Regression: a failure in the middle of a batch of woken children used
/// to forget the rest of the batch while their wakers still counted them
/// as queued, so the children of the next run in those slots never ran.
#[anyrt_test::test]
async fn a_scope_run_again_after_failing_mid_batch_polls_every_child() {
    let s = Scope::<&str>::new();
    let failed = s
        .run(async {
            s.spawn(async { Err::<(), _>("first child failed") });
            for _ in 0..3 {
                s.spawn(pending::<Result<(), &str>>());
            }
            Ok(())
        })
        .await;
    assert_eq!(failed, Err("first child failed"));
    let sum = s
        .run(async {
            let handles: Vec<_> = (0..4).map(|i| s.spawn(async move { Ok(i) })).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await;
            }
            Ok(sum)
        })
        .await;
    assert_eq!(sum, Ok(6));
}

/// Regression: children spawned by a sibling in the same batch as a
/// failing child must not leave their slots marked as queued for the next
/// run (or the next scope on this thread, which reuses the wakers).
#[anyrt_test::test]
async fn children_spawned_just_before_a_failure_leave_no_slot_stuck() {
    let s = Scope::<&str>::new();
    let failed = s
        .run(async {
            let s = &s;
            s.spawn(async move {
                for _ in 0..3 {
                    s.spawn(pending::<Result<(), &str>>());
                }
                Ok(())
            });
            s.spawn(async { Err::<(), _>("second child failed") });
            Ok(())
        })
        .await;
    assert_eq!(failed, Err("second child failed"));
    let fresh = Scope::new();
    for scope in [&s, &fresh] {
        let sum = scope
            .run(async {
                let handles: Vec<_> = (0..6).map(|i| scope.spawn(async move { Ok(i) })).collect();
                let mut sum = 0;
                for handle in handles {
                    sum += handle.await;
                }
                Ok(sum)
            })
            .await;
        assert_eq!(sum, Ok(15));
    }
}

/// Panics when dropped (also while unwinding: a second panic then aborts
/// unless each destructor runs on its own).
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// Polls `future` with a no-op waker until it is ready, at most `polls`
/// times, on this thread (whose pool of wakers the next scope reuses).
fn poll_at_most<F: std::future::Future>(future: F, polls: usize) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    (0..polls).find_map(|_| match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("?")
}

/// Regression: a sibling whose destructor panicked while a failed scope
/// dropped its children left the scope closing for ever (every later run
/// panicked with "a scope runs one body at a time"), and two such
/// siblings aborted the process.
#[test]
fn regression_panicking_destructors_of_cancelled_children() {
    let dropped = AtomicUsize::new(0);
    let s = Scope::<&str>::new();
    let failed = std::panic::catch_unwind(AssertUnwindSafe(|| {
        poll_at_most(
            s.run(async {
                let _body_guard = Guard(&dropped);
                for _ in 0..2 {
                    s.spawn(async {
                        let _panics = PanicOnDrop("a destructor panicked");
                        pending::<Result<(), &str>>().await
                    });
                }
                let guard = Guard(&dropped);
                s.spawn(async move {
                    let _guard = guard;
                    pending::<Result<(), &str>>().await
                });
                s.spawn(async { Err::<(), _>("child failed") });
                pending::<Result<(), &str>>().await
            }),
            10,
        )
    }));
    let payload = failed.expect_err("the destructor's panic is resumed");
    assert_eq!(panic_message(&*payload), "a destructor panicked");
    assert_eq!(
        dropped.load(SeqCst),
        2,
        "the other sibling and the body were dropped"
    );
    assert!(!s.is_running());
    let again = poll_at_most(s.run(async { Ok(s.spawn(async { Ok(5) }).await) }), 10);
    assert_eq!(again, Some(Ok(5)), "the scope runs again");
}

/// Regression: a finished child's output whose destructor panicked (no
/// handle would read it) unwound out of the run's poll with the rest of
/// the batch taken, so those slots stayed marked as queued in the wakers
/// that the next scope on the thread reused, and its children in those
/// slots never ran.
#[test]
fn regression_a_panicking_output_destructor_leaves_no_slot_stuck() {
    let s = Scope::<&str>::new();
    let failed = std::panic::catch_unwind(AssertUnwindSafe(|| {
        poll_at_most(
            s.run(async {
                drop(s.spawn(async { Ok(PanicOnDrop("an output's destructor panicked")) }));
                s.spawn(pending::<Result<(), &str>>());
                pending::<Result<(), &str>>().await
            }),
            10,
        )
    }));
    let payload = failed.expect_err("the destructor's panic is resumed");
    assert_eq!(panic_message(&*payload), "an output's destructor panicked");
    let fresh = Scope::<&str>::new();
    let sum = poll_at_most(
        fresh.run(async {
            let a = fresh.spawn(async { Ok(1) });
            let b = fresh.spawn(async { Ok(2) });
            Ok(a.await + b.await)
        }),
        10,
    );
    assert_eq!(sum, Some(Ok(3)), "the next scope's children all ran");
}

/// Sets its flag when dropped, after a while, so that a scope that
/// returns before the destructor has ended is seen.
struct SlowDrop(std::sync::Arc<AtomicBool>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(20));
        self.0.store(true, SeqCst);
    }
}

/// Regression: a scope that failed returned while the tasks of its
/// `spawn_task` children were still being cancelled on the runtime, before
/// their destructors ran (in-place children's had).
#[anyrt_test::test]
async fn regression_a_failed_scope_returns_after_its_tasks_were_dropped() {
    let dropped = std::sync::Arc::new(AtomicBool::new(false));
    let slow = SlowDrop(dropped.clone());
    let (started_tx, started_rx) = futures::channel::oneshot::channel();
    let s = Scope::<&str>::new();
    let outcome = s
        .run(async {
            s.spawn_task(async move {
                let _slow = slow;
                let _ = started_tx.send(());
                pending::<Result<(), &str>>().await
            });
            let _ = started_rx.await;
            Err::<(), _>("the body failed")
        })
        .await;
    assert_eq!(outcome, Err("the body failed"));
    assert!(
        dropped.load(SeqCst),
        "the task's destructor ran before the scope returned"
    );
}
