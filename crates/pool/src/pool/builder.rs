//! `PoolBuilder`: the options of a pool, checked at `build()`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{BuildError, Manager, Pool, PoolError};
use crate::semaphore::MAX_PERMITS;

/// Which idle resource a checkout takes.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{Pool, Reuse};
///
/// let pool = Pool::from_fn(|| async { Ok::<_, ()>(()) })
///     .reuse(Reuse::Fifo)
///     .build()
///     .unwrap();
/// # drop(pool);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reuse {
    /// The most recently returned first: warm resources are reused and the
    /// rest can reach `idle_timeout` (the default).
    #[default]
    Lifo,
    /// The least recently returned first: load spreads over every
    /// resource.
    Fifo,
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) max_size: usize,
    pub(crate) min_idle: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) acquire_timeout: Option<Duration>,
    pub(crate) create_timeout: Option<Duration>,
    pub(crate) max_creating: Option<usize>,
    pub(crate) recycle_on_checkout: bool,
    pub(crate) reuse: Reuse,
    pub(crate) maintain_interval: Duration,
}

/// The options of a [`Pool`]; made by [`Pool::builder`] or
/// [`Pool::from_fn`].
///
/// | option | default |
/// |---|---|
/// | `max_size` | 10 |
/// | `min_idle` | 0 (kept by [`Pool::maintain`]) |
/// | `idle_timeout` | none |
/// | `max_lifetime` | none; each resource expires up to 10% earlier (jitter) |
/// | `acquire_timeout` | 30 s |
/// | `create_timeout` | 30 s |
/// | `max_creating` | no limit beyond `max_size` |
/// | `recycle_on_checkout` | `true` |
/// | `reuse` | [`Reuse::Lifo`] |
/// | `maintain_interval` | 10 s |
///
/// Every knob takes a plain value; [`build`](Self::build) rejects the ones
/// that cannot work (a zero size, a zero timeout, `min_idle > max_size`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::pool::Pool;
///
/// let pool = Pool::from_fn(|| async { Ok::<_, std::io::Error>(Vec::<u8>::new()) })
///     .max_size(16)
///     .min_idle(2)
///     .idle_timeout(Duration::from_secs(60))
///     .max_lifetime(Duration::from_secs(1800))
///     .acquire_timeout(Duration::from_secs(5))
///     .create_timeout(Duration::from_secs(2))
///     .max_creating(4)
///     .build()
///     .unwrap();
/// assert_eq!(pool.status().max_size, 16);
/// ```
pub struct PoolBuilder<M: Manager> {
    manager: M,
    config: Config,
    on_error: Option<OnError<M::Error>>,
}

/// The hook of [`PoolBuilder::on_background_error`].
pub(crate) type OnError<E> = Arc<dyn Fn(PoolError<E>) + Send + Sync>;

impl<M: Manager> PoolBuilder<M> {
    pub(crate) fn new(manager: M) -> Self {
        PoolBuilder {
            manager,
            config: Config {
                max_size: 10,
                min_idle: 0,
                idle_timeout: None,
                max_lifetime: None,
                acquire_timeout: Some(Duration::from_secs(30)),
                create_timeout: Some(Duration::from_secs(30)),
                max_creating: None,
                recycle_on_checkout: true,
                reuse: Reuse::Lifo,
                maintain_interval: Duration::from_secs(10),
            },
            on_error: None,
        }
    }

