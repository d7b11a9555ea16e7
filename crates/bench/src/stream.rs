//! Cases for `anyrt-stream`, each per item (or per call for the limiter),
//! beside the peer's strongest comparable configuration:
//!
//! - `chunks_timeout(100, 1 s)` over ready items: vs tokio-stream's
//!   `chunks_timeout` on a current-thread tokio runtime (both on tokio's
//!   timer), and vs futures' `chunks(100)` (no timer at all) under a bare
//!   `block_on`.
//! - `merge` of 8 and of 1,000 always-ready streams: vs
//!   `futures::stream::select_all` and futures-concurrency's `Vec::merge`.
//! - `map_concurrent_unordered(64)` vs `buffer_unordered(64)` and
//!   futures-concurrency's `co().limit(64).map(..)`, over futures
//!   that are ready at once and over futures that are pending once (they
//!   wake themselves), so the per-future waker path is measured.
//! - `KeyedRateLimiter::try_acquire` vs governor's `check_key` on its
//!   default keyed limiter (a `DashMap`, std's hasher on both sides),
//!   1,000 keys made before timing and used in turn.
//! - `RateLimiter::try_acquire` vs governor's `check` on a direct
//!   (unkeyed) `governor::RateLimiter`, with its default clock
//!   (`QuantaClock`: the TSC read on every call, as ours) and no
//!   middleware, both with a quota that always grants, on one thread and
//!   split over two threads (there, one operation is 1,000 calls, so that
//!   starting the threads is not what is measured). governor's
//!   `QuantaUpkeepClock` is not used: it reads a time that a background
//!   thread refreshes, so its readings lag by up to the refresh interval,
//!   which ours never do.

use std::future::Future;
use std::hint::black_box;
use std::num::{NonZeroU32, NonZeroUsize};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_stream::{RateLimiter, StreamOps, merge};
use futures::StreamExt;

use crate::harness::{Case, Pair, Side};
use crate::run_on::tokio_current_thread;

/// The cases of this group, in table order.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "stream/tokio: chunks_timeout(100, 1s) per item vs tokio-stream chunks_timeout",
            build: chunks_vs_tokio_stream,
        },
        Case {
            name: "stream: chunks_timeout(100, 1s) per item vs futures chunks(100) (no timer)",
            build: chunks_vs_futures,
        },
        Case {
            name: "stream: merge of 8 per item vs futures select_all",
            build: || merge_vs_select_all(8),
        },
        Case {
            name: "stream: merge of 8 per item vs futures-concurrency Vec::merge",
            build: || merge_vs_concurrency(8),
        },
        Case {
            name: "stream: merge of 1,000 per item vs futures select_all",
            build: || merge_vs_select_all(1000),
        },
        Case {
            name: "stream: merge of 1,000 per item vs futures-concurrency Vec::merge",
            build: || merge_vs_concurrency(1000),
        },
        Case {
            name: "stream: map_concurrent_unordered(64), ready futures, vs buffer_unordered(64)",
            build: || map_vs_buffer_unordered(false),
        },
        Case {
            name: "stream: map_concurrent_unordered(64), pending-once futures, vs buffer_unordered(64)",
            build: || map_vs_buffer_unordered(true),
        },
        Case {
            name: "stream: map_concurrent_unordered(64), ready futures, vs futures-concurrency co().limit(64)",
            build: || map_vs_co_limit(false),
        },
        Case {
            name: "stream: map_concurrent_unordered(64), pending-once futures, vs futures-concurrency co().limit(64)",
            build: || map_vs_co_limit(true),
        },
        Case {
            name: "stream: RateLimiter::try_acquire vs governor check",
            build: || limiter_vs_governor(1),
        },
        Case {
            name: "stream: RateLimiter::try_acquire on 2 threads, per 1,000 calls, vs governor check",
            build: || limiter_vs_governor(2),
        },
        Case {
            name: "stream: KeyedRateLimiter::try_acquire, 1,000 keys in turn, vs governor check_key",
            build: keyed_vs_governor,
        },
    ]
}

