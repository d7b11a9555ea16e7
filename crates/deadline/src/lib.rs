//! Timeouts and deadlines that reach nested work, on any executor.
//!
//! - [`timeout`] and [`timeout_at`] give a future a time limit and return
//!   `Result<T, Elapsed>`; [`DeadlineExt`] offers them as methods
//!   (`fut.timeout(dur)`, `fut.deadline(at)`). The inner future is polled
//!   first, so a ready future never times out, and one that completes
//!   first allocates nothing and leaves no timer behind.
//! - [`Deadline`]: an absolute point in time with
//!   [`remaining`](Deadline::remaining) and
//!   [`is_expired`](Deadline::is_expired); huge durations saturate.
//! - The ambient deadline: [`within`] and [`within_deadline`] set it for
//!   everything a future does (nested calls, children polled in place,
//!   tasks spawned through `anyrt-core`) and enforce it; an inner one can
//!   only shorten it. [`current`] and [`remaining`] read it;
//!   [`without_deadline`] hides it from cleanup work.
//! - [`Elapsed`]: the error, convertible into `std::io::Error` of kind
//!   `TimedOut`.
//! - The named futures [`Timeout`](futures::Timeout),
//!   [`Within`](futures::Within) and
//!   [`WithoutDeadline`](futures::WithoutDeadline) in [`futures`].
//!
//! | | limit enforced | seen by nested work as [`current`] |
//! |---|---|---|
//! | [`timeout`], [`timeout_at`] | yes | no |
//! | [`within`], [`within_deadline`] | yes | yes, the earlier of outer and own |
//! | [`without_deadline`] | no | no deadline at all |
//!
//! # Runtime compatibility
//!
//! This crate names no runtime. The clock and the sleeps come from the
//! ambient timer of `anyrt-core` (tokio's, async-io's, the fallback timer
//! thread, or a test's `VirtualClock`), and the ambient deadline lives in
//! `anyrt-core`'s ambient context, which its `spawn` carries into new
//! tasks. Tasks spawned with a runtime's own spawner do not inherit it.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use anyrt::deadline::{within, DeadlineExt};
//!
//! async fn fetch() -> u32 {
//!     // Nested work sees the caller's deadline.
//!     assert!(anyrt::deadline::remaining().is_some());
//!     anyrt::sleep(Duration::from_millis(1)).await;
//!     42
//! }
//!
//! # futures_lite::future::block_on(async {
//! assert_eq!(within(Duration::from_secs(5), fetch()).await, Ok(42));
//! let slow = anyrt::sleep(Duration::from_secs(60));
//! assert!(slow.timeout(Duration::from_millis(5)).await.is_err());
//! # });
//! ```

mod ambient;
mod deadline;
mod error;
mod ext;
mod timeout;
mod within;

pub use ambient::{current, remaining, without_deadline};
pub use deadline::Deadline;
pub use error::Elapsed;
pub use ext::DeadlineExt;
pub use timeout::{timeout, timeout_at};
pub use within::{within, within_deadline};

/// The named futures of this crate.
pub mod futures {
    pub use crate::ambient::WithoutDeadline;
    pub use crate::timeout::Timeout;
    pub use crate::within::Within;
}
