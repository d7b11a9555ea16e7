//! Cancel safety: a `Timeout`, `Within` or `WithoutDeadline` dropped after
//! any number of polls leaves nothing registered on the clock.

use std::future::{Future, pending};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_deadline::{timeout, within, without_deadline};

const SEC: Duration = Duration::from_secs(1);

/// Polls `future` `polls` times with a no-op waker, checks that `armed`
/// sleepers are registered (once polled), drops it and checks that none is.
fn poll_then_drop<F: Future>(clock: &VirtualClock, future: F, polls: usize, armed: usize) {
    let mut future = Box::pin(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        assert!(future.as_mut().poll(&mut cx).is_pending());
    }
    let expected = if polls == 0 { 0 } else { armed };
    assert_eq!(clock.pending_sleepers(), expected, "after {polls} polls");
    drop(future);
    assert_eq!(clock.pending_sleepers(), 0, "dropped after {polls} polls");
}

#[anyrt_test::test(virtual_time)]
async fn timeout_dropped_after_each_poll(clock: VirtualClock) {
    for polls in 0..5 {
        poll_then_drop(&clock, timeout(SEC, pending::<()>()), polls, 1);
        poll_then_drop(&clock, timeout(SEC, anyrt_core::sleep(60 * SEC)), polls, 2);
        poll_then_drop(&clock, timeout(Duration::MAX, pending::<()>()), polls, 1);
    }
}

#[anyrt_test::test(virtual_time)]
async fn within_dropped_after_each_poll(clock: VirtualClock) {
    for polls in 0..5 {
        poll_then_drop(&clock, within(SEC, pending::<()>()), polls, 1);
        poll_then_drop(
            &clock,
            within(SEC, within(2 * SEC, anyrt_core::sleep(60 * SEC))),
            polls,
            3,
        );
        poll_then_drop(
            &clock,
            without_deadline(anyrt_core::sleep(60 * SEC)),
            polls,
            1,
        );
        poll_then_drop(
            &clock,
            within(SEC, without_deadline(anyrt_core::sleep(60 * SEC))),
            polls,
            2,
        );
    }
}

#[anyrt_test::test(virtual_time)]
async fn fired_timeout_holds_nothing(clock: VirtualClock) {
    let mut limited = Box::pin(timeout(SEC, anyrt_core::sleep(60 * SEC)));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(limited.as_mut().poll(&mut cx).is_pending());
    assert_eq!(clock.pending_sleepers(), 2);
    clock.advance(SEC);
    assert!(matches!(
        limited.as_mut().poll(&mut cx),
        Poll::Ready(Err(_))
    ));
    // The timer is released at once; the inner sleep goes with the future.
    assert_eq!(clock.pending_sleepers(), 1);
    drop(limited);
    assert_eq!(clock.pending_sleepers(), 0);
}
