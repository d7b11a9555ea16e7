//! Cases for `anyrt-pool`, on a multi-thread tokio runtime with 2 workers
//! and on smol:
//!
//! - uncontended checkout and return, beside deadpool's managed pool and
//!   bb8 (every pool checks the resource at checkout with a no-op check:
//!   our `recycle`, deadpool's `recycle`, bb8's `is_valid` with
//!   `test_on_check_out` at its default `true`; bb8 through its borrowing
//!   `get`, its cheapest);
//! - 64 tasks on a pool of 4, each yielding once while it holds the
//!   resource, beside deadpool, bb8 and the raw semaphores of tokio (fair)
//!   and async-lock (barging) as floors;
//! - our `Semaphore` contended the same way beside `tokio::sync::Semaphore`
//!   and `async_lock::Semaphore`;
//! - `BufferPool` get and drop of a 4 KiB buffer beside allocating and
//!   freeing a `Vec` of 4 KiB.
//!
//! Timeouts as each peer has them by default: against deadpool (none) and
//! the raw semaphores ours has no acquire timeout; against bb8 (a 30 s
//! connection timeout) ours has its default 30 s acquire timeout.
//!
//! Every pool has 4 resources (plain `u64`s), created in the warm-up. The
//! per-task wait spread of the semaphores is printed by the `pool-spread`
//! binary.

use std::convert::Infallible;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyrt_pool::{BufferPool, Pool};

use crate::harness::{Case, Pair, Side};
use crate::run_on::{bare_block_on, smol_task, tokio_task};

/// Tasks of the contended cases, and the pool size they share.
pub(crate) const TASKS: u64 = 64;
/// Resources (or permits) of every pool.
pub(crate) const SIZE: usize = 4;

/// The cases of this group, in table order.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "pool/tokio-mt2: get+drop uncontended vs deadpool (managed)",
            build: uncontended_vs_deadpool,
        },
        Case {
            name: "pool/tokio-mt2: get+drop uncontended vs bb8",
            build: uncontended_vs_bb8,
        },
        Case {
            name: "pool/tokio-mt2: 64 tasks on 4, yield while held vs deadpool (managed)",
            build: contended_vs_deadpool,
        },
        Case {
            name: "pool/tokio-mt2: 64 tasks on 4, yield while held vs bb8",
            build: contended_vs_bb8,
        },
        Case {
            name: "pool/tokio-mt2: 64 tasks on 4, yield while held vs async_lock::Semaphore",
            build: contended_vs_async_lock,
        },
        Case {
            name: "pool/tokio-mt2: 64 tasks on 4, yield while held vs tokio::sync::Semaphore",
            build: contended_vs_tokio_semaphore,
        },
        Case {
            name: "pool/tokio-mt2: Semaphore 64 tasks on 4 vs tokio::sync::Semaphore",
            build: semaphore_vs_tokio,
        },
        Case {
            name: "pool/tokio-mt2: Semaphore 64 tasks on 4 vs async_lock::Semaphore",
            build: semaphore_vs_async_lock,
        },
        Case {
            name: "pool/smol: get+drop uncontended vs deadpool (managed)",
            build: smol_uncontended_vs_deadpool,
        },
        Case {
            name: "pool/smol: 64 tasks on 4, yield while held vs deadpool (managed)",
            build: smol_contended_vs_deadpool,
        },
        Case {
            name: "pool/smol: Semaphore 64 tasks on 4 vs async_lock::Semaphore",
            build: smol_semaphore_vs_async_lock,
        },
        Case {
            name: "pool/bare: BufferPool 4 KiB get+drop vs Vec alloc+free",
            build: buffer_vs_vec,
        },
    ]
}

/// A multi-thread tokio runtime with 2 workers and its time driver.
pub(crate) fn tokio_two_workers() -> Rc<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build();
    Rc::new(runtime.expect("cannot build a tokio runtime"))
}

/// The manager of every pool: makes `u64`s, checks nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Numbers;

impl anyrt_pool::Manager for Numbers {
    type Type = u64;
    type Error = Infallible;

    async fn create(&self) -> Result<u64, Infallible> {
        Ok(7)
    }
}

impl deadpool::managed::Manager for Numbers {
    type Type = u64;
    type Error = Infallible;

    async fn create(&self) -> Result<u64, Infallible> {
        Ok(7)
    }

    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Infallible> {
        Ok(())
    }
}

