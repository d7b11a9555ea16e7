//! Structured concurrency on any executor: scopes whose children borrow,
//! task groups, and cancel tokens.

mod admission;
mod child;
mod handle;
mod run;
mod scope;
mod slab;
mod supervisor;
mod task_group;
mod token;
mod wake;

pub use handle::Handle;
pub use scope::Scope;
pub use supervisor::Supervisor;
pub use task_group::TaskGroup;
pub use token::{CancelReason, CancelToken, DropGuard};

/// The named futures of this crate.
pub mod futures {
    pub use crate::handle::SpawnWait;
    pub use crate::run::Run;
    pub use crate::supervisor::{OkBody, SuperviseWait, Supervised, SupervisedRun};
    pub use crate::token::Cancelled;
}
