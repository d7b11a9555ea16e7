//! Promises of the stream operators' docs that once broke: the poll budget
//! of the chunk operators with an upstream that is always ready, and
//! durations that saturate as `Duration::MAX` does in `chunks_timeout` and
//! `pace`. Each test failed before its fix.

use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_stream::StreamOps;
use anyrt_tests::wakers::counting;
use futures::{Stream, StreamExt};

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// Items `0..count`, always ready, then the end; `pulled` counts the polls
/// that took an item.
fn always_ready(pulled: Arc<AtomicUsize>, count: usize) -> impl Stream<Item = usize> + Unpin {
    futures::stream::poll_fn(move |_| {
        let next = pulled.load(SeqCst);
        if next == count {
            return Poll::Ready(None);
        }
        pulled.store(next + 1, SeqCst);
        Poll::Ready(Some(next))
    })
}

/// `ChunksTimeout`: "the chunk's time is looked at after every 32 ready
/// items in a row as well as whenever the upstream is pending, so an
/// upstream that is always ready keeps a chunk past its time by at most 32
/// items (and a poll ends by then)", and the crate's rule that an upstream
/// that is always ready "cannot hold the thread".
///
/// `ChunksTimeout::poll_next` and `TryChunksTimeout::poll_next` looked at
/// the chunk's time after 32 ready items, but when it was not up they went
/// on pulling in the same poll. With a large `max` one poll took every item
/// the upstream had (here 100,000; with an endless one it never returned,
/// and on a virtual clock the time it waited for could not come). Now a
/// poll takes at most 1,024 ready items (32 rounds of 32, the time looked
/// at after each), then wakes the task and yields.
#[anyrt_test::test(virtual_time)]
async fn chunks_with_a_large_max_yield_after_a_budget_of_ready_items(clock: VirtualClock) {
    let (waker, wakes) = counting();
    let mut cx = Context::from_waker(&waker);

    let pulled = Arc::new(AtomicUsize::new(0));
    let source = always_ready(pulled.clone(), 100_000);
    let mut chunks = pin!(source.chunks_timeout(NonZeroUsize::MAX, Duration::from_secs(1)));
    let first = chunks
        .as_mut()
        .poll_next(&mut cx)
        .map(|c| c.map(|c| c.len()));
    assert_eq!(first, Poll::Pending, "one poll took the whole upstream");
    assert_eq!(
        pulled.load(SeqCst),
        1024,
        "a budget of 1,024 items per poll"
    );
    assert_eq!(wakes.0.load(SeqCst), 1, "it woke itself to go on");
    clock.advance(Duration::from_secs(1));
    let due = chunks
        .as_mut()
        .poll_next(&mut cx)
        .map(|c| c.map(|c| c.len()));
    assert_eq!(
        due,
        Poll::Ready(Some(1024 + 32)),
        "the chunk, once its time is up, looked at after 32 more"
    );

    let pulled = Arc::new(AtomicUsize::new(0));
    let source = always_ready(pulled.clone(), 100_000).map(Ok::<_, ()>);
    let mut chunks = pin!(source.try_chunks_timeout(NonZeroUsize::MAX, Duration::from_secs(1)));
    let first = chunks
        .as_mut()
        .poll_next(&mut cx)
        .map(|c| c.map(|c| c.map(|c| c.len())));
    assert_eq!(first, Poll::Pending, "one poll took the whole upstream");
    assert_eq!(
        pulled.load(SeqCst),
        1024,
        "a budget of 1,024 items per poll"
    );
    assert_eq!(wakes.0.load(SeqCst), 2, "it woke itself to go on");
}

