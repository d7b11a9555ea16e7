//! Counting drops, and sizes that are not zero.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Adds one to its counter when dropped: held by a future, it tells when
/// the future was dropped.
#[derive(Debug)]
pub struct Guard(pub Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// `value` as a `NonZeroUsize`; panics on zero (a test's own constant).
pub fn n(value: usize) -> NonZeroUsize {
    NonZeroUsize::new(value).expect("not zero")
}