impl bb8::ManageConnection for Numbers {
    type Connection = u64;
    type Error = Infallible;

    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(7)
    }

    async fn is_valid(&self, _: &mut u64) -> Result<(), Infallible> {
        Ok(())
    }

    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

/// Our pool with no acquire timeout, as deadpool's default has none;
/// leaked so that futures can borrow it for `'static`.
pub(crate) fn ours() -> &'static Pool<Numbers> {
    let pool = Pool::builder(Numbers)
        .max_size(SIZE)
        .acquire_timeout(Duration::MAX)
        .build();
    Box::leak(Box::new(pool.expect("a valid pool")))
}

/// Our pool with its default 30 s acquire timeout, beside bb8's default
/// 30 s connection timeout.
pub(crate) fn ours_with_timeout() -> &'static Pool<Numbers> {
    let pool = Pool::builder(Numbers).max_size(SIZE).build();
    Box::leak(Box::new(pool.expect("a valid pool")))
}

/// deadpool's managed pool of the same size.
pub(crate) fn deadpool() -> &'static deadpool::managed::Pool<Numbers> {
    let pool = deadpool::managed::Pool::builder(Numbers)
        .max_size(SIZE)
        .build();
    Box::leak(Box::new(pool.expect("a valid deadpool")))
}

/// bb8's pool of the same size (built inside `runtime`: it spawns its
/// reaper there).
fn bb8(runtime: &tokio::runtime::Runtime) -> &'static bb8::Pool<Numbers> {
    let pool = runtime.block_on(bb8::Pool::builder().max_size(SIZE as u32).build(Numbers));
    Box::leak(Box::new(pool.expect("a valid bb8 pool")))
}

fn uncontended_vs_deadpool() -> Pair {
    let runtime = tokio_two_workers();
    let (ours, peer) = (ours(), deadpool());
    Pair {
        ours: tokio_task(runtime.clone(), move || async move {
            drop(black_box(ours.get().await.expect("a resource")));
        }),
        peer: tokio_task(runtime, move || async move {
            drop(black_box(peer.get().await.expect("a resource")));
        }),
    }
}

fn uncontended_vs_bb8() -> Pair {
    let runtime = tokio_two_workers();
    let (ours, peer) = (ours_with_timeout(), bb8(&runtime));
    Pair {
        ours: tokio_task(runtime.clone(), move || async move {
            drop(black_box(ours.get().await.expect("a resource")));
        }),
        peer: tokio_task(runtime, move || async move {
            drop(black_box(peer.get().await.expect("a resource")));
        }),
    }
}

/// `n` operations split over `TASKS` tasks spawned on `runtime`, all at
/// once; the wall time of all of them.
fn tokio_contended<F, Fut>(runtime: Rc<tokio::runtime::Runtime>, op: F) -> Side
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    Box::new(move |n| {
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let op = op.clone();
                let share = n / TASKS + u64::from(task < n % TASKS);
                runtime.spawn(async move {
                    for _ in 0..share {
                        op().await;
                    }
                })
            })
            .collect();
        runtime.block_on(async {
            for task in tasks {
                task.await.expect("a benchmark task panicked");
            }
        });
        start.elapsed()
    })
}

/// As [`tokio_contended`], on smol's global executor.
fn smol_contended<F, Fut>(op: F) -> Side
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let op = Arc::new(op);
    Box::new(move |n| {
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let op = op.clone();
                let share = n / TASKS + u64::from(task < n % TASKS);
                smol::spawn(async move {
                    for _ in 0..share {
                        op().await;
                    }
                })
            })
            .collect();
        smol::block_on(async {
            for task in tasks {
                task.await;
            }
        });
        start.elapsed()
    })
}

async fn hold_ours(pool: &Pool<Numbers>) {
    let guard = pool.get().await.expect("a resource");
    tokio::task::yield_now().await;
    drop(black_box(guard));
}

async fn hold_deadpool(pool: &deadpool::managed::Pool<Numbers>) {
    let guard = pool.get().await.expect("a resource");
    tokio::task::yield_now().await;
    drop(black_box(guard));
}

fn contended_vs_deadpool() -> Pair {
    let runtime = tokio_two_workers();
    let (ours, peer) = (ours(), deadpool());
    Pair {
        ours: tokio_contended(runtime.clone(), move || hold_ours(ours)),
        peer: tokio_contended(runtime, move || hold_deadpool(peer)),
    }
}

