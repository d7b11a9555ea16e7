//! The semaphore's errors.

use std::error::Error;
use std::fmt;

/// The semaphore was closed while, or before, waiting for permits.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let semaphore = anyrt::pool::Semaphore::new(0);
/// semaphore.close();
/// let err = semaphore.acquire().await.unwrap_err();
/// assert_eq!(err.to_string(), "semaphore closed");
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl Error for AcquireError {}

/// Why a `try_acquire` got no permit.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{Semaphore, TryAcquireError};
///
/// let semaphore = Semaphore::new(0);
/// let err = semaphore.try_acquire().unwrap_err();
/// assert!(err.is_no_permits());
/// semaphore.close();
/// assert!(semaphore.try_acquire().unwrap_err().is_closed());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are free (or the free ones are owed to a waiter).
    NoPermits,
}

impl TryAcquireError {
    /// `true` for [`TryAcquireError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(1);
    /// semaphore.close();
    /// assert!(semaphore.try_acquire().unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// `true` for [`TryAcquireError::NoPermits`].
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(0);
    /// assert!(semaphore.try_acquire().unwrap_err().is_no_permits());
    /// ```
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl Error for TryAcquireError {}
