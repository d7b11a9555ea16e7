//! `TaskGroup` tasks run in parallel: on tokio multi-thread and on smol,
//! two tasks that each wait for the other's flag both finish, on two
//! threads. smol's executor has one thread unless `SMOL_THREADS` says
//! otherwise before its first use, so this binary re-runs itself with it
//! set; hence a plain `main`.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use anyrt_scope::TaskGroup;
use anyrt_test::TestRuntime;

/// Generous: the bound only turns a would-be hang into a clear failure.
const SPIN_LIMIT: Duration = Duration::from_secs(60);

async fn two_tasks_progress_at_once() -> [ThreadId; 2] {
    let flags = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let mut group = TaskGroup::new();
    for me in 0..2 {
        let flags = flags.clone();
        group.spawn(async move {
            flags[me].store(true, SeqCst);
            let start = Instant::now();
            // Blocks its thread on purpose: only a second thread can set
            // the other flag.
            while !flags[1 - me].load(SeqCst) {
                if start.elapsed() > SPIN_LIMIT {
                    return Err(format!(
                        "task {me} never saw the other task's flag: the two tasks did not run at the same time on two threads"
                    ));
                }
                thread::yield_now();
            }
            Ok(thread::current().id())
        });
    }
    let ids = group.try_join_all().await.unwrap_or_else(|e| panic!("{e}"));
    [ids[0], ids[1]]
}

fn main() {
    if std::env::var_os("SMOL_THREADS").is_none() {
        let exe = std::env::current_exe().expect("the test binary's path");
        let status = Command::new(exe)
            .env("SMOL_THREADS", "2")
            .status()
            .expect("the test binary re-runs");
        assert!(status.success(), "scope_parallel failed: {status}");
        return;
    }
    for runtime in [TestRuntime::TokioMultiThread, TestRuntime::Smol] {
        let [a, b] = runtime.block_on(two_tasks_progress_at_once());
        assert_ne!(a, b, "{}: the tasks ran on two threads", runtime.name());
        println!("scope_parallel::{} ... ok", runtime.name());
    }
}
