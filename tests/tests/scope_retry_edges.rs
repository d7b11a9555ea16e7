//! Regressions and edges of `anyrt-scope` and `anyrt-retry` found by
//! trying to break them: futures awaited outside the run when it ends,
//! re-runs, misuse after completion, delays and deadlines at the limits.
//! Each test quotes the promise it checks.

use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Waker};

use anyrt_scope::Scope;
use anyrt_tests::drops::n;
use anyrt_tests::wakers::counting;

fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

fn message(panic: Box<dyn std::any::Any + Send>) -> String {
    match panic.downcast::<&str>() {
        Ok(message) => message.to_string(),
        Err(panic) => panic
            .downcast::<String>()
            .map(|s| *s)
            .unwrap_or_else(|_| "a panic".into()),
    }
}

// ---------------------------------------------------------------------
// Scope: futures awaited outside the run's poll (another task, or a
// sibling future of the run), when the run ends.
// ---------------------------------------------------------------------

/// `Handle`, panics: "Awaiting a handle panics if its child is gone
/// without an output". `Scope::spawn` is allowed from "outside the run's
/// poll (another task)", so its handle may be awaited there too. When a
/// sibling's `Err` ends the run, the child is dropped: the task awaiting
/// its handle must be woken, so that it sees the child gone (and panics)
/// instead of waiting for ever.
#[test]
fn a_handle_awaited_outside_the_run_is_woken_when_the_run_fails() {
    let s = Scope::<&str>::new();
    let mut run = pin!(s.run(pending::<Result<(), &str>>()));
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    // Another task spawns a child and awaits its handle.
    let mut handle = pin!(s.spawn(pending::<Result<u8, &str>>()));
    let (waker, woken) = counting();
    assert!(poll_with(handle.as_mut(), &waker).is_pending());
    // A sibling fails the run.
    let failing = s.spawn(async { Err::<(), _>("failed") });
    drop(failing);
    assert_eq!(
        poll_with(run.as_mut(), Waker::noop()),
        Poll::Ready(Err("failed"))
    );
    assert!(
        woken.0.load(SeqCst) > 0,
        "the task awaiting the handle of a dropped child was never woken: it hangs"
    );
    let again = catch_unwind(AssertUnwindSafe(|| {
        poll_with(handle.as_mut(), Waker::noop())
    }));
    assert!(message(again.expect_err("the child is gone")).contains("gone"));
}

/// The same when the run's future is dropped ("Dropping the future drops
/// the body and every child before `drop` returns").
#[test]
fn a_handle_awaited_outside_the_run_is_woken_when_the_run_is_dropped() {
    let s = Scope::<()>::new();
    let mut run = Box::pin(s.run(pending::<Result<(), ()>>()));
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    let mut handle = pin!(s.spawn(pending::<Result<u8, ()>>()));
    let (waker, woken) = counting();
    assert!(poll_with(handle.as_mut(), &waker).is_pending());
    drop(run);
    assert!(
        woken.0.load(SeqCst) > 0,
        "the task awaiting the handle of a dropped child was never woken: it hangs"
    );
}

/// `SpawnWait`: a `spawn_wait` outside the run's poll waiting in line
/// when the run ends. `Scope::spawn`: "Outside a run (before it, after it
/// ended or failed ...) the future is dropped unpolled and the handle says
/// so". The waiting task must be woken to learn it, not left waiting for a
/// place in a run that is over.
#[test]
fn a_spawn_wait_in_line_outside_the_run_is_woken_when_the_run_ends() {
    let s = Scope::<()>::new().limit(n(1));
    let mut run = Box::pin(s.run(pending::<Result<(), ()>>()));
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    let holder = s.spawn(pending::<Result<(), ()>>());
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    let mut waiting = pin!(s.spawn_wait(async { Ok(1) }));
    let (waker, woken) = counting();
    assert!(
        poll_with(waiting.as_mut(), &waker).is_pending(),
        "the scope is full"
    );
    drop(run);
    drop(holder);
    assert!(
        woken.0.load(SeqCst) > 0,
        "a spawn_wait in line when the run ended was never woken: it hangs"
    );
    match poll_with(waiting.as_mut(), Waker::noop()) {
        Poll::Ready(handle) => assert!(handle.is_rejected()),
        Poll::Pending => panic!("still waiting after the run ended"),
    }
}

// ---------------------------------------------------------------------
// Scope: re-runs.
// ---------------------------------------------------------------------

