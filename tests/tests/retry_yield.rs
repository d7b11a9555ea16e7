//! A run of attempts that fail at once, with zero delay between them or a
//! sleep that is already over, must not hold the executor's thread until
//! the attempts run out: the retry yields every so often (at most 100
//! attempts per poll, promised here).

use std::cell::Cell;
use std::future::Future;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyrt_retry::{Constant, Jitter, retry, retry_with};

const ATTEMPTS: u32 = 1_000;
/// The most attempts one poll may run.
const PER_POLL: u32 = 100;

/// Counts the polls of the future it wraps.
struct CountPolls<'a, F> {
    inner: Pin<Box<F>>,
    polls: &'a Cell<u32>,
}

impl<F: Future> Future for CountPolls<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

fn count_polls<F: Future>(polls: &Cell<u32>, inner: F) -> CountPolls<'_, F> {
    CountPolls {
        inner: Box::pin(inner),
        polls,
    }
}

/// Asserts that `attempts` attempts took at least `least` polls.
fn assert_polls_at_least(least: u32, attempts: u32, polls: &Cell<u32>) {
    assert!(
        polls.get() >= least,
        "{attempts} attempts ran in {} polls",
        polls.get()
    );
}

fn max_attempts() -> u32 {
    ATTEMPTS
}

#[anyrt_test::test]
async fn a_zero_delay_storm_yields_to_the_executor() {
    let (calls, polls) = (Cell::new(0), Cell::new(0));
    let retrying = retry(|| {
        calls.set(calls.get() + 1);
        async { Err::<(), _>("down") }
    })
    .backoff(Constant::new(Duration::ZERO))
    .max_attempts(max_attempts());
    let err = count_polls(&polls, retrying).await.unwrap_err();
    assert!(err.reason().is_attempts());
    assert_eq!((err.attempts(), calls.get()), (ATTEMPTS, ATTEMPTS));
    assert_polls_at_least(ATTEMPTS / PER_POLL, ATTEMPTS, &polls);
}

#[anyrt_test::test]
async fn a_zero_delay_storm_with_state_yields_to_the_executor() {
    let (mut calls, polls) = (0_u32, Cell::new(0));
    let retrying = retry_with(&mut calls, async |calls: &mut u32| {
        *calls += 1;
        Err::<(), _>("down")
    })
    .backoff(Constant::new(Duration::ZERO))
    .max_attempts(max_attempts())
    .into_future();
    let err = count_polls(&polls, retrying).await.unwrap_err();
    assert_eq!(err.attempts(), ATTEMPTS);
    assert_polls_at_least(ATTEMPTS / PER_POLL, ATTEMPTS, &polls);
    assert_eq!(calls, ATTEMPTS);
}

/// Attempts of the sleep tests: more than one poll may run, and few, as
/// tokio's timer rounds each 1 ns sleep up to its 1 ms tick.
const SLEEPING_ATTEMPTS: u32 = 130;

#[anyrt_test::test]
async fn a_storm_of_sleeps_already_over_yields_to_the_executor() {
    let (calls, polls) = (Cell::new(0), Cell::new(0));
    // A 1 ns sleep is over by its first poll on the runtimes whose timer
    // does not round it up: the retry goes on within the same poll.
    let retrying = retry(|| {
        calls.set(calls.get() + 1);
        async { Err::<(), _>("down") }
    })
    .backoff(Constant::new(Duration::from_nanos(1)).jitter(Jitter::None))
    .max_attempts(SLEEPING_ATTEMPTS);
    let err = count_polls(&polls, retrying).await.unwrap_err();
    assert_eq!(
        (err.attempts(), calls.get()),
        (SLEEPING_ATTEMPTS, SLEEPING_ATTEMPTS)
    );
    assert_polls_at_least(
        SLEEPING_ATTEMPTS.div_ceil(PER_POLL),
        SLEEPING_ATTEMPTS,
        &polls,
    );
}

#[anyrt_test::test]
async fn a_storm_of_sleeps_already_over_with_state_yields_to_the_executor() {
    let (mut calls, polls) = (0_u32, Cell::new(0));
    let retrying = retry_with(&mut calls, async |calls: &mut u32| {
        *calls += 1;
        Err::<(), _>("down")
    })
    .backoff(Constant::new(Duration::from_nanos(1)).jitter(Jitter::None))
    .max_attempts(SLEEPING_ATTEMPTS)
    .into_future();
    let err = count_polls(&polls, retrying).await.unwrap_err();
    assert_eq!(err.attempts(), SLEEPING_ATTEMPTS);
    assert_polls_at_least(
        SLEEPING_ATTEMPTS.div_ceil(PER_POLL),
        SLEEPING_ATTEMPTS,
        &polls,
    );
    assert_eq!(calls, SLEEPING_ATTEMPTS);
}
