//! A panic in a hook or in the operation, caught by the caller (as an
//! executor that contains panics does): polling the retry again must not
//! poll a finished attempt, nor set up the first attempt twice.

use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyrt_retry::{Constant, Jitter, RetryBudget, StopReason, retry, retry_with};
use anyrt_tests::panics::poll_to_end_caught;

/// Polls `fut` once, catching a panic.
fn poll_caught<F: Future>(fut: Pin<&mut F>) -> std::thread::Result<Poll<F::Output>> {
    let mut cx = Context::from_waker(Waker::noop());
    catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx)))
}

#[test]
fn a_panicking_predicate_then_a_poll_judges_the_same_failure_again() {
    let (calls, judged) = (Cell::new(0), RefCell::new(Vec::new()));
    let mut retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            async { Err::<(), _>(calls.get()) }
        })
        .backoff(Constant::new(Duration::ZERO))
        .when(|e: &u32| {
            judged.borrow_mut().push(*e);
            if judged.borrow().len() == 1 {
                panic!("the predicate panics once");
            }
            true
        })
    );
    assert!(poll_caught(retrying.as_mut()).is_err());
    let Ok(Poll::Ready(Err(err))) = poll_caught(retrying.as_mut()) else {
        panic!("the second poll ends the retry");
    };
    // The failure the predicate panicked on is judged again by the second
    // poll, which then runs attempts 2 and 3, to the cap.
    assert_eq!(*judged.borrow(), [1, 1, 2, 3]);
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
    // The call that panicked gave no outcome, so it was no attempt: the
    // second poll makes attempt 2 again (the third call), then attempt 3,
    // the last, and no attempt past the cap.
    assert_eq!((err.attempts(), calls.get()), (3, 4));
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

/// The output of `fut`, polled on the test's runtime again after the one
/// panic it must raise.
async fn run_caught<F: Future>(fut: Pin<&mut F>) -> (F::Output, usize) {
    match poll_to_end_caught(fut).await {
        (Some(output), panics) => (output, panics),
        (None, _) => panic!("the future panicked twice"),
    }
}

/// A predicate that panics on its first call and then answers `verdict`.
fn panics_once(verdict: bool) -> impl FnMut(&u32) -> bool {
    let mut calls = 0;
    move |_| {
        calls += 1;
        if calls == 1 {
            panic!("the predicate panics once");
        }
        verdict
    }
}

/// Regression: a predicate that panicked, then a poll, ran a second
/// attempt although `max_attempts(1)` allowed one.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_predicate_never_runs_an_attempt_past_max_attempts() {
    let calls = Cell::new(0);
    let retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            async { Err::<(), _>(calls.get()) }
        })
        .backoff(Constant::new(Duration::from_secs(1)))
        .max_attempts(1)
        .when(panics_once(true))
    );
    let (out, panics) = run_caught(retrying).await;
    let err = out.unwrap_err();
    assert_eq!(panics, 1);
    assert_eq!(
        (err.reason(), err.attempts(), *err.error(), calls.get()),
        (StopReason::Attempts, 1, 1, 1)
    );
}

/// Regression: the same, with a budget that has no retry to give.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_predicate_never_runs_an_attempt_the_budget_refused() {
    let budget = RetryBudget::builder()
        .ratio(0.0)
        .min_per_sec(0)
        .build()
        .unwrap();
    let calls = Cell::new(0);
    let retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            async { Err::<(), _>(calls.get()) }
        })
        .backoff(Constant::new(Duration::from_secs(1)).jitter(Jitter::None))
        .budget(budget.clone())
        .when(panics_once(true))
    );
    let (out, panics) = run_caught(retrying).await;
    let err = out.unwrap_err();
    assert_eq!(panics, 1);
    assert_eq!(
        (err.reason(), err.attempts(), calls.get()),
        (StopReason::Budget, 1, 1)
    );
    assert_eq!(budget.balance(), 0);
}

/// Regression: the same, with a predicate that, asked again, says the
/// error is not worth a retry.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_predicate_never_runs_an_attempt_it_then_refuses() {
    let calls = Cell::new(0);
    let retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            async { Err::<(), _>(calls.get()) }
        })
        .backoff(Constant::new(Duration::ZERO))
        .when(panics_once(false))
    );
    let (out, panics) = run_caught(retrying).await;
    let err = out.unwrap_err();
    assert_eq!(panics, 1);
    assert_eq!(
        (err.reason(), err.attempts(), calls.get()),
        (StopReason::NotRetryable, 1, 1)
    );
}

/// A `notify` that panicked after the stop rules allowed a retry: the poll
/// after it judges the failure again and holds one retry of the budget,
/// not two, and still sleeps before the next attempt.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_notify_takes_one_retry_from_the_budget(clock: anyrt_core::VirtualClock) {
    let budget = RetryBudget::builder()
        .ratio(1.0)
        .min_per_sec(0)
        .build()
        .unwrap();
    budget.deposit();
    let (calls, notified) = (Cell::new(0), Cell::new(0));
    let retrying = pin!(
        retry(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 2 { Err(n) } else { Ok(n) } }
        })
        .backoff(Constant::new(Duration::from_secs(1)).jitter(Jitter::None))
        .budget(budget.clone())
        .notify(|_: &u32, _, _| {
            notified.set(notified.get() + 1);
            if notified.get() == 1 {
                panic!("notify panics once");
            }
        })
    );
    let (out, panics) = run_caught(retrying).await;
    assert_eq!((out, panics, calls.get(), notified.get()), (Ok(2), 1, 2, 2));
    // One deposit before the call, one by the call, one retry spent.
    assert_eq!(budget.balance(), 1);
    assert_eq!(clock.elapsed(), Duration::from_secs(1));
}

/// `retry_with`'s future is an async block: polled again after its
/// predicate panicked, it panics too, and never starts another attempt.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_predicate_of_retry_with_never_runs_another_attempt() {
    let mut calls = 0_u32;
    let (out, panics) = {
        let retrying = pin!(
            retry_with(&mut calls, async |calls: &mut u32| {
                *calls += 1;
                Err::<(), _>(*calls)
            })
            .backoff(Constant::new(Duration::ZERO))
            .when(panics_once(true))
            .into_future()
        );
        poll_to_end_caught(retrying).await
    };
    assert!(out.is_none());
    assert_eq!(panics, 2);
    assert_eq!(calls, 1);
}
