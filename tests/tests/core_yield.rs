//! Conformance: `yield_now` is pending once, after waking its task, and
//! gives the executor a turn to run other tasks, on every runtime.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// Counts its wake-ups.
#[derive(Default)]
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn pending_once_after_waking_then_ready() {
    let wakes = Arc::new(CountWakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let mut yielding = pin!(anyrt_core::yield_now());
    assert_eq!(yielding.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    assert_eq!(yielding.as_mut().poll(&mut cx), Poll::Ready(()));
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
}

#[anyrt_test::test]
async fn a_task_that_yields_lets_another_run() {
    let flag = Arc::new(AtomicBool::new(false));
    let task = anyrt_core::spawn({
        let flag = flag.clone();
        async move { flag.store(true, Ordering::SeqCst) }
    });
    // Never blocks: on a single-threaded executor only the yields let the
    // spawned task run at all.
    let mut yields = 0_u32;
    while !flag.load(Ordering::SeqCst) {
        anyrt_core::yield_now().await;
        yields += 1;
        if yields % 1_000 == 0 {
            std::thread::yield_now();
        }
        assert!(yields < 10_000_000, "the spawned task never ran");
    }
    task.await;
}
