//! The retry loop: `retry`, `retry_with` and the `Retry` future that is also
//! its builder.

mod decide;
mod future;
pub mod hooks;
mod with_state;
mod within;

pub use self::with_state::RetryWith;
pub use self::within::RetryWithin;

use std::time::Duration;

use pin_project_lite::pin_project;

use self::decide::{Config, Rules};
use self::future::{PauseSlot, State};
use self::hooks::{Always, Attempts, FromError, NoHint, Operation, Silent, WithState};
use crate::backoff::{Backoff, Exponential};
use crate::budget::RetryBudget;

/// Retries `op` until it succeeds or a stop rule says to give up.
///
/// `op` is called for each attempt and returns a future of
/// `Result<T, E>`. The returned [`Retry`](crate::futures::Retry) is both the
/// builder and the future: configure it, then `.await` it. Defaults: at
/// most 3 attempts, [`Exponential::default`] backoff (100 ms × 2 up to
/// 10 s, full jitter), every error retried.
///
/// Nothing is allocated and nothing is spawned; an attempt that succeeds at
/// once costs no clock read and no timer. A zero delay skips the timer
/// too, and a run of retries that never wait (zero delays, or sleeps over
/// by their first poll) yields to the executor after every 64th attempt,
/// so it never holds a thread for long. Attempts never overlap: a finished
/// attempt is dropped before the hooks run and before the next one is
/// made, and its error before the next one starts.
///
/// # Errors
///
/// The future yields a [`RetryError`](crate::RetryError) with the last
/// error, the [`StopReason`](crate::StopReason) and the attempt count.
///
/// # Cancel safety
///
/// Dropping the future drops the attempt or the sleep in progress; no
/// further attempt starts.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::time::Duration;
/// use anyrt::retry::{retry, Constant};
///
/// # futures_lite::future::block_on(async {
/// let calls = Cell::new(0);
/// let value = retry(|| async {
///     calls.set(calls.get() + 1);
///     if calls.get() < 3 { Err("not yet") } else { Ok(calls.get()) }
/// })
/// .backoff(Constant::new(Duration::from_millis(1)))
/// .await;
/// assert_eq!(value, Ok(3));
/// # });
/// ```
pub fn retry<F: Operation>(op: F) -> Retry<F> {
    new(op)
}

/// Like [`retry`], with `op` an async closure that is lent `&mut state` for
/// each attempt, and may hold it across its awaits: a connection, a
/// request to update, a list of endpoints to rotate (backon cannot lend
/// state this way).
///
/// Configure the returned [`RetryWith`](crate::futures::RetryWith) as for
/// [`retry`], then `.await` it (it implements `IntoFuture`).
///
/// # `Send`, and spawning what a library returns
///
/// The future is `Send` when the state, the closure, the futures it makes
/// and the hooks are. A library method written as
/// `retry_with(self, async |this| this.send().await)` gives a future that
/// an application can `tokio::spawn` on the multi-threaded runtime. What
/// breaks `Send` is an attempt that captures a reference to something
/// outside the state (rustc then says "implementation of `Send` is not
/// general enough", in the crate that spawns, not in the library): pass
/// that data through the state, or clone what each attempt needs into an
/// `async move` block, as [`retry`]'s closure does with owned data:
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{retry, Constant};
///
/// async fn fetch(url: String) -> Result<usize, std::io::Error> {
///     retry(|| {
///         let url = url.clone(); // each attempt owns its copy
///         async move { Ok(url.len()) }
///     })
///     .backoff(Constant::new(Duration::from_millis(10)))
///     .await
///     .map_err(std::io::Error::from)
/// }
///
/// fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
/// spawnable(fetch("https://example.com".into()));
/// ```
///
/// # Errors
///
/// As for [`retry`].
///
/// # Cancel safety
///
/// As for [`retry`]; changes already made to `state` stay.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::retry::{retry_with, Constant};
///
/// struct Conn {
///     endpoints: Vec<&'static str>,
///     used: Vec<&'static str>,
/// }
///
/// impl Conn {
///     async fn send(&mut self) -> Result<&'static str, &'static str> {
///         let endpoint = self.endpoints.remove(0);
///         anyrt::yield_now().await;
///         self.used.push(endpoint);
///         if endpoint == "c" { Ok(endpoint) } else { Err(endpoint) }
///     }
///
///     /// A method that retries itself: its future is `Send`.
///     async fn send_until_sent(&mut self) -> Result<&'static str, &'static str> {
///         retry_with(self, async |conn| conn.send().await)
///             .backoff(Constant::new(Duration::ZERO))
///             .await
///             .map_err(|e| e.into_inner())
///     }
/// }
///
/// # futures_lite::future::block_on(async {
/// let mut conn = Conn { endpoints: vec!["a", "b", "c"], used: Vec::new() };
/// assert_eq!(conn.send_until_sent().await, Ok("c"));
/// assert_eq!(conn.used, ["a", "b", "c"]);
/// # });
/// ```
pub fn retry_with<'s, S, F, T, E>(
    state: &'s mut S,
    op: F,
) -> with_state::retry_with_type!(Exponential, Always, Silent, NoHint)
where
    S: ?Sized,
    F: AsyncFnMut(&mut S) -> Result<T, E>,
{
    with_state::wrap(new(WithState::new(state, op)))
}

