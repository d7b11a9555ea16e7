//! Edge cases of deadlines and retries: an operation or a hook that panics
//! and a retry polled again after the panic was caught; zero delays under
//! an ambient deadline; a `within` cancelled or panicking; instants at the
//! very end of what an `Instant` can hold.

use std::cell::{Cell, RefCell};
use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_deadline::{current, timeout, timeout_at, within, within_deadline, without_deadline};
use anyrt_retry::{Backoff, Constant, Jitter, RetryBudget, RetryError, Rng, StopReason, retry};
use anyrt_tests::cancel::cancel_at_every_poll;
use anyrt_tests::panics::{PROVOKED, poll_to_end_caught, quiet_provoked_panics};
use anyrt_tests::time::last_instant;
use futures_lite::future::poll_once;

const SEC: Duration = Duration::from_secs(1);

/// Polls `fut` once with a no-op waker, catching a panic.
fn poll_caught<F: Future>(fut: Pin<&mut F>) -> std::thread::Result<Poll<F::Output>> {
    let mut cx = Context::from_waker(Waker::noop());
    catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx)))
}

/// An operation whose second call panics (before making its future), and
/// whose other calls fail at once; `calls` counts every call.
fn second_call_panics(calls: &Cell<u32>) -> impl FnMut() -> std::future::Ready<Result<(), u32>> {
    move || {
        calls.set(calls.get() + 1);
        if calls.get() == 2 {
            std::panic::panic_any(PROVOKED);
        }
        std::future::ready(Err(calls.get()))
    }
}

/// `Retry::max_attempts`: "At most `max_attempts` attempts, the first call
/// included", and `Retry`'s `# Panics`: after a caught panic "no attempt
/// starts that they [the stop rules] did not allow".
///
/// With a zero delay, `turns` (crates/retry/src/retry/future.rs:141-174)
/// sets the state to `Idle` (line 143), counts the next attempt
/// (`config.rules.attempts = attempts`, line 169-170) and only then calls
/// the operation in `start` (line 187). When `op.call()` panics, the state
/// stays `Idle`, whose poll (line 78-81) calls `begin_retry`, which counts
/// an attempt again (crates/retry/src/retry/decide.rs:182-185) and starts
/// one without asking the stop rules. With `max_attempts(2)` the second
/// call panics and the poll after it starts a third call, reported as
/// attempt 3 of 2.
#[test]
fn a_panicking_call_after_a_zero_delay_never_runs_past_max_attempts() {
    quiet_provoked_panics();
    let calls = Cell::new(0);
    let mut retrying = pin!(
        retry(second_call_panics(&calls))
            .backoff(Constant::new(Duration::ZERO))
            .max_attempts(2)
    );
    assert!(
        poll_caught(retrying.as_mut()).is_err(),
        "the second call panics"
    );
    match poll_caught(retrying.as_mut()) {
        // Either the poll after the panic refuses to go on, and starts no
        // call...
        Err(_) => assert_eq!(calls.get(), 2, "a call started past max_attempts(2)"),
        // ... or it ends the retry within the cap.
        Ok(Poll::Ready(Err(err))) => assert!(
            err.attempts() <= 2,
            "{} attempts reported under max_attempts(2), after {} calls",
            err.attempts(),
            calls.get()
        ),
        Ok(other) => panic!("the poll after the panic ends the retry: {other:?}"),
    }
}

/// `RetryBudget`: "each retry withdraws a whole one", and `Retry`'s
/// `# Panics`: after a caught panic "no attempt starts that they [the stop
/// rules] did not allow".
///
/// After a sleep, the `Sleeping` poll (crates/retry/src/retry/future.rs:
/// 85-89) spends the retry held for the next attempt (`begin_retry`,
/// crates/retry/src/retry/decide.rs:182-185) before `start` calls the
/// operation (future.rs:187). When `op.call()` panics, the state stays
/// `Sleeping`; the next poll finds the sleep over again and calls
/// `begin_retry`, which counts another attempt and spends nothing (no
/// retry is held any more), and starts it. The budget below pays for one
/// retry; the retry runs two (attempts 2 and 3).
#[anyrt_test::test(virtual_time)]
async fn a_panicking_call_after_a_sleep_never_runs_a_retry_the_budget_refused(clock: VirtualClock) {
    quiet_provoked_panics();
    // No floor, nothing banked: the one call pays for exactly one retry.
    let budget = RetryBudget::builder()
        .ratio(1.0)
        .min_per_sec(0)
        .build()
        .unwrap();
    let calls = Cell::new(0);
    let retrying = pin!(
        retry(second_call_panics(&calls))
            .backoff(Constant::new(SEC).jitter(Jitter::None))
            .max_attempts(10)
            .budget(budget.clone())
    );
    let (out, panics) = poll_to_end_caught(retrying).await;
    assert_eq!(clock.elapsed(), SEC);
    match out {
        // Either the poll after the panic refuses to go on, and starts no
        // call...
        None => assert_eq!((panics, calls.get()), (2, 2), "a retry the budget refused"),
        // ... or it ends the retry on the empty budget, after attempt 1
        // and the one retry the budget paid for.
        Some(out) => {
            let err = out.unwrap_err();
            assert_eq!((panics, err.reason()), (1, StopReason::Budget));
            assert!(
                err.attempts() <= 2,
                "{} attempts ({} calls) on a budget of one retry",
                err.attempts(),
                calls.get()
            );
        }
    }
}

