//! Promises of the scope crate's docs that once broke, found by trying to
//! break the in-place scope around its handles and its limit: a child
//! queued while the run waits, and a handle polled after its output. Each
//! test quotes the promise it checks and says why the code broke it.

use std::future::{Future, pending};
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};

use anyrt_scope::Scope;
use anyrt_tests::wakers::ends_without_deadlock;

fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// A scope that lives for good, so that a waker (which is `'static`) can
/// reach it; at most `limit` children run at once.
fn leaked_scope(limit: usize) -> &'static Scope<'static, ()> {
    let limit = NonZeroUsize::new(limit).expect("a limit of one or more");
    Box::leak(Box::new(Scope::new().limit(limit)))
}

/// A waker that looks at a scope when woken, as the waker of an executor
/// that polls its task in place does, and counts its wakes.
struct LooksAtScope {
    scope: &'static Scope<'static, ()>,
    woken: AtomicUsize,
}

impl Wake for LooksAtScope {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.scope.is_running();
        self.woken.fetch_add(1, SeqCst);
    }
}

/// `Scope::unlock`: wakers are "woken only once the scope's lock is
/// released, so that a waker that panics, or runs its task in place, finds
/// the books consistent and the lock free". A child queued while the run
/// waits (spawned from another task or a sibling future of the run, or
/// handed the place a dropped `spawn_wait` gave up) went through
/// `Books::schedule`, which woke the run's task with
/// `Ready::wake_unless_polling` while `Scope::insert_with` (or
/// `Scope::cancel_place`) still held the scope's lock: a waker that looks
/// at the scope took the lock again on the same thread and hung.
#[test]
fn a_child_queued_while_the_run_waits_wakes_it_outside_the_scopes_lock() {
    ends_without_deadlock("a spawn while the run waits", || {
        let scope = leaked_scope(1);
        let mut run = Box::pin(scope.run(pending::<Result<(), ()>>()));
        let looks = Arc::new(LooksAtScope {
            scope,
            woken: AtomicUsize::new(0),
        });
        let waker = Waker::from(looks.clone());
        assert!(poll_with(run.as_mut(), &waker).is_pending());
        let first = scope.spawn(async { Ok(()) });
        assert_eq!(looks.woken.load(SeqCst), 1, "the spawn woke the run");
        let mut waiting = Box::pin(scope.spawn_wait(async { Ok(()) }));
        assert!(poll_with(waiting.as_mut(), Waker::noop()).is_pending());
        let queued = scope.spawn(async { Ok(7) });
        assert!(poll_with(run.as_mut(), &waker).is_pending());
        // The first child is done: its place went to the wait, which gives
        // it to the queued child.
        drop(waiting);
        assert_eq!(looks.woken.load(SeqCst), 2, "the queued child woke the run");
        assert!(poll_with(run.as_mut(), &waker).is_pending());
        let mut queued = Box::pin(queued);
        assert_eq!(poll_with(queued.as_mut(), Waker::noop()), Poll::Ready(7));
        drop((first, run));
    });
}

/// `Handle`, panics: awaiting a handle panics "if its child is gone
/// without an output: the spawn was rejected", and, as any future, if it
/// is polled again after it returned the output.
///
/// `Handle::poll` let go of the scope once it returned the output, and a
/// second poll then failed with "awaited the handle of a rejected spawn",
/// although `is_rejected()` said it was not: the message sent its reader
/// looking for a spawn outside the run that never happened.
#[test]
fn a_handle_polled_after_its_output_says_so() {
    let message = |panic: Box<dyn std::any::Any + Send>| match panic.downcast::<&str>() {
        Ok(message) => message.to_string(),
        Err(panic) => *panic.downcast::<String>().expect("a panic message"),
    };
    let scope = leaked_scope(1);
    let mut run = Box::pin(scope.run(pending::<Result<(), ()>>()));
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    let mut handle = Box::pin(scope.spawn(async { Ok(7) }));
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    assert_eq!(poll_with(handle.as_mut(), Waker::noop()), Poll::Ready(7));
    assert!(!handle.is_rejected());
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_with(handle.as_mut(), Waker::noop())
    }));
    let again = message(again.expect_err("a second poll panics"));
    assert!(again.contains("after it returned its output"), "{again}");
    drop(run);
    let mut rejected = Box::pin(scope.spawn(async { Ok(1) }));
    assert!(rejected.is_rejected());
    let rejected = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_with(rejected.as_mut(), Waker::noop())
    }));
    let rejected = message(rejected.expect_err("a rejected handle panics"));
    assert!(rejected.contains("rejected spawn"), "{rejected}");
}
