//! Errors: `RetryError` (why a retry gave up) and `BuildError` (a bad
//! configuration).

use std::error::Error;
use std::fmt;
use std::io;

/// Why a retry loop stopped before the operation succeeded.
///
/// # Examples
///
/// ```
/// use anyrt::retry::{retry, Constant};
/// use std::time::Duration;
///
/// # futures_lite::future::block_on(async {
/// let err = retry(|| async { Err::<(), _>("down") })
///     .backoff(Constant::new(Duration::ZERO))
///     .max_attempts(2)
///     .await
///     .unwrap_err();
/// assert!(err.reason().is_attempts());
/// assert_eq!(err.reason().to_string(), "attempts exhausted");
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// `max_attempts` attempts ran and all failed.
    Attempts,
    /// The next retry would start after `max_elapsed` since the first
    /// attempt.
    Elapsed,
    /// The next sleep would end at or past the ambient deadline.
    Deadline,
    /// The `when` predicate said the error is not worth retrying.
    NotRetryable,
    /// The [`RetryBudget`](crate::RetryBudget) had no retry left.
    Budget,
}

impl StopReason {
    /// `true` for [`StopReason::Attempts`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>("down") })
    ///     .backoff(Constant::new(Duration::ZERO))
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.reason().is_attempts()); // the default 3 attempts all failed
    /// assert!(!err.reason().is_budget());
    /// assert_eq!(err.attempts(), 3);
    /// # });
    /// ```
    pub fn is_attempts(self) -> bool {
        self == StopReason::Attempts
    }

    /// `true` for [`StopReason::Elapsed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant, Jitter};
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>("down") })
    ///     .backoff(Constant::new(Duration::from_secs(60)).jitter(Jitter::None))
    ///     .max_elapsed(Duration::from_secs(1))
    ///     .await
    ///     .unwrap_err();
    /// // A 60 s sleep would end past the 1 s limit, so it gives up at once.
    /// assert!(err.reason().is_elapsed());
    /// assert!(!err.reason().is_attempts());
    /// assert_eq!(err.attempts(), 1);
    /// # });
    /// ```
    pub fn is_elapsed(self) -> bool {
        self == StopReason::Elapsed
    }

    /// `true` for [`StopReason::Deadline`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::StopReason;
    ///
    /// assert!(StopReason::Deadline.is_deadline());
    /// assert!(!StopReason::Elapsed.is_deadline());
    /// assert_eq!(StopReason::Deadline.to_string(), "deadline would pass");
    /// ```
    pub fn is_deadline(self) -> bool {
        self == StopReason::Deadline
    }

    /// `true` for [`StopReason::NotRetryable`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::retry;
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>(404) })
    ///     .when(|status: &u16| *status >= 500)
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.reason().is_not_retryable()); // a 404 is not retried
    /// assert_eq!(err.attempts(), 1);
    /// # });
    /// ```
    pub fn is_not_retryable(self) -> bool {
        self == StopReason::NotRetryable
    }

    /// `true` for [`StopReason::Budget`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::{retry, RetryBudget};
    ///
    /// # futures_lite::future::block_on(async {
    /// let budget = RetryBudget::builder().ratio(0.0).min_per_sec(0).build()?;
    /// let err = retry(|| async { Err::<(), _>("down") })
    ///     .budget(budget)
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.reason().is_budget()); // an empty budget allows no retry
    /// assert_eq!(err.attempts(), 1);
    /// # Ok::<(), anyrt::retry::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn is_budget(self) -> bool {
        self == StopReason::Budget
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::Attempts => "attempts exhausted",
            StopReason::Elapsed => "time limit reached",
            StopReason::Deadline => "deadline would pass",
            StopReason::NotRetryable => "error not retryable",
            StopReason::Budget => "retry budget exhausted",
        })
    }
}

/// The outcome of a retry that gave up: the last error, why it stopped and
/// how many attempts ran.
///
/// `source()` is the last error; `Display` says only why it stopped.
/// [`into_inner`](RetryError::into_inner) gives the plain error back.
///
/// # Examples
///
/// ```
/// use anyrt::retry::retry;
///
/// # futures_lite::future::block_on(async {
/// let err = retry(|| async { Err::<(), _>(std::io::Error::other("refused")) })
///     .when(|_| false)
///     .await
///     .unwrap_err();
/// assert!(err.reason().is_not_retryable());
/// assert_eq!(err.attempts(), 1);
/// assert_eq!(err.to_string(), "gave up after 1 attempt: error not retryable");
/// assert_eq!(err.into_inner().to_string(), "refused");
/// # });
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RetryError<E> {
    error: E,
    reason: StopReason,
    attempts: u32,
}

impl<E> RetryError<E> {
    pub(crate) fn new(error: E, reason: StopReason, attempts: u32) -> Self {
        RetryError {
            error,
            reason,
            attempts,
        }
    }

