//! Marble tables for the time operators: items at given virtual times in,
//! the exact output at exact virtual times out.

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyrt_stream::{RateLimiter, StreamOps};
use futures::{Stream, StreamExt};

const MS: Duration = Duration::from_millis(1);

/// A stream that yields each `(ms, item)` at `ms` after its creation (in
/// order), then ends at `end_ms`.
fn timed<T: Send + 'static>(
    items: Vec<(u64, T)>,
    end_ms: u64,
) -> Pin<Box<dyn Stream<Item = T> + Send>> {
    let start = anyrt_core::now();
    let events = items.into_iter().map(Some).chain([None]);
    Box::pin(
        futures::stream::iter(events)
            .then(move |event| async move {
                let (ms, item) = match event {
                    Some((ms, item)) => (ms, Some(item)),
                    None => (end_ms, None),
                };
                anyrt_core::sleep_until(start + Duration::from_millis(ms)).await;
                item
            })
            .take_while(|item| std::future::ready(item.is_some()))
            .filter_map(std::future::ready),
    )
}

/// Every item of `stream` with the milliseconds since `start` at which it
/// came out, and the time the stream ended.
async fn record<S: Stream + Unpin>(mut stream: S, start: Instant) -> (Vec<(u64, S::Item)>, u64) {
    let ms = || ((anyrt_core::now() - start).as_nanos() / 1_000_000) as u64;
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        out.push((ms(), item));
    }
    (out, ms())
}

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[anyrt_test::test(virtual_time)]
async fn chunks_timeout_by_size_by_time_and_at_the_end() {
    let start = anyrt_core::now();
    let source = timed(
        vec![
            (0, 'a'),
            (1, 'b'),
            (2, 'c'),
            (3, 'd'),
            (20, 'e'),
            (25, 'f'),
            (40, 'g'),
        ],
        41,
    );
    let (out, end) = record(source.chunks_timeout(n(3), 10 * MS), start).await;
    assert_eq!(
        out,
        [
            (2, vec!['a', 'b', 'c']), // full
            (13, vec!['d']),          // 10 ms after d
            (30, vec!['e', 'f']),     // 10 ms after e
            (41, vec!['g']),          // the end flushes
        ]
    );
    assert_eq!(end, 41);
}

#[anyrt_test::test(virtual_time)]
async fn chunks_timeout_groups_items_of_one_instant_even_with_zero_duration() {
    let start = anyrt_core::now();
    let source = timed(vec![(0, 1), (0, 2), (5, 3), (5, 4), (5, 5)], 5);
    let (out, _) = record(source.chunks_timeout(n(10), Duration::ZERO), start).await;
    assert_eq!(out, [(0, vec![1, 2]), (5, vec![3, 4, 5])]);
}

#[anyrt_test::test(virtual_time)]
async fn try_chunks_timeout_flushes_before_an_error() {
    let start = anyrt_core::now();
    let source = timed(
        vec![
            (0, Ok(1)),
            (1, Ok(2)),
            (2, Err("x")),
            (3, Ok(3)),
            (30, Ok(4)),
        ],
        31,
    );
    let (out, _) = record(source.try_chunks_timeout(n(5), 10 * MS), start).await;
    assert_eq!(
        out,
        [
            (2, Ok(vec![1, 2])),
            (2, Err("x")),
            (13, Ok(vec![3])),
            (31, Ok(vec![4])),
        ]
    );
}

#[anyrt_test::test(virtual_time)]
async fn pace_delays_and_never_drops() {
    let start = anyrt_core::now();
    let source = timed(vec![(0, 'a'), (1, 'b'), (2, 'c'), (35, 'd'), (36, 'e')], 37);
    let (out, end) = record(source.pace(10 * MS), start).await;
    assert_eq!(out, [(0, 'a'), (10, 'b'), (20, 'c'), (35, 'd'), (45, 'e')]);
    assert_eq!(end, 45, "the end comes once the upstream ended");
}

#[anyrt_test::test(virtual_time)]
async fn pace_does_not_drift() {
    let start = anyrt_core::now();
    let paced = futures::stream::iter(0..100).pace(10 * MS);
    let (out, _) = record(paced, start).await;
    let expected: Vec<(u64, i32)> = (0..100).map(|i| (i as u64 * 10, i)).collect();
    assert_eq!(out, expected);
}

#[anyrt_test::test(virtual_time)]
async fn rate_limit_follows_the_limiter() {
    let start = anyrt_core::now();
    let limiter = RateLimiter::builder(10, Duration::from_secs(1))
        .burst(2)
        .build()
        .unwrap();
    let source = timed(
        vec![
            (0, 'a'),
            (0, 'b'),
            (0, 'c'),
            (0, 'd'),
            (500, 'e'),
            (500, 'f'),
            (500, 'g'),
        ],
        500,
    );
    let (out, _) = record(source.rate_limit(&limiter), start).await;
    assert_eq!(
        out,
        [
            (0, 'a'),
            (0, 'b'),
            (100, 'c'),
            (200, 'd'),
            (500, 'e'),
            (500, 'f'),
            (600, 'g')
        ]
    );
}

