//! `Pool`: a pool of resources made and checked by a [`Manager`].

mod admin;
mod builder;
mod create;
mod error;
mod guard;
mod manager;
mod shared;
mod status;

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Poll, ready};
use std::time::{Duration, Instant};

pub use builder::{PoolBuilder, Reuse};
use create::Outcome;
pub use error::{AddError, BuildError, PoolError, TryGetError};
pub use guard::PoolGuard;
pub use manager::{FnManager, Manager, Metrics};
use shared::{Entry, May, Shared, Take};

use crate::semaphore::Acquire;
pub use status::{Discarded, Status};

/// A pool of resources (connections, clients, sessions) shared by tasks,
/// on any executor.
///
/// `pool.get().await` hands out a [`PoolGuard`] that derefs to the
/// resource and gives it back when dropped. A guard holds one of
/// `max_size` slots of a fair [`Semaphore`](crate::Semaphore), so at most
/// `max_size` resources exist at any moment, and waiters are served in
/// order (a waiter passed over too often is handed the next slot).
///
/// - A checkout takes an idle resource (the newest with [`Reuse::Lifo`],
///   the default), discarding expired ones and health-checking it with
///   [`Manager::recycle`]; if none is idle it creates one. A failed
///   creation is returned at once as [`PoolError::Backend`].
/// - Giving back is synchronous and O(1); nothing is spawned from `Drop`.
/// - Creations run as tasks spawned through `anyrt-core`, so a resource
///   whose `get` was dropped mid-creation joins the idle set.
/// - [`maintain`](Self::maintain) reaps expired idle resources and keeps
///   `min_idle`; [`retain`](Self::retain), [`resize`](Self::resize),
///   [`close`](Self::close) and [`status`](Self::status) manage it at run
///   time.
///
/// Clones share the pool. `Pool<M>` is `Send + Sync`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::pool::Pool;
///
/// # futures_lite::future::block_on(async {
/// let pool = Pool::from_fn(|| async { Ok::<_, std::io::Error>(String::from("conn")) })
///     .max_size(2)
///     .acquire_timeout(Duration::from_secs(1))
///     .build()?;
/// let a = pool.get().await?;
/// let b = pool.get().await?;
/// assert!(pool.try_get().is_err(), "both slots are taken");
/// drop(a);
/// assert_eq!(*pool.try_get().unwrap(), "conn");
/// # drop(b);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Pool<M: Manager> {
    shared: Arc<Shared<M>>,
}

impl<M: Manager> Pool<M> {
    /// The options of a pool of `manager`'s resources.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::pool::{Manager, Pool};
    ///
    /// struct Numbers;
    ///
    /// impl Manager for Numbers {
    ///     type Type = u64;
    ///     type Error = std::convert::Infallible;
    ///
    ///     async fn create(&self) -> Result<u64, Self::Error> {
    ///         Ok(42)
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let pool = Pool::builder(Numbers).max_size(4).build().unwrap();
    /// assert_eq!(*pool.get().await.unwrap(), 42);
    /// # });
    /// ```
    pub fn builder(manager: M) -> PoolBuilder<M> {
        PoolBuilder::new(manager)
    }

    pub(crate) fn new(
        manager: M,
        config: builder::Config,
        on_error: Option<builder::OnError<M::Error>>,
    ) -> Self {
        Pool {
            shared: Arc::new(Shared::new(manager, config, on_error)),
        }
    }

