//! `Slots`: a fixed set of reusable, pinned future slots, each with its own
//! waker; the engine of `map_concurrent` and `map_concurrent_unordered`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::thread;

use crate::wake_set::WakeSet;

pub(crate) struct Slots<Fut> {
    /// Boxed once per slot and refilled in place with `Pin::set`, so a
    /// future costs no allocation after the slot's first use.
    futures: Vec<Pin<Box<Option<Fut>>>>,
    wake: WakeSet,
}

impl<Fut: Future> Slots<Fut> {
    pub(crate) fn new() -> Self {
        Slots {
            futures: Vec::new(),
            wake: WakeSet::new(),
        }
    }

    /// Registers the owner's waker and queues the slots that woke.
    pub(crate) fn start_poll(&mut self, cx: &Context<'_>) {
        self.wake.start_poll(cx);
    }

    /// Puts `future` in slot `index` (growing the slots up to it) and
    /// queues it to be polled.
    pub(crate) fn start(&mut self, index: usize, future: Fut) {
        while self.futures.len() <= index {
            self.futures.push(Box::pin(None));
        }
        self.wake.grow_to(self.futures.len());
        self.futures[index].as_mut().set(Some(future));
        self.wake.push(index);
    }

    /// Polls the slots queued now, once each, until one completes: its
    /// index and output, or the panic its poll raised. The slot is empty
    /// afterwards either way: a future that panicked is dropped, not polled
    /// again, so the caller can free its place and then resume the panic.
    pub(crate) fn poll_next_done(&mut self) -> Option<(usize, thread::Result<Fut::Output>)> {
        for _ in 0..self.wake.queued() {
            let index = self.wake.pop()?;
            let Some(slot) = self.futures.get_mut(index) else {
                continue;
            };
            let Some(future) = slot.as_mut().as_pin_mut() else {
                continue;
            };
            let mut cx = Context::from_waker(self.wake.waker(index));
            match panic::catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(output)) => {
                    slot.as_mut().set(None);
                    return Some((index, Ok(output)));
                }
                Err(payload) => {
                    slot.as_mut().set(None);
                    return Some((index, Err(payload)));
                }
            }
        }
        None
    }

    pub(crate) fn has_queued(&self) -> bool {
        self.wake.queued() > 0
    }
}

/// A panic put off to the next poll: the concurrent maps refill before
/// they hand an output out, and a panic of the upstream or of `f` there
/// must not lose the output already taken. In a mutex only so that the
/// stream stays `Sync`: reached through `get_mut`, never locked.
#[derive(Default)]
pub(crate) struct Deferred(Mutex<Option<Box<dyn Any + Send>>>);

impl Deferred {
    /// Runs `refill`; a panic is kept for [`resume`](Deferred::resume).
    pub(crate) fn catch(&mut self, refill: impl FnOnce()) {
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(refill)) {
            *self.0.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(panic);
        }
    }

    /// Resumes the panic put off, if there is one.
    pub(crate) fn resume(&mut self) {
        let panic = self
            .0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(panic) = panic {
            panic::resume_unwind(panic);
        }
    }
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Deferred")
    }
}

impl<Fut> fmt::Debug for Slots<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slots")
            .field("slots", &self.futures.len())
            .field("wake", &self.wake)
            .finish()
    }
}
