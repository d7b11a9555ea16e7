//! `TaskGroup`: parallel `Send + 'static` children on the runtime.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use anyrt_core::{Ambient, Task};
use futures_lite::FutureExt;

type Outcome<T> = Result<T, Box<dyn Any + Send>>;

struct State<T> {
    /// Outputs of finished tasks, by task id, in completion order.
    done: VecDeque<(u64, Outcome<T>)>,
    /// Task futures not yet dropped (running, or cancelled and not yet
    /// reached by their runtime).
    alive: usize,
    waker: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(mut state: MutexGuard<'_, State<T>>) {
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Lives in a task's future: when the runtime drops the future (at its end
/// or after a cancel), the group learns it.
struct Alive<T>(Arc<Shared<T>>);

impl<T> Drop for Alive<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.alive -= 1;
        Shared::wake(state);
    }
}

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
    /// Handles by task id, from `first` on; `None` once joined.
    tasks: VecDeque<Option<Task<()>>>,
    first: u64,
    len: usize,
    ambient: Ambient,
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
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    done: VecDeque::new(),
                    alive: 0,
                    waker: None,
                }),
            }),
            tasks: VecDeque::new(),
            first: 0,
            len: 0,
            ambient: Ambient::capture(),
        }
    }

    /// Starts `future` as a task of the group, at once.
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
        let id = self.first + self.tasks.len() as u64;
        self.shared.lock().alive += 1;
        let alive = Alive(self.shared.clone());
        let task = async move {
            let outcome = AssertUnwindSafe(future).catch_unwind().await;
            let mut state = alive.0.lock();
            state.done.push_back((id, outcome));
            Shared::wake(state);
            drop(alive);
        };
        self.tasks.push_back(Some(spawn_in(&self.ambient, task)));
        self.len += 1;
    }

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
    /// catch the panic inside the task for that behaviour.)
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

    /// Waits for every task to end (supervise) and returns their outputs
    /// in spawn order.
    ///
    /// # Panics
    ///
    /// Resumes the first panic of a task, after cancelling the others.
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
        JoinAll {
            outputs: Vec::with_capacity(self.len),
            group: self,
        }
    }

    /// Cancels every task without waiting; the group is empty afterwards
    /// and outputs not yet joined are discarded.
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
        self.first += self.tasks.len() as u64;
        let tasks = std::mem::take(&mut self.tasks);
        self.len = 0;
        let done = std::mem::take(&mut self.shared.lock().done);
        drop(tasks);
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
        Shutdown { group: self }
    }

    /// Ready once every task's future has been dropped.
    fn poll_dropped(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock();
        if state.alive == 0 {
            return Poll::Ready(());
        }
        set_waker(&mut state.waker, cx.waker());
        Poll::Pending
    }

    /// The next finished task, with its id.
    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(u64, T)>> {
        let mut state = self.shared.lock();
        while let Some((id, outcome)) = state.done.pop_front() {
            let Some(slot) = id
                .checked_sub(self.first)
                .and_then(|at| self.tasks.get_mut(at as usize))
            else {
                continue;
            };
            if slot.take().is_none() {
                continue;
            }
            drop(state);
            self.len -= 1;
            while let Some(None) = self.tasks.front() {
                self.tasks.pop_front();
                self.first += 1;
            }
            return match outcome {
                Ok(output) => Poll::Ready(Some((id, output))),
                Err(panic) => {
                    self.abort_all();
                    resume_unwind(panic)
                }
            };
        }
        if self.len == 0 {
            return Poll::Ready(None);
        }
        set_waker(&mut state.waker, cx.waker());
        Poll::Pending
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
    /// Resumes the first panic of a task, after cancelling the others.
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
        TryJoinAll {
            outputs: Vec::with_capacity(self.len),
            failure: None,
            group: self,
        }
    }
}

fn set_waker(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|known| known.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

/// Spawns through `anyrt-core` with `ambient` as the caller's context: the
/// spawn call runs inside a one-poll future under that context, so the
/// runtime and the task see it exactly as if spawned there. (The one-poll
/// future returns the task on purpose, unawaited.)
#[allow(clippy::async_yields_async)]
pub(crate) fn spawn_in<F>(ambient: &Ambient, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut call = pin!(
        ambient
            .clone()
            .attach(async move { anyrt_core::spawn(future) })
    );
    match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(task) => task,
        Poll::Pending => unreachable!("the call has no await point"),
    }
}

