//! `Spawn` and `Task<T>`: one semantics on every runtime.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::ambient::JoinWatch;
use crate::remote::RemoteHandle;

/// Something that can start a `Send + 'static` future as a task.
///
/// [`Runtime`](crate::Runtime) implements it for each runtime, and
/// [`AmbientRuntime`](crate::AmbientRuntime) for the one found at call time.
/// Whatever the runtime, the [`Task`] behaves the same.
///
/// # Examples
///
/// ```
/// use anyrt::{Runtime, Spawn};
///
/// # futures_lite::future::block_on(async {
/// let task = Runtime::Fallback.spawn(async { 6 * 7 });
/// assert_eq!(task.await, 42);
/// # });
/// ```
pub trait Spawn: Send + Sync {
    /// Starts `future` as a task; the task captures the ambient context of
    /// the caller (timer override, runtime override, ambient values).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{AmbientRuntime, Spawn};
    ///
    /// /// A library type that spawns on whatever runtime it is given.
    /// struct Worker<S: Spawn>(S);
    ///
    /// impl<S: Spawn> Worker<S> {
    ///     fn start(&self) -> anyrt::Task<&'static str> {
    ///         self.0.spawn(async { "working" })
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// assert_eq!(Worker(AmbientRuntime).start().await, "working");
    /// # });
    /// ```
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// Futures larger than this many bytes are boxed where they enter a spawn
/// (as tokio's own spawn does, at the same sizes), so that the layers under
/// it move a pointer: in a debug build each layer copies its argument on
/// the stack, and a large future would overflow it.
const BOX_ABOVE: usize = if cfg!(debug_assertions) {
    2 * 1024
} else {
    16 * 1024
};

/// Whether a spawn boxes a future of type `F` before passing it on.
pub(crate) const fn boxed_on_spawn<F>() -> bool {
    std::mem::size_of::<F>() > BOX_ABOVE
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
/// # futures_lite::future::block_on(anyrt::with_runtime(anyrt::Runtime::Fallback, async {
/// let task = anyrt::spawn(async { "done" });
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
    /// A task on async-std, through a remote handle (async-std's own
    /// handle detaches on drop and cannot tell whether the task ended).
    AsyncStd(RemoteHandle<T>),
    /// A blocking call on the `blocking` crate's pool (smol, async-std).
    #[cfg(any(feature = "smol", feature = "async-std"))]
    Blocking(blocking::Task<T>),
    /// A task on the fallback pool, or a blocking call on the fallback's
    /// blocking pool.
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
    /// use anyrt::{Runtime, Spawn};
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// Runtime::Fallback.spawn(async move { tx.send(1).unwrap() }).detach();
    /// assert_eq!(rx.recv().unwrap(), 1);
    /// ```
    pub fn detach(mut self) {
        if let Some(watch) = self.watch.take() {
            watch.detach();
        }
        match self.inner.take() {
            #[cfg(feature = "tokio")]
            Some(Inner::Tokio(handle)) => drop(handle),
            #[cfg(feature = "smol")]
            Some(Inner::Smol(task)) => task.detach(),
            #[cfg(feature = "async-std")]
            Some(Inner::AsyncStd(handle)) => handle.forget(),
            #[cfg(any(feature = "smol", feature = "async-std"))]
            Some(Inner::Blocking(task)) => task.detach(),
            Some(Inner::Fallback(handle)) => handle.forget(),
            None => {}
        }
    }

    /// Cancels the task now, as dropping the handle does, but keeps the
    /// handle: [`is_finished`](Task::is_finished) is then `true`, and
    /// awaiting the handle panics, since there is no output.
    ///
    /// An async task's future is dropped at its next scheduling point. A
    /// blocking call ([`spawn_blocking`](crate::spawn_blocking)) that has
    /// not started never runs; one that is running runs to its end, and its
    /// output is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut task = anyrt::spawn(async {
    ///     anyrt::sleep(Duration::from_secs(3600)).await;
    /// });
    /// task.abort();
    /// assert!(task.is_finished());
    /// # });
    /// ```
    pub fn abort(&mut self) {
        // Dropped here: the handle's drop glue and `Drop for Task` cancel.
        let handle = Task {
            inner: self.inner.take(),
            watch: self.watch.take(),
        };
        drop(handle);
    }

    /// Whether the task has ended: finished, panicked, or cancelled. Once
    /// it is `true`, awaiting the handle completes at its first poll (with
    /// the output or the panic; an aborted task's handle panics).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let task = anyrt::spawn(async { 3 });
    /// while !task.is_finished() {
    ///     anyrt::yield_now().await;
    /// }
    /// assert_eq!(task.await, 3);
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        match &self.inner {
            #[cfg(feature = "tokio")]
            Some(Inner::Tokio(handle)) => handle.is_finished(),
            #[cfg(feature = "smol")]
            Some(Inner::Smol(task)) => task.is_finished(),
            #[cfg(feature = "async-std")]
            Some(Inner::AsyncStd(handle)) => handle.is_finished(),
            #[cfg(any(feature = "smol", feature = "async-std"))]
            Some(Inner::Blocking(task)) => task.is_finished(),
            Some(Inner::Fallback(handle)) => handle.is_finished(),
            None => true,
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
            // smol's task and the remote handle cancel when dropped.
            _ => {}
        }
    }
}

