//! The remote task handle behind async-std tasks, the fallback
//! thread pool and the fallback blocking pool: races between the handle's
//! drop and the task's end, outputs dropped exactly once, handles moved
//! between tasks, pools that must outlive a panic that escapes a task, and
//! a finished flag that is set once the outcome can be taken.
//!
//! The tests that break a process-wide pool run in a child process (the
//! test binary run again on that one test), so that a pool they stop
//! cannot hang the other tests here.

use std::future::Future;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use anyrt_core::{Runtime, Spawn, Task};
use anyrt_tests::panics::{PROVOKED, quiet_provoked_panics};
use futures::FutureExt;

/// Set in a child process to the name of the test it runs.
const CHILD_ENV: &str = "ANYRT_CORE_REMOTE_CHILD";

/// Only turns a hang into a failure; never a bound on speed.
const HANG: Duration = Duration::from_secs(10);

/// How long a child test waits for a pool to run a fresh task before it
/// calls the pool stopped (a live pool takes microseconds).
const STOPPED: Duration = Duration::from_secs(3);

/// In the child process, `true`: the caller runs the test's body. In the
/// parent, runs the test `name` alone in a child process, fails if the
/// child fails or hangs, and returns `false`.
fn in_child_process(name: &str) -> bool {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        quiet_provoked_panics();
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the child test process starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    let report = format!("child stdout:\n{out}\nchild stderr:\n{err}");
    let status = status.unwrap_or_else(|| panic!("the child test hung\n{report}"));
    assert!(
        out.contains("running 1 test"),
        "the child ran no test\n{report}"
    );
    assert!(status.success(), "the child test failed\n{report}");
    false
}

/// Panics when dropped (unless already unwinding).
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            std::panic::panic_any(PROVOKED);
        }
    }
}

/// More rounds than the fallback pool has worker threads (one per CPU).
fn more_than_the_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    4 * cpus + 4
}

/// Whether the fallback pool still runs a fresh task.
fn fallback_pool_runs_a_task() -> bool {
    let (tx, rx) = mpsc::channel();
    Runtime::Fallback
        .spawn(async move {
            let _ = tx.send(());
        })
        .detach();
    rx.recv_timeout(STOPPED).is_ok()
}

/// A cancelled task whose future panics as it is dropped must not take a
/// worker of the fallback pool with it: the task's doc promises that
/// dropping the handle cancels the task, and a panic of a task is caught
/// (and resumed in the awaiter, or reported by the panic hook).
/// Regression: the remote end returned `Ready` on cancellation and left
/// the drop of the future to `futures`' thread pool, outside any
/// `catch_unwind`; the pool does not replace a worker that unwinds, so
/// after one such task per CPU no task on the fallback ever ran again.
#[test]
fn fallback_pool_survives_cancelled_futures_that_panic_on_drop() {
    if !in_child_process("fallback_pool_survives_cancelled_futures_that_panic_on_drop") {
        return;
    }
    for round in 0..more_than_the_workers() {
        let (started_tx, started) = mpsc::channel();
        let task = Runtime::Fallback.spawn(async move {
            let _guard = PanicsOnDrop;
            let _ = started_tx.send(());
            std::future::pending::<()>().await;
        });
        assert!(
            started.recv_timeout(STOPPED).is_ok(),
            "round {round}: the fallback pool no longer runs tasks"
        );
        drop(task);
    }
    assert!(
        fallback_pool_runs_a_task(),
        "the fallback pool no longer runs tasks"
    );
}

/// A future that is ready at once and panics when dropped afterwards.
struct ReadyThenPanicsOnDrop(#[allow(dead_code)] PanicsOnDrop);

impl std::future::Future for ReadyThenPanicsOnDrop {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(7)
    }
}