    /// Checks out a resource: waits for a slot, then takes an idle
    /// resource (health-checked) or creates one.
    ///
    /// The whole call is bounded by `acquire_timeout` and by the ambient
    /// deadline (`anyrt::deadline::within`), whichever is earlier; one
    /// creation by `create_timeout`.
    ///
    /// # Errors
    ///
    /// - [`PoolError::Backend`] as soon as a creation fails.
    /// - [`PoolError::Timeout`] when a limit passes first, with the last
    ///   health-check error of this call.
    /// - [`PoolError::Closed`] once the pool is closed, also when it was
    ///   closed during this call's creation or health check (the resource
    ///   is dropped).
    ///
    /// # Panics
    ///
    /// When [`Manager::create`] panics for this call (in the creation's own
    /// task), the panic is resumed here, after its slot was freed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: while waiting, its place in the
    /// queue (the next waiter is woken in its stead); during a health
    /// check, the resource being checked is discarded (its state is
    /// unknown); during a creation, the creation goes on and its resource
    /// joins the idle set, after which its slot is free.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(1) }).build().unwrap();
    /// let guard = pool.get().await.unwrap();
    /// assert_eq!(*guard, 1);
    /// # });
    /// ```
    pub fn get(&self) -> impl Future<Output = Result<PoolGuard<M>, PoolError<M::Error>>> + '_ {
        self.get_within(self.shared.config.acquire_timeout)
    }

    /// As [`get`](Self::get), with `timeout` in place of the pool's
    /// `acquire_timeout` for this call (deadpool's `timeout_get`): longer
    /// or shorter, and still bounded by the ambient deadline if that is
    /// earlier. `Duration::MAX` means no limit of the call's own; `ZERO`
    /// hands out only what needs no wait (a free slot with an idle
    /// resource whose check completes at once), else it times out at once.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get); [`PoolError::Timeout`] once `timeout` passes.
    ///
    /// # Cancel safety
    ///
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(1) })
    ///     .max_size(1)
    ///     .build()
    ///     .unwrap();
    /// let held = pool.get().await.unwrap();
    /// let err = pool.get_timeout(Duration::from_millis(10)).await.unwrap_err();
    /// assert!(err.is_timeout(), "the one slot is held");
    /// drop(held);
    /// assert!(pool.get_timeout(Duration::from_millis(10)).await.is_ok());
    /// # });
    /// ```
    pub fn get_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<PoolGuard<M>, PoolError<M::Error>>> + '_ {
        self.get_within((timeout != Duration::MAX).then_some(timeout))
    }

    async fn get_within(
        &self,
        timeout: Option<Duration>,
    ) -> Result<PoolGuard<M>, PoolError<M::Error>> {
        let mut last_error = None;
        let mut limit = Limit::new(timeout);
        // At once when a slot is free and a resource idle: no queue, and no
        // timer or clock read unless the health check has to wait.
        let mut slot = self.try_slot();
        if let Some(held) = slot.take() {
            let mut expired = Vec::new();
            let take = self.shared.take(May::Not, None, &mut expired);
            drop(expired);
            match take {
                Take::Idle(entry) if !self.shared.config.recycle_on_checkout => {
                    return self.hand_out(self.guard(held, entry));
                }
                Take::Idle(entry) => {
                    // Pinned where it is made, and watched through the
                    // pin: the check is not moved into the watch on close.
                    let check = pin!(self.guard(held, entry).check());
                    match limit.bound(pin!(self.or_closed(check))).await {
                        Some(Some(Ok(guard))) => return self.hand_out(guard),
                        Some(Some(Err((e, failed)))) => {
                            slot = Some(self.rearmed(failed));
                            last_error = Some(e);
                        }
                        Some(None) => return Err(PoolError::Closed),
                        None => return self.timed_out(last_error),
                    }
                }
                Take::Closed => return Err(PoolError::Closed),
                Take::Shrunk => held.disarm(),
                Take::Empty | Take::Expired | Take::Create => slot = Some(held),
            }
        }
        let outcome = {
            let checkout = pin!(self.checkout(slot, &mut last_error));
            limit.bound(checkout).await
        };
        match outcome {
            Some(Ok(guard)) => Ok(guard),
            Some(Err(PoolError::Timeout { .. })) | None => self.timed_out(last_error),
            Some(Err(e)) => Err(e),
        }
    }

    /// A `get` timed out, with the last health-check error of the call.
    fn timed_out<T>(&self, last_error: Option<M::Error>) -> Result<T, PoolError<M::Error>> {
        self.shared.timed_out();
        Err(PoolError::Timeout { last_error })
    }

    /// A slot, if one is free now and nobody waits for one; otherwise the
    /// queue's acquire decides (whether this `get` may pass the oldest
    /// waiter), under the semaphore's lock, once.
    fn try_slot(&self) -> Option<Slot<'_, M>> {
        let permit = self.shared.slots.try_acquire_unqueued()?;
        permit.forget();
        Some(Slot(Some(&self.shared)))
    }

    /// The guard of a resource taken on `slot`.
    fn guard(&self, slot: Slot<'_, M>, entry: Entry<M::Type>) -> PoolGuard<M> {
        slot.disarm();
        PoolGuard::new(entry, self.shared.clone())
    }

    /// The slot a failed check kept, held again before the check's
    /// resource is dropped, so that a destructor that panics frees it.
    fn rearmed(&self, failed: M::Type) -> Slot<'_, M> {
        let slot = Slot(Some(&self.shared));
        drop(failed);
        slot
    }

    /// Hands a guard out, unless the pool was closed during its check
    /// (`close` fails every waiter); dropped then, it discards its
    /// resource and frees its slot.
    fn hand_out(&self, guard: PoolGuard<M>) -> Result<PoolGuard<M>, PoolError<M::Error>> {
        if self.shared.is_closed() {
            drop(guard);
            return Err(PoolError::Closed);
        }
        Ok(guard)
    }

    /// Waits in the queue for a slot; with it, how long it waited, if it
    /// had to (timed from joining the queue). With `first`, ahead of every
    /// waiter: for a `get` whose slot a shrink took back, so that it keeps
    /// its turn.
    async fn slot(
        &self,
        first: bool,
    ) -> Result<(Slot<'_, M>, Option<Duration>), PoolError<M::Error>> {
        let slots = &self.shared.slots;
        let mut acquire = pin!(if first {
            slots.acquire_first()
        } else {
            slots.acquire()
        });
        // A wait that ends without a slot (the call timed out, was
        // dropped, or the pool closed) is counted when it ends.
        let mut queued = Queued {
            shared: &self.shared,
            since: None,
        };
        let acquired = poll_fn(|cx| {
            let polled = acquire.as_mut().poll(cx);
            queued.since = acquire.queued_since();
            polled
        })
        .await;
        acquired.map_err(|_| PoolError::Closed)?.forget();
        let waited = queued
            .since
            .take()
            .map(|since| anyrt_core::now().saturating_duration_since(since));
        Ok((Slot(Some(&self.shared)), waited))
    }

    /// The rest of a checkout, from the slot if one is held already: an
    /// idle resource (checked) or a new one.
    async fn checkout(
        &self,
        slot: Option<Slot<'_, M>>,
        last_error: &mut Option<M::Error>,
    ) -> Result<PoolGuard<M>, PoolError<M::Error>> {
        let (mut slot, mut waited) = match slot {
            Some(slot) => (slot, None),
            None => self.slot(false).await?,
        };
        // With `max_creating`, the permit to create is taken only once no
        // resource is idle, and the idle set is looked at again after it,
        // or as soon as a resource comes back while waiting for it.
        let mut creator = Creator(None);
        // The wait for a creation permit, kept across a look at the idle
        // set after a return woke this `get`: it keeps its place in line,
        // and so does its next wait for a return (`rejoin`).
        let mut creator_wait = None;
        let mut rejoin = false;
        loop {
            let may = match self.shared.creators.is_none() || creator.0.is_some() {
                true => May::Create,
                false => May::Wait,
            };
            let mut expired = Vec::new();
            let take = self.shared.take(may, waited.take(), &mut expired);
            drop(expired);
            let entry = match take {
                Take::Closed => return Err(PoolError::Closed),
                // Boxed: a creation is rare beside reuse, and inline it
                // would make every `get`'s future as large as its own.
                Take::Create => return Box::pin(self.create(slot, creator)).await,
                Take::Empty => {
                    match self.creator_or_returned(&mut creator_wait, rejoin).await? {
                        Some(permit) => creator = permit,
                        None => rejoin = true,
                    }
                    continue;
                }
                Take::Expired => continue,
                Take::Shrunk => {
                    slot.disarm();
                    creator_wait = None;
                    drop(std::mem::replace(&mut creator, Creator(None)));
                    (slot, waited) = self.slot(true).await?;
                    continue;
                }
                Take::Idle(entry) => entry,
            };
            creator_wait = None;
            drop(std::mem::replace(&mut creator, Creator(None)));
            let guard = self.guard(slot, entry);
            if !self.shared.config.recycle_on_checkout {
                return self.hand_out(guard);
            }
            let check = pin!(guard.check());
            let Some(checked) = self.or_closed(check).await else {
                return Err(PoolError::Closed);
            };
            match checked {
                Ok(guard) => return self.hand_out(guard),
                Err((e, failed)) => {
                    slot = self.rearmed(failed);
                    *last_error = Some(e);
                }
            }
        }
    }

    /// Waits for a permit of `max_creating` (the wait counts as waiting),
    /// or for a resource to join the idle set meanwhile: then `None`, and
    /// the caller looks again. [`Take::Empty`] counted the caller as
    /// waiting for a resource; it is uncounted on every way out.
    ///
    /// The wait for the permit is `creator_wait`, made here if there is
    /// none and left in it when a return wins, so that the caller keeps its
    /// place in that line; with `rejoin` (a return woke it before, and
    /// another took the resource) it waits for the next return at the head
    /// of that line too.
    async fn creator_or_returned<'p>(
        &'p self,
        creator_wait: &mut Option<Acquire<'p>>,
        rejoin: bool,
    ) -> Result<Option<Creator<'p>>, PoolError<M::Error>> {
        let creators = self
            .shared
            .creators
            .as_ref()
            .expect("only with max_creating");
        // Dropped after the wait below: a permit handed to the one on
        // `returned` is given back first, so that it can be taken back.
        let mut wanting = Wanting(Some(&self.shared));
        let returned = &self.shared.returned;
        let mut returned = match rejoin {
            true => returned.acquire_first(),
            false => returned.acquire(),
        };
        let creator = creator_wait.get_or_insert_with(|| creators.acquire());
        let won = poll_fn(|cx| {
            if let Poll::Ready(back) = Pin::new(&mut returned).poll(cx) {
                let permit = back.map_err(|_| PoolError::Closed)?;
                permit.forget();
                wanting.0 = None;
                return Poll::Ready(Ok(false));
            }
            let permit = ready!(Pin::new(&mut *creator).poll(cx)).map_err(|_| PoolError::Closed)?;
            permit.forget();
            Poll::Ready(Ok(true))
        })
        .await;
        if won.as_ref().map_or(true, |won| *won) {
            // Completed (or closed): not to be polled again.
            *creator_wait = None;
        }
        Ok(won?.then(|| Creator(Some(creators))))
    }

    /// `future`, unless the pool is closed first: then `None`, and
    /// `future` is dropped (a creation then finishes alone, a health check
    /// discards its resource). The close is listened for only once
    /// `future` has been pending.
    async fn or_closed<F: Future>(&self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut closing = None;
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            let closing = closing.get_or_insert_with(|| self.shared.closing.acquire());
            match Pin::new(closing).poll(cx) {
                // The semaphore never has a permit: ready only closed.
                Poll::Ready(_) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Creates a resource for a slot holder (its creation already counted
    /// in `size`), with the permit of `max_creating` if there is one.
    async fn create(
        &self,
        slot: Slot<'_, M>,
        creator: Creator<'_>,
    ) -> Result<PoolGuard<M>, PoolError<M::Error>> {
        slot.disarm();
        let creation = create::spawn(&self.shared, creator.disarm());
        let outcome = match self.or_closed(creation).await {
            None => return Err(PoolError::Closed),
            // The runtime the creation ran on shut down under it, while
            // this `get` goes on: the slot (and the permit to create) are
            // still its own, and the creation is made again in this task,
            // where no runtime can drop it apart from the `get`.
            Some(Outcome::Cancelled { creator }) if !self.shared.is_closed() => {
                let in_place = InPlace {
                    shared: Some(&self.shared),
                    creator,
                };
                // Boxed: this rare path would otherwise hold the manager's
                // whole `create` future inline in every `get`'s future.
                let outcome = self.or_closed(Box::pin(create::run(&self.shared))).await;
                in_place.disarm();
                create::give_creator(&self.shared, creator);
                outcome.unwrap_or(Outcome::Cancelled { creator: false })
            }
            Some(Outcome::Cancelled { creator }) => {
                create::give_creator(&self.shared, creator);
                Outcome::Cancelled { creator: false }
            }
            Some(outcome) => outcome,
        };
        match outcome {
            Outcome::Created(entry) => match self.shared.created_for_getter(entry) {
                Ok(entry) => Ok(PoolGuard::new(entry, self.shared.clone())),
                // Closed while it was being created.
                Err(resource) => {
                    drop(resource);
                    Err(PoolError::Closed)
                }
            },
            failed => {
                self.shared.creation_failed();
                Err(match failed {
                    Outcome::Panicked(panic) => std::panic::resume_unwind(panic),
                    _ if self.shared.is_closed() => PoolError::Closed,
                    Outcome::Failed(e) => PoolError::Backend(e),
                    Outcome::TimedOut => PoolError::Timeout { last_error: None },
                    _ => PoolError::Closed,
                })
            }
        }
    }
}

/// A creation a `get` makes in its own task: dropped unfinished (or by
/// a panic of the manager), it frees the slot and the permit to create.
struct InPlace<'a, M: Manager> {
    shared: Option<&'a Shared<M>>,
    creator: bool,
}

impl<M: Manager> InPlace<'_, M> {
    fn disarm(mut self) {
        self.shared = None;
    }
}

