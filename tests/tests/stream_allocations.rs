//! Allocation counts of the stream operators: none per item, one per chunk.
//! The counter is process-wide, so this target has no test harness: it is
//! a plain `main` on one thread.

use std::num::NonZeroUsize;
use std::time::Duration;

use anyrt_stream::{RateLimiter, StreamOps, merge};
use anyrt_tests::alloc::count_allocations;
use futures::StreamExt;
use futures::executor::block_on;

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Allocations of `run(items)` for a small and a large number of items:
/// equal when nothing is allocated per item.
fn per_item(name: &str, run: impl Fn(u64) -> u64) {
    let (small_out, small) = count_allocations(|| run(1_000));
    let (large_out, large) = count_allocations(|| run(100_000));
    assert_eq!(
        (small_out, large_out),
        (1_000, 100_000),
        "{name}: items lost"
    );
    assert_eq!(
        small, large,
        "{name}: {small} allocations for 1,000 items, {large} for 100,000"
    );
    println!("{name}: {small} allocations whatever the item count");
}

fn main() {
    let (boxed, allocations) = count_allocations(|| std::hint::black_box(Box::new(7_u64)));
    assert_eq!(
        (*boxed, allocations),
        (7, 1),
        "the counter sees allocations"
    );
    block_on(async {}); // the executor's first use allocates

    chunks_allocate_once_per_chunk();
    per_item("merge of 8", |items| {
        let streams = (0..8).map(|_| futures::stream::iter(0..items / 8));
        block_on(merge(streams).count()) as u64
    });
    per_item("map_concurrent_unordered(64)", |items| {
        let mapped = futures::stream::iter(0..items)
            .map_concurrent_unordered(n(64), |i| async move { std::hint::black_box(i) });
        block_on(mapped.count()) as u64
    });
    per_item("map_concurrent(64)", |items| {
        let mapped = futures::stream::iter(0..items)
            .map_concurrent(n(64), |i| async move { std::hint::black_box(i) });
        block_on(mapped.count()) as u64
    });
    per_item("rate_limit", |items| {
        let limiter = RateLimiter::builder(u32::MAX, Duration::from_nanos(1))
            .burst(u32::MAX)
            .build()
            .unwrap();
        block_on(futures::stream::iter(0..items).rate_limit(&limiter).count()) as u64
    });
    per_item("pace(0)", |items| {
        block_on(futures::stream::iter(0..items).pace(Duration::ZERO).count()) as u64
    });
    per_item("timeout_each", |items| {
        let limited = futures::stream::iter(0..items).timeout_each(Duration::from_secs(1));
        block_on(limited.count()) as u64
    });
    per_item("debounce, every item replaced by the next", |items| {
        let mut pulled = 0;
        let quiet = futures::stream::iter(0..items)
            .inspect(|_| pulled += 1)
            .debounce(Duration::from_secs(3600));
        assert_eq!(block_on(quiet.collect::<Vec<_>>()), [items - 1]);
        pulled
    });
    let through_the_timer = |items| {
        let spaced = futures::stream::iter(0..items).then(|i| async move {
            anyrt_core::sleep(Duration::from_millis(2)).await;
            i
        });
        paused_tokio(spaced.debounce(Duration::from_millis(1)).count()) as u64
    };
    through_the_timer(10); // tokio's and anyrt's first use allocates
    per_item(
        "debounce, every item out through the timer",
        through_the_timer,
    );
    per_item("debounce(0)", |items| {
        block_on(
            futures::stream::iter(0..items)
                .debounce(Duration::ZERO)
                .count(),
        ) as u64
    });
    per_item("throttle, every item but the first dropped", |items| {
        let mut pulled = 0;
        let calm = futures::stream::iter(0..items)
            .inspect(|_| pulled += 1)
            .throttle(Duration::from_secs(3600));
        assert_eq!(block_on(calm.collect::<Vec<_>>()), [0]);
        pulled
    });
    per_item("throttle, every item out", |items| {
        let spaced = futures::stream::iter(0..items).then(|i| async move {
            anyrt_core::sleep(Duration::from_millis(2)).await;
            i
        });
        paused_tokio(spaced.throttle(Duration::from_millis(1)).count()) as u64
    });
    per_item("throttle_latest, every item held or dropped", |items| {
        let mut pulled = 0;
        let shown = futures::stream::iter(0..items)
            .inspect(|_| pulled += 1)
            .throttle_latest(Duration::from_millis(1));
        assert_eq!(paused_tokio(shown.collect::<Vec<_>>()), [0, items - 1]);
        pulled
    });
    let held_then_out = |items| {
        let spaced = futures::stream::iter(0..items * 2).then(|i| async move {
            let gap = if i % 2 == 0 { 2 } else { 0 };
            anyrt_core::sleep(Duration::from_millis(gap)).await;
            i
        });
        // Pairs 2 ms apart: the first of each out at once, the second held
        // to the end of its window, 1 ms later, and out through the timer.
        paused_tokio(spaced.throttle_latest(Duration::from_millis(1)).count()) as u64 / 2
    };
    held_then_out(10);
    per_item(
        "throttle_latest, half the items out through the timer",
        held_then_out,
    );
    per_item("throttle(0) and throttle_latest(0)", |items| {
        let both = futures::stream::iter(0..items)
            .throttle(Duration::ZERO)
            .throttle_latest(Duration::ZERO);
        block_on(both.count()) as u64
    });
    println!("stream_allocations: 1 passed, 0 failed");
}

/// `future` on a current-thread tokio runtime with its clock paused: time
/// jumps to the next timer when the runtime is idle, and a tokio sleep
/// lives in its future (no allocation per sleep), so an operator's own
/// allocations per timed item can be counted.
fn paused_tokio<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(future)
}

/// 40,000 ready items in chunks of 4,000: one allocation per chunk and the
/// chunk timer's one box, nothing per item.
fn chunks_allocate_once_per_chunk() {
    let (chunks, allocations) = count_allocations(|| {
        let chunked =
            futures::stream::iter(0..40_000_u32).chunks_timeout(n(4_000), Duration::from_secs(1));
        block_on(chunked.map(|chunk| chunk.len()).collect::<Vec<_>>())
    });
    assert_eq!(chunks, vec![4_000; 10]);
    // 10 chunks, the timer's box, and the Vec the test collects into
    // (which may grow).
    let collect =
        count_allocations(|| block_on(futures::stream::iter(0..10_usize).collect::<Vec<_>>())).1;
    assert_eq!(
        allocations,
        10 + 1 + collect,
        "chunks_timeout: one allocation per chunk"
    );
    println!("chunks_timeout: {allocations} allocations for 10 chunks of 4,000");
}
