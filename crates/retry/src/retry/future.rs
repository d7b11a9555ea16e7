//! The retry state machine: attempt, sleep, attempt, ...

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, ready};

use anyrt_core::Sleep as _;
use anyrt_core::futures::AnySleep;
use pin_project_lite::pin_project;

use super::Retry;
use super::decide::{Config, Next, Wait};
use super::hooks::{Attempts, Condition, Hint, Notify, Operation, WithState};
use crate::backoff::Backoff;
use crate::error::RetryError;

pin_project! {
    #[project = StateProj]
    #[project_replace = StateProjReplace]
    // A word-sized tag puts the attempt at an offset that is a multiple of
    // eight: a compiler that writes a small attempt with word-wide stores
    // then never writes across a cache line.
    #[repr(u64)]
    pub(crate) enum State<Fut, E> {
        // Not polled yet. The first poll only counts the first attempt: it
        // reads nothing back of what building the retry just wrote (a load
        // of a field written a moment before, merged into a wider store,
        // can stall on store forwarding).
        New,
        // Not polled yet, with a budget or `max_elapsed` to set up at the
        // first poll (the builder methods that set them say so here).
        NewChecked,
        // Between two attempts, after a yield: the next attempt is counted
        // when polled.
        Idle,
        // The next attempt is counted and paid for, and its call is being
        // made. A poll that finds this state (the call panicked, and the
        // panic was caught) makes the same call again: a call that
        // panicked gave no outcome, so it was no attempt.
        Paid,
        Attempt { #[pin] fut: Fut },
        // An attempt failed with `error`, which the stop rules and hooks are
        // judging. A poll that finds this state (a hook panicked, and the
        // panic was caught) judges the same error again, so no attempt
        // starts that the stop rules did not allow.
        Failed { error: E },
        // The sleep itself is the `Retry`'s boxed `sleep`.
        Sleeping,
        Done,
    }
}

/// A state without an attempt or an error, for [`State::to`].
#[derive(Clone, Copy)]
enum Step {
    New,
    Idle,
    Paid,
    Sleeping,
    Done,
}

// Each change of state is made in a function of its own: a debug build
// gives every temporary of a function its own stack slot, and each `State`
// value is as large as the attempt's future, so made in `poll` these
// would add up (a 128 KiB attempt overflowed a 2 MiB stack); made here,
// each is freed when the call returns. A release build inlines them.
impl<Fut, E> State<Fut, E> {
    fn to(mut self: Pin<&mut Self>, step: Step) {
        self.set(match step {
            Step::New => State::New,
            Step::Idle => State::Idle,
            Step::Paid => State::Paid,
            Step::Sleeping => State::Sleeping,
            Step::Done => State::Done,
        });
    }

    /// Keeps a failure to judge.
    fn fail(mut self: Pin<&mut Self>, error: E) {
        self.set(State::Failed { error });
    }

    /// Takes the failure being judged, leaving the retry done.
    fn take_failure(self: Pin<&mut Self>) -> E {
        let StateProjReplace::Failed { error } = self.project_replace(State::Done) else {
            unreachable!("a failure is being judged")
        };
        error
    }
}

/// A run of retries that never wait (zero delays, or sleeps already over
/// when first polled) yields to the executor after each attempt whose
/// number is a multiple of this.
const ZERO_DELAY_TURNS: u32 = 64;

impl<Op, B, W, N, H> Future for Retry<Op, B, W, N, H>
where
    Op: Operation,
    B: Backoff,
    W: Condition<Op::Error>,
    N: Notify<Op::Error>,
    H: Hint<Op::Error>,
{
    type Output = Result<Op::Ok, RetryError<Op::Error>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (op, config, mut state, pause) = (this.op, this.config, this.state, this.pause);
        let outcome = match state.as_mut().project() {
            StateProj::New => start(op, state.as_mut(), cx).map(Some),
            StateProj::NewChecked => {
                config.rules.begin_first();
                // Done once, even if the first call panics and the retry is
                // polled again.
                state.as_mut().to(Step::New);
                start(op, state.as_mut(), cx).map(Some)
            }
            StateProj::Idle => {
                config.rules.begin_retry();
                state.as_mut().to(Step::Paid);
                start(op, state.as_mut(), cx).map(Some)
            }
            StateProj::Paid => start(op, state.as_mut(), cx).map(Some),
            StateProj::Attempt { fut } => fut.poll(cx).map(Some),
            // A hook panicked while judging this failure: judge it again.
            StateProj::Failed { .. } => Poll::Ready(None),
            StateProj::Sleeping => {
                ready!(poll_pause(pause, cx));
                config.rules.begin_retry();
                state.as_mut().to(Step::Paid);
                start(op, state.as_mut(), cx).map(Some)
            }
            StateProj::Done => panic!("`Retry` polled after completion"),
        };
        turns(op, config, state, pause, cx, outcome)
    }
}