/// A side that times one run of `run(n)` under a bare `block_on`.
fn timed<F, Fut>(run: F) -> Side
where
    F: Fn(u64) -> Fut + 'static,
    Fut: Future<Output = u64>,
{
    Box::new(move |n| {
        let start = Instant::now();
        let out = futures::executor::block_on(run(n));
        assert_eq!(out, n, "every item came out");
        start.elapsed()
    })
}

fn hundred() -> NonZeroUsize {
    NonZeroUsize::new(100).expect("not zero")
}

/// Counts the items in the chunks of `chunks`.
async fn count_chunks<S: futures::Stream<Item = Vec<u64>> + Unpin>(mut chunks: S) -> u64 {
    let mut items = 0;
    while let Some(chunk) = chunks.next().await {
        items += black_box(chunk).len() as u64;
    }
    items
}

fn chunks_vs_tokio_stream() -> Pair {
    let runtime = tokio_current_thread();
    let peer_runtime = runtime.clone();
    Pair {
        ours: Box::new(move |n| {
            let start = Instant::now();
            let source = futures::stream::iter(0..n);
            let items = runtime.block_on(count_chunks(
                source.chunks_timeout(hundred(), Duration::from_secs(1)),
            ));
            assert_eq!(items, n);
            start.elapsed()
        }),
        peer: Box::new(move |n| {
            let start = Instant::now();
            let source = tokio_stream::iter(0..n);
            let chunks =
                tokio_stream::StreamExt::chunks_timeout(source, 100, Duration::from_secs(1));
            let items = peer_runtime.block_on(count_chunks(Box::pin(chunks)));
            assert_eq!(items, n);
            start.elapsed()
        }),
    }
}

fn chunks_vs_futures() -> Pair {
    Pair {
        ours: timed(|n| {
            let source = futures::stream::iter(0..n);
            count_chunks(source.chunks_timeout(hundred(), Duration::from_secs(1)))
        }),
        peer: timed(|n| count_chunks(futures::stream::iter(0..n).chunks(100))),
    }
}

/// `k` ranges that together hold `0..n`.
fn ranges(n: u64, k: u64) -> Vec<futures::stream::Iter<std::ops::Range<u64>>> {
    (0..k)
        .map(|i| {
            let len = n / k + u64::from(i < n % k);
            futures::stream::iter(0..len)
        })
        .collect()
}

async fn count<S: futures::Stream + Unpin>(mut stream: S) -> u64 {
    let mut items = 0;
    while let Some(item) = stream.next().await {
        black_box(item);
        items += 1;
    }
    items
}

fn merge_vs_select_all(k: u64) -> Pair {
    Pair {
        ours: timed(move |n| count(merge(ranges(n, k)))),
        peer: timed(move |n| count(futures::stream::select_all(ranges(n, k)))),
    }
}

fn merge_vs_concurrency(k: u64) -> Pair {
    use futures_concurrency::stream::Merge as _;
    Pair {
        ours: timed(move |n| count(merge(ranges(n, k)))),
        peer: timed(move |n| count(ranges(n, k).merge())),
    }
}

/// A future that is pending once (waking itself), then ready.
struct PendingOnce(Option<u64>, bool);

impl Future for PendingOnce {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if !self.1 {
            self.1 = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.0.take().unwrap_or_default())
    }
}

fn work(pending_once: bool) -> impl Fn(u64) -> PendingOnce + Copy {
    move |i| PendingOnce(Some(i), !pending_once)
}

fn map_vs_buffer_unordered(pending_once: bool) -> Pair {
    let limit = NonZeroUsize::new(64).expect("not zero");
    Pair {
        ours: timed(move |n| {
            count(futures::stream::iter(0..n).map_concurrent_unordered(limit, work(pending_once)))
        }),
        peer: timed(move |n| {
            count(
                futures::stream::iter(0..n)
                    .map(work(pending_once))
                    .buffer_unordered(64),
            )
        }),
    }
}

