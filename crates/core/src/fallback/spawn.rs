//! The fallback spawner: the `futures` crate's thread pool, started on the
//! first spawn.

use std::future::Future;
use std::sync::OnceLock;

use futures::executor::ThreadPool;
use futures::task::SpawnExt;

use crate::remote::{RemoteHandle, remote};

static POOL: OnceLock<ThreadPool> = OnceLock::new();

fn pool() -> &'static ThreadPool {
    POOL.get_or_init(|| {
        ThreadPool::builder()
            .name_prefix("anyrt-worker-")
            .create()
            .expect("anyrt: cannot start the fallback thread pool")
    })
}

/// Spawns on the pool; the handle catches a panic and resumes it when
/// polled, and cancels the future when dropped.
pub(crate) fn spawn<F>(future: F) -> RemoteHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (remote, handle) = remote(future);
    pool()
        .spawn(remote)
        .expect("anyrt: the fallback thread pool refused a task");
    handle
}

/// Whether the fallback pool has been started in this process.
pub(crate) fn started() -> bool {
    POOL.get().is_some()
}
