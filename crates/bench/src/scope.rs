//! Cases for `anyrt-scope`: one operation is a whole scope (or group) of
//! 10,000 children, so the allocations column counts per scope; divide by
//! 10,000 for per child.
//!
//! - In place, trivial children (ready at their first poll), spawned and
//!   completed under `futures::executor::block_on`: ours is a fresh
//!   `Scope` per operation; the peers are a fresh `FuturesUnordered` (the
//!   floor: no handles, no error policy), a fresh futures-concurrency
//!   `FutureGroup`, and a fresh `moro::async_scope!`, each drained to the
//!   end.
//! - Parallel tasks: `TaskGroup` on a tokio multi-thread runtime (the loop
//!   in a task on a worker) beside `tokio::task::JoinSet`, both drained
//!   with `join_next`; on smol, `TaskGroup::join_all` beside a `Vec` of
//!   `smol::Task`s awaited in order (both give outputs in spawn order).
//! - Fail-fast latency: 10,000 pending children and one that fails; the
//!   time measured runs from the failing child's `Err` to the scope's
//!   return, by which every sibling was dropped. The peer is the same by
//!   hand: a `FuturesUnordered` drained until the first `Err`, then
//!   dropped.

use std::convert::Infallible;
use std::future::pending;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyrt_scope::{Scope, TaskGroup};
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use futures_concurrency::future::FutureGroup;

use crate::harness::{Case, Pair, Side};
use crate::run_on::{bare_block_on, smol_task, tokio_multi_thread, tokio_task};

/// Children per operation.
const N: u64 = 10_000;

/// The cases of this group, in table order.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "scope: 10,000 in-place children spawn+complete vs FuturesUnordered",
            build: in_place_vs_futures_unordered,
        },
        Case {
            name: "scope: 10,000 in-place children spawn+complete vs futures-concurrency FutureGroup",
            build: in_place_vs_future_group,
        },
        Case {
            name: "scope: 10,000 in-place children spawn+complete vs moro",
            build: in_place_vs_moro,
        },
        Case {
            name: "scope/tokio multi-thread: TaskGroup 10,000 tasks, join_next vs JoinSet",
            build: tokio_group_vs_join_set,
        },
        Case {
            name: "scope/smol: TaskGroup 10,000 tasks, join_all vs Vec<smol::Task>",
            build: smol_group_vs_tasks,
        },
        Case {
            name: "scope: fail fast, first Err to 10,000 siblings dropped vs FuturesUnordered by hand",
            build: fail_fast_vs_by_hand,
        },
    ]
}

async fn ours_in_place() -> u64 {
    let s = Scope::<Infallible>::new();
    let run = s.run(async {
        for i in 0..N {
            s.spawn(async move { Ok(i) });
        }
        Ok(N)
    });
    run.await.unwrap_or_else(|never| match never {})
}

fn in_place_vs_futures_unordered() -> Pair {
    Pair {
        ours: bare_block_on(ours_in_place),
        peer: bare_block_on(|| async {
            let mut set = FuturesUnordered::new();
            for i in 0..N {
                set.push(async move { i });
            }
            while set.next().await.is_some() {}
            N
        }),
    }
}

fn in_place_vs_future_group() -> Pair {
    Pair {
        ours: bare_block_on(ours_in_place),
        peer: bare_block_on(|| async {
            let mut group = FutureGroup::new();
            for i in 0..N {
                group.insert(async move { i });
            }
            while group.next().await.is_some() {}
            N
        }),
    }
}

fn in_place_vs_moro() -> Pair {
    Pair {
        ours: bare_block_on(ours_in_place),
        peer: bare_block_on(|| async {
            moro::async_scope!(|scope| {
                for i in 0..N {
                    drop(scope.spawn(async move { i }));
                }
                N
            })
            .await
        }),
    }
}

fn tokio_group_vs_join_set() -> Pair {
    let runtime = tokio_multi_thread();
    Pair {
        ours: tokio_task(runtime.clone(), || async {
            let mut group = TaskGroup::new();
            for i in 0..N {
                group.spawn(async move { i });
            }
            let mut sum = 0;
            while let Some(i) = group.join_next().await {
                sum += i;
            }
            sum
        }),
        peer: tokio_task(runtime, || async {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..N {
                set.spawn(async move { i });
            }
            let mut sum = 0;
            while let Some(i) = set.join_next().await {
                sum += i.expect("the task ends without panicking");
            }
            sum
        }),
    }
}

fn smol_group_vs_tasks() -> Pair {
    Pair {
        ours: smol_task(|| async {
            let mut group = TaskGroup::new();
            for i in 0..N {
                group.spawn(async move { i });
            }
            group.join_all().await.into_iter().sum::<u64>()
        }),
        peer: smol_task(|| async {
            let tasks: Vec<_> = (0..N).map(|i| smol::spawn(async move { i })).collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await;
            }
            sum
        }),
    }
}

/// Runs `op` `n` times, each returning the instant of its failure, and
/// sums the time from that instant to the op's return.
fn latency<F: Fn() -> Option<Instant> + 'static>(op: F) -> Side {
    Box::new(move |n| {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            let failed_at = op().expect("the failing child ran");
            total += failed_at.elapsed();
        }
        total
    })
}

fn fail_fast_vs_by_hand() -> Pair {
    Pair {
        ours: latency(|| {
            let failed_at = Mutex::new(None);
            let s = Scope::<&str>::new();
            let outcome = futures::executor::block_on(s.run(async {
                for _ in 0..N {
                    s.spawn(pending::<Result<(), &str>>());
                }
                let failed_at = &failed_at;
                s.spawn(async move {
                    futures_lite::future::yield_now().await;
                    *failed_at.lock().unwrap() = Some(Instant::now());
                    Err::<(), _>("failed")
                });
                Ok(())
            }));
            assert!(outcome.is_err());
            failed_at.into_inner().unwrap()
        }),
        peer: latency(|| {
            let failed_at = Mutex::new(None);
            futures::executor::block_on(async {
                let failed_at = &failed_at;
                let mut set: FuturesUnordered<_> = (0..=N)
                    .map(|i| async move {
                        if i < N {
                            pending::<()>().await;
                        }
                        futures_lite::future::yield_now().await;
                        *failed_at.lock().unwrap() = Some(Instant::now());
                        Err::<(), _>("failed")
                    })
                    .collect();
                // Fail fast by hand: stop at the first error, drop the rest.
                while let Some(outcome) = set.next().await {
                    if outcome.is_err() {
                        drop(set);
                        break;
                    }
                }
            });
            failed_at.into_inner().unwrap()
        }),
    }
}
