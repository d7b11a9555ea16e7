//! A slab: values under stable keys, vacant slots reused first.

enum Slot<T> {
    Vacant(usize),
    Occupied(T),
}

/// Values under `usize` keys; a removed key is reused by the next insert.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// The first vacant slot, or `slots.len()` when none is.
    free: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: 0,
        }
    }

    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        let key = self.free;
        match self.slots.get_mut(key) {
            Some(slot) => {
                let Slot::Vacant(next) = *slot else {
                    unreachable!("the free list holds vacant slots only")
                };
                self.free = next;
                *slot = Slot::Occupied(value);
            }
            None => {
                self.slots.push(Slot::Occupied(value));
                self.free = self.slots.len();
            }
        }
        key
    }

    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.slots.get_mut(key) {
            Some(Slot::Occupied(value)) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, key: usize) -> Option<T> {
        let slot = self.slots.get_mut(key)?;
        if let Slot::Vacant(_) = slot {
            return None;
        }
        let Slot::Occupied(value) = std::mem::replace(slot, Slot::Vacant(self.free)) else {
            unreachable!("checked above")
        };
        self.free = key;
        Some(value)
    }

    /// Removes every value, handing each to `each`, and keeps the
    /// capacity of up to `keep` slots.
    pub(crate) fn clear_with(&mut self, keep: usize, mut each: impl FnMut(T)) {
        for slot in self.slots.drain(..) {
            if let Slot::Occupied(value) = slot {
                each(value);
            }
        }
        self.slots.shrink_to(keep);
        self.free = 0;
    }
}
