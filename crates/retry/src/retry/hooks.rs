//! The pieces a retry calls: the operation, the `when` predicate, the
//! `notify` hook and the hint source. Closures implement them; the unit
//! types here are the defaults.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use crate::hint::RetryAfter;

/// An operation that a retry calls once per attempt.
///
/// Implemented for every `FnMut() -> impl Future<Output = Result<T, E>>`
/// (what [`retry`](crate::retry) takes); there is no need to implement it
/// yourself.
///
/// # Examples
///
/// ```
/// use anyrt::retry::hooks::Operation;
///
/// # futures_lite::future::block_on(async {
/// let mut op = || async { Ok::<_, ()>(7) };
/// assert_eq!(op.call().await, Ok(7));
/// # });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an operation that a `Retry` can await",
    label = "not an `FnMut() -> impl Future<Output = Result<T, E>>`",
    note = "an attempt that borrows state across its awaits is written with `retry_with(&mut state, async |s| ..)`"
)]
pub trait Operation {
    /// The value of a successful attempt.
    type Ok;
    /// The error of a failed attempt.
    type Error;
    /// One attempt.
    type Future: Future<Output = Result<Self::Ok, Self::Error>>;

    /// Starts one attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::hooks::Operation;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut calls = 0;
    /// let mut op = || {
    ///     calls += 1;
    ///     async { Err::<(), _>("down") }
    /// };
    /// assert_eq!(op.call().await, Err("down"));
    /// assert_eq!(op.call().await, Err("down"));
    /// assert_eq!(calls, 2);
    /// # });
    /// ```
    fn call(&mut self) -> Self::Future;
}

impl<F, Fut, T, E> Operation for F
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Ok = T;
    type Error = E;
    type Future = Fut;

    fn call(&mut self) -> Fut {
        self()
    }
}

/// What a [`Retry`](crate::futures::Retry) runs: the types of an attempt's
/// outcome and where an attempt in progress is kept.
///
/// Implemented for every [`Operation`] (what [`retry`](crate::retry) takes)
/// and for [`WithState`] (inside what [`retry_with`](crate::retry_with)
/// makes); it is sealed, as nothing else can be run. Name it to write code
/// that takes any retry.
///
/// # Examples
///
/// ```
/// use anyrt::retry::futures::Retry;
/// use anyrt::retry::hooks::Attempts;
/// use anyrt::retry::retry;
///
/// fn describe<Op: Attempts>(retry: &Retry<Op>) -> String {
///     format!("{retry:?}")
/// }
///
/// let plain = retry(|| async { Ok::<_, ()>(1) }).max_attempts(2);
/// assert!(describe(&plain).contains("attempts: 0"));
/// assert!(describe(&plain).contains("max_attempts: 2"));
/// ```
pub trait Attempts: sealed::Sealed {
    /// The value of a successful attempt.
    type Ok;
    /// The error of a failed attempt.
    type Error;
    /// The attempt in progress, kept inside the `Retry` future.
    type InProgress;
}

impl<Op: Operation> Attempts for Op {
    type Ok = Op::Ok;
    type Error = Op::Error;
    type InProgress = Op::Future;
}

impl<S: ?Sized, F, T, E> Attempts for WithState<'_, S, F, T, E> {
    type Ok = T;
    type Error = E;
    // `run_with` keeps the attempt in its own future, not in the `Retry`.
    type InProgress = ();
}

mod sealed {
    pub trait Sealed {}
    impl<Op: super::Operation> Sealed for Op {}
    impl<S: ?Sized, F, T, E> Sealed for super::WithState<'_, S, F, T, E> {}
}

