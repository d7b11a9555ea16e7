//! Allocation counting: the test binaries' global allocator is
//! `stats_alloc`'s instrumented wrapper around the system allocator (no
//! unsafe code of ours).
//!
//! The counts are process-wide, so a test that asserts on them runs in a
//! target of its own with `harness = false` (a plain `main`, declared in
//! `tests/Cargo.toml`; see `deadline_allocations.rs`): libtest's own
//! threads, and any other test, would add their allocations.

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations (and reallocations) made by the whole process so far.
pub fn allocations() -> u64 {
    let stats = GLOBAL.stats();
    (stats.allocations + stats.reallocations) as u64
}

/// Runs `f` and returns its output with the number of allocations made in
/// the process meanwhile.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = allocations();
    let output = f();
    (output, allocations() - before)
}

/// Bytes the whole process holds allocated now (allocated minus freed).
pub fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}
