//! `merge`: many streams of one type into one, fairly.

mod group;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

pub use group::{MergeEvent, MergeGroup, NextEvent, StreamKey};

/// Merges any number of streams of one type (a `Vec`, an array, any
/// iterator) into one stream of their items.
///
/// Fair: the streams with items are served in rotation, starting from the
/// first, so each of `k` always-ready streams gets `1/k` of the output.
/// Each stream has its own waker and a poll touches only the streams that
/// woke. It ends when every stream has ended. For streams of different
/// types, box them or map them into an enum; to add streams later or learn
/// which one ended, use [`MergeGroup`].
///
/// Each stream is boxed once when merged; nothing is allocated per item.
///
/// # Panics
///
/// A panic in one stream's `poll_next` is resumed from the merged stream's,
/// after that stream is dropped: if the panic is caught, the merge goes on
/// with the other streams and ends when they do.
///
/// # Cancel safety
///
/// The merged stream holds all state; dropping a `next()` future loses no
/// item.
///
/// # Examples
///
/// ```
/// use anyrt::stream::merge;
/// use futures_lite::{stream, StreamExt};
///
/// # futures_lite::future::block_on(async {
/// let merged = merge([stream::iter(vec![1, 2]), stream::iter(vec![3, 4])]);
/// assert_eq!(merged.collect::<Vec<_>>().await, [1, 3, 2, 4]);
///
/// let many = merge((0..10).map(|i| stream::once(i)));
/// assert_eq!(many.count().await, 10);
/// # });
/// ```
pub fn merge<I>(streams: I) -> Merge<I::Item>
where
    I: IntoIterator,
    I::Item: Stream,
{
    let mut group = MergeGroup::new();
    for stream in streams {
        group.push(stream);
    }
    Merge { group }
}

/// The stream of [`merge`].
///
/// # Cancel safety
///
/// Dropping a `next()` future loses nothing.
///
/// # Examples
///
/// ```
/// use anyrt::stream::{futures::Merge, merge};
///
/// let merged: Merge<_> = merge(vec![futures_lite::stream::iter([1])]);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Merge<S> {
    group: MergeGroup<S>,
}

impl<S: Stream> Stream for Merge<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.get_mut().group).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.group.hint()
    }
}

impl<S: Stream> FusedStream for Merge<S> {
    fn is_terminated(&self) -> bool {
        self.group.is_terminated()
    }
}

impl<S> fmt::Debug for Merge<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merge").field("group", &self.group).finish()
    }
}
