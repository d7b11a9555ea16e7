//! `Scope`: children polled in place by the scope's future.

use std::any::Any;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::admission::{Admission, Admitted, Ticket, Waiter};
use crate::books::{Books, Entry, State};
use crate::boxes::Boxes;
use crate::child::{BoxChild, Cell};
use crate::handle::{Handle, SpawnWait};
use crate::run::{Run, RunInner};
use crate::tasks::Tasks;
use crate::token::CancelToken;
use crate::wake::{set_waker, take_set};

/// The token of the scope being run, kept in the ambient context.
#[derive(Clone)]
pub(crate) struct CurrentToken(pub(crate) CancelToken);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    Running,
    Closing,
}

struct Inner<'a, E> {
    phase: Phase,
    // Never dropped by the scope's own drop glue (the run drains it), so
    // that children may borrow the scope itself: see ARCHITECTURE.md.
    boxes: ManuallyDrop<Boxes<BoxChild<'a, E>>>,
    /// The children's entries, under the keys of their boxes, while a run
    /// is in progress.
    books: Option<Books>,
    next_id: u64,
    /// Counts the runs started: a place under the limit taken in one run
    /// means nothing in the next (the line is reset when a run closes).
    run: u64,
    /// Children spawned and not finished (queued ones included).
    live: usize,
    admission: Admission,
    token: CancelToken,
    /// Wakers a locked step found to wake: see [`Scope::unlock`].
    later: Later,
}

/// Wakers woken only once the scope's lock is released, so that a waker
/// that panics, or runs its task in place, finds the books consistent and
/// the lock free. Each is woken by its own drop, so a panic of the first
/// still wakes the second.
#[derive(Default)]
struct Later {
    /// A finished child's handle.
    handle: WakeOnDrop,
    /// A `spawn_wait` that got a place.
    admitted: WakeOnDrop,
    /// The run, waiting while a child was queued for it (spawned, or
    /// admitted, from outside its poll).
    run: WakeOnDrop,
}

impl Later {
    /// Wakes the run, if `run` is its waker, once the lock is released.
    fn wake_run(&mut self, run: Option<Waker>) {
        if run.is_some() {
            self.run.0 = run;
        }
    }
}

#[derive(Default)]
struct WakeOnDrop(Option<Waker>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if let Some(waker) = self.0.take() {
            waker.wake();
        }
    }
}

/// What a child's poll left for the scope to record. It is recorded at
/// the next lock the run takes anyway (to take the next child, or the
/// next batch), so a poll costs one lock, not two.
pub(crate) enum Polled<'a, E> {
    Pending(usize, BoxChild<'a, E>),
    Done(usize, BoxChild<'a, E>),
}

/// The payload of a panic.
pub(crate) type Panic = Box<dyn Any + Send>;

/// What the run does after a step.
pub(crate) enum Step<E> {
    Continue,
    Fail(E),
    Panic(Panic),
}

/// Drops `value`, catching a panic of its destructor.
pub(crate) fn drop_caught<T>(value: T) -> Result<(), Panic> {
    catch_unwind(AssertUnwindSafe(|| drop(value)))
}

/// A structured-concurrency scope whose children are polled in place.
///
/// Make it in the caller's frame, then drive it with one call to
/// [`run`](Scope::run): the body and every child [`spawn`](Scope::spawn)ed
/// into it are polled by that one future, so children may borrow anything
/// that outlives the scope, including the scope itself (to spawn
/// siblings). The future returns only after every child ended.
///
/// - **Fail fast**: the first `Err` of a child or of the body drops every
///   other child and the body, then is returned. A panic does the same,
///   then is resumed with its payload.
/// - **Per-child wakers**: a wake-up polls the child that was woken, no
///   other; a finished child's future is dropped at once, and its memory
///   freed as soon as its [`Handle`] is dropped or has taken the output.
/// - **[`limit`](Scope::limit)**: at most `n` children run at once; the
///   rest wait in order.
/// - **[`spawn_task`](Scope::spawn_task)**: a `Send + 'static` child run in
///   parallel on the runtime, cancelled with the scope.
/// - **[`token`](Scope::token)**: the scope's [`CancelToken`], cancelled
///   when the scope ends or fails, a child of the enclosing scope's token.
///
/// The future of [`run`](Scope::run) is `Send` when the body and the
/// children are (children must be `Send`), so a function using a scope can
/// be spawned on a multi-threaded runtime.
///
/// # Examples
///
/// ```
/// use anyrt::scope::Scope;
///
/// # futures_lite::future::block_on(async {
/// let mut words = vec![String::from("a"), String::from("b")];
/// let s = Scope::<std::io::Error>::new();
/// s.run(async {
///     for word in words.iter_mut() {
///         s.spawn(async move {
///             word.push('!');
///             Ok(())
///         });
///     }
///     Ok(())
/// })
/// .await?;
/// assert_eq!(words, ["a!", "b!"]);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct Scope<'a, E = Infallible> {
    inner: Mutex<Inner<'a, E>>,
    /// Made by the first `spawn_task`, so a scope without one allocates
    /// nothing for it.
    tasks: OnceLock<Arc<Tasks>>,
}

