//! What `TaskGroup::try_spawn` hands back.

use std::error::Error;
use std::fmt;

/// The future [`TaskGroup::try_spawn`](crate::TaskGroup::try_spawn) could
/// not spawn because the group was full, handed back unpolled. Its `Debug`
/// does not need the future's.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use anyrt::scope::{TaskGroup, TrySpawnError};
///
/// # futures_lite::future::block_on(async {
/// let mut group = TaskGroup::with_limit(NonZeroUsize::MIN);
/// group.spawn(std::future::pending::<u8>());
/// let TrySpawnError(back) = group.try_spawn(async { 1 }).unwrap_err();
/// drop(back);
/// group.shutdown().await;
/// # });
/// ```
pub struct TrySpawnError<F>(pub F);

impl<F> TrySpawnError<F> {
    /// The future that was not spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::TrySpawnError;
    ///
    /// # futures_lite::future::block_on(async {
    /// let error = TrySpawnError(async { 7 });
    /// assert_eq!(error.into_inner().await, 7);
    /// # });
    /// ```
    pub fn into_inner(self) -> F {
        self.0
    }
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrySpawnError(..)")
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the task group is full")
    }
}

impl<F> Error for TrySpawnError<F> {}
