//! Regressions of `anyrt-scope`, each named after what went wrong, then
//! checks that held, kept for what they add to the suite. (Those about
//! memory are in `scope_allocations.rs`, whose counter is process-wide.)

use std::future::{Future, pending};
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_deadline::{Deadline, current, timeout, within};
use anyrt_scope::{CancelToken, Scope, Supervisor, TaskGroup};
use futures::FutureExt;

/// Long enough for anything here; the clock is virtual, so a hang shows
/// as a timeout at once.
const HOUR: Duration = Duration::from_secs(3600);
const SEC: Duration = Duration::from_secs(1);

/// A waker that panics when woken.
struct PanicsOnWake;

impl Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("the waker panicked");
    }
}

/// Counts its drops.
struct Guard<'c>(&'c AtomicUsize);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// The body polls a handle with a waker that panics, and the child's end
/// wakes it. The scope's lock was held across that wake, and the finished
/// child's output was lost with the unwinding (a later poll hung). Now the
/// wake happens after the lock, and the scope treats the panic as the
/// body's: it drops the body and the other children, then resumes it.
#[anyrt_test::test]
async fn regression_a_panicking_handle_waker_fails_the_scope_cleanly() {
    let dropped = AtomicUsize::new(0);
    let finishing = AtomicBool::new(false);
    let s = Scope::new();
    let run = s.run(async {
        let _body = Guard(&dropped);
        let sibling = Guard(&dropped);
        s.spawn(async move {
            let _sibling = sibling;
            std::future::pending::<Result<(), ()>>().await
        });
        let mut handle = pin!(s.spawn(async {
            anyrt_core::yield_now().await;
            finishing.store(true, SeqCst);
            Ok::<_, ()>(7)
        }));
        let waker = Waker::from(Arc::new(PanicsOnWake));
        let first = handle.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(first.is_pending(), "the child yields first");
        while !finishing.load(SeqCst) {
            anyrt_core::yield_now().await;
        }
        Ok::<_, ()>(handle.await)
    });
    let payload = AssertUnwindSafe(run)
        .catch_unwind()
        .await
        .expect_err("the waker's panic ends the scope");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the waker panicked"));
    assert_eq!(
        dropped.load(SeqCst),
        2,
        "the body and the sibling were dropped"
    );
    assert!(!s.is_running());
    // The scope, and a new one on the same thread, run again.
    let again: Result<u32, ()> = s.run(async { Ok(s.spawn(async { Ok(3) }).await) }).await;
    assert_eq!(again, Ok(3));
    let fresh = Scope::new();
    assert_eq!(fresh.run(async { Ok::<_, ()>(4) }).await, Ok(4));
}

/// An output whose destructor panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("the output's destructor panicked");
    }
}

/// A finished child whose handle is gone leaves its output to be dropped
/// by the scope; when that destructor panicked just as the body was next
/// in line, the body's waker stayed marked as queued, and the next scope
/// run on the same thread (which reuses the wakers) never polled its body.
#[anyrt_test::test]
async fn regression_a_panicking_unread_output_leaves_the_next_scope_runnable() {
    let finishing = AtomicBool::new(false);
    let s = Scope::new();
    let run = s.run(async {
        drop(s.spawn(async {
            finishing.store(true, SeqCst);
            Ok::<_, ()>(PanicsOnDrop)
        }));
        while !finishing.load(SeqCst) {
            anyrt_core::yield_now().await;
        }
        std::future::pending::<Result<(), ()>>().await
    });
    let payload = AssertUnwindSafe(run)
        .catch_unwind()
        .await
        .expect_err("the destructor's panic ends the scope");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the output's destructor panicked")
    );
    let fresh = Scope::new();
    assert_eq!(fresh.run(async { Ok::<_, ()>(5) }).await, Ok(5));
    assert_eq!(s.run(async { Ok::<_, ()>(6) }).await, Ok(6));
}

/// Runs `f` when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// Counts its drops, from a `'static` task.
struct ArcGuard(Arc<AtomicUsize>);

