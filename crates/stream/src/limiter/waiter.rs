//! `Waiter`: one request for permits, through the fast path or the queue.
//! The acquire futures and the `rate_limit` stream are built on it.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyrt_core::Sleep;
use anyrt_core::futures::AnySleep;

use super::shared::{Refusal, Shared};

/// The state of one request; dropping it gives its place in the queue
/// back (and, at the head, hands the turn to the next waiter).
pub(crate) struct Waiter<L: Deref<Target = Shared>> {
    limiter: L,
    /// The id in the queue, once queued.
    ticket: Option<u64>,
    /// The head's sleep until its permits are due; boxed once and reset
    /// for later waits, so the waiter stays `Unpin`.
    sleep: Option<Pin<Box<AnySleep>>>,
    /// The tick the head last slept until.
    due: Option<u64>,
}

impl<L: Deref<Target = Shared>> Waiter<L> {
    pub(crate) fn new(limiter: L) -> Self {
        Waiter {
            limiter,
            ticket: None,
            sleep: None,
            due: None,
        }
    }

    pub(crate) fn limiter(&self) -> &Shared {
        &self.limiter
    }

    /// Polls for `cost` permits: `Ready(false)` if `cost` exceeds the burst
    /// (nothing taken, place given back), `Ready(true)` once granted. After
    /// `Ready` the waiter can be polled again for a new request.
    pub(crate) fn poll_acquire(&mut self, cx: &mut Context<'_>, cost: u64) -> Poll<bool> {
        if cost > u64::from(self.limiter.burst) {
            self.give_up();
            return Poll::Ready(false);
        }
        if cost == 0 {
            return Poll::Ready(true);
        }
        let id = match self.ticket {
            Some(id) => id,
            None => {
                if self.limiter.nobody_queued() && self.limiter.take_now(cost).is_ok() {
                    return Poll::Ready(true);
                }
                let id = self.limiter.join(cx.waker());
                self.ticket = Some(id);
                id
            }
        };
        self.poll_queued(cx, id, cost)
    }

    /// The queued path: only the head looks at the state; the others wait
    /// to be woken by the waiter ahead of them.
    fn poll_queued(&mut self, cx: &mut Context<'_>, id: u64, cost: u64) -> Poll<bool> {
        if !self.limiter.is_head(id, cx.waker()) {
            return Poll::Pending;
        }
        loop {
            let now = anyrt_core::now();
            match self.limiter.take(now, cost, self.due) {
                Ok(()) => {
                    self.give_up();
                    return Poll::Ready(true);
                }
                Err(Refusal::Never) => {
                    self.give_up();
                    return Poll::Ready(false);
                }
                Err(Refusal::Until(tick)) => {
                    self.due = Some(tick);
                    let sleep = self.sleep_until(self.limiter.deadline(now, tick));
                    if sleep.poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    fn sleep_until(&mut self, at: std::time::Instant) -> Pin<&mut AnySleep> {
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(anyrt_core::sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        sleep.as_mut()
    }

    /// Leaves the queue, if queued, waking the next waiter if this one was
    /// at the head.
    pub(crate) fn give_up(&mut self) {
        self.due = None;
        if let Some(id) = self.ticket.take() {
            self.limiter.leave(id);
        }
    }

    pub(crate) fn is_queued(&self) -> bool {
        self.ticket.is_some()
    }
}

impl<L: Deref<Target = Shared>> Drop for Waiter<L> {
    fn drop(&mut self) {
        self.give_up();
    }
}

impl<L: Deref<Target = Shared>> fmt::Debug for Waiter<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("queued", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}
