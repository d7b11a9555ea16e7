//! Wakers for the tests of what wakes: one that counts, one that panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

use crate::panics::PROVOKED;

/// A waker that counts its wakes.
#[derive(Debug)]
pub struct Counting(pub AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that counts its wakes, and its count.
pub fn counting() -> (Waker, Arc<Counting>) {
    let count = Arc::new(Counting(AtomicUsize::new(0)));
    (Waker::from(count.clone()), count)
}

/// A waker whose wake panics (with [`PROVOKED`]), as a hand-written
/// executor's does when it sends the task to a queue whose receiver is
/// gone (`send(..).unwrap()`).
struct Panicking;

impl Wake for Panicking {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any(PROVOKED);
    }
}

/// A waker whose wake panics.
pub fn panicking() -> Waker {
    Waker::from(Arc::new(Panicking))
}

/// Runs `f` on a thread and fails (instead of hanging) if it does not end:
/// for the tests of wakers dropped, or woken, under a lock they re-enter.
pub fn ends_without_deadlock(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    // Generous: the work takes microseconds; only a deadlock waits this long.
    let ended = ended.recv_timeout(std::time::Duration::from_secs(30));
    assert!(ended.is_ok(), "{what}: it did not end (a lock taken again)");
}
