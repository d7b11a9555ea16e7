//! A real-time limit on a test, on its own thread so that no timer under
//! test (virtual or not) is involved.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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
        _done: Done,
    }
}

/// Tells the watchdog thread the test ended, also by panic.
struct Done(Arc<Shared>);

impl Drop for Done {
    fn drop(&mut self) {
        *self.0.done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.0.done_changed.notify_all();
    }
}

impl<F> Watchdog<F> {
    pub(crate) fn new(inner: F, limit: Duration, label: String) -> Self {
        let shared = Arc::new(Shared {
            fired: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            done: Mutex::new(false),
            done_changed: Condvar::new(),
        });
        let watcher = shared.clone();
        let message = label.clone();
        std::thread::Builder::new()
            .name("anyrt-test-watchdog".into())
            .spawn(move || watch(&watcher, limit, &message))
            .expect("anyrt-test: cannot start the watchdog thread");
        Watchdog {
            inner,
            _done: Done(shared.clone()),
            shared,
            limit,
            label,
        }
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

fn watch(shared: &Shared, limit: Duration, label: &str) {
    if wait_done(shared, Instant::now() + limit) {
        return;
    }
    shared.fired.store(true, Ordering::SeqCst);
    shared.waker.wake();
    if wait_done(shared, Instant::now() + GRACE) {
        return;
    }
    eprintln!(
        "anyrt-test: {label} is stuck inside a poll {limit:?} after it started; ending the process"
    );
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
                "anyrt-test: {} timed out after {:?} of real time",
                this.label, this.limit
            );
        }
        Poll::Pending
    }
}
