//! The pool's operations besides `get`: `try_get`, upkeep (`maintain`,
//! `retain`, `resize`, `close`) and `status`.

use std::future::Future;

use super::create::{self, Outcome};
use super::{
    AddError, BuildError, FnManager, Manager, Metrics, Pool, PoolBuilder, PoolError, PoolGuard,
    Status, TryGetError,
};

impl<F, Fut, T, E> Pool<FnManager<F>>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
    T: Send + 'static,
    E: Send + 'static,
{
    /// The options of a pool whose resources `create` makes, with no
    /// health check.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(vec![0u8; 16]) })
    ///     .max_size(8)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.get().await.unwrap().len(), 16);
    /// # });
    /// ```
    pub fn from_fn(create: F) -> PoolBuilder<FnManager<F>> {
        PoolBuilder::new(FnManager(create))
    }
}

impl<M: Manager> Pool<M> {
    /// An idle resource, if one is there and a slot is free: no wait, no
    /// creation and no health check (expired resources are still
    /// discarded).
    ///
    /// # Errors
    ///
    /// [`TryGetError::NoneIdle`] or [`TryGetError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(7) }).build().unwrap();
    /// assert!(pool.try_get().is_err(), "nothing created yet");
    /// drop(pool.get().await.unwrap());
    /// assert_eq!(*pool.try_get().unwrap(), 7);
    /// # });
    /// ```
    pub fn try_get(&self) -> Result<PoolGuard<M>, TryGetError> {
        loop {
            let mut expired = Vec::new();
            let taken = self.shared.try_take_idle(&mut expired);
            // Dropped while nothing is held (a destructor may panic); a
            // fresh resource may still be idle behind them.
            let retry = !expired.is_empty();
            drop(expired);
            return match taken {
                Ok(entry) => Ok(PoolGuard::new(entry, self.shared.clone())),
                Err(true) => Err(TryGetError::Closed),
                Err(false) if retry => continue,
                Err(false) => Err(TryGetError::NoneIdle),
            };
        }
    }

    /// Runs until the pool is closed (it ends as soon as it is): every
    /// `maintain_interval`, reaps and refills as
    /// [`maintain_once`](Self::maintain_once) does; a pass that fails is
    /// tried again at the next interval, and its error goes to
    /// [`on_background_error`](crate::PoolBuilder::on_background_error); a
    /// pass in which the manager panics is tried again too. Drive it on a task:
    /// `anyrt::spawn(async move { pool.maintain().await }).detach()`.
    ///
    /// # Cancel safety
    ///
    /// As [`maintain_once`](Self::maintain_once).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .min_idle(2)
    ///     .build()
    ///     .unwrap();
    /// let upkeep = pool.clone();
    /// let task = anyrt::spawn(async move { upkeep.maintain().await });
    /// while pool.status().idle < 2 {
    ///     anyrt::yield_now().await;
    /// }
    /// pool.close();
    /// task.await;
    /// # });
    /// ```
    pub async fn maintain(&self) {
        let interval = self.shared.config.maintain_interval;
        while !self.is_closed() {
            // A pass cut by the close drops its creation, which frees the
            // slot: `wait_closed` is not held up by it.
            match create::caught(self.or_closed(self.maintain_once())).await {
                Ok(None) => return,
                Ok(Some(Err(e))) => self.shared.report(e),
                // A manager that panicked (the panic hook has reported it)
                // fails the pass, which frees what it held; the next
                // interval tries again.
                Err(_) | Ok(Some(Ok(_))) => {}
            }
            // Sleeps the interval, or less if the pool is closed meanwhile.
            let closed = self.shared.closing.acquire();
            let _ = anyrt_deadline::timeout(interval, closed).await;
        }
    }

