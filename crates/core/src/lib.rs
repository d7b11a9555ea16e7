//! Executor-neutral time and spawning for the anyrt patterns.
//!
//! anyrt-core is the one crate of anyrt that knows about runtimes. Pattern
//! crates ask it for the time, for sleeps and for tasks, and it answers with
//! whichever runtime is driving them:
//!
//! - [`Timer`] and [`Sleep`]: a clock and resettable sleeps, with the sleep
//!   as an associated type (no box for a runtime's own sleep).
//! - [`Spawn`] and [`Task`]: start a task; awaiting it gives its output or
//!   resumes its panic, dropping it cancels it, [`Task::detach`] lets it run.
//! - [`Runtime`]: the adapters (`tokio`, `smol`, `async-std`, `fallback`) as
//!   one value; [`AmbientRuntime`] and the free functions [`now`],
//!   [`sleep`], [`sleep_until`] and [`spawn`] find the runtime at call time;
//!   [`reads_system_clock`] tells whether [`now`] is the system clock here,
//!   and [`FastClock`] reads it through the CPU's counter there.
//! - The ambient context: [`with_timer`], [`with_runtime`], [`with_value`],
//!   [`value`] and [`Ambient`]; set for each poll of a wrapped future and
//!   carried into tasks spawned through this crate.
//! - [`VirtualClock`]: a timer whose time moves only when told, for exact
//!   and fast tests.
//! - [`yield_now`]: give the executor a turn, on any runtime.
//!
//! # Runtime compatibility
//!
//! Inside a tokio runtime (feature `tokio`), tokio's timer and spawner are
//! used; the runtime must have its time driver enabled
//! (`Builder::enable_time` or `enable_all`). Otherwise, with feature `smol`
//! or `async-std`, async-io's timer and that runtime's executor. With no
//! feature, or outside every enabled runtime, the fallbacks: one timer
//! thread and the `futures` thread pool, each started lazily on first use,
//! so every pattern works under a bare `futures::executor::block_on`. An
//! application that enables a runtime feature and runs inside that runtime
//! never starts them ([`fallback_started`] tells). The order of detection is
//! documented on [`Runtime`].
//!
//! # Features
//!
//! - `tokio`: the tokio adapter.
//! - `smol`: the smol adapter (async-io timer, smol's global executor).
//! - `async-std`: the async-std adapter (async-io timer, its executor).
//!   **Legacy**: async-std is discontinued upstream (RUSTSEC-2025-0052), and
//!   smol is its successor; the adapter stays for existing applications.
//!
//! Library crates enable none of them; applications enable the ones they
//! run on. Several may be on at once: see [`Runtime`] for which one wins
//! (in a workspace where another member turns on `smol`, an async-std
//! application's spawns go to smol). Forgetting the feature builds and runs
//! on the fallbacks: log [`Runtime::current`] at startup to see which
//! runtime is in use.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! # futures_lite::future::block_on(async {
//! let start = anyrt::now();
//! let task = anyrt::spawn(async {
//!     anyrt::sleep(Duration::from_millis(2)).await;
//!     "slept"
//! });
//! assert_eq!(task.await, "slept");
//! assert!(anyrt::now() - start >= Duration::from_millis(2));
//! # });
//! ```

mod ambient;
mod auto_advance;
mod blocking;
mod fallback;
mod fast_clock;
mod interval;
mod remote;
mod rt;
mod runtime;
mod sleep;
mod task;
mod timer;
mod virtual_clock;
mod wake;
mod yield_now;

pub use ambient::{Ambient, value, with_value};
pub use blocking::spawn_blocking;
pub use fallback::{fallback_pending_sleepers, fallback_started};
pub use fast_clock::FastClock;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use runtime::{AmbientRuntime, Runtime, reads_system_clock, with_runtime};
pub use task::{Spawn, Task};
pub use timer::{Sleep, Timer, deadline_after, far_future, with_timer};
pub use virtual_clock::VirtualClock;
pub use wake::wake_quietly;
pub use yield_now::yield_now;

/// The named futures of this crate.
pub mod futures {
    pub use crate::ambient::WithAmbient;
    pub use crate::auto_advance::AutoAdvance;
    pub use crate::interval::Tick;
    pub use crate::sleep::AnySleep;
    pub use crate::virtual_clock::VirtualSleep;
    pub use crate::yield_now::YieldNow;
}

use std::future::Future;
use std::time::{Duration, Instant};

/// The current time on the ambient timer (the override's clock, else the
/// real monotonic clock).
///
/// # Examples
///
/// ```
/// let a = anyrt::now();
/// let b = anyrt::now();
/// assert!(b >= a);
/// ```
#[inline]
pub fn now() -> Instant {
    AmbientRuntime.now()
}

/// Sleeps for `duration` on the ambient timer; a huge duration saturates at
/// [`far_future`].
///
/// # Cancel safety
///
/// Dropping the sleep deregisters it; nothing is lost.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// anyrt::sleep(Duration::from_millis(1)).await;
/// # });
/// ```
#[inline]
pub fn sleep(duration: Duration) -> futures::AnySleep {
    AmbientRuntime.sleep(duration)
}

/// Sleeps until `deadline` on the ambient timer; a deadline in the past
/// completes at the first poll.
///
/// # Cancel safety
///
/// Dropping the sleep deregisters it; nothing is lost.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// let deadline = anyrt::now() + Duration::from_millis(1);
/// anyrt::sleep_until(deadline).await;
/// assert!(anyrt::now() >= deadline);
/// # });
/// ```
#[inline]
pub fn sleep_until(deadline: Instant) -> futures::AnySleep {
    AmbientRuntime.sleep_until(deadline)
}

/// Spawns `future` on the ambient runtime ([`Runtime::current`]). The task
/// inherits the caller's ambient context: its timer override, runtime
/// override and ambient values.
///
/// Which runtime that is depends on the cargo features: inside tokio with
/// feature `tokio`, a tokio task; with no feature, anyrt's fallback thread
/// pool, even inside a tokio runtime, and tokio I/O in such a task panics
/// ("there is no reactor running"). An application logs
/// `Runtime::current().name()` at startup to catch a missing feature.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let task = anyrt::spawn(async { 1 + 1 });
/// assert_eq!(task.await, 2);
/// # });
/// ```
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    AmbientRuntime.spawn(future)
}
