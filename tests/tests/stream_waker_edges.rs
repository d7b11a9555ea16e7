//! Edge cases of `anyrt_stream::RateLimiter`'s queue of waiters: wakers
//! that panic when woken, and wakers whose drop touches the limiter.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_stream::RateLimiter;
use anyrt_stream::futures::AcquireOwned;
use anyrt_tests::panics::{PROVOKED, quiet_provoked_panics};
use anyrt_tests::wakers::{counting, ends_without_deadlock, panicking};

const SEC: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

fn limiter(rate: u32, period: Duration, burst: u32) -> RateLimiter {
    RateLimiter::builder(rate, period)
        .burst(burst)
        .build()
        .unwrap()
}

fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// "A completed acquire cannot be undone: its permit is spent", and the
/// long-run rate is exact: every permit taken from the GCRA state is
/// granted to somebody. The head waiter takes its permits in
/// `Waiter::poll_queued` (`limiter/waiter.rs:77`, `Ok(()) => {
/// self.give_up(); return Poll::Ready(true) }`), and only then leaves the
/// queue: `Shared::leave` (`limiter/shared.rs:348`) wakes the next
/// waiter. When that waker panics, the unwinding discards the `Ready` the
/// permit stood for:
/// `Grant::done` is never set and the ticket is already gone, so polled
/// again the acquire starts over at the back of the queue and takes a
/// second permit, one period later. The permit taken first is lost.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_waker_of_the_next_waiter_loses_no_permit_of_a_served_one(clock: VirtualClock) {
    quiet_provoked_panics();
    let limiter = limiter(1, SEC, 1);
    limiter.try_acquire().unwrap();
    let mut first = Box::pin(limiter.acquire());
    let mut second = pin!(limiter.acquire());
    let (waker, _) = counting();
    assert!(poll_with(first.as_mut(), &waker).is_pending());
    assert!(poll_with(second.as_mut(), &panicking()).is_pending());
    clock.advance(SEC); // `first`'s permit is due
    // Served, `first` wakes `second`, whose waker panics.
    let served = catch_unwind(AssertUnwindSafe(|| poll_with(first.as_mut(), &waker)));
    match served {
        Ok(Poll::Ready(())) => {}
        Ok(Poll::Pending) => panic!("`first`'s permit was due"),
        Err(_) => assert!(
            poll_with(first.as_mut(), &waker).is_ready(),
            "the permit taken for `first` at 1 s was lost to the panic"
        ),
    }
    drop(first);
    assert_eq!(limiter.waiting(), 1, "only `second` waits");
    clock.advance(SEC);
    assert!(
        poll_with(second.as_mut(), &waker).is_ready(),
        "`second`'s permit is due at 2 s"
    );
}