impl<M: Manager> Drop for InPlace<'_, M> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared {
            create::give_creator(shared, self.creator);
            shared.creation_failed();
        }
    }
}

/// A `get` queued for a slot since `since`: dropped before it got one, it
/// counts the wait in the pool's books.
struct Queued<'a, M: Manager> {
    shared: &'a Shared<M>,
    since: Option<Instant>,
}

impl<M: Manager> Drop for Queued<'_, M> {
    fn drop(&mut self) {
        if let Some(since) = self.since {
            let waited = anyrt_core::now().saturating_duration_since(since);
            self.shared.count_wait(waited);
        }
    }
}

/// The bound of one `get`: `acquire_timeout`, counted from the first time
/// the call has to wait, and the ambient deadline, whichever is earlier.
/// Neither the clock nor the ambient deadline is read until a wait needs
/// the bound (the ambient deadline is the same for every poll of a call).
struct Limit {
    timeout: Option<Duration>,
    /// Once read: the instant the call must end by, if any.
    at: Option<Option<Instant>>,
}

impl Limit {
    fn new(timeout: Option<Duration>) -> Self {
        Limit { timeout, at: None }
    }

    fn deadline(&mut self) -> Option<Instant> {
        let timeout = self.timeout;
        *self.at.get_or_insert_with(|| {
            let ambient = anyrt_deadline::current().map(|deadline| deadline.instant());
            let own = timeout.map(|limit| anyrt_core::deadline_after(anyrt_core::now(), limit));
            match (own, ambient) {
                (Some(own), Some(ambient)) => Some(own.min(ambient)),
                (own, ambient) => own.or(ambient),
            }
        })
    }