    /// The last attempt's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut calls = 0;
    /// let err = retry(|| {
    ///     calls += 1;
    ///     let n = calls;
    ///     async move { Err::<(), _>(n) }
    /// })
    /// .backoff(Constant::new(Duration::ZERO))
    /// .await
    /// .unwrap_err();
    /// assert_eq!(*err.error(), 3); // from the third and last attempt
    /// # });
    /// ```
    pub fn error(&self) -> &E {
        &self.error
    }

    /// The last attempt's error, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant, RetryError};
    ///
    /// # futures_lite::future::block_on(async {
    /// let out: Result<(), &str> = retry(|| async { Err::<(), _>("down") })
    ///     .backoff(Constant::new(Duration::ZERO))
    ///     .await
    ///     .map_err(RetryError::into_inner);
    /// assert_eq!(out, Err("down"));
    /// # });
    /// ```
    pub fn into_inner(self) -> E {
        self.error
    }

    /// Why the loop stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant, StopReason};
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>("down") })
    ///     .backoff(Constant::new(Duration::ZERO))
    ///     .max_attempts(2)
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.reason(), StopReason::Attempts);
    /// # });
    /// ```
    pub fn reason(&self) -> StopReason {
        self.reason
    }

    /// How many attempts ran, the first call included.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut calls = 0;
    /// let err = retry(|| {
    ///     calls += 1;
    ///     async { Err::<(), _>("down") }
    /// })
    /// .backoff(Constant::new(Duration::ZERO))
    /// .max_attempts(4)
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.attempts(), 4);
    /// assert_eq!(calls, 4); // one attempt per call of the operation
    /// # });
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl<E: fmt::Debug> fmt::Debug for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryError")
            .field("error", &self.error)
            .field("reason", &self.reason)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl<E> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "gave up after {} attempt{plural}: {}",
            self.attempts, self.reason
        )
    }
}

impl<E: Error + 'static> Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// Lets `retry(..).await?` work in a function that returns `io::Result`:
/// the `io::Error` has the kind of the last attempt's error, and carries the
/// `RetryError` (why and after how many attempts it gave up), whose
/// [`source`](Error::source) is the last error itself.
///
/// # Examples
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use anyrt::retry::{retry, Constant, RetryError};
///
/// async fn connect() -> io::Result<u16> {
///     let port = retry(|| async { Err::<u16, _>(io::Error::from(io::ErrorKind::ConnectionRefused)) })
///         .backoff(Constant::new(Duration::ZERO))
///         .await?;
///     Ok(port)
/// }
///
/// # futures_lite::future::block_on(async {
/// let err = connect().await.unwrap_err();
/// assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
/// let retry = err.get_ref().and_then(|e| e.downcast_ref::<RetryError<io::Error>>()).unwrap();
/// assert_eq!(retry.attempts(), 3);
/// # });
/// ```
impl From<RetryError<io::Error>> for io::Error {
    fn from(err: RetryError<io::Error>) -> io::Error {
        io::Error::new(err.error.kind(), err)
    }
}

/// A configuration that a builder refused.
///
/// # Examples
///
/// ```
/// use anyrt::retry::Exponential;
///
/// let err = Exponential::builder().multiplier(0.9).build().unwrap_err();
/// assert!(err.is_invalid_multiplier());
/// assert_eq!(err.to_string(), "multiplier must be at least 1 and finite");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildError {
    /// An exponential multiplier below 1, not finite, or not below 2^31.
    InvalidMultiplier,
    /// The initial (or base) delay exceeds `max_delay`.
    InitialAboveMax,
    /// A retry budget ratio that is negative or not finite.
    InvalidRatio,
}

impl BuildError {
    /// `true` for [`BuildError::InvalidMultiplier`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::Exponential;
    ///
    /// let err = Exponential::builder().multiplier(f64::INFINITY).build().unwrap_err();
    /// assert!(err.is_invalid_multiplier());
    /// assert!(!err.is_initial_above_max());
    /// ```
    pub fn is_invalid_multiplier(self) -> bool {
        self == BuildError::InvalidMultiplier
    }

    /// `true` for [`BuildError::InitialAboveMax`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::Decorrelated;
    ///
    /// let err = Decorrelated::builder()
    ///     .base(Duration::from_secs(2))
    ///     .max_delay(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.is_initial_above_max());
    /// assert!(!err.is_invalid_multiplier());
    /// ```
    pub fn is_initial_above_max(self) -> bool {
        self == BuildError::InitialAboveMax
    }

    /// `true` for [`BuildError::InvalidRatio`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::RetryBudget;
    ///
    /// let err = RetryBudget::builder().ratio(-0.1).build().unwrap_err();
    /// assert!(err.is_invalid_ratio());
    /// assert!(!err.is_invalid_multiplier());
    /// ```
    pub fn is_invalid_ratio(self) -> bool {
        self == BuildError::InvalidRatio
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildError::InvalidMultiplier => "multiplier must be at least 1 and finite",
            BuildError::InitialAboveMax => "initial delay exceeds max_delay",
            BuildError::InvalidRatio => "budget ratio must be finite and not negative",
        })
    }
}

impl Error for BuildError {}
