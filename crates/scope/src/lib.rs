//! Structured concurrency on any executor: scopes whose children borrow,
//! task groups, and cancel tokens.
//!
//! - [`Scope`]: children polled in place by one future, so they may borrow
//!   from the caller's stack (and spawn siblings). Fail fast: the first
//!   `Err` or panic drops every other child and the body, then is returned
//!   or resumed. Each child has its own waker, so a wake-up polls that
//!   child only. [`Scope::limit`] bounds how many run at once, with
//!   first-come first-served admission; [`Scope::spawn_wait`] waits for
//!   room in the spawner; [`Scope::spawn_task`] runs a `'static` child in
//!   parallel on the runtime, cancelled with the scope.
//! - [`Supervisor`]: the same in-place scope with the supervise policy:
//!   every child runs to its end, outcomes come back in spawn order.
//! - [`TaskGroup`]: parallel `Send + 'static` tasks with the lifetime of
//!   the group (no detach), `join_next`, `join_all`, `try_join_all`,
//!   `abort_all`, `shutdown`. [`TaskGroup::with_limit`] bounds how many
//!   run at once, first come, first served; [`TaskGroup::spawn_wait`]
//!   waits for room before it spawns, [`TaskGroup::try_spawn`] hands the
//!   future back when the group is full.
//! - [`CancelToken`]: cooperative cancellation in a tree, with a
//!   [`CancelReason`]; every scope run has one, a child of the enclosing
//!   scope's, reachable from its children with [`CancelToken::current`].
//!   [`CancelToken::run_until_cancelled`] (and `_owned`, for a task) runs
//!   a future until it ends or the token is cancelled, and drops it then.
//! - The named futures in [`futures`].
//!
//! Children see the ambient context (deadline of `anyrt::deadline`, timer,
//! cancel token) in force where the scope is run, not the one at the
//! `spawn` call; a child's own `within` narrows only that child.
//!
//! | | [`Scope`] | [`Supervisor`] | [`TaskGroup`] | tokio `JoinSet` | moro | futures-concurrency `FutureGroup` |
//! |---|---|---|---|---|---|---|
//! | children borrow from the caller | yes | yes | no (`'static`) | no (`'static`) | yes | yes |
//! | children run in parallel on threads | with `spawn_task` | no | yes | yes | no | no |
//! | runtimes | any | any | any | tokio | any | any |
//! | the first `Err` cancels the rest | yes, automatically | no, all run to the end | with `try_join_all` | no | with `terminate` | no |
//! | cancelled children dropped before the call returns | yes | yes | `try_join_all`, `shutdown` wait for it | `shutdown` waits | yes | yes |
//! | outcomes in spawn order | through handles | yes | `join_all`, `try_join_all` | completion order | through handles | completion order |
//! | a panic resumed with its payload | yes, after dropping the others | yes, after the others ended | yes, after cancelling the others (`try_join_all` waits until they were dropped) | as a `JoinError` | - | - |
//! | a wake-up polls only the woken child | yes | yes | (runtime tasks) | (runtime tasks) | yes | yes |
//! | at most `n` running, first come first served | `limit` | `limit` | `with_limit` | no | no | no |
//! | a spawn that waits for room / hands the future back | `spawn_wait` / - | `spawn_wait` / - | `spawn_wait` / `try_spawn` | no | no | no |
//! | cancel token with a reason, reaching nested scopes | yes | yes | the creator's | no | no | no |
//! | the scope's future is `Send` for `tokio::spawn` | yes | yes | yes | yes | yes | yes |
//!
//! The columns of this crate are what its conformance tests check; the
//! others are what those crates document.
//!
//! # Compile-time guarantees
//!
//! A child cannot outlive its scope: its handle borrows the scope.
//!
//! ```compile_fail,E0597
//! use anyrt::scope::Scope;
//!
//! let handle;
//! {
//!     let s = Scope::<()>::new();
//!     handle = s.spawn(async { Ok(1) });
//! } // error: `s` does not live long enough
//! drop(handle);
//! ```
//!
//! A value borrowed by a child cannot be dropped while the child may run.
//!
//! ```compile_fail,E0505
//! use anyrt::scope::Scope;
//!
//! # futures_lite::future::block_on(async {
//! let data = vec![1, 2, 3];
//! let s = Scope::<()>::new();
//! let run = s.run(async {
//!     s.spawn(async { Ok(data.len()) });
//!     Ok(())
//! });
//! drop(data); // error: cannot move out of `data` because it is borrowed
//! run.await
//! # });
//! ```
//!
//! A child cannot borrow what the body owns: the body may end first.
//!
//! ```compile_fail,E0373
//! use anyrt::scope::Scope;
//!
//! # futures_lite::future::block_on(async {
//! let s = Scope::<()>::new();
//! s.run(async {
//!     let local = vec![1, 2, 3];
//!     s.spawn(async { Ok(local.len()) }); // error: `local` does not live long enough
//!     Ok(())
//! })
//! .await
//! # });
//! ```
//!
//! A parallel task takes only what it owns.
//!
//! ```compile_fail,E0597
//! use anyrt::scope::Scope;
//!
//! # futures_lite::future::block_on(async {
//! let data = vec![1, 2, 3];
//! let s = Scope::<()>::new();
//! s.run(async {
//!     s.spawn_task(async { Ok(data.len()) }); // error: borrowed data escapes
//!     Ok(())
//! })
//! .await
//! # });
//! ```
//!
//! # Runtime compatibility
//!
//! This crate names no runtime. [`Scope`] and [`Supervisor`] poll their
//! children inside the future that runs them, on whatever executor polls
//! it; [`TaskGroup`] and [`Scope::spawn_task`] spawn through `anyrt-core`,
//! so on tokio, smol, async-std or the fallback thread pool.
//!
//! # Features
//!
//! None.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use anyrt::scope::Scope;
//!
//! async fn fetch(name: &str) -> Result<usize, String> {
//!     anyrt::sleep(Duration::from_millis(1)).await;
//!     if name.is_empty() { Err("empty name".into()) } else { Ok(name.len()) }
//! }
//!
//! # futures_lite::future::block_on(async {
//! let names = ["ada", "grace", "edsger"];
//! let s = Scope::new();
//! let total = s
//!     .run(async {
//!         let handles: Vec<_> = names.iter().map(|name| s.spawn(fetch(name))).collect();
//!         let mut total = 0;
//!         for handle in handles {
//!             total += handle.await;
//!         }
//!         Ok(total)
//!     })
//!     .await;
//! assert_eq!(total, Ok(14));
//!
//! let failing = Scope::new();
//! let outcome = failing.run(async { Ok(failing.spawn(fetch("")).await) }).await;
//! assert_eq!(outcome, Err("empty name".to_string()));
//! # });
//! ```

mod admission;
mod books;
mod boxes;
mod child;
mod handle;
mod run;
mod scope;
mod slab;
mod supervisor;
mod task_group;
mod tasks;
mod token;
mod until_cancelled;
mod wake;

pub use handle::Handle;
pub use scope::Scope;
pub use supervisor::Supervisor;
pub use task_group::{TaskGroup, TrySpawnError};
pub use token::{CancelReason, CancelToken, DropGuard};

/// The named futures of this crate.
pub mod futures {
    pub use crate::handle::SpawnWait;
    pub use crate::run::Run;
    pub use crate::supervisor::{OkBody, SuperviseWait, Supervised, SupervisedRun};
    pub use crate::task_group::{GroupSpawnWait, JoinAll, JoinNext, Shutdown, TryJoinAll};
    pub use crate::token::{Cancelled, CancelledOwned};
    pub use crate::until_cancelled::{RunUntilCancelled, RunUntilCancelledOwned};
}
