//! `PooledBuffer`: a buffer checked out of a `BufferPool`.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::Inner;

/// A byte buffer from a [`BufferPool`](crate::BufferPool): derefs to a
/// `Vec<u8>` that starts empty with its class's capacity, and goes back to
/// the pool (emptied) when dropped, unless it grew past its class.
///
/// # Examples
///
/// ```
/// let pool = anyrt::pool::BufferPool::builder().classes([16]).build().unwrap();
/// let mut buffer = pool.try_get(16).unwrap();
/// buffer.extend_from_slice(&[1; 17]); // grows past the class
/// drop(buffer);
/// assert_eq!(pool.status().dropped_grown, 1);
/// ```
pub struct PooledBuffer {
    buffer: Vec<u8>,
    class: usize,
    inner: Arc<Inner>,
}

impl PooledBuffer {
    pub(super) fn new(buffer: Vec<u8>, class: usize, inner: Arc<Inner>) -> Self {
        PooledBuffer {
            buffer,
            class,
            inner,
        }
    }
}

impl Deref for PooledBuffer {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.buffer
    }
}

impl DerefMut for PooledBuffer {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        self.inner.give_back(buffer, self.class);
    }
}

impl fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuffer")
            .field("len", &self.buffer.len())
            .field("capacity", &self.buffer.capacity())
            .finish_non_exhaustive()
    }
}
