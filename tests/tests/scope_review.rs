//! Regressions of `TaskGroup` found by trying to break it, each named
//! after what went wrong.

use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use anyrt_scope::{CancelToken, TaskGroup};
use futures::FutureExt;

/// Long enough for any task here; the clock is virtual, so a hang shows
/// as a timeout at once.
const HOUR: Duration = Duration::from_secs(3600);

/// A task's future that is ready at once and whose destructor panics.
struct PanicsWhenDropped;

impl Future for PanicsWhenDropped {
    type Output = u8;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        Poll::Ready(1)
    }
}

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("the task's destructor panicked");
    }
}

/// A task's future whose destructor panicked after it had finished took
/// the task's outcome with it as it unwound: `join_next` waited forever
/// for a task that was gone. Now the destructor's panic is the task's,
/// resumed by `join_next`.
#[anyrt_test::test(virtual_time)]
async fn regression_a_task_destructor_that_panics_is_the_tasks_panic() {
    let mut group = TaskGroup::new();
    group.spawn(PanicsWhenDropped);
    let joined = AssertUnwindSafe(group.join_next()).catch_unwind();
    let payload = anyrt_deadline::timeout(HOUR, joined)
        .await
        .expect("join_next returns")
        .expect_err("the destructor's panic is resumed");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the task's destructor panicked")
    );
    assert!(group.is_empty());
    assert_eq!(group.join_next().await, None);
}

/// A waker that says it was woken, then panics.
#[derive(Default)]
struct PanicsOnWake(AtomicBool);

impl Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
        panic!("the waker panicked");
    }
}

/// A finished task hands its place to the `spawn_wait` first in line and
/// wakes it; when that waker panicked, the finished task's outcome was
/// lost with the unwinding and `join_next` waited forever. Now the panic
/// is the finished task's, as a waker's panic is the in-place scope's.
#[anyrt_test::test(virtual_time)]
async fn regression_a_panicking_spawn_wait_waker_does_not_lose_an_outcome() {
    let mut group = TaskGroup::with_limit(NonZeroUsize::MIN);
    let token = CancelToken::new();
    group.spawn(
        token
            .clone()
            .run_until_cancelled_owned(std::future::pending::<()>()),
    );
    {
        let mut waiting = pin!(group.spawn_wait(async { Some(()) }));
        let woken = Arc::new(PanicsOnWake::default());
        let waker = Waker::from(woken.clone());
        let first = waiting.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(first.is_pending(), "the group is full");
        token.cancel();
        // The first task ends and hands its place on, waking the wait.
        while !woken.0.load(SeqCst) {
            anyrt_core::yield_now().await;
        }
    }
    let joined = AssertUnwindSafe(group.join_next()).catch_unwind();
    let payload = anyrt_deadline::timeout(HOUR, joined)
        .await
        .expect("join_next returns")
        .expect_err("the waker's panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the waker panicked"));
    // No place was lost.
    assert!(group.try_spawn(std::future::pending()).is_ok());
    assert!(group.try_spawn(std::future::pending()).is_err());
    group.shutdown().await;
}
