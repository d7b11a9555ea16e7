//! `BufferPool`: reusable byte buffers in size classes, under a bound on
//! total bytes.

mod guard;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

pub use guard::PooledBuffer;

use crate::futures::Acquire;
use crate::semaphore::MAX_PERMITS;
use crate::{BuildError, Semaphore};

/// A pool of byte buffers in a few size classes, with a bound on the bytes
/// they hold in all.
///
/// [`get(size)`](Self::get) hands out an empty [`PooledBuffer`] whose
/// capacity is the smallest class that fits `size`, reusing a buffer of
/// that class when one is idle. Buffers in use count their class size
/// against `max_bytes`; when it is used up, `get` waits (fairly, on a
/// [`Semaphore`] of bytes) and [`try_get`](Self::try_get) fails. Idle
/// buffers are kept as long as they fit beside the buffers in use, and
/// dropped to make room when a new buffer must be allocated, so idle and
/// in-use bytes together never exceed `max_bytes`.
///
/// A buffer comes back empty: its length is reset, so no byte of its last
/// user can be read through the API. One whose capacity is no longer its
/// class's (it grew past it, was shrunk, or its `Vec` was swapped for one
/// of another capacity) is dropped, not kept.
///
/// # Examples
///
/// ```
/// use anyrt::pool::BufferPool;
///
/// # futures_lite::future::block_on(async {
/// let pool = BufferPool::builder().classes([1024, 65536]).max_bytes(1 << 20).build()?;
/// let mut buffer = pool.get(1000).await?;
/// assert!(buffer.is_empty() && buffer.capacity() == 1024);
/// buffer.extend_from_slice(b"secret");
/// drop(buffer);
/// let again = pool.get(10).await?;
/// assert!(again.is_empty(), "the last user's bytes are gone");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct BufferPool {
    inner: Arc<Inner>,
}

struct Inner {
    classes: Vec<usize>,
    max_bytes: usize,
    /// One permit per byte of buffers in use.
    budget: Semaphore,
    state: Mutex<State>,
}

struct State {
    idle: Vec<Vec<Vec<u8>>>,
    idle_bytes: usize,
    in_use_bytes: usize,
    allocated: u64,
    reused: u64,
    dropped_grown: u64,
    evicted: u64,
}

/// A snapshot of a [`BufferPool`].
///
/// # Examples
///
/// ```
/// let pool = anyrt::pool::BufferPool::builder().build().unwrap();
/// let buffer = pool.try_get(100).unwrap();
/// assert_eq!(pool.status().in_use_bytes, buffer.capacity());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferStatus {
    /// The byte budget.
    pub max_bytes: usize,
    /// Class size of the buffers in use, summed.
    pub in_use_bytes: usize,
    /// Capacity of the idle buffers, summed.
    pub idle_bytes: usize,
    /// Idle buffers per class, in class order.
    pub idle: Vec<usize>,
    /// `get` calls waiting for budget.
    pub waiting: usize,
    /// Buffers allocated.
    pub allocated: u64,
    /// Checkouts served by an idle buffer.
    pub reused: u64,
    /// Buffers dropped on return because their capacity was no longer
    /// their class's (grown past it, shrunk, or taken out with
    /// `mem::take`).
    pub dropped_grown: u64,
    /// Idle buffers dropped to make room for a new one.
    pub evicted: u64,
}

/// Why a buffer could not be had.
///
/// # Examples
///
/// ```
/// use anyrt::pool::{BufferError, BufferPool};
///
/// let pool = BufferPool::builder().classes([64]).max_bytes(64).build().unwrap();
/// assert_eq!(pool.try_get(65).unwrap_err(), BufferError::TooLarge { size: 65, largest: 64 });
/// let _held = pool.try_get(64).unwrap();
/// assert_eq!(pool.try_get(1).unwrap_err(), BufferError::Exhausted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BufferError {
    /// `size` is above the largest class.
    TooLarge {
        /// The size asked for.
        size: usize,
        /// The largest class.
        largest: usize,
    },
    /// (`try_get` only) the byte budget is used up right now, or the bytes
    /// free are owed to a `get` queued before.
    Exhausted,
}

impl fmt::Display for BufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferError::TooLarge { size, largest } => {
                write!(
                    f,
                    "buffer of {size} bytes is above the largest class ({largest})"
                )
            }
            BufferError::Exhausted => f.write_str("byte budget used up"),
        }
    }
}

impl std::error::Error for BufferError {}

