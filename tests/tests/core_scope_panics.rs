//! Panics of wakers and of awaited tasks: a cancel token's tree and a
//! virtual clock stay whole.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use anyrt_scope::CancelToken;
use anyrt_tests::panics::{PROVOKED, quiet_provoked_panics};

/// Only turns a hang into a failure; never a bound on speed.
const HANG: Duration = Duration::from_secs(10);

/// Panics when woken.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any(PROVOKED);
    }
}

/// `CancelToken`: "A child is cancelled with its parent", and a token
/// stays cancelled for good. A waiter on one child whose waker panics
/// (the waiter's bug) makes the parent's `cancel` unwind halfway through
/// the tree: the panicking child is marked cancelled, but its sibling and
/// its own child never are, and no later `cancel` of the parent reaches
/// them (it returns `false`, the parent being cancelled already). The
/// tree is left cancelled at the top and live below, for good.
#[test]
fn a_panicking_waiter_leaves_no_descendant_of_a_cancelled_token_uncancelled() {
    quiet_provoked_panics();
    let parent = CancelToken::new();
    let sibling = parent.child();
    let child = parent.child();
    let grandchild = child.child();
    let waker = Waker::from(Arc::new(PanickingWaker));
    let mut waiting = Box::pin(child.cancelled());
    assert!(
        waiting
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    let _ = catch_unwind(AssertUnwindSafe(|| parent.cancel()));
    // The waiter's listener was left half notified by the panic; it is
    // not dropped here, so that its drop cannot unwind during the asserts.
    std::mem::forget(waiting);
    // A second try changes nothing: the parent is cancelled already.
    let _ = catch_unwind(AssertUnwindSafe(|| parent.cancel()));
    assert!(parent.is_cancelled());
    assert!(child.is_cancelled());
    assert!(
        sibling.is_cancelled(),
        "a child of the cancelled parent is not cancelled"
    );
    assert!(
        grandchild.is_cancelled(),
        "a grandchild of the cancelled parent is not cancelled"
    );
}

/// A task's doc: awaiting it "resumes the task's panic in the awaiting
/// task"; under a virtual clock an awaited task holds the clock back only
/// until the runtime has handed its outcome over ("a finished task that
/// nobody awaits holds nothing back"). Here the awaiter catches the
/// resumed panic and keeps the handle (to check `is_finished`, say): the
/// task stays counted as finished-but-unjoined for as long as the handle
/// lives, so the clock never jumps again and the next sleep hangs. (A
/// task that returns its output is let go of the same way at once.)
#[anyrt_test::test(virtual_time, timeout = 20)]
async fn a_caught_panic_of_an_awaited_task_does_not_hold_the_virtual_clock(
    clock: anyrt_core::VirtualClock,
) {
    use futures::FutureExt;
    let mut task = anyrt_core::spawn(async {
        anyrt_core::sleep(Duration::from_secs(1)).await;
        std::panic::panic_any(PROVOKED);
    });
    let caught = AssertUnwindSafe(&mut task).catch_unwind().await;
    assert!(caught.is_err(), "the task's panic is resumed");
    assert!(task.is_finished());
    sleeps_five_seconds(&clock).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(6));
    drop(task);
}

/// The same for an awaiter whose waker panics when the task's output is
/// handed over (its executor's bug): the hand-over stops counting the task
/// as awaited also then. On the fallback pool, whose remote end catches
/// the panic of the awaiter's waker.
#[anyrt_test::test(virtual_time, runtimes(block_on), timeout = 20)]
async fn an_awaiter_whose_waker_panics_does_not_hold_the_virtual_clock(
    clock: anyrt_core::VirtualClock,
) {
    quiet_provoked_panics();
    let mut task = anyrt_core::spawn(async {
        anyrt_core::sleep(Duration::from_secs(1)).await;
        7
    });
    let waker = anyrt_tests::wakers::panicking();
    assert!(
        std::pin::Pin::new(&mut task)
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    sleeps_five_seconds(&clock).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(5));
    assert_eq!(task.await, 7);
}

/// Sleeps 5 s on the virtual clock, failing if the clock stopped moving
/// (bounded in real time only against the hang).
async fn sleeps_five_seconds(clock: &anyrt_core::VirtualClock) {
    let (bound_tx, bound) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(HANG);
        let _ = bound_tx.send(());
    });
    let slept =
        futures::future::select(Box::pin(anyrt_core::sleep(Duration::from_secs(5))), bound).await;
    assert!(
        matches!(slept, futures::future::Either::Left(_)),
        "the virtual clock stopped moving at {:?}",
        clock.elapsed()
    );
}