impl Drop for ArcGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A `Supervisor::spawn_wait` future made before the run and awaited in
/// it lost its outcome: its place in the outcome list was taken when the
/// future was made, `run` cleared the list, and the child recorded into
/// the place of the body's first spawn. This failed before the fix; now
/// a child takes its place when it is accepted.
#[anyrt_test::test(virtual_time)]
async fn regression_a_supervised_spawn_wait_made_before_the_run_keeps_its_outcome() {
    let ran = AtomicUsize::new(0);
    let sup = Supervisor::<&str, ()>::new();
    let early = sup.spawn_wait(async {
        ran.fetch_add(1, SeqCst);
        Ok("early")
    });
    let run = sup.run(async {
        assert!(sup.spawn(async {
            ran.fetch_add(1, SeqCst);
            Ok("spawned")
        }));
        early.await
    });
    let (accepted, outcomes) = timeout(HOUR, run).await.expect("the run ends");
    assert!(accepted, "the early spawn_wait was accepted");
    assert_eq!(ran.load(SeqCst), 2, "both children ran");
    assert_eq!(
        outcomes,
        [Ok("spawned"), Ok("early")],
        "every accepted child has its outcome, in the order accepted"
    );
}

/// A run future made outside a scope and awaited inside one of its
/// children saw that scope's deadline (the ambient layer binds at the
/// first poll) but not its token: `Scope::run` took the parent token at
/// the call. This failed before the fix; now the run's token is made a
/// child of the token current at its first poll.
#[anyrt_test::test(virtual_time)]
async fn regression_a_nested_run_made_outside_its_parent_still_joins_the_parents_token(
    clock: VirtualClock,
) {
    let inner = Scope::<()>::new();
    let nested = inner.run(async {
        let deadline = current();
        let token = CancelToken::current().expect("the nested scope's token");
        let cancelled = token.run_until_cancelled(pending::<()>()).await.is_none();
        Ok((deadline, cancelled))
    });
    let outer = Scope::<()>::new();
    let opened = Deadline::at(clock.now() + HOUR);
    let seen = within(
        HOUR,
        outer.run(async {
            let nested = outer.spawn(nested);
            anyrt_core::yield_now().await;
            outer.token().cancel_with("stop");
            Ok(nested.await)
        }),
    )
    .await;
    let seen = seen.expect("the outer cancel reached the nested scope, before the deadline");
    assert_eq!(seen, Ok((Some(opened), true)));
    assert_eq!(
        inner.token().reason().map(|r| r.to_string()).as_deref(),
        Some("stop"),
        "the nested token was cancelled with the outer reason"
    );
}

/// Spawns a child from `OnDrop`, counting whether it was rejected.
fn spawn_on_drop<'s>(
    s: &'s Scope<'s, &'static str>,
    rejected: &'s AtomicUsize,
    accepted: &'s AtomicUsize,
    polled: &'s AtomicBool,
) -> OnDrop<impl FnMut() + Send + 's> {
    OnDrop(move || {
        let handle = s.spawn(async {
            polled.store(true, SeqCst);
            Ok(())
        });
        if handle.is_rejected() {
            rejected.fetch_add(1, SeqCst);
        } else {
            accepted.fetch_add(1, SeqCst);
        }
    })
}

/// A child that, on its second poll, returns `Err` (or panics, if
/// `panics`). Not an async block: its locals would be dropped inside that
/// poll, while the run still accepts spawns; `guard` is dropped with the
/// child's future, by the scope.
fn fails_on_second_poll<G: Send>(
    guard: G,
    panics: bool,
) -> impl Future<Output = Result<(), &'static str>> + Send {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        let _guard = &guard;
        if !std::mem::replace(&mut yielded, true) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if panics {
            panic!("the child panicked");
        }
        Poll::Ready(Err("failed"))
    })
}

/// A child's `Err` fails the run, yet a spawn from that child's own
/// destructor (run by the scope while the run was still accepting spawns)
/// was accepted, then dropped unpolled by the closing scope. This failed
/// before the fix; now the run refuses spawns before the failing child is
/// dropped, so the handle says it was rejected, as the siblings'
/// destructors already found.
#[anyrt_test::test(virtual_time)]
async fn regression_a_spawn_from_the_failing_childs_destructor_is_rejected() {
    let (rejected, accepted) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let polled = AtomicBool::new(false);
    let s = Scope::<&str>::new();
    let outcome = s
        .run(async {
            let spawns = spawn_on_drop(&s, &rejected, &accepted, &polled);
            s.spawn(fails_on_second_poll(spawns, false));
            pending::<Result<(), &str>>().await
        })
        .await;
    assert_eq!(outcome, Err("failed"));
    assert!(!polled.load(SeqCst), "the late spawn never ran");
    assert_eq!(
        (rejected.load(SeqCst), accepted.load(SeqCst)),
        (1, 0),
        "a spawn after the run failed says it was rejected"
    );
}

