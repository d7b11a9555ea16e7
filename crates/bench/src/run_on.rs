//! Ways to run an operation `n` times on a runtime, shared by every group
//! of cases: each returns a [`Side`] that times only the loop.

use std::future::Future;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyrt_core::{Runtime, with_runtime};

use crate::harness::Side;

/// Awaits `op()` `n` times and returns how long that took.
async fn repeat<F, Fut>(n: u64, op: &F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future,
{
    let start = Instant::now();
    for _ in 0..n {
        black_box(op().await);
    }
    start.elapsed()
}

/// A current-thread tokio runtime with its time driver.
pub(crate) fn tokio_current_thread() -> Rc<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build();
    Rc::new(runtime.expect("cannot build a current-thread tokio runtime"))
}

/// A multi-thread tokio runtime (one worker per core) with its time driver.
pub(crate) fn tokio_multi_thread() -> Rc<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build();
    Rc::new(runtime.expect("cannot build a multi-thread tokio runtime"))
}

/// The loop inside `runtime.block_on`.
pub(crate) fn tokio_block_on<F, Fut>(runtime: Rc<tokio::runtime::Runtime>, op: F) -> Side
where
    F: Fn() -> Fut + 'static,
    Fut: Future,
{
    Box::new(move |n| runtime.block_on(repeat(n, &op)))
}

/// The loop inside a task spawned on `runtime` (so it runs on a worker).
pub(crate) fn tokio_task<F, Fut>(runtime: Rc<tokio::runtime::Runtime>, op: F) -> Side
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
{
    let op = Arc::new(op);
    Box::new(move |n| {
        let op = op.clone();
        let task = runtime.spawn(async move { repeat(n, &*op).await });
        runtime.block_on(task).expect("the benchmark task panicked")
    })
}

/// The loop split over one task per core on a multi-thread `runtime`, all
/// running at once; the time per operation is the wall time over all `n`.
/// This is where state shared between the workers (a reference count on
/// the runtime's handle, say) shows up as contention.
pub(crate) fn tokio_every_worker<F, Fut>(runtime: Rc<tokio::runtime::Runtime>, op: F) -> Side
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
{
    let op = Arc::new(op);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    Box::new(move |n| {
        let start = Instant::now();
        let tasks: Vec<_> = (0..workers)
            .map(|worker| {
                let op = op.clone();
                // The first `n % workers` tasks take one more, so the total is `n`.
                let share = n / workers + u64::from(worker < n % workers);
                runtime.spawn(async move { repeat(share, &*op).await })
            })
            .collect();
        runtime.block_on(async {
            for task in tasks {
                task.await.expect("the benchmark task panicked");
            }
        });
        start.elapsed()
    })
}

/// The loop inside `smol::block_on`.
pub(crate) fn smol_block_on<F, Fut>(op: F) -> Side
where
    F: Fn() -> Fut + 'static,
    Fut: Future,
{
    Box::new(move |n| smol::block_on(repeat(n, &op)))
}

/// The loop inside a task on smol's global executor.
pub(crate) fn smol_task<F, Fut>(op: F) -> Side
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
{
    let op = Arc::new(op);
    Box::new(move |n| {
        let op = op.clone();
        smol::block_on(smol::spawn(async move { repeat(n, &*op).await }))
    })
}

/// The loop inside `futures::executor::block_on`, with no runtime at all.
pub(crate) fn bare_block_on<F, Fut>(op: F) -> Side
where
    F: Fn() -> Fut + 'static,
    Fut: Future,
{
    Box::new(move |n| futures::executor::block_on(repeat(n, &op)))
}

/// The loop inside `futures::executor::block_on`, under
/// `with_runtime(Runtime::Fallback, ..)` so anyrt uses its fallbacks even
/// with runtime features on.
pub(crate) fn fallback_block_on<F, Fut>(op: F) -> Side
where
    F: Fn() -> Fut + 'static,
    Fut: Future,
{
    Box::new(move |n| futures::executor::block_on(with_runtime(Runtime::Fallback, repeat(n, &op))))
}
