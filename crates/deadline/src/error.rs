//! `Elapsed`: the error of a future that ran out of time.

use std::error::Error;
use std::fmt;
use std::io;

/// The error of a [`Timeout`](crate::futures::Timeout) or
/// [`Within`](crate::futures::Within) whose deadline passed before its
/// future completed.
///
/// It is a small `Copy` value; its future has been given up on, and is
/// dropped with the `Timeout` that held it. It converts into an
/// [`io::Error`] of kind [`TimedOut`](io::ErrorKind::TimedOut), so `?` works
/// in functions that return `io::Result`.
///
/// # Examples
///
/// ```
/// use std::io;
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// let never = std::future::pending::<()>();
/// let elapsed = anyrt::deadline::timeout(Duration::ZERO, never).await.unwrap_err();
/// assert_eq!(elapsed.to_string(), "deadline has elapsed");
/// assert_eq!(io::Error::from(elapsed).kind(), io::ErrorKind::TimedOut);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}