/// An async closure that is lent `&mut S` for each attempt, with the state;
/// made by [`retry_with`](crate::retry_with), which runs it.
///
/// The attempt may keep the borrow across its awaits: `T` and `E` are the
/// closure's success and error types.
///
/// # Examples
///
/// ```
/// use anyrt::retry::hooks::WithState;
///
/// let mut calls = 0_u32;
/// let op = WithState::new(&mut calls, async |calls: &mut u32| {
///     *calls += 1;
///     Ok::<_, ()>(*calls)
/// });
/// assert!(format!("{op:?}").starts_with("WithState"));
/// ```
pub struct WithState<'s, S: ?Sized, F, T, E> {
    pub(crate) state: &'s mut S,
    pub(crate) op: F,
    outcome: PhantomData<fn() -> Result<T, E>>,
}

impl<'s, S: ?Sized, F, T, E> WithState<'s, S, F, T, E> {
    /// Pairs `op` with the state it is lent at each attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::hooks::WithState;
    ///
    /// let mut endpoints = vec!["a", "b"];
    /// let op = WithState::new(&mut endpoints, async |e: &mut Vec<&str>| e.pop().ok_or(()));
    /// assert!(format!("{op:?}").contains("WithState"));
    /// ```
    pub fn new(state: &'s mut S, op: F) -> Self
    where
        F: AsyncFnMut(&mut S) -> Result<T, E>,
    {
        WithState {
            state,
            op,
            outcome: PhantomData,
        }
    }
}

impl<S: ?Sized, F, T, E> fmt::Debug for WithState<'_, S, F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithState").finish_non_exhaustive()
    }
}

/// Decides whether an error is worth a retry; set with
/// [`Retry::when`](crate::futures::Retry::when).
///
/// # Examples
///
/// ```
/// use anyrt::retry::hooks::{Always, Condition};
///
/// assert!(Always.should_retry(&"any error"));
/// let mut only_busy = |e: &&str| *e == "busy";
/// assert!(!only_busy.should_retry(&"not found"));
/// ```
pub trait Condition<E> {
    /// `true` to retry after `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use anyrt::retry::hooks::Condition;
    ///
    /// let mut transient = |e: &io::Error| e.kind() == io::ErrorKind::TimedOut;
    /// assert!(transient.should_retry(&io::Error::from(io::ErrorKind::TimedOut)));
    /// assert!(!transient.should_retry(&io::Error::from(io::ErrorKind::NotFound)));
    /// ```
    fn should_retry(&mut self, error: &E) -> bool;
}

impl<E, F: FnMut(&E) -> bool> Condition<E> for F {
    fn should_retry(&mut self, error: &E) -> bool {
        self(error)
    }
}

/// The default [`Condition`]: every error is retried.
///
/// # Examples
///
/// ```
/// use anyrt::retry::hooks::{Always, Condition};
///
/// assert!(Always.should_retry(&()));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Always;

impl<E> Condition<E> for Always {
    fn should_retry(&mut self, _error: &E) -> bool {
        true
    }
}

/// Told of every retry before its sleep; set with
/// [`Retry::notify`](crate::futures::Retry::notify).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::hooks::Notify;
///
/// let mut seen = Vec::new();
/// let mut hook = |e: &&str, attempt: u32, delay: Duration| seen.push((e.to_string(), attempt, delay));
/// hook.notify(&"busy", 1, Duration::ZERO);
/// assert_eq!(seen, [("busy".to_string(), 1, Duration::ZERO)]);
/// ```
pub trait Notify<E> {
    /// `attempt` (1 is the first call) failed with `error`; the next
    /// attempt starts after `delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::hooks::Notify;
    ///
    /// let mut total = Duration::ZERO;
    /// let mut add_up = |_: &(), _: u32, delay: Duration| total += delay;
    /// add_up.notify(&(), 1, Duration::from_millis(100));
    /// add_up.notify(&(), 2, Duration::from_millis(200));
    /// assert_eq!(total, Duration::from_millis(300));
    /// ```
    fn notify(&mut self, error: &E, attempt: u32, delay: Duration);
}

