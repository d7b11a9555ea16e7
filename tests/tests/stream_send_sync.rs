//! Auto traits of the public types of `anyrt-stream`: values are `Send +
//! Sync`, operators are `Send` (and `Unpin`) when their upstream is.

use std::num::NonZeroUsize;
use std::time::Duration;

use anyrt_stream::futures::{Acquire, AcquireN, NextEvent};
use anyrt_stream::{
    BuildError, ExceedsBurst, MergeEvent, MergeGroup, RateLimited, RateLimiter, Rejected,
    StreamKey, StreamOps, merge,
};

fn send_sync<T: Send + Sync>() {}
fn send_unpin<T: Send + Unpin>(_: &T) {}

type Source = futures::stream::Iter<std::ops::Range<u32>>;

fn source() -> Source {
    futures::stream::iter(0..3)
}

#[test]
fn values_are_send_and_sync() {
    send_sync::<RateLimiter>();
    send_sync::<BuildError>();
    send_sync::<RateLimited>();
    send_sync::<ExceedsBurst>();
    send_sync::<Rejected<String>>();
    send_sync::<StreamKey>();
    send_sync::<MergeEvent<u8>>();
    send_sync::<NextEvent<'static, Source>>();
}

#[test]
fn the_acquire_futures_are_send_and_unpin() {
    let limiter = RateLimiter::new(10, Duration::from_secs(1)).unwrap();
    let acquire: Acquire<'_> = limiter.acquire();
    send_unpin(&acquire);
    let acquire_n: AcquireN<'_> = limiter.acquire_n(2);
    send_unpin(&acquire_n);
}

#[test]
fn operators_are_send_and_unpin_over_a_send_unpin_stream() {
    let limiter = RateLimiter::new(10, Duration::from_secs(1)).unwrap();
    let n = NonZeroUsize::new(2).unwrap();
    let d = Duration::from_millis(1);
    send_unpin(&source().chunks_timeout(n, d));
    send_unpin(&source().map(Ok::<u32, ()>).try_chunks_timeout(n, d));
    send_unpin(&source().rate_limit(&limiter));
    send_unpin(&source().rate_limit_by(&limiter, |_| 1));
    send_unpin(&source().pace(d));
    send_unpin(&source().timeout_each(d));
    send_unpin(&source().debounce(d));
    send_unpin(&source().throttle(d));
    send_unpin(&source().throttle_latest(d));
    send_unpin(&source().map_concurrent(n, |i| async move { i }));
    send_unpin(&source().map_concurrent_unordered(n, |i| async move { i }));
    send_unpin(&source().buffer(n));
    send_unpin(&merge([source(), source()]));
    send_unpin(&MergeGroup::<Source>::new());
    // The concurrent maps box their futures: `Unpin` even when these are not.
    send_unpin(&source().map_concurrent(n, |i| async move {
        anyrt_core::sleep(Duration::from_millis(u64::from(i))).await;
        i
    }));
}

use futures::StreamExt as _;

/// Operators over a `buffer` of items that borrow for `'static` can run
/// inside a spawned task. While `buffer`'s stream impl was bound by
/// `'static`, a future holding `chunks_timeout` (or any operator that
/// stores items) over it failed to compile inside `spawn`
/// ("implementation of `Send` is not general enough").
#[anyrt_test::test]
async fn operators_over_a_buffer_of_static_borrows_run_in_spawned_tasks() {
    let n = NonZeroUsize::new(2).unwrap();
    let task = anyrt_core::spawn(async move {
        let words = || futures::stream::iter(["a", "b", "c"]);
        let chunks: Vec<Vec<&'static str>> = words()
            .buffer(n)
            .chunks_timeout(n, Duration::from_secs(1))
            .collect()
            .await;
        let mapped: Vec<&'static str> = words()
            .buffer(n)
            .map_concurrent(n, |w| async move { w })
            .collect()
            .await;
        let mut merged: Vec<&'static str> = merge([words().buffer(n), words().buffer(n)])
            .collect()
            .await;
        merged.sort_unstable();
        (chunks, mapped, merged)
    });
    let (chunks, mapped, merged) = task.await;
    assert_eq!(chunks, [vec!["a", "b"], vec!["c"]]);
    assert_eq!(mapped, ["a", "b", "c"]);
    assert_eq!(merged, ["a", "a", "b", "b", "c", "c"]);
}