impl BufferPool {
    /// The options of a buffer pool: classes 4 KiB, 64 KiB and 1 MiB and a
    /// budget of 64 MiB unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::BufferPool::builder().max_bytes(1 << 24).build().unwrap();
    /// assert_eq!(pool.status().max_bytes, 1 << 24);
    /// ```
    pub fn builder() -> BufferPoolBuilder {
        BufferPoolBuilder {
            classes: vec![4 << 10, 64 << 10, 1 << 20],
            max_bytes: 64 << 20,
        }
    }

    fn class_of(&self, size: usize) -> Result<usize, BufferError> {
        let classes = &self.inner.classes;
        classes
            .iter()
            .position(|&class| class >= size)
            .ok_or(BufferError::TooLarge {
                size,
                largest: classes[classes.len() - 1],
            })
    }

    /// An empty buffer with room for `size` bytes (its class's size),
    /// waiting while the byte budget is used up.
    ///
    /// # Errors
    ///
    /// [`BufferError::TooLarge`] at once for a size above the largest
    /// class (it could never be served).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses its place in the queue and nothing else.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let pool = anyrt::pool::BufferPool::builder().classes([512]).build().unwrap();
    /// let buffer = pool.get(100).await.unwrap();
    /// assert_eq!(buffer.capacity(), 512);
    /// # });
    /// ```
    pub fn get(&self, size: usize) -> GetBuffer<'_> {
        let class = self.class_of(size);
        let bytes = class.map_or(0, |c| self.inner.classes[c]);
        GetBuffer {
            pool: self,
            class,
            acquire: self.inner.budget.acquire_many(bytes),
        }
    }

    /// An empty buffer with room for `size` bytes, if the budget allows it
    /// right now.
    ///
    /// # Errors
    ///
    /// [`BufferError::TooLarge`] or [`BufferError::Exhausted`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::BufferPool::builder().build().unwrap();
    /// assert!(pool.try_get(10).unwrap().capacity() >= 10);
    /// ```
    pub fn try_get(&self, size: usize) -> Result<PooledBuffer, BufferError> {
        let class = self.class_of(size)?;
        let bytes = self.inner.classes[class];
        let permit = self.inner.budget.try_acquire_many(bytes);
        permit.map_err(|_| BufferError::Exhausted)?.forget();
        Ok(self.take(class))
    }

    /// For a caller holding the class's bytes of budget: an idle buffer of
    /// the class, or a new one (evicting idle buffers to make room).
    fn take(&self, class: usize) -> PooledBuffer {
        let bytes = self.inner.classes[class];
        let mut state = self.inner.lock();
        state.in_use_bytes += bytes;
        let buffer = match state.idle[class].pop() {
            Some(buffer) => {
                state.idle_bytes -= bytes;
                state.reused += 1;
                buffer
            }
            None => {
                let evicted = state.evict(self.inner.max_bytes, &self.inner.classes);
                state.allocated += 1;
                drop(state);
                drop(evicted);
                Vec::with_capacity(bytes)
            }
        };
        PooledBuffer::new(buffer, class, self.inner.clone())
    }

    /// A snapshot of sizes and counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::BufferPool::builder().classes([8, 16]).build().unwrap();
    /// drop(pool.try_get(9).unwrap());
    /// assert_eq!(pool.status().idle, [0, 1]);
    /// ```
    pub fn status(&self) -> BufferStatus {
        let waiting = self.inner.budget.waiters();
        let state = self.inner.lock();
        BufferStatus {
            max_bytes: self.inner.max_bytes,
            in_use_bytes: state.in_use_bytes,
            idle_bytes: state.idle_bytes,
            idle: state.idle.iter().map(Vec::len).collect(),
            waiting,
            allocated: state.allocated,
            reused: state.reused,
            dropped_grown: state.dropped_grown,
            evicted: state.evicted,
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A buffer of `class` comes back: kept idle, emptied, unless it grew.
    fn give_back(&self, mut buffer: Vec<u8>, class: usize) {
        let bytes = self.classes[class];
        let mut state = self.lock();
        state.in_use_bytes -= bytes;
        let dropped = if buffer.capacity() == bytes {
            buffer.clear();
            state.idle[class].push(buffer);
            state.idle_bytes += bytes;
            None
        } else {
            state.dropped_grown += 1;
            Some(buffer)
        };
        drop(state);
        self.budget.release(bytes);
        drop(dropped);
    }
}

impl State {
    /// Takes idle buffers out, largest classes first, until in-use and idle
    /// bytes fit in `max_bytes`; returns them to be dropped outside the
    /// lock.
    fn evict(&mut self, max_bytes: usize, classes: &[usize]) -> Vec<Vec<u8>> {
        let mut evicted = Vec::new();
        for class in (0..classes.len()).rev() {
            while self.in_use_bytes + self.idle_bytes > max_bytes {
                let Some(buffer) = self.idle[class].pop() else {
                    break;
                };
                self.idle_bytes -= classes[class];
                self.evicted += 1;
                evicted.push(buffer);
            }
        }
        evicted
    }
}

/// The options of a [`BufferPool`].
///
/// # Examples
///
/// ```
/// let pool = anyrt::pool::BufferPool::builder()
///     .classes([4096, 16384])
///     .max_bytes(1 << 20)
///     .build()
///     .unwrap();
/// assert_eq!(pool.get_class_sizes(), [4096, 16384]);
/// ```
#[derive(Clone, Debug)]
pub struct BufferPoolBuilder {
    classes: Vec<usize>,
    max_bytes: usize,
}

impl BufferPoolBuilder {
    /// The buffer sizes, ascending, above zero and at most `isize::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = anyrt::pool::BufferPool::builder().classes([64, 32]);
    /// assert!(builder.build().is_err(), "not ascending");
    /// ```
    pub fn classes(mut self, classes: impl IntoIterator<Item = usize>) -> Self {
        self.classes = classes.into_iter().collect();
        self
    }

    /// The bound on the bytes of all buffers, in use and idle; at least the
    /// largest class. A bound above `usize::MAX / 4` counts as that.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = anyrt::pool::BufferPool::builder().classes([1024]).max_bytes(1000);
    /// assert!(builder.build().is_err(), "no buffer of the class would fit");
    /// ```
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The pool.
    ///
    /// # Errors
    ///
    /// [`BuildError::BadClasses`] or [`BuildError::BudgetBelowClass`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(anyrt::pool::BufferPool::builder().classes([]).build().is_err());
    /// ```
    pub fn build(self) -> Result<BufferPool, BuildError> {
        let ascending = self.classes.windows(2).all(|w| w[0] < w[1]);
        let largest = self.classes.last().copied().unwrap_or(0);
        let too_large = largest > isize::MAX as usize;
        if self.classes.first().is_none_or(|&c| c == 0) || !ascending || too_large {
            return Err(BuildError::BadClasses);
        }
        // The budget is a semaphore of bytes, which counts up to
        // `MAX_PERMITS`: a class above that could never be served.
        let max_bytes = self.max_bytes.min(MAX_PERMITS);
        if max_bytes < self.classes[self.classes.len() - 1] {
            return Err(BuildError::BudgetBelowClass);
        }
        let state = State {
            idle: self.classes.iter().map(|_| Vec::new()).collect(),
            idle_bytes: 0,
            in_use_bytes: 0,
            allocated: 0,
            reused: 0,
            dropped_grown: 0,
            evicted: 0,
        };
        Ok(BufferPool {
            inner: Arc::new(Inner {
                budget: Semaphore::new(max_bytes),
                max_bytes,
                classes: self.classes,
                state: Mutex::new(state),
            }),
        })
    }
}

impl BufferPool {
    /// The size classes, ascending.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = anyrt::pool::BufferPool::builder().classes([10, 20]).build().unwrap();
    /// assert_eq!(pool.get_class_sizes(), [10, 20]);
    /// ```
    pub fn get_class_sizes(&self) -> &[usize] {
        &self.inner.classes
    }
}

/// Waits for a buffer; made by [`BufferPool::get`].
///
/// # Cancel safety
///
/// Dropping it loses its place in the queue; budget handed to it goes on
/// to the next waiter.
///
/// # Examples
///
/// ```
/// use anyrt::pool::futures::GetBuffer;
///
/// # futures_lite::future::block_on(async {
/// let pool = anyrt::pool::BufferPool::builder().build().unwrap();
/// let get: GetBuffer<'_> = pool.get(1);
/// assert!(get.await.is_ok());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct GetBuffer<'a> {
    pool: &'a BufferPool,
    class: Result<usize, BufferError>,
    acquire: Acquire<'a>,
}

impl Future for GetBuffer<'_> {
    type Output = Result<PooledBuffer, BufferError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let class = self.class?;
        match Pin::new(&mut self.acquire).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(permit) => {
                // The byte semaphore is never closed.
                permit.expect("the budget is never closed").forget();
                Poll::Ready(Ok(self.pool.take(class)))
            }
        }
    }
}

impl fmt::Debug for GetBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetBuffer")
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("classes", &self.inner.classes)
            .field("status", &self.status())
            .finish()
    }
}