/// The same with a task that finished and was awaited. Regression: the
/// output reached the handle, then the pool dropped the spent future and
/// the panic of its destructor killed the worker thread. The future is now
/// dropped by the remote end, under `catch_unwind`, and the output stands.
#[test]
fn fallback_pool_survives_finished_futures_that_panic_on_drop() {
    if !in_child_process("fallback_pool_survives_finished_futures_that_panic_on_drop") {
        return;
    }
    for round in 0..more_than_the_workers() {
        let (tx, rx) = mpsc::channel();
        let task = Runtime::Fallback.spawn(ReadyThenPanicsOnDrop(PanicsOnDrop));
        // Awaited on a thread of its own: a dead pool must not hang us.
        std::thread::spawn(move || {
            let _ = tx.send(futures::executor::block_on(task));
        });
        assert_eq!(
            rx.recv_timeout(STOPPED).ok(),
            Some(7),
            "round {round}: the fallback pool no longer runs tasks"
        );
    }
    assert!(
        fallback_pool_runs_a_task(),
        "the fallback pool no longer runs tasks"
    );
}

/// Panics when woken: the waker of a task that awaits a handle.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any(PROVOKED);
    }
}

/// A waker that panics (the awaiting side's bug) must not cost the
/// fallback pool a worker either. Regression: the remote end woke the
/// handle's waker from inside the pool's poll, outside any `catch_unwind`,
/// after the output was stored; the worker unwound and was never replaced.
#[test]
fn fallback_pool_survives_a_handle_waker_that_panics() {
    if !in_child_process("fallback_pool_survives_a_handle_waker_that_panics") {
        return;
    }
    let waker = Waker::from(Arc::new(PanickingWaker));
    for round in 0..more_than_the_workers() {
        let (release_tx, release) = mpsc::channel::<()>();
        let mut task = Runtime::Fallback.spawn(async move {
            // Blocks the worker until the handle has registered its waker.
            let _ = release.recv_timeout(HANG);
            round
        });
        assert!(
            Pin::new(&mut task)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        let _ = release_tx.send(());
        let started = Instant::now();
        while !task.is_finished() {
            assert!(
                started.elapsed() < STOPPED,
                "round {round}: the fallback pool no longer runs tasks"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(task.now_or_never(), Some(round));
    }
    assert!(
        fallback_pool_runs_a_task(),
        "the fallback pool no longer runs tasks"
    );
}

/// The most threads the fallback blocking pool starts.
const BLOCKING_MAX_THREADS: usize = 64;

/// A detached blocking call whose output panics as it is dropped (on the
/// pool's thread, where a detached output is dropped) must not cost the
/// blocking pool a thread for good. Regression: the panic unwound out of
/// the job and ended the thread without taking it off the pool's count of
/// threads; once that count reached its cap no thread was started again
/// and every later `Runtime::Fallback.spawn_blocking` waited forever.
#[test]
fn blocking_pool_survives_detached_outputs_that_panic_on_drop() {
    if !in_child_process("blocking_pool_survives_detached_outputs_that_panic_on_drop") {
        return;
    }
    for round in 0..BLOCKING_MAX_THREADS + 8 {
        let (ran_tx, ran) = mpsc::channel();
        Runtime::Fallback
            .spawn_blocking(move || {
                let _ = ran_tx.send(());
                PanicsOnDrop
            })
            .detach();
        assert!(
            ran.recv_timeout(STOPPED).is_ok(),
            "round {round}: the blocking pool no longer runs calls"
        );
    }
}

/// A blocking call whose handle is dropped before a thread took it never
/// runs (the pool's threads are all busy meanwhile, so the calls queue).
#[test]
fn blocking_calls_dropped_while_queued_never_run() {
    if !in_child_process("blocking_calls_dropped_while_queued_never_run") {
        return;
    }
    let gate = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (busy_tx, busy) = mpsc::channel();
    for _ in 0..BLOCKING_MAX_THREADS {
        let gate = gate.clone();
        let busy_tx = busy_tx.clone();
        Runtime::Fallback
            .spawn_blocking(move || {
                let _ = busy_tx.send(());
                let started = Instant::now();
                while !gate.load(Ordering::SeqCst) && started.elapsed() < HANG {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .detach();
    }
    for _ in 0..BLOCKING_MAX_THREADS {
        assert!(busy.recv_timeout(HANG).is_ok(), "a blocker started");
    }
    let ran = Counter::default();
    let dropped = Counter::default();
    for _ in 0..100 {
        let ran = ran.token();
        let closure = dropped.token();
        drop(Runtime::Fallback.spawn_blocking(move || {
            let _closure = closure;
            std::mem::forget(ran);
        }));
    }
    gate.store(true, Ordering::SeqCst);
    let probe = Runtime::Fallback.spawn_blocking(|| 5);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(probe));
    });
    assert_eq!(rx.recv_timeout(HANG).ok(), Some(5));
    // Each skipped call dropped its closure unrun: every token dropped,
    // none forgotten by a call that ran.
    dropped.wait_for(100, "every skipped call's closure is dropped");
    ran.wait_for(100, "no dropped call ran");
}

/// Counts the drops of values made by one test.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Counter {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    fn token(&self) -> Counted {
        Counted(self.clone())
    }

    /// Waits (bounded, only against a hang) until `expected` drops.
    fn wait_for(&self, expected: usize, what: &str) {
        let started = Instant::now();
        while self.count() < expected && started.elapsed() < HANG {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(self.count(), expected, "{what}");
    }
}

/// Adds one to its counter when dropped.
struct Counted(Counter);

impl Drop for Counted {
    fn drop(&mut self) {
        (self.0).0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Spawns `future` on `runtime`, or makes a blocking call on the fallback.
fn start(how: usize, output: Counted, future_guard: Counted) -> Task<Counted> {
    match how {
        0 => Runtime::Fallback.spawn(async move {
            let _guard = future_guard;
            output
        }),
        1 => Runtime::AsyncStd.spawn(async move {
            let _guard = future_guard;
            output
        }),
        _ => Runtime::Fallback.spawn_blocking(move || {
            drop(future_guard);
            output
        }),
    }
}

/// The handle dropped at any moment against the task's end, on real
/// threads: each output is dropped exactly once (never leaked in the
/// shared slot, never twice), and each future or call is gone afterwards.
#[test]
fn handle_drop_racing_the_end_drops_each_output_once() {
    const ROUNDS: usize = 2000;
    for how in 0..3 {
        let outputs = Counter::default();
        let futures = Counter::default();
        for round in 0..ROUNDS {
            let task = start(how, outputs.token(), futures.token());
            // Some handles go at once, some a little later, some after the end.
            for _ in 0..round % 64 {
                std::hint::spin_loop();
            }
            drop(task);
        }
        futures.wait_for(ROUNDS, "every future or call is dropped");
        outputs.wait_for(ROUNDS, "every output is dropped exactly once");
    }
}

/// `detach` racing the end, and after it: each output is dropped exactly
/// once, wherever it is (the slot, the remote end, or `forget`).
#[test]
fn detach_racing_the_end_drops_each_output_once() {
    const ROUNDS: usize = 2000;
    for how in 0..3 {
        let outputs = Counter::default();
        let futures = Counter::default();
        for round in 0..ROUNDS {
            let task = start(how, outputs.token(), futures.token());
            if round % 2 == 0 {
                let started = Instant::now();
                while !task.is_finished() && started.elapsed() < HANG {
                    std::hint::spin_loop();
                }
            }
            task.detach();
        }
        futures.wait_for(ROUNDS, "every future or call is dropped");
        outputs.wait_for(ROUNDS, "every output is dropped exactly once");
    }
}

/// A handle polled first from one task (its waker registered) and then
/// moved to another task that awaits it: the second task is woken (the
/// handle keeps the latest waker, not the first).
#[test]
fn a_handle_moved_to_another_task_wakes_that_task() {
    for runtime in [Runtime::Fallback, Runtime::AsyncStd] {
        for round in 0..200u32 {
            let (release_tx, release) = futures::channel::oneshot::channel::<()>();
            let mut task = runtime.spawn(async move {
                let _ = release.await;
                round
            });
            // The first task: a poll with a waker that is then forgotten.
            let first = Waker::from(Arc::new(Noop));
            let polled = Pin::new(&mut task).poll(&mut Context::from_waker(&first));
            assert!(polled.is_pending());
            let (done_tx, done) = mpsc::channel();
            Runtime::Fallback
                .spawn(async move {
                    let _ = done_tx.send(task.await);
                })
                .detach();
            let _ = release_tx.send(());
            assert_eq!(
                done.recv_timeout(HANG).ok(),
                Some(round),
                "{runtime:?}: the awaiting task was never woken"
            );
        }
    }
}

/// A waker that does nothing.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// A pending task asleep on the fallback timer, cancelled by its handle
/// at random moments: its future (and the `Arc` it holds) is dropped
/// promptly each time, so the remote end was woken and nothing is kept
/// alive by a cycle through the stored wakers.
#[test]
fn cancelling_sleeping_tasks_frees_their_state() {
    for runtime in [Runtime::Fallback, Runtime::AsyncStd] {
        let shared = Arc::new(());
        let (polled_tx, polled) = mpsc::channel();
        for round in 0..500 {
            let held = shared.clone();
            let polled_tx = polled_tx.clone();
            let task = runtime.spawn(async move {
                let _held = held;
                let _ = polled_tx.send(());
                anyrt_core::sleep(Duration::from_secs(3600)).await;
            });
            if round % 2 == 0 {
                assert!(polled.recv_timeout(HANG).is_ok(), "the task ran");
            }
            drop(task);
        }
        let started = Instant::now();
        while Arc::strong_count(&shared) > 1 && started.elapsed() < HANG {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            Arc::strong_count(&shared),
            1,
            "{runtime:?}: cancelled futures are dropped"
        );
    }
}

/// A task's handle polled again after it yielded its output panics with
/// the documented message; the output is not produced twice.
#[test]
fn polling_a_completed_task_panics() {
    for runtime in [Runtime::Fallback, Runtime::AsyncStd] {
        let mut task = runtime.spawn(async { vec![1u8] });
        assert_eq!(futures::executor::block_on(&mut task), vec![1]);
        assert!(task.is_finished());
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = (&mut task).now_or_never();
        }))
        .expect_err("a second poll panics");
        let message = again
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| again.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(message.contains("polled after it completed"), "{message}");
    }
}

/// A panic resumes in an awaiter on another thread with its own payload
/// (not a string): the payload travels through the slot intact, and is
/// dropped once when the handle is dropped unawaited.
#[test]
fn panic_payload_reaches_the_awaiter_or_is_dropped_once() {
    struct Payload(#[allow(dead_code)] Counted);
    let drops = Counter::default();
    let awaited = {
        let token = drops.token();
        let task = Runtime::Fallback.spawn(async move {
            std::panic::panic_any(Payload(token));
        });
        let awaiter = std::thread::spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                futures::executor::block_on(task)
            }))
        });
        awaiter.join().expect("the awaiter thread")
    };
    let payload = awaited.expect_err("the panic is resumed");
    assert!(payload.is::<Payload>(), "the payload is the task's own");
    drop(payload);
    assert_eq!(drops.count(), 1);

    let token = drops.token();
    let mut task = Runtime::Fallback.spawn(async move {
        std::panic::panic_any(Payload(token));
    });
    let started = Instant::now();
    while !task.is_finished() && started.elapsed() < HANG {
        std::thread::sleep(Duration::from_millis(1));
    }
    task.abort();
    drop(task);
    drops.wait_for(2, "the unawaited payload is dropped once");
}

