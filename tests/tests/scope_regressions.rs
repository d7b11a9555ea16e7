//! Regressions of the in-place scope, each named after what went wrong.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Wake, Waker};

use anyrt_scope::Scope;
use futures::FutureExt;

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
