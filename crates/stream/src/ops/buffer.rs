//! `buffer`: a bounded queue filled by a task of its own, so the upstream
//! keeps running while the consumer is busy.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use anyrt_core::Task;
use futures_core::stream::{FusedStream, Stream};
use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;

use crate::timer::POLL_BUDGET;
use crate::wake_set::wake_quietly;

/// The most items a queue is made for up front.
const MAX_PREALLOCATED: usize = 1024;

struct Channel<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    consumer: AtomicWaker,
    producer: AtomicWaker,
}

struct State<T> {
    items: VecDeque<T>,
    /// The producer is gone: the upstream ended, panicked or was cancelled.
    done: bool,
    /// The consumer is gone.
    closed: bool,
}

impl<T> Channel<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pin_project! {
    /// The task's future: pulls the upstream while the queue has room.
    struct Producer<S: Stream> {
        #[pin]
        stream: S,
        channel: Arc<Channel<S::Item>>,
    }

    impl<S: Stream> PinnedDrop for Producer<S> {
        /// Ended, panicked or cancelled: the consumer sees the end.
        fn drop(this: Pin<&mut Self>) {
            this.channel.lock().done = true;
            wake_quietly(&this.channel.consumer);
        }
    }
}

/// Spawns the producer of a channel. Made where the upstream is known to
/// be `Send + 'static` ([`StreamOps::buffer`](crate::StreamOps::buffer)),
/// so that `Buffer`'s own impls need no such bound: in a future that
/// holds a `Buffer` of items that borrow for `'static` (`&'static str`),
/// the compiler could not prove one on the lifetimes it erases there,
/// and the future would not be `Send`.
type Start<T> = Box<dyn FnOnce(Arc<Channel<T>>) -> Task<()> + Send>;

impl<S: Stream> Future for Producer<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        // An upstream that is always ready must not hold the thread: after
        // a budget of items the task yields to the others on its runtime.
        for _ in 0..POLL_BUDGET {
            this.channel.producer.register(cx.waker());
            {
                let state = this.channel.lock();
                if state.closed {
                    return Poll::Ready(());
                }
                if state.items.len() >= this.channel.capacity {
                    return Poll::Pending;
                }
            }
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    this.channel.lock().items.push_back(item);
                    wake_quietly(&this.channel.consumer);
                }
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The upstream's items through a queue of at most `n` items, filled by a
/// task spawned through `anyrt-core`; made by
/// [`StreamOps::buffer`](crate::StreamOps::buffer).
///
/// The task is spawned at the first poll, on the ambient runtime, with the
/// caller's ambient context (timer, deadline). It pulls the upstream
/// whenever the queue has room, so the upstream (and any concurrent map in
/// it) makes progress while the consumer's loop body awaits something
/// else. Items come out in upstream order. The stream ends when the
/// upstream does; a panic in the upstream is resumed here once the items
/// before it are out, and the stream has ended after it. The upstream is boxed once and the queue allocated once (up to 1024 items ahead,
/// growing to `n` if needed); nothing per item.
///
/// # Cancel safety
///
/// Queued items live in the stream: dropping a `next()` future loses
/// nothing. Dropping the stream cancels the task (dropping the upstream)
/// and drops the items queued but not yet taken.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use anyrt::stream::{futures::Buffer, StreamOps};
/// use futures_lite::StreamExt;
///
/// # futures_lite::future::block_on(async {
/// let n = NonZeroUsize::new(16).unwrap();
/// let buffered: Buffer<_> = futures_lite::stream::iter(0..100).buffer(n);
/// assert_eq!(buffered.collect::<Vec<_>>().await, (0..100).collect::<Vec<_>>());
/// # });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Buffer<S: Stream> {
    /// Until the first poll. In a mutex only so that the stream is `Sync`:
    /// reached through `get_mut`, never locked.
    start: Option<Mutex<Start<S::Item>>>,
    /// The upstream's size hint before it started.
    hint: (usize, Option<usize>),
    channel: Arc<Channel<S::Item>>,
    task: Option<Task<()>>,
    terminated: bool,
}

impl<S: Stream> Buffer<S> {
    pub(crate) fn new(stream: S, capacity: NonZeroUsize) -> Self
    where
        S: Send + 'static,
        S::Item: Send + 'static,
    {
        let capacity = capacity.get();
        let hint = stream.size_hint();
        let start: Start<S::Item> =
            Box::new(move |channel| anyrt_core::spawn(Producer { stream, channel }));
        Buffer {
            start: Some(Mutex::new(start)),
            hint,
            channel: Arc::new(Channel {
                state: Mutex::new(State {
                    items: VecDeque::with_capacity(capacity.min(MAX_PREALLOCATED)),
                    done: false,
                    closed: false,
                }),
                capacity,
                consumer: AtomicWaker::new(),
                producer: AtomicWaker::new(),
            }),
            task: None,
            terminated: false,
        }
    }

    /// How many items are queued now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::StreamOps;
    ///
    /// let buffered = futures_lite::stream::iter([1]).buffer(NonZeroUsize::MIN);
    /// assert_eq!(buffered.len(), 0); // nothing runs before the first poll
    /// ```
    pub fn len(&self) -> usize {
        self.channel.lock().items.len()
    }

    /// Whether no item is queued now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use anyrt::stream::StreamOps;
    ///
    /// let buffered = futures_lite::stream::iter([1]).buffer(NonZeroUsize::MIN);
    /// assert!(buffered.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: Stream> Stream for Buffer<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        if this.terminated {
            return Poll::Ready(None);
        }
        if let Some(start) = this.start.take() {
            let start = start.into_inner().unwrap_or_else(|p| p.into_inner());
            this.task = Some(start(this.channel.clone()));
        }
        this.channel.consumer.register(cx.waker());
        let (item, done) = {
            let mut state = this.channel.lock();
            (state.items.pop_front(), state.done)
        };
        if let Some(item) = item {
            wake_quietly(&this.channel.producer);
            return Poll::Ready(Some(item));
        }
        if !done {
            return Poll::Pending;
        }
        // The producer is gone: resume its panic, if it panicked. The
        // stream ends first, so a poll after a caught panic returns `None`
        // instead of polling the finished task again.
        if let Some(task) = &mut this.task {
            let poll = panic::catch_unwind(AssertUnwindSafe(|| Pin::new(task).poll(cx)));
            match poll {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(())) => {}
                Err(payload) => {
                    this.task = None;
                    this.terminated = true;
                    panic::resume_unwind(payload);
                }
            }
        }
        this.task = None;
        this.terminated = true;
        Poll::Ready(None)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let state = self.channel.lock();
        let queued = state.items.len();
        match &self.start {
            Some(_) => self.hint,
            None if state.done => (queued, Some(queued)),
            None => (queued, None),
        }
    }
}

impl<S: Stream> FusedStream for Buffer<S> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

impl<S: Stream> Drop for Buffer<S> {
    fn drop(&mut self) {
        self.channel.lock().closed = true;
        wake_quietly(&self.channel.producer);
    }
}

impl<S: Stream> fmt::Debug for Buffer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.channel.lock();
        f.debug_struct("Buffer")
            .field("capacity", &self.channel.capacity)
            .field("queued", &state.items.len())
            .field("started", &self.start.is_none())
            .field("done", &state.done)
            .finish()
    }
}
