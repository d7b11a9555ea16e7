//! `MergeGroup`: a dynamic set of streams merged fairly, each with its own
//! waker.

use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use crate::wake_set::WakeSet;

/// Names a stream in a [`MergeGroup`]: returned by
/// [`push`](MergeGroup::push), reported by [`MergeEvent`], taken by
/// [`remove`](MergeGroup::remove). Keys are never reused within a group.
///
/// # Examples
///
/// ```
/// use anyrt::stream::MergeGroup;
///
/// let mut group = MergeGroup::new();
/// let a = group.push(futures_lite::stream::iter([1]));
/// let b = group.push(futures_lite::stream::iter([2]));
/// assert_ne!(a, b);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    id: u64,
    index: usize,
}

/// What a [`MergeGroup`] reports from
/// [`poll_next_event`](MergeGroup::poll_next_event).
///
/// # Examples
///
/// ```
/// use anyrt::stream::{MergeEvent, MergeGroup};
///
/// # futures_lite::future::block_on(async {
/// let mut group = MergeGroup::new();
/// let key = group.push(futures_lite::stream::iter([7]));
/// assert_eq!(group.next_event().await, Some(MergeEvent::Item(key, 7)));
/// assert_eq!(group.next_event().await, Some(MergeEvent::Ended(key)));
/// assert_eq!(group.next_event().await, None);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeEvent<T> {
    /// The stream of this key yielded an item.
    Item(StreamKey, T),
    /// The stream of this key ended and has left the group.
    Ended(StreamKey),
}

struct Entry<S> {
    key: StreamKey,
    stream: Pin<Box<S>>,
}

/// A group of streams merged into one, to which streams can be added and
/// from which they can be removed at any time.
///
/// Fair: streams that have items are served in rotation (a stream that
/// yielded goes to the back of the line), so no stream starves another,
/// however eager. Each stream is polled with its own waker, and a poll of
/// the group polls only the streams that woke since the last one (or that
/// yielded last time): the work per wake-up is proportional to the streams
/// that woke, not to the size of the group.
///
/// As a [`Stream`] it yields the items and ends once no stream is left
/// (and again, after more are pushed, when those end). To learn which
/// stream ended, use [`poll_next_event`](MergeGroup::poll_next_event) or
/// [`next_event`](MergeGroup::next_event).
///
/// Each pushed stream is boxed once; no allocation per item.
///
/// # Cancel safety
///
/// The group holds all state; dropping a `next()` or
/// [`next_event`](MergeGroup::next_event) future loses no item.
///
/// # Examples
///
/// ```
/// use anyrt::stream::MergeGroup;
/// use futures_lite::StreamExt;
///
/// # futures_lite::future::block_on(async {
/// let mut group = MergeGroup::new();
/// group.push(futures_lite::stream::iter(vec![1, 2]));
/// group.push(futures_lite::stream::iter(vec![10, 20]));
/// let all: Vec<i32> = group.collect().await;
/// assert_eq!(all, [1, 10, 2, 20]);
/// # });
/// ```
pub struct MergeGroup<S> {
    entries: Vec<Option<Entry<S>>>,
    free: Vec<usize>,
    wake: WakeSet,
    live: usize,
    next_id: u64,
    terminated: bool,
}

impl<S> MergeGroup<S> {
    /// An empty group.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = anyrt::stream::MergeGroup::<futures_lite::stream::Empty<u8>>::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn new() -> Self {
        MergeGroup {
            entries: Vec::new(),
            free: Vec::new(),
            wake: WakeSet::new(),
            live: 0,
            next_id: 0,
            terminated: false,
        }
    }

    /// Adds a stream; it is polled at the group's next poll, and a task
    /// waiting on the group (which shares it behind a lock) is woken for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut group = anyrt::stream::MergeGroup::new();
    /// group.push(futures_lite::stream::iter([1, 2, 3]));
    /// assert_eq!(group.len(), 1);
    /// ```
    pub fn push(&mut self, stream: S) -> StreamKey {
        let index = self.free.pop().unwrap_or(self.entries.len());
        let key = StreamKey {
            id: self.next_id,
            index,
        };
        self.next_id += 1;
        let entry = Some(Entry {
            key,
            stream: Box::pin(stream),
        });
        match self.entries.get_mut(index) {
            Some(slot) => *slot = entry,
            None => self.entries.push(entry),
        }
        self.wake.grow_to(self.entries.len());
        self.wake.push(index);
        self.wake.wake_owner();
        self.live += 1;
        self.terminated = false;
        key
    }

    /// Takes the stream of `key` out of the group, if it is still there
    /// (it is gone once it ended or was removed).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut group = anyrt::stream::MergeGroup::new();
    /// let key = group.push(futures_lite::stream::iter([1]));
    /// assert!(group.remove(key).is_some());
    /// assert!(group.remove(key).is_none());
    /// ```
    pub fn remove(&mut self, key: StreamKey) -> Option<Pin<Box<S>>> {
        let slot = self.entries.get_mut(key.index)?;
        if slot.as_ref().is_none_or(|entry| entry.key != key) {
            return None;
        }
        let entry = slot.take()?;
        self.free.push(key.index);
        self.live -= 1;
        Some(entry.stream)
    }

    /// Whether the stream of `key` is still in the group.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut group = anyrt::stream::MergeGroup::new();
    /// let key = group.push(futures_lite::stream::iter([1]));
    /// assert!(group.contains(key));
    /// ```
    pub fn contains(&self, key: StreamKey) -> bool {
        self.entries
            .get(key.index)
            .and_then(Option::as_ref)
            .is_some_and(|entry| entry.key == key)
    }

    /// How many streams are in the group.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = anyrt::stream::MergeGroup::<futures_lite::stream::Empty<u8>>::new();
    /// assert_eq!(group.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no stream is in the group.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = anyrt::stream::MergeGroup::<futures_lite::stream::Empty<u8>>::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

