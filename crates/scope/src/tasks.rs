//! The tasks of `spawn_task`, counted until their runtime has dropped
//! their futures, so that a run returns only after their destructors ran.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::wake::set_waker;

#[derive(Default)]
struct State {
    /// Task futures not yet dropped.
    alive: usize,
    /// The run waiting for `alive` to reach zero.
    waker: Option<Waker>,
}

/// The `spawn_task` futures of one scope that are still alive.
#[derive(Default)]
pub(crate) struct Tasks {
    state: Mutex<State>,
}

impl Tasks {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `future` alive until it is dropped.
    pub(crate) fn track<F>(self: &Arc<Self>, future: F) -> Tracked<F> {
        self.lock().alive += 1;
        Tracked {
            future,
            _alive: Alive(self.clone()),
        }
    }

    /// Ready once every tracked future has been dropped.
    pub(crate) fn poll_dropped(&self, waker: &Waker) -> Poll<()> {
        let mut state = self.lock();
        if state.alive == 0 {
            return Poll::Ready(());
        }
        let replaced = set_waker(&mut state.waker, waker);
        drop(state);
        drop(replaced);
        Poll::Pending
    }
}

/// Counts down when dropped, after the future beside it.
struct Alive(Arc<Tasks>);

impl Drop for Alive {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.0.lock();
            state.alive -= 1;
            if state.alive == 0 {
                state.waker.take()
            } else {
                None
            }
        };
        // In a task's drop, maybe while it unwinds: a waker that panics
        // (its executor's bug) must not unwind from here.
        if let Some(waker) = waker {
            anyrt_core::wake_quietly(waker);
        }
    }
}

pin_project! {
    /// A task's future, counted alive until dropped (fields drop in
    /// order: the future first).
    pub(crate) struct Tracked<F> {
        #[pin]
        future: F,
        _alive: Alive,
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}
