//! `Supervisor`: an in-place scope whose children all run to their end.

use std::any::Any;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::child::{BoxChild, Cell};
use crate::futures::Run;
use crate::scope::Scope;
use crate::token::CancelToken;

type Outcomes<T, E> = Mutex<Vec<Option<Result<T, E>>>>;
type Panic = Mutex<Option<Box<dyn Any + Send>>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An in-place scope with the supervise policy: an `Err` of a child is
/// recorded, not propagated, and every child runs to its end; the run
/// returns the body's output with every child's outcome, in spawn order.
///
/// Children are polled in place like [`Scope`]'s (they may borrow, they
/// have their own wakers, [`limit`](Supervisor::limit) bounds how many
/// run). A child's panic (in a poll, or in its future's destructor, which
/// runs as soon as the child is done) is held until every other child
/// ended, then resumed with its payload; a panic of the body drops the
/// children and is resumed at once.
///
/// # Examples
///
/// ```
/// use anyrt::scope::Supervisor;
///
/// # futures_lite::future::block_on(async {
/// let sup = Supervisor::new();
/// let (body, outcomes) = sup
///     .run(async {
///         sup.spawn(async { Err("first failed") });
///         sup.spawn(async { Ok(2) });
///         "body done"
///     })
///     .await;
/// assert_eq!(body, "body done");
/// assert_eq!(outcomes, [Err("first failed"), Ok(2)]);
/// # });
/// ```
pub struct Supervisor<'a, T, E> {
    scope: Scope<'a, Infallible>,
    outcomes: Outcomes<T, E>,
    panic: Panic,
}

impl<'a, T, E> Supervisor<'a, T, E> {
    /// A supervisor with no limit on running children.
    ///
    /// # Examples
    ///
    /// ```
    /// let sup = anyrt::scope::Supervisor::<u32, std::io::Error>::new();
    /// assert_eq!(sup.max_running(), usize::MAX);
    /// ```
    pub fn new() -> Self {
        Supervisor {
            scope: Scope::new(),
            outcomes: Mutex::new(Vec::new()),
            panic: Mutex::new(None),
        }
    }

    /// At most `n` children run at once; see [`Scope::limit`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// let sup = anyrt::scope::Supervisor::<u32, std::io::Error>::new().limit(NonZeroUsize::MIN);
    /// assert_eq!(sup.max_running(), 1);
    /// ```
    pub fn limit(self, n: NonZeroUsize) -> Self {
        Supervisor {
            scope: self.scope.limit(n),
            ..self
        }
    }

    /// The limit on running children (`usize::MAX` when none was set).
    ///
    /// # Examples
    ///
    /// ```
    /// let sup = anyrt::scope::Supervisor::<u32, std::io::Error>::new();
    /// assert_eq!(sup.max_running(), usize::MAX);
    /// ```
    pub fn max_running(&self) -> usize {
        self.scope.max_running()
    }

    /// The supervisor's cancel token; see [`Scope::token`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sup = anyrt::scope::Supervisor::<u32, std::io::Error>::new();
    /// assert!(!sup.token().is_cancelled());
    /// ```
    pub fn token(&self) -> CancelToken {
        self.scope.token()
    }
}

