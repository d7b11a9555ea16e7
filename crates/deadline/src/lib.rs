#![doc = include_str!("guide.md")]

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
