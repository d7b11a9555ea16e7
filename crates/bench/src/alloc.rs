//! Allocation counting for the table: the process's global allocator is
//! `stats_alloc`'s instrumented wrapper around the system allocator, so this
//! crate needs no unsafe code of its own.

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations (and reallocations) made by the whole process so far.
pub(crate) fn allocations() -> u64 {
    let stats = GLOBAL.stats();
    (stats.allocations + stats.reallocations) as u64
}
