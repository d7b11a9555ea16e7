//! `TaskGroup`: parallel `Send + 'static` children on the runtime.

mod error;
mod futures;
mod limit;
mod shared;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use anyrt_core::{Ambient, Task};

use crate::wake::set_waker;
pub use error::TrySpawnError;
pub use futures::{GroupSpawnWait, JoinAll, JoinNext, Shutdown, TryJoinAll};
use limit::{Place, Slots};
use shared::{Outcome, Shared, Wrapped};

/// A group of `Send + 'static` tasks run in parallel on the runtime
/// (through `anyrt-core`'s spawn), with the lifetime of the group.
///
/// - Dropping the group cancels every task it still holds (there is no
///   `detach`); a group inside a scope's child is dropped, so cancelled,
///   with it.
/// - The tasks see the ambient context (deadline, timer, the scope's
///   cancel token) in force where the group was made, not the one at each
///   `spawn` call.
/// - [`join_next`](TaskGroup::join_next) yields outputs in completion
///   order; [`join_all`](TaskGroup::join_all) (supervise: every task to
///   its end) and [`try_join_all`](TaskGroup::try_join_all) (fail fast: the
///   first `Err` cancels the rest) in spawn order.
/// - [`abort_all`](TaskGroup::abort_all) cancels without waiting;
///   [`shutdown`](TaskGroup::shutdown) cancels and waits until every task's
///   future has been dropped.
/// - A task's panic is resumed, with its payload, where its output would
///   have been returned.
/// - [`with_limit(n)`](TaskGroup::with_limit) runs at most `n` tasks at
///   once, admitted first come, first served:
///   [`spawn_wait`](TaskGroup::spawn_wait) waits for a place before it
///   spawns, [`try_spawn`](TaskGroup::try_spawn) hands the future back
///   when the group is full, and [`spawn`](TaskGroup::spawn) spawns at
///   once a task that waits, unpolled, for its place.
///
/// # Examples
///
/// ```
/// use anyrt::scope::TaskGroup;
///
/// # futures_lite::future::block_on(async {
/// let mut group = TaskGroup::new();
/// for i in 0..4_u64 {
///     group.spawn(async move { i * i });
/// }
/// assert_eq!(group.join_all().await, [0, 1, 4, 9]);
/// # });
/// ```
pub struct TaskGroup<T> {
    shared: Arc<Shared<T>>,
    /// Handles by task id, from `first` on; `None` once joined. A handle
    /// yields the output only once `join_all` has started.
    tasks: VecDeque<Option<Task<Option<T>>>>,
    /// Outcomes taken off the shared queue in one batch and not yet
    /// handed out, in completion order. In a mutex only so that the group
    /// is `Sync` for `T: Send`: reached through `get_mut`, never locked.
    ready: Mutex<VecDeque<(u64, Outcome<T>)>>,
    first: u64,
    /// Handles held.
    len: usize,
    ambient: Ambient,
    /// The places under a limit; `None` without one.
    slots: Option<Arc<Slots>>,
}

impl<T: Send + 'static> TaskGroup<T> {
    /// An empty group; its tasks will see the ambient context in force
    /// here.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = anyrt::scope::TaskGroup::<()>::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn new() -> TaskGroup<T> {
        TaskGroup {
            shared: Arc::new(Shared::new()),
            tasks: VecDeque::new(),
            ready: Mutex::new(VecDeque::new()),
            first: 0,
            len: 0,
            ambient: Ambient::capture(),
            slots: None,
        }
    }

    /// Starts `future` as a task of the group, at once.
    ///
    /// Under a limit ([`with_limit`](Self::with_limit)) the task is
    /// spawned at once too, but polls `future` only once it has a place,
    /// in line with the group's other spawns; it never waits in the
    /// caller. [`spawn_wait`](Self::spawn_wait) waits in the caller
    /// instead, so that a full group holds no more futures, and
    /// [`try_spawn`](Self::try_spawn) hands the future back.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let mut group = anyrt::scope::TaskGroup::new();
    /// group.spawn(async { "hello" });
    /// assert_eq!(group.len(), 1);
    /// assert_eq!(group.join_next().await, Some("hello"));
    /// # });
    /// ```
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let place = self.place_for_spawn();
        self.spawn_placed(future, place);
    }

    /// Spawns `future` as the group's next task, holding or waiting for
    /// `place`.
    fn spawn_placed<F>(&mut self, future: F, place: Place)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let id = self.first + self.tasks.len() as u64;
        let task = Wrapped::new(future, place, self.shared.track(id));
        self.tasks.push_back(Some(self.ambient.spawn(task)));
        self.len += 1;
    }
}

