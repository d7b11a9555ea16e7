//! A controllable `anyrt_pool::Manager` for the pool tests: it counts the
//! resources alive, and can be told to fail, hang or be slow.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// What the manager does, shared with the test.
#[derive(Debug, Default)]
pub struct Control {
    /// Ids handed out so far.
    pub created: AtomicUsize,
    /// Resources not yet dropped.
    pub alive: AtomicUsize,
    /// `create` fails with "refused".
    pub refuse: AtomicBool,
    /// `create` never completes.
    pub hang: AtomicBool,
    /// `recycle` fails with "unhealthy".
    pub unhealthy: AtomicBool,
    /// `create` sleeps this long (nanoseconds) first.
    pub create_delay_ns: AtomicU64,
    /// `create` calls that have read their delay (and sleep it, whatever
    /// it is set to later).
    pub creates_started: AtomicUsize,
    /// `recycle` calls.
    pub recycles: AtomicUsize,
    /// `recycle` sleeps this long (nanoseconds) first.
    pub recycle_delay_ns: AtomicU64,
    /// `is_broken` calls.
    pub return_checks: AtomicUsize,
    /// `is_broken` says yes for the resource with this id plus one (0:
    /// for none, `usize::MAX`: for all).
    pub broken_id: AtomicUsize,
    /// `is_broken` panics.
    pub panic_on_return: AtomicBool,
}

impl Control {
    /// Resources not yet dropped.
    pub fn alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }

    /// Resources not yet dropped, once `expected` are, or after a bound
    /// that only turns a hang into a failure. A resource leaves the pool
    /// before its destructor runs, on the thread that gave it back (a
    /// creation task's, say): a test that saw it leave may still have to
    /// wait for that thread to drop it.
    pub fn alive_once(&self, expected: usize) -> usize {
        let start = std::time::Instant::now();
        while self.alive() != expected && start.elapsed() < Duration::from_secs(10) {
            std::thread::yield_now();
        }
        self.alive()
    }

    /// Sets how long `create` sleeps.
    pub fn set_create_delay(&self, delay: Duration) {
        store_nanos(&self.create_delay_ns, delay);
    }

    /// Sets how long `recycle` sleeps.
    pub fn set_recycle_delay(&self, delay: Duration) {
        store_nanos(&self.recycle_delay_ns, delay);
    }
}

fn store_nanos(to: &AtomicU64, delay: Duration) {
    to.store(
        u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX),
        Ordering::SeqCst,
    );
}

/// Sleeps for the nanoseconds in `from`, if any.
async fn sleep_nanos(from: &AtomicU64) {
    sleep_for(from.load(Ordering::SeqCst)).await;
}

/// Sleeps for `nanos` nanoseconds, if any.
async fn sleep_for(nanos: u64) {
    if nanos > 0 {
        anyrt_core::sleep(Duration::from_nanos(nanos)).await;
    }
}

/// The manager's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestError(pub &'static str);

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for TestError {}

/// A resource: an id, counted alive until dropped.
#[derive(Debug)]
pub struct Resource {
    /// 0, 1, 2, ... in creation order.
    pub id: usize,
    control: Arc<Control>,
}

impl Resource {
    /// A resource with the next id, as `create` makes it (for a test that
    /// makes one outside the pool, to `add` it).
    pub fn new(control: &Arc<Control>) -> Resource {
        control.alive.fetch_add(1, Ordering::SeqCst);
        Resource {
            id: control.created.fetch_add(1, Ordering::SeqCst),
            control: control.clone(),
        }
    }
}

impl Drop for Resource {
    fn drop(&mut self) {
        self.control.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The manager; `create` yields once before it completes, so a creation
/// always takes more than one poll.
#[derive(Debug, Default, Clone)]
pub struct TestManager(pub Arc<Control>);

impl TestManager {
    /// A manager and its control.
    pub fn new() -> (TestManager, Arc<Control>) {
        let control = Arc::new(Control::default());
        (TestManager(control.clone()), control)
    }
}

impl anyrt_pool::Manager for TestManager {
    type Type = Resource;
    type Error = TestError;

    async fn create(&self) -> Result<Resource, TestError> {
        let control = &self.0;
        let delay = control.create_delay_ns.load(Ordering::SeqCst);
        control.creates_started.fetch_add(1, Ordering::SeqCst);
        sleep_for(delay).await;
        if control.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        anyrt_core::yield_now().await;
        if control.refuse.load(Ordering::SeqCst) {
            return Err(TestError("refused"));
        }
        Ok(Resource::new(control))
    }

    async fn recycle(&self, _: &mut Resource, _: &anyrt_pool::Metrics) -> Result<(), TestError> {
        self.0.recycles.fetch_add(1, Ordering::SeqCst);
        sleep_nanos(&self.0.recycle_delay_ns).await;
        anyrt_core::yield_now().await;
        if self.0.unhealthy.load(Ordering::SeqCst) {
            return Err(TestError("unhealthy"));
        }
        Ok(())
    }

    fn is_broken(&self, resource: &mut Resource, _: &anyrt_pool::Metrics) -> bool {
        let control = &self.0;
        control.return_checks.fetch_add(1, Ordering::SeqCst);
        if control.panic_on_return.load(Ordering::SeqCst) {
            panic!("is_broken panicked");
        }
        match control.broken_id.load(Ordering::SeqCst) {
            0 => false,
            usize::MAX => true,
            id => resource.id + 1 == id,
        }
    }
}

/// Checks the pool's books: nothing in use or waiting, `created + added -
/// discarded == size <= max_size`, and the resources alive are the idle
/// ones.
pub fn assert_settled<M: anyrt_pool::Manager>(pool: &anyrt_pool::Pool<M>, control: &Control) {
    let status = pool.status();
    assert_eq!(status.in_use, 0, "{status:?}");
    assert_eq!(status.waiting, 0, "{status:?}");
    assert_eq!(status.creating, 0, "{status:?}");
    assert!(status.size <= status.max_size, "{status:?}");
    assert_eq!(
        status.created + status.added - status.discarded.total(),
        status.size as u64,
        "{status:?}"
    );
    assert_eq!(control.alive_once(status.idle), status.idle, "{status:?}");
}

/// Moves a hand-driven `clock` for tasks that share a semaphore or pool:
/// whenever `settled()` says that every task is asleep, queued or finished
/// (and nothing free is waiting to be taken), jumps to the next sleeper;
/// returns once `done()`. Unlike auto-advance, it never moves the clock
/// while a task woken by another (not by the clock) has yet to run.
pub async fn step_clock(
    clock: &anyrt_core::VirtualClock,
    done: impl Fn() -> bool,
    settled: impl Fn() -> bool,
) {
    while !done() {
        if settled() {
            clock.advance_to_next();
        }
        anyrt_core::yield_now().await;
    }
}