/// Through the harness, on every runtime: a finished task detached, and a
/// finished task dropped, drop their output exactly once.
#[anyrt_test::test]
async fn finished_tasks_drop_their_output_once_when_detached_or_dropped() {
    let drops = Counter::default();
    for round in 0..200 {
        let task = anyrt_core::spawn({
            let token = drops.token();
            async move { token }
        });
        while !task.is_finished() {
            anyrt_core::yield_now().await;
        }
        if round % 2 == 0 {
            task.detach();
        } else {
            drop(task);
        }
    }
    assert_eq!(drops.count(), 200);
}

/// The remote end of a fallback task promises that no panic leaves it,
/// "the drop of an outcome nobody takes" included. A task whose handle is
/// dropped while the task is inside its last poll on a worker still
/// produces its output; nobody will take it, and its destructor panics.
/// Instead of being dropped under `catch_unwind`, the output stays in the
/// slot the two ends share and is dropped with it when the pool drops the
/// spent task, so the panic unwinds out of the pool's worker, which is
/// never replaced: after one such task per CPU no task on the fallback
/// runs again.
#[test]
fn fallback_pool_survives_an_untaken_output_finished_after_its_handle_was_dropped() {
    if !in_child_process(
        "fallback_pool_survives_an_untaken_output_finished_after_its_handle_was_dropped",
    ) {
        return;
    }
    for round in 0..more_than_the_workers() {
        let (in_poll_tx, in_poll) = mpsc::channel();
        let (dropped_tx, dropped) = mpsc::channel::<()>();
        let task = Runtime::Fallback.spawn(async move {
            let _ = in_poll_tx.send(());
            // Still inside the poll until the handle is gone.
            let _ = dropped.recv_timeout(HANG);
            PanicsOnDrop
        });
        assert!(
            in_poll.recv_timeout(STOPPED).is_ok(),
            "round {round}: the fallback pool no longer runs tasks"
        );
        drop(task);
        let _ = dropped_tx.send(());
    }
    assert!(
        fallback_pool_runs_a_task(),
        "the fallback pool no longer runs tasks"
    );
}

