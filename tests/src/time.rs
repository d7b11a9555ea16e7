//! Instants at the edge of what the platform represents.

use std::time::{Duration, Instant};

/// The last instant an `Instant` can hold after `from`: the largest one
/// this platform represents.
pub fn last_instant(from: Instant) -> Instant {
    let (mut last, mut step) = (from, Duration::MAX);
    while !step.is_zero() {
        match last.checked_add(step) {
            Some(later) => last = later,
            None => step /= 2,
        }
    }
    last
}