/// A waker that holds a queued acquire of the limiter, as an executor's
/// waker holds its task, whose future may be waiting for a permit:
/// dropping the last clone drops the acquire, which leaves the queue.
struct HoldsAcquire(#[allow(dead_code)] Mutex<Option<AcquireOwned>>);

impl Wake for HoldsAcquire {
    fn wake(self: Arc<Self>) {}
}

/// An empty limiter with a waiter at the head (so that the others queue
/// behind it), and a waker holding the last reference to another queued
/// acquire of the same limiter.
fn queue_with_a_waker_holding_an_acquire() -> (RateLimiter, Pin<Box<AcquireOwned>>, Waker) {
    let limiter = limiter(1, HOUR, 1);
    limiter.try_acquire().unwrap();
    let mut head = Box::pin(limiter.acquire_owned());
    assert!(poll_with(head.as_mut(), Waker::noop()).is_pending());
    let mut held = limiter.acquire_owned();
    assert!(poll_with(Pin::new(&mut held), Waker::noop()).is_pending());
    let waker = Waker::from(Arc::new(HoldsAcquire(Mutex::new(Some(held)))));
    (limiter, head, waker)
}

/// A waker kept by the queue may be the last reference to its task (the
/// executor let go of it), and dropping it drops the task's futures, a
/// queued acquire of the same limiter among them, whose drop takes the
/// queue's lock again (`Shared::leave`). A queued waiter polled with a
/// new waker has its old one replaced under that lock
/// (`Shared::is_head`, `limiter/shared.rs:323`, `slot => *slot =
/// Some(waker.clone())`): the old waker is dropped with the lock held,
/// and the re-entry on the same thread deadlocks.
#[test]
fn a_waker_replaced_in_the_queue_is_dropped_outside_its_lock() {
    ends_without_deadlock("a queued waiter polled with another waker", || {
        let (limiter, head, waker) = queue_with_a_waker_holding_an_acquire();
        let mut waiter = Box::pin(limiter.acquire());
        assert!(poll_with(waiter.as_mut(), &waker).is_pending());
        drop(waker); // the queue holds the last clone
        let (other, _) = counting();
        assert!(poll_with(waiter.as_mut(), &other).is_pending());
        assert_eq!(limiter.waiting(), 2, "`head` and `waiter`");
        drop((waiter, head));
    });
}

/// The same when a waiter leaves the queue (dropped, or served at the
/// head): `Shared::leave` (`limiter/shared.rs:339`,
/// `queue.waiters.remove(position);`) drops the removed `Entry`, and the
/// waker in it, at the end of the statement, with the queue's lock held.
/// Dropping the waiter's future is where an executor's last reference to
/// a task is commonly let go of.
#[test]
fn a_waker_of_a_waiter_that_leaves_is_dropped_outside_its_lock() {
    ends_without_deadlock("a queued waiter dropped", || {
        let (limiter, head, waker) = queue_with_a_waker_holding_an_acquire();
        let mut waiter = Box::pin(limiter.acquire());
        assert!(poll_with(waiter.as_mut(), &waker).is_pending());
        drop(waker); // the queue holds the last clone
        drop(waiter);
        assert_eq!(limiter.waiting(), 1, "`head`");
        drop(head);
    });
}

/// Set in the child process of
/// `a_waiter_dropped_while_its_task_unwinds_does_not_abort_the_process`.
const CHILD: &str = "ANYRT_STREAM_WAKER_EDGES_CHILD";

/// "Dropped before it completes, it takes no permit and gives its place in
/// the queue back; at the head, it wakes the next waiter." The wake runs
/// in the drop (`Waiter::drop` -> `give_up` -> `Shared::leave`,
/// `limiter/shared.rs:348`, `waker.wake()`), and a panic of the next
/// waiter's waker leaves the drop. Where the acquire is dropped because
/// its task is unwinding from a panic of its own (the usual way a future
/// is dropped early on an error), that is a panic in a destructor during
/// unwinding, and the process aborts. Run in a child process, so that the
/// abort is seen as a failure rather than ending the test run.
#[test]
fn a_waiter_dropped_while_its_task_unwinds_does_not_abort_the_process() {
    if std::env::var_os(CHILD).is_some() {
        quiet_provoked_panics();
        let limiter = limiter(1, HOUR, 1);
        limiter.try_acquire().unwrap();
        let mut head = Box::pin(limiter.acquire());
        let mut next = Box::pin(limiter.acquire());
        assert!(poll_with(head.as_mut(), Waker::noop()).is_pending());
        assert!(poll_with(next.as_mut(), &panicking()).is_pending());
        let task = catch_unwind(AssertUnwindSafe(move || {
            let _head = head; // dropped by the unwinding
            panic!("{PROVOKED}");
        }));
        assert!(task.is_err());
        assert_eq!(limiter.waiting(), 1, "`next` is at the head");
        return;
    }
    let name = "a_waiter_dropped_while_its_task_unwinds_does_not_abort_the_process";
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "the child process failed ({}): {}",
        child.status,
        String::from_utf8_lossy(&child.stderr)
    );
}