/// Handles the outcome of attempts until one is pending, succeeds or is the
/// last; an outcome of `None` is the failure kept in the state, to judge
/// again. The next attempt is started and polled within the turn, so a run
/// of failures with zero delays stays in this loop and never dispatches on
/// the state.
///
/// The pieces of the `Retry` come as separate borrows, and the attempt
/// count and cap are read once into locals (the count is written back at
/// each turn, never read back): an attempt's code could otherwise, as far
/// as the compiler knows, change them, and every turn would load them.
#[inline]
fn turns<Op, B, W, N, H>(
    op: &mut Op,
    config: &mut Config<B, W, N, H>,
    mut state: Pin<&mut State<Op::Future, Op::Error>>,
    pause: &mut PauseSlot,
    cx: &mut Context<'_>,
    mut outcome: Poll<Option<Result<Op::Ok, Op::Error>>>,
) -> Poll<Result<Op::Ok, RetryError<Op::Error>>>
where
    Op: Operation,
    B: Backoff,
    W: Condition<Op::Error>,
    N: Notify<Op::Error>,
    H: Hint<Op::Error>,
{
    let (mut attempts, max_attempts) = (config.rules.attempts, config.rules.max_attempts);
    loop {
        match ready!(outcome) {
            Some(Ok(value)) => {
                state.as_mut().to(Step::Done);
                return Poll::Ready(Ok(value));
            }
            // The finished attempt is dropped before anything else runs:
            // the hooks, the backoff and the next call never see it alive.
            // Its error is kept in the state while it is judged, so that a
            // hook that panics leaves it there to judge again.
            Some(Err(error)) => state.as_mut().fail(error),
            None => {}
        }
        let StateProj::Failed { error } = state.as_mut().project() else {
            unreachable!("a failure is being judged")
        };
        let held = match config.decide(error, attempts, max_attempts) {
            // A zero delay goes straight to the next attempt, without the
            // timer.
            Ok(Next::Now { held }) => held,
            Ok(Next::After(wait)) => {
                start_pause(pause, wait);
                state.as_mut().to(Step::Sleeping);
                ready!(poll_pause(pause, cx));
                true
            }
            Err(reason) => {
                let error = state.as_mut().take_failure();
                return Poll::Ready(Err(RetryError::new(error, reason, attempts)));
            }
        };
        // Attempts that fail at once, with no delay or a sleep that was
        // over when first polled, would keep this poll, and the executor's
        // thread, for as long as the attempts last: every so often, yield
        // instead. The retry held for the next attempt stays held.
        if attempts % ZERO_DELAY_TURNS == 0 {
            state.as_mut().to(Step::Idle);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        // `decide` allowed a retry, so the count is below `max_attempts`.
        attempts += 1;
        config.rules.attempts = attempts;
        if held {
            config.rules.spend();
        }
        state.as_mut().to(Step::Paid);
        outcome = start(op, state.as_mut(), cx).map(Some);
    }
}

/// Starts the next attempt (already counted) and polls it once, right
/// where it was stored, so the compiler sees its state (a ready attempt
/// costs no dispatch).
#[inline]
fn start<Op: Operation>(
    op: &mut Op,
    mut state: Pin<&mut State<Op::Future, Op::Error>>,
    cx: &mut Context<'_>,
) -> Poll<Result<Op::Ok, Op::Error>> {
    state.set(State::Attempt { fut: op.call() });
    let StateProj::Attempt { fut } = state.project() else {
        unreachable!("an attempt was just stored")
    };
    fut.poll(cx)
}

/// Polls the armed pause's sleep.
fn poll_pause(pause: &mut PauseSlot, cx: &mut Context<'_>) -> Poll<()> {
    match &mut pause.0 {
        Some(sleep) => sleep.as_mut().poll(cx),
        None => Poll::Ready(()),
    }
}

/// Where a retry keeps the sleep between two attempts: boxed, so that the
/// retry future stays small when it never sleeps, made at the first retry
/// that sleeps and reset by later ones. Dropping an empty slot is one test,
/// inline; the sleep is dropped out of line.
pub(crate) struct PauseSlot(Option<Pin<Box<AnySleep>>>);

impl PauseSlot {
    pub(crate) const EMPTY: PauseSlot = PauseSlot(None);
}

impl Drop for PauseSlot {
    #[inline]
    fn drop(&mut self) {
        if let Some(sleep) = self.0.take() {
            drop_sleep(sleep);
        }
    }
}

#[cold]
#[inline(never)]
fn drop_sleep(sleep: Pin<Box<AnySleep>>) {
    drop(sleep);
}

/// Arms the retry's pause for `wait`: the first sleep is allocated, later
/// ones move its deadline.
fn start_pause(slot: &mut PauseSlot, wait: Wait) -> Pin<&mut AnySleep> {
    let slot = &mut slot.0;
    match slot {
        Some(sleep) => {
            let until = wait
                .until
                .unwrap_or_else(|| anyrt_core::deadline_after(anyrt_core::now(), wait.delay));
            sleep.as_mut().reset(until);
            sleep.as_mut()
        }
        None => {
            let sleep = match wait.until {
                Some(until) => anyrt_core::sleep_until(until),
                None => anyrt_core::sleep(wait.delay),
            };
            slot.insert(Box::pin(sleep)).as_mut()
        }
    }
}

/// The future of a [`retry_with`](crate::retry_with): each attempt is lent
/// the state for as long as it runs, awaits included. Stop rules, delays
/// and hooks work as in [`Retry`]'s own `poll`.
pub(crate) fn run_with<S, F, T, E, B, W, N, H>(
    retry: Retry<WithState<'_, S, F, T, E>, B, W, N, H>,
) -> impl Future<Output = Result<T, RetryError<E>>>
where
    S: ?Sized,
    F: AsyncFnMut(&mut S) -> Result<T, E>,
    B: Backoff,
    W: Condition<E>,
    N: Notify<E>,
    H: Hint<E>,
{
    run_counted(retry, None)
}

/// [`run_with`], storing the number of each attempt in `started` as it
/// starts (for `RetryWith::within`, which reports it if the deadline cuts
/// the attempt).
pub(crate) fn run_counted<S, F, T, E, B, W, N, H>(
    retry: Retry<WithState<'_, S, F, T, E>, B, W, N, H>,
    started: Option<&AtomicU32>,
) -> impl Future<Output = Result<T, RetryError<E>>>
where
    S: ?Sized,
    F: AsyncFnMut(&mut S) -> Result<T, E>,
    B: Backoff,
    W: Condition<E>,
    N: Notify<E>,
    H: Hint<E>,
{
    let Retry {
        op: WithState { state, mut op, .. },
        mut config,
        ..
    } = retry;
    async move {
        let mut pause = PauseSlot::EMPTY;
        if config.rules.checked() {
            config.rules.begin_first();
        }
        loop {
            // The error is dropped before the sleep, as in `Retry`.
            let next = {
                if let Some(started) = started {
                    started.store(config.rules.attempts, Ordering::Relaxed);
                }
                let error = match op(state).await {
                    Ok(value) => return Ok(value),
                    Err(error) => error,
                };
                let (attempts, max) = (config.rules.attempts, config.rules.max_attempts);
                match config.decide(&error, attempts, max) {
                    Ok(next) => next,
                    Err(reason) => {
                        let attempts = config.rules.attempts;
                        return Err(RetryError::new(error, reason, attempts));
                    }
                }
            };
            // The retry held for the next attempt stays held across the
            // sleep and the yield: dropped with this future, it goes
            // back to the budget.
            if let Next::After(wait) = next {
                start_pause(&mut pause, wait).await;
            }
            // As in `Retry`: a run of attempts that fail at once yields
            // now and then (after a sleep, too, since it may have been
            // over already).
            if config.rules.attempts % ZERO_DELAY_TURNS == 0 {
                anyrt_core::yield_now().await;
            }
            config.rules.begin_retry();
        }
    }
}

impl<Op: Attempts, B, W, N, H> fmt::Debug for Retry<Op, B, W, N, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, attempts) = match &self.state {
            // The first attempt is counted before it starts.
            State::New | State::NewChecked => ("new", 0),
            State::Idle => ("idle", self.config.rules.attempts),
            State::Paid => ("calling", self.config.rules.attempts),
            State::Attempt { .. } => ("attempt", self.config.rules.attempts),
            State::Failed { .. } => ("failed", self.config.rules.attempts),
            State::Sleeping => ("sleeping", self.config.rules.attempts),
            State::Done => ("done", self.config.rules.attempts),
        };
        f.debug_struct("Retry")
            .field("state", &state)
            .field("attempts", &attempts)
            .field("max_attempts", &self.config.rules.max_attempts)
            .field("max_elapsed", &self.config.rules.max_elapsed())
            .finish_non_exhaustive()
    }
}
