//! Server hints: an error that says how long to wait, and the HTTP
//! `Retry-After` parser.

use std::time::{Duration, SystemTime};

use crate::http_date;

/// An error that may carry a server's hint of when to retry (HTTP 429 or 503
/// with `Retry-After`, a gRPC `RetryInfo`, a throttling response).
///
/// The method defaults to no hint, so an error type opts in with an empty
/// `impl`. A retry reads it only when told to with
/// [`Retry::hints`](crate::futures::Retry::hints); the hint then replaces
/// the computed delay, clamped to the policy's `max_delay`, and a hint that
/// would end past the ambient deadline stops the loop with
/// [`StopReason::Deadline`](crate::StopReason::Deadline).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::RetryAfter;
///
/// struct Throttled(Option<Duration>);
///
/// impl RetryAfter for Throttled {
///     fn retry_after(&self) -> Option<Duration> {
///         self.0
///     }
/// }
///
/// assert_eq!(Throttled(Some(Duration::from_secs(2))).retry_after(), Some(Duration::from_secs(2)));
/// ```
pub trait RetryAfter {
    /// How long the server asked to wait before the next attempt; `None`
    /// (the default) leaves the delay to the backoff policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::RetryAfter;
    ///
    /// struct Status(u16);
    ///
    /// impl RetryAfter for Status {
    ///     fn retry_after(&self) -> Option<Duration> {
    ///         (self.0 == 429).then_some(Duration::from_secs(1))
    ///     }
    /// }
    ///
    /// assert_eq!(Status(429).retry_after(), Some(Duration::from_secs(1)));
    /// assert_eq!(Status(500).retry_after(), None);
    /// // io::Error opts in with the default: no hint.
    /// assert_eq!(std::io::Error::other("down").retry_after(), None);
    /// ```
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl RetryAfter for std::io::Error {}

/// Parses an HTTP `Retry-After` value: delay seconds (`"120"`) or an
/// HTTP-date (`"Sun, 06 Nov 1994 08:49:37 GMT"`, and the obsolete RFC 850
/// and asctime forms), relative to `now`.
///
/// A date in the past gives zero; a number of seconds too large saturates.
/// Anything else is `None`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use anyrt::retry::parse_retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // 08:49:37 on 6 Nov 1994
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(
///     parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
///     Some(Duration::from_secs(30)),
/// );
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = http_date::parse(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
