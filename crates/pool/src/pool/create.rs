//! Creation: each runs as a task spawned through `anyrt-core`, so that a
//! resource whose `get` was dropped mid-way still reaches the idle set
//! instead of being thrown away.
//!
//! The task and the waiting `get` meet in a `Handoff`: whichever of the two
//! comes second (the task with the outcome, or the `get` being dropped)
//! finishes the creation's bookkeeping, under the handoff's lock, so
//! exactly one of them owns the slot afterwards.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::shared::{Entry, Shared};
use super::{Manager, PoolError};

/// How a creation ended.
pub(crate) enum Outcome<T, E> {
    Created(Entry<T>),
    Failed(E),
    /// It ran past `create_timeout`.
    TimedOut,
    /// Its task was dropped before it ended (the runtime shut down); with
    /// whether it held a permit of `max_creating`, which whoever takes
    /// this outcome now holds.
    Cancelled {
        creator: bool,
    },
    /// `Manager::create` panicked; the panic goes on to the `get`.
    Panicked(Box<dyn Any + Send>),
}

enum Stage<T, E> {
    Waiting(Option<Waker>),
    Done(Outcome<T, E>),
    /// The `get` was dropped; the task finishes alone.
    Abandoned,
    Taken,
}

struct Handoff<T, E> {
    stage: Mutex<Stage<T, E>>,
}

impl<T, E> Handoff<T, E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Stage<T, E>> {
        self.stage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs one creation, with `create_timeout`, in the caller's task.
pub(crate) async fn run<M: Manager>(shared: &Shared<M>) -> Outcome<M::Type, M::Error> {
    let created = match shared.config.create_timeout {
        Some(limit) => match anyrt_deadline::timeout(limit, shared.manager.create()).await {
            Ok(created) => created,
            Err(_) => return Outcome::TimedOut,
        },
        None => shared.manager.create().await,
    };
    match created {
        Ok(resource) => Outcome::Created(shared.entry(resource)),
        Err(e) => Outcome::Failed(e),
    }
}

/// Starts a creation for a `get` that holds a slot and has counted the
/// creation in the pool's size; the returned future yields its outcome.
/// `creator`: whether it holds a permit of `max_creating`, which it gives
/// back when it ends.
pub(crate) fn spawn<M: Manager>(shared: &Arc<Shared<M>>, creator: bool) -> Creation<M> {
    let handoff = Arc::new(Handoff {
        stage: Mutex::new(Stage::Waiting(None)),
    });
    let deliver = Deliver {
        handoff: handoff.clone(),
        shared: shared.clone(),
        outcome: None,
        creator,
    };
    // The task takes the runtime's part of the caller's ambient context
    // (its timer, say), but none of the caller's values (its deadline,
    // its scope's cancel token, a request's data, which it does not keep
    // alive either): a creation outlives a `get` that gives up, and is
    // bounded by `create_timeout` alone.
    let runtime_only = anyrt_core::Ambient::capture_runtime();
    runtime_only
        .spawn(async move {
            let mut deliver = deliver;
            // A panic of the manager is caught here and handed to the `get`,
            // which resumes it, instead of ending the task unseen.
            let outcome = caught(run(&deliver.shared))
                .await
                .unwrap_or_else(Outcome::Panicked);
            deliver.outcome = Some(outcome);
        })
        .detach();
    Creation {
        handoff,
        shared: shared.clone(),
    }
}

/// The task's side: delivers the outcome when the task ends, also when it
/// is dropped unfinished.
struct Deliver<M: Manager> {
    handoff: Arc<Handoff<M::Type, M::Error>>,
    shared: Arc<Shared<M>>,
    outcome: Option<Outcome<M::Type, M::Error>>,
    creator: bool,
}

impl<M: Manager> Drop for Deliver<M> {
    fn drop(&mut self) {
        let outcome = match self.outcome.take() {
            Some(outcome) => {
                give_creator(&self.shared, self.creator);
                outcome
            }
            None => Outcome::Cancelled {
                creator: self.creator,
            },
        };
        let mut stage = self.handoff.lock();
        match std::mem::replace(&mut *stage, Stage::Taken) {
            Stage::Waiting(waker) => {
                *stage = Stage::Done(outcome);
                drop(stage);
                if let Some(waker) = waker {
                    // The outcome is stored: a waker that panics (its
                    // executor's bug) loses nothing, and must not unwind
                    // through the creation task's drop.
                    anyrt_core::wake_quietly(waker);
                }
            }
            _ => {
                drop(stage);
                finish_alone(&self.shared, outcome);
            }
        }
    }
}

/// Nobody waits for this outcome: keep the resource idle, free the slot,
/// then report a failure to `on_background_error`.
fn finish_alone<M: Manager>(shared: &Shared<M>, outcome: Outcome<M::Type, M::Error>) {
    let (entry, error) = match outcome {
        Outcome::Created(entry) => (Some(entry), None),
        Outcome::Failed(e) => (None, Some(PoolError::Backend(e))),
        Outcome::TimedOut => (None, Some(PoolError::Timeout { last_error: None })),
        // A panic was printed when it happened; a task dropped unfinished
        // ended with its runtime.
        Outcome::Panicked(_) => (None, None),
        Outcome::Cancelled { creator } => {
            give_creator(shared, creator);
            (None, None)
        }
    };
    drop(shared.created_idle(entry, false));
    if let Some(error) = error {
        shared.report(error);
    }
}

/// `future`'s output, or the panic of one of its polls.
pub(crate) async fn caught<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = pin!(future);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        },
    )
    .await
}

/// Gives back the permit of `max_creating` a creation held, if it held one.
pub(crate) fn give_creator<M: Manager>(shared: &Shared<M>, creator: bool) {
    if let (true, Some(creators)) = (creator, &shared.creators) {
        creators.add_permits(1);
    }
}

/// The `get`'s side of a creation.
pub(crate) struct Creation<M: Manager> {
    handoff: Arc<Handoff<M::Type, M::Error>>,
    shared: Arc<Shared<M>>,
}

impl<M: Manager> Future for Creation<M> {
    type Output = Outcome<M::Type, M::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut stage = self.handoff.lock();
        match &mut *stage {
            Stage::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Stage::Done(_) => match std::mem::replace(&mut *stage, Stage::Taken) {
                Stage::Done(outcome) => Poll::Ready(outcome),
                _ => unreachable!(),
            },
            Stage::Abandoned | Stage::Taken => panic!("`Creation` polled after completion"),
        }
    }
}

impl<M: Manager> Drop for Creation<M> {
    fn drop(&mut self) {
        let mut stage = self.handoff.lock();
        match std::mem::replace(&mut *stage, Stage::Abandoned) {
            Stage::Waiting(_) => {}
            Stage::Done(outcome) => {
                drop(stage);
                finish_alone(&self.shared, outcome);
            }
            taken => *stage = taken,
        }
    }
}