#[anyrt_test::test(virtual_time)]
async fn rate_limit_by_charges_each_item_its_cost() {
    let start = anyrt_core::now();
    let limiter = RateLimiter::builder(10, Duration::from_secs(1))
        .burst(4)
        .build()
        .unwrap();
    let source = timed(vec![(0, 4_u32), (0, 2), (0, 9), (0, 0), (0, 1)], 0);
    let limited = source.rate_limit_by(&limiter, |cost| *cost);
    let (out, _) = record(limited.map(|r| r.map_err(|e| e.into_item())), start).await;
    assert_eq!(
        out,
        [
            (0, Ok(4)),
            (200, Ok(2)),
            (200, Err(9)),
            (200, Ok(0)),
            (300, Ok(1))
        ]
    );
}

#[anyrt_test::test(virtual_time)]
async fn two_streams_share_one_limiter() {
    let start = anyrt_core::now();
    let limiter = RateLimiter::builder(10, Duration::from_secs(1))
        .burst(1)
        .build()
        .unwrap();
    let a = futures::stream::iter(0..5).rate_limit(&limiter);
    let b = futures::stream::iter(5..10).rate_limit(&limiter);
    let (out, _) = record(futures::stream::select(a, b), start).await;
    let times: Vec<u64> = out.iter().map(|(ms, _)| *ms).collect();
    assert_eq!(times, (0..10).map(|i| i * 100).collect::<Vec<_>>());
}

#[anyrt_test::test(virtual_time)]
async fn timeout_each_reports_a_late_item_once_and_goes_on() {
    let start = anyrt_core::now();
    let source = timed(vec![(0, 'a'), (5, 'b'), (30, 'c')], 100);
    let limited = source.timeout_each(10 * MS).map(|r| r.ok());
    let (out, end) = record(limited, start).await;
    assert_eq!(
        out,
        [
            (0, Some('a')),
            (5, Some('b')),
            (15, None),
            (30, Some('c')),
            (40, None)
        ]
    );
    assert_eq!(end, 100);
}

#[anyrt_test::test(virtual_time)]
async fn a_ready_item_never_times_out() {
    let start = anyrt_core::now();
    let limited = futures::stream::iter(0..3).timeout_each(Duration::ZERO);
    let (out, _) = record(limited.map(|r| r.ok()), start).await;
    assert_eq!(out, [(0, Some(0)), (0, Some(1)), (0, Some(2))]);
}

#[anyrt_test::test(virtual_time)]
async fn a_buffer_task_keeps_the_upstream_times() {
    let start = anyrt_core::now();
    let source = timed(vec![(0, 'a'), (10, 'b'), (10, 'c'), (25, 'd')], 30);
    let (out, end) = record(source.buffer(NonZeroUsize::new(2).unwrap()), start).await;
    assert_eq!(out, [(0, 'a'), (10, 'b'), (10, 'c'), (25, 'd')]);
    assert_eq!(end, 30);
}

#[anyrt_test::test(virtual_time)]
async fn pace_after_a_rate_limit_spreads_a_burst() {
    let start = anyrt_core::now();
    let limiter = RateLimiter::builder(10, Duration::from_secs(1))
        .burst(5)
        .build()
        .unwrap();
    let source = futures::stream::iter(0..6)
        .rate_limit(&limiter)
        .pace(20 * MS);
    let (out, _) = record(source, start).await;
    // The burst lets 0..5 through at once; pace spreads them 20 ms apart;
    // 5 needs a new permit at 100 ms, its slot is at 100 ms too.
    assert_eq!(out, [(0, 0), (20, 1), (40, 2), (60, 3), (80, 4), (100, 5)]);
}

#[anyrt_test::test(virtual_time)]
async fn debounce_keeps_the_last_item_of_each_burst() {
    let start = anyrt_core::now();
    let source = timed(
        vec![
            (0, 'a'),
            (3, 'b'),
            (6, 'c'),
            (20, 'd'),
            (30, 'e'),
            (45, 'f'),
            (50, 'g'),
        ],
        53,
    );
    let (out, end) = record(source.debounce(10 * MS), start).await;
    assert_eq!(
        out,
        [
            (16, 'c'), // a and b were replaced; 10 ms after c
            (30, 'd'), // e came exactly 10 ms after d: d's quiet spell was over
            (40, 'e'),
            (53, 'g'), // f was replaced; the end lets g out at once
        ]
    );
    assert_eq!(end, 53);
}

#[anyrt_test::test(virtual_time)]
async fn debounce_treats_errors_as_items() {
    let start = anyrt_core::now();
    let source = timed(
        vec![(0, Ok(1)), (2, Err("x")), (20, Ok(2)), (25, Ok(3))],
        40,
    );
    let (out, end) = record(source.debounce(10 * MS), start).await;
    assert_eq!(out, [(12, Err("x")), (35, Ok(3))]);
    assert_eq!(end, 40, "the end comes when the upstream ends");
}