    /// Discards idle resources past `idle_timeout` or their lifetime, then
    /// creates resources until `min_idle` are idle (or the pool is full,
    /// or no slot is free, or `max_creating` creations are in flight).
    /// Returns how many it added to the idle set: a resource discarded as
    /// soon as it was made (the pool was closed or shrunk meanwhile) is
    /// not counted, and ends the pass. Passes that run at once share the
    /// work: the creations in flight of each count for the others, so
    /// together they make no more than `min_idle` asks for.
    ///
    /// # Errors
    ///
    /// The first failed creation, as [`PoolError::Backend`] (or
    /// [`PoolError::Timeout`] past `create_timeout`); the refill stops
    /// there.
    ///
    /// # Cancel safety
    ///
    /// Dropping it during a creation drops that creation and frees its
    /// slot; resources already created stay idle.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .min_idle(3)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.maintain_once().await.ok(), Some(3));
    /// assert_eq!(pool.status().idle, 3);
    /// # });
    /// ```
    pub async fn maintain_once(&self) -> Result<usize, PoolError<M::Error>> {
        let mut expired = Vec::new();
        self.shared.reap(&mut expired);
        drop(expired);
        let mut made = 0;
        // Looked at again before each creation, and once more under the
        // lock by `reserve`: another pass may be filling the idle set too.
        while self.shared.lacks_idle() {
            // A creation here counts against `max_creating` too; held
            // until the creation ends.
            let creator = match &self.shared.creators {
                Some(creators) => match creators.try_acquire() {
                    Ok(permit) => Some(permit),
                    Err(_) => break,
                },
                None => None,
            };
            let Ok(permit) = self.shared.slots.try_acquire() else {
                break;
            };
            permit.forget();
            if !self.shared.reserve() {
                self.shared.release_slot(self.shared.lock());
                break;
            }
            let creating = Creating(Some(&*self.shared));
            let outcome = create::run(&self.shared).await;
            creating.disarm();
            drop(creator);
            match outcome {
                Outcome::Created(entry) => match self.shared.created_idle(Some(entry), true) {
                    None => made += 1,
                    // Closed or shrunk meanwhile: discarded at once, and
                    // there is no room for more.
                    Some(discarded) => {
                        drop(discarded);
                        break;
                    }
                },
                failed => {
                    self.shared.created_idle(None, true);
                    return Err(match failed {
                        Outcome::Failed(e) => PoolError::Backend(e),
                        _ => PoolError::Timeout { last_error: None },
                    });
                }
            }
        }
        Ok(made)
    }

    /// Keeps the idle resources for which `keep(resource, metrics)` is
    /// true and discards the others; resources in use are not seen.
    ///
    /// `keep` runs under the pool's lock, so it must not call the pool
    /// (`get`, `status`, `retain`, ...): that would deadlock. Decide from
    /// the resource and its metrics alone; discarded resources are dropped
    /// after the lock is released.
    ///
    /// # Panics
    ///
    /// A panic of `keep` goes on to the caller, and no idle resource is
    /// discarded or lost by it: the idle set stays as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(0u32) }).build().unwrap();
    /// let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    /// drop((a, b));
    /// pool.retain(|_, _| false);
    /// assert_eq!((pool.status().idle, pool.status().discarded.retain), (0, 2));
    /// # });
    /// ```
    pub fn retain<F>(&self, keep: F)
    where
        F: FnMut(&mut M::Type, &Metrics) -> bool,
    {
        let mut dropped = Vec::new();
        self.shared.retain(keep, &mut dropped);
        drop(dropped);
    }

    /// Changes `max_size` at run time. Growing frees slots at once (to
    /// waiters first); shrinking discards idle resources above the new
    /// size now and resources in use as they come back, so the size never
    /// again exceeds the new maximum once they have. A size above
    /// `usize::MAX / 4` counts as that.
    ///
    /// # Errors
    ///
    /// [`BuildError::MaxSizeZero`], or [`BuildError::MinIdleAboveMaxSize`]
    /// below `min_idle`; the size is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
    /// pool.resize(3).unwrap();
    /// assert_eq!(pool.status().max_size, 3);
    /// assert!(pool.resize(0).is_err());
    /// ```
    pub fn resize(&self, max_size: usize) -> Result<(), BuildError> {
        if max_size == 0 {
            return Err(BuildError::MaxSizeZero);
        }
        if max_size < self.shared.config.min_idle {
            return Err(BuildError::MinIdleAboveMaxSize);
        }
        // As in the builder: the slot semaphore counts up to this.
        let max_size = max_size.min(crate::semaphore::MAX_PERMITS);
        let mut dropped = Vec::new();
        self.shared.resize(max_size, &mut dropped);
        drop(dropped);
        Ok(())
    }

    /// Closes the pool: every waiting and later `get` fails with
    /// [`PoolError::Closed`], idle resources are dropped now and resources
    /// in use when they come back.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
    /// drop(pool.get().await.unwrap());
    /// pool.close();
    /// assert!(pool.get().await.unwrap_err().is_closed());
    /// assert_eq!(pool.status().size, 0);
    /// # });
    /// ```
    pub fn close(&self) {
        let mut dropped = Vec::new();
        self.shared.close(&mut dropped);
        drop(dropped);
    }

