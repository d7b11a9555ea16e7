//! Conformance: merge is fair, ends when every stream ends, polls only the
//! streams that woke, and a `MergeGroup` takes streams in and out.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};
use std::time::Duration;

use anyrt_stream::{MergeEvent, MergeGroup, merge};
use futures::channel::mpsc;
use futures::stream::FusedStream;
use futures::{Stream, StreamExt};

#[anyrt_test::test]
async fn eight_always_ready_streams_share_the_output_evenly() {
    let streams: Vec<_> = (0..8_usize).map(futures::stream::repeat).collect();
    let mut counts = [0_usize; 8];
    let mut merged = merge(streams);
    for _ in 0..80_000 {
        counts[merged.next().await.unwrap()] += 1;
    }
    for (stream, &count) in counts.iter().enumerate() {
        // Within 1% of 1/8 (10,000): 9,900 to 10,100.
        assert!(
            count.abs_diff(10_000) <= 100,
            "stream {stream} got {count} of 80,000: {counts:?}"
        );
    }
}

#[anyrt_test::test]
async fn rotation_starts_from_the_next_stream() {
    let merged = merge([
        futures::stream::iter(vec!['a', 'b', 'c']),
        futures::stream::iter(vec!['1', '2']),
        futures::stream::iter(vec!['x']),
    ]);
    assert_eq!(
        merged.collect::<String>().await,
        "a1xb2c",
        "one item from each in turn"
    );
}

#[anyrt_test::test(virtual_time)]
async fn a_finished_or_slow_stream_stalls_nobody() {
    let slow = futures::stream::once(async {
        anyrt_core::sleep(Duration::from_secs(10)).await;
        100
    })
    .boxed();
    let done = futures::stream::empty().boxed();
    let fast = futures::stream::iter(0..5).boxed();
    let start = anyrt_core::now();
    let mut merged = merge(vec![slow, done, fast]);
    let first: Vec<i32> = merged.by_ref().take(5).collect().await;
    assert_eq!(first, [0, 1, 2, 3, 4]);
    assert_eq!(anyrt_core::now(), start, "the fast items did not wait");
    assert!(!merged.is_terminated());
    assert_eq!(merged.next().await, Some(100));
    assert_eq!(merged.next().await, None, "ends when every stream ended");
    assert!(merged.is_terminated());
}

#[anyrt_test::test]
async fn merge_takes_arrays_vecs_and_iterators() {
    let from_array = merge([futures::stream::iter([1, 2]), futures::stream::iter([3, 4])]);
    assert_eq!(from_array.size_hint(), (4, Some(4)));
    assert_eq!(from_array.count().await, 4);
    let from_vec = merge(vec![futures::stream::iter(0..3)]);
    assert_eq!(from_vec.collect::<Vec<_>>().await, [0, 1, 2]);
    let from_iter = merge((0..100).map(|i| futures::stream::iter([i])));
    assert_eq!(from_iter.count().await, 100);
    let none = merge(Vec::<futures::stream::Empty<u8>>::new());
    assert_eq!(none.collect::<Vec<_>>().await, []);
}

/// A stream that counts how often it is polled.
struct Counted<S> {
    inner: S,
    polls: Arc<AtomicUsize>,
}

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.polls.fetch_add(1, SeqCst);
        self.inner.poll_next_unpin(cx)
    }
}

#[anyrt_test::test]
async fn a_wake_polls_only_the_stream_that_woke() {
    let polls = Arc::new(AtomicUsize::new(0));
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..1000).map(|_| mpsc::unbounded()).unzip();
    let mut merged = merge(receivers.into_iter().map(|inner| Counted {
        inner,
        polls: polls.clone(),
    }));
    assert!(futures::poll!(merged.next()).is_pending());
    assert_eq!(polls.load(SeqCst), 1000, "the first poll polls everyone");
    for (round, k) in [500_usize, 3, 999, 500].into_iter().enumerate() {
        polls.store(0, SeqCst);
        senders[k].unbounded_send(round).unwrap();
        assert_eq!(merged.next().await, Some(round));
        assert!(futures::poll!(merged.next()).is_pending());
        assert!(
            polls.load(SeqCst) <= 2,
            "{} polls of 1,000 streams for one wake-up",
            polls.load(SeqCst)
        );
    }
}

