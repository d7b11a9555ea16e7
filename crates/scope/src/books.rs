//! What a scope knows of its children besides their boxes: their ids,
//! states and handles, and the keys spawned for the run to poll. It
//! borrows nothing, so between runs it goes back to a per-thread pool
//! with the wakers, and a new scope reuses its memory.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Waker;

use crate::slab::Slab;
use crate::wake::Ready;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Spawned while the scope was full; not polled yet.
    Queued,
    Running,
    /// Its box is out, with the run, for a poll.
    Polling,
    /// Finished; the box holds the output until the handle takes it.
    Done,
}

pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) state: State,
    pub(crate) handle_alive: bool,
    pub(crate) handle_waker: Option<Waker>,
}

pub(crate) struct Books {
    pub(crate) entries: Slab<Entry>,
    /// Keys of children spawned (or admitted under the limit) that the
    /// run has not taken yet. A spawn holds the scope's lock already, so
    /// it puts the key here rather than taking the ready queue's lock.
    pub(crate) spawned: VecDeque<usize>,
    ready: Arc<Ready>,
}

impl Books {
    pub(crate) fn new(ready: Arc<Ready>) -> Books {
        Books {
            entries: Slab::new(),
            spawned: VecDeque::new(),
            ready,
        }
    }

    /// The entry of child `id` in slot `key`, if it is still there.
    pub(crate) fn entry(&mut self, key: usize, id: u64) -> Option<&mut Entry> {
        self.entries.get_mut(key).filter(|entry| entry.id == id)
    }

    /// Queues child `key` for the run. Returns the run's waker if this is
    /// the first key queued here and the run is not inside a poll (which
    /// looks here again before it returns): the caller holds the scope's
    /// lock, so it wakes the run once the lock is released.
    #[must_use = "wake the run after the scope's lock"]
    pub(crate) fn schedule(&mut self, key: usize) -> Option<Waker> {
        self.spawned.push_back(key);
        if self.spawned.len() == 1 {
            self.ready.waker_unless_polling()
        } else {
            None
        }
    }

    /// Forgets every child, keeping the memory of up to `keep` of them,
    /// and wakes the handles awaited: the run ended, and a child that left
    /// no output is gone (its handle says so when polled), so a task
    /// waiting on its handle outside the run must look again. Called with
    /// no lock held.
    pub(crate) fn clear(&mut self, keep: usize) {
        self.entries.clear_with(keep, |entry| {
            if let Some(waker) = entry.handle_waker {
                anyrt_core::wake_quietly(waker);
            }
        });
        self.spawned.clear();
        self.spawned.shrink_to(keep);
    }
}
