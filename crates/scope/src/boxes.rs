//! The children's boxes by slot key, in chunks: growing never moves the
//! boxes already stored, and a large scope takes its memory in pieces of
//! a fixed, modest size instead of one block copied at every doubling.
//!
//! Whole chunks left empty when a scope ends are kept per thread for the
//! next scope, so that a scope of thousands of children does not take
//! fresh memory from the allocator (and give it back) every time. A chunk
//! holds boxes that may borrow from the caller's frame, so it cannot be
//! kept as it is; an empty one is kept as plain words instead: the same
//! allocation, collected in place into a vector of another element type
//! of the same size and alignment (which `Vec`'s `collect` does without a
//! new allocation where it can; where it cannot, the chunk is simply new).

use std::cell::RefCell;
use std::mem::{align_of, size_of};

/// Slots per chunk; the first chunk grows up to this size, the later ones
/// are made whole.
const CHUNK: usize = 4096;

/// Empty whole chunks kept per thread (here 256 KiB on a 64-bit target).
const SPARE_CHUNKS: usize = 4;

/// An element of the layout of a chunk's slot (an optional fat pointer).
type Word = [usize; 2];

thread_local! {
    static SPARE: RefCell<Vec<Vec<Word>>> = const { RefCell::new(Vec::new()) };
}

/// Values under `usize` keys chosen by the caller (a slab's keys).
pub(crate) struct Boxes<T> {
    chunks: Vec<Vec<Option<T>>>,
    len: usize,
}

/// Whether a chunk of `T`s can be kept as [`Word`]s.
const fn keepable<T>() -> bool {
    size_of::<Option<T>>() == size_of::<Word>() && align_of::<Option<T>>() == align_of::<Word>()
}

/// A whole empty chunk from this thread's spares, else a new one (empty
/// for the first chunk, which grows as it fills).
fn new_chunk<T>(first: bool) -> Vec<Option<T>> {
    let spare = match keepable::<T>() {
        true => SPARE
            .try_with(|spare| spare.borrow_mut().pop())
            .ok()
            .flatten(),
        false => None,
    };
    match spare {
        Some(words) => words.into_iter().map(|_| None).collect(),
        None if first => Vec::new(),
        None => Vec::with_capacity(CHUNK),
    }
}

/// Keeps an emptied chunk for the next scope on this thread, if it is
/// whole and there is room.
fn keep_chunk<T>(mut chunk: Vec<Option<T>>) {
    chunk.clear();
    if !keepable::<T>() || chunk.capacity() != CHUNK {
        return;
    }
    let words: Vec<Word> = chunk.into_iter().map(|_| [0; 2]).collect();
    if words.capacity() != CHUNK {
        return;
    }
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < SPARE_CHUNKS {
            spare.push(words);
        }
    });
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
            let chunk = new_chunk(self.chunks.is_empty());
            self.chunks.push(chunk);
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

    /// Every value, in key order. The chunks go with them (whole ones to
    /// this thread's spares): the owner never drops this (see `Scope`),
    /// so memory kept here would outlive the scope.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.len);
        self.len = 0;
        for mut chunk in std::mem::take(&mut self.chunks) {
            values.extend(chunk.drain(..).flatten());
            keep_chunk(chunk);
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::{Boxes, CHUNK, SPARE};

    #[test]
    fn whole_chunks_are_kept_for_the_next_scope() {
        let spare = || SPARE.with(|spare| spare.borrow().len());
        let before = spare();
        let mut boxes = Boxes::<Box<dyn Fn() -> usize>>::new();
        for key in 0..CHUNK + 1 {
            boxes.put(key, Box::new(move || key));
        }
        assert_eq!(boxes.take(CHUNK).map(|f| f()), Some(CHUNK));
        let left = boxes.drain();
        assert_eq!(left.len(), CHUNK, "every value not taken, in key order");
        assert!(left.iter().enumerate().all(|(key, f)| f() == key));
        assert_eq!(spare(), (before + 2).min(super::SPARE_CHUNKS));
        let mut again = Boxes::<Box<dyn Fn() -> usize>>::new();
        again.put(0, Box::new(|| 7));
        assert_eq!(spare(), (before + 1).min(super::SPARE_CHUNKS), "one reused");
        assert_eq!(again.drain().len(), 1);
    }
}