#[anyrt_test::test]
async fn a_group_takes_streams_in_and_out_and_reports_their_end() {
    let mut group = MergeGroup::new();
    let (a_tx, a_rx) = mpsc::unbounded::<u32>();
    let (b_tx, b_rx) = mpsc::unbounded::<u32>();
    let a = group.push(a_rx);
    let b = group.push(b_rx);
    assert_eq!(group.len(), 2);
    a_tx.unbounded_send(1).unwrap();
    assert_eq!(group.next_event().await, Some(MergeEvent::Item(a, 1)));
    b_tx.unbounded_send(2).unwrap();
    assert_eq!(group.next_event().await, Some(MergeEvent::Item(b, 2)));

    // A stream added later joins the rotation.
    let (c_tx, c_rx) = mpsc::unbounded::<u32>();
    let c = group.push(c_rx);
    c_tx.unbounded_send(3).unwrap();
    assert_eq!(group.next().await, Some(3));

    // A removed stream is not polled again; its items stay in it.
    a_tx.unbounded_send(4).unwrap();
    let mut removed = group.remove(a).unwrap();
    assert!(!group.contains(a));
    assert!(group.remove(a).is_none());
    assert_eq!(removed.next().await, Some(4));

    // An ended stream is reported with its key and leaves.
    drop(b_tx);
    assert_eq!(group.next_event().await, Some(MergeEvent::Ended(b)));
    assert_eq!(group.len(), 1);
    drop(c_tx);
    assert_eq!(group.next_event().await, Some(MergeEvent::Ended(c)));
    assert_eq!(group.next_event().await, None);
    assert!(group.is_terminated());

    // Refilled, it runs again, and keys are never reused.
    let (d_tx, d_rx) = mpsc::unbounded::<u32>();
    let d = group.push(d_rx);
    assert!(![a, b, c].contains(&d));
    assert!(!group.is_terminated());
    d_tx.unbounded_send(9).unwrap();
    assert_eq!(group.next_event().await, Some(MergeEvent::Item(d, 9)));
}

#[anyrt_test::test]
async fn a_group_of_many_streams_drains_every_item() {
    let mut group = MergeGroup::new();
    for k in 0..100_u32 {
        group.push(futures::stream::iter((0..10).map(move |i| k * 10 + i)));
    }
    let mut items: Vec<u32> = group.collect().await;
    items.sort_unstable();
    assert_eq!(items, (0..1000).collect::<Vec<_>>());
}

#[anyrt_test::test(timeout = 10)]
async fn regression_a_merge_goes_on_and_ends_after_a_caught_panic_in_one_stream() {
    // The panicked stream stayed in the group, never queued again: once
    // the others ended, the merge waited for its end forever.
    use futures::FutureExt;
    let failing = futures::stream::iter(0..3)
        .map(|i| {
            if i == 0 {
                panic!("stream failed");
            }
            100 + i
        })
        .boxed();
    let fine = futures::stream::iter(0..3).boxed();
    let mut merged = merge(vec![failing, fine]);
    let (mut items, mut panics) = (Vec::new(), 0);
    loop {
        match std::panic::AssertUnwindSafe(merged.next())
            .catch_unwind()
            .await
        {
            Ok(Some(item)) => items.push(item),
            Ok(None) => break,
            Err(_) => panics += 1,
        }
    }
    assert_eq!((items, panics), (vec![0, 1, 2], 1));
    assert!(merged.is_terminated());
}

#[anyrt_test::test(timeout = 10)]
async fn regression_a_stream_that_panicked_leaves_the_group() {
    use futures::FutureExt;
    let mut group = MergeGroup::new();
    let failing = group.push(
        futures::stream::iter([1])
            .map(|_| -> u32 { panic!("stream failed") })
            .boxed(),
    );
    let caught = std::panic::AssertUnwindSafe(group.next_event())
        .catch_unwind()
        .await;
    assert!(caught.is_err());
    assert!(!group.contains(failing));
    assert_eq!(group.len(), 0);
    assert_eq!(group.next_event().await, None);
}

#[anyrt_test::test(timeout = 10)]
async fn regression_a_stream_pushed_while_another_task_waits_on_the_group_wakes_it() {
    // `push` queued the new stream but woke nobody: a task waiting on the
    // group (shared behind a lock) slept on with an item ready.
    let group = Arc::new(std::sync::Mutex::new(MergeGroup::new()));
    let (_quiet_tx, quiet_rx) = mpsc::unbounded::<u32>();
    group.lock().unwrap().push(quiet_rx.boxed());
    let pending_polls = Arc::new(AtomicUsize::new(0));
    let poller = anyrt_core::spawn({
        let (group, pending_polls) = (group.clone(), pending_polls.clone());
        futures::future::poll_fn(move |cx| {
            let event = group.lock().unwrap().poll_next_event(cx);
            if event.is_pending() {
                pending_polls.fetch_add(1, SeqCst);
            }
            event
        })
    });
    while pending_polls.load(SeqCst) == 0 {
        anyrt_core::yield_now().await;
    }
    let key = group
        .lock()
        .unwrap()
        .push(futures::stream::iter([5]).boxed());
    assert_eq!(poller.await, Some(MergeEvent::Item(key, 5)));
}