/// `Handle::is_rejected`: "Whether the spawn was rejected because the
/// scope was not running". `Scope::insert_with`: "A place taken in an
/// earlier run ... the child asks for a place afresh." A `spawn_wait`
/// that was in line when its run failed, awaited in the next run of the
/// same scope (which is running, and has room), should ask afresh as a
/// granted one does, not be rejected.
#[anyrt_test::test(timeout = 30)]
async fn a_spawn_wait_in_line_when_a_run_fails_is_admitted_by_the_next_run() {
    let s = Scope::<&str>::new().limit(n(1));
    let slot = std::sync::Mutex::new(None);
    let first = s
        .run(async {
            s.spawn(pending::<Result<(), &str>>());
            let mut waiting = Box::pin(s.spawn_wait(async { Ok(5) }));
            let polled = std::future::poll_fn(|cx| Poll::Ready(waiting.as_mut().poll(cx))).await;
            assert!(polled.is_pending(), "the scope is full");
            *slot.lock().unwrap() = Some(waiting);
            Err::<(), _>("end the first run")
        })
        .await;
    assert_eq!(first, Err("end the first run"));
    let waiting = slot.lock().unwrap().take().expect("kept");
    let second = s
        .run(async {
            let handle = waiting.await;
            assert!(
                !handle.is_rejected(),
                "rejected though the scope is running and has room"
            );
            Ok(handle.await)
        })
        .await;
    assert_eq!(second, Ok(5));
}

// ---------------------------------------------------------------------
// Scope: misuse after completion.
// ---------------------------------------------------------------------

/// A future polled after it completed may panic, and `SpawnWait` does
/// ("a spawn_wait future polled after it completed"); but the panic must
/// not take a place under the limit for good: the scope's later children
/// must still run. (`TaskGroup`'s `GroupSpawnWait` gives the place back
/// when it panics the same way.)
#[test]
fn a_spawn_wait_polled_after_completion_takes_no_place_for_good() {
    let s = Scope::<()>::new().limit(n(1));
    let mut run = Box::pin(s.run(pending::<Result<(), ()>>()));
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    let mut waiting = pin!(s.spawn_wait(async { Ok(1) }));
    let Poll::Ready(handle) = poll_with(waiting.as_mut(), Waker::noop()) else {
        panic!("the scope has room");
    };
    let mut handle = pin!(handle);
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    assert_eq!(poll_with(handle.as_mut(), Waker::noop()), Poll::Ready(1));
    let again = catch_unwind(AssertUnwindSafe(|| {
        poll_with(waiting.as_mut(), Waker::noop()).is_ready()
    }));
    assert!(again.is_err(), "polled after completion: it panics");
    // No child runs now: a new one must get the place.
    let mut later = pin!(s.spawn(async { Ok(2) }));
    assert!(poll_with(run.as_mut(), Waker::noop()).is_pending());
    assert_eq!(
        poll_with(later.as_mut(), Waker::noop()),
        Poll::Ready(2),
        "the child is queued for ever: the panicking poll kept a place"
    );
    drop(run);
}

// ---------------------------------------------------------------------
// retry: extreme delays and deadlines.
// ---------------------------------------------------------------------

mod retry_edges {
    use std::io;
    use std::time::Duration;

    use anyrt_core::VirtualClock;
    use anyrt_retry::{Backoff, Constant, Jitter, Rng, StopReason, retry};

    fn refused() -> io::Error {
        io::Error::from(io::ErrorKind::ConnectionRefused)
    }

    /// A policy that asks for the longest delay there is.
    struct Forever;

    impl Backoff for Forever {
        fn delay(&self, _: u32, _: Duration, _: &mut Rng) -> Duration {
            Duration::MAX
        }
        fn max_delay(&self) -> Duration {
            Duration::MAX
        }
    }

    /// "Huge durations saturate, never panic"; "Stop at `max_elapsed`
    /// ... or when the next sleep would pass the ambient deadline". A
    /// backoff of `Duration::MAX` stops at once with the limit in force,
    /// on every timer.
    #[anyrt_test::test(virtual_time)]
    async fn a_delay_of_duration_max_stops_at_the_limits(clock: VirtualClock) {
        let err = retry(|| async { Err::<(), _>(refused()) })
            .backoff(Forever)
            .max_attempts(10)
            .max_elapsed(Duration::from_secs(3600))
            .await
            .unwrap_err();
        assert_eq!((err.reason(), err.attempts()), (StopReason::Elapsed, 1));
        let err = retry(|| async { Err::<(), _>(refused()) })
            .backoff(Forever)
            .max_attempts(10)
            .within(Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 1));
        assert_eq!(err.error().kind(), io::ErrorKind::ConnectionRefused);
        let err = retry(|| async { Err::<(), _>(refused()) })
            .backoff(Forever)
            .max_attempts(10)
            .within(Duration::MAX);
        // Under a deadline of `Duration::MAX` the sleep of `Duration::MAX`
        // ends no earlier than it: stopped, never a hang or a panic.
        let err = err.await.unwrap_err();
        assert_eq!(err.attempts(), 1);
        assert_eq!(clock.elapsed(), Duration::ZERO);
    }

    /// `within(Duration::ZERO)`: "the inner future is polled first, so a
    /// ready future never times out"; a failure stops with the last real
    /// error and `Deadline`; a pending attempt is cut and counted.
    /// `within(Duration::MAX)` changes nothing.
    #[anyrt_test::test(virtual_time)]
    async fn within_zero_and_within_max(clock: VirtualClock) {
        let ok = retry(|| async { Ok::<_, io::Error>(7) })
            .within(Duration::ZERO)
            .await;
        assert_eq!(ok.unwrap(), 7);
        let err = retry(|| async { Err::<(), _>(refused()) })
            .backoff(Constant::new(Duration::ZERO))
            .max_attempts(100)
            .within(Duration::ZERO)
            .await
            .unwrap_err();
        assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 1));
        assert_eq!(err.error().kind(), io::ErrorKind::ConnectionRefused);
        let err = retry(|| async {
            anyrt_core::sleep(Duration::from_secs(1)).await;
            Ok::<_, io::Error>(())
        })
        .within(Duration::ZERO)
        .await
        .unwrap_err();
        assert_eq!((err.reason(), err.attempts()), (StopReason::Deadline, 1));
        assert_eq!(err.error().kind(), io::ErrorKind::TimedOut);
        let err = retry(|| async { Err::<(), _>(refused()) })
            .backoff(Constant::new(Duration::from_secs(1)).jitter(Jitter::None))
            .max_attempts(3)
            .within(Duration::MAX)
            .await
            .unwrap_err();
        assert_eq!((err.reason(), err.attempts()), (StopReason::Attempts, 3));
        assert_eq!(clock.elapsed(), Duration::from_secs(2));
    }
}

