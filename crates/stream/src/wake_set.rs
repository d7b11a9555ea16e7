//! `WakeSet`: one waker per slot and a queue of the slots to poll, so that
//! an operator over many futures or streams polls only those that woke.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The slots woken since the owner last looked, and the owner's waker.
struct Shared {
    woken: Mutex<Vec<usize>>,
    /// Set after a push to `woken`; lets the owner skip the lock when
    /// nothing woke.
    dirty: AtomicBool,
    parent: AtomicWaker,
}

/// The waker of one slot: queues its index (once until polled) and wakes
/// the owner.
struct SlotWaker {
    index: usize,
    /// Whether the index is already in `woken` or the owner's queue.
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.shared
                .woken
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.index);
            self.shared.dirty.store(true, Ordering::Release);
            wake_quietly(&self.shared.parent);
        }
    }
}

/// Wakes the waker kept in `waker`, if any; one that panics (its
/// executor's bug, reported by the panic hook) does not unwind into the
/// caller, which may be anybody (the sender completing a slot's future, a
/// task's drop during an unwind).
pub(crate) fn wake_quietly(waker: &AtomicWaker) {
    if let Some(waker) = waker.take() {
        anyrt_core::wake_quietly(waker);
    }
}

/// Per-slot wakers and the FIFO queue of slots to poll. A slot that
/// produced something is put back at the end of the queue by its owner, so
/// slots that stay ready are served in rotation.
pub(crate) struct WakeSet {
    shared: Arc<Shared>,
    slots: Vec<(Arc<SlotWaker>, Waker)>,
    ready: VecDeque<usize>,
}

impl WakeSet {
    pub(crate) fn new() -> Self {
        WakeSet {
            shared: Arc::new(Shared {
                woken: Mutex::new(Vec::new()),
                dirty: AtomicBool::new(false),
                parent: AtomicWaker::new(),
            }),
            slots: Vec::new(),
            ready: VecDeque::new(),
        }
    }

    /// Makes sure slots `0..len` have wakers (one allocation per new slot).
    pub(crate) fn grow_to(&mut self, len: usize) {
        while self.slots.len() < len {
            let slot = Arc::new(SlotWaker {
                index: self.slots.len(),
                queued: AtomicBool::new(false),
                shared: self.shared.clone(),
            });
            let waker = Waker::from(slot.clone());
            self.slots.push((slot, waker));
        }
    }

    /// Registers the owner's waker and moves the slots woken since the last
    /// call into the queue. Call once at the start of each poll.
    pub(crate) fn start_poll(&mut self, cx: &Context<'_>) {
        self.shared.parent.register(cx.waker());
        // A load first: the common poll, with nothing woken, does no
        // read-modify-write.
        if self.shared.dirty.load(Ordering::Acquire)
            && self.shared.dirty.swap(false, Ordering::AcqRel)
        {
            let woken =
                std::mem::take(&mut *self.shared.woken.lock().unwrap_or_else(|p| p.into_inner()));
            self.ready.extend(woken);
        }
    }

    /// Puts slot `index` at the end of the queue (a new slot, or one that
    /// produced and may have more), unless it is queued already.
    pub(crate) fn push(&mut self, index: usize) {
        if let Some((slot, _)) = self.slots.get(index) {
            if !slot.queued.swap(true, Ordering::AcqRel) {
                self.ready.push_back(index);
            }
        }
    }

    /// Wakes the owner's task, if it waits: a slot was added from outside
    /// its poll (a group's `push`), which no slot waker will report.
    pub(crate) fn wake_owner(&self) {
        wake_quietly(&self.shared.parent);
    }

    /// The next slot to poll; it may be queued again by a wake from now on.
    pub(crate) fn pop(&mut self) -> Option<usize> {
        let index = self.ready.pop_front()?;
        if let Some((slot, _)) = self.slots.get(index) {
            slot.queued.store(false, Ordering::Release);
        }
        Some(index)
    }

    /// The waker of slot `index` (after [`grow_to`](WakeSet::grow_to)).
    pub(crate) fn waker(&self, index: usize) -> &Waker {
        self.slots
            .get(index)
            .map_or(Waker::noop(), |(_, waker)| waker)
    }

    /// How many slots are queued to be polled in this poll.
    pub(crate) fn queued(&self) -> usize {
        self.ready.len()
    }
}

impl fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeSet")
            .field("slots", &self.slots.len())
            .field("queued", &self.ready.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Waker};

    use super::WakeSet;

    fn drain(set: &mut WakeSet) -> Vec<usize> {
        set.start_poll(&Context::from_waker(Waker::noop()));
        std::iter::from_fn(|| set.pop()).collect()
    }

    #[test]
    fn a_slot_is_queued_once_until_popped() {
        let mut set = WakeSet::new();
        set.grow_to(3);
        set.push(2);
        set.push(2);
        set.waker(2).wake_by_ref();
        set.waker(0).wake_by_ref();
        set.waker(0).wake_by_ref();
        assert_eq!(drain(&mut set), [2, 0]);
        assert_eq!(drain(&mut set), [] as [usize; 0]);
        set.waker(2).wake_by_ref();
        assert_eq!(drain(&mut set), [2], "popped slots can be queued again");
    }

    #[test]
    fn wakes_from_other_threads_reach_the_owner() {
        let mut set = WakeSet::new();
        set.grow_to(4);
        set.start_poll(&Context::from_waker(Waker::noop()));
        let wakers: Vec<Waker> = (0..4).map(|i| set.waker(i).clone()).collect();
        std::thread::scope(|scope| {
            for waker in &wakers {
                scope.spawn(move || waker.wake_by_ref());
            }
        });
        let mut woken = drain(&mut set);
        woken.sort_unstable();
        assert_eq!(woken, [0, 1, 2, 3]);
    }
}
