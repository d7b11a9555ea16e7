//! `Status`: what a pool holds and what it has done.

use std::time::Duration;

/// A snapshot of a pool, from [`Pool::status`](crate::Pool::status).
///
/// `size` counts every resource that exists or is being created
/// (`idle + in_use + creating`); counters run from the pool's creation.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
/// let guard = pool.get().await.unwrap();
/// let status = pool.status();
/// assert_eq!((status.size, status.in_use, status.idle, status.created), (1, 1, 0, 1));
/// drop(guard);
/// assert_eq!(pool.status().idle, 1);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The current `max_size`.
    pub max_size: usize,
    /// Resources that exist or are being created.
    pub size: usize,
    /// Resources waiting in the pool.
    pub idle: usize,
    /// Resources held by guards.
    pub in_use: usize,
    /// `get` calls waiting: for a slot, or (holding one, with
    /// `max_creating`) for their turn to create.
    pub waiting: usize,
    /// Creations in flight.
    pub creating: usize,
    /// Resources created so far.
    pub created: u64,
    /// Resources made outside the pool and given to it with
    /// [`Pool::add`](crate::Pool::add); `created + added -
    /// discarded.total() == size - creating` (a creation counts in `size`
    /// from its start, in `created` once it ends).
    pub added: u64,
    /// Successful recycles (health checks at checkout; one under way
    /// counts from its start until it fails or is dropped).
    pub recycled: u64,
    /// Resources thrown away, by reason.
    pub discarded: Discarded,
    /// `get` calls that timed out.
    pub timed_out: u64,
    /// Time `get` calls spent waiting for a slot, summed.
    pub total_wait: Duration,
    /// The longest such wait.
    pub max_wait: Duration,
}

/// Resources a pool threw away, by reason; part of [`Status`].
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
/// let mut guard = pool.get().await.unwrap();
/// guard.mark_broken();
/// drop(guard);
/// assert_eq!(pool.status().discarded.broken, 1);
/// assert_eq!(pool.status().discarded.total(), 1);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discarded {
    /// Marked broken with `mark_broken`, or found broken at return by
    /// [`Manager::is_broken`](crate::Manager::is_broken).
    pub broken: u64,
    /// Dropped by a guard while its thread panicked, or by a health check
    /// that panicked.
    pub panicked: u64,
    /// Past `max_lifetime`.
    pub lifetime: u64,
    /// Idle longer than `idle_timeout`.
    pub idle_timeout: u64,
    /// The health check (`recycle`) failed.
    pub recycle_failed: u64,
    /// The checkout was cancelled during the health check.
    pub cancelled: u64,
    /// Refused by the predicate of `retain`.
    pub retain: u64,
    /// Above the new size after `resize`.
    pub resized: u64,
    /// The pool was closed.
    pub closed: u64,
    /// Taken out of the pool with `detach` (not dropped: the caller owns
    /// it now).
    pub detached: u64,
}

impl Discarded {
    /// All discarded resources, whatever the reason.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyrt::pool::Discarded::default().total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        self.broken
            + self.panicked
            + self.lifetime
            + self.idle_timeout
            + self.recycle_failed
            + self.cancelled
            + self.retain
            + self.resized
            + self.closed
            + self.detached
    }
}

/// Why a resource was thrown away.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reason {
    Broken,
    Panicked,
    Lifetime,
    IdleTimeout,
    RecycleFailed,
    Cancelled,
    Retain,
    Resized,
    Closed,
    Detached,
}

impl Discarded {
    pub(crate) fn count(&mut self, reason: Reason, n: u64) {
        let counter = match reason {
            Reason::Broken => &mut self.broken,
            Reason::Panicked => &mut self.panicked,
            Reason::Lifetime => &mut self.lifetime,
            Reason::IdleTimeout => &mut self.idle_timeout,
            Reason::RecycleFailed => &mut self.recycle_failed,
            Reason::Cancelled => &mut self.cancelled,
            Reason::Retain => &mut self.retain,
            Reason::Resized => &mut self.resized,
            Reason::Closed => &mut self.closed,
            Reason::Detached => &mut self.detached,
        };
        *counter += n;
    }
}
