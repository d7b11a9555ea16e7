//! A fair async semaphore, a resource pool and a byte-buffer pool, on any
//! executor.
//!
//! - [`Semaphore`]: a counting semaphore that is fair without the cost of
//!   strict handoff (a barging fast path, and direct handoff to the oldest
//!   waiter once it has been passed over [`MAX_PASSES`] times), with
//!   [`SemaphorePermit`] and [`OwnedSemaphorePermit`] guards.
//! - The named futures [`Acquire`](futures::Acquire) and
//!   [`AcquireOwned`](futures::AcquireOwned) in [`futures`].
//!
//! # Runtime compatibility
//!
//! This crate names no runtime: wake-ups go through the `Waker` of
//! whichever executor polls, and time (for the pool's timeouts and
//! expiry) comes from `anyrt-core`.
//!
//! # Features
//!
//! None.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use anyrt::pool::Semaphore;
//!
//! # futures_lite::future::block_on(async {
//! let limit = Arc::new(Semaphore::new(2));
//! let tasks: Vec<_> = (0..4)
//!     .map(|i| {
//!         let limit = limit.clone();
//!         anyrt::spawn(async move {
//!             let _permit = limit.acquire_owned().await.unwrap();
//!             i * 10
//!         })
//!     })
//!     .collect();
//! let mut sum = 0;
//! for task in tasks {
//!     sum += task.await;
//! }
//! assert_eq!(sum, 60);
//! # });
//! ```

mod semaphore;

pub use semaphore::{
    AcquireError, MAX_PASSES, MAX_WAIT, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};

/// The named futures of this crate.
pub mod futures {
    pub use crate::semaphore::{Acquire, AcquireOwned};
}
