//! A real-time limit on a test, on its own thread so that no timer under
//! test (virtual or not) is involved.
//!
//! The thread watches the whole run, the runtime's shutdown included: a
//! test is done when [`Done`] is dropped, after its runtime was dropped. Its
//! messages go to the process's real stderr, which libtest's output capture
//! does not reach, so they are seen with or without `--nocapture`.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use futures::task::AtomicWaker;
use pin_project_lite::pin_project;

/// After the limit, how long a test stuck inside a poll gets before the
/// process is ended.
const GRACE: Duration = Duration::from_secs(5);

struct Shared {
    fired: AtomicBool,
    waker: AtomicWaker,
    done: Mutex<bool>,
    done_changed: Condvar,
}

pin_project! {
    /// Fails the test (a panic naming it) when it is still pending after the
    /// limit.
    pub(crate) struct Watchdog<F> {
        #[pin]
        inner: F,
        shared: Arc<Shared>,
        limit: Duration,
        label: String,
        clock: Option<VirtualClock>,
    }
}

/// Tells the watchdog thread the test ended, also by panic; made with the
/// watchdog, and held by the caller until the test's runtime is gone.
pub(crate) struct Done(Arc<Shared>);

impl Drop for Done {
    fn drop(&mut self) {
        *self.0.done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.0.done_changed.notify_all();
    }
}

/// What the watchdog does once the limit has passed.
#[derive(Clone, Copy)]
pub(crate) enum OnTimeout {
    /// Make the test's future panic with a message naming it.
    Panic,
    /// End the process with a message: the test expects a panic, and would
    /// take the watchdog's own for a pass.
    Exit,
}

impl<F> Watchdog<F> {
    pub(crate) fn new(
        inner: F,
        limit: Duration,
        label: String,
        clock: Option<VirtualClock>,
        on_timeout: OnTimeout,
    ) -> (Self, Done) {
        let shared = Arc::new(Shared {
            fired: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            done: Mutex::new(false),
            done_changed: Condvar::new(),
        });
        let watcher = shared.clone();
        let message = label.clone();
        let watched = clock.clone();
        std::thread::Builder::new()
            .name("anyrt-test-watchdog".into())
            .spawn(move || watch(&watcher, limit, &message, watched.as_ref(), on_timeout))
            .expect("anyrt-test: cannot start the watchdog thread");
        let done = Done(shared.clone());
        let watchdog = Watchdog {
            inner,
            shared,
            limit,
            label,
            clock,
        };
        (watchdog, done)
    }
}

/// Waits until the test is done or `deadline`; `true` if it is done.
fn wait_done(shared: &Shared, deadline: Instant) -> bool {
    let mut done = shared.done.lock().unwrap_or_else(|p| p.into_inner());
    while !*done {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        done = shared
            .done_changed
            .wait_timeout(done, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    true
}

/// What a test under a virtual clock that timed out was doing, for the
/// message: the clock only moves when every task it sees has settled, so
/// a test that waits for real time is waiting on something it does not see.
fn clock_hint(clock: Option<&VirtualClock>) -> String {
    let Some(clock) = clock else {
        return String::new();
    };
    format!(
        "; its virtual clock stands at {:?} with {} sleep(s) pending, and moves only when the \
         test and the tasks it spawned through anyrt have nothing to do: the test may be \
         waiting on something the clock does not see (a thread, real I/O, a task spawned with \
         a runtime's own spawner) or on a sleep of another timer",
        clock.elapsed(),
        clock.pending_sleepers()
    )
}

fn watch(
    shared: &Shared,
    limit: Duration,
    label: &str,
    clock: Option<&VirtualClock>,
    on_timeout: OnTimeout,
) {
    // A huge limit saturates (about 30 years) instead of overflowing.
    if wait_done(shared, anyrt_core::deadline_after(Instant::now(), limit)) {
        return;
    }
    if let OnTimeout::Exit = on_timeout {
        end_process(&format!(
            "anyrt-test: {label} timed out after {limit:?} of real time{} (it expects a panic, so \
             the timeout cannot be reported as a failure); ending the process",
            clock_hint(clock)
        ));
    }
    shared.fired.store(true, Ordering::SeqCst);
    shared.waker.wake();
    if wait_done(shared, Instant::now() + GRACE) {
        return;
    }
    end_process(&format!(
        "anyrt-test: {label} timed out after {limit:?} of real time{} and has not ended \
         {GRACE:?} later (stuck inside a poll, or its runtime cannot shut down); ending the process",
        clock_hint(clock)
    ));
}

/// Writes `message` to the process's real stderr and ends the process with
/// a failure status.
fn end_process(message: &str) -> ! {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{message}");
    let _ = stderr.flush();
    std::process::exit(101);
}

impl<F: Future> Future for Watchdog<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.shared.waker.register(cx.waker());
        if let Poll::Ready(output) = this.inner.poll(cx) {
            return Poll::Ready(output);
        }
        if this.shared.fired.load(Ordering::SeqCst) {
            panic!(
                "anyrt-test: {} timed out after {:?} of real time{}",
                this.label,
                this.limit,
                clock_hint(this.clock.as_ref())
            );
        }
        Poll::Pending
    }
}
