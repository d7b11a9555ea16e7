//! Cancel safety: every operator's `next()` future dropped after 0, 1, 2
//! and 3 polls, over and over, loses and duplicates no item.

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_stream::{MergeGroup, RateLimiter, StreamOps, merge};
use anyrt_tests::cancel::cancel_after;
use futures::{Stream, StreamExt};

const MS: Duration = Duration::from_millis(1);

/// Items 0..count, item `i` ready `gap(i)` ms after the one before.
fn slow(count: u64, gap: fn(u64) -> u64) -> Pin<Box<dyn Stream<Item = u64> + Send>> {
    Box::pin(futures::stream::iter(0..count).then(move |i| async move {
        anyrt_core::sleep(Duration::from_millis(gap(i))).await;
        i
    }))
}

fn gaps(i: u64) -> u64 {
    [0, 3, 0, 7, 1, 12, 0, 2][i as usize % 8]
}

/// Takes every item with a `next()` future dropped after 0, 1, 2, 3
/// polls in turn, retried until the stream ends.
async fn drain_with_cancels<S: Stream + Unpin>(stream: &mut S) -> Vec<S::Item> {
    let mut out = Vec::new();
    for attempt in 0_usize.. {
        assert!(attempt < 1_000_000, "the stream never ended");
        match cancel_after(attempt % 4, stream.next()).await {
            Some(Some(item)) => out.push(item),
            Some(None) => return out,
            None => {}
        }
    }
    unreachable!()
}

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[anyrt_test::test(virtual_time)]
async fn chunks_timeout(clock: VirtualClock) {
    let mut chunks = slow(40, gaps).chunks_timeout(n(3), 5 * MS);
    let items: Vec<u64> = drain_with_cancels(&mut chunks).await.concat();
    assert_eq!(items, (0..40).collect::<Vec<_>>());
    drop(chunks);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn try_chunks_timeout() {
    let source = slow(30, gaps).map(|i| if i % 7 == 6 { Err(i) } else { Ok(i) });
    let mut chunks = source.try_chunks_timeout(n(4), 5 * MS);
    let mut items = Vec::new();
    for result in drain_with_cancels(&mut chunks).await {
        match result {
            Ok(chunk) => items.extend(chunk),
            Err(i) => items.push(i),
        }
    }
    assert_eq!(items, (0..30).collect::<Vec<_>>());
}

#[anyrt_test::test(virtual_time)]
async fn pace() {
    let mut paced = slow(30, gaps).pace(4 * MS);
    assert_eq!(
        drain_with_cancels(&mut paced).await,
        (0..30).collect::<Vec<_>>()
    );
}

#[anyrt_test::test(virtual_time)]
async fn rate_limit() {
    let limiter = RateLimiter::builder(100, Duration::from_secs(1))
        .burst(2)
        .build()
        .unwrap();
    let mut limited = slow(30, gaps).rate_limit(&limiter);
    assert_eq!(
        drain_with_cancels(&mut limited).await,
        (0..30).collect::<Vec<_>>()
    );
    assert_eq!(limiter.waiting(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_dropped_rate_limited_stream_gives_its_place_back() {
    let limiter = RateLimiter::builder(1, Duration::from_secs(1))
        .burst(1)
        .build()
        .unwrap();
    limiter.try_acquire().unwrap();
    let mut limited = futures::stream::iter([1]).rate_limit(&limiter);
    assert_eq!(cancel_after(1, limited.next()).await, None);
    assert_eq!(limiter.waiting(), 1, "the held item waits in the queue");
    drop(limited);
    assert_eq!(limiter.waiting(), 0);
    anyrt_core::sleep(Duration::from_secs(1)).await;
    assert_eq!(limiter.available(), 1, "no permit was taken");
}

#[anyrt_test::test(virtual_time)]
async fn timeout_each() {
    let mut limited = slow(30, gaps).timeout_each(5 * MS);
    let items: Vec<u64> = drain_with_cancels(&mut limited)
        .await
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(items, (0..30).collect::<Vec<_>>());
}

#[anyrt_test::test(virtual_time)]
async fn map_concurrent() {
    let mut mapped = slow(30, gaps).map_concurrent(n(4), |i| async move {
        anyrt_core::sleep(Duration::from_millis(gaps(i + 3))).await;
        i
    });
    assert_eq!(
        drain_with_cancels(&mut mapped).await,
        (0..30).collect::<Vec<_>>()
    );
}

#[anyrt_test::test(virtual_time)]
async fn map_concurrent_unordered() {
    let mut mapped = slow(30, gaps).map_concurrent_unordered(n(4), |i| async move {
        anyrt_core::sleep(Duration::from_millis(gaps(i + 3))).await;
        i
    });
    let mut items = drain_with_cancels(&mut mapped).await;
    items.sort_unstable();
    assert_eq!(items, (0..30).collect::<Vec<_>>());
}

#[anyrt_test::test(virtual_time)]
async fn merged_streams() {
    let streams = (0..4).map(|k| slow(10, gaps).map(move |i| k * 100 + i));
    let mut merged = merge(streams);
    let mut items = drain_with_cancels(&mut merged).await;
    items.sort_unstable();
    let expected: Vec<u64> = (0..4)
        .flat_map(|k| (0..10).map(move |i| k * 100 + i))
        .collect();
    assert_eq!(items, expected);
}

#[anyrt_test::test(virtual_time)]
async fn merge_group() {
    let mut group = MergeGroup::new();
    group.push(slow(10, gaps));
    group.push(slow(10, |i| gaps(i + 1)));
    let mut items = drain_with_cancels(&mut group).await;
    items.sort_unstable();
    let expected: Vec<u64> = (0..10).flat_map(|i| [i, i]).collect();
    assert_eq!(items, expected);
}

#[anyrt_test::test]
async fn buffer() {
    let source = futures::stream::iter(0..200_u64).then(|i| async move {
        if i % 16 == 0 {
            anyrt_core::yield_now().await;
        }
        i
    });
    let mut buffered = source.buffer(n(8));
    assert_eq!(
        drain_with_cancels(&mut buffered).await,
        (0..200).collect::<Vec<_>>()
    );
}

/// The arrival times of `slow(count, gap)`: item `i` at the sum of the
/// gaps up to and including its own.
fn arrivals(count: u64, gap: fn(u64) -> u64) -> Vec<(u64, u64)> {
    let mut at = 0;
    (0..count)
        .map(|i| {
            at += gap(i);
            (at, i)
        })
        .collect()
}

#[anyrt_test::test(virtual_time)]
async fn debounce(clock: VirtualClock) {
    // The specification: an item goes out when the next one comes at least
    // 7 ms later (gaps of 7 and 12), and the last one at the end.
    let times = arrivals(40, gaps);
    let expected: Vec<u64> = times
        .iter()
        .zip(times.iter().skip(1).map(Some).chain([None]))
        .filter(|((at, _), next)| next.is_none_or(|(next, _)| next - at >= 7))
        .map(|((_, i), _)| *i)
        .collect();
    assert!(expected.len() > 5 && expected.len() < 20);
    let mut quiet = slow(40, gaps).debounce(7 * MS);
    assert_eq!(drain_with_cancels(&mut quiet).await, expected);
    drop(quiet);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_dropped_next_leaves_the_debounced_item_pending(clock: VirtualClock) {
    let source = futures::stream::iter([1]).chain(futures::stream::pending());
    let mut quiet = source.debounce(10 * MS);
    assert_eq!(cancel_after(1, quiet.next()).await, None);
    assert_eq!(quiet.size_hint(), (1, Some(1)), "1 is kept in the stream");
    assert_eq!(quiet.next().await, Some(1));
    assert_eq!(clock.elapsed(), 10 * MS, "its due time was kept too");
}

#[anyrt_test::test(virtual_time)]
async fn throttle() {
    // The specification: an item goes out when it comes at least 7 ms
    // after the last one that went out.
    let mut last = None;
    let expected: Vec<u64> = arrivals(40, gaps)
        .into_iter()
        .filter(|(at, _)| {
            let out = last.is_none_or(|last| at - last >= 7);
            if out {
                last = Some(*at);
            }
            out
        })
        .map(|(_, i)| i)
        .collect();
    assert!(expected.len() > 5 && expected.len() < 35);
    let mut calm = slow(40, gaps).throttle(7 * MS);
    assert_eq!(drain_with_cancels(&mut calm).await, expected);
}

/// What `throttle_latest(window)` yields of items that arrive at the given
/// times: the first of a quiet spell at once, the newest of each window at
/// its end, which opens the next window.
fn throttle_latest_model(arrivals: &[(u64, u64)], window: u64) -> Vec<u64> {
    let (mut out, mut end, mut held) = (Vec::new(), None, None);
    for &(at, i) in arrivals {
        while let Some(until) = end.filter(|until| at >= *until) {
            end = held.take().map(|h| {
                out.push(h);
                until + window
            });
        }
        if end.is_some() {
            held = Some(i);
        } else {
            out.push(i);
            end = Some(at + window);
        }
    }
    out.extend(held);
    out
}

#[anyrt_test::test(virtual_time)]
async fn throttle_latest(clock: VirtualClock) {
    let expected = throttle_latest_model(&arrivals(40, gaps), 7);
    assert!(expected.len() > 5 && expected.len() < 35);
    assert_eq!(expected.last(), Some(&39), "the last item is never lost");
    let mut shown = slow(40, gaps).throttle_latest(7 * MS);
    assert_eq!(drain_with_cancels(&mut shown).await, expected);
    drop(shown);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_dropped_next_leaves_the_throttled_item_held(clock: VirtualClock) {
    let source = futures::stream::iter([1, 2]).chain(futures::stream::pending());
    let mut shown = source.throttle_latest(10 * MS);
    assert_eq!(shown.next().await, Some(1));
    assert_eq!(cancel_after(1, shown.next()).await, None);
    assert_eq!(shown.size_hint(), (1, Some(1)), "2 is kept in the stream");
    assert_eq!(shown.next().await, Some(2));
    assert_eq!(clock.elapsed(), 10 * MS, "at the end of 1's window");
}