impl<E, F: FnMut(&E, u32, Duration)> Notify<E> for F {
    fn notify(&mut self, error: &E, attempt: u32, delay: Duration) {
        self(error, attempt, delay)
    }
}

/// The default [`Notify`]: does nothing.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::hooks::{Notify, Silent};
///
/// Silent.notify(&(), 1, Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl<E> Notify<E> for Silent {
    fn notify(&mut self, _error: &E, _attempt: u32, _delay: Duration) {}
}

/// Reads a server's hint of when to retry from an error; set with
/// [`Retry::hints`](crate::futures::Retry::hints) (from [`RetryAfter`]) or
/// [`Retry::hint`](crate::futures::Retry::hint) (a closure).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::hooks::{Hint, NoHint};
///
/// assert_eq!(NoHint.hint(&"busy"), None);
/// let mut fixed = |_: &&str| Some(Duration::from_secs(1));
/// assert_eq!(fixed.hint(&"busy"), Some(Duration::from_secs(1)));
/// ```
pub trait Hint<E> {
    /// The delay the error asks for, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::hooks::Hint;
    ///
    /// // A hint read from a status code and a header value in seconds.
    /// let mut from_header = |e: &(u16, Option<u64>)| match e {
    ///     (429 | 503, Some(secs)) => Some(Duration::from_secs(*secs)),
    ///     _ => None,
    /// };
    /// assert_eq!(from_header.hint(&(503, Some(2))), Some(Duration::from_secs(2)));
    /// assert_eq!(from_header.hint(&(500, Some(2))), None);
    /// ```
    fn hint(&mut self, error: &E) -> Option<Duration>;
}

impl<E, F: FnMut(&E) -> Option<Duration>> Hint<E> for F {
    fn hint(&mut self, error: &E) -> Option<Duration> {
        self(error)
    }
}

/// The default [`Hint`]: errors are not asked.
///
/// # Examples
///
/// ```
/// use anyrt::retry::hooks::{Hint, NoHint};
///
/// assert_eq!(NoHint.hint(&()), None);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHint;

impl<E> Hint<E> for NoHint {
    fn hint(&mut self, _error: &E) -> Option<Duration> {
        None
    }
}

/// The [`Hint`] that asks the error itself, through [`RetryAfter`].
///
/// # Examples
///
/// ```
/// use anyrt::retry::hooks::{FromError, Hint};
///
/// let err = std::io::Error::other("busy");
/// assert_eq!(FromError.hint(&err), None); // io::Error carries no hint
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FromError;

impl<E: RetryAfter> Hint<E> for FromError {
    fn hint(&mut self, error: &E) -> Option<Duration> {
        error.retry_after()
    }
}

/// What turns a configured [`RetryWith`](crate::futures::RetryWith) into
/// its future: the function that `retry_with` stores in it, called by
/// `IntoFuture::into_future`. Implemented for every `FnOnce(R) -> impl
/// Future`; there is no need to implement or name it.
///
/// # Examples
///
/// ```
/// use anyrt::retry::hooks::Launch;
///
/// # futures_lite::future::block_on(async {
/// let double = |n: u32| async move { n * 2 };
/// assert_eq!(double.launch(21).await, 42);
/// # });
/// ```
pub trait Launch<R> {
    /// What the future yields.
    type Output;
    /// The future.
    type Future: Future<Output = Self::Output>;

    /// Makes the future of `retry`.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::hooks::Launch;
    ///
    /// # futures_lite::future::block_on(async {
    /// let greet = |name: &'static str| async move { format!("hello {name}") };
    /// assert_eq!(greet.launch("retry").await, "hello retry");
    /// # });
    /// ```
    fn launch(self, retry: R) -> Self::Future;
}

impl<R, L, Fut> Launch<R> for L
where
    L: FnOnce(R) -> Fut,
    Fut: Future,
{
    type Output = Fut::Output;
    type Future = Fut;

    fn launch(self, retry: R) -> Fut {
        self(retry)
    }
}
