//! `PoolGuard`: a checked-out resource; gives it back when dropped.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::shared::{Entry, Shared};
use super::status::Reason;
use super::{Manager, Metrics};

/// A resource checked out of a [`Pool`](crate::Pool). Derefs to the
/// resource; owns a reference to the pool, so it can move into `'static`
/// tasks.
///
/// Dropping it gives the resource back synchronously, in O(1), spawning
/// nothing and allocating nothing: it joins the idle set (unless it
/// expired, the pool shrank or was closed) and its slot goes to the next
/// waiter. Dropped while its thread panics, or after
/// [`mark_broken`](Self::mark_broken), the resource is discarded instead.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(vec![1, 2]) }).build().unwrap();
/// let mut guard = pool.get().await.unwrap();
/// guard.push(3);
/// assert_eq!(guard.len(), 3);
/// drop(guard);
/// assert_eq!(*pool.get().await.unwrap(), [1, 2, 3], "the same vector came back");
/// # });
/// ```
pub struct PoolGuard<M: Manager> {
    entry: Option<Entry<M::Type>>,
    shared: Arc<Shared<M>>,
    fate: Fate,
}

/// What a guard's drop does with its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Gives it back.
    Return,
    /// Discards it: marked broken.
    Broken,
    /// Discards it: dropped during the checkout's health check, which
    /// leaves its state unknown.
    Checking,
}

impl<M: Manager> PoolGuard<M> {
    pub(crate) fn new(entry: Entry<M::Type>, shared: Arc<Shared<M>>) -> Self {
        PoolGuard {
            entry: Some(entry),
            shared,
            fate: Fate::Return,
        }
    }

    /// Runs the health check of a checkout on the guard's resource; if the
    /// check is dropped unfinished (or panics), so is the resource. A
    /// failed check is counted as a discard and hands the resource back
    /// with the error; the slot stays the caller's, who holds it again
    /// before dropping the resource (so a destructor that panics frees it).
    pub(crate) async fn check(mut self) -> Result<Self, (M::Error, M::Type)> {
        self.fate = Fate::Checking;
        let shared = &*self.shared;
        let Entry {
            resource, metrics, ..
        } = self
            .entry
            .as_mut()
            .expect("a guard holds its resource until dropped");
        let checked = shared.manager.recycle(resource, metrics).await;
        self.fate = Fate::Return;
        let entry = self
            .entry
            .as_mut()
            .expect("a guard holds its resource until dropped");
        match checked {
            Ok(()) => {
                entry.metrics.recycled += 1;
                Ok(self)
            }
            Err(e) => {
                let entry = self.entry.take().expect("checked above");
                self.shared.check_failed();
                Err((e, entry.resource))
            }
        }
    }

    fn entry(&self) -> &Entry<M::Type> {
        self.entry
            .as_ref()
            .expect("a guard holds its resource until dropped")
    }

    /// What the pool knows about the resource.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
    /// let guard = pool.get().await.unwrap();
    /// assert_eq!(guard.metrics().recycled, 0);
    /// # });
    /// ```
    pub fn metrics(&self) -> &Metrics {
        &self.entry().metrics
    }

    /// Discards the resource when the guard is dropped, instead of giving
    /// it back (a connection in an unknown state, a failed transaction).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(()) }).build().unwrap();
    /// let mut guard = pool.get().await.unwrap();
    /// guard.mark_broken();
    /// drop(guard);
    /// assert_eq!((pool.status().size, pool.status().discarded.broken), (0, 1));
    /// # });
    /// ```
    pub fn mark_broken(&mut self) {
        self.fate = Fate::Broken;
    }

    /// Takes the resource out of the pool for good: its slot is freed at
    /// once and the pool may create another.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::Pool::from_fn(|| async { Ok::<_, ()>(5) }).build().unwrap();
    /// let five = pool.get().await.unwrap().detach();
    /// assert_eq!((five, pool.status().size), (5, 0));
    /// # });
    /// ```
    pub fn detach(mut self) -> M::Type {
        let entry = self
            .entry
            .take()
            .expect("a guard holds its resource until dropped");
        self.shared.forget_one(Reason::Detached);
        entry.resource
    }
}

impl<M: Manager> PoolGuard<M> {
    /// Gives a resource in use back, unless the manager finds it broken.
    fn give_back(&self, mut entry: Entry<M::Type>) {
        if self.shared.is_closed() {
            // Dropped as closed, whatever the manager would say.
            drop(self.shared.give_back(entry));
            return;
        }
        // Should the check panic, the slot goes back before the resource
        // is dropped and the panic goes on.
        let unwinding = ForgetOnUnwind(&self.shared);
        let broken = self
            .shared
            .manager
            .is_broken(&mut entry.resource, &entry.metrics);
        std::mem::forget(unwinding);
        if broken {
            self.shared.forget_one(Reason::Broken);
            drop(entry);
        } else {
            drop(self.shared.give_back(entry));
        }
    }
}

/// Frees the slot of a resource whose return check panicked.
struct ForgetOnUnwind<'a, M: Manager>(&'a Shared<M>);

impl<M: Manager> Drop for ForgetOnUnwind<'_, M> {
    fn drop(&mut self) {
        self.0.forget_one(Reason::Panicked);
    }
}

impl<M: Manager> Deref for PoolGuard<M> {
    type Target = M::Type;

    fn deref(&self) -> &M::Type {
        &self.entry().resource
    }
}

impl<M: Manager> DerefMut for PoolGuard<M> {
    fn deref_mut(&mut self) -> &mut M::Type {
        &mut self
            .entry
            .as_mut()
            .expect("a guard holds its resource until dropped")
            .resource
    }
}

impl<M: Manager> Drop for PoolGuard<M> {
    fn drop(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let panicking = std::thread::panicking();
        match self.fate {
            Fate::Return if !panicking => self.give_back(entry),
            Fate::Checking => {
                let reason = if panicking {
                    Reason::Panicked
                } else if self.shared.is_closed() {
                    // The close cut the check (or came during it).
                    Reason::Closed
                } else {
                    Reason::Cancelled
                };
                self.shared.check_dropped(reason);
                drop(entry);
            }
            fate => {
                let reason = if fate == Fate::Broken && !panicking {
                    Reason::Broken
                } else {
                    Reason::Panicked
                };
                self.shared.forget_one(reason);
                drop(entry);
            }
        }
    }
}

impl<M: Manager> fmt::Debug for PoolGuard<M>
where
    M::Type: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolGuard")
            .field("resource", &self.entry.as_ref().map(|e| &e.resource))
            .field("broken", &(self.fate == Fate::Broken))
            .finish_non_exhaustive()
    }
}
