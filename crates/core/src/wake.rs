//! Waking wakers that belong to somebody else's executor.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Waker;

/// Wakes `waker`. A wake that panics (its executor's bug, reported by the
/// panic hook) goes no further: the wakers woken with it are woken all
/// the same, and what the caller did before the wake stands. For code
/// that wakes waiters after changing shared state (a semaphore's release,
/// a queue's hand-over), where a panic would leave others asleep or throw
/// away a result already taken.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::task::{Wake, Waker};
///
/// struct Broken;
/// impl Wake for Broken {
///     fn wake(self: Arc<Self>) {
///         panic!("a broken executor");
///     }
/// }
///
/// # let hook = std::panic::take_hook();
/// # std::panic::set_hook(Box::new(|_| {}));
/// anyrt::wake_quietly(Waker::from(Arc::new(Broken))); // returns
/// # std::panic::set_hook(hook);
/// ```
pub fn wake_quietly(waker: Waker) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
        // Its payload's drop could panic too.
        std::mem::forget(panic);
    }
}

/// Wakes every waker, each as [`wake_quietly`] does.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    wakers.into_iter().for_each(wake_quietly);
}
