//! Per-child wakers feeding one ready queue: a wake-up queues that child's
//! key and wakes the scope's future, which then polls that child only.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Wake, Waker};

/// The key the body's waker queues.
pub(crate) const BODY: usize = usize::MAX;

/// The keys of woken children, and the waker of the scope's future.
#[derive(Default)]
pub(crate) struct Ready {
    queue: Mutex<VecDeque<usize>>,
    parent: Mutex<Option<Waker>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ready {
    /// Remembers the waker of the scope's future.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut parent = lock(&self.parent);
        match &*parent {
            Some(known) if known.will_wake(waker) => {}
            _ => *parent = Some(waker.clone()),
        }
    }

    pub(crate) fn pop(&self) -> Option<usize> {
        lock(&self.queue).pop_front()
    }

    /// Queues `key`; wakes the scope's future if the queue was empty (if
    /// not, it was woken already and has not drained the queue yet).
    fn push(&self, key: usize) {
        let was_empty = {
            let mut queue = lock(&self.queue);
            queue.push_back(key);
            queue.len() == 1
        };
        if was_empty {
            let parent = lock(&self.parent).clone();
            if let Some(parent) = parent {
                parent.wake();
            }
        }
    }
}

/// The waker of one child slot (or of the body).
pub(crate) struct Node {
    key: usize,
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Node {
    /// Marks the child as not queued, before it is polled: a wake-up during
    /// the poll queues it again.
    pub(crate) fn dequeued(&self) {
        self.queued.store(false, Ordering::Release);
    }

    /// Queues the child unless it already is.
    pub(crate) fn schedule(&self) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.push(self.key);
        }
    }
}

impl Wake for Node {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

/// A slot's waker, kept for the life of the scope and reused by every
/// child that occupies the slot, so a slot costs one allocation, not one
/// per child.
#[derive(Clone)]
pub(crate) struct SlotWaker {
    pub(crate) node: Arc<Node>,
    pub(crate) waker: Waker,
}

impl SlotWaker {
    pub(crate) fn new(key: usize, ready: &Arc<Ready>) -> SlotWaker {
        let node = Arc::new(Node {
            key,
            queued: AtomicBool::new(false),
            ready: ready.clone(),
        });
        SlotWaker {
            waker: Waker::from(node.clone()),
            node,
        }
    }
}
