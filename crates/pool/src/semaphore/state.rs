//! The locked state: the waiter queue, the free permits while somebody
//! waits, and the fairness decisions (barge, hand off, wake).

use std::task::Waker;
use std::time::Instant;

use super::queue::Queue;
use super::{MAX_PASSES, MAX_WAIT, TryAcquireError};

/// The most permits a semaphore holds; more saturate here.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> super::engine::SHIFT;

#[derive(Debug)]
pub(super) struct State {
    pub(super) permits: usize,
    pub(super) closed: bool,
    /// Times the current oldest waiter was passed over.
    pub(super) passes: u32,
    pub(super) queue: Queue,
    /// Keys of acquires of more permits than a semaphore ever holds:
    /// their nodes are out of the queue order (no permit is ever handed
    /// to them, and nobody waits behind them), woken only by `close`.
    pub(super) parked: Vec<usize>,
    /// Wakers to wake once the lock is released.
    pub(super) wake: WakeList,
}

/// Wakers put aside under the lock, woken after it is released, so that a
/// woken task never finds the lock still held by its waker (and a waker
/// that runs or drops its task in place cannot deadlock on it).
#[derive(Debug, Default)]
pub(super) struct WakeList {
    pub(super) wakers: [Option<Waker>; 4],
    pub(super) len: usize,
    /// More at once than the array holds (`close` with many waiters):
    /// allocated only then.
    pub(super) more: Vec<Waker>,
}

impl WakeList {
    pub(super) fn push(&mut self, waker: Waker) {
        match self.wakers.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(waker);
                self.len += 1;
            }
            None => self.more.push(waker),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0 && self.more.is_empty()
    }

    /// Wakes every waker. One that panics (a waiter's bug, reported by
    /// the panic hook) stops nothing: the others are woken all the same,
    /// and the caller's work under the lock, done already, stands.
    pub(super) fn wake_all(mut self) {
        for waker in self.wakers.iter_mut().take(self.len) {
            if let Some(waker) = waker.take() {
                anyrt_core::wake_quietly(waker);
            }
        }
        self.more.into_iter().for_each(anyrt_core::wake_quietly);
    }
}

impl State {
    pub(super) const fn new(permits: usize) -> Self {
        State {
            permits,
            closed: false,
            passes: 0,
            queue: Queue::new(),
            parked: Vec::new(),
            wake: WakeList {
                wakers: [None, None, None, None],
                len: 0,
                more: Vec::new(),
            },
        }
    }

    /// Whether free permits are owed to the oldest waiter.
    pub(super) fn handoff(&self) -> bool {
        self.passes >= MAX_PASSES
    }

    /// Whether the oldest waiter has waited [`MAX_WAIT`] at `now` (read
    /// here if not given); if so, permits are owed to it from now on. Only
    /// a barging acquire asks: a waiter nobody passes over is served in
    /// order anyway.
    pub(super) fn head_overdue(&mut self, now: Option<Instant>) -> bool {
        // The model checker explores thread interleavings, not time.
        if cfg!(all(test, anyrt_loom)) {
            return false;
        }
        let Some(head) = self.queue.head_node() else {
            return false;
        };
        let now = now.unwrap_or_else(anyrt_core::now);
        if now.saturating_duration_since(head.since) < MAX_WAIT {
            return false;
        }
        self.passes = MAX_PASSES;
        true
    }

    /// Takes `n` permits at once if allowed: when none are owed to a
    /// waiter (at `now`, read if needed and not given), or whenever they
    /// are free for an acquire that goes `first` (it passes nobody over).
    /// Counts a pass when a waiter is overtaken.
    pub(super) fn try_take(
        &mut self,
        n: usize,
        now: Option<Instant>,
        first: bool,
    ) -> Result<(), TryAcquireError> {
        if self.closed {
            return Err(TryAcquireError::Closed);
        }
        if n == 0 {
            // Takes nothing from anybody: never queued, never passes.
            return Ok(());
        }
        if self.permits < n {
            return Err(TryAcquireError::NoPermits);
        }
        let waiting = !first && self.queue.len() > 0;
        if waiting && (self.handoff() || self.head_overdue(now)) {
            self.dispatch();
            return Err(TryAcquireError::NoPermits);
        }
        self.permits -= n;
        if waiting {
            self.passes += 1;
            if self.handoff() {
                self.dispatch();
            }
        }
        Ok(())
    }

    /// Gives free permits to the oldest waiters (when they are owed them)
    /// or wakes the oldest one (when it can take them itself).
    pub(super) fn dispatch(&mut self) {
        self.dispatch_owed(false);
    }

    /// As [`dispatch`](Self::dispatch); with `owed`, the free permits are
    /// handed to the waiters in order whether or not they are owed them.
    fn dispatch_owed(&mut self, owed: bool) {
        while let Some(key) = self.queue.head() {
            if self.permits == 0 {
                return;
            }
            let handoff = owed || self.handoff() || self.closed;
            let node = self.queue.node_mut(key);
            if !handoff {
                if self.permits >= node.missing() {
                    if let Some(waker) = node.waker.take() {
                        self.wake.push(waker);
                    }
                }
                return;
            }
            let given = self.permits.min(node.missing());
            node.assigned += given;
            self.permits -= given;
            if node.missing() > 0 {
                return;
            }
            if let Some(waker) = node.waker.take() {
                self.wake.push(waker);
            }
            self.queue.unlink(key);
            self.passes = 0;
        }
    }

    /// The oldest waiter, polled, takes what it may: every permit it
    /// lacks if they are all free, or as many as are free when they are
    /// owed to it. Returns whether it now has all it needs.
    pub(super) fn serve_head(&mut self, key: usize) -> bool {
        let handoff = self.handoff();
        let permits = self.permits;
        let node = self.queue.node_mut(key);
        let given = if handoff {
            permits.min(node.missing())
        } else if permits >= node.missing() {
            node.missing()
        } else {
            0
        };
        node.assigned += given;
        self.permits -= given;
        self.queue.node_mut(key).missing() == 0
    }

    pub(super) fn release(&mut self, n: usize) {
        self.permits = self.permits.saturating_add(n).min(MAX_PERMITS);
        self.dispatch();
    }

    /// Takes the waiter `key` out for good (served, closed or dropped). A
    /// new oldest waiter has been passed over by nobody yet.
    pub(super) fn leave(&mut self, key: usize) -> super::queue::Node {
        if self.queue.head() == Some(key) {
            self.passes = 0;
        }
        if let Some(at) = self.parked.iter().position(|&k| k == key) {
            self.parked.swap_remove(at);
        }
        self.queue.remove(key)
    }

    /// Adds `n` permits, handed to the queued waiters first.
    pub(super) fn release_to_waiters(&mut self, n: usize) {
        self.permits = self.permits.saturating_add(n).min(MAX_PERMITS);
        self.dispatch_owed(true);
    }
}
