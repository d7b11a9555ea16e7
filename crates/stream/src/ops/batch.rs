//! `Batch`: the buffer and timer that `chunks_timeout` and
//! `try_chunks_timeout` share.

use std::fmt;
use std::num::NonZeroUsize;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::timer::{Timer, due_after};

/// The most items a chunk's buffer is made for up front: chunks up to this
/// size take one allocation; larger ones grow as they fill.
const MAX_PREALLOCATED: usize = 4096;

pub(crate) struct Batch<T> {
    items: Vec<T>,
    max: usize,
    duration: Duration,
    timer: Timer,
    /// Whether the chunk in progress has a time bound: not where
    /// `duration` saturates as `Duration::MAX` does.
    timed: bool,
}

impl<T> Batch<T> {
    pub(crate) fn new(max: NonZeroUsize, duration: Duration) -> Self {
        Batch {
            items: Vec::new(),
            max: max.get(),
            duration,
            timer: Timer::default(),
            timed: false,
        }
    }

    /// Adds an item: the first of a chunk allocates its buffer and starts
    /// its timer (none for a duration that never ends). Returns the chunk
    /// once it is full.
    pub(crate) fn push(&mut self, item: T) -> Option<Vec<T>> {
        if self.items.is_empty() {
            if self.items.capacity() == 0 {
                self.items = Vec::with_capacity(self.max.min(MAX_PREALLOCATED));
            }
            let due = due_after(anyrt_core::now(), self.duration);
            self.timed = due.is_some();
            match due {
                Some(due) => self.timer.set(due),
                None => self.timer.disarm(),
            }
        }
        self.items.push(item);
        if self.items.len() < self.max {
            return None;
        }
        // Full before its time: its timer is not needed any more.
        self.timer.disarm();
        Some(self.take())
    }

    /// The chunk so far (possibly empty); the next one starts afresh.
    pub(crate) fn take(&mut self) -> Vec<T> {
        std::mem::take(&mut self.items)
    }

    /// The chunk so far, with its timer taken off: the upstream ended or
    /// the items are taken back.
    pub(crate) fn finish(&mut self) -> Vec<T> {
        self.timer.disarm();
        self.take()
    }

    /// The partial chunk once its time is up; pending while empty or with
    /// no time bound.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        if self.items.is_empty() || !self.timed {
            return Poll::Pending;
        }
        match self.timer.poll(cx) {
            Poll::Ready(()) => Poll::Ready(self.take()),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The partial chunk if its time is up, by the clock alone (for an
    /// upstream that is always ready, which never gets to `Pending`, where
    /// [`poll_expired`](Batch::poll_expired) is called).
    pub(crate) fn take_if_due(&mut self) -> Option<Vec<T>> {
        if self.items.is_empty() || !self.timed || !self.timer.is_due() {
            return None;
        }
        self.timer.disarm();
        Some(self.take())
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The size hint in chunks, given the upstream's in items: at least
    /// every item in full chunks, at most one chunk per item (timeouts may
    /// cut them short), the buffered ones making one chunk.
    pub(crate) fn hint(&self, (low, high): (usize, Option<usize>)) -> (usize, Option<usize>) {
        let buffered = self.items.len();
        let low = buffered.saturating_add(low).div_ceil(self.max);
        let high = high.and_then(|high| high.checked_add(usize::from(buffered > 0)));
        (low, high)
    }
}

impl<T> fmt::Debug for Batch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("buffered", &self.items.len())
            .field("max", &self.max)
            .field("duration", &self.duration)
            .field("timer", &self.timer)
            .finish()
    }
}
