//! `Handle`: a child's output, awaited inside its scope; `SpawnWait`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use crate::child::{BoxChild, Cell};
use crate::scope::{Scope, Slots};

/// The handle of an in-place child: awaiting it yields the child's `Ok`
/// output. Made by [`Scope::spawn`].
///
/// The child runs whether or not its handle is awaited or kept; dropping
/// the handle only says that nobody will read the output, which lets the
/// scope free the child as soon as it finishes.
///
/// # Panics
///
/// Awaiting a handle panics if its child is gone without an output: the
/// spawn was rejected ([`is_rejected`](Handle::is_rejected)), or the
/// handle was carried out of the run (as its output) and awaited after the
/// run ended. Inside a run neither can happen: a child's `Err` or panic
/// ends the run, dropping every future that could await the handle. As
/// any future, it also panics if polled again after it returned the
/// output.
///
/// # Cancel safety
///
/// Dropping a future that awaits the handle loses nothing: the output
/// stays for the next await.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let s = anyrt::scope::Scope::<std::io::Error>::new();
/// let len = s
///     .run(async {
///         let handle = s.spawn(async { Ok("four".len()) });
///         Ok(handle.await)
///     })
///     .await?;
/// assert_eq!(len, 4);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct Handle<'s, T> {
    slots: Option<&'s (dyn Slots + 's)>,
    key: usize,
    id: u64,
    _output: PhantomData<fn() -> T>,
}

impl<'s, T> Handle<'s, T> {
    pub(crate) fn new(slots: &'s (dyn Slots + 's), key: usize, id: u64) -> Self {
        Handle {
            slots: Some(slots),
            key,
            id,
            _output: PhantomData,
        }
    }

    pub(crate) fn rejected() -> Self {
        Handle {
            slots: None,
            key: usize::MAX,
            id: u64::MAX,
            _output: PhantomData,
        }
    }

    /// Whether the spawn was rejected because the scope was not running;
    /// the future was then dropped unpolled.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = anyrt::scope::Scope::<std::io::Error>::new();
    /// assert!(s.spawn(async { Ok(()) }).is_rejected(), "no run in progress");
    /// ```
    pub fn is_rejected(&self) -> bool {
        self.id == u64::MAX && self.key == usize::MAX
    }
}

impl<T: 'static> Future for Handle<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let Some(slots) = self.slots else {
            match self.is_rejected() {
                true => panic!("anyrt-scope: awaited the handle of a rejected spawn"),
                false => panic!("anyrt-scope: a handle polled after it returned its output"),
            }
        };
        let mut slot: Option<T> = None;
        match slots.poll_output(self.key, self.id, cx.waker(), &mut slot) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(found) => {
                self.slots = None;
                match slot {
                    Some(output) if found => Poll::Ready(output),
                    _ => panic!("anyrt-scope: awaited a handle whose child is gone"),
                }
            }
        }
    }
}

impl<T> Drop for Handle<'_, T> {
    fn drop(&mut self) {
        if let Some(slots) = self.slots {
            slots.release(self.key, self.id);
        }
    }
}

impl<T> fmt::Debug for Handle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("rejected", &self.is_rejected())
            .finish_non_exhaustive()
    }
}

/// Spawns a child once its scope has room; made by
/// [`Scope::spawn_wait`].
///
/// # Cancel safety
///
/// Dropping it drops the future unspawned and gives up its place in the
/// queue (or the place it was granted, to the next in line).
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use anyrt::scope::Scope;
///
/// # futures_lite::future::block_on(async {
/// let s = Scope::<()>::new().limit(NonZeroUsize::MIN);
/// s.run(async {
///     let waiting: anyrt::scope::futures::SpawnWait<'_, '_, _, _> = s.spawn_wait(async { Ok(7) });
///     let handle = waiting.await; // admitted: the child runs
///     assert_eq!(handle.await, 7);
///     Ok(())
/// })
/// .await
/// .unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SpawnWait<'s, 'a, F, E> {
    scope: &'s Scope<'a, E>,
    /// The child, boxed where the call is made (as by `spawn`): a future
    /// moved through the admission by value is copied on the stack at
    /// each step in a debug build, which a large one overflowed. In a
    /// mutex only so that the future is `Sync` (the box is `Send`);
    /// reached through `get_mut`, never locked.
    child: Mutex<Option<BoxChild<'a, E>>>,
    ticket: Option<u64>,
    future: PhantomData<fn() -> F>,
}

impl<F, E> Unpin for SpawnWait<'_, '_, F, E> {}

impl<'s, 'a, F, E> SpawnWait<'s, 'a, F, E> {
    pub(crate) fn new<T>(scope: &'s Scope<'a, E>, future: F) -> Self
    where
        F: Future<Output = Result<T, E>> + Send + 'a,
        T: Send + 'static,
    {
        SpawnWait {
            scope,
            child: Mutex::new(Some(Box::pin(Cell::new(future)))),
            ticket: None,
            future: PhantomData,
        }
    }
}

impl<'s, 'a, F, T, E> Future for SpawnWait<'s, 'a, F, E>
where
    F: Future<Output = Result<T, E>> + Send + 'a,
    T: Send + 'static,
    E: Send + 'a,
{
    type Output = Handle<'s, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Handle<'s, T>> {
        let this = &mut *self;
        let scope = this.scope;
        let child = this.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        Poll::Ready(
            match ready!(scope.poll_admitted(&mut this.ticket, child, cx.waker())) {
                Some((child, run)) => scope.insert(child, Some(run)),
                None => Handle::rejected(),
            },
        )
    }
}

impl<F, E> Drop for SpawnWait<'_, '_, F, E> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.scope.cancel_place(ticket);
        }
    }
}

impl<F, E> fmt::Debug for SpawnWait<'_, '_, F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnWait")
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}