/// As the previous test, for a child that panics: its destructor, run
/// once the panic was caught, found the run still accepting spawns (this
/// failed before the fix, too).
#[anyrt_test::test(virtual_time)]
async fn regression_a_spawn_from_the_panicking_childs_destructor_is_rejected() {
    let (rejected, accepted) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let polled = AtomicBool::new(false);
    let s = Scope::<&str>::new();
    let run = s.run(async {
        let spawns = spawn_on_drop(&s, &rejected, &accepted, &polled);
        s.spawn(fails_on_second_poll(spawns, true));
        pending::<Result<(), &str>>().await
    });
    let payload = AssertUnwindSafe(run)
        .catch_unwind()
        .await
        .expect_err("the child's panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the child panicked"));
    assert!(!polled.load(SeqCst), "the late spawn never ran");
    assert_eq!((rejected.load(SeqCst), accepted.load(SeqCst)), (1, 0));
}

/// `try_join_all` waited for the other tasks' futures to be dropped
/// before returning a task's `Err`, but on a task's panic it aborted them
/// and resumed the panic at once, before their destructors ran (the crate
/// docs say it waits). This failed before the fix; now a panic is held
/// like an error until the others were dropped. On tokio's current-thread
/// runtime an aborted task's future is dropped only once the runtime gets
/// to it, so the outcome is deterministic.
#[anyrt_test::test(virtual_time, runtimes(tokio_current_thread))]
async fn regression_try_join_all_resumes_a_panic_only_after_the_others_were_dropped() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::new();
    let guard = ArcGuard(dropped.clone());
    group.spawn(async move {
        let _guard = guard;
        pending::<Result<(), ()>>().await
    });
    group.spawn(async {
        anyrt_core::sleep(SEC).await;
        panic!("the task panicked")
    });
    let outcome = timeout(HOUR, AssertUnwindSafe(group.try_join_all()).catch_unwind())
        .await
        .expect("try_join_all returns");
    let payload = outcome.expect_err("the panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the task panicked"));
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "the other task's future was dropped before the panic was resumed"
    );
}

// Checks that held, kept for what they add to the suite.

/// Given-up `spawn_wait` tickets are swept out of the line once they
/// outnumber what waits (what keeps its memory bounded,
/// `scope_allocations.rs`): the sweep keeps the line's order, and its
/// counts, so a newcomer still queues behind those waiting.
#[anyrt_test::test(virtual_time)]
async fn given_up_waits_swept_from_the_line_keep_the_order() {
    let order = Mutex::new(Vec::new());
    let release = AtomicBool::new(false);
    let s = Scope::<()>::new().limit(NonZeroUsize::MIN);
    let log = |name: &'static str| {
        let order = &order;
        async move {
            order.lock().unwrap().push(name);
            Ok(())
        }
    };
    let run = s.run(async {
        s.spawn(async {
            while !release.load(SeqCst) {
                anyrt_core::yield_now().await;
            }
            Ok(())
        });
        s.spawn(log("queued child"));
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = Box::pin(s.spawn_wait(log("first waiter")));
        assert!(
            first.as_mut().poll(&mut cx).is_pending(),
            "the scope is full"
        );
        let mut given_up = Vec::new();
        for _ in 0..4 {
            let mut waiting = Box::pin(s.spawn_wait(log("given up")));
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
            given_up.push(waiting);
        }
        let mut last = Box::pin(s.spawn_wait(log("last waiter")));
        assert!(last.as_mut().poll(&mut cx).is_pending());
        // Four given up against three waiting: the line is swept.
        drop(given_up);
        s.spawn(log("newcomer"));
        release.store(true, SeqCst);
        first.await.await;
        last.await.await;
        Ok(())
    });
    assert_eq!(timeout(HOUR, run).await, Ok(Ok(())));
    assert_eq!(
        *order.lock().unwrap(),
        ["queued child", "first waiter", "last waiter", "newcomer"]
    );
}

