//! The fallback's blocking pool: threads started on demand for blocking
//! calls, so that they never hold up the async fallback pool.
//!
//! A call is queued; an idle thread takes it, and a new thread is started
//! whenever the queue holds more calls than there are idle threads (up to
//! [`MAX_THREADS`]). A thread idle for [`KEEP_ALIVE`] ends.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use futures::FutureExt;

use crate::remote::{RemoteHandle, remote};

const MAX_THREADS: usize = 64;
const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

#[derive(Default)]
struct Pool {
    state: Mutex<State>,
    work: Condvar,
}

static POOL: OnceLock<Pool> = OnceLock::new();

fn pool() -> &'static Pool {
    POOL.get_or_init(Pool::default)
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn submit(&'static self, job: Job) {
        let mut state = self.lock();
        state.queue.push_back(job);
        if state.queue.len() > state.idle && state.threads < MAX_THREADS {
            state.threads += 1;
            let started = std::thread::Builder::new()
                .name("anyrt-blocking".into())
                .spawn(move || self.run());
            if started.is_err() {
                // The queued call waits for a thread that is running.
                state.threads -= 1;
            }
        } else {
            self.work.notify_one();
        }
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // A panic must not end the thread: it would stay counted
                // in `threads`, and a full count of them would run nothing.
                if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
                    if let Err(again) =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload)))
                    {
                        std::mem::forget(again);
                    }
                }
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, KEEP_ALIVE)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

/// Runs `f` on the blocking pool. The call is skipped if the handle is
/// dropped before it starts; a panic is resumed where the handle is awaited.
pub(crate) fn spawn<F, T>(f: F) -> RemoteHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (remote, handle) = remote(futures::future::lazy(move |_| f()));
    // One poll runs the call (unless the handle is gone) and sends its
    // output, or its panic, to the handle.
    pool().submit(Box::new(move || {
        let _ = remote.now_or_never();
    }));
    handle
}
