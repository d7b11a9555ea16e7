//! Conformance: a timeout around a ready future allocates nothing. The
//! allocation counter is process-wide, so this binary holds a single test.

use std::future::{Future, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_deadline::timeout;
use anyrt_tests::alloc::count_allocations;

fn a_million_ready_timeouts_allocate_nothing() {
    let (boxed, allocations) = count_allocations(|| std::hint::black_box(Box::new(7_u64)));
    assert_eq!(
        (*boxed, allocations),
        (7, 1),
        "the counter sees allocations"
    );

    let clock = VirtualClock::new();
    let mut run = pin!(clock.auto_advance(async {
        let mut cx = Context::from_waker(Waker::noop());
        count_allocations(|| {
            let mut completed = 0_usize;
            for i in 0..1_000_000_usize {
                let limited = pin!(timeout(Duration::from_secs(1), ready(i)));
                if let Poll::Ready(Ok(value)) = limited.poll(&mut cx) {
                    completed += usize::from(value == i);
                }
            }
            completed
        })
    }));
    let (completed, allocations) = loop {
        if let Poll::Ready(out) = run.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            break out;
        }
    };
    assert_eq!(completed, 1_000_000);
    assert_eq!(
        allocations, 0,
        "a timeout around a ready future allocates nothing"
    );
    assert_eq!(clock.pending_sleepers(), 0);
}

/// A plain `main` (`harness = false`): no libtest threads allocate while
/// the counter runs.
fn main() {
    a_million_ready_timeouts_allocate_nothing();
    println!("test a_million_ready_timeouts_allocate_nothing ... ok");
}
