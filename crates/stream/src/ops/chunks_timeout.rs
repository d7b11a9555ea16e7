//! `chunks_timeout` and `try_chunks_timeout`: batches by size and by time.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::batch::Batch;
use crate::timer::POLL_BUDGET;

/// Rounds of [`POLL_BUDGET`] ready items a poll takes at most (the
/// chunk's time looked at after each) before it yields: a chunk of up to
/// 1024 items is filled in one poll.
const ROUNDS_PER_POLL: usize = 32;

pin_project! {
    /// Chunks of at most `max` items, each emitted when full or `duration`
    /// after its first item arrived; made by
    /// [`StreamOps::chunks_timeout`](crate::StreamOps::chunks_timeout).
    ///
    /// Never an empty chunk; the partial chunk is emitted when the
    /// upstream ends. Items that are ready together go into one chunk even
    /// when the duration is zero, up to 32 at a time: the chunk's time is
    /// looked at after every 32 ready items in a row as well as whenever
    /// the upstream is pending, so an upstream that is always ready keeps a
    /// chunk past its time by at most 32 items. A poll takes at most 1024
    /// ready items; if the chunk is neither full nor due by then, the
    /// stream yields to the executor (and wakes itself), so an upstream
    /// that is always ready cannot hold the thread. A `duration` that
    /// saturates as `Duration::MAX` does (at
    /// [`far_future`](anyrt_core::far_future), about 30 years ahead) never
    /// comes due: a chunk waits to be full or for the upstream's end, and
    /// no sleep is registered. A chunk of up to 4096 items is allocated
    /// once, when its first item arrives; nothing is allocated per item.
    /// The timer is one sleep, made once and reset for each chunk.
    ///
    /// # Cancel safety
    ///
    /// Buffered items live in the stream, not in the `next()` future:
    /// dropping that future loses nothing. Dropping the stream drops the
    /// partial chunk; take it first with
    /// [`into_remainder`](ChunksTimeout::into_remainder).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    /// use anyrt::stream::{futures::ChunksTimeout, StreamOps};
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let max = NonZeroUsize::new(2).unwrap();
    /// let mut chunks: ChunksTimeout<_> =
    ///     futures_lite::stream::iter(1..=5).chunks_timeout(max, Duration::from_secs(1));
    /// assert_eq!(chunks.next().await, Some(vec![1, 2]));
    /// assert_eq!(chunks.next().await, Some(vec![3, 4]));
    /// assert_eq!(chunks.next().await, Some(vec![5]));
    /// assert_eq!(chunks.next().await, None);
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct ChunksTimeout<S: Stream> {
        #[pin]
        stream: S,
        batch: Batch<S::Item>,
        done: bool,
    }
}

impl<S: Stream> ChunksTimeout<S> {
    pub(crate) fn new(stream: S, batch: Batch<S::Item>) -> Self {
        ChunksTimeout {
            stream,
            batch,
            done: false,
        }
    }

    /// Takes the items buffered for the chunk in progress (possibly none);
    /// the stream goes on with an empty chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::pin::pin;
    /// use std::task::{Context, Waker};
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::{Stream, StreamExt};
    ///
    /// let source = futures_lite::stream::iter([1, 2]).chain(futures_lite::stream::pending());
    /// let max = NonZeroUsize::new(10).unwrap();
    /// let mut chunks = pin!(source.chunks_timeout(max, Duration::from_secs(60)));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(chunks.as_mut().poll_next(&mut cx).is_pending());
    /// assert_eq!(chunks.as_mut().into_remainder(), [1, 2]);
    /// ```
    pub fn into_remainder(self: Pin<&mut Self>) -> Vec<S::Item> {
        self.project().batch.finish()
    }

    /// The upstream.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    ///
    /// let chunks = futures_lite::stream::iter([1]).chunks_timeout(NonZeroUsize::MIN, Duration::ZERO);
    /// let _upstream = chunks.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: Stream> Stream for ChunksTimeout<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        for _ in 0..ROUNDS_PER_POLL {
            for _ in 0..POLL_BUDGET {
                match this.stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(item)) => {
                        if let Some(chunk) = this.batch.push(item) {
                            return Poll::Ready(Some(chunk));
                        }
                    }
                    Poll::Ready(None) => {
                        *this.done = true;
                        let rest = this.batch.finish();
                        return Poll::Ready((!rest.is_empty()).then_some(rest));
                    }
                    Poll::Pending => return this.batch.poll_expired(cx).map(Some),
                }
            }
            // An upstream that is always ready never gets to `Pending`,
            // where the timer is otherwise looked at.
            if let Some(chunk) = this.batch.take_if_due() {
                return Poll::Ready(Some(chunk));
            }
        }
        // Nor may it hold the thread: the stream yields, and goes on.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        self.batch.hint(self.stream.size_hint())
    }
}