/// A retry of `op` with the default configuration.
fn new<Op: Attempts>(op: Op) -> Retry<Op> {
    Retry {
        op,
        config: Config {
            backoff: Exponential::default(),
            when: Always,
            notify: Silent,
            hint: NoHint,
            rules: Rules::new(),
        },
        state: State::New,
        pause: PauseSlot::EMPTY,
    }
}

pin_project! {
    /// A retry loop: the builder made by [`retry`](crate::retry), and the
    /// future that runs it (inside a [`RetryWith`](crate::futures::RetryWith),
    /// the configuration of a [`retry_with`](crate::retry_with)).
    ///
    /// Each builder method consumes and returns it; configure it before the
    /// first poll.
    ///
    /// # Panics
    ///
    /// Polling it again after it completed panics. A hook (`when`,
    /// `notify`, the hint or the backoff) that panics leaves the retry
    /// where it was: if the panic is caught and the retry polled again, it
    /// judges the same failure again, so every stop rule still applies and
    /// no attempt starts that they did not allow; a retry already taken
    /// from the budget for it is not taken twice. A call of the operation
    /// that panics gives no outcome, so it is no attempt: polled again
    /// after the panic was caught, the retry makes the same call again,
    /// counted and paid for once.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the attempt or the sleep in progress; no further
    /// attempt starts.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::futures::Retry;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut calls = 0;
    /// let retrying: Retry<_, Constant> = retry(|| {
    ///     calls += 1;
    ///     let n = calls;
    ///     async move { if n < 2 { Err(n) } else { Ok(n) } }
    /// })
    /// .backoff(Constant::new(Duration::from_millis(1)))
    /// .max_attempts(2);
    /// assert_eq!(retrying.await, Ok(2));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Retry<Op: Attempts, B = Exponential, W = Always, N = Silent, H = NoHint> {
        op: Op,
        config: Config<B, W, N, H>,
        #[pin]
        state: State<Op::InProgress, Op::Error>,
        // Boxed, so that the future stays small for the common case of no
        // sleep at all; allocated at the first sleep and reused by later ones.
        pause: PauseSlot,
    }
}

impl<Op: Attempts, B, W, N, H> Retry<Op, B, W, N, H> {
    /// After a stop rule changed: a retry not yet polled notes whether its
    /// first poll has a budget or a clock to set up. (A retry already
    /// polled, possible when it is `Unpin`, keeps its state.)
    #[inline]
    fn new_state(&mut self) {
        if matches!(self.state, State::New | State::NewChecked) {
            self.state = if self.config.rules.checked() {
                State::NewChecked
            } else {
                State::New
            };
        }
    }

    /// Swaps one hook or policy for another of a new type.
    #[inline]
    fn reconfigure<B2, W2, N2, H2>(
        self,
        change: impl FnOnce(Config<B, W, N, H>) -> Config<B2, W2, N2, H2>,
    ) -> Retry<Op, B2, W2, N2, H2> {
        Retry {
            op: self.op,
            config: change(self.config),
            state: self.state,
            pause: self.pause,
        }
    }

    /// Changes the backoff policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Fibonacci};
    ///
    /// # futures_lite::future::block_on(async {
    /// let policy = Fibonacci::builder().initial(Duration::from_millis(1)).build().unwrap();
    /// let out = retry(|| async { Ok::<_, ()>(1) }).backoff(policy).await;
    /// assert_eq!(out, Ok(1));
    /// # });
    /// ```
    pub fn backoff<B2: Backoff>(self, backoff: B2) -> Retry<Op, B2, W, N, H> {
        self.reconfigure(|c| Config {
            backoff,
            when: c.when,
            notify: c.notify,
            hint: c.hint,
            rules: c.rules,
        })
    }