impl<T> Future for Task<T> {
    type Output = T;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = &mut *self;
        let inner = this
            .inner
            .as_mut()
            .expect("anyrt: Task polled after it completed or was aborted");
        let watch = &this.watch;
        let polled = catch_unwind(AssertUnwindSafe(|| match watch {
            None => inner.poll(cx),
            // Under task hooks, the runtime's handle is polled with a waker
            // that tells them when the output is handed over.
            Some(watch) => inner.poll(&mut Context::from_waker(watch.waker(cx))),
        }));
        let outcome = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(panic) => Err(panic),
        };
        // The outcome is taken, the output or the task's panic alike: the
        // handle lets go of the task (and the hooks of their count of it)
        // before a panic is resumed.
        this.inner = None;
        this.watch = None;
        match outcome {
            Ok(output) => Poll::Ready(output),
            Err(panic) => resume_unwind(panic),
        }
    }
}

impl<T> Inner<T> {
    /// Polls the runtime's handle: the output, or the task's panic resumed.
    #[inline]
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        let output = match self {
            // A finished task's handle is polled outside tokio's
            // cooperative budget, which could make it pending for a turn:
            // once `is_finished` says so, the first poll is ready.
            #[cfg(feature = "tokio")]
            Inner::Tokio(handle) if handle.is_finished() => {
                let mut handle = tokio::task::unconstrained(handle);
                tokio_output(ready!(Pin::new(&mut handle).poll(cx)))
            }
            #[cfg(feature = "tokio")]
            Inner::Tokio(handle) => tokio_output(ready!(Pin::new(handle).poll(cx))),
            #[cfg(feature = "smol")]
            Inner::Smol(task) => ready!(Pin::new(task).poll(cx)),
            #[cfg(feature = "async-std")]
            Inner::AsyncStd(handle) => ready!(Pin::new(handle).poll(cx)),
            #[cfg(any(feature = "smol", feature = "async-std"))]
            Inner::Blocking(task) => ready!(Pin::new(task).poll(cx)),
            Inner::Fallback(handle) => ready!(Pin::new(handle).poll(cx)),
        };
        Poll::Ready(output)
    }
}

/// A tokio task's output, or its panic resumed.
#[cfg(feature = "tokio")]
fn tokio_output<T>(joined: Result<T, tokio::task::JoinError>) -> T {
    match joined {
        Ok(output) => output,
        Err(error) if error.is_panic() => resume_unwind(error.into_panic()),
        Err(_) => panic!("anyrt: the task was cancelled because its tokio runtime shut down"),
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
            Some(Inner::AsyncStd(_)) => "async-std",
            #[cfg(any(feature = "smol", feature = "async-std"))]
            Some(Inner::Blocking(_)) => "blocking",
            Some(Inner::Fallback(_)) => "fallback",
            None => "completed",
        };
        f.debug_struct("Task").field("runtime", &runtime).finish()
    }
}