impl<S: Stream> FusedStream for ChunksTimeout<S> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<S: Stream> fmt::Debug for ChunksTimeout<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunksTimeout")
            .field("batch", &self.batch)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// [`ChunksTimeout`] for a stream of `Result`s: chunks of the `Ok`
    /// values; made by
    /// [`StreamOps::try_chunks_timeout`](crate::StreamOps::try_chunks_timeout).
    ///
    /// An `Err` first flushes the partial chunk (if any) as an `Ok`, then
    /// is yielded itself; the stream goes on after it.
    ///
    /// # Cancel safety
    ///
    /// As for [`ChunksTimeout`]: buffered items and a held error live in
    /// the stream; dropping a `next()` future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    /// use futures_lite::StreamExt;
    ///
    /// # futures_lite::future::block_on(async {
    /// let source = futures_lite::stream::iter([Ok(1), Ok(2), Err("bad"), Ok(3)]);
    /// let max = NonZeroUsize::new(10).unwrap();
    /// let out: Vec<_> = source.try_chunks_timeout(max, Duration::from_secs(1)).collect().await;
    /// assert_eq!(out, [Ok(vec![1, 2]), Err("bad"), Ok(vec![3])]);
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct TryChunksTimeout<S, T, E> {
        #[pin]
        stream: S,
        batch: Batch<T>,
        error: Option<E>,
        done: bool,
    }
}

impl<S, T, E> TryChunksTimeout<S, T, E> {
    pub(crate) fn new(stream: S, batch: Batch<T>) -> Self {
        TryChunksTimeout {
            stream,
            batch,
            error: None,
            done: false,
        }
    }

    /// Takes the `Ok` values buffered for the chunk in progress.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::pin::pin;
    /// use std::time::Duration;
    /// use anyrt::stream::StreamOps;
    ///
    /// let source = futures_lite::stream::iter([Ok::<u8, ()>(1)]);
    /// let mut chunks = pin!(source.try_chunks_timeout(NonZeroUsize::MIN, Duration::ZERO));
    /// assert!(chunks.as_mut().into_remainder().is_empty());
    /// ```
    pub fn into_remainder(self: Pin<&mut Self>) -> Vec<T> {
        self.project().batch.finish()
    }
}

impl<S, T, E> Stream for TryChunksTimeout<S, T, E>
where
    S: Stream<Item = Result<T, E>>,
{
    type Item = Result<Vec<T>, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if let Some(error) = this.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        if *this.done {
            return Poll::Ready(None);
        }
        for _ in 0..ROUNDS_PER_POLL {
            for _ in 0..POLL_BUDGET {
                match this.stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(item))) => {
                        if let Some(chunk) = this.batch.push(item) {
                            return Poll::Ready(Some(Ok(chunk)));
                        }
                    }
                    Poll::Ready(Some(Err(error))) => {
                        if this.batch.len() == 0 {
                            return Poll::Ready(Some(Err(error)));
                        }
                        *this.error = Some(error);
                        return Poll::Ready(Some(Ok(this.batch.finish())));
                    }
                    Poll::Ready(None) => {
                        *this.done = true;
                        let rest = this.batch.finish();
                        return Poll::Ready((!rest.is_empty()).then_some(Ok(rest)));
                    }
                    Poll::Pending => return this.batch.poll_expired(cx).map(|c| Some(Ok(c))),
                }
            }
            // As in `ChunksTimeout`: an always-ready upstream.
            if let Some(chunk) = this.batch.take_if_due() {
                return Poll::Ready(Some(Ok(chunk)));
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = usize::from(self.error.is_some());
        if self.done {
            return (held, Some(held));
        }
        let (low, high) = self.batch.hint(self.stream.size_hint());
        (
            low.saturating_add(held),
            high.and_then(|h| h.checked_add(held)),
        )
    }
}

impl<S, T, E> FusedStream for TryChunksTimeout<S, T, E>
where
    S: Stream<Item = Result<T, E>>,
{
    fn is_terminated(&self) -> bool {
        self.done && self.error.is_none()
    }
}

impl<S, T, E> fmt::Debug for TryChunksTimeout<S, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryChunksTimeout")
            .field("batch", &self.batch)
            .field("error_held", &self.error.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
