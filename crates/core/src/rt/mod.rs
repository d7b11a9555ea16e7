//! Runtime adapters; each is compiled only with its feature, and stands in
//! as an uninhabited type without it.

pub(crate) mod async_io;
pub(crate) mod tokio;