/// A spawn_wait polled with a waker that panics: the finished child
/// hands it its place and wakes it after the scope's lock is released,
/// and the panic fails the scope like a child's: the body is dropped, the
/// panic resumed with its payload, and the scope runs again with no place
/// lost. (The handle's waker has a regression test; this is the other
/// waker a locked step wakes.)
#[anyrt_test::test(virtual_time)]
async fn a_panicking_spawn_wait_waker_fails_the_scope_cleanly() {
    let dropped = AtomicUsize::new(0);
    let finishing = AtomicBool::new(false);
    let s = Scope::<()>::new().limit(NonZeroUsize::MIN);
    let run = s.run(async {
        let _body = Guard(&dropped);
        s.spawn(async {
            anyrt_core::yield_now().await;
            finishing.store(true, SeqCst);
            Ok(())
        });
        let mut waiting = pin!(s.spawn_wait(async { Ok(()) }));
        let waker = Waker::from(Arc::new(PanicsOnWake));
        let first = waiting.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(first.is_pending(), "the scope is full");
        while !finishing.load(SeqCst) {
            anyrt_core::yield_now().await;
        }
        waiting.await.await;
        Ok(())
    });
    let payload = timeout(HOUR, AssertUnwindSafe(run).catch_unwind())
        .await
        .expect("the run ends")
        .expect_err("the waker's panic ends the scope");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the waker panicked"));
    assert_eq!(dropped.load(SeqCst), 1, "the body was dropped");
    let again = s.run(async {
        let first = s.spawn_wait(async { Ok(1) }).await;
        let second = s.spawn_wait(async { Ok(2) }).await;
        Ok(first.await + second.await)
    });
    assert_eq!(timeout(HOUR, again).await, Ok(Ok(3)));
}

/// `TaskGroup::shutdown`: "Cancels every task and waits until each task's
/// future has been dropped by its runtime". A task inside a poll on
/// another worker when the group aborts it is dropped only once that poll
/// returns; shutdown waits for it. The waits are bounded poll loops.
#[anyrt_test::test(runtimes(tokio_multi_thread))]
async fn shutdown_waits_for_a_task_aborted_inside_a_poll_on_another_thread() {
    let entered = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::new();
    {
        let (entered, release) = (entered.clone(), release.clone());
        let guard = ArcGuard(dropped.clone());
        group.spawn(async move {
            let _guard = guard;
            std::future::poll_fn(|_| {
                entered.store(true, SeqCst);
                while !release.load(SeqCst) {
                    std::thread::yield_now();
                }
                Poll::<()>::Pending
            })
            .await
        });
    }
    let mut spins = 0_u64;
    while !entered.load(SeqCst) {
        spins += 1;
        assert!(spins < 100_000_000, "the task never started");
        anyrt_core::yield_now().await;
    }
    let mut shutdown = pin!(group.shutdown());
    assert!(
        futures::poll!(shutdown.as_mut()).is_pending(),
        "the task is inside a poll"
    );
    assert_eq!(dropped.load(SeqCst), 0);
    release.store(true, SeqCst);
    let mut polls = 0_u64;
    while futures::poll!(shutdown.as_mut()).is_pending() {
        polls += 1;
        assert!(polls < 100_000_000, "shutdown never returned");
        std::thread::yield_now();
    }
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "the future was dropped when shutdown returned"
    );
    assert!(group.is_empty());
}

/// Records that it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl std::task::Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// A cancel from another thread racing with a child token being made and
/// with a `cancelled()` wait registering: the child is always cancelled
/// with the parent's reason, and a wait that was pending is always woken.
#[test]
fn a_cancel_from_another_thread_racing_registration_is_never_missed() {
    for _ in 0..2_000 {
        let parent = CancelToken::new();
        let canceller = {
            let parent = parent.clone();
            std::thread::spawn(move || parent.cancel_with("race"))
        };
        let child = parent.child();
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut waiting = pin!(child.cancelled());
        let first = waiting.as_mut().poll(&mut cx);
        assert!(canceller.join().unwrap(), "the first cancel wins");
        if first.is_pending() {
            assert!(flag.0.load(SeqCst), "a pending wait is woken by the cancel");
        }
        assert!(waiting.as_mut().poll(&mut cx).is_ready());
        assert_eq!(
            child.reason().map(|r| r.to_string()).as_deref(),
            Some("race")
        );
    }
}
