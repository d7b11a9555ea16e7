//! Conformance: the concurrent maps keep at most `n` in flight, refill at
//! once, pull the upstream only when a slot is free, and (ordered) keep
//! input order.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_stream::StreamOps;
use futures::{Stream, StreamExt};

const N: usize = 4;
const ITEMS: usize = 40;

#[derive(Default)]
struct Counters {
    pulled: AtomicUsize,
    running: AtomicUsize,
    max_running: AtomicUsize,
    finished: AtomicUsize,
}

/// A source that counts its pulls and checks, at each, that no more than
/// `N` items are taken and unfinished.
fn source(counters: Arc<Counters>) -> impl Stream<Item = usize> + Unpin {
    futures::stream::iter(0..ITEMS).inspect(move |_| {
        let pulled = counters.pulled.fetch_add(1, SeqCst) + 1;
        let finished = counters.finished.load(SeqCst);
        assert!(
            pulled - finished <= N,
            "pulled {pulled} with only {finished} finished"
        );
    })
}

/// Work of a varied virtual duration that tracks how many run at once.
fn work(
    counters: Arc<Counters>,
) -> impl FnMut(usize) -> futures::future::BoxFuture<'static, usize> {
    move |i| {
        let counters = counters.clone();
        Box::pin(async move {
            let running = counters.running.fetch_add(1, SeqCst) + 1;
            counters.max_running.fetch_max(running, SeqCst);
            let ms = (i * 7 % 11) as u64 + 1;
            anyrt_core::sleep(Duration::from_millis(ms)).await;
            counters.running.fetch_sub(1, SeqCst);
            counters.finished.fetch_add(1, SeqCst);
            i
        })
    }
}

fn n() -> NonZeroUsize {
    NonZeroUsize::new(N).unwrap()
}

#[anyrt_test::test(virtual_time)]
async fn ordered_keeps_input_order_with_at_most_n_in_flight() {
    let counters = Arc::new(Counters::default());
    let mapped = source(counters.clone()).map_concurrent(n(), work(counters.clone()));
    let out: Vec<usize> = mapped.collect().await;
    assert_eq!(out, (0..ITEMS).collect::<Vec<_>>());
    assert_eq!(counters.max_running.load(SeqCst), N);
}

#[anyrt_test::test(virtual_time)]
async fn unordered_refills_to_n_before_each_output() {
    let counters = Arc::new(Counters::default());
    let mut mapped = source(counters.clone()).map_concurrent_unordered(n(), work(counters.clone()));
    let mut out = Vec::new();
    while let Some(i) = mapped.next().await {
        out.push(i);
        let finished = counters.finished.load(SeqCst);
        let in_flight = counters.pulled.load(SeqCst) - finished;
        assert_eq!(
            in_flight,
            N.min(ITEMS - finished),
            "after {finished} finished, the set was not refilled"
        );
        assert_eq!(mapped.in_flight(), in_flight);
    }
    out.sort_unstable();
    assert_eq!(out, (0..ITEMS).collect::<Vec<_>>());
    assert_eq!(counters.max_running.load(SeqCst), N);
}

#[anyrt_test::test(virtual_time)]
async fn unordered_yields_in_finishing_order() {
    let n = NonZeroUsize::new(3).unwrap();
    let mapped =
        futures::stream::iter([30_u64, 10, 20]).map_concurrent_unordered(n, |ms| async move {
            anyrt_core::sleep(Duration::from_millis(ms)).await;
            ms
        });
    assert_eq!(mapped.collect::<Vec<_>>().await, [10, 20, 30]);
}

#[anyrt_test::test(virtual_time)]
async fn ordered_keeps_n_running_behind_a_slow_head(clock: anyrt_core::VirtualClock) {
    // Item 0 takes 100 ms, the others 1 ms: behind it, n futures keep
    // running until the reorder buffer (n outputs) is full.
    let n = NonZeroUsize::new(2).unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let mut mapped = futures::stream::iter(0..10_u64).map_concurrent(n, move |i| {
        counter.fetch_add(1, SeqCst);
        async move {
            anyrt_core::sleep(Duration::from_millis(if i == 0 { 100 } else { 1 })).await;
            i
        }
    });
    assert_eq!(mapped.next().await, Some(0));
    assert_eq!(clock.elapsed(), Duration::from_millis(100));
    // 0 and 1 ran, then 2 and 3 took 1's finished place until the buffer
    // held 2 outputs: a window of 2n = 4 items, started by then; after 0
    // is out, one more starts at once.
    assert_eq!(started.load(SeqCst), 5);
    let rest: Vec<u64> = mapped.collect().await;
    assert_eq!(rest, (1..10).collect::<Vec<_>>());
}