impl<'a, T: Send + 'a, E: Send + 'a> Supervisor<'a, T, E> {
    /// Runs `body` and every child to their end; returns the body's output
    /// and the children's outcomes in spawn order (the order in which the
    /// run accepted them: a [`spawn_wait`](Supervisor::spawn_wait) child's
    /// once it got its place).
    ///
    /// # Panics
    ///
    /// If a run is already in progress; a child's panic is resumed after
    /// every other child ended.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the body and every child before `drop`
    /// returns; outcomes gathered so far are discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let sup = anyrt::scope::Supervisor::<u32, String>::new();
    /// let ((), outcomes) = sup.run(async {}).await;
    /// assert!(outcomes.is_empty());
    /// # });
    /// ```
    pub fn run<'s, B: Future>(&'s self, body: B) -> SupervisedRun<'s, 'a, B, T, E> {
        // Once the scope checked that no run is in progress, and before it
        // accepts a child of this one, forgets the last run's outcomes,
        // and a panic it held if it ended some other way (its future
        // dropped, or its body panicking).
        let mut stale = None;
        let run = self.scope.run_then(OkBody { body }, || {
            let outcomes = std::mem::take(&mut *lock(&self.outcomes));
            stale = Some((outcomes, lock(&self.panic).take()));
        });
        // Dropped after the scope's lock: an outcome's destructor may call
        // back into the supervisor, which takes that lock.
        drop(stale);
        SupervisedRun {
            run,
            outcomes: &self.outcomes,
            panic: &self.panic,
        }
    }

    /// Starts `future` as a child; its outcome goes to the run's list.
    /// Returns `false`, with the future dropped unpolled, when no run is in
    /// progress.
    ///
    /// # Examples
    ///
    /// ```
    /// let sup = anyrt::scope::Supervisor::<u32, String>::new();
    /// assert!(!sup.spawn(async { Ok(1) }), "no run in progress");
    /// ```
    pub fn spawn<F>(&'a self, future: F) -> bool
    where
        F: Future<Output = Result<T, E>> + Send + 'a,
    {
        self.insert(self.boxed(future), None)
    }

    /// Like [`spawn`](Supervisor::spawn), waiting first for room under the
    /// limit; see [`Scope::spawn_wait`]. Its output says whether the child
    /// was accepted. The child takes its place in the outcome list when it
    /// is accepted, so a future made before the run, and awaited in it,
    /// keeps its outcome too.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops `future` unspawned and gives up its place in the
    /// queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sup = anyrt::scope::Supervisor::<u32, String>::new().limit(NonZeroUsize::MIN);
    /// let (_, outcomes) = sup
    ///     .run(async {
    ///         for i in 0..3 {
    ///             assert!(sup.spawn_wait(async move { Ok(i) }).await);
    ///         }
    ///     })
    ///     .await;
    /// assert_eq!(outcomes, [Ok(0), Ok(1), Ok(2)]);
    /// # });
    /// ```
    pub fn spawn_wait<F>(&'a self, future: F) -> SuperviseWait<'a, F, T, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'a,
    {
        SuperviseWait {
            sup: self,
            child: Some(self.boxed(future)),
            ticket: None,
        }
    }

    /// `future` as a child, boxed where the spawn is called: moved through
    /// the admission by value, a large future would be copied on the stack
    /// at each step in a debug build. Its place in the outcome list is
    /// given when it is accepted.
    fn boxed<F>(&'a self, future: F) -> SupervisedBox<'a, F, T, E> {
        Box::pin(Cell::new(Supervised {
            future: Some(future),
            index: usize::MAX,
            outcomes: &self.outcomes,
            panic: &self.panic,
        }))
    }

    /// Spawns `child`; `reserved`: the run in which its place under the
    /// limit was taken, if it was. Its place in the outcome list is taken
    /// under the scope's lock, once the child is accepted: a place taken
    /// earlier could belong to an earlier run (the list is cleared when a
    /// run starts), or to none.
    fn insert<F>(&'a self, mut child: SupervisedBox<'a, F, T, E>, reserved: Option<u64>) -> bool
    where
        F: Future<Output = Result<T, E>> + Send + 'a,
    {
        let make = move || -> BoxChild<'a, Infallible> {
            let mut outcomes = lock(&self.outcomes);
            outcomes.push(None);
            if let Some(supervised) = child.as_mut().running() {
                supervised.set_index(outcomes.len() - 1);
            }
            child
        };
        !self.scope.insert_with::<()>(make, reserved).is_rejected()
    }
}

/// A supervised child in its box, before the scope takes it.
type SupervisedBox<'a, F, T, E> = Pin<Box<Cell<Supervised<'a, F, T, E>, ()>>>;

impl<T, E> Default for Supervisor<'_, T, E> {
    fn default() -> Self {
        Supervisor::new()
    }
}

impl<T, E> fmt::Debug for Supervisor<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// A supervised child: records its outcome, holds its panic (also
    /// one of its future's destructor, which it runs as soon as the
    /// future is done).
    #[doc(hidden)]
    pub struct Supervised<'a, F, T, E> {
        #[pin]
        future: Option<F>,
        index: usize,
        outcomes: &'a Outcomes<T, E>,
        panic: &'a Panic,
    }
}

impl<F, T, E> Supervised<'_, F, T, E> {
    /// Its place in the outcome list.
    fn set_index(self: Pin<&mut Self>, index: usize) {
        *self.project().index = index;
    }
}

