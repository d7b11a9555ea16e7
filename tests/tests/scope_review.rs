//! Regressions of `TaskGroup` found by trying to break it, each named
//! after what went wrong.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyrt_scope::TaskGroup;
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