impl<S: Stream> MergeGroup<S> {
    /// Polls for the next item or end of a stream, polling only the streams
    /// that woke: `Ready(None)` once the group is empty.
    ///
    /// # Panics
    ///
    /// A panic in a stream's `poll_next` is resumed from here, after that
    /// stream is dropped from the group (as it would be at its end, but
    /// with no [`MergeEvent::Ended`]): if the panic is caught, the group
    /// goes on with the others and still ends when they do.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use anyrt::stream::{MergeEvent, MergeGroup};
    ///
    /// let mut group = MergeGroup::new();
    /// let key = group.push(futures_lite::stream::iter([1]));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(group.poll_next_event(&mut cx), Poll::Ready(Some(MergeEvent::Item(key, 1))));
    /// ```
    pub fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<MergeEvent<S::Item>>> {
        self.wake.start_poll(cx);
        // Bounded by the streams queued now: a stream that wakes itself
        // while pending is polled again at the next poll, not in a loop.
        for _ in 0..self.wake.queued() {
            let Some(index) = self.wake.pop() else { break };
            let Some(entry) = self.entries.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            let key = entry.key;
            let mut slot_cx = Context::from_waker(self.wake.waker(index));
            let stream = entry.stream.as_mut();
            match panic::catch_unwind(AssertUnwindSafe(|| stream.poll_next(&mut slot_cx))) {
                Ok(Poll::Ready(Some(item))) => {
                    self.wake.push(index);
                    return Poll::Ready(Some(MergeEvent::Item(key, item)));
                }
                Ok(Poll::Ready(None)) => {
                    self.drop_entry(index);
                    return Poll::Ready(Some(MergeEvent::Ended(key)));
                }
                Ok(Poll::Pending) => {}
                // Never polled again (it would not wake), so it must go,
                // or the group would wait for its end forever.
                Err(payload) => {
                    self.drop_entry(index);
                    panic::resume_unwind(payload);
                }
            }
        }
        if self.live == 0 {
            self.terminated = true;
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    fn drop_entry(&mut self, index: usize) {
        self.entries[index] = None;
        self.free.push(index);
        self.live -= 1;
    }

    /// The next item or end of a stream; `None` once the group is empty.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: the event stays in its stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::stream::{MergeEvent, MergeGroup};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut group = MergeGroup::new();
    /// let key = group.push(futures_lite::stream::iter(Vec::<u8>::new()));
    /// assert_eq!(group.next_event().await, Some(MergeEvent::Ended(key)));
    /// # });
    /// ```
    pub fn next_event(&mut self) -> NextEvent<'_, S> {
        NextEvent { group: self }
    }

    pub(crate) fn hint(&self) -> (usize, Option<usize>) {
        let mut low = 0_usize;
        let mut high = Some(0_usize);
        for entry in self.entries.iter().flatten() {
            let (l, h) = entry.stream.size_hint();
            low = low.saturating_add(l);
            high = high.zip(h).and_then(|(a, b)| a.checked_add(b));
        }
        (low, high)
    }
}

impl<S> Default for MergeGroup<S> {
    fn default() -> Self {
        MergeGroup::new()
    }
}

impl<S: Stream> Stream for MergeGroup<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        loop {
            match std::task::ready!(this.poll_next_event(cx)) {
                Some(MergeEvent::Item(_, item)) => return Poll::Ready(Some(item)),
                Some(MergeEvent::Ended(_)) => {}
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.hint()
    }
}

impl<S: Stream> FusedStream for MergeGroup<S> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

impl<S> Unpin for MergeGroup<S> {}

impl<S> fmt::Debug for MergeGroup<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MergeGroup")
            .field("len", &self.live)
            .field("wake", &self.wake)
            .finish()
    }
}

/// The future of [`MergeGroup::next_event`].
///
/// # Cancel safety
///
/// Dropping it loses nothing.
///
/// # Examples
///
/// ```
/// use anyrt::stream::{futures::NextEvent, MergeGroup};
///
/// # futures_lite::future::block_on(async {
/// let mut group = MergeGroup::<futures_lite::stream::Empty<u8>>::new();
/// let next: NextEvent<'_, _> = group.next_event();
/// assert_eq!(next.await, None);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct NextEvent<'a, S> {
    group: &'a mut MergeGroup<S>,
}

impl<S: Stream> Future for NextEvent<'_, S> {
    type Output = Option<MergeEvent<S::Item>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().group.poll_next_event(cx)
    }
}

impl<S> fmt::Debug for NextEvent<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextEvent")
            .field("group", &self.group)
            .finish()
    }
}
