//! `RetryWith`: the builder of a `retry_with`, awaited directly.

use std::fmt;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::Retry;
use super::future::{run_counted, run_with};
use super::hooks::{Condition, FromError, Hint, Launch, Notify, WithState};
use crate::backoff::Backoff;
use crate::budget::RetryBudget;

/// The `Retry` inside a `RetryWith`.
type Inner<'s, S, F, T, E, B, W, N, H> = Retry<WithState<'s, S, F, T, E>, B, W, N, H>;

/// The type of a `RetryWith` whose policy and hooks are `$b, $w, $n, $h`:
/// its future is made by `run_with`, a type that cannot be named, so each
/// builder method that changes a type says what it can do with it.
macro_rules! retry_with_type {
    ($b:ty, $w:ty, $n:ty, $h:ty) => {
        $crate::retry::RetryWith<
            's, S, F, T, E, $b, $w, $n, $h,
            impl $crate::retry::hooks::Launch<
                $crate::retry::Retry<$crate::retry::hooks::WithState<'s, S, F, T, E>, $b, $w, $n, $h>,
                Output = Result<T, $crate::RetryError<E>>,
                Future = impl ::std::future::Future<Output = Result<T, $crate::RetryError<E>>>,
            >,
        >
    };
}
pub(crate) use retry_with_type;

/// A retry whose attempts are lent `&mut state`: the builder made by
/// [`retry_with`](crate::retry_with), awaited directly (it implements
/// [`IntoFuture`]).
///
/// The builder methods are those of [`Retry`](crate::futures::Retry), and
/// mean the same. Where a `Future` itself is wanted (`block_on(..)`,
/// `spawn(..)`, `join(..)`), call `.into_future()` on it. The future it turns into is `Send` when the state, the
/// closure, its futures and the hooks are, so a library method written
/// with `retry_with(self, ..)` can be spawned on a multi-threaded runtime.
///
/// # Errors
///
/// The future yields a [`RetryError`](crate::RetryError) with the last error, the reason to
/// stop and the attempt count.
///
/// # Panics
///
/// The future is an `async` block: polled again after a hook or the
/// operation panicked, it panics too, and never starts another attempt.
///
/// # Cancel safety
///
/// Dropping the future drops the attempt or the sleep in progress; no
/// further attempt starts, changes the attempts made to the state stay,
/// and a retry taken from a budget for an attempt that never started goes
/// back to it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{retry_with, Constant};
///
/// # futures_lite::future::block_on(async {
/// let mut log = Vec::new();
/// let err = retry_with(&mut log, async |log: &mut Vec<u32>| {
///     log.push(log.len() as u32);
///     anyrt::yield_now().await;
///     Err::<(), _>(log.len())
/// })
/// .backoff(Constant::new(Duration::ZERO))
/// .max_attempts(4)
/// .await
/// .unwrap_err();
/// assert_eq!((err.attempts(), err.into_inner()), (4, 4));
/// assert_eq!(log, [0, 1, 2, 3]);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct RetryWith<'s, S: ?Sized, F, T, E, B, W, N, H, L> {
    retry: Inner<'s, S, F, T, E, B, W, N, H>,
    launch: L,
}

/// Wraps a configured retry with the function that runs it.
pub(crate) fn wrap<'s, S, F, T, E, B, W, N, H>(
    retry: Inner<'s, S, F, T, E, B, W, N, H>,
) -> retry_with_type!(B, W, N, H)
where
    S: ?Sized,
    F: AsyncFnMut(&mut S) -> Result<T, E>,
    B: Backoff,
    W: Condition<E>,
    N: Notify<E>,
    H: Hint<E>,
{
    RetryWith {
        retry,
        launch: run_with,
    }
}

