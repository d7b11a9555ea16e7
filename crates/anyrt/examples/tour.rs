//! A tour of anyrt on every runtime: the same code sleeps, spawns and times
//! out on smol, tokio (both flavours), async-std and a bare `block_on`, and
//! prints what it did.
//!
//! Run it with `cargo run -p anyrt --example tour`.

use std::time::{Duration, Instant};

use anyrt::{Runtime, with_runtime};

/// The code under tour: it names no runtime.
async fn tour() -> String {
    let start = Instant::now();
    anyrt::sleep(Duration::from_millis(10)).await;
    let slept = start.elapsed();

    let task = anyrt::spawn(async {
        anyrt::sleep(Duration::from_millis(5)).await;
        (1..=10u64).product::<u64>()
    });
    let spawned = task.await;

    let slow = anyrt::sleep(Duration::from_secs(3600));
    let timed_out = anyrt::deadline::timeout(Duration::from_millis(20), slow)
        .await
        .is_err();
    let quick = anyrt::deadline::timeout(Duration::from_secs(1), async { "in time" }).await;

    format!(
        "runtime={:<9} slept {:>5.1} ms, spawned task returned {spawned}, \
         1 h sleep under a 20 ms timeout timed out: {timed_out}, quick future: {:?}, total {:>5.1} ms",
        Runtime::current().name(),
        slept.as_secs_f64() * 1e3,
        quick,
        start.elapsed().as_secs_f64() * 1e3,
    )
}

fn tokio_runtime(mut builder: tokio::runtime::Builder) -> tokio::runtime::Runtime {
    builder.enable_all().build().expect("build a tokio runtime")
}

fn main() {
    let lines = [
        ("smol", smol::block_on(tour())),
        (
            "tokio current-thread",
            tokio_runtime(tokio::runtime::Builder::new_current_thread()).block_on(tour()),
        ),
        (
            "tokio multi-thread",
            tokio_runtime(tokio::runtime::Builder::new_multi_thread()).block_on(tour()),
        ),
        // smol and async-std look alike from inside a future, so say which.
        (
            "async-std",
            async_std::task::block_on(with_runtime(Runtime::AsyncStd, tour())),
        ),
        // A bare executor: anyrt's fallback timer thread and thread pool.
        (
            "futures block_on",
            futures::executor::block_on(with_runtime(Runtime::Fallback, tour())),
        ),
    ];
    for (executor, line) in lines {
        println!("{executor:<22} {line}");
    }
}