// ---------------------------------------------------------------------
// TaskGroup: used again after a panic caught from `join_next`.
// ---------------------------------------------------------------------

/// `join_next`, panics: "Resumes the panic of a task that panicked, after
/// aborting the group's other tasks". The group is then empty and usable:
/// under a limit, the tasks that were waiting for a place when it aborted
/// never start (`abort_all`), and tasks spawned afterwards (plain, waiting, trying) all run.
#[anyrt_test::test(timeout = 60)]
async fn a_limited_group_runs_new_tasks_after_a_panic_caught_from_join_next() {
    use anyrt_scope::TaskGroup;
    use futures::FutureExt;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    let started = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::<usize>::with_limit(n(1));
    group.spawn(async { std::panic::panic_any::<u64>(9) });
    for _ in 0..3 {
        let started = started.clone();
        group.spawn(async move {
            started.fetch_add(1, SeqCst);
            pending::<usize>().await
        });
    }
    let caught = AssertUnwindSafe(group.join_next()).catch_unwind().await;
    assert_eq!(caught.expect_err("resumed").downcast_ref::<u64>(), Some(&9));
    assert!(group.is_empty());
    group.spawn(async { 1 });
    group.spawn_wait(async { 2 }).await;
    let mut third = async { 3 };
    loop {
        match group.try_spawn(third) {
            Ok(()) => break,
            Err(full) => {
                third = full.into_inner();
                anyrt_core::yield_now().await;
            }
        }
    }
    let mut outputs = group.join_all().await;
    outputs.sort_unstable();
    assert_eq!(outputs, [1, 2, 3]);
    // The place the panicking task gave back may start the next in line
    // before the group learns of the panic; none after the abort.
    assert!(
        started.load(SeqCst) <= 1,
        "tasks aborted in line never start"
    );
}

// ---------------------------------------------------------------------
// Scope: an unread output whose destructor spawns into the scope.
// ---------------------------------------------------------------------

/// An output that spawns a sibling when dropped.
struct SpawnsOnDrop {
    scope: &'static Scope<'static, ()>,
    polled: &'static std::sync::atomic::AtomicBool,
    accepted: &'static std::sync::atomic::AtomicBool,
}

impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        let polled = self.polled;
        let handle = self.scope.spawn(async move {
            anyrt_core::yield_now().await;
            polled.store(true, SeqCst);
            Ok(())
        });
        self.accepted.store(!handle.is_rejected(), SeqCst);
    }
}

/// `Scope`: "a finished child's future is dropped at once, and its memory
/// freed as soon as its Handle is dropped"; "The future returns only
/// after every child ended"; a spawn during a run is accepted. A child
/// whose handle was dropped finishes while the body has already ended:
/// the scope drops its output then, while still running, and the child
/// that output's destructor spawns is accepted and polled to its end
/// before the run returns (never accepted and dropped unpolled).
#[anyrt_test::test(timeout = 30)]
async fn a_sibling_spawned_by_an_unread_outputs_destructor_runs_before_the_run_ends() {
    use std::sync::atomic::AtomicBool;
    for _ in 0..50 {
        let scope: &'static Scope<'static, ()> = Box::leak(Box::new(Scope::new()));
        let polled: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let accepted: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        scope
            .run(async move {
                drop(scope.spawn(async move {
                    anyrt_core::yield_now().await;
                    Ok(SpawnsOnDrop {
                        scope,
                        polled,
                        accepted,
                    })
                }));
                Ok(())
            })
            .await
            .unwrap();
        if accepted.load(SeqCst) {
            assert!(polled.load(SeqCst), "accepted, then dropped unpolled");
        }
        assert!(
            accepted.load(SeqCst),
            "rejected although the run was in progress"
        );
    }
}
