//! `spawn_blocking`: run a blocking call off the executor's threads, on the
//! pool that belongs with the runtime in use.

use crate::ambient::Ambient;
use crate::runtime::Runtime;
use crate::task::{Inner, Task};

impl Runtime {
    /// Runs the blocking call `f` on this runtime's blocking pool and
    /// returns its [`Task`]; see [`spawn_blocking`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::Runtime;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sum = Runtime::Fallback.spawn_blocking(|| (1..=10).sum::<u32>());
    /// assert_eq!(sum.await, 55);
    /// # });
    /// ```
    pub fn spawn_blocking<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let ambient = Ambient::capture();
        if ambient.is_empty() {
            return self.spawn_blocking_bound(f);
        }
        // Under a context, the call runs inside a poll that makes it
        // current, and task hooks (a virtual clock's) count it as a task
        // until its output is taken: time does not jump while it runs.
        let (call, watch) = ambient.attach_task(async move { f() });
        let call = move || {
            // Ready at its first poll: the call is the whole future.
            futures::FutureExt::now_or_never(call).expect("a blocking call completes in one poll")
        };
        self.spawn_blocking_bound(call).watched(watch)
    }

    fn spawn_blocking_bound<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio(handle) => Inner::Tokio(handle.spawn_blocking(f)),
            #[cfg(feature = "smol")]
            Runtime::Smol => Inner::Blocking(blocking::unblock(f)),
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => Inner::Blocking(blocking::unblock(f)),
            Runtime::Fallback => Inner::Fallback(crate::fallback::blocking::spawn(f)),
        };
        Task::new(inner)
    }
}

/// Runs the blocking call `f` (file I/O, a CPU-heavy computation, a
/// synchronous client) off the executor's threads, on the blocking pool of
/// the ambient runtime ([`Runtime::current`]): tokio's inside tokio, the
/// `blocking` crate's (smol's `unblock`) for smol and async-std, and
/// otherwise a pool of threads that anyrt starts on first use. The call
/// sees the caller's ambient context (deadline, timer, values).
///
/// Under a [`VirtualClock`](crate::VirtualClock)'s auto-advance, the clock
/// does not jump while the call runs, as tokio's paused clock does not.
///
/// # Cancel safety
///
/// Dropping the [`Task`] (or [`Task::abort`]) before the call started
/// keeps it from starting where the pool allows it (the fallback's and the
/// `blocking` crate's do; tokio's may); once it runs, it runs to its end (a
/// thread cannot be stopped from outside) and its output is dropped.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let digest = anyrt::spawn_blocking(|| {
///     std::thread::sleep(std::time::Duration::from_millis(1));
///     "computed"
/// });
/// assert_eq!(digest.await, "computed");
/// # });
/// ```
pub fn spawn_blocking<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Runtime::current().spawn_blocking(f)
}
