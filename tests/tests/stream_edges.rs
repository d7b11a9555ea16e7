//! Edge cases of the stream operators: zero and huge durations, the largest
//! counts, the partial chunk taken back, size hints and fusing.

use std::num::NonZeroUsize;
use std::pin::pin;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_stream::StreamOps;
use futures::stream::FusedStream;
use futures::{FutureExt, Stream, StreamExt};

const MS: Duration = Duration::from_millis(1);

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[anyrt_test::test(virtual_time)]
async fn huge_sizes_and_durations_neither_panic_nor_hang(clock: VirtualClock) {
    let chunks: Vec<Vec<i32>> = futures::stream::iter(0..10)
        .chunks_timeout(NonZeroUsize::MAX, Duration::MAX)
        .collect()
        .await;
    assert_eq!(chunks, [(0..10).collect::<Vec<_>>()]);

    let mapped: Vec<i32> = futures::stream::iter(0..10)
        .map_concurrent(NonZeroUsize::MAX, |i| async move { i })
        .collect()
        .await;
    assert_eq!(mapped, (0..10).collect::<Vec<_>>());
    let unordered = futures::stream::iter(0..10)
        .map_concurrent_unordered(NonZeroUsize::MAX, |i| async move { i });
    assert_eq!(unordered.count().await, 10);
    let buffered = futures::stream::iter(0..10).buffer(NonZeroUsize::MAX);
    assert_eq!(buffered.count().await, 10);

    let mut paced = futures::stream::iter(0..2).pace(Duration::MAX);
    assert_eq!(paced.next().await, Some(0), "the first item is not delayed");
    let mut limited = futures::stream::iter([1]).timeout_each(Duration::MAX);
    assert_eq!(limited.next().await, Some(Ok(1)));
    assert_eq!(clock.elapsed(), Duration::ZERO);
}

#[anyrt_test::test(virtual_time)]
async fn the_partial_chunk_can_be_taken_back(clock: VirtualClock) {
    let source = futures::stream::iter([1, 2, 3]).chain(futures::stream::pending());
    let mut chunks = pin!(source.chunks_timeout(n(10), 50 * MS));
    let first = futures::poll!(chunks.next());
    assert!(first.is_pending());
    assert_eq!(chunks.as_mut().into_remainder(), [1, 2, 3]);
    assert!(chunks.as_mut().into_remainder().is_empty());
    // Nothing is left for the timer to flush.
    clock.advance(100 * MS);
    assert!(futures::poll!(chunks.next()).is_pending());
}

#[anyrt_test::test(virtual_time)]
async fn chunk_size_hints_and_fusing() {
    let mut chunks = futures::stream::iter(0..25).chunks_timeout(n(10), MS);
    assert_eq!(chunks.size_hint(), (3, Some(25)));
    assert_eq!(chunks.next().await.map(|c| c.len()), Some(10));
    assert_eq!(chunks.size_hint(), (2, Some(15)));
    let rest: Vec<usize> = chunks.by_ref().map(|c| c.len()).collect().await;
    assert_eq!(rest, [10, 5]);
    assert!(chunks.is_terminated());
    assert_eq!(chunks.size_hint(), (0, Some(0)));
    assert_eq!(chunks.next().await, None);
}

#[anyrt_test::test(virtual_time)]
async fn every_operator_is_fused_after_its_end() {
    async fn ends<S: Stream + FusedStream + Unpin>(mut stream: S) {
        while stream.next().await.is_some() {}
        assert!(stream.is_terminated());
        assert!(stream.next().await.is_none(), "polled again after the end");
    }
    let limiter = anyrt_stream::RateLimiter::new(100, Duration::from_secs(1)).unwrap();
    let src = || futures::stream::iter(0..3);
    ends(src().chunks_timeout(n(2), MS)).await;
    ends(src().map(Ok::<_, ()>).try_chunks_timeout(n(2), MS)).await;
    ends(src().pace(MS)).await;
    ends(src().rate_limit(&limiter)).await;
    ends(src().rate_limit_by(&limiter, |_| 1)).await;
    ends(src().timeout_each(MS)).await;
    ends(src().debounce(MS)).await;
    ends(src().debounce(Duration::ZERO)).await;
    ends(src().throttle(MS)).await;
    ends(src().throttle(Duration::ZERO)).await;
    ends(src().throttle_latest(MS)).await;
    ends(src().throttle_latest(Duration::ZERO)).await;
    ends(src().map_concurrent(n(2), |i| async move { i })).await;
    ends(src().map_concurrent_unordered(n(2), |i| async move { i })).await;
    ends(src().buffer(n(2))).await;
    ends(anyrt_stream::merge([src(), src()])).await;
}