/// Blocks the thread that wakes it until the test has looked at the task
/// (bounded, only against a hang).
struct WaitingWaker {
    woken: mpsc::SyncSender<()>,
    release: std::sync::Mutex<mpsc::Receiver<()>>,
}

impl Wake for WaitingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.woken.try_send(());
        let release = self.release.lock().unwrap_or_else(|p| p.into_inner());
        let _ = release.recv_timeout(HANG);
    }
}

/// `Task::is_finished`: "Whether the task has ended: finished, panicked,
/// or cancelled". On the fallback pool and on async-std the flag behind it
/// is set only once the remote end's poll has returned, after it handed
/// the outcome to the handle and woke the awaiter: an awaiter on another
/// thread gets the task's panic resumed and then sees `is_finished()`
/// still `false`. Here the awaiter's waker holds the remote end in that
/// window so that it is seen every time; without it the race shows now
/// and then with an ordinary awaiter.
#[test]
fn a_task_whose_panic_was_resumed_is_finished() {
    quiet_provoked_panics();
    for runtime in [Runtime::Fallback, Runtime::AsyncStd] {
        let (woken_tx, woken) = mpsc::sync_channel(1);
        let (release_tx, release) = mpsc::channel();
        let waker = Waker::from(Arc::new(WaitingWaker {
            woken: woken_tx,
            release: std::sync::Mutex::new(release),
        }));
        let (go_tx, go) = mpsc::channel::<()>();
        let mut task = runtime.spawn(async move {
            let _ = go.recv_timeout(HANG);
            std::panic::panic_any(PROVOKED);
        });
        // The awaiter's first poll leaves the waker that blocks.
        assert!(
            Pin::new(&mut task)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        let _ = go_tx.send(());
        assert!(
            woken.recv_timeout(HANG).is_ok(),
            "{runtime:?}: the awaiter is woken"
        );
        let resumed = catch_unwind(AssertUnwindSafe(|| {
            Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop()))
        }));
        assert!(resumed.is_err(), "{runtime:?}: the task's panic is resumed");
        let finished = task.is_finished();
        let _ = release_tx.send(());
        assert!(
            finished,
            "{runtime:?}: the awaiter has the task's panic, yet the task is not finished"
        );
    }
}