    /// Runs `future` within the bound; `None` if the bound passed first.
    async fn bound<F: Future>(&mut self, mut future: Pin<&mut F>) -> Option<F::Output> {
        let mut sleep = pin!(None);
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            if sleep.is_none() {
                let Some(at) = self.deadline() else {
                    return Poll::Pending;
                };
                sleep.set(Some(anyrt_core::sleep_until(at)));
            }
            let sleep = sleep.as_mut().as_pin_mut().expect("set above");
            sleep.poll(cx).map(|()| None)
        })
        .await
    }
}

/// A slot taken from the semaphore; given back if dropped armed.
struct Slot<'a, M: Manager>(Option<&'a Shared<M>>);

impl<M: Manager> Slot<'_, M> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl<M: Manager> Drop for Slot<'_, M> {
    fn drop(&mut self) {
        if let Some(shared) = self.0 {
            shared.release_slot(shared.lock());
        }
    }
}

/// A slot holder counted as waiting for a resource to come back; it is
/// uncounted when dropped armed.
struct Wanting<'a, M: Manager>(Option<&'a Shared<M>>);

impl<M: Manager> Drop for Wanting<'_, M> {
    fn drop(&mut self) {
        if let Some(shared) = self.0 {
            shared.stop_wanting_idle();
        }
    }
}

/// A permit of `max_creating`, given back if dropped armed.
struct Creator<'a>(Option<&'a crate::Semaphore>);

impl Creator<'_> {
    /// Hands the permit on (to the creation task); whether there was one.
    fn disarm(mut self) -> bool {
        self.0.take().is_some()
    }
}

impl Drop for Creator<'_> {
    fn drop(&mut self) {
        if let Some(creators) = self.0 {
            creators.add_permits(1);
        }
    }
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool {
            shared: self.shared.clone(),
        }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}
