//! How fairly three semaphores share 4 permits among 64 tasks:
//! `cargo run --release -p anyrt-bench --bin pool-spread`.
//!
//! On a multi-thread tokio runtime with 2 workers, 64 tasks loop for a
//! fixed time (acquire a permit, yield once while holding it, release),
//! once per semaphore: ours (`anyrt_pool::Semaphore`), tokio's (strict
//! FIFO) and async-lock's (barging). Each run prints a row: acquisitions
//! per second in all, the fewest and the most acquisitions of one task
//! (a starved task shows as a minimum near 0), and the longest single
//! wait for a permit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const TASKS: usize = 64;
const PERMITS: usize = 4;
const RUN: Duration = Duration::from_millis(500);

/// One acquisition: acquire, yield while holding, release.
type Op = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

fn main() {
    println!("| semaphore | acquisitions/s | fewest per task | most per task | longest wait |");
    println!("|---|---:|---:|---:|---:|");
    let ours = Arc::new(anyrt_pool::Semaphore::new(PERMITS));
    run("anyrt_pool::Semaphore", move || {
        let s = ours.clone();
        Box::pin(async move {
            let permit = s.acquire().await.expect("never closed");
            tokio::task::yield_now().await;
            drop(permit);
        })
    });
    let tokio_semaphore = Arc::new(tokio::sync::Semaphore::new(PERMITS));
    run("tokio::sync::Semaphore", move || {
        let s = tokio_semaphore.clone();
        Box::pin(async move {
            let permit = s.acquire().await.expect("never closed");
            tokio::task::yield_now().await;
            drop(permit);
        })
    });
    let async_lock = Arc::new(async_lock::Semaphore::new(PERMITS));
    run("async_lock::Semaphore", move || {
        let s = async_lock.clone();
        Box::pin(async move {
            let permit = s.acquire().await;
            tokio::task::yield_now().await;
            drop(permit);
        })
    });
}

fn run<F>(name: &str, op: F)
where
    F: Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static,
{
    let op: Op = Arc::new(op);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (op, stop) = (op.clone(), stop.clone());
            runtime.spawn(async move {
                let (mut count, mut longest) = (0u64, Duration::ZERO);
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    op().await;
                    longest = longest.max(start.elapsed());
                    count += 1;
                }
                (count, longest)
            })
        })
        .collect();
    std::thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = runtime.block_on(async {
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("a task panicked"));
        }
        results
    });
    let total: u64 = results.iter().map(|r| r.0).sum();
    let fewest = results.iter().map(|r| r.0).min().unwrap_or(0);
    let most = results.iter().map(|r| r.0).max().unwrap_or(0);
    let longest = results.iter().map(|r| r.1).max().unwrap_or_default();
    println!(
        "| {name} | {:.0} | {fewest} | {most} | {longest:?} |",
        total as f64 / RUN.as_secs_f64()
    );
}
