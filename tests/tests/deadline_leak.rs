//! Timeouts that never fire cost no timer: a million completed timeouts
//! leave no pending sleeper behind (their allocations are counted in
//! `deadline_allocations.rs`).

use std::future::{Future, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_deadline::{timeout, within};

#[anyrt_test::test(virtual_time)]
async fn a_million_ready_timeouts_leave_no_sleeper(clock: VirtualClock) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut completed = 0_usize;
    for i in 0..1_000_000_usize {
        let limited = pin!(timeout(Duration::from_secs(1), ready(i)));
        if let Poll::Ready(Ok(value)) = limited.poll(&mut cx) {
            completed += usize::from(value == i);
        }
    }
    assert_eq!(completed, 1_000_000);
    assert_eq!(clock.pending_sleepers(), 0);
    assert_eq!(clock.elapsed(), Duration::ZERO);
}

#[anyrt_test::test(virtual_time)]
async fn timeouts_that_slept_release_their_timer(clock: VirtualClock) {
    for _ in 0..1_000 {
        assert_eq!(
            timeout(Duration::from_secs(1), anyrt_core::yield_now()).await,
            Ok(())
        );
        assert_eq!(
            within(Duration::from_secs(1), anyrt_core::yield_now()).await,
            Ok(())
        );
    }
    assert_eq!(clock.pending_sleepers(), 0);
    assert_eq!(clock.elapsed(), Duration::ZERO);
}
