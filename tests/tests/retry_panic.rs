//! A panic in a hook or in the operation, caught by the caller (as an
//! executor that contains panics does): polling the retry again must not
//! poll a finished attempt, nor set up the first attempt twice.

use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyrt_retry::{Constant, RetryBudget, StopReason, retry};

/// Polls `fut` once, catching a panic.
fn poll_caught<F: Future>(fut: Pin<&mut F>) -> std::thread::Result<Poll<F::Output>> {
    let mut cx = Context::from_waker(Waker::noop());
    catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx)))
}

#[test]
fn a_panicking_predicate_then_a_poll_goes_on_from_the_next_attempt() {
    let (calls, panicked) = (Cell::new(0), Cell::new(false));
    let mut retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            async { Err::<(), _>(calls.get()) }
        })
        .backoff(Constant::new(Duration::ZERO))
        .when(|_: &u32| {
            if !panicked.replace(true) {
                panic!("the predicate panics once");
            }
            true
        })
    );
    assert!(poll_caught(retrying.as_mut()).is_err());
    let Ok(Poll::Ready(Err(err))) = poll_caught(retrying.as_mut()) else {
        panic!("the second poll ends the retry");
    };
    // The failure the predicate panicked on is not judged again: the
    // second poll starts attempt 2 and runs to the cap.
    assert_eq!(
        (err.reason(), err.attempts(), calls.get()),
        (StopReason::Attempts, 3, 3)
    );
}

#[test]
fn a_panicking_call_then_a_poll_starts_the_call_again() {
    let calls = Cell::new(0);
    let mut retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            if calls.get() == 2 {
                panic!("the second call panics");
            }
            async { Err::<(), _>(()) }
        })
        .backoff(Constant::new(Duration::ZERO))
    );
    assert!(poll_caught(retrying.as_mut()).is_err());
    let Ok(Poll::Ready(Err(err))) = poll_caught(retrying.as_mut()) else {
        panic!("the second poll ends the retry");
    };
    // The call that panicked was attempt 2; the second poll starts attempt
    // 3, the last.
    assert_eq!((err.attempts(), calls.get()), (3, 3));
}

#[test]
fn a_panicking_first_call_pays_into_the_budget_once() {
    let budget = RetryBudget::builder()
        .ratio(1.0)
        .min_per_sec(0)
        .build()
        .unwrap();
    let calls = Cell::new(0);
    let mut retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                panic!("the first call panics");
            }
            async { Ok::<_, ()>(7) }
        })
        .budget(budget.clone())
    );
    assert!(poll_caught(retrying.as_mut()).is_err());
    assert!(matches!(
        poll_caught(retrying.as_mut()),
        Ok(Poll::Ready(Ok(7)))
    ));
    assert_eq!(budget.balance(), 1, "one call, one deposit");
}
