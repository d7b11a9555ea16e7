//! `Manager`: how a pool creates and health-checks its resources.

use std::fmt;
use std::future::Future;
use std::time::Instant;

/// Creates the pool's resources and checks them at checkout and at return.
///
/// Both methods return `Send` futures, so a pool can be used from
/// multi-threaded runtimes and its creations can run as tasks.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{Manager, Metrics, Pool};
///
/// struct Counter;
///
/// impl Manager for Counter {
///     type Type = u32;
///     type Error = std::io::Error;
///
///     async fn create(&self) -> Result<u32, std::io::Error> {
///         Ok(0)
///     }
///
///     async fn recycle(&self, n: &mut u32, _: &Metrics) -> Result<(), std::io::Error> {
///         *n += 1; // a health check would go here
///         Ok(())
///     }
/// }
///
/// # futures_lite::future::block_on(async {
/// let pool = Pool::builder(Counter).max_size(1).build().unwrap();
/// drop(pool.get().await.unwrap());
/// assert_eq!(*pool.get().await.unwrap(), 1, "recycled once at the second checkout");
/// # });
/// ```
pub trait Manager: Send + Sync + 'static {
    /// The resource. It outlives `'static`, as every type that a
    /// `'static` manager names does; the bound is left unwritten, because
    /// a manager generic over its types ([`FnManager`]) could then not
    /// prove it inside a spawned future for a type that borrows for
    /// `'static` (`&'static str`).
    type Type: Send;
    /// What creating or recycling can fail with (`'static` as
    /// [`Type`](Manager::Type) is).
    type Error: Send;

    /// Makes a new resource.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::Manager;
    ///
    /// struct Numbers;
    ///
    /// impl Manager for Numbers {
    ///     type Type = u64;
    ///     type Error = std::convert::Infallible;
    ///
    ///     async fn create(&self) -> Result<u64, Self::Error> {
    ///         Ok(42) // a connection would be opened here
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// assert_eq!(Numbers.create().await, Ok(42));
    /// # });
    /// ```
    fn create(&self) -> impl Future<Output = Result<Self::Type, Self::Error>> + Send;

    /// Checks an idle resource before it is handed out; an error discards
    /// it (and the pool tries another one). The default accepts it.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::{Manager, Metrics, Pool};
    ///
    /// struct Flaky;
    ///
    /// impl Manager for Flaky {
    ///     type Type = bool; // whether the connection is still good
    ///     type Error = &'static str;
    ///
    ///     async fn create(&self) -> Result<bool, &'static str> {
    ///         Ok(true)
    ///     }
    ///
    ///     async fn recycle(&self, good: &mut bool, _: &Metrics) -> Result<(), &'static str> {
    ///         if *good { Ok(()) } else { Err("connection reset") }
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let pool = Pool::builder(Flaky).max_size(1).build().unwrap();
    /// *pool.get().await.unwrap() = false; // it went bad while in use
    /// assert!(*pool.get().await.unwrap(), "the bad one was discarded, a new one made");
    /// # });
    /// ```
    fn recycle(
        &self,
        resource: &mut Self::Type,
        metrics: &Metrics,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = (resource, metrics);
        async { Ok(()) }
    }

    /// Checks a resource as its guard gives it back, synchronously and
    /// without waiting: `true` discards it there (counted as broken in
    /// [`Status::discarded`](crate::Status)) and frees its slot for the
    /// next `get`. The default keeps it.
    ///
    /// This is the place for what the resource knows about itself without
    /// asking the backend: an exchange that was cut short (its reply would
    /// reach the next user), a connection in the middle of a transaction,
    /// an error state. It runs in the guard's `drop`, so it must be cheap
    /// and must not block; a check that needs the backend belongs in
    /// [`recycle`](Self::recycle). It runs before the pool's lock is
    /// taken, once per guard that gives its resource back while the pool
    /// is open, and is not asked about a resource the guard discards
    /// anyway (marked broken, detached, or dropped while the thread
    /// panics) nor after [`close`](crate::Pool::close). It is asked about
    /// a resource the pool would then drop for its lifetime or a smaller
    /// size, which is counted as broken if it says so. If it panics, the
    /// resource is dropped, its slot
    /// freed (counted as panicked), and the panic goes on to the guard's
    /// dropper.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::{Manager, Metrics, Pool};
    ///
    /// /// A connection that knows whether a request on it was cut short.
    /// struct Conn {
    ///     in_flight: bool,
    /// }
    ///
    /// struct Conns;
    ///
    /// impl Manager for Conns {
    ///     type Type = Conn;
    ///     type Error = std::io::Error;
    ///
    ///     async fn create(&self) -> std::io::Result<Conn> {
    ///         Ok(Conn { in_flight: false })
    ///     }
    ///
    ///     fn is_broken(&self, conn: &mut Conn, _: &Metrics) -> bool {
    ///         conn.in_flight
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let pool = Pool::builder(Conns).max_size(1).build().unwrap();
    /// pool.get().await.unwrap().in_flight = true; // a request cancelled midway
    /// assert_eq!(pool.status().discarded.broken, 1);
    /// assert_eq!(pool.status().size, 0, "its slot is free again");
    /// # });
    /// ```
    fn is_broken(&self, resource: &mut Self::Type, metrics: &Metrics) -> bool {
        let _ = (resource, metrics);
        false
    }
}

/// What a pool knows about one resource, given to
/// [`Manager::recycle`] and to the predicate of
/// [`Pool::retain`](crate::Pool::retain).
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
/// drop(pool.get().await.unwrap());
/// pool.retain(|_, metrics| {
///     assert_eq!(metrics.recycled, 0);
///     true
/// });
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// When it was created, on the ambient clock.
    pub created: Instant,
    /// When it was last given back (its creation time until then).
    pub last_used: Instant,
    /// How many checkouts recycled it successfully.
    pub recycled: u64,
}

impl Metrics {
    pub(crate) fn new(now: Instant) -> Self {
        Metrics {
            created: now,
            last_used: now,
            recycled: 0,
        }
    }
}

/// The [`Manager`] of [`Pool::from_fn`](crate::Pool::from_fn): creates with
/// a closure, recycles nothing.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{FnManager, Pool};
///
/// # futures_lite::future::block_on(async {
/// let pool: Pool<FnManager<_>> = Pool::from_fn(|| async { Ok::<_, ()>(String::new()) })
///     .build()
///     .unwrap();
/// assert!(pool.get().await.unwrap().is_empty());
/// # });
/// ```
pub struct FnManager<F>(pub(crate) F);

impl<F, Fut, T, E> Manager for FnManager<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
    T: Send,
    E: Send,
{
    type Type = T;
    type Error = E;

    fn create(&self) -> impl Future<Output = Result<T, E>> + Send {
        (self.0)()
    }
}

impl<F> fmt::Debug for FnManager<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnManager").finish_non_exhaustive()
    }
}
