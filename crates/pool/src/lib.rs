//! A fair async semaphore, a resource pool and a byte-buffer pool, on any
//! executor.
//!
//! - [`Pool`]: a pool of resources made and health-checked by a
//!   [`Manager`] (or a closure, [`Pool::from_fn`]); [`Pool::get`] hands out
//!   an owned [`PoolGuard`] that gives the resource back on drop,
//!   synchronously. Options in [`PoolBuilder`]; [`Status`] and
//!   [`Discarded`] say what it holds and did; [`PoolError`] says why a
//!   checkout failed, with the backend's error.
//! - [`BufferPool`]: reusable byte buffers ([`PooledBuffer`]) in size
//!   classes, under a bound on total bytes.
//! - [`Semaphore`]: the counting semaphore the pools are built on, fair
//!   without the cost of strict handoff (a barging fast path, direct
//!   handoff to the oldest waiter once it was passed over [`MAX_PASSES`]
//!   times or waited [`MAX_WAIT`]), with [`SemaphorePermit`] and
//!   [`OwnedSemaphorePermit`] guards.
//! - The named futures [`Acquire`](futures::Acquire),
//!   [`AcquireOwned`](futures::AcquireOwned) and
//!   [`GetBuffer`](futures::GetBuffer) in [`futures`].
//!
//! | | waits when | gives back | cancel a wait |
//! |---|---|---|---|
//! | [`Semaphore::acquire`] | no permit is free | on permit drop | loses the place in the queue, nothing else |
//! | [`Pool::get`] | `max_size` resources are out | on guard drop, O(1), nothing spawned | a creation under way still yields an idle resource |
//! | [`BufferPool::get`] | `max_bytes` are out | on buffer drop, emptied | loses the place in the queue, nothing else |
//!
//! # Runtime compatibility
//!
//! This crate names no runtime: wake-ups go through the `Waker` of
//! whichever executor polls; time (timeouts, expiry, the semaphore's
//! [`MAX_WAIT`]) comes from `anyrt-core`'s ambient timer, so a test's
//! `VirtualClock` drives it; a pool's creations are tasks spawned through
//! `anyrt-core` on the runtime it finds.
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

mod buffer;
mod pool;
mod semaphore;

pub use buffer::{BufferError, BufferPool, BufferPoolBuilder, BufferStatus, PooledBuffer};
pub use pool::{
    AddError, BuildError, Discarded, FnManager, Manager, Metrics, Pool, PoolBuilder, PoolError,
    PoolGuard, Reuse, Status, TryGetError,
};
pub use semaphore::{
    AcquireError, MAX_PASSES, MAX_WAIT, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};

/// The named futures of this crate.
pub mod futures {
    pub use crate::buffer::GetBuffer;
    pub use crate::semaphore::{Acquire, AcquireOwned};
}
