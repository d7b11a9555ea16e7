//! Waking wakers that belong to somebody else's executor.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Waker;

/// Wakes `waker`. A wake that panics (its executor's bug, reported by the
/// panic hook) goes no further: the wakers woken with it are woken all
/// the same, and what was done before the wake stands.
pub(crate) fn wake_quietly(waker: Waker) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
        // Its payload's drop could panic too.
        std::mem::forget(panic);
    }
}

/// Wakes every waker, each as [`wake_quietly`] does.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    wakers.into_iter().for_each(wake_quietly);
}