    /// At most this many resources exist at once (idle, in use and being
    /// created).
    ///
    /// A size above `usize::MAX / 4` counts as that.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .max_size(4)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.status().max_size, 4);
    /// ```
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.config.max_size = max_size;
        self
    }

    /// [`Pool::maintain`] keeps at least this many resources idle.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .min_idle(2)
    ///     .build()
    ///     .unwrap();
    /// # futures_lite::future::block_on(async {
    /// assert_eq!(pool.maintain_once().await.ok(), Some(2));
    /// # });
    /// ```
    pub fn min_idle(mut self, min_idle: usize) -> Self {
        self.config.min_idle = min_idle;
        self
    }

    /// A resource idle for this long is discarded (at checkout, and by
    /// [`Pool::maintain`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .idle_timeout(Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// A resource is discarded this long after its creation, less a random
    /// jitter of up to 10% so that resources made together do not all
    /// expire together; checked at checkout, at return and by
    /// [`Pool::maintain`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .max_lifetime(Duration::from_secs(1800))
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.max_lifetime = Some(lifetime);
        self
    }

    /// How long [`Pool::get`] may take in all (wait, health checks,
    /// creation); the ambient deadline wins when it is earlier.
    /// `Duration::MAX` means no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .acquire_timeout(Duration::from_secs(5))
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.config.acquire_timeout = (timeout != Duration::MAX).then_some(timeout);
        self
    }

    /// How long one creation may take. `Duration::MAX` means no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .create_timeout(Duration::from_secs(2))
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn create_timeout(mut self, timeout: Duration) -> Self {
        self.config.create_timeout = (timeout != Duration::MAX).then_some(timeout);
        self
    }

    /// At most this many creations run at once. A `get` that finds
    /// nothing idle waits for its turn to create, and takes a resource
    /// that comes back to the pool meanwhile instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .max_creating(2)
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn max_creating(mut self, max_creating: usize) -> Self {
        self.config.max_creating = Some(max_creating);
        self
    }

    /// Whether a checkout runs [`Manager::recycle`] on an idle resource
    /// before handing it out.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .recycle_on_checkout(false)
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn recycle_on_checkout(mut self, recycle: bool) -> Self {
        self.config.recycle_on_checkout = recycle;
        self
    }

    /// Which idle resource a checkout takes.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .reuse(anyrt::pool::Reuse::Fifo)
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn reuse(mut self, reuse: Reuse) -> Self {
        self.config.reuse = reuse;
        self
    }

    /// How often [`Pool::maintain`] reaps and refills.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .maintain_interval(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// # drop(pool);
    /// ```
    pub fn maintain_interval(mut self, interval: Duration) -> Self {
        self.config.maintain_interval = interval;
        self
    }

    /// Calls `hook` with each creation error that no caller would see
    /// otherwise (bb8's error sink), to log or count it: a failed pass of
    /// [`maintain`](Pool::maintain) ([`PoolError::Backend`], or
    /// [`PoolError::Timeout`] past `create_timeout`), and the failure of a
    /// creation whose `get` was dropped or timed out before it ended. An
    /// error that a call returns ([`get`](Pool::get),
    /// [`maintain_once`](Pool::maintain_once)) does not reach it.
    ///
    /// The hook runs outside the pool's locks, after the pool has freed
    /// the failed creation's slot, on the task that saw the error (the
    /// maintaining task, or the creation's). A panic of the hook is
    /// caught there and goes no further (the panic hook has printed it):
    /// the pool and the maintaining loop go on as if it had returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// # futures_lite::future::block_on(async {
    /// let failures = Arc::new(AtomicUsize::new(0));
    /// let counted = failures.clone();
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Err::<(), _>("refused") })
    ///     .min_idle(1)
    ///     .on_background_error(move |e| {
    ///         eprintln!("pool: {e}");
    ///         counted.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// let upkeep = pool.clone();
    /// let task = anyrt::spawn(async move { upkeep.maintain().await });
    /// while failures.load(Ordering::Relaxed) == 0 {
    ///     anyrt::yield_now().await;
    /// }
    /// pool.close();
    /// task.await;
    /// # });
    /// ```
    pub fn on_background_error<F>(mut self, hook: F) -> Self
    where
        F: Fn(PoolError<M::Error>) + Send + Sync + 'static,
    {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// The pool.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for `max_size == 0`, `min_idle > max_size`,
    /// `max_creating == 0` or a zero timeout, lifetime or interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::{BuildError, Pool};
    ///
    /// let builder = || Pool::from_fn(|| async { Ok::<_, ()>(()) });
    /// assert!(builder().max_size(2).build().is_ok());
    /// assert_eq!(
    ///     builder().max_size(2).min_idle(3).build().unwrap_err(),
    ///     BuildError::MinIdleAboveMaxSize
    /// );
    /// ```
    pub fn build(self) -> Result<Pool<M>, BuildError> {
        let c = &self.config;
        if c.max_size == 0 {
            return Err(BuildError::MaxSizeZero);
        }
        if c.min_idle > c.max_size {
            return Err(BuildError::MinIdleAboveMaxSize);
        }
        if c.max_creating == Some(0) {
            return Err(BuildError::MaxCreatingZero);
        }
        let durations = [
            ("idle_timeout", c.idle_timeout),
            ("max_lifetime", c.max_lifetime),
            ("acquire_timeout", c.acquire_timeout),
            ("create_timeout", c.create_timeout),
            ("maintain_interval", Some(c.maintain_interval)),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| *d == Some(Duration::ZERO)) {
            return Err(BuildError::ZeroDuration(name));
        }
        // The slots are permits of a semaphore, which counts up to
        // `MAX_PERMITS`: a larger size counts as that, here and in
        // `resize`, so that the pool's books and the semaphore agree.
        let mut config = self.config;
        config.max_size = config.max_size.min(MAX_PERMITS);
        config.min_idle = config.min_idle.min(config.max_size);
        Ok(Pool::new(self.manager, config, self.on_error))
    }
}

impl<M: Manager> fmt::Debug for PoolBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
