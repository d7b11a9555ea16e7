//! `CancelToken::run_until_cancelled` and its owned variant: the output
//! when not cancelled, `None` when cancelled, the inner future dropped in
//! the poll that sees the cancel, which side wins in one poll, and the
//! owned future spawned as a task.

use std::future::{pending, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::Poll;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_scope::CancelToken;
use anyrt_tests::cancel::cancel_at_every_poll;

const SEC: Duration = Duration::from_secs(1);

/// Counts its drops.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Pending forever, holding `guard`.
async fn hold_forever(guard: Guard) -> u8 {
    let _guard = guard;
    pending().await
}

#[anyrt_test::test(virtual_time)]
async fn the_output_comes_back_when_not_cancelled(clock: VirtualClock) {
    let token = CancelToken::new();
    let output = token
        .run_until_cancelled(async {
            anyrt_core::sleep(SEC).await;
            "done"
        })
        .await;
    assert_eq!(output, Some("done"));
    assert_eq!(clock.elapsed(), SEC);
    assert!(!token.is_cancelled());
}

#[anyrt_test::test(virtual_time)]
async fn a_cancel_from_another_task_ends_the_wait_and_drops_the_future(clock: VirtualClock) {
    let token = CancelToken::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let stopper = token.clone();
    let stop = anyrt_core::spawn(async move {
        anyrt_core::sleep(2 * SEC).await;
        stopper.cancel_with("stop")
    });
    let guard = Guard(dropped.clone());
    let output = token
        .run_until_cancelled(async move {
            let _guard = guard;
            anyrt_core::sleep(10 * SEC).await;
            1
        })
        .await;
    assert_eq!(output, None);
    assert_eq!(dropped.load(SeqCst), 1);
    assert_eq!(
        clock.elapsed(),
        2 * SEC,
        "ended at the cancel, not the sleep"
    );
    assert!(stop.await);
}

#[anyrt_test::test]
async fn the_inner_future_is_dropped_in_the_poll_that_sees_the_cancel() {
    let token = CancelToken::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut run = pin!(token.run_until_cancelled(hold_forever(Guard(dropped.clone()))));
    assert!(futures::poll!(run.as_mut()).is_pending());
    token.cancel();
    assert_eq!(dropped.load(SeqCst), 0, "not dropped before it is polled");
    assert_eq!(futures::poll!(run.as_mut()), Poll::Ready(None));
    // The outer future is still alive here: the inner one went first.
    assert_eq!(dropped.load(SeqCst), 1);
}

#[anyrt_test::test]
async fn a_cancelled_token_wins_over_a_ready_future_which_is_never_polled() {
    let token = CancelToken::new();
    token.cancel();
    let polls = AtomicUsize::new(0);
    let ready = poll_fn(|_| {
        polls.fetch_add(1, SeqCst);
        Poll::Ready(5)
    });
    assert_eq!(token.run_until_cancelled(ready).await, None);
    assert_eq!(polls.load(SeqCst), 0);
}

#[anyrt_test::test]
async fn an_output_ready_in_the_poll_that_cancels_is_kept() {
    let token = CancelToken::new();
    let cancels_then_ends = poll_fn(|_| {
        token.cancel();
        Poll::Ready(5)
    });
    assert_eq!(token.run_until_cancelled(cancels_then_ends).await, Some(5));
    assert!(token.is_cancelled());
}

#[anyrt_test::test]
async fn a_cancel_during_a_pending_poll_is_seen_in_that_poll() {
    let token = CancelToken::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = Guard(dropped.clone());
    let canceller = token.clone();
    let cancels_and_waits = poll_fn(move |_| {
        let _held = &guard;
        canceller.cancel();
        Poll::<u8>::Pending
    });
    let mut run = pin!(token.run_until_cancelled(cancels_and_waits));
    assert_eq!(futures::poll!(run.as_mut()), Poll::Ready(None));
    assert_eq!(dropped.load(SeqCst), 1);
}

#[anyrt_test::test(virtual_time)]
async fn a_parent_cancel_reaches_a_child_token_run(clock: VirtualClock) {
    let parent = CancelToken::new();
    let child = parent.child();
    let stopper = parent.clone();
    let stop = anyrt_core::spawn(async move {
        anyrt_core::sleep(SEC).await;
        stopper.cancel()
    });
    assert_eq!(child.run_until_cancelled(pending::<()>()).await, None);
    assert_eq!(clock.elapsed(), SEC);
    assert!(stop.await);
}

#[anyrt_test::test(virtual_time)]
async fn the_owned_variant_runs_as_a_task_and_drops_its_future_on_cancel(clock: VirtualClock) {
    let token = CancelToken::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let worker = anyrt_core::spawn(
        token
            .clone()
            .run_until_cancelled_owned(hold_forever(Guard(dropped.clone()))),
    );
    let finisher = anyrt_core::spawn(token.clone().run_until_cancelled_owned(async {
        anyrt_core::sleep(SEC).await;
        2
    }));
    assert_eq!(finisher.await, Some(2));
    assert_eq!(dropped.load(SeqCst), 0);
    token.cancel();
    assert_eq!(worker.await, None);
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "dropped before the output came out"
    );
    assert_eq!(clock.elapsed(), SEC);
}

#[anyrt_test::test]
async fn dropping_the_run_at_any_poll_drops_the_inner_future() {
    let token = CancelToken::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let made = AtomicUsize::new(0);
    let checked = cancel_at_every_poll(
        || {
            made.fetch_add(1, SeqCst);
            let guard = Guard(dropped.clone());
            token.run_until_cancelled(async move {
                let _guard = guard;
                for _ in 0..3 {
                    anyrt_core::yield_now().await;
                }
            })
        },
        |_| assert_eq!(dropped.load(SeqCst), made.load(SeqCst)),
    )
    .await;
    assert!(checked >= 3, "checked {checked} cancel points");
    assert!(!token.is_cancelled());
}

fn send<T: Send>(_: &T) {}
fn is_static<T: 'static>(_: &T) {}

#[test]
fn the_futures_are_send_when_the_inner_future_is() {
    let token = CancelToken::new();
    let borrowed = token.run_until_cancelled(async { 1 });
    send(&borrowed);
    let owned = token.clone().run_until_cancelled_owned(async { 1 });
    send(&owned);
    is_static(&owned);
    assert!(format!("{borrowed:?}").starts_with("RunUntilCancelled"));
    assert!(format!("{owned:?}").starts_with("RunUntilCancelledOwned"));
}