fn map_vs_co_limit(pending_once: bool) -> Pair {
    use futures_concurrency::prelude::*;
    let limit = NonZeroUsize::new(64).expect("not zero");
    Pair {
        ours: timed(move |n| {
            count(futures::stream::iter(0..n).map_concurrent_unordered(limit, work(pending_once)))
        }),
        peer: timed(move |n| async move {
            let items = std::cell::Cell::new(0_u64);
            let items = &items;
            futures::stream::iter(0..n)
                .co()
                .limit(Some(limit))
                .map(work(pending_once))
                .for_each(|item| async move {
                    black_box(item);
                    items.set(items.get() + 1);
                })
                .await;
            items.get()
        }),
    }
}

/// Calls per operation of [`threaded`]: starting the threads costs far
/// more than a call, so one operation is this many calls.
const CALLS_PER_OP: u64 = 1_000;

/// A side that runs `op` `n * CALLS_PER_OP` times split over `threads`
/// threads at once.
fn threaded(threads: u64, op: Arc<dyn Fn() -> bool + Send + Sync>) -> Side {
    Box::new(move |n| {
        let n = n * CALLS_PER_OP;
        let start = Instant::now();
        std::thread::scope(|scope| {
            for t in 0..threads {
                let op = op.clone();
                let share = n / threads + u64::from(t < n % threads);
                scope.spawn(move || {
                    for _ in 0..share {
                        assert!(black_box(op()), "the quota always grants");
                    }
                });
            }
        });
        start.elapsed()
    })
}

fn limiter_vs_governor(threads: u64) -> Pair {
    let ours = RateLimiter::builder(u32::MAX, Duration::from_nanos(1))
        .burst(u32::MAX)
        .build()
        .expect("a valid quota");
    let max = NonZeroU32::new(u32::MAX).expect("not zero");
    let quota = governor::Quota::per_second(max).allow_burst(max);
    let peer = governor::RateLimiter::direct(quota);
    if threads == 1 {
        return Pair {
            ours: Box::new(move |n| {
                let start = Instant::now();
                for _ in 0..n {
                    assert!(black_box(ours.try_acquire()).is_ok());
                }
                start.elapsed()
            }),
            peer: Box::new(move |n| {
                let start = Instant::now();
                for _ in 0..n {
                    assert!(black_box(peer.check()).is_ok());
                }
                start.elapsed()
            }),
        };
    }
    Pair {
        ours: threaded(threads, Arc::new(move || ours.try_acquire().is_ok())),
        peer: threaded(threads, Arc::new(move || peer.check().is_ok())),
    }
}

/// Keys cycled through by the keyed rows, all made before timing.
const KEYS: u64 = 1_000;

fn keyed_vs_governor() -> Pair {
    let ours = RateLimiter::builder(u32::MAX, Duration::from_nanos(1))
        .burst(u32::MAX)
        .build_keyed::<u64>()
        .expect("a valid quota");
    let max = NonZeroU32::new(u32::MAX).expect("not zero");
    let quota = governor::Quota::per_second(max).allow_burst(max);
    let peer = governor::RateLimiter::keyed(quota);
    for key in 0..KEYS {
        assert!(ours.try_acquire(&key).is_ok());
        assert!(peer.check_key(&key).is_ok());
    }
    Pair {
        ours: Box::new(move |n| {
            let start = Instant::now();
            for i in 0..n {
                assert!(black_box(ours.try_acquire(&(i % KEYS))).is_ok());
            }
            start.elapsed()
        }),
        peer: Box::new(move |n| {
            let start = Instant::now();
            for i in 0..n {
                assert!(black_box(peer.check_key(&(i % KEYS))).is_ok());
            }
            start.elapsed()
        }),
    }
}
