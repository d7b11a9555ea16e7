//! The waiter queue: a FIFO of waiters kept in a slab (a `Vec` reused
//! across waits), linked by index, so that joining, leaving from any
//! position and being served are O(1) and allocate nothing once the slab
//! has grown to the largest number of waiters seen.

use std::task::Waker;
use std::time::Instant;

const NIL: usize = usize::MAX;

/// One waiting acquire.
#[derive(Debug)]
pub(crate) struct Node {
    /// Permits the acquire asks for.
    pub(crate) needed: usize,
    /// Permits handed to it directly so far.
    pub(crate) assigned: usize,
    /// Its waker; taken when it is woken, so it is woken once per poll.
    pub(crate) waker: Option<Waker>,
    /// Still in the queue (false once served).
    pub(crate) queued: bool,
    /// When it joined the queue, on the ambient clock.
    pub(crate) since: Instant,
    prev: usize,
    next: usize,
}

impl Node {
    /// Permits it still lacks.
    pub(crate) fn missing(&self) -> usize {
        self.needed - self.assigned
    }
}

#[derive(Debug)]
enum Slot {
    Used(Node),
    Free(usize),
}

#[derive(Debug)]
pub(crate) struct Queue {
    slots: Vec<Slot>,
    free: usize,
    head: usize,
    tail: usize,
    len: usize,
}

impl Queue {
    pub(crate) const fn new() -> Self {
        Queue {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// Waiters in the queue.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds a waiter at the back; returns its key.
    pub(crate) fn push_back(&mut self, needed: usize, waker: Waker, since: Instant) -> usize {
        self.push(needed, waker, since, false)
    }

    /// Adds a waiter at the front (it becomes the oldest); returns its key.
    pub(crate) fn push_front(&mut self, needed: usize, waker: Waker, since: Instant) -> usize {
        self.push(needed, waker, since, true)
    }

    fn push(&mut self, needed: usize, waker: Waker, since: Instant, front: bool) -> usize {
        let (prev, next) = if front {
            (NIL, self.head)
        } else {
            (self.tail, NIL)
        };
        let key = self.insert(Node {
            needed,
            assigned: 0,
            waker: Some(waker),
            queued: true,
            since,
            prev,
            next,
        });
        match (prev, next) {
            (NIL, NIL) => (self.head, self.tail) = (key, key),
            (NIL, head) => {
                self.node_mut(head).prev = key;
                self.head = key;
            }
            (tail, _) => {
                self.node_mut(tail).next = key;
                self.tail = key;
            }
        }
        self.len += 1;
        key
    }

    fn insert(&mut self, node: Node) -> usize {
        match self.free {
            NIL => {
                self.slots.push(Slot::Used(node));
                self.slots.len() - 1
            }
            key => {
                if let Slot::Free(next) = self.slots[key] {
                    self.free = next;
                }
                self.slots[key] = Slot::Used(node);
                key
            }
        }
    }

    /// The oldest waiter still queued.
    pub(crate) fn head(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    pub(crate) fn head_node(&self) -> Option<&Node> {
        match self.slots.get(self.head)? {
            Slot::Used(node) => Some(node),
            Slot::Free(_) => None,
        }
    }

    pub(crate) fn node_mut(&mut self, key: usize) -> &mut Node {
        match &mut self.slots[key] {
            Slot::Used(node) => node,
            Slot::Free(_) => unreachable!("a waiter key outlives its node"),
        }
    }

    /// Takes the waiter out of the queue order; its node stays until
    /// [`remove`](Self::remove).
    pub(crate) fn unlink(&mut self, key: usize) {
        let node = self.node_mut(key);
        if !node.queued {
            return;
        }
        node.queued = false;
        let (prev, next) = (node.prev, node.next);
        match prev {
            NIL => self.head = next,
            prev => self.node_mut(prev).next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.node_mut(next).prev = prev,
        }
        self.len -= 1;
    }

    /// Removes the waiter (unlinking it if still queued) and returns it.
    pub(crate) fn remove(&mut self, key: usize) -> Node {
        self.unlink(key);
        match std::mem::replace(&mut self.slots[key], Slot::Free(self.free)) {
            Slot::Used(node) => {
                self.free = key;
                node
            }
            Slot::Free(_) => unreachable!("a waiter removed twice"),
        }
    }

    /// Takes the waker of every queued waiter (for `close`), to be woken
    /// once the lock is released.
    pub(crate) fn take_wakers(&mut self, mut put: impl FnMut(Waker)) {
        let mut key = self.head;
        while key != NIL {
            let node = self.node_mut(key);
            key = node.next;
            if let Some(waker) = node.waker.take() {
                put(waker);
            }
        }
    }
}