impl<'a, E> Scope<'a, E> {
    /// A scope with no limit on running children.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = anyrt::scope::Scope::<std::io::Error>::new();
    /// assert!(!s.is_running());
    /// ```
    pub fn new() -> Scope<'a, E> {
        Scope {
            inner: Mutex::new(Inner {
                phase: Phase::Idle,
                boxes: ManuallyDrop::new(Boxes::new()),
                books: None,
                next_id: 0,
                run: 0,
                live: 0,
                admission: Admission::new(usize::MAX),
                token: CancelToken::new(),
                later: Later::default(),
            }),
            tasks: OnceLock::new(),
        }
    }

    /// At most `n` children run at once. A child spawned while `n` run
    /// waits, unpolled, until one ends; [`spawn_wait`](Scope::spawn_wait)
    /// waits in the spawner instead. Both are admitted in the order they
    /// came.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// let s = anyrt::scope::Scope::<std::io::Error>::new().limit(NonZeroUsize::MIN);
    /// assert_eq!(s.max_running(), 1);
    /// ```
    pub fn limit(self, n: NonZeroUsize) -> Scope<'a, E> {
        self.lock().admission.set_max(n.get());
        self
    }

    /// The limit on running children (`usize::MAX` when none was set).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = anyrt::scope::Scope::<std::io::Error>::new();
    /// assert_eq!(s.max_running(), usize::MAX);
    /// ```
    pub fn max_running(&self) -> usize {
        self.lock().admission.max()
    }

    /// Whether a [`run`](Scope::run) is in progress, so that a spawn is
    /// accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let s = anyrt::scope::Scope::<std::io::Error>::new();
    /// assert_eq!(s.run(async { Ok(s.is_running()) }).await.unwrap(), true);
    /// assert!(!s.is_running());
    /// # });
    /// ```
    pub fn is_running(&self) -> bool {
        self.lock().phase == Phase::Running
    }

    /// The scope's cancel token: a child of the token of the scope this
    /// one runs in (if any), cancelled when this scope ends or fails. Each
    /// run gets a fresh one, made by [`run`](Scope::run) and made a child
    /// of the token current where the run is first polled (so it has no
    /// parent before that).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let s = anyrt::scope::Scope::<std::io::Error>::new();
    /// let token = s.run(async { Ok(s.token()) }).await.unwrap();
    /// assert_eq!(token.reason().unwrap().to_string(), "the scope finished");
    /// # });
    /// ```
    pub fn token(&self) -> CancelToken {
        self.lock().token.clone()
    }

    /// Ends the run: cancels the token, then drops every child (outside
    /// the lock, so their destructors may use the scope; spawns meanwhile
    /// are rejected). A destructor that panics does not stop the others
    /// nor leave the scope closing: the first such panic is returned, for
    /// the run to resume once everything was dropped, with the books, for
    /// the run to give back with its wakers.
    pub(crate) fn close(&self, reason: &str) -> (Option<Panic>, Option<Books>) {
        let (children, token, books) = {
            let mut inner = self.lock();
            if inner.phase == Phase::Idle {
                return (None, None);
            }
            inner.phase = Phase::Closing;
            inner.live = 0;
            // The waiters are woken after the lock: each finds its ticket
            // gone, and its `spawn_wait` rejected (or, polled in a later
            // run, asks for a place afresh).
            let waiters = inner.admission.reset();
            let taken = (inner.boxes.drain(), inner.token.clone(), inner.books.take());
            drop(inner);
            waiters.into_values().for_each(Waiter::wake);
            taken
        };
        token.cancel_with(reason);
        let mut panic = None;
        for child in children {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(child))) {
                panic.get_or_insert(payload);
            }
        }
        self.lock().phase = Phase::Idle;
        (panic, books)
    }

    /// The run is ending: spawns are refused from now on, so that those
    /// from the destructors of what it drops before closing are rejected.
    pub(crate) fn refuse_spawns(&self) {
        self.lock().refuse_spawns();
    }

    /// Ready once the runtime has dropped every `spawn_task` future.
    pub(crate) fn poll_tasks_dropped(&self, waker: &Waker) -> Poll<()> {
        self.tasks
            .get()
            .map_or(Poll::Ready(()), |tasks| tasks.poll_dropped(waker))
    }

    /// A `spawn_wait` future gave up its ticket.
    pub(crate) fn cancel_place(&self, ticket: u64) {
        let mut removed = None;
        let mut inner = self.lock();
        if let Some(next) = inner.admission.cancel(ticket, &mut removed) {
            inner.admit(next);
        }
        let unlocked = Self::unlock(inner);
        // Its waker goes after the lock.
        drop(removed);
        if let Err(panic) = unlocked {
            std::panic::resume_unwind(panic);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<'a, E>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Releases the lock, then wakes what the locked step found to wake.
    /// A waker's panic is caught: the books are consistent by then, and
    /// the run ends the scope with it as with a child's panic (the waker
    /// was installed by the body or a child polling a handle).
    fn unlock(mut inner: MutexGuard<'_, Inner<'a, E>>) -> Result<(), Panic> {
        let later = std::mem::take(&mut inner.later);
        drop(inner);
        drop_caught(later)
    }
}

impl<'a, E: Send + 'a> Scope<'a, E> {
    /// Runs `body` and every child spawned into the scope, concurrently,
    /// in the calling task; completes with the body's output once every
    /// child ended, or with the first error as soon as it happens.
    ///
    /// The children are polled in the ambient context in force where the
    /// future is polled (its deadline, its timer, its cancel token, which
    /// the scope's token joins at the first poll), whatever the context at
    /// this call or at the `spawn` call. A scope may be run again once a
    /// run ended.
    ///
    /// # Errors
    ///
    /// The first `Err` of the body or of a child, after every other child
    /// and the body were dropped (and the runtime dropped the tasks of
    /// [`spawn_task`](Scope::spawn_task)).
    ///
    /// # Panics
    ///
    /// If a run of this scope is already in progress. A panic of the body
    /// or of a child is resumed, with its payload, after every other child
    /// and the body were dropped.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the body and every child before `drop`
    /// returns (tasks of [`spawn_task`](Scope::spawn_task) are cancelled),
    /// and cancels the scope's token.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::Scope;
    ///
    /// # futures_lite::future::block_on(async {
    /// let s = Scope::new();
    /// let outcome = s
    ///     .run(async {
    ///         s.spawn(async { Err::<(), _>("child failed") });
    ///         std::future::pending::<Result<(), _>>().await
    ///     })
    ///     .await;
    /// assert_eq!(outcome, Err("child failed"));
    /// # });
    /// ```
    pub fn run<'s, B, R>(&'s self, body: B) -> Run<'s, 'a, B, R, E>
    where
        B: Future<Output = Result<R, E>>,
    {
        self.run_then(body, || {})
    }

    /// [`run`](Scope::run), calling `on_start` under the scope's lock as
    /// the run starts, before any spawn into it can be accepted.
    pub(crate) fn run_then<'s, B, R>(
        &'s self,
        body: B,
        on_start: impl FnOnce(),
    ) -> Run<'s, 'a, B, R, E>
    where
        B: Future<Output = Result<R, E>>,
    {
        // No parent yet: the run links it to the token current where it
        // is first polled, like the rest of the ambient context, not to
        // the one current here.
        let token = CancelToken::new();
        let (wakers, books) = take_set();
        {
            let mut inner = self.lock();
            assert!(
                inner.phase == Phase::Idle,
                "anyrt-scope: a scope runs one body at a time"
            );
            on_start();
            inner.phase = Phase::Running;
            inner.run = inner.run.wrapping_add(1);
            inner.token = token.clone();
            inner.books = Some(books);
        }
        let inner = RunInner::new(self, body, wakers);
        Run::new(
            token.clone(),
            anyrt_core::with_value(CurrentToken(token), inner),
        )
    }

    /// Starts `future` as a child of the running scope and returns its
    /// handle. The child is polled in place by the scope's future, so it
    /// may borrow from the caller of [`run`](Scope::run).
    ///
    /// Under a [`limit`](Scope::limit) the child waits, unpolled, if the
    /// scope is full. Outside a run (before it, after it ended or failed,
    /// from the moment a child's `Err` or panic fails it) the future is
    /// dropped unpolled and the handle says so
    /// ([`Handle::is_rejected`]). Allocates the child's box, and a waker
    /// for its slot unless a past run on this thread left one to reuse.
    ///
    /// # Panics
    ///
    /// Called from outside the run's poll (another task), it wakes the
    /// run, after the scope's lock is released; a panic of that waker is
    /// resumed here, with the child stored and run at the next poll.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let s = anyrt::scope::Scope::<std::io::Error>::new();
    /// let sum = s
    ///     .run(async {
    ///         let a = s.spawn(async { Ok(20) });
    ///         let b = s.spawn(async { Ok(22) });
    ///         Ok(a.await + b.await)
    ///     })
    ///     .await?;
    /// assert_eq!(sum, 42);
    /// assert!(s.spawn(async { Ok(()) }).is_rejected(), "the run has ended");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn spawn<F, T>(&self, future: F) -> Handle<'_, T>
    where
        F: Future<Output = Result<T, E>> + Send + 'a,
        T: Send + 'static,
    {
        self.insert(Box::pin(Cell::new(future)), None)
    }

    /// Like [`spawn`](Scope::spawn), but under a [`limit`](Scope::limit)
    /// waits until the scope has room before the child joins it, so that a
    /// loop spawning a million items keeps at most `n` (and the one
    /// waiting) in memory. If the run ends while it waits in line, it is
    /// woken and its handle says it was rejected; polled first in a later
    /// run of the scope, it waits for a place in that run instead.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops `future` unspawned and gives up its place
    /// in the queue (or the place it was just granted, to the next in
    /// line).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// # futures_lite::future::block_on(async {
    /// let s = anyrt::scope::Scope::<std::io::Error>::new().limit(NonZeroUsize::new(2).unwrap());
    /// s.run(async {
    ///     for i in 0..1000 {
    ///         s.spawn_wait(async move { Ok(i) }).await;
    ///     }
    ///     Ok(())
    /// })
    /// .await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn spawn_wait<F, T>(&self, future: F) -> SpawnWait<'_, 'a, F, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'a,
        T: Send + 'static,
    {
        SpawnWait::new(self, future)
    }

    /// Starts `future` as a task on the runtime (through `anyrt-core`'s
    /// spawn, so in parallel with the scope) when the child is admitted,
    /// and returns its handle. The task sees the ambient context of the
    /// scope, not the one at this call; it is cancelled when the scope
    /// fails or its future is dropped, and its `Err` or panic fails the
    /// scope like an in-place child's. A run that ends (by failing or
    /// finishing) returns only once the runtime has dropped the task's
    /// future, so its destructors have run; a run whose future is dropped
    /// cancels the task without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let s = anyrt::scope::Scope::<std::io::Error>::new();
    /// let on_thread = s
    ///     .run(async { Ok(s.spawn_task(async { Ok(6 * 7) }).await) })
    ///     .await?;
    /// assert_eq!(on_thread, 42);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn spawn_task<F, T>(&self, future: F) -> Handle<'_, T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: 'static,
    {
        // Spawned at the child's first poll, under the scope's context;
        // counted until the runtime drops it.
        let tasks = self.tasks.get_or_init(Arc::default).clone();
        self.spawn(async move { anyrt_core::spawn(tasks.track(future)).await })
    }

    /// Stores a child; `reserved`: the run in which its place under the
    /// limit was taken, if it was.
    pub(crate) fn insert<T>(&self, child: BoxChild<'a, E>, reserved: Option<u64>) -> Handle<'_, T> {
        self.insert_with(move || child, reserved)
    }

    /// Stores the child that `make` makes, called under the scope's lock
    /// once the child is accepted (so in the order children are accepted,
    /// and never for a rejected one); `reserved`: the run in which its
    /// place under the limit was taken, if it was. A place taken in an
    /// earlier run (it ended between the `spawn_wait`'s two steps, and
    /// another began) was never counted in this one: the child asks for a
    /// place afresh.
    pub(crate) fn insert_with<T>(
        &self,
        make: impl FnOnce() -> BoxChild<'a, E>,
        reserved: Option<u64>,
    ) -> Handle<'_, T> {
        let mut guard = self.lock();
        if guard.phase != Phase::Running {
            drop(guard);
            // What it holds (the child's future) is dropped outside the
            // lock, like any child.
            drop(make);
            return Handle::rejected();
        }
        let child = make();
        let inner = &mut *guard;
        let id = inner.next_id;
        inner.next_id += 1;
        let admitted = reserved == Some(inner.run) || inner.admission.try_enter();
        let books = inner.books.as_mut().expect("a running scope has its books");
        let key = books.entries.insert(Entry {
            id,
            state: if admitted {
                State::Running
            } else {
                State::Queued
            },
            handle_alive: true,
            handle_waker: None,
        });
        inner.boxes.put(key, child);
        inner.live += 1;
        let run = match admitted {
            true => books.schedule(key),
            false => {
                inner.admission.queue_child(key, id);
                None
            }
        };
        let handle = Handle::new(self, key, id);
        drop(guard);
        // Only when spawned from outside the run's poll: the run is woken
        // after the lock. The child is stored, so a panic of the run's
        // waker is the spawner's, and the handle goes with the unwinding.
        if let Some(run) = run {
            run.wake();
        }
        handle
    }

    /// Records what the last child's poll left (if anything), then moves
    /// the keys of children spawned since the last call into `batch`;
    /// `true` if there were any. Fails with the panic of an unread output
    /// dropped here.
    pub(crate) fn take_spawned(
        &self,
        batch: &mut VecDeque<usize>,
        carry: &mut Option<Polled<'a, E>>,
    ) -> Result<bool, Panic> {
        let mut inner = self.lock();
        let unread = carry.take().and_then(|polled| inner.settle(polled));
        let spawned = inner.books.as_mut().map(|books| &mut books.spawned);
        let found = spawned.is_some_and(|spawned| {
            if batch.is_empty() {
                std::mem::swap(spawned, batch);
            } else {
                batch.extend(spawned.drain(..));
            }
            !batch.is_empty()
        });
        let woken = Self::unlock(inner);
        drop_caught(unread).and(woken).map(|()| found)
    }

    /// Records what the last child's poll left, if anything.
    pub(crate) fn settle(&self, carry: &mut Option<Polled<'a, E>>) -> Result<(), Panic> {
        match carry.take() {
            Some(polled) => {
                let mut inner = self.lock();
                let unread = inner.settle(polled);
                let woken = Self::unlock(inner);
                drop_caught(unread).and(woken)
            }
            None => Ok(()),
        }
    }

    /// Whether no child is left; if so, spawns are refused from now on,
    /// in the same lock: a spawn from another thread accepted after the
    /// look would be dropped unpolled by the run's end.
    pub(crate) fn finish_if_empty(&self) -> bool {
        let mut inner = self.lock();
        let empty = inner.live == 0;
        if empty {
            inner.refuse_spawns();
        }
        empty
    }

    /// Polls the child in slot `key`, if it is there and runnable, with
    /// `waker`. What the last poll left in `carry` is recorded first, in
    /// the same lock, and this poll's result is left there in its turn.
    pub(crate) fn poll_child(
        &self,
        key: usize,
        waker: &Waker,
        carry: &mut Option<Polled<'a, E>>,
    ) -> Step<E> {
        let mut inner = self.lock();
        let unread = carry.take().and_then(|polled| inner.settle(polled));
        let child = inner.take_child(key);
        let woken = Self::unlock(inner);
        let settled = drop_caught(unread).and(woken);
        let Some(mut child) = child else {
            return step(settled);
        };
        if let Err(panic) = settled {
            *carry = Some(Polled::Pending(key, child));
            return Step::Panic(panic);
        }
        let mut cx = Context::from_waker(waker);
        match catch_unwind(AssertUnwindSafe(|| child.as_mut().poll_child(&mut cx))) {
            Ok(Poll::Pending) => {
                *carry = Some(Polled::Pending(key, child));
                Step::Continue
            }
            Ok(Poll::Ready(Ok(()))) => {
                *carry = Some(Polled::Done(key, child));
                Step::Continue
            }
            // The run fails: spawns are refused from here on, so that one
            // from the failing child's destructor says it was rejected
            // instead of being accepted and then dropped unpolled.
            Ok(Poll::Ready(Err(error))) => {
                self.lock().fail(key);
                match drop_caught(child) {
                    Ok(()) => Step::Fail(error),
                    Err(panic) => Step::Panic(panic),
                }
            }
            Err(panic) => {
                self.lock().fail(key);
                let _ = drop_caught(child);
                Step::Panic(panic)
            }
        }
    }

    /// For a `spawn_wait` future holding `future`: `Some` of it, with the
    /// run its place belongs to, once it may be spawned; `None` (the
    /// future dropped unpolled) when the scope is not running; pending
    /// while it waits for a place.
    pub(crate) fn poll_admitted<F>(
        &self,
        ticket: &mut Option<u64>,
        future: &mut Option<F>,
        waker: &Waker,
    ) -> Poll<Option<(F, u64)>> {
        // Before a place is taken, which the panic would keep for good.
        assert!(
            future.is_some(),
            "anyrt-scope: a spawn_wait future polled after it completed"
        );
        let run = match self.poll_place(ticket, waker) {
            Some(None) => return Poll::Pending,
            Some(Some(run)) => Some(run),
            None => None,
        };
        let future = future.take().expect("checked above");
        let Some(run) = run else {
            drop(future);
            return Poll::Ready(None);
        };
        Poll::Ready(Some((future, run)))
    }

    /// Polls a `spawn_wait` ticket (taking a new one if `ticket` is `None`):
    /// `Some(Some(run))` when the holder may spawn now, with a place taken
    /// in run `run`; `Some(None)` to wait; `None` when the scope is not
    /// running.
    pub(crate) fn poll_place(
        &self,
        ticket: &mut Option<u64>,
        waker: &Waker,
    ) -> Option<Option<u64>> {
        let mut replaced = None;
        let mut inner = self.lock();
        if inner.phase != Phase::Running {
            *ticket = None;
            return None;
        }
        let run = inner.run;
        let placed = match *ticket {
            None if inner.admission.try_enter() => Some(Some(run)),
            None => {
                *ticket = Some(inner.admission.wait(waker));
                Some(None)
            }
            Some(held) => match inner.admission.poll_ticket(held, waker, &mut replaced) {
                Ticket::Granted => {
                    *ticket = None;
                    Some(Some(run))
                }
                Ticket::Waiting => Some(None),
                // Taken in an earlier run, which ended: the scope runs
                // again, so the holder asks this run for a place.
                Ticket::Gone if inner.admission.try_enter() => {
                    *ticket = None;
                    Some(Some(run))
                }
                Ticket::Gone => {
                    *ticket = Some(inner.admission.wait(waker));
                    Some(None)
                }
            },
        };
        // A waker replaced or let go of goes after the lock.
        drop(inner);
        drop(replaced);
        placed
    }
}