    /// Waits until the pool is closed and holds no resource any more:
    /// every guard given back (or detached, or dropped broken) and every
    /// creation in flight ended, so [`status`](Self::status) shows a size
    /// of zero. For a graceful shutdown: [`close`](Self::close), then wait
    /// for the work in flight to give its resources back (bound the wait
    /// with `anyrt::deadline::within`). It does not close the pool itself. A
    /// resource is dropped right after it leaves the pool, outside the
    /// pool's lock, by the thread that gave it back (or closed the pool):
    /// the last destructor may still be running there when this
    /// completes.
    ///
    /// # Cancel safety
    ///
    /// It only waits: dropping it changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
    /// let in_use = pool.get().await.unwrap();
    /// pool.close();
    /// let mut done = std::pin::pin!(pool.wait_closed());
    /// assert!(futures_lite::future::poll_once(done.as_mut()).await.is_none());
    /// drop(in_use); // dropped, since the pool is closed
    /// done.await;
    /// assert_eq!(pool.status().size, 0);
    /// # });
    /// ```
    pub async fn wait_closed(&self) {
        // Never granted: it fails once the pool is closed and empty.
        let _closed = self.shared.drained.acquire().await;
    }

    /// Adds a resource made outside the pool (bb8's `add`, deadpool's
    /// unmanaged `add`): it joins the idle set at once, counted in `size`
    /// and in [`Status::added`](crate::Status::added), with its
    /// [`Metrics`] and `max_lifetime` counted from now. From then on it is
    /// like any idle resource: handed out in the pool's reuse order,
    /// health-checked at checkout (`recycle`), expired by `idle_timeout`
    /// and `max_lifetime`.
    ///
    /// The manager's return check ([`Manager::is_broken`]) runs first, as
    /// at a guard's return; if it panics, the resource is dropped and the
    /// pool is unchanged. A `get` waiting for a permit of `max_creating`
    /// is woken and takes the added resource instead of waiting on.
    ///
    /// # Errors
    ///
    /// [`AddError::Full`] if the pool holds `max_size` resources (idle,
    /// in use or being created), [`AddError::Closed`] if it was closed,
    /// [`AddError::Broken`] if the return check says so; each gives the
    /// resource back.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(0u32) })
    ///     .max_size(2)
    ///     .build()
    ///     .unwrap();
    /// pool.add(42).unwrap();
    /// assert_eq!(*pool.get().await.unwrap(), 42, "no creation needed");
    /// assert_eq!((pool.status().added, pool.status().created), (1, 0));
    /// # });
    /// ```
    pub fn add(&self, resource: M::Type) -> Result<(), AddError<M::Type>> {
        let mut entry = self.shared.entry(resource);
        let manager = &self.shared.manager;
        if manager.is_broken(&mut entry.resource, &entry.metrics) {
            return Err(AddError::Broken(entry.resource));
        }
        self.shared.add(entry)
    }

    /// The pool's manager: to make a resource that the pool will not
    /// manage (bb8's `dedicated_connection`), or to reach its settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::Manager;
    ///
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(5u8) }).build().unwrap();
    /// let own = pool.manager().create().await.unwrap();
    /// assert_eq!((own, pool.status().size), (5, 0), "not the pool's");
    /// # });
    /// ```
    pub fn manager(&self) -> &M {
        &self.shared.manager
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
    /// assert!(!pool.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// A snapshot of sizes and counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) })
    ///     .max_size(4)
    ///     .build()
    ///     .unwrap();
    /// let status = pool.status();
    /// assert_eq!((status.max_size, status.size, status.waiting), (4, 0, 0));
    /// ```
    pub fn status(&self) -> Status {
        self.shared.status()
    }
}

/// A creation by `maintain_once`, undone (place and slot freed) if dropped
/// armed.
struct Creating<'a, M: Manager>(Option<&'a super::Shared<M>>);

impl<M: Manager> Creating<'_, M> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl<M: Manager> Drop for Creating<'_, M> {
    fn drop(&mut self) {
        if let Some(shared) = self.0 {
            drop(shared.created_idle(None, true));
        }
    }
}
