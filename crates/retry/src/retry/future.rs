//! The retry state machine: attempt, sleep, attempt, ...

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyrt_core::Sleep as _;
use anyrt_core::futures::AnySleep;
use pin_project_lite::pin_project;

use super::Retry;
use super::decide::Wait;
use super::hooks::{Condition, Hint, Notify, Operation};
use crate::backoff::Backoff;
use crate::error::RetryError;

pin_project! {
    #[project = StateProj]
    pub(crate) enum State<Fut> {
        Idle,
        Attempt { #[pin] fut: Fut },
        // The sleep itself is the `Retry`'s boxed `sleep`.
        Sleeping,
        Done,
    }
}

impl<Op, B, W, N, H> Future for Retry<Op, B, W, N, H>
where
    Op: Operation,
    B: Backoff,
    W: Condition<Op::Error>,
    N: Notify<Op::Error>,
    H: Hint<Op::Error>,
{
    type Output = Result<Op::Ok, RetryError<Op::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Idle => {
                    this.config.rules.begin_attempt();
                    let fut = this.op.call();
                    this.state.set(State::Attempt { fut });
                }
                StateProj::Attempt { fut } => {
                    let error = match ready!(fut.poll(cx)) {
                        Ok(value) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(value));
                        }
                        Err(error) => error,
                    };
                    // The finished attempt is dropped before any sleep.
                    this.state.set(State::Idle);
                    match this.config.decide(&error) {
                        // A zero delay goes straight to the next attempt,
                        // without the timer.
                        Ok(wait) if wait.delay.is_zero() => {}
                        Ok(wait) => {
                            start_sleep(this.sleep, wait);
                            this.state.set(State::Sleeping);
                        }
                        Err(reason) => {
                            this.state.set(State::Done);
                            let attempts = this.config.rules.attempts;
                            return Poll::Ready(Err(RetryError::new(error, reason, attempts)));
                        }
                    }
                }
                StateProj::Sleeping => {
                    if let Some(sleep) = this.sleep {
                        ready!(sleep.as_mut().poll(cx));
                    }
                    this.state.set(State::Idle);
                }
                StateProj::Done => panic!("`Retry` polled after completion"),
            }
        }
    }
}

/// Arms the retry's sleep for `wait`: the first sleep is allocated, later
/// ones move its deadline.
fn start_sleep(sleep: &mut Option<Pin<Box<AnySleep>>>, wait: Wait) {
    match sleep {
        Some(sleep) => {
            let until = wait
                .until
                .unwrap_or_else(|| anyrt_core::deadline_after(anyrt_core::now(), wait.delay));
            sleep.as_mut().reset(until);
        }
        None => {
            let new = match wait.until {
                Some(until) => anyrt_core::sleep_until(until),
                None => anyrt_core::sleep(wait.delay),
            };
            *sleep = Some(Box::pin(new));
        }
    }
}

impl<Op: Operation, B, W, N, H> fmt::Debug for Retry<Op, B, W, N, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle => "idle",
            State::Attempt { .. } => "attempt",
            State::Sleeping => "sleeping",
            State::Done => "done",
        };
        f.debug_struct("Retry")
            .field("state", &state)
            .field("attempts", &self.config.rules.attempts)
            .field("max_attempts", &self.config.rules.max_attempts)
            .field("max_elapsed", &self.config.rules.max_elapsed())
            .finish_non_exhaustive()
    }
}
