//! `Spawn` and `Task<T>`: one semantics on every runtime.

use std::fmt;
use std::future::Future;
#[cfg(any(feature = "tokio", feature = "async-std"))]
use std::panic::resume_unwind;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::future::RemoteHandle;

use crate::ambient::JoinWatch;

/// Something that can start a `Send + 'static` future as a task.
///
/// [`Runtime`](crate::Runtime) implements it for each runtime, and
/// [`AmbientRuntime`](crate::AmbientRuntime) for the one found at call time.
/// Whatever the runtime, the [`Task`] behaves the same.
///
/// # Examples
///
/// ```
/// use anyrt_core::{Runtime, Spawn};
///
/// # futures_lite::future::block_on(async {
/// let task = Runtime::Fallback.spawn(async { 6 * 7 });
/// assert_eq!(task.await, 42);
/// # });
/// ```
pub trait Spawn: Send + Sync {
    /// Starts `future` as a task; the task captures the ambient context of
    /// the caller (timer override, runtime override, ambient values).
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

#[cfg(feature = "async-std")]
type Panic = Box<dyn std::any::Any + Send + 'static>;

/// Wraps a future so that its panic becomes a value the [`Task`] resumes.
#[cfg(feature = "async-std")]
pub(crate) fn catch<F: Future>(
    future: F,
) -> futures::future::CatchUnwind<std::panic::AssertUnwindSafe<F>> {
    futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(future))
}

/// A spawned task.
///
/// - Awaiting it yields the task's output, or resumes the task's panic in
///   the awaiting task.
/// - Dropping it cancels the task: the task's future is dropped at its next
///   scheduling point and never polled again.
/// - [`detach`](Task::detach) lets the task run on without a handle.
///
/// These hold the same on every runtime (tokio's own `JoinHandle` detaches
/// on drop; this handle does not).
///
/// # Cancel safety
///
/// Dropping the `Task` (or a future awaiting it) cancels the task.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(anyrt_core::with_runtime(anyrt_core::Runtime::Fallback, async {
/// let task = anyrt_core::spawn(async { "done" });
/// assert_eq!(task.await, "done");
/// # }));
/// ```
#[must_use = "dropping a Task cancels it; call detach() to let it run"]
pub struct Task<T> {
    inner: Option<Inner<T>>,
    /// Tells task hooks (a virtual clock's) when the output is taken.
    watch: Option<JoinWatch>,
}

pub(crate) enum Inner<T> {
    #[cfg(feature = "tokio")]
    Tokio(tokio::task::JoinHandle<T>),
    #[cfg(feature = "smol")]
    Smol(smol::Task<T>),
    #[cfg(feature = "async-std")]
    AsyncStd(
        async_std::task::JoinHandle<Result<Result<T, Panic>, futures::future::Aborted>>,
        futures::future::AbortHandle,
    ),
    Fallback(RemoteHandle<T>),
}

impl<T> Task<T> {
    #[inline]
    pub(crate) fn new(inner: Inner<T>) -> Self {
        Task {
            inner: Some(inner),
            watch: None,
        }
    }

    /// The task, with the watch of the hooks that track it.
    pub(crate) fn watched(mut self, watch: Option<JoinWatch>) -> Self {
        self.watch = watch;
        self
    }

    /// Lets the task run to its end with nobody waiting for it; its output
    /// is dropped and a panic is reported only by the panic hook.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, Spawn};
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// Runtime::Fallback.spawn(async move { tx.send(1).unwrap() }).detach();
    /// assert_eq!(rx.recv().unwrap(), 1);
    /// ```
    pub fn detach(mut self) {
        match self.inner.take() {
            #[cfg(feature = "tokio")]
            Some(Inner::Tokio(handle)) => drop(handle),
            #[cfg(feature = "smol")]
            Some(Inner::Smol(task)) => task.detach(),
            #[cfg(feature = "async-std")]
            Some(Inner::AsyncStd(handle, abort)) => drop((handle, abort)),
            Some(Inner::Fallback(handle)) => handle.forget(),
            None => {}
        }
    }
}

impl<T> Drop for Task<T> {
    #[inline]
    fn drop(&mut self) {
        // Matched in place (the handles are dropped after this, by the
        // drop glue): taking the handle out first would copy it for nothing.
        match &self.inner {
            #[cfg(feature = "tokio")]
            Some(Inner::Tokio(handle)) => handle.abort(),
            #[cfg(feature = "async-std")]
            Some(Inner::AsyncStd(_, abort)) => abort.abort(),
            // smol's task and the remote handle cancel when dropped.
            _ => {}
        }
    }
}

impl<T: 'static> Future for Task<T> {
    type Output = T;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let inner = self
            .inner
            .as_mut()
            .expect("anyrt: Task polled after it completed");
        let output = match inner {
            #[cfg(feature = "tokio")]
            Inner::Tokio(handle) => match ready!(Pin::new(handle).poll(cx)) {
                Ok(output) => output,
                Err(error) if error.is_panic() => resume_unwind(error.into_panic()),
                Err(_) => {
                    panic!("anyrt: the task was cancelled because its tokio runtime shut down")
                }
            },
            #[cfg(feature = "smol")]
            Inner::Smol(task) => ready!(Pin::new(task).poll(cx)),
            #[cfg(feature = "async-std")]
            Inner::AsyncStd(handle, _) => match ready!(Pin::new(handle).poll(cx)) {
                Ok(result) => result.unwrap_or_else(|p| resume_unwind(p)),
                Err(_) => unreachable!("a task is aborted only when its handle is dropped"),
            },
            Inner::Fallback(handle) => ready!(Pin::new(handle).poll(cx)),
        };
        self.inner = None;
        self.watch = None;
        Poll::Ready(output)
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runtime = match &self.inner {
            #[cfg(feature = "tokio")]
            Some(Inner::Tokio(_)) => "tokio",
            #[cfg(feature = "smol")]
            Some(Inner::Smol(_)) => "smol",
            #[cfg(feature = "async-std")]
            Some(Inner::AsyncStd(..)) => "async-std",
            Some(Inner::Fallback(_)) => "fallback",
            None => "completed",
        };
        f.debug_struct("Task").field("runtime", &runtime).finish()
    }
}