impl<F, T, E> Future for Supervised<'_, F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<(), Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(Ok(()));
        };
        let polled = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(outcome)) => Ok(outcome),
            Err(payload) => Err(payload),
        };
        // Dropped here, not by the scope, so that a destructor's panic is
        // held like a panic of the poll instead of failing the run.
        let dropped = catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
        match polled {
            Ok(outcome) => {
                if let Some(slot) = lock(this.outcomes).get_mut(*this.index) {
                    *slot = Some(outcome);
                }
            }
            Err(payload) => {
                lock(this.panic).get_or_insert(payload);
            }
        }
        if let Err(payload) = dropped {
            lock(this.panic).get_or_insert(payload);
        }
        Poll::Ready(Ok(()))
    }
}

pin_project! {
    /// The body of a supervised run, which cannot fail.
    #[doc(hidden)]
    pub struct OkBody<B> {
        #[pin]
        body: B,
    }
}

impl<B: Future> Future for OkBody<B> {
    type Output = Result<B::Output, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().body.poll(cx).map(Ok)
    }
}

pin_project! {
    /// The future of [`Supervisor::run`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the body and every child before `drop` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::Supervisor;
    ///
    /// # futures_lite::future::block_on(async {
    /// let sup = Supervisor::<u8, &str>::new();
    /// let run: anyrt::scope::futures::SupervisedRun<'_, '_, _, _, _> = sup.run(async {
    ///     sup.spawn(async { Err("one failed") });
    ///     sup.spawn(async { Ok(2) });
    ///     "body done"
    /// });
    /// let (body, outcomes) = run.await;
    /// assert_eq!((body, outcomes), ("body done", vec![Err("one failed"), Ok(2)]));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct SupervisedRun<'s, 'a, B: Future, T, E> {
        #[pin]
        run: Run<'s, 'a, OkBody<B>, B::Output, Infallible>,
        outcomes: &'s Outcomes<T, E>,
        panic: &'s Panic,
    }
}

impl<B: Future, T: Send, E: Send> Future for SupervisedRun<'_, '_, B, T, E> {
    type Output = (B::Output, Vec<Result<T, E>>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(body) = ready!(this.run.poll(cx));
        if let Some(payload) = lock(this.panic).take() {
            // Dropped after the lock, as in `run`.
            drop(std::mem::take(&mut *lock(this.outcomes)));
            resume_unwind(payload);
        }
        // Places of spawn_wait futures dropped before spawning stay empty.
        let outcomes = std::mem::take(&mut *lock(this.outcomes));
        Poll::Ready((body, outcomes.into_iter().flatten().collect()))
    }
}

impl<B: Future, T, E> fmt::Debug for SupervisedRun<'_, '_, B, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisedRun").finish_non_exhaustive()
    }
}

/// Spawns a supervised child once there is room; made by
/// [`Supervisor::spawn_wait`].
///
/// # Cancel safety
///
/// Dropping it drops the future unspawned and gives up its place in the
/// queue.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use anyrt::scope::Supervisor;
///
/// # futures_lite::future::block_on(async {
/// let sup = Supervisor::<&str, ()>::new().limit(NonZeroUsize::MIN);
/// let (_, outcomes) = sup
///     .run(async {
///         let waiting: anyrt::scope::futures::SuperviseWait<'_, _, _, _> =
///             sup.spawn_wait(async { Ok("admitted") });
///         assert!(waiting.await);
///     })
///     .await;
/// assert_eq!(outcomes, [Ok("admitted")]);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SuperviseWait<'a, F, T, E> {
    sup: &'a Supervisor<'a, T, E>,
    child: Option<SupervisedBox<'a, F, T, E>>,
    /// The ticket in line, while waiting for a place.
    ticket: Option<u64>,
}

impl<F, T, E> Unpin for SuperviseWait<'_, F, T, E> {}

impl<'a, F, T, E> Future for SuperviseWait<'a, F, T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'a,
    T: Send + 'a,
    E: Send + 'a,
{
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = &mut *self;
        // As `SpawnWait`, but the child is made by `Supervisor::insert`,
        // which gives it its place in the outcome list.
        let admitted = this
            .sup
            .scope
            .poll_admitted(&mut this.ticket, &mut this.child, cx.waker());
        Poll::Ready(match ready!(admitted) {
            Some((child, run)) => this.sup.insert(child, Some(run)),
            None => false,
        })
    }
}

impl<F, T, E> Drop for SuperviseWait<'_, F, T, E> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.sup.scope.cancel_place(ticket);
        }
    }
}

impl<F, T, E> fmt::Debug for SuperviseWait<'_, F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuperviseWait").finish_non_exhaustive()
    }
}