/// What needs no spawn: no bound on `T`, so that the group's futures are
/// `Send` in a future around them also when `T` borrows for `'static`
/// (the compiler cannot prove a `'static` bound on the lifetimes it
/// erases inside a future).
impl<T> TaskGroup<T> {
    /// How many tasks the group holds: spawned, and not yet joined or
    /// aborted.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyrt::scope::TaskGroup::<()>::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the group holds no task.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyrt::scope::TaskGroup::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The output of the next task to finish; `None` when the group holds
    /// no task.
    ///
    /// # Panics
    ///
    /// Resumes the panic of a task that panicked, after aborting the
    /// group's other tasks: a panic fails the group fast. (tokio's
    /// `JoinSet` hands the panic back as an error and lets the others run;
    /// catch the panic inside the task for that behaviour.) A task that its
    /// runtime dropped unfinished (the runtime shut down) is reported the
    /// same way, with a panic that says so, as awaiting its task would be
    /// (`JoinSet` reports it cancelled); tasks the group cancelled itself
    /// report nothing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses no output; it is returned by
    /// the next call.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let mut group = anyrt::scope::TaskGroup::new();
    /// group.spawn(async { 1 });
    /// group.spawn(async { 2 });
    /// let mut sum = 0;
    /// while let Some(n) = group.join_next().await {
    ///     sum += n;
    /// }
    /// assert_eq!(sum, 3);
    /// # });
    /// ```
    pub fn join_next(&mut self) -> JoinNext<'_, T> {
        JoinNext { group: self }
    }

    /// The output of a task that has already finished, without waiting;
    /// `None` if none has (or the group holds no task).
    ///
    /// # Panics
    ///
    /// As [`join_next`](Self::join_next): resumes a finished task's panic
    /// after aborting the others.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let mut group = anyrt::scope::TaskGroup::new();
    /// assert_eq!(group.try_join_next(), None);
    /// group.spawn(async { 7 });
    /// let seven = loop {
    ///     match group.try_join_next() {
    ///         Some(output) => break output,
    ///         None => futures_lite::future::yield_now().await,
    ///     }
    /// };
    /// assert_eq!(seven, 7);
    /// # });
    /// ```
    pub fn try_join_next(&mut self) -> Option<T> {
        // Nobody else can wait on the group meanwhile (`&mut self`): a
        // waker that does nothing is replaced by the next real poll.
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_join_next(&mut cx) {
            Poll::Ready(Some(output)) => Some(output),
            _ => None,
        }
    }

    /// Waits for every task to end (supervise) and returns their outputs
    /// in spawn order.
    ///
    /// # Panics
    ///
    /// Resumes the first panic of a task, after cancelling the others; a
    /// task that its runtime dropped unfinished panics when its output is
    /// awaited.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the group, which cancels its tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let mut group = anyrt::scope::TaskGroup::new();
    /// group.spawn(async { Err::<u8, _>("failed") });
    /// group.spawn(async { Ok(2) });
    /// assert_eq!(group.join_all().await, [Err("failed"), Ok(2)]);
    /// # });
    /// ```
    pub fn join_all(self) -> JoinAll<T> {
        JoinAll::new(self)
    }

    /// Cancels every task without waiting; the group is empty afterwards
    /// and outputs not yet joined are discarded. Under a limit no task
    /// that was waiting for a place starts its future, and a task gives
    /// its place back (or its turn in line up) once its runtime has
    /// dropped its future; after [`shutdown`](Self::shutdown) every place
    /// is free.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let mut group = anyrt::scope::TaskGroup::new();
    /// group.spawn(std::future::pending::<()>());
    /// group.abort_all();
    /// assert!(group.is_empty());
    /// assert_eq!(group.join_next().await, None);
    /// # });
    /// ```
    pub fn abort_all(&mut self) {
        self.stop_starting();
        self.first += self.tasks.len() as u64;
        self.shared.cancel_below(self.first);
        let tasks = std::mem::take(&mut self.tasks);
        self.len = 0;
        let done = std::mem::take(&mut self.shared.lock().done);
        drop(tasks);
        self.ready_mut().clear();
        drop(done);
    }

    /// Cancels every task and waits until each task's future has been
    /// dropped by its runtime (its destructors ran).
    ///
    /// # Cancel safety
    ///
    /// The tasks are cancelled by this call; dropping the future only
    /// stops the waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let mut group = anyrt::scope::TaskGroup::new();
    /// group.spawn(std::future::pending::<()>());
    /// group.shutdown().await;
    /// assert!(group.is_empty());
    /// # });
    /// ```
    pub fn shutdown(&mut self) -> Shutdown<'_, T> {
        self.abort_all();
        Shutdown::new(self)
    }

    /// Ready once every task's future has been dropped.
    fn poll_dropped(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.shared.poll_dropped(cx)
    }

    fn ready_mut(&mut self) -> &mut VecDeque<(u64, Outcome<T>)> {
        self.ready.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index in `tasks` of task `id`, if the group still holds it.
    fn held(&self, id: u64) -> Option<usize> {
        let at = usize::try_from(id.checked_sub(self.first)?).ok()?;
        self.tasks.get(at)?.as_ref().map(|_| at)
    }

    /// The output of the next finished task; resumes its panic after
    /// aborting the others (without waiting for them: `join_next`
    /// documents it so).
    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let next = ready!(self.poll_next_outcome(cx));
        Poll::Ready(next.map(|(_, outcome)| {
            outcome.unwrap_or_else(|panic| {
                self.abort_all();
                resume_unwind(panic)
            })
        }))
    }

    /// The next finished task, with its id and its outcome, a panic
    /// included (its handle is dropped): the outcomes queued are taken in
    /// one batch under the lock, then handed out without it.
    fn poll_next_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Option<(u64, Outcome<T>)>> {
        loop {
            while let Some((id, outcome)) = self.ready_mut().pop_front() {
                if let Some(at) = self.held(id) {
                    self.joined(at);
                    return Poll::Ready(Some((id, outcome)));
                }
            }
            if self.len == 0 {
                return Poll::Ready(None);
            }
            let mut state = self.shared.lock();
            let ready = self.ready.get_mut().unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut state.done, ready);
            if ready.is_empty() {
                let replaced = set_waker(&mut state.waker, cx.waker());
                drop(state);
                drop(replaced);
                return Poll::Pending;
            }
        }
    }

    /// Task `at` has finished: drops its handle.
    fn joined(&mut self, at: usize) {
        self.tasks[at] = None;
        self.len -= 1;
        while let Some(None) = self.tasks.front() {
            self.tasks.pop_front();
            self.first += 1;
        }
    }

    /// Outputs go through the tasks' handles from now on; returns those
    /// queued until now, by index in `tasks`, in spawn order (their handles
    /// are dropped). Resumes a queued panic after aborting the others.
    fn go_direct(&mut self) -> VecDeque<(usize, T)> {
        let queued = self.shared.go_direct();
        let ready = std::mem::take(self.ready_mut());
        let mut early = Vec::new();
        for (id, outcome) in ready.into_iter().chain(queued) {
            if let Some(at) = self.held(id) {
                self.tasks[at] = None;
                match outcome {
                    Ok(output) => early.push((at, output)),
                    Err(panic) => {
                        self.abort_all();
                        resume_unwind(panic)
                    }
                }
            }
        }
        early.sort_unstable_by_key(|(at, _)| *at);
        early.into()
    }

    /// Awaits the handles in spawn order from `next`, pushing outputs (the
    /// early ones in their place); pending on a handle, it also waits for
    /// a panic of any task, and resumes it after aborting the others.
    fn poll_direct(
        &mut self,
        cx: &mut Context<'_>,
        next: &mut usize,
        early: &mut VecDeque<(usize, T)>,
        outputs: &mut Vec<T>,
    ) -> Poll<()> {
        while let Some(slot) = self.tasks.get_mut(*next) {
            match slot.as_mut().map(|task| Pin::new(task).poll(cx)) {
                Some(Poll::Ready(Some(output))) => outputs.push(output),
                Some(Poll::Ready(None)) => self.resume_panic(),
                Some(Poll::Pending) => {
                    let mut state = self.shared.lock();
                    if state.panic.is_some() {
                        drop(state);
                        self.resume_panic();
                    }
                    let replaced = set_waker(&mut state.waker, cx.waker());
                    drop(state);
                    drop(replaced);
                    return Poll::Pending;
                }
                None => {
                    if early.front().is_some_and(|(at, _)| at == next) {
                        outputs.extend(early.pop_front().map(|(_, output)| output));
                    }
                }
            }
            *next += 1;
        }
        self.abort_all();
        Poll::Ready(())
    }

    /// Resumes the first panic of a task, kept since outputs go through
    /// the handles, after aborting the other tasks.
    fn resume_panic(&mut self) -> ! {
        let panic = self.shared.lock().panic.take();
        self.abort_all();
        resume_unwind(panic.expect("a task that hands back no output has panicked"))
    }
}

