//! The pool's errors.

use std::error::Error;
use std::fmt;
use std::io;

/// Why [`Pool::get`](crate::Pool::get) gave no resource.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{Pool, PoolError};
///
/// # futures_lite::future::block_on(async {
/// let pool = Pool::from_fn(|| async { Err::<(), _>("refused") }).build().unwrap();
/// match pool.get().await {
///     Err(PoolError::Backend(e)) => assert_eq!(e, "refused"),
///     other => panic!("{other:?}"),
/// }
/// # });
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// No resource within the acquire timeout, the ambient deadline or the
    /// create timeout; with the last recycle error this call saw, if any.
    Timeout {
        /// The last error of a health check (recycle) during this call.
        last_error: Option<E>,
    },
    /// Creating a resource failed; returned as soon as it happened.
    Backend(E),
    /// The pool was closed.
    Closed,
}

impl<E> PoolError<E> {
    /// `true` for [`PoolError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// let err = anyrt::pool::PoolError::<()>::Timeout { last_error: None };
    /// assert!(err.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, PoolError::Timeout { .. })
    }

    /// `true` for [`PoolError::Backend`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyrt::pool::PoolError::Backend(()).is_backend());
    /// ```
    pub fn is_backend(&self) -> bool {
        matches!(self, PoolError::Backend(_))
    }

    /// `true` for [`PoolError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyrt::pool::PoolError::<()>::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, PoolError::Closed)
    }

    /// The backend error it carries: the create error, or a timeout's last
    /// recycle error.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = anyrt::pool::PoolError::Timeout { last_error: Some("down") };
    /// assert_eq!(err.into_backend(), Some("down"));
    /// ```
    pub fn into_backend(self) -> Option<E> {
        match self {
            PoolError::Backend(e) => Some(e),
            PoolError::Timeout { last_error } => last_error,
            PoolError::Closed => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout { last_error } => f
                .debug_struct("Timeout")
                .field("last_error", last_error)
                .finish(),
            PoolError::Backend(e) => f.debug_tuple("Backend").field(e).finish(),
            PoolError::Closed => f.write_str("Closed"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout { last_error: None } => {
                f.write_str("timed out waiting for a resource")
            }
            PoolError::Timeout {
                last_error: Some(e),
            } => write!(f, "timed out waiting for a resource (last error: {e})"),
            PoolError::Backend(e) => write!(f, "creating a resource failed: {e}"),
            PoolError::Closed => f.write_str("pool closed"),
        }
    }
}

impl<E: Error + 'static> Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PoolError::Timeout { last_error } => last_error.as_ref().map(|e| e as _),
            PoolError::Backend(e) => Some(e),
            PoolError::Closed => None,
        }
    }
}

impl<E: Error + Send + Sync + 'static> From<PoolError<E>> for io::Error {
    fn from(err: PoolError<E>) -> io::Error {
        let kind = match &err {
            PoolError::Timeout { .. } => io::ErrorKind::TimedOut,
            PoolError::Backend(_) => io::ErrorKind::Other,
            PoolError::Closed => io::ErrorKind::NotConnected,
        };
        io::Error::new(kind, err)
    }
}

/// Why [`Pool::try_get`](crate::Pool::try_get) gave no resource.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{Pool, TryGetError};
///
/// let pool = Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
/// assert_eq!(pool.try_get().unwrap_err(), TryGetError::NoneIdle);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryGetError {
    /// No idle resource (or no free slot) right now.
    NoneIdle,
    /// The pool was closed.
    Closed,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::NoneIdle => f.write_str("no idle resource"),
            TryGetError::Closed => f.write_str("pool closed"),
        }
    }
}

impl Error for TryGetError {}

/// Why [`Pool::add`](crate::Pool::add) gave its resource back, with the
/// resource, untouched.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{AddError, Pool};
///
/// let pool = Pool::from_fn(|| async { Ok::<_, ()>(0u32) }).max_size(1).build().unwrap();
/// pool.add(1).unwrap();
/// let err = pool.add(2).unwrap_err();
/// assert!(matches!(err, AddError::Full(2)));
/// assert_eq!(err.into_resource(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddError<T> {
    /// The pool holds `max_size` resources (idle, in use or being
    /// created).
    Full(T),
    /// The pool was closed.
    Closed(T),
    /// The manager's return check,
    /// [`Manager::is_broken`](crate::Manager::is_broken), says it is
    /// broken.
    Broken(T),
}

impl<T> AddError<T> {
    /// The resource that was not added.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(0u32) }).build().unwrap();
    /// pool.close();
    /// assert_eq!(pool.add(7).unwrap_err().into_resource(), 7);
    /// ```
    pub fn into_resource(self) -> T {
        match self {
            AddError::Full(resource) | AddError::Closed(resource) | AddError::Broken(resource) => {
                resource
            }
        }
    }
}

/// Names the error; the resource is not shown (it need not be `Debug`).
impl<T> fmt::Debug for AddError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddError::Full(_) => f.write_str("Full(..)"),
            AddError::Closed(_) => f.write_str("Closed(..)"),
            AddError::Broken(_) => f.write_str("Broken(..)"),
        }
    }
}

impl<T> fmt::Display for AddError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddError::Full(_) => f.write_str("the pool is full"),
            AddError::Closed(_) => f.write_str("the pool is closed"),
            AddError::Broken(_) => f.write_str("the resource is broken"),
        }
    }
}

impl<T> Error for AddError<T> {}

/// A pool configuration that cannot work.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{BuildError, Pool};
///
/// let err = Pool::from_fn(|| async { Ok::<_, ()>(()) }).max_size(0).build().unwrap_err();
/// assert_eq!(err, BuildError::MaxSizeZero);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_size` is 0: no resource could ever be handed out.
    MaxSizeZero,
    /// `min_idle` is above `max_size`.
    MinIdleAboveMaxSize,
    /// `max_creating` is 0: no resource could ever be created.
    MaxCreatingZero,
    /// A timeout or lifetime is zero (named).
    ZeroDuration(&'static str),
    /// Buffer size classes: none, a zero size, one above `isize::MAX`
    /// bytes, or not ascending.
    BadClasses,
    /// A buffer pool's byte budget is below its largest class.
    BudgetBelowClass,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MaxSizeZero => f.write_str("max_size must be at least 1"),
            BuildError::MinIdleAboveMaxSize => f.write_str("min_idle must not exceed max_size"),
            BuildError::MaxCreatingZero => f.write_str("max_creating must be at least 1"),
            BuildError::ZeroDuration(name) => write!(f, "{name} must be above zero"),
            BuildError::BadClasses => f.write_str(
                "size classes must be non-empty, ascending, above zero and at most isize::MAX",
            ),
            BuildError::BudgetBelowClass => {
                f.write_str("the byte budget must hold at least one buffer of the largest class")
            }
        }
    }
}

impl Error for BuildError {}
