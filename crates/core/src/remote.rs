//! A task's two ends where the executor's own handle will not do (the
//! fallback pools, async-std): the future runs in a [`Remote`] and sends
//! its output, or its panic, to the [`RemoteHandle`] that awaits it.
//!
//! Dropping the handle cancels the remote end (it is woken, and drops its
//! future at that poll) unless [`RemoteHandle::forget`] let it run on.
//! Unlike `futures`' remote handle, awaiting this one asks nothing of the
//! output type beyond `Send` where the spawn needs it: a bound of `'static`
//! on the handle's `Future` impl would keep every future that holds a
//! task of a type that borrows for `'static` (`Task<&'static str>`) from
//! being `Send`, since the compiler cannot prove the bound on the lifetimes
//! it erases inside a future.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures::FutureExt;
use futures::future::CatchUnwind;

/// What the two ends share.
struct Slot<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    /// The output, or the panic, until the handle takes it.
    output: Option<Result<T, Box<dyn Any + Send>>>,
    /// The handle waiting for the output.
    handle_waker: Option<Waker>,
    /// The remote end, to wake when the handle is dropped.
    remote_waker: Option<Waker>,
    /// The handle was dropped without `forget`: the remote end stops.
    cancelled: bool,
    /// The handle let the remote end run on alone.
    detached: bool,
    /// The remote end is gone, with or without an output.
    finished: bool,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing under the lock panics halfway through an update.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Splits `future` into the end that runs it and the handle to its output.
pub(crate) fn remote<F: Future>(future: F) -> (Remote<F>, RemoteHandle<F::Output>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(State {
            output: None,
            handle_waker: None,
            remote_waker: None,
            cancelled: false,
            detached: false,
            finished: false,
        }),
    });
    let remote = Remote {
        future: Some(AssertUnwindSafe(future).catch_unwind()),
        slot: slot.clone(),
    };
    (remote, RemoteHandle { slot })
}

pin_project_lite::pin_project! {
    /// The running end: polls the future (catching its panic) until it
    /// ends or the handle is dropped, and sends the outcome.
    ///
    /// No panic leaves it: the executors under it (the `futures` thread
    /// pool, the fallback's blocking threads) would lose the thread. The
    /// future's poll and its drop, the awaiter's waker and the drop of an
    /// outcome nobody takes are all caught; a panic of the future's drop
    /// after it finished leaves its output to the awaiter.
    pub(crate) struct Remote<F: Future> {
        #[pin]
        future: Option<CatchUnwind<AssertUnwindSafe<F>>>,
        slot: Arc<Slot<F::Output>>,
    }

    impl<F: Future> PinnedDrop for Remote<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            // Dropped unfinished (its executor shut down).
            quietly(|| this.future.set(None));
            let waker = {
                let mut state = this.slot.lock();
                state.finished = true;
                state.remote_waker = None;
                state.handle_waker.take()
            };
            if let Some(waker) = waker {
                quietly(|| waker.wake());
            }
        }
    }
}

/// Runs `f`, catching its panic (the panic hook has reported it); the
/// payload is dropped, or forgotten if dropping it panics too.
fn quietly(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        forget_on_panic(payload);
    }
}

/// Drops `value`, or forgets what its drop panicked with.
fn forget_on_panic<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
        std::mem::forget(payload);
    }
}

impl<F: Future> Future for Remote<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let cancelled = {
            let mut state = this.slot.lock();
            if !state.cancelled && !state.detached {
                set_waker(&mut state.remote_waker, cx.waker());
            }
            state.cancelled
        };
        if cancelled {
            quietly(|| this.future.set(None));
            return Poll::Ready(());
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(());
        };
        let outcome = match future.poll(cx) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => return Poll::Pending,
        };
        // The task's destructors run before its output is seen; the output
        // stands if one panics (the panic hook has reported it).
        quietly(|| this.future.set(None));
        let waker = {
            let mut state = this.slot.lock();
            state.finished = true;
            state.remote_waker = None;
            if state.detached || state.cancelled {
                // Nobody will take it (the handle let go, or was dropped
                // during this poll): dropped here, after the lock, so that
                // a panic of its drop stays in this end.
                drop(state);
                forget_on_panic(outcome);
                return Poll::Ready(());
            }
            state.output = Some(outcome);
            state.handle_waker.take()
        };
        if let Some(waker) = waker {
            quietly(|| waker.wake());
        }
        Poll::Ready(())
    }
}

/// The awaiting end: yields the output, or resumes the panic.
pub(crate) struct RemoteHandle<T> {
    slot: Arc<Slot<T>>,
}

impl<T> RemoteHandle<T> {
    /// Whether the remote end is gone: its outcome, if any, is here to be
    /// taken (it is published in the same step).
    pub(crate) fn is_finished(&self) -> bool {
        self.slot.lock().finished
    }

    /// Lets the remote end run to its end; its output is dropped there.
    pub(crate) fn forget(self) {
        let output = {
            let mut state = self.slot.lock();
            state.detached = true;
            state.remote_waker = None;
            state.output.take()
        };
        // Finished already: dropped here, and like a detached task's its
        // panic goes no further than the panic hook.
        if let Some(output) = output {
            quietly(|| drop(output));
        }
        // Dropped detached: the remote end is not cancelled.
    }
}

impl<T> Future for RemoteHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.slot.lock();
        match state.output.take() {
            Some(Ok(output)) => Poll::Ready(output),
            Some(Err(panic)) => {
                drop(state);
                resume_unwind(panic)
            }
            None if state.finished => {
                drop(state);
                panic!("anyrt: the task was dropped before it finished (its executor shut down)")
            }
            None => {
                set_waker(&mut state.handle_waker, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for RemoteHandle<T> {
    fn drop(&mut self) {
        let (waker, output) = {
            let mut state = self.slot.lock();
            if state.detached {
                return;
            }
            state.cancelled = true;
            (state.remote_waker.take(), state.output.take())
        };
        drop(output);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Keeps `waker` in `slot`, cloning it only if it would not wake the same
/// task as the one there.
fn set_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(old) if old.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}
