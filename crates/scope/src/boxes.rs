//! The children's boxes by slot key, in chunks: growing never moves the
//! boxes already stored, and a large scope takes its memory in pieces of
//! a fixed, modest size instead of one block copied at every doubling.

/// Slots per chunk; the first chunk grows up to this size, the later ones
/// are made whole.
const CHUNK: usize = 4096;

/// Values under `usize` keys chosen by the caller (a slab's keys).
pub(crate) struct Boxes<T> {
    chunks: Vec<Vec<Option<T>>>,
    len: usize,
}

impl<T> Boxes<T> {
    pub(crate) const fn new() -> Boxes<T> {
        Boxes {
            chunks: Vec::new(),
            len: 0,
        }
    }

    /// Stores `value` under `key`, which must be free.
    pub(crate) fn put(&mut self, key: usize, value: T) {
        let (at, index) = (key / CHUNK, key % CHUNK);
        while self.chunks.len() <= at {
            let capacity = if self.chunks.is_empty() { 0 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(capacity));
        }
        let chunk = &mut self.chunks[at];
        if chunk.len() <= index {
            chunk.resize_with(index + 1, || None);
        }
        debug_assert!(chunk[index].is_none(), "the key is free");
        chunk[index] = Some(value);
        self.len += 1;
    }

    pub(crate) fn take(&mut self, key: usize) -> Option<T> {
        let value = self
            .chunks
            .get_mut(key / CHUNK)?
            .get_mut(key % CHUNK)?
            .take();
        self.len -= usize::from(value.is_some());
        value
    }

    /// Every value, in key order. The chunks go with them: the owner
    /// never drops this (see `Scope`), so memory kept here would outlive
    /// the scope.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.len);
        self.len = 0;
        for chunk in std::mem::take(&mut self.chunks) {
            values.extend(chunk.into_iter().flatten());
        }
        values
    }
}