/// `ChunksTimeout`: each chunk is "emitted when full or `duration` after
/// its first item arrived"; the operators' rule for a duration that
/// saturates as `Duration::MAX` does is that it never comes due and
/// registers no sleep, "so a virtual clock never jumps to it".
///
/// `Batch::push` set the chunk's timer to `anyrt_core::deadline_after(now,
/// duration)`, which caps `Duration::MAX` at `far_future`, about 30 years
/// ahead: a sleep was registered there, and a partial chunk came out 30
/// years after its first item instead of never. Now such a chunk has no
/// time bound and no sleep.
#[anyrt_test::test(virtual_time)]
async fn a_chunk_of_duration_max_never_comes_due(clock: VirtualClock) {
    let source = futures::stream::iter([1, 2]).chain(futures::stream::pending());
    let mut chunks = pin!(source.chunks_timeout(NonZeroUsize::MAX, Duration::MAX));
    assert!(futures::poll!(chunks.next()).is_pending());
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "nothing for the clock to jump to"
    );
    clock.advance(40 * YEAR);
    assert!(
        futures::poll!(chunks.next()).is_pending(),
        "the chunk came out at `far_future`"
    );
    assert_eq!(chunks.as_mut().into_remainder(), [1, 2]);

    let full: Vec<Vec<i32>> = futures::stream::iter(0..5)
        .chunks_timeout(NonZeroUsize::new(2).unwrap(), Duration::MAX)
        .collect()
        .await;
    assert_eq!(
        full,
        [vec![0, 1], vec![2, 3], vec![4]],
        "by size and at the end"
    );
}

/// `Pace`: "each later item's [slot] is the previous slot plus `interval`
/// ... An item is yielded at its slot, never before". With an interval
/// that saturates as `Duration::MAX` does, the next slot never comes.
///
/// `Pace::poll_next` computed the next slot with
/// `anyrt_core::deadline_after`, which caps it at `far_future`: the second
/// item was held with a sleep registered there, and came out about 30
/// years after the first (a virtual clock jumped to it). Now such a slot
/// is never due: the item is held with no sleep, and the size hint counts
/// nothing more to come.
#[anyrt_test::test(virtual_time)]
async fn pace_of_duration_max_holds_the_next_item_for_good(clock: VirtualClock) {
    let source = futures::stream::iter([1, 2]).chain(futures::stream::pending());
    let mut paced = pin!(source.pace(Duration::MAX));
    assert_eq!(paced.next().await, Some(1), "the first item at once");
    assert!(futures::poll!(paced.next()).is_pending());
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "nothing for the clock to jump to"
    );
    assert_eq!(paced.size_hint(), (0, Some(0)), "2 never goes out");
    clock.advance(40 * YEAR);
    assert!(
        futures::poll!(paced.next()).is_pending(),
        "2 came out at `far_future`"
    );

    let ended: Vec<i32> = futures::stream::iter([1])
        .pace(Duration::MAX)
        .collect()
        .await;
    assert_eq!(ended, [1], "the upstream's end is still seen");
    assert_eq!(clock.pending_sleepers(), 0);
}

/// The concurrent maps: at most `n` futures in flight, and the crate's
/// rule that an upstream that is always ready "cannot hold the thread".
///
/// `MapConcurrent::fill` and the fill loop of
/// `MapConcurrentUnordered::poll_next` start futures while fewer than `n`
/// run: with a huge `n` (here `NonZeroUsize::MAX`) and an endless upstream
/// that is always ready, one poll never returned, starting futures (and
/// taking memory) for good. Now a poll starts at most 1,024, then wakes
/// the task and yields; the next poll starts more.
#[anyrt_test::test]
async fn maps_with_a_huge_limit_yield_after_a_budget_of_starts() {
    let (waker, wakes) = counting();
    let mut cx = Context::from_waker(&waker);

    let pulled = Arc::new(AtomicUsize::new(0));
    let source = always_ready(pulled.clone(), usize::MAX);
    let never = |_| std::future::pending::<()>();
    let mut ordered = pin!(source.map_concurrent(NonZeroUsize::MAX, never));
    assert!(ordered.as_mut().poll_next(&mut cx).is_pending());
    assert_eq!(
        pulled.load(SeqCst),
        1024,
        "a budget of 1,024 starts per poll"
    );
    assert_eq!(wakes.0.load(SeqCst), 1, "it woke itself to go on");
    assert!(ordered.as_mut().poll_next(&mut cx).is_pending());
    assert_eq!(pulled.load(SeqCst), 2048, "and goes on at the next poll");

    let pulled = Arc::new(AtomicUsize::new(0));
    let source = always_ready(pulled.clone(), usize::MAX);
    let mut unordered = pin!(source.map_concurrent_unordered(NonZeroUsize::MAX, never));
    assert!(unordered.as_mut().poll_next(&mut cx).is_pending());
    assert_eq!(
        pulled.load(SeqCst),
        1024,
        "a budget of 1,024 starts per poll"
    );
    assert_eq!(wakes.0.load(SeqCst), 3, "it woke itself to go on");
}