#[anyrt_test::test(virtual_time)]
async fn size_hints_count_the_work_in_flight() {
    let mut mapped = futures::stream::iter(0..10).map_concurrent(n(), |i| async move {
        anyrt_core::sleep(Duration::from_millis(1)).await;
        i
    });
    assert_eq!(mapped.size_hint(), (10, Some(10)));
    mapped.next().await;
    assert_eq!(mapped.size_hint(), (9, Some(9)));
    let mut unordered =
        futures::stream::iter(0..10).map_concurrent_unordered(n(), |i| async move { i });
    assert_eq!(unordered.size_hint(), (10, Some(10)));
    unordered.next().await;
    assert_eq!(unordered.size_hint(), (9, Some(9)));
    let rest: Vec<_> = unordered.collect().await;
    assert_eq!(rest.len(), 9);
}

#[anyrt_test::test(virtual_time)]
async fn fused_after_the_end() {
    use futures::stream::FusedStream;
    let mut mapped = futures::stream::iter(0..2).map_concurrent(n(), |i| async move { i });
    assert!(!mapped.is_terminated());
    while mapped.next().await.is_some() {}
    assert!(mapped.is_terminated());
    assert_eq!(mapped.next().await, None);
}

/// Drains `stream`, catching each panic it resumes: the items, and how many
/// panics were caught.
async fn drain_catching<S: Stream + Unpin>(mut stream: S) -> (Vec<S::Item>, usize) {
    use futures::FutureExt;
    let (mut items, mut panics) = (Vec::new(), 0);
    loop {
        match std::panic::AssertUnwindSafe(stream.next())
            .catch_unwind()
            .await
        {
            Ok(Some(item)) => items.push(item),
            Ok(None) => return (items, panics),
            Err(_) => panics += 1,
        }
    }
}

/// Item 1's future panics on its first poll; items 0 and 2 to 5 finish
/// later, on the virtual clock.
fn panicking_on_one(i: usize) -> futures::future::BoxFuture<'static, usize> {
    Box::pin(async move {
        if i == 1 {
            panic!("work failed");
        }
        anyrt_core::sleep(Duration::from_millis(1 + i as u64)).await;
        i
    })
}

#[anyrt_test::test(virtual_time, timeout = 10)]
async fn regression_a_caught_panic_in_a_future_leaves_the_unordered_map_going() {
    // The panicked future kept its slot (counted in flight, never polled
    // again): with one slot, the stream hung after the panic was caught.
    let mapped =
        futures::stream::iter(0..6).map_concurrent_unordered(NonZeroUsize::MIN, panicking_on_one);
    let (mut items, panics) = drain_catching(mapped).await;
    items.sort_unstable();
    assert_eq!((items, panics), (vec![0, 2, 3, 4, 5], 1));
}

#[anyrt_test::test(virtual_time, timeout = 10)]
async fn regression_a_caught_panic_in_a_future_leaves_the_ordered_map_going() {
    // The ordered map also waited forever for the panicked item's output.
    let mapped =
        futures::stream::iter(0..6).map_concurrent(NonZeroUsize::new(2).unwrap(), panicking_on_one);
    assert_eq!(drain_catching(mapped).await, (vec![0, 2, 3, 4, 5], 1));
}

#[anyrt_test::test(virtual_time, timeout = 10)]
async fn regression_a_panicked_future_is_not_counted_in_the_size_hint() {
    // The panicked item's place still counted as an output to come, so
    // the lower bound promised one item more than the stream yields.
    use futures::FutureExt;
    let mut mapped =
        futures::stream::iter(0..2).map_concurrent(NonZeroUsize::new(2).unwrap(), panicking_on_one);
    let caught = std::panic::AssertUnwindSafe(mapped.next())
        .catch_unwind()
        .await;
    assert!(caught.is_err());
    assert_eq!(mapped.size_hint(), (1, Some(1)));
    assert_eq!(mapped.collect::<Vec<_>>().await, [0]);
}