impl<T: Send + 'static> Default for TaskGroup<T> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Outputs ordered by task id, that is in spawn order.
fn in_spawn_order<T>(mut outputs: Vec<(u64, T)>) -> Vec<T> {
    outputs.sort_unstable_by_key(|(id, _)| *id);
    outputs.into_iter().map(|(_, output)| output).collect()
}

/// The output of the next task to finish; made by
/// [`TaskGroup::join_next`].
///
/// # Cancel safety
///
/// Cancel safe: dropping it loses no output.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let mut group = anyrt::scope::TaskGroup::new();
/// group.spawn(async { "done" });
/// let next: anyrt::scope::futures::JoinNext<'_, _> = group.join_next();
/// assert_eq!(next.await, Some("done"));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct JoinNext<'g, T> {
    group: &'g mut TaskGroup<T>,
}

impl<T: Send + 'static> Future for JoinNext<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.group
            .poll_join_next(cx)
            .map(|next| next.map(|(_, output)| output))
    }
}

impl<T> fmt::Debug for JoinNext<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNext")
            .field("group", &self.group)
            .finish()
    }
}

/// Every task's output in spawn order; made by [`TaskGroup::join_all`].
///
/// # Cancel safety
///
/// Dropping it drops the group, which cancels its tasks.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let mut group = anyrt::scope::TaskGroup::new();
/// group.spawn(async { 1 });
/// group.spawn(async { 2 });
/// let all: anyrt::scope::futures::JoinAll<_> = group.join_all();
/// assert_eq!(all.await, [1, 2]);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct JoinAll<T> {
    group: TaskGroup<T>,
    outputs: Vec<(u64, T)>,
}

impl<T> Unpin for JoinAll<T> {}

impl<T: Send + 'static> Future for JoinAll<T> {
    type Output = Vec<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = &mut *self;
        while let Some(output) = std::task::ready!(this.group.poll_join_next(cx)) {
            this.outputs.push(output);
        }
        Poll::Ready(in_spawn_order(std::mem::take(&mut this.outputs)))
    }
}

impl<T> fmt::Debug for JoinAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("group", &self.group)
            .finish()
    }
}

/// Every task's `Ok` output in spawn order, or the first `Err`; made by
/// [`TaskGroup::try_join_all`].
///
/// # Cancel safety
///
/// Dropping it drops the group, which cancels its tasks.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let mut group = anyrt::scope::TaskGroup::new();
/// group.spawn(async { Ok::<_, &str>(1) });
/// group.spawn(async { Err("failed") });
/// let all: anyrt::scope::futures::TryJoinAll<_, _> = group.try_join_all();
/// assert_eq!(all.await, Err("failed"));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TryJoinAll<U, E> {
    group: TaskGroup<Result<U, E>>,
    outputs: Vec<(u64, U)>,
    /// The first error, held while the other tasks are being dropped.
    failure: Option<E>,
}

impl<U, E> Unpin for TryJoinAll<U, E> {}

impl<U: Send + 'static, E: Send + 'static> Future for TryJoinAll<U, E> {
    type Output = Result<Vec<U>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while this.failure.is_none() {
            match std::task::ready!(this.group.poll_join_next(cx)) {
                None => return Poll::Ready(Ok(in_spawn_order(std::mem::take(&mut this.outputs)))),
                Some((id, Ok(output))) => this.outputs.push((id, output)),
                Some((_, Err(error))) => {
                    this.group.abort_all();
                    this.failure = Some(error);
                }
            }
        }
        std::task::ready!(this.group.poll_dropped(cx));
        Poll::Ready(Err(this.failure.take().expect("checked above")))
    }
}

impl<U, E> fmt::Debug for TryJoinAll<U, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryJoinAll")
            .field("group", &self.group)
            .field("failed", &self.failure.is_some())
            .finish()
    }
}

/// Waits until every cancelled task's future has been dropped; made by
/// [`TaskGroup::shutdown`], which cancels them.
///
/// # Cancel safety
///
/// The tasks are cancelled when it is made; dropping it only stops the
/// waiting.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let mut group = anyrt::scope::TaskGroup::new();
/// group.spawn(std::future::pending::<()>());
/// let stopping: anyrt::scope::futures::Shutdown<'_, _> = group.shutdown();
/// stopping.await;
/// assert!(group.is_empty());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Shutdown<'g, T> {
    group: &'g mut TaskGroup<T>,
}

impl<T: Send + 'static> Future for Shutdown<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.group.poll_dropped(cx)
    }
}

impl<T> fmt::Debug for Shutdown<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("group", &self.group)
            .finish()
    }
}
