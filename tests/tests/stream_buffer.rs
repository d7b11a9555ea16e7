//! Conformance: `buffer` keeps its upstream running while the consumer is
//! busy, bounds its queue, ends with the upstream, and resumes its panic.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_stream::StreamOps;
use futures::StreamExt;
use futures::stream::FusedStream;

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Waits (on real time, bounded) until `done()` holds.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        anyrt_core::sleep(Duration::from_millis(1)).await;
    }
    panic!("the condition never held");
}

#[anyrt_test::test]
async fn the_upstream_runs_while_the_consumer_is_busy() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let source = futures::stream::iter(0..100).inspect(move |_| {
        counter.fetch_add(1, SeqCst);
    });
    let mut buffered = source.buffer(n(10));
    assert_eq!(pulled.load(SeqCst), 0, "nothing runs before the first poll");
    assert_eq!(buffered.next().await, Some(0));
    // The consumer does other work; the task fills the queue meanwhile,
    // up to its bound: the one taken plus 10 queued.
    eventually(|| pulled.load(SeqCst) == 11).await;
    anyrt_core::sleep(Duration::from_millis(5)).await;
    assert_eq!(pulled.load(SeqCst), 11, "the queue is bounded");
    assert_eq!(buffered.len(), 10);
    let rest: Vec<i32> = buffered.by_ref().collect().await;
    assert_eq!(rest, (1..100).collect::<Vec<_>>());
    assert!(buffered.is_terminated());
}

#[anyrt_test::test]
async fn a_concurrent_map_behind_a_buffer_does_not_starve() {
    let finished = Arc::new(AtomicUsize::new(0));
    let counter = finished.clone();
    let mut results = futures::stream::iter(0..4)
        .map_concurrent(n(4), move |i| {
            let counter = counter.clone();
            async move {
                anyrt_core::yield_now().await;
                counter.fetch_add(1, SeqCst);
                i
            }
        })
        .buffer(n(4));
    assert_eq!(results.next().await, Some(0));
    // The loop body awaits something else: the map still finishes.
    eventually(|| finished.load(SeqCst) == 4).await;
    assert_eq!(results.collect::<Vec<_>>().await, [1, 2, 3]);
}

#[anyrt_test::test]
async fn dropping_the_buffer_cancels_its_task() {
    struct Flag(Arc<AtomicUsize>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let flag = Flag(dropped.clone());
    let source = futures::stream::iter(0..).map(move |i| {
        let _keep = &flag;
        i
    });
    let mut buffered = source.buffer(n(2));
    assert_eq!(buffered.next().await, Some(0));
    drop(buffered);
    eventually(|| dropped.load(SeqCst) == 1).await;
}

#[anyrt_test::test]
#[should_panic(expected = "upstream failed")]
async fn a_panic_in_the_upstream_is_resumed_after_the_items_before_it() {
    let source = futures::stream::iter(0..5).map(|i| {
        if i == 3 {
            panic!("upstream failed");
        }
        i
    });
    let mut buffered = source.buffer(n(8));
    for expected in 0..3 {
        assert_eq!(buffered.next().await, Some(expected));
    }
    buffered.next().await;
}

#[anyrt_test::test(timeout = 10)]
async fn regression_a_buffer_polled_after_its_resumed_panic_has_ended() {
    // The second poll polled the finished task again, which panicked with
    // "polled after completion" (or whatever the runtime's task says).
    use futures::FutureExt;
    let source = futures::stream::iter(0..2).map(|i| {
        if i == 1 {
            panic!("upstream failed");
        }
        i
    });
    let mut buffered = source.buffer(n(8));
    assert_eq!(buffered.next().await, Some(0));
    let caught = std::panic::AssertUnwindSafe(buffered.next())
        .catch_unwind()
        .await
        .expect_err("the upstream's panic is resumed");
    assert_eq!(caught.downcast_ref::<&str>(), Some(&"upstream failed"));
    assert!(buffered.is_terminated());
    assert_eq!(buffered.next().await, None);
    assert_eq!(buffered.next().await, None);
}