/// A backoff of 1 s that records the `(attempt, prev)` it is asked with.
struct Recording<'a>(&'a RefCell<Vec<(u32, Duration)>>);

impl Backoff for Recording<'_> {
    fn delay(&self, attempt: u32, prev: Duration, _rng: &mut Rng) -> Duration {
        self.0.borrow_mut().push((attempt, prev));
        SEC
    }

    fn max_delay(&self) -> Duration {
        SEC
    }
}

/// `Retry`'s `# Panics`: "A hook (`when`, `notify`, the hint or the
/// backoff) that panics leaves the retry where it was: ... it judges the
/// same failure again", and `Backoff::delay`: `prev` is "the delay used
/// before it (zero before the first retry)".
///
/// `Config::decide` (crates/retry/src/retry/decide.rs:285-295) stores the
/// new delay in `rules.prev` (line 287 or 291) before it calls `notify`
/// (line 294). When `notify` panics, the judgement is repeated with `prev`
/// already moved on: the policy is asked about the first failure as if a
/// retry had waited 1 s before it. For `Decorrelated`, whose range grows
/// with `prev`, the repeated judgement can give a first delay above
/// `3 × base`, which no run without the panic can give.
#[test]
fn a_panicking_notify_asks_the_backoff_again_with_the_same_previous_delay() {
    quiet_provoked_panics();
    let asked = RefCell::new(Vec::new());
    let notified = Cell::new(0);
    let mut retrying = pin!(
        retry(|| async { Err::<(), _>(()) })
            .backoff(Recording(&asked))
            .max_attempts(2)
            .notify(|_: &(), _, _| {
                notified.set(notified.get() + 1);
                if notified.get() == 1 {
                    std::panic::panic_any(PROVOKED);
                }
            })
    );
    assert!(poll_caught(retrying.as_mut()).is_err(), "notify panics");
    // The same failure is judged again, and the retry goes to sleep.
    assert!(matches!(poll_caught(retrying.as_mut()), Ok(Poll::Pending)));
    assert_eq!(
        *asked.borrow(),
        [(1, Duration::ZERO), (1, Duration::ZERO)],
        "the failure of attempt 1 was judged again with another `prev`"
    );
}

/// Retries in a task spawned under a 5 s `within`: attempts of 2 s each
/// that fail, `delay` between them, at most 10 attempts.
#[allow(clippy::async_yields_async)] // The task is awaited outside the `within`, on purpose.
async fn spawned_retry(delay: Duration) -> RetryError<u32> {
    let task = within(5 * SEC, async move {
        anyrt_core::spawn(async move {
            let mut calls = 0;
            retry(move || {
                calls += 1;
                let n = calls;
                async move {
                    anyrt_core::sleep(2 * SEC).await;
                    Err::<(), _>(n)
                }
            })
            .backoff(Constant::new(delay).jitter(Jitter::None))
            .max_attempts(10)
            .await
        })
    })
    .await
    .unwrap();
    task.await.unwrap_err()
}

/// DESIGN.md (retry): "Stop ... when the next sleep would pass the ambient
/// deadline", and `within`: tasks spawned through `anyrt-core` take the
/// deadline with them (nothing there enforces it but the retry's rule).
///
/// `Config::decide` (crates/retry/src/retry/decide.rs:285-288) sends a
/// zero delay to `Rules::check_now` (line 214-219, 248-253), which looks
/// at `max_elapsed` and the budget only; the ambient deadline is read in
/// `check_sleep` alone (line 226). The comment on `check_now` (line 210)
/// relies on "the enclosing `within`" to enforce it, but a spawned task has none. With a
/// 1 ns delay the retry stops at the deadline (3 attempts, `Deadline`);
/// with a zero delay (or a server's `Retry-After: 0`) it runs all 10
/// attempts, 15 s past the deadline.
#[anyrt_test::test(virtual_time)]
async fn a_zero_delay_retry_in_a_spawned_task_stops_at_the_inherited_deadline(clock: VirtualClock) {
    let tiny = spawned_retry(Duration::from_nanos(1)).await;
    assert_eq!((tiny.reason(), tiny.attempts()), (StopReason::Deadline, 3));
    let start = clock.elapsed();
    let zero = spawned_retry(Duration::ZERO).await;
    assert_eq!(
        (zero.reason(), zero.attempts()),
        (StopReason::Deadline, 3),
        "a zero delay ignored the deadline; the retry ran for {:?}",
        clock.elapsed() - start
    );
}