#[anyrt_test::test(virtual_time)]
async fn debounce_with_zero_duration_passes_every_item() {
    let start = anyrt_core::now();
    let source = timed(vec![(0, 1), (0, 2), (5, 3), (5, 4), (9, 5)], 9);
    let (out, _) = record(source.debounce(Duration::ZERO), start).await;
    assert_eq!(out, [(0, 1), (0, 2), (5, 3), (5, 4), (9, 5)]);
}

#[anyrt_test::test(virtual_time)]
async fn debounce_with_a_huge_duration_waits_for_the_end() {
    let start = anyrt_core::now();
    let source = timed(vec![(0, 'a'), (100, 'b'), (400, 'c')], 1_000);
    let (out, end) = record(source.debounce(Duration::MAX), start).await;
    assert_eq!(out, [(1_000, 'c')]);
    assert_eq!(end, 1_000);
}

/// Clicks for the throttles: a burst, a gap of exactly 10 ms after an item
/// that went out, and a pair at the end.
fn clicks() -> Pin<Box<dyn Stream<Item = char> + Send>> {
    timed(
        vec![
            (0, 'a'),
            (3, 'b'),
            (10, 'c'),
            (12, 'd'),
            (25, 'e'),
            (34, 'f'),
            (35, 'g'),
        ],
        36,
    )
}

#[anyrt_test::test(virtual_time)]
async fn throttle_keeps_the_first_item_of_each_window() {
    let start = anyrt_core::now();
    let (out, end) = record(clicks().throttle(10 * MS), start).await;
    assert_eq!(
        out,
        [
            (0, 'a'),  // b falls in a's window
            (10, 'c'), // exactly 10 ms after a: the window is over
            (25, 'e'), // d falls in c's window, f in e's
            (35, 'g'),
        ]
    );
    assert_eq!(end, 36, "nothing waits at the end");
}

#[anyrt_test::test(virtual_time)]
async fn throttle_latest_keeps_the_first_and_the_newest_of_each_window() {
    let start = anyrt_core::now();
    let (out, end) = record(clicks().throttle_latest(10 * MS), start).await;
    assert_eq!(
        out,
        [
            (0, 'a'),
            (10, 'b'), // the end of a's window; c, at that instant, opens none
            (20, 'd'), // c was replaced by d in b's window
            (30, 'e'),
            (40, 'g'), // f was replaced; g waits for its window after the end
        ]
    );
    assert_eq!(end, 40);
}

#[anyrt_test::test(virtual_time)]
async fn throttle_latest_lets_an_item_after_a_quiet_window_out_at_once() {
    let start = anyrt_core::now();
    let source = timed(vec![(0, 1), (10, 2), (25, 3), (30, 4)], 30);
    let (out, _) = record(source.throttle_latest(10 * MS), start).await;
    assert_eq!(out, [(0, 1), (10, 2), (25, 3), (35, 4)]);
}

#[anyrt_test::test(virtual_time)]
async fn the_throttles_treat_errors_as_items() {
    let start = anyrt_core::now();
    let source = || {
        timed(
            vec![(0, Err("x")), (5, Ok(1)), (10, Ok(2)), (15, Err("y"))],
            15,
        )
    };
    let (out, _) = record(source().throttle(10 * MS), start).await;
    assert_eq!(out, [(0, Err("x")), (10, Ok(2))]);
    let start = anyrt_core::now();
    let (out, _) = record(source().throttle_latest(10 * MS), start).await;
    assert_eq!(out, [(0, Err("x")), (10, Ok(1)), (20, Err("y"))]);
}

#[anyrt_test::test(virtual_time)]
async fn the_throttles_with_zero_duration_pass_every_item() {
    let start = anyrt_core::now();
    let (out, _) = record(clicks().throttle(Duration::ZERO), start).await;
    let all = [0, 3, 10, 12, 25, 34, 35]
        .into_iter()
        .zip("abcdefg".chars());
    assert_eq!(out, all.clone().collect::<Vec<_>>());
    let start = anyrt_core::now();
    let (out, _) = record(clicks().throttle_latest(Duration::ZERO), start).await;
    assert_eq!(out, all.collect::<Vec<_>>());
}

#[anyrt_test::test(virtual_time)]
async fn the_throttles_with_a_huge_duration_keep_the_first_and_the_last() {
    let start = anyrt_core::now();
    let (out, end) = record(clicks().throttle(Duration::MAX), start).await;
    assert_eq!((out, end), (vec![(0, 'a')], 36));
    let start = anyrt_core::now();
    let (out, end) = record(clicks().throttle_latest(Duration::MAX), start).await;
    assert_eq!(
        (out, end),
        (vec![(0, 'a'), (36, 'g')], 36),
        "the end of the upstream closes a window that never ends"
    );
}