/// A step that only dropped something: a panic of that drop fails the
/// scope like a panic in a poll.
fn step<E>(dropped: Result<(), Panic>) -> Step<E> {
    match dropped {
        Ok(()) => Step::Continue,
        Err(panic) => Step::Panic(panic),
    }
}

impl<'a, E> Inner<'a, E> {
    /// Takes the box of the child in slot `key` out for a poll, if it is
    /// there and runnable.
    fn take_child(&mut self, key: usize) -> Option<BoxChild<'a, E>> {
        let entry = self.books.as_mut()?.entries.get_mut(key)?;
        if entry.state != State::Running {
            return None;
        }
        entry.state = State::Polling;
        self.boxes.take(key)
    }

    /// Records a poll's result: a pending child's box goes back to its
    /// slot; a finished child's place goes to the next in line, its output
    /// to its handle (woken once the lock is released). Returns the box if
    /// nobody will read it, to be dropped outside the lock.
    fn settle(&mut self, polled: Polled<'a, E>) -> Option<BoxChild<'a, E>> {
        let (key, child, done) = match polled {
            Polled::Pending(key, child) => (key, child, false),
            Polled::Done(key, child) => (key, child, true),
        };
        if self.books.is_none() {
            return Some(child);
        }
        if done {
            self.live -= 1;
            if let Some(next) = self.admission.release() {
                self.admit(next);
            }
        }
        let Some(entries) = self.books.as_mut().map(|books| &mut books.entries) else {
            return Some(child);
        };
        let Some(entry) = entries.get_mut(key) else {
            return Some(child);
        };
        if !done {
            entry.state = State::Running;
        } else if entry.handle_alive {
            entry.state = State::Done;
            self.later.handle.0 = entry.handle_waker.take();
        } else {
            entries.remove(key);
            return Some(child);
        }
        self.boxes.put(key, child);
        None
    }

    /// The child in slot `key` failed the run: spawns are refused from now
    /// on, and its entry is forgotten.
    fn fail(&mut self, key: usize) {
        self.refuse_spawns();
        if let Some(books) = self.books.as_mut() {
            books.entries.remove(key);
        }
    }

    /// A running scope moves to closing, where spawns are rejected; the
    /// run closes it next.
    fn refuse_spawns(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::Closing;
        }
    }

    /// Lets in who got a freed place.
    fn admit(&mut self, next: Admitted) {
        match next {
            Admitted::Child(key, id) => {
                if let Some(books) = self.books.as_mut() {
                    if let Some(entry) = books.entry(key, id) {
                        entry.state = State::Running;
                        self.later.wake_run(books.schedule(key));
                    }
                }
            }
            Admitted::Waiter(waker) => self.later.admitted.0 = waker,
        }
    }
}