impl<U: Send + 'static, E: Send + 'static> TaskGroup<Result<U, E>> {
    /// Waits for every task and returns their `Ok` outputs in spawn order;
    /// the first `Err` (fail fast) cancels every other task, waits until
    /// their futures were dropped, and is returned.
    ///
    /// # Errors
    ///
    /// The first task's `Err`, in completion order.
    ///
    /// # Panics
    ///
    /// Resumes the first panic of a task (fail fast, like an `Err`), after
    /// cancelling the others and waiting until their futures were dropped;
    /// a task that its runtime dropped unfinished counts as one that
    /// panicked, as for [`join_next`](Self::join_next).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the group, which cancels its tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let mut group = anyrt::scope::TaskGroup::new();
    /// group.spawn(std::future::pending::<Result<u8, &str>>());
    /// group.spawn(async { Err("failed") });
    /// assert_eq!(group.try_join_all().await, Err("failed"));
    /// # });
    /// ```
    pub fn try_join_all(self) -> TryJoinAll<U, E> {
        TryJoinAll::new(self)
    }
}

impl<T: Send + 'static> Default for TaskGroup<T> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T> TaskGroup<T> {
    /// Under a limit: no task held now polls its future again, so that
    /// the places the cancelled tasks give back start none of the others
    /// while the runtime drops them.
    fn stop_starting(&self) {
        if let Some(slots) = &self.slots {
            slots.cancel_all();
        }
    }
}

impl<T> Drop for TaskGroup<T> {
    fn drop(&mut self) {
        self.stop_starting();
        self.shared.cancel_below(u64::MAX);
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