/// `Retry::within`: "Under the deadline the retry never starts a sleep
/// that would end at or past it (it stops with the last real error and
/// `StopReason::Deadline`)"; guide.md, stop rules: the deadline stops the
/// loop when "the next sleep would end at or past the deadline".
///
/// Attempts that take 1 s and fail at once, with no delay between them.
/// `Rules::check_now` (crates/retry/src/retry/decide.rs:214-219) never
/// reads the deadline, and the `Within` around the retry checks the clock
/// only when the retry is pending (crates/deadline/src/timeout.rs:107-118),
/// which a zero-delay run is only at its yield every 64 attempts
/// (crates/retry/src/retry/future.rs:163-167). So the retry starts 59
/// attempts after the deadline has passed, and the error it ends with is
/// the `Elapsed` of the `Within`, not the last real one.
#[anyrt_test::test(virtual_time)]
async fn a_zero_delay_retry_within_a_deadline_starts_no_attempt_past_it(clock: VirtualClock) {
    let calls = Cell::new(0_u32);
    let err = retry(|| {
        calls.set(calls.get() + 1);
        clock.advance(SEC); // an attempt that takes 1 s and fails at once
        async { Err::<(), _>(std::io::Error::other("refused")) }
    })
    .backoff(Constant::new(Duration::ZERO))
    .max_attempts(1_000)
    .within(5 * SEC)
    .await
    .unwrap_err();
    assert_eq!(err.reason(), StopReason::Deadline);
    // Attempt 5 ends at the deadline: the next would start at it.
    assert_eq!(
        (calls.get(), err.error().kind()),
        (5, std::io::ErrorKind::Other),
        "{} attempts, {:?} of virtual time, ending with {:?}",
        calls.get(),
        clock.elapsed(),
        err.error()
    );
}

/// A `within` cancelled after each of its polls (nested `within`,
/// `without_deadline` and `timeout` inside) leaves no ambient deadline on
/// the thread and no sleeper on the clock; so does one whose future
/// panics, caught by the caller.
#[anyrt_test::test(virtual_time)]
async fn a_within_cancelled_or_panicking_leaves_no_deadline_behind(clock: VirtualClock) {
    let checked = cancel_at_every_poll(
        || {
            within(10 * SEC, async {
                anyrt_core::sleep(SEC).await;
                without_deadline(async {
                    anyrt_core::sleep(SEC).await;
                    within(3 * SEC, anyrt_core::sleep(SEC)).await
                })
                .await
                .unwrap();
                anyrt_core::yield_now().await;
                timeout(SEC, anyrt_core::sleep(2 * SEC)).await
            })
        },
        |polls| {
            assert_eq!(current(), None, "a deadline is left after poll {polls}");
            assert_eq!(clock.pending_sleepers(), 0, "a sleep outlived poll {polls}");
        },
    )
    .await;
    assert!(checked >= 5, "only {checked} cancel points");

    quiet_provoked_panics();
    let panicking = pin!(within(SEC, async {
        anyrt_core::sleep(SEC / 2).await;
        std::panic::panic_any(PROVOKED)
    }));
    let (out, panics) = poll_to_end_caught(panicking).await;
    assert!(out.is_none() && panics >= 1);
    assert_eq!(current(), None);
}

/// A deadline at the very last `Instant`, on every runtime's own timer:
/// a timeout arms its sleep without a panic, and a `within_deadline` there
/// lets nested `within(Duration::MAX)` and retries run as without one.
#[anyrt_test::test]
async fn a_deadline_at_the_last_instant_works_on_every_timer() {
    let last = last_instant(Instant::now());
    let mut never = pin!(timeout_at(last, pending::<()>()));
    assert!(poll_once(never.as_mut()).await.is_none());
    let out = within_deadline(last, async {
        within(Duration::MAX, anyrt_core::sleep(Duration::from_millis(1)))
            .await
            .unwrap();
        retry(|| async { Err::<(), _>(()) })
            .backoff(Constant::new(Duration::from_millis(1)))
            .await
    })
    .await;
    assert!(out.unwrap().unwrap_err().reason().is_attempts());
}