/// What a [`Handle`] asks of its scope, whatever the scope's types.
pub(crate) trait Slots: Sync {
    /// `Ready(true)` once the output is in `slot`, `Ready(false)` if the
    /// child is gone.
    fn poll_output(&self, key: usize, id: u64, waker: &Waker, slot: &mut dyn Any) -> Poll<bool>;

    /// The handle was dropped.
    fn release(&self, key: usize, id: u64);
}

impl<'a, E: Send + 'a> Slots for Scope<'a, E> {
    fn poll_output(&self, key: usize, id: u64, waker: &Waker, slot: &mut dyn Any) -> Poll<bool> {
        let mut child = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let Some(books) = inner.books.as_mut() else {
                return Poll::Ready(false);
            };
            let Some(entry) = books.entry(key, id) else {
                return Poll::Ready(false);
            };
            if entry.state != State::Done {
                let replaced = set_waker(&mut entry.handle_waker, waker);
                drop(guard);
                drop(replaced);
                return Poll::Pending;
            }
            books.entries.remove(key);
            inner
                .boxes
                .take(key)
                .expect("a finished child keeps its box")
        };
        child.as_mut().take_output(slot);
        Poll::Ready(true)
    }

    fn release(&self, key: usize, id: u64) {
        let (freed, waker) = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let Some(books) = inner.books.as_mut() else {
                return;
            };
            let Some(entry) = books.entry(key, id) else {
                return;
            };
            entry.handle_alive = false;
            // Dropped after the lock, as a replaced one is.
            let waker = entry.handle_waker.take();
            if entry.state != State::Done {
                (None, waker)
            } else {
                books.entries.remove(key);
                (inner.boxes.take(key), waker)
            }
        };
        drop(waker);
        drop(freed);
    }
}

impl<E> Default for Scope<'_, E> {
    fn default() -> Self {
        Scope::new()
    }
}

impl<E> fmt::Debug for Scope<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Scope")
            .field("phase", &inner.phase)
            .field("children", &inner.live)
            .field("max_running", &inner.admission.max())
            .finish()
    }
}