    /// Retries only the errors for which `when` returns `true`; any other
    /// error stops the loop with [`StopReason::NotRetryable`](crate::StopReason::NotRetryable).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::retry;
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>(404) }).when(|code: &i32| *code >= 500).await.unwrap_err();
    /// assert!(err.reason().is_not_retryable());
    /// # });
    /// ```
    pub fn when<W2>(self, when: W2) -> Retry<Op, B, W2, N, H>
    where
        W2: FnMut(&Op::Error) -> bool,
    {
        self.reconfigure(|c| Config {
            backoff: c.backoff,
            when,
            notify: c.notify,
            hint: c.hint,
            rules: c.rules,
        })
    }

    /// Calls `notify(error, attempt, delay)` before each retry's sleep:
    /// attempt `attempt` (1 is the first call) failed with `error`, and the
    /// next starts after `delay`. Not called when the loop gives up.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut log = Vec::new();
    /// let _ = retry(|| async { Err::<(), _>("busy") })
    ///     .backoff(Constant::new(Duration::ZERO))
    ///     .notify(|_: &&str, attempt, delay| log.push((attempt, delay)))
    ///     .await;
    /// assert_eq!(log, [(1, Duration::ZERO), (2, Duration::ZERO)]);
    /// # });
    /// ```
    pub fn notify<N2>(self, notify: N2) -> Retry<Op, B, W, N2, H>
    where
        N2: FnMut(&Op::Error, u32, Duration),
    {
        self.reconfigure(|c| Config {
            backoff: c.backoff,
            when: c.when,
            notify,
            hint: c.hint,
            rules: c.rules,
        })
    }

    /// Honours the server hints of errors that implement
    /// [`RetryAfter`](crate::RetryAfter): a hint replaces the computed
    /// delay, clamped to the policy's `max_delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, RetryAfter};
    ///
    /// struct Busy;
    /// impl RetryAfter for Busy {
    ///     fn retry_after(&self) -> Option<Duration> {
    ///         Some(Duration::ZERO)
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>(Busy) }).hints().await.unwrap_err();
    /// assert_eq!(err.attempts(), 3);
    /// # });
    /// ```
    pub fn hints(self) -> Retry<Op, B, W, N, FromError>
    where
        Op::Error: crate::RetryAfter,
    {
        self.hint(FromError)
    }

    /// Reads server hints with `hint` (a closure from `&E` to
    /// `Option<Duration>`, or [`FromError`](hooks::FromError)); a hint
    /// replaces the computed delay, clamped to the policy's `max_delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::retry;
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>(0u64) })
    ///     .hint(|ms: &u64| Some(Duration::from_millis(*ms)))
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.reason().is_attempts());
    /// # });
    /// ```
    pub fn hint<H2>(self, hint: H2) -> Retry<Op, B, W, N, H2>
    where
        H2: hooks::Hint<Op::Error>,
    {
        self.reconfigure(|c| Config {
            backoff: c.backoff,
            when: c.when,
            notify: c.notify,
            hint,
            rules: c.rules,
        })
    }

    /// At most `max_attempts` attempts, the first call included (default
    /// 3), so `max_attempts(1)` never retries.
    ///
    /// A plain integer, as written in a configuration. Zero means the same
    /// as one: the operation is always called once, since a retry that
    /// never called it would have no error to return; it neither panics nor
    /// hangs, and the error reports one attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>(()) })
    ///     .backoff(Constant::new(Duration::ZERO))
    ///     .max_attempts(5)
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.attempts(), 5);
    ///
    /// let err = retry(|| async { Err::<(), _>(()) }).max_attempts(0).await.unwrap_err();
    /// assert_eq!(err.attempts(), 1); // zero is read as one
    /// # });
    /// ```
    #[inline]
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.config.rules.max_attempts = max_attempts.max(1);
        self
    }

    /// Gives up with [`StopReason::Elapsed`](crate::StopReason::Elapsed)
    /// rather than start a sleep that would end more than `max_elapsed`
    /// after the first attempt started (attempts' own time included).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant, Jitter};
    ///
    /// # futures_lite::future::block_on(async {
    /// let err = retry(|| async { Err::<(), _>(()) })
    ///     .backoff(Constant::new(Duration::from_secs(60)).jitter(Jitter::None))
    ///     .max_elapsed(Duration::from_millis(10))
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.reason().is_elapsed());
    /// # });
    /// ```
    #[inline]
    pub fn max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.config.rules.set_max_elapsed(max_elapsed);
        self.new_state();
        self
    }

    /// Draws retries from `budget`: this call deposits into it once, and
    /// each retry withdraws; an empty budget stops the loop with
    /// [`StopReason::Budget`](crate::StopReason::Budget).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::retry::{retry, RetryBudget};
    ///
    /// # futures_lite::future::block_on(async {
    /// let budget = RetryBudget::builder().ratio(0.0).min_per_sec(0).build().unwrap();
    /// let err = retry(|| async { Err::<(), _>(()) }).budget(budget.clone()).await.unwrap_err();
    /// assert!(err.reason().is_budget());
    /// # });
    /// ```
    #[inline]
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.config.rules.set_budget(budget);
        self.new_state();
        self
    }

    /// Seeds the jitter, so the delays are the same on every run.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::retry::{retry, Constant};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut runs = Vec::new();
    /// for _ in 0..2 {
    ///     let mut delays = Vec::new();
    ///     let _ = retry(|| async { Err::<(), _>(()) })
    ///         .backoff(Constant::new(Duration::from_micros(50)))
    ///         .notify(|_: &(), _, delay| delays.push(delay))
    ///         .seed(42)
    ///         .await;
    ///     runs.push(delays);
    /// }
    /// assert_eq!(runs[0], runs[1]);
    /// # });
    /// ```
    #[inline]
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.rules.seed(seed);
        self
    }
}