#[anyrt_test::test(virtual_time)]
async fn pace_and_rate_limit_count_a_held_item_in_their_hint() {
    let mut paced = futures::stream::iter(0..3).pace(10 * MS);
    assert_eq!(paced.next().await, Some(0));
    assert!(
        futures::poll!(paced.next()).is_pending(),
        "1 waits for its slot"
    );
    assert_eq!(paced.size_hint(), (2, Some(2)), "1 is held, 2 upstream");
    assert_eq!(paced.collect::<Vec<_>>().await, [1, 2]);
}

#[anyrt_test::test(virtual_time)]
async fn a_chunk_full_before_its_time_leaves_no_timer_behind(clock: VirtualClock) {
    let source = futures::stream::iter(0..3_u64)
        .then(|i| anyrt_core::sleep(Duration::from_millis(i)).map(move |()| i))
        .chain(futures::stream::pending());
    let mut chunks = Box::pin(source.chunks_timeout(n(3), 50 * MS));
    assert_eq!(chunks.next().await, Some(vec![0, 1, 2]));
    assert_eq!(clock.elapsed(), 3 * MS);
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "the chunk's timer was disarmed"
    );

    let mut limited = Box::pin(
        futures::stream::iter([1])
            .then(|i| anyrt_core::sleep(MS).map(move |()| i))
            .timeout_each(50 * MS),
    );
    assert_eq!(limited.next().await, Some(Ok(1)));
    assert_eq!(limited.next().await, None);
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "the ended stream holds no timer"
    );
}

#[anyrt_test::test(virtual_time)]
async fn a_huge_debounce_registers_no_sleep(clock: VirtualClock) {
    let source = futures::stream::iter([1, 2]).chain(futures::stream::pending());
    let mut quiet = source.debounce(Duration::MAX);
    assert!(futures::poll!(quiet.next()).is_pending());
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "nothing for the clock to jump to"
    );
    assert_eq!(quiet.size_hint(), (1, Some(1)), "2 is pending");
    clock.advance(Duration::from_secs(365 * 24 * 3600));
    assert!(futures::poll!(quiet.next()).is_pending());
}

/// Each item after a gap of so many milliseconds: (gap, item).
fn spaced(items: &'static [(u64, i32)]) -> impl Stream<Item = i32> {
    futures::stream::iter(items)
        .then(|&(gap, item)| anyrt_core::sleep(Duration::from_millis(gap)).map(move |()| item))
}

#[anyrt_test::test(virtual_time)]
async fn regression_windows_still_end_after_the_clock_jumped_past_far_future(clock: VirtualClock) {
    // `advance(Duration::MAX)` leaves the clock at `far_future`, where every
    // duration used to count as one that never ends: debounce held each
    // item to the upstream's end, the throttles dropped all but the first.
    clock.advance(Duration::MAX);
    const ITEMS: &[(u64, i32)] = &[(0, 1), (20, 2), (20, 3)];
    let quiet: Vec<i32> = pin!(spaced(ITEMS).debounce(10 * MS)).collect().await;
    assert_eq!(quiet, [1, 2, 3]);
    let calm: Vec<i32> = pin!(spaced(ITEMS).throttle(10 * MS)).collect().await;
    assert_eq!(calm, [1, 2, 3]);
    let latest: Vec<i32> = pin!(spaced(ITEMS).throttle_latest(10 * MS)).collect().await;
    assert_eq!(latest, [1, 2, 3]);

    // Duration::MAX still never comes due there.
    let source = futures::stream::iter([1, 2]).chain(futures::stream::pending());
    let mut huge = source.debounce(Duration::MAX);
    assert!(futures::poll!(huge.next()).is_pending());
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "nothing for the clock to jump to"
    );
}