fn contended_vs_bb8() -> Pair {
    let runtime = tokio_two_workers();
    let (ours, peer) = (ours_with_timeout(), bb8(&runtime));
    Pair {
        ours: tokio_contended(runtime.clone(), move || hold_ours(ours)),
        peer: tokio_contended(runtime, move || async move {
            let guard = peer.get().await.expect("a resource");
            tokio::task::yield_now().await;
            drop(black_box(guard));
        }),
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn contended_vs_async_lock() -> Pair {
    let runtime = tokio_two_workers();
    let (ours, peer) = (ours(), leak(async_lock::Semaphore::new(SIZE)));
    Pair {
        ours: tokio_contended(runtime.clone(), move || hold_ours(ours)),
        peer: tokio_contended(runtime, move || async move {
            let permit = peer.acquire().await;
            tokio::task::yield_now().await;
            drop(black_box(permit));
        }),
    }
}

async fn hold_tokio_permit(semaphore: &tokio::sync::Semaphore) {
    let permit = semaphore.acquire().await.expect("never closed");
    tokio::task::yield_now().await;
    drop(black_box(permit));
}

async fn hold_our_permit(semaphore: &anyrt_pool::Semaphore) {
    let permit = semaphore.acquire().await.expect("never closed");
    tokio::task::yield_now().await;
    drop(black_box(permit));
}

fn contended_vs_tokio_semaphore() -> Pair {
    let runtime = tokio_two_workers();
    let (ours, peer) = (ours(), leak(tokio::sync::Semaphore::new(SIZE)));
    Pair {
        ours: tokio_contended(runtime.clone(), move || hold_ours(ours)),
        peer: tokio_contended(runtime, move || hold_tokio_permit(peer)),
    }
}

fn semaphore_vs_tokio() -> Pair {
    let runtime = tokio_two_workers();
    let ours = leak(anyrt_pool::Semaphore::new(SIZE));
    let peer = leak(tokio::sync::Semaphore::new(SIZE));
    Pair {
        ours: tokio_contended(runtime.clone(), move || hold_our_permit(ours)),
        peer: tokio_contended(runtime, move || hold_tokio_permit(peer)),
    }
}

fn semaphore_vs_async_lock() -> Pair {
    let runtime = tokio_two_workers();
    let ours = leak(anyrt_pool::Semaphore::new(SIZE));
    let peer = leak(async_lock::Semaphore::new(SIZE));
    Pair {
        ours: tokio_contended(runtime.clone(), move || hold_our_permit(ours)),
        peer: tokio_contended(runtime, move || async move {
            let permit = peer.acquire().await;
            tokio::task::yield_now().await;
            drop(black_box(permit));
        }),
    }
}

fn smol_uncontended_vs_deadpool() -> Pair {
    let (ours, peer) = (ours(), deadpool());
    Pair {
        ours: smol_task(move || async move {
            drop(black_box(ours.get().await.expect("a resource")));
        }),
        peer: smol_task(move || async move {
            drop(black_box(peer.get().await.expect("a resource")));
        }),
    }
}

fn smol_contended_vs_deadpool() -> Pair {
    let (ours, peer) = (ours(), deadpool());
    Pair {
        ours: smol_contended(move || async move {
            let guard = ours.get().await.expect("a resource");
            futures_lite::future::yield_now().await;
            drop(black_box(guard));
        }),
        peer: smol_contended(move || async move {
            let guard = peer.get().await.expect("a resource");
            futures_lite::future::yield_now().await;
            drop(black_box(guard));
        }),
    }
}

fn smol_semaphore_vs_async_lock() -> Pair {
    let ours = leak(anyrt_pool::Semaphore::new(SIZE));
    let peer = leak(async_lock::Semaphore::new(SIZE));
    Pair {
        ours: smol_contended(move || async move {
            let permit = ours.acquire().await.expect("never closed");
            futures_lite::future::yield_now().await;
            drop(black_box(permit));
        }),
        peer: smol_contended(move || async move {
            let permit = peer.acquire().await;
            futures_lite::future::yield_now().await;
            drop(black_box(permit));
        }),
    }
}

fn buffer_vs_vec() -> Pair {
    let pool = leak(
        BufferPool::builder()
            .classes([4096])
            .max_bytes(1 << 20)
            .build()
            .expect("a valid buffer pool"),
    );
    Pair {
        ours: bare_block_on(move || async move {
            let mut buffer = pool.get(4096).await.expect("a buffer");
            buffer.push(1);
            black_box(&buffer);
        }),
        peer: bare_block_on(|| async {
            let mut buffer = Vec::<u8>::with_capacity(4096);
            buffer.push(1);
            black_box(&buffer);
        }),
    }
}