impl<'s, S, F, T, E, B, W, N, H, L> RetryWith<'s, S, F, T, E, B, W, N, H, L>
where
    S: ?Sized,
    F: AsyncFnMut(&mut S) -> Result<T, E>,
    B: Backoff,
    W: Condition<E>,
    N: Notify<E>,
    H: Hint<E>,
{
    /// Changes the backoff policy; see [`Retry::backoff`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry_with, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut tries = 0;
    /// let out = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     if *n < 2 { Err(*n) } else { Ok(*n) }
    /// })
    /// .backoff(Constant::new(Duration::from_millis(1)))
    /// .await;
    /// assert_eq!(out, Ok(2));
    /// # });
    /// ```
    pub fn backoff<B2: Backoff>(self, backoff: B2) -> retry_with_type!(B2, W, N, H) {
        wrap(self.retry.backoff(backoff))
    }

    /// Retries only the errors for which `when` returns `true`; see
    /// [`Retry::when`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::retry_with;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut tries = 0;
    /// let err = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     Err::<(), _>(404)
    /// })
    /// .when(|status: &u16| *status >= 500)
    /// .await
    /// .unwrap_err();
    /// assert!(err.reason().is_not_retryable());
    /// assert_eq!(tries, 1);
    /// # });
    /// ```
    pub fn when<W2>(self, when: W2) -> retry_with_type!(B, W2, N, H)
    where
        W2: FnMut(&E) -> bool,
    {
        wrap(self.retry.when(when))
    }

    /// Calls `notify(error, attempt, delay)` before each retry's sleep; see
    /// [`Retry::notify`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry_with, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let (mut tries, mut log) = (0, Vec::new());
    /// let _ = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     Err::<(), _>(*n)
    /// })
    /// .backoff(Constant::new(Duration::ZERO))
    /// .notify(|e: &u32, attempt, _| log.push((*e, attempt)))
    /// .await;
    /// assert_eq!(log, [(1, 1), (2, 2)]);
    /// # });
    /// ```
    pub fn notify<N2>(self, notify: N2) -> retry_with_type!(B, W, N2, H)
    where
        N2: FnMut(&E, u32, Duration),
    {
        wrap(self.retry.notify(notify))
    }

    /// Honours the server hints of errors that implement
    /// [`RetryAfter`](crate::RetryAfter); see [`Retry::hints`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry_with, RetryAfter};
    ///
    /// struct Busy;
    /// impl RetryAfter for Busy {
    ///     fn retry_after(&self) -> Option<Duration> {
    ///         Some(Duration::ZERO)
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut tries = 0;
    /// let err = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     Err::<(), _>(Busy)
    /// })
    /// .hints()
    /// .await
    /// .unwrap_err();
    /// assert_eq!((err.attempts(), tries), (3, 3));
    /// # });
    /// ```
    pub fn hints(self) -> retry_with_type!(B, W, N, FromError)
    where
        E: crate::RetryAfter,
    {
        wrap(self.retry.hints())
    }

    /// Reads server hints with `hint`; see [`Retry::hint`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::retry_with;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut tries = 0;
    /// let err = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     Err::<(), _>(0_u64)
    /// })
    /// .hint(|ms: &u64| Some(Duration::from_millis(*ms)))
    /// .await
    /// .unwrap_err();
    /// assert!(err.reason().is_attempts());
    /// # });
    /// ```
    pub fn hint<H2: Hint<E>>(self, hint: H2) -> retry_with_type!(B, W, N, H2) {
        wrap(self.retry.hint(hint))
    }

    /// At most `max_attempts` attempts, the first call included; zero
    /// reads as one. See [`Retry::max_attempts`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry_with, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut tries = 0;
    /// let err = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     Err::<(), _>(())
    /// })
    /// .backoff(Constant::new(Duration::ZERO))
    /// .max_attempts(5)
    /// .await
    /// .unwrap_err();
    /// assert_eq!((err.attempts(), tries), (5, 5));
    /// # });
    /// ```
    pub fn max_attempts(self, max_attempts: u32) -> Self {
        self.map(|retry| retry.max_attempts(max_attempts))
    }

    /// Gives up rather than start a sleep that would end more than
    /// `max_elapsed` after the first attempt started; see
    /// [`Retry::max_elapsed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry_with, Constant, Jitter};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut tries = 0;
    /// let err = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     Err::<(), _>(())
    /// })
    /// .backoff(Constant::new(Duration::from_secs(60)).jitter(Jitter::None))
    /// .max_elapsed(Duration::from_millis(10))
    /// .await
    /// .unwrap_err();
    /// assert!(err.reason().is_elapsed());
    /// # });
    /// ```
    pub fn max_elapsed(self, max_elapsed: Duration) -> Self {
        self.map(|retry| retry.max_elapsed(max_elapsed))
    }

    /// Draws retries from `budget`; see [`Retry::budget`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::{retry_with, RetryBudget};
    ///
    /// # futures_lite::future::block_on(async {
    /// let budget = RetryBudget::builder().ratio(0.0).min_per_sec(0).build().unwrap();
    /// let mut tries = 0;
    /// let err = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     Err::<(), _>(())
    /// })
    /// .budget(budget)
    /// .await
    /// .unwrap_err();
    /// assert!(err.reason().is_budget());
    /// # });
    /// ```
    pub fn budget(self, budget: RetryBudget) -> Self {
        self.map(|retry| retry.budget(budget))
    }

    /// Seeds the jitter, so the delays are the same on every run; see
    /// [`Retry::seed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry_with, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut runs = Vec::new();
    /// for _ in 0..2 {
    ///     let (mut tries, mut delays) = (0, Vec::new());
    ///     let _ = retry_with(&mut tries, async |n: &mut u32| {
    ///         *n += 1;
    ///         Err::<(), _>(())
    ///     })
    ///     .backoff(Constant::new(Duration::from_micros(50)))
    ///     .notify(|_: &(), _, delay| delays.push(delay))
    ///     .seed(42)
    ///     .await;
    ///     runs.push(delays);
    /// }
    /// assert_eq!(runs[0], runs[1]);
    /// # });
    /// ```
    pub fn seed(self, seed: u64) -> Self {
        self.map(|retry| retry.seed(seed))
    }

    /// Bounds the whole retry, attempts and sleeps, by a deadline
    /// `duration` from its first poll (or the ambient deadline, if that is
    /// earlier), with one error type; see
    /// [`Retry::within`](crate::futures::Retry::within). Called last,
    /// after the rest of the configuration; the future it returns is
    /// `Send` when the retry's is.
    ///
    /// # Errors
    ///
    /// A [`RetryError`](crate::RetryError), of reason
    /// [`StopReason::Deadline`](crate::StopReason::Deadline) when the
    /// deadline stopped it; an attempt cut by the deadline gives the error
    /// `E::from(Elapsed)`.
    ///
    /// # Cancel safety
    ///
    /// As for the retry.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use std::time::Duration;
    /// use anyrt::retry::retry_with;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut tries = 0;
    /// let err = retry_with(&mut tries, async |n: &mut u32| {
    ///     *n += 1;
    ///     anyrt::sleep(Duration::from_secs(60)).await; // a slow attempt
    ///     Ok::<_, io::Error>(())
    /// })
    /// .within(Duration::from_millis(10))
    /// .await
    /// .unwrap_err();
    /// assert_eq!(err.error().kind(), io::ErrorKind::TimedOut);
    /// assert_eq!((err.attempts(), tries), (1, 1));
    /// # });
    /// ```
    pub fn within(
        self,
        duration: Duration,
    ) -> impl std::future::Future<Output = Result<T, crate::RetryError<E>>>
    where
        E: From<anyrt_deadline::Elapsed>,
    {
        let retry = self.retry;
        async move {
            let started = AtomicU32::new(0);
            match anyrt_deadline::within(duration, run_counted(retry, Some(&started))).await {
                Ok(out) => out,
                Err(elapsed) => Err(crate::RetryError::new(
                    elapsed.into(),
                    crate::StopReason::Deadline,
                    started.load(Ordering::Relaxed),
                )),
            }
        }
    }

    /// Changes the configuration, keeping its types.
    fn map(
        self,
        change: impl FnOnce(Inner<'s, S, F, T, E, B, W, N, H>) -> Inner<'s, S, F, T, E, B, W, N, H>,
    ) -> Self {
        RetryWith {
            retry: change(self.retry),
            launch: self.launch,
        }
    }
}

impl<'s, S, F, T, E, B, W, N, H, L> IntoFuture for RetryWith<'s, S, F, T, E, B, W, N, H, L>
where
    S: ?Sized,
    L: Launch<Inner<'s, S, F, T, E, B, W, N, H>>,
{
    type Output = L::Output;
    type IntoFuture = L::Future;

    fn into_future(self) -> L::Future {
        self.launch.launch(self.retry)
    }
}

impl<S: ?Sized, F, T, E, B, W, N, H, L> fmt::Debug for RetryWith<'_, S, F, T, E, B, W, N, H, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RetryWith").field(&self.retry).finish()
    }
}
