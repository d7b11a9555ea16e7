//! A fair async semaphore, a resource pool and a byte-buffer pool, on any
//! executor.
//!
//! This crate is being built; see the project's README for what is there.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