#[anyrt_test::test(virtual_time)]
async fn debounce_size_hints_and_fusing(clock: VirtualClock) {
    let mut quiet = futures::stream::iter(0..3).debounce(10 * MS);
    assert_eq!(quiet.size_hint(), (1, Some(3)));
    assert!(!quiet.is_terminated());
    assert_eq!(
        quiet.next().await,
        Some(2),
        "the end lets the last item out"
    );
    assert!(quiet.is_terminated());
    assert_eq!(quiet.size_hint(), (0, Some(0)));
    assert_eq!(quiet.next().await, None);
    assert_eq!(clock.elapsed(), Duration::ZERO, "no wait at the end");

    let empty = futures::stream::iter(Vec::<u8>::new()).debounce(10 * MS);
    assert_eq!(empty.size_hint(), (0, Some(0)));
    let passing = futures::stream::iter(0..3).debounce(Duration::ZERO);
    assert_eq!(
        passing.size_hint(),
        (3, Some(3)),
        "zero passes the hint through"
    );
}

#[anyrt_test::test(virtual_time)]
async fn debounce_keeps_polling_the_upstream_while_an_item_is_pending(clock: VirtualClock) {
    let source = futures::stream::iter(0..3_u64)
        .then(|i| anyrt_core::sleep(Duration::from_millis(4 * i)).map(move |()| i))
        .chain(futures::stream::pending());
    let mut quiet = Box::pin(source.debounce(5 * MS));
    // 0 at 0, 1 at 4, 2 at 12: 0 is replaced, 1 is due at 9, 2 at 17.
    assert_eq!(quiet.next().await, Some(1));
    assert_eq!(clock.elapsed(), 9 * MS);
    assert_eq!(quiet.next().await, Some(2));
    assert_eq!(clock.elapsed(), 17 * MS);
    assert!(futures::poll!(quiet.next()).is_pending());
    assert_eq!(clock.pending_sleepers(), 0, "no item pending, no timer due");
}

#[anyrt_test::test(virtual_time)]
async fn throttle_size_hints_and_fusing() {
    let mut calm = futures::stream::iter(0..3).throttle(10 * MS);
    assert_eq!(calm.size_hint(), (1, Some(3)), "the first item goes out");
    assert_eq!(calm.next().await, Some(0));
    assert_eq!(
        calm.size_hint(),
        (0, Some(2)),
        "the rest may fall in its window"
    );
    assert_eq!(calm.next().await, None);
    assert!(calm.is_terminated());
    assert_eq!(calm.size_hint(), (0, Some(0)));
    let passing = futures::stream::iter(0..3).throttle(Duration::ZERO);
    assert_eq!(
        passing.size_hint(),
        (3, Some(3)),
        "zero passes the hint through"
    );
}

#[anyrt_test::test(virtual_time)]
async fn throttle_latest_size_hints_and_fusing(clock: VirtualClock) {
    let source = futures::stream::iter(0..3).chain(futures::stream::pending());
    let mut shown = source.throttle_latest(10 * MS);
    assert_eq!(shown.size_hint(), (1, Some(3)));
    assert_eq!(shown.next().await, Some(0));
    assert!(
        futures::poll!(shown.next()).is_pending(),
        "2 waits for the window's end"
    );
    assert_eq!(shown.size_hint(), (1, Some(1)), "2 is held; 1 was replaced");
    assert_eq!(shown.next().await, Some(2));
    assert_eq!(clock.elapsed(), 10 * MS);
    assert!(futures::poll!(shown.next()).is_pending());
    assert_eq!(clock.pending_sleepers(), 0, "nothing held, no timer due");
    assert!(!shown.is_terminated());
}

#[anyrt_test::test(virtual_time)]
async fn a_huge_throttle_latest_registers_no_sleep(clock: VirtualClock) {
    let source = futures::stream::iter([1, 2, 3]).chain(futures::stream::pending());
    let mut shown = source.throttle_latest(Duration::MAX);
    assert_eq!(shown.next().await, Some(1));
    assert!(futures::poll!(shown.next()).is_pending());
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "nothing for the clock to jump to"
    );
    assert_eq!(shown.size_hint(), (1, Some(1)), "3 is held");
}
