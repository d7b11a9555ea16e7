//! Per-child wakers feeding one ready queue: a wake-up queues that child's
//! key and wakes the scope's future, which then polls that child only.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Wake, Waker};

use crate::books::Books;

/// The key the body's waker queues.
pub(crate) const BODY: usize = usize::MAX;

/// The keys of woken children, and the waker of the scope's future.
#[derive(Default)]
pub(crate) struct Ready {
    queue: Mutex<VecDeque<usize>>,
    parent: Mutex<Option<Waker>>,
    /// Whether the scope's future is inside a poll: it looks at the queue
    /// again before it returns, so a wake-up meanwhile need not wake it.
    polling: AtomicBool,
}

/// Registers `waker` in `slot`, unless the one there wakes the same task;
/// returns the waker replaced, for the caller to drop once it has let go
/// of its lock: dropping the last handle of a task may run code (a drop
/// of another waiter, a release) that takes the same lock.
#[must_use = "drop the replaced waker after the lock"]
pub(crate) fn set_waker(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    if slot.as_ref().is_some_and(|known| known.will_wake(waker)) {
        return None;
    }
    slot.replace(waker.clone())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ready {
    /// Remembers the waker of the scope's future.
    pub(crate) fn register(&self, waker: &Waker) {
        let replaced = set_waker(&mut lock(&self.parent), waker);
        drop(replaced);
    }

    /// Moves every queued key into `batch`, in one lock.
    pub(crate) fn take(&self, batch: &mut VecDeque<usize>) {
        let mut queue = lock(&self.queue);
        if batch.is_empty() {
            std::mem::swap(&mut *queue, batch);
        } else {
            batch.extend(queue.drain(..));
        }
    }

    /// Puts back keys taken but not polled, so that their `queued` flags
    /// stay true only while they are queued.
    pub(crate) fn put_back(&self, batch: &mut VecDeque<usize>) {
        if !batch.is_empty() {
            let mut queue = lock(&self.queue);
            batch.extend(queue.drain(..));
            std::mem::swap(&mut *queue, batch);
        }
    }

    /// Marks the scope's future as inside a poll, or no longer (then says
    /// whether something was queued meanwhile).
    pub(crate) fn set_polling(&self, polling: bool) -> bool {
        self.polling.store(polling, Ordering::SeqCst);
        !polling && !lock(&self.queue).is_empty()
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
            self.wake_unless_polling();
        }
    }

    /// Wakes the scope's future unless it is inside a poll (it looks for
    /// new work again before it returns).
    pub(crate) fn wake_unless_polling(&self) {
        // Called by whoever wakes a child (a sender on another thread, a
        // drop while unwinding): a waker that panics, its executor's bug,
        // must not unwind into that caller.
        if let Some(parent) = self.waker_unless_polling() {
            anyrt_core::wake_quietly(parent);
        }
    }

    /// The waker of the scope's future, unless it is inside a poll: for a
    /// caller that must wake it later, once it has let go of its lock.
    pub(crate) fn waker_unless_polling(&self) -> Option<Waker> {
        if self.polling.load(Ordering::SeqCst) {
            return None;
        }
        lock(&self.parent).clone()
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

/// What a run needs to wake and poll its children: the ready queue, the
/// wakers of the slots and of the body, and the keys of the batch being
/// polled. The run owns it, so it polls a child with a waker it holds,
/// neither cloned nor looked up under a lock. Kept in a small per-thread
/// pool between runs, with the scope's [`Books`], so a new scope reuses
/// the wakers of a finished one instead of allocating one per slot again.
pub(crate) struct Wakers {
    pub(crate) ready: Arc<Ready>,
    slots: Vec<SlotWaker>,
    pub(crate) body: SlotWaker,
    /// The keys being polled, taken from the queue in one batch.
    pub(crate) batch: VecDeque<usize>,
}

/// Sets kept per thread, and the most slots one may keep: the pool never
/// holds more than `POOLED_SETS * POOLED_SLOTS` wakers.
const POOLED_SETS: usize = 4;
const POOLED_SLOTS: usize = 16_384;

thread_local! {
    static POOL: std::cell::RefCell<Vec<(Wakers, Books)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A set from this thread's pool, or a new one.
///
/// A pooled set may still get wake-ups from wakers that a past child left
/// behind: they queue a key and cost one spurious poll, and the `queued`
/// flags stay true only for keys in the queue, so no wake-up of the new
/// run's children is lost.
pub(crate) fn take_set() -> (Wakers, Books) {
    let pooled = POOL.try_with(|pool| pool.borrow_mut().pop()).ok().flatten();
    pooled.unwrap_or_else(|| {
        let ready = Arc::<Ready>::default();
        let wakers = Wakers {
            body: SlotWaker::new(BODY, &ready),
            slots: Vec::new(),
            batch: VecDeque::new(),
            ready: ready.clone(),
        };
        (wakers, Books::new(ready))
    })
}

/// Gives a set back to this thread's pool (or drops it if full).
pub(crate) fn give_back(mut wakers: Wakers, mut books: Books) {
    // A pooled set keeps the memory of at most `POOLED_SLOTS` children,
    // however many the run had.
    wakers.slots.truncate(POOLED_SLOTS);
    wakers.slots.shrink_to(POOLED_SLOTS);
    wakers.batch.clear();
    wakers.batch.shrink_to(POOLED_SLOTS);
    lock(&wakers.ready.queue).shrink_to(POOLED_SLOTS);
    books.clear(POOLED_SLOTS);
    let parent = lock(&wakers.ready.parent).take();
    drop(parent);
    wakers.ready.polling.store(false, Ordering::SeqCst);
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOLED_SETS {
            pool.push((wakers, books));
        }
    });
}

impl Wakers {
    /// The waker of slot `key`, made if the slot is new.
    pub(crate) fn slot(&mut self, key: usize) -> &SlotWaker {
        while self.slots.len() <= key {
            let slot = SlotWaker::new(self.slots.len(), &self.ready);
            self.slots.push(slot);
        }
        &self.slots[key]
    }
}
