//! Support for the anyrt conformance suite: helpers shared by the test
//! files in `tests/` (`<crate>_<topic>.rs`).
//!
//! - [`alloc`]: a counting global allocator, for "no allocation per op" checks.
//! - [`cancel`]: drive a future for N polls and drop it, for every N.
//! - [`panics`]: a panic hook that keeps provoked panics quiet.
//! - [`pool`]: a controllable resource manager for the pool tests.
//! - [`wakers`]: wakers that count their wakes, or panic.
//! - [`tcp`]: loopback TCP servers on `async-net`, so they run under every
//!   runtime.

pub mod alloc;
pub mod cancel;
pub mod drops;
pub mod panics;
pub mod pool;
pub mod tcp;
pub mod time;
pub mod wakers;
