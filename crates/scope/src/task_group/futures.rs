//! The named futures of `TaskGroup`.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use super::TaskGroup;
use super::limit::Place;
use super::shared::Panic;

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
    pub(super) group: &'g mut TaskGroup<T>,
}

impl<T> Future for JoinNext<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.group.poll_join_next(cx)
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
    /// Outputs of the handles before `next`, in spawn order.
    outputs: Vec<T>,
    /// The index in the group's tasks of the next handle to await.
    next: usize,
    /// Outputs queued before the first poll, by index, in spawn order;
    /// `None` until then.
    early: Option<VecDeque<(usize, T)>>,
}

impl<T> JoinAll<T> {
    pub(super) fn new(group: TaskGroup<T>) -> Self {
        JoinAll {
            outputs: Vec::with_capacity(group.len),
            next: 0,
            early: None,
            group,
        }
    }
}

impl<T> Unpin for JoinAll<T> {}

impl<T> Future for JoinAll<T> {
    type Output = Vec<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = &mut *self;
        let early = match &mut this.early {
            Some(early) => early,
            None => this.early.insert(this.group.go_direct()),
        };
        ready!(
            this.group
                .poll_direct(cx, &mut this.next, early, &mut this.outputs)
        );
        Poll::Ready(std::mem::take(&mut this.outputs))
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
    /// The first error or panic, held while the other tasks are being
    /// dropped.
    failure: Option<Failure<E>>,
}

/// How a fail-fast join failed.
enum Failure<E> {
    Error(E),
    /// In a mutex only so that the future stays `Sync`: reached through
    /// `into_inner`, never locked.
    Panic(Mutex<Panic>),
}

impl<U, E> TryJoinAll<U, E> {
    pub(super) fn new(group: TaskGroup<Result<U, E>>) -> Self {
        TryJoinAll {
            outputs: Vec::with_capacity(group.len),
            failure: None,
            group,
        }
    }
}

impl<U, E> Unpin for TryJoinAll<U, E> {}

impl<U, E> Future for TryJoinAll<U, E> {
    type Output = Result<Vec<U>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while this.failure.is_none() {
            match ready!(this.group.poll_next_outcome(cx)) {
                None => return Poll::Ready(Ok(in_spawn_order(std::mem::take(&mut this.outputs)))),
                Some((id, Ok(Ok(output)))) => this.outputs.push((id, output)),
                Some((_, Ok(Err(error)))) => {
                    this.group.abort_all();
                    this.failure = Some(Failure::Error(error));
                }
                // A panic, like an error, waits for the other tasks'
                // destructors before it is resumed.
                Some((_, Err(panic))) => {
                    this.group.abort_all();
                    this.failure = Some(Failure::Panic(Mutex::new(panic)));
                }
            }
        }
        ready!(this.group.poll_dropped(cx));
        match this.failure.take().expect("checked above") {
            Failure::Error(error) => Poll::Ready(Err(error)),
            Failure::Panic(panic) => {
                resume_unwind(panic.into_inner().unwrap_or_else(PoisonError::into_inner))
            }
        }
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

impl<'g, T> Shutdown<'g, T> {
    pub(super) fn new(group: &'g mut TaskGroup<T>) -> Self {
        Shutdown { group }
    }
}

impl<T> Future for Shutdown<'_, T> {
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

/// Waits for a place in a limited group, then spawns its future; made by
/// [`TaskGroup::spawn_wait`].
///
/// # Cancel safety
///
/// Dropping it drops the future unspawned and gives up its place in line
/// (or the place it was granted, to the next in line): no place is lost.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
///
/// # futures_lite::future::block_on(async {
/// let mut group = anyrt::scope::TaskGroup::with_limit(NonZeroUsize::MIN);
/// let waiting: anyrt::scope::futures::GroupSpawnWait<'_, _, _> =
///     group.spawn_wait(async { 3 });
/// waiting.await;
/// assert_eq!(group.join_next().await, Some(3));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct GroupSpawnWait<'g, T, F> {
    group: &'g mut TaskGroup<T>,
    future: Option<F>,
    /// The ticket in line, once the first poll found the group full.
    place: Option<Place>,
}

// The task's future is moved into its task, never pinned here.
impl<T, F> Unpin for GroupSpawnWait<'_, T, F> {}

impl<'g, T, F> GroupSpawnWait<'g, T, F> {
    pub(super) fn new(group: &'g mut TaskGroup<T>, future: F) -> Self {
        GroupSpawnWait {
            group,
            future: Some(future),
            place: None,
        }
    }
}

impl<T, F> Future for GroupSpawnWait<'_, T, F>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let place = match &mut this.place {
            Some(place) => {
                ready!(place.poll_enter(cx));
                this.place.take().expect("matched above")
            }
            None => {
                let place = this.group.place_or_queue(cx.waker());
                if place.is_waiting() {
                    this.place = Some(place);
                    return Poll::Pending;
                }
                place
            }
        };
        let future = this.future.take().expect("polled after completion");
        this.group.spawn_placed(future, place);
        Poll::Ready(())
    }
}

impl<T, F> fmt::Debug for GroupSpawnWait<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSpawnWait")
            .field("group", &self.group)
            .field("waiting", &self.place.is_some())
            .finish_non_exhaustive()
    }
}
