//! The pools under many tasks at once, on multi-threaded runtimes: sixteen
//! tasks share one pool and do everything a user may do to it, each at
//! random (seeded), while the pool's books are watched; then the books
//! must balance. Every check is an invariant, never a value that depends
//! on how the tasks interleaved.
//!
//! The resources count themselves: a manager-made resource counts in the
//! pool from its birth, one made for `add` from just before the `add`
//! (an over-count while the `add` runs), and a resource about to be
//! detached leaves the count before `detach` (an under-count). A resource
//! that left the pool is dropped right after by the thread that let it go,
//! outside the pool's lock; a creation that sees one too many alive waits
//! (a bounded spin, as `Control::alive_once` does) for that thread to drop
//! it before it counts an overshoot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use anyrt_pool::{
    AddError, BufferError, BufferPool, Manager, Metrics, Pool, PoolError, PoolGuard, PooledBuffer,
    Reuse, Status, TryGetError,
};
use anyrt_tests::cancel::cancel_after;
use anyrt_tests::panics::{PROVOKED, quiet_provoked_panics};

const MS: Duration = Duration::from_millis(1);
/// Tasks that share one pool.
const TASKS: usize = 16;
/// How long any one wait may take, in virtual time, before it counts as a
/// waiter left hanging: every hold and creation lasts a few virtual
/// milliseconds, and a whole run lasts well under a virtual second.
const HANG: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// The counting manager.

/// What the manager and its resources count.
#[derive(Debug, Default)]
struct Books {
    /// Resources made by `create`.
    created: AtomicUsize,
    /// Resources made for `add`.
    made_for_add: AtomicUsize,
    /// Resources dropped, whoever made them.
    dropped: AtomicUsize,
    /// Resources alive that the pool holds or may hold (see the file's
    /// docs).
    in_pool: AtomicUsize,
    /// The largest `max_size` the pool ever had.
    bound: AtomicUsize,
    /// Creations that found more than `bound` resources alive, for good.
    over: AtomicUsize,
    /// The most resources alive in the pool seen by a creation.
    peak: AtomicUsize,
    /// `create` and `recycle` fail at random.
    failing: AtomicBool,
    /// `is_broken` says yes at random.
    breaking: AtomicBool,
    /// `create`, `recycle` and `is_broken` panic at random.
    panicking: AtomicBool,
    /// `create` never ends.
    hanging: AtomicBool,
    /// `create` calls under way.
    creating: AtomicUsize,
    /// Randomness for the manager, one seed per call.
    seq: AtomicU64,
}

impl Books {
    fn rng(&self) -> fastrand::Rng {
        fastrand::Rng::with_seed(self.seq.fetch_add(1, SeqCst).wrapping_mul(0x9E37_79B9))
    }

    fn alive(&self) -> usize {
        self.created.load(SeqCst) + self.made_for_add.load(SeqCst) - self.dropped.load(SeqCst)
    }

    /// Resources alive once `expected` are, or after a bound that only
    /// turns a leak into a failure (a resource that left the pool may
    /// still be in its dropper's hands on another thread).
    fn alive_once(&self, expected: usize) -> usize {
        let start = Instant::now();
        while self.alive() != expected && start.elapsed() < Duration::from_secs(10) {
            std::thread::yield_now();
        }
        self.alive()
    }
}

/// Where a resource stands in the count of `Books::in_pool`.
const COUNTED: u8 = 1;
const LEFT: u8 = 2;

#[derive(Debug)]
struct Res {
    books: Arc<Books>,
    state: AtomicU8,
}

impl Res {
    /// A resource counted in the pool from now on.
    fn counted(books: &Arc<Books>) -> Res {
        books.in_pool.fetch_add(1, SeqCst);
        Res {
            books: books.clone(),
            state: AtomicU8::new(COUNTED),
        }
    }

    /// Made for `add`.
    fn for_add(books: &Arc<Books>) -> Res {
        books.made_for_add.fetch_add(1, SeqCst);
        Res::counted(books)
    }

    /// Leaves the pool's count (before a `detach`).
    fn leave(&self) {
        if self.state.swap(LEFT, SeqCst) == COUNTED {
            self.books.in_pool.fetch_sub(1, SeqCst);
        }
    }
}

impl Drop for Res {
    fn drop(&mut self) {
        self.leave();
        self.books.dropped.fetch_add(1, SeqCst);
    }
}

#[derive(Debug, Clone)]
struct Counting(Arc<Books>);

/// Takes one off a count when dropped, also with its future.
struct Uncount<'a>(&'a AtomicUsize);

impl Drop for Uncount<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// A few polls' worth of work, at random: none, a yield, or a sleep.
async fn some_work(rng: &mut fastrand::Rng) {
    match rng.u8(..4) {
        0 => {}
        1 => anyrt_core::yield_now().await,
        _ => anyrt_core::sleep(MS * rng.u32(0..3)).await,
    }
}

impl Manager for Counting {
    type Type = Res;
    type Error = &'static str;

    async fn create(&self) -> Result<Res, &'static str> {
        let books = &self.0;
        let mut rng = books.rng();
        books.creating.fetch_add(1, SeqCst);
        let under_way = Uncount(&books.creating);
        some_work(&mut rng).await;
        drop(under_way);
        if books.hanging.load(SeqCst) {
            std::future::pending::<()>().await;
        }
        if books.panicking.load(SeqCst) && rng.u8(..5) == 0 {
            std::panic::panic_any(PROVOKED);
        }
        if books.failing.load(SeqCst) && rng.u8(..8) == 0 {
            return Err("refused");
        }
        books.created.fetch_add(1, SeqCst);
        let res = Res::counted(books);
        let bound = books.bound.load(SeqCst);
        let start = Instant::now();
        let mut seen = books.in_pool.load(SeqCst);
        while seen > bound && start.elapsed() < Duration::from_secs(10) {
            std::thread::yield_now();
            seen = books.in_pool.load(SeqCst);
        }
        books.peak.fetch_max(seen, SeqCst);
        if seen > bound {
            books.over.fetch_add(1, SeqCst);
        }
        Ok(res)
    }

    async fn recycle(&self, _: &mut Res, _: &Metrics) -> Result<(), &'static str> {
        let mut rng = self.0.rng();
        some_work(&mut rng).await;
        if self.0.panicking.load(SeqCst) && rng.u8(..5) == 0 {
            std::panic::panic_any(PROVOKED);
        }
        if self.0.failing.load(SeqCst) && rng.u8(..8) == 0 {
            return Err("unhealthy");
        }
        Ok(())
    }

    fn is_broken(&self, _: &mut Res, _: &Metrics) -> bool {
        if self.0.panicking.load(SeqCst) && self.0.rng().u8(..8) == 0 {
            std::panic::panic_any(PROVOKED);
        }
        self.0.breaking.load(SeqCst) && self.0.rng().u8(..16) == 0
    }
}

// ---------------------------------------------------------------------------
// The randomised run of the resource pool.

/// What the tasks did, summed.
#[derive(Debug, Default)]
struct Tally {
    added: AtomicU64,
    detached: AtomicU64,
    /// Gets that failed with `Backend` while the manager never fails.
    bad_backend: AtomicUsize,
    /// Gets that failed with `Closed` from a pool not closed.
    closed_while_open: AtomicUsize,
    /// Gets, `try_get`s and `add`s that succeeded although they began after
    /// `close` had returned.
    served_after_close: AtomicUsize,
    /// Waits longer than `HANG` on an open pool.
    hung: AtomicUsize,
    /// `status()` snapshots whose identities did not hold, with the first.
    bad_status: AtomicUsize,
    first_bad_status: std::sync::Mutex<Option<String>>,
}

impl Tally {
    fn bad(&self, what: String) {
        self.bad_status.fetch_add(1, SeqCst);
        let mut first = self.first_bad_status.lock().unwrap();
        first.get_or_insert(what);
    }
}

/// The identities of `Status` that hold at any moment (each snapshot is
/// taken under the pool's lock).
fn status_identities(status: &Status, bound: usize) -> Result<(), String> {
    let made = status.created + status.added;
    let gone = status.discarded.total();
    let ok = status.size == status.idle + status.in_use + status.creating
        && made.checked_sub(gone) == Some((status.size - status.creating) as u64)
        && status.size <= bound;
    match ok {
        true => Ok(()),
        false => Err(format!("{status:?}")),
    }
}

#[derive(Debug, Clone, Copy)]
struct Setup {
    max_size: usize,
    min_idle: usize,
    max_creating: Option<usize>,
    recycle: bool,
    fifo: bool,
    expiring: bool,
    failing: bool,
    /// Whether the close comes while the tasks still run.
    early_close: bool,
    /// The interval of a `maintain` task, if one runs.
    maintain: Option<Duration>,
}

impl Setup {
    fn random(rng: &mut fastrand::Rng) -> Setup {
        let max_size = rng.usize(2..=6);
        Setup {
            max_size,
            min_idle: rng.usize(0..=2).min(max_size),
            max_creating: rng.bool().then(|| rng.usize(1..=2)),
            recycle: rng.u8(..4) != 0,
            fifo: rng.bool(),
            expiring: rng.u8(..3) == 0,
            failing: rng.u8(..3) == 0,
            early_close: rng.bool(),
            maintain: rng.bool().then(|| MS * rng.u32(1..4)),
        }
    }

    fn pool(&self, books: &Arc<Books>) -> Pool<Counting> {
        let mut builder = Pool::builder(Counting(books.clone()))
            .max_size(self.max_size)
            .min_idle(self.min_idle)
            .recycle_on_checkout(self.recycle)
            .reuse(if self.fifo { Reuse::Fifo } else { Reuse::Lifo })
            // Longer than any run: a hang shows as one, not as a timeout.
            .acquire_timeout(HANG * 10)
            .create_timeout(HANG * 10);
        if let Some(n) = self.max_creating {
            builder = builder.max_creating(n);
        }
        if let Some(interval) = self.maintain {
            builder = builder.maintain_interval(interval);
        }
        if self.expiring {
            builder = builder.idle_timeout(3 * MS).max_lifetime(7 * MS);
        }
        builder.build().unwrap()
    }
}

/// Shared by the tasks of one run.
struct Run {
    pool: Pool<Counting>,
    books: Arc<Books>,
    tally: Tally,
    setup: Setup,
    /// Set once `close` has returned.
    closed: AtomicBool,
    /// Set once every worker ended.
    done: AtomicBool,
}

impl Run {
    /// Checks the outcome of a get that began when `closed_before` said
    /// the pool was closed or not.
    fn judge(
        &self,
        got: &Result<PoolGuard<Counting>, PoolError<&'static str>>,
        closed_before: bool,
    ) {
        match got {
            Ok(_) if closed_before => {
                self.tally.served_after_close.fetch_add(1, SeqCst);
            }
            Ok(_) => {}
            Err(PoolError::Closed) if !self.pool.is_closed() => {
                self.tally.closed_while_open.fetch_add(1, SeqCst);
            }
            Err(PoolError::Backend(_)) if !self.setup.failing => {
                self.tally.bad_backend.fetch_add(1, SeqCst);
            }
            Err(PoolError::Timeout { .. }) if !self.pool.is_closed() => {
                // Only a wait past `HANG * 10` times out.
                self.tally.hung.fetch_add(1, SeqCst);
            }
            Err(_) => {}
        }
    }

    /// A get waited for to its end, bounded by `HANG`: a longer wait on an
    /// open pool is a waiter left hanging.
    async fn get_to_end(&self) -> Option<PoolGuard<Counting>> {
        let closed_before = self.closed.load(SeqCst);
        match anyrt_deadline::timeout(HANG, self.pool.get()).await {
            Ok(got) => {
                self.judge(&got, closed_before);
                got.ok()
            }
            Err(_) => {
                if !self.pool.is_closed() {
                    self.tally.hung.fetch_add(1, SeqCst);
                }
                None
            }
        }
    }

    fn check_status(&self) {
        let bound = self.books.bound.load(SeqCst);
        if let Err(status) = status_identities(&self.pool.status(), bound) {
            self.tally.bad(status);
        }
    }
}

/// One worker: `ops` random operations.
async fn worker(run: Arc<Run>, seed: u64, ops: usize) -> Vec<Res> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let pool = &run.pool;
    let mut held: Vec<PoolGuard<Counting>> = Vec::new();
    let mut detached = Vec::new();
    for _ in 0..ops {
        match rng.u8(..20) {
            // A get waited for to its end, while holding nothing (so that
            // no two tasks wait on each other).
            0..=3 if held.is_empty() => held.extend(run.get_to_end().await),
            // A get cut at a random poll (its creation or check then goes
            // on alone, or is dropped).
            // (Bounded in time too while holding: a cut get that is never
            // woken is never dropped, and holding while waiting could wait
            // on the other tasks for good.)
            0..=5 => {
                let closed_before = run.closed.load(SeqCst);
                let cut = cancel_after(rng.usize(1..8), pool.get());
                let limit = if held.is_empty() {
                    HANG
                } else {
                    MS * rng.u32(1..5)
                };
                match anyrt_deadline::timeout(limit, cut).await {
                    Ok(Some(got)) => {
                        run.judge(&got, closed_before);
                        held.extend(got.ok());
                    }
                    Ok(None) => {}
                    Err(_) if held.is_empty() && !pool.is_closed() => {
                        run.tally.hung.fetch_add(1, SeqCst);
                    }
                    Err(_) => {}
                }
            }
            // A get with a short limit of its own.
            6 => {
                let closed_before = run.closed.load(SeqCst);
                let got = pool.get_timeout(MS * rng.u32(0..4)).await;
                if let Err(PoolError::Timeout { .. }) = got {
                    // Short limits do time out: not a hang.
                } else {
                    run.judge(&got, closed_before);
                }
                held.extend(got.ok());
            }
            7 => {
                let closed_before = run.closed.load(SeqCst);
                match pool.try_get() {
                    Ok(guard) => {
                        if closed_before {
                            run.tally.served_after_close.fetch_add(1, SeqCst);
                        }
                        held.push(guard);
                    }
                    Err(TryGetError::Closed) if !pool.is_closed() => {
                        run.tally.closed_while_open.fetch_add(1, SeqCst);
                    }
                    Err(_) => {}
                }
            }
            8..=10 if !held.is_empty() => drop(held.swap_remove(rng.usize(..held.len()))),
            11 if !held.is_empty() => {
                let mut guard = held.swap_remove(rng.usize(..held.len()));
                guard.mark_broken();
            }
            12 if !held.is_empty() => {
                let guard = held.swap_remove(rng.usize(..held.len()));
                guard.leave();
                detached.push(guard.detach());
                run.tally.detached.fetch_add(1, SeqCst);
            }
            13 => {
                let closed_before = run.closed.load(SeqCst);
                match pool.add(Res::for_add(&run.books)) {
                    Ok(()) => {
                        run.tally.added.fetch_add(1, SeqCst);
                        if closed_before {
                            run.tally.served_after_close.fetch_add(1, SeqCst);
                        }
                    }
                    Err(AddError::Closed(_)) if !pool.is_closed() => {
                        run.tally.closed_while_open.fetch_add(1, SeqCst);
                    }
                    Err(_) => {}
                }
            }
            14 => {
                let max_size = rng.usize(1..=run.setup.max_size).max(run.setup.min_idle);
                let _ = pool.resize(max_size.max(1));
            }
            15 => {
                let mut keep = fastrand::Rng::with_seed(rng.u64(..));
                pool.retain(|_, _| keep.u8(..3) != 0);
            }
            16 => {
                let _ = cancel_after(rng.usize(1..6), pool.maintain_once()).await;
            }
            17 => run.check_status(),
            _ => some_work(&mut rng).await,
        }
        // Holding for a while, or not.
        if !held.is_empty() && rng.bool() {
            some_work(&mut rng).await;
        }
    }
    drop(held);
    detached
}

/// Checks the status now and then until the run is done.
async fn monitor(run: Arc<Run>) {
    while !run.done.load(SeqCst) {
        run.check_status();
        anyrt_core::sleep(MS).await;
    }
}

/// Closes the pool at a random moment, or once the workers are done.
async fn closer(run: Arc<Run>, seed: u64) {
    if run.setup.early_close {
        let mut rng = fastrand::Rng::with_seed(seed);
        anyrt_core::sleep(MS * rng.u32(0..40)).await;
    } else {
        while !run.done.load(SeqCst) {
            anyrt_core::sleep(MS).await;
        }
        settle_open(&run).await;
    }
    run.pool.close();
    run.closed.store(true, SeqCst);
}

/// With every worker done and the pool open: once the creations cut
/// loose have ended, nothing is in use or waited for, and every resource
/// alive is an idle one (or detached, and not counted in the pool).
async fn settle_open(run: &Run) {
    let pool = &run.pool;
    let start = anyrt_core::now();
    while (pool.status().creating > 0 || run.books.creating.load(SeqCst) > 0)
        && anyrt_core::now() - start < HANG
    {
        anyrt_core::sleep(MS).await;
    }
    let status = pool.status();
    assert_eq!(status.creating, 0, "a creation never ended: {status:?}");
    assert_eq!(
        (status.in_use, status.waiting),
        (0, 0),
        "with every task done: {status:?}"
    );
    assert_eq!(status.size, status.idle, "with every task done: {status:?}");
    let idle = status.idle;
    let start = Instant::now();
    while run.books.in_pool.load(SeqCst) != idle && start.elapsed() < Duration::from_secs(10) {
        std::thread::yield_now();
    }
    assert_eq!(
        run.books.in_pool.load(SeqCst),
        idle,
        "resources alive in the pool vs idle ones: {status:?}"
    );
}

async fn one_pool_run(seed: u64, ops: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let setup = Setup::random(&mut rng);
    let books = Arc::new(Books::default());
    books.bound.store(setup.max_size, SeqCst);
    books.failing.store(setup.failing, SeqCst);
    books.breaking.store(rng.bool(), SeqCst);
    let run = Arc::new(Run {
        pool: setup.pool(&books),
        books: books.clone(),
        tally: Tally::default(),
        setup,
        closed: AtomicBool::new(false),
        done: AtomicBool::new(false),
    });
    let context = format!("seed {seed}, {setup:?}");
    let workers: Vec<_> = (0..TASKS)
        .map(|task| anyrt_core::spawn(worker(run.clone(), rng.u64(..) ^ task as u64, ops)))
        .collect();
    let monitor = anyrt_core::spawn(monitor(run.clone()));
    let closer = anyrt_core::spawn(closer(run.clone(), rng.u64(..)));
    let maintain = setup.maintain.map(|_| {
        let pool = run.pool.clone();
        anyrt_core::spawn(async move { pool.maintain().await })
    });
    // Once drained, a closed pool holds nothing, and never again.
    let drained = {
        let pool = run.pool.clone();
        anyrt_core::spawn(async move {
            pool.wait_closed().await;
            pool.status()
        })
    };
    // Every task ends: none is left waiting (the close wakes the rest).
    let ended = anyrt_deadline::timeout(HANG * 2, async {
        let mut detached = Vec::new();
        for worker in workers {
            detached.extend(worker.await);
        }
        detached
    })
    .await;
    let detached = ended.unwrap_or_else(|_| panic!("{context}: a task never ended"));
    run.done.store(true, SeqCst);
    monitor.await;
    closer.await;
    if let Some(maintain) = maintain {
        // It ends with the close.
        anyrt_deadline::timeout(HANG, maintain)
            .await
            .unwrap_or_else(|_| panic!("{context}: `maintain` did not end with the close"));
    }
    let pool = &run.pool;
    // A get begun after the close fails with `Closed`, and the pool drains.
    assert!(pool.get().await.unwrap_err().is_closed(), "{context}");
    assert!(
        matches!(pool.try_get(), Err(TryGetError::Closed)),
        "{context}"
    );
    anyrt_deadline::timeout(HANG, pool.wait_closed())
        .await
        .unwrap_or_else(|_| panic!("{context}: never drained: {:?}", pool.status()));
    let at_drain = anyrt_deadline::timeout(HANG, drained)
        .await
        .unwrap_or_else(|_| panic!("{context}: `wait_closed` never ended"));
    assert_eq!(
        (
            at_drain.size,
            at_drain.creating,
            at_drain.in_use,
            at_drain.idle
        ),
        (0, 0, 0, 0),
        "{context}: `wait_closed` ended with resources left: {at_drain:?}"
    );
    let status = pool.status();
    let context = format!("{context}: {status:?}, {books:?}, {:?}", run.tally);
    assert_emptied(&status, &books, &context);
    assert_eq!(status.added, run.tally.added.load(SeqCst), "{context}");
    assert_eq!(
        status.discarded.detached,
        run.tally.detached.load(SeqCst),
        "{context}"
    );
    let tally = &run.tally;
    assert_eq!(tally.bad_status.load(SeqCst), 0, "{context}");
    assert_eq!(
        tally.hung.load(SeqCst),
        0,
        "a waiter left hanging: {context}"
    );
    assert_eq!(tally.closed_while_open.load(SeqCst), 0, "{context}");
    assert_eq!(tally.served_after_close.load(SeqCst), 0, "{context}");
    assert_eq!(tally.bad_backend.load(SeqCst), 0, "{context}");
    assert_eq!(books.over.load(SeqCst), 0, "max_size exceeded: {context}");
    // The detached ones are the only resources left, and nothing else is.
    assert_eq!(
        books.alive_once(detached.len()),
        detached.len(),
        "{context}"
    );
    drop(detached);
    assert_eq!(books.alive_once(0), 0, "{context}");
    assert_eq!(books.in_pool.load(SeqCst), 0, "{context}");
}

/// Seeds per runtime, and operations per task.
const POOL_SEEDS: u64 = 6;
const POOL_OPS: usize = 40;

#[anyrt_test::test(virtual_time)]
async fn many_tasks_keep_the_pool_books(_clock: anyrt_core::VirtualClock) {
    for seed in 0..POOL_SEEDS {
        one_pool_run(seed, POOL_OPS).await;
    }
}

// ---------------------------------------------------------------------------
// The randomised run of the buffer pool.

const CLASSES: [usize; 3] = [8, 16, 64];

/// Bytes held by the tasks, by their own count: added once a buffer is
/// in hand, taken off before it is dropped (so never above the truth).
#[derive(Debug, Default)]
struct Held {
    bytes: AtomicUsize,
    peak: AtomicUsize,
    dirty: AtomicUsize,
    hung: AtomicUsize,
    bad_status: AtomicUsize,
}

async fn buffer_worker(pool: BufferPool, held: Arc<Held>, seed: u64, ops: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut mine: Vec<(PooledBuffer, usize)> = Vec::new();
    let take = |buffer: PooledBuffer, mine: &mut Vec<(PooledBuffer, usize)>| {
        let class = buffer.capacity();
        if !buffer.is_empty() {
            held.dirty.fetch_add(1, SeqCst);
        }
        let now = held.bytes.fetch_add(class, SeqCst) + class;
        held.peak.fetch_max(now, SeqCst);
        mine.push((buffer, class));
    };
    for _ in 0..ops {
        let size = rng.usize(0..=64);
        match rng.u8(..10) {
            0 | 1 if mine.is_empty() => match anyrt_deadline::timeout(HANG, pool.get(size)).await {
                Ok(got) => take(got.unwrap(), &mut mine),
                Err(_) => {
                    held.hung.fetch_add(1, SeqCst);
                }
            },
            0..=2 => {
                let cut = cancel_after(rng.usize(1..6), pool.get(size));
                let limit = if mine.is_empty() {
                    HANG
                } else {
                    MS * rng.u32(1..5)
                };
                match anyrt_deadline::timeout(limit, cut).await {
                    Ok(Some(got)) => take(got.unwrap(), &mut mine),
                    Ok(None) => {}
                    Err(_) if mine.is_empty() => {
                        held.hung.fetch_add(1, SeqCst);
                    }
                    Err(_) => {}
                }
            }
            3 => match pool.try_get(size) {
                Ok(buffer) => take(buffer, &mut mine),
                Err(BufferError::Exhausted) => {}
                Err(e) => panic!("{e:?} for {size}"),
            },
            4..=6 if !mine.is_empty() => {
                let (mut buffer, class) = mine.swap_remove(rng.usize(..mine.len()));
                match rng.u8(..4) {
                    0 => buffer.extend(std::iter::repeat_n(0xAB, class + 1)),
                    1 => buffer.shrink_to_fit(),
                    2 => drop(std::mem::take(&mut *buffer)),
                    _ => buffer.extend(std::iter::repeat_n(0xCD, class)),
                }
                held.bytes.fetch_sub(class, SeqCst);
                drop(buffer);
            }
            7 => {
                let status = pool.status();
                if status.in_use_bytes + status.idle_bytes > status.max_bytes {
                    held.bad_status.fetch_add(1, SeqCst);
                }
            }
            _ => some_work(&mut rng).await,
        }
        if let Some((buffer, class)) = mine.last_mut() {
            buffer.clear();
            buffer.extend(std::iter::repeat_n(0xEF, *class));
        }
    }
    for (buffer, class) in mine {
        held.bytes.fetch_sub(class, SeqCst);
        drop(buffer);
    }
}

const BUFFER_SEEDS: u64 = 6;
const BUFFER_OPS: usize = 40;

#[anyrt_test::test(virtual_time)]
async fn many_tasks_keep_the_buffer_budget(_clock: anyrt_core::VirtualClock) {
    for seed in 0..BUFFER_SEEDS {
        let mut rng = fastrand::Rng::with_seed(seed);
        let max_bytes = rng.usize(64..=200);
        let pool = BufferPool::builder()
            .classes(CLASSES)
            .max_bytes(max_bytes)
            .build()
            .unwrap();
        let held = Arc::new(Held::default());
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let seed = rng.u64(..) ^ task as u64;
                anyrt_core::spawn(buffer_worker(pool.clone(), held.clone(), seed, BUFFER_OPS))
            })
            .collect();
        let ended = anyrt_deadline::timeout(HANG * 2, async {
            for task in tasks {
                task.await;
            }
        })
        .await;
        let status = pool.status();
        let context = format!("seed {seed}, max_bytes {max_bytes}: {status:?}, {held:?}");
        assert!(ended.is_ok(), "a task never ended: {context}");
        assert_eq!(
            held.hung.load(SeqCst),
            0,
            "a waiter left hanging: {context}"
        );
        assert!(
            held.peak.load(SeqCst) <= max_bytes,
            "over budget: {context}"
        );
        assert_eq!(held.dirty.load(SeqCst), 0, "a buffer with bytes: {context}");
        assert_eq!(held.bad_status.load(SeqCst), 0, "{context}");
        assert_eq!((status.in_use_bytes, status.waiting), (0, 0), "{context}");
        assert!(status.idle_bytes <= max_bytes, "{context}");
        // Every byte of the budget is free again.
        let all = pool.try_get(64).map(|_| ()).and_then(|()| {
            let smallest = (0..max_bytes / 8)
                .map(|_| pool.try_get(8))
                .collect::<Result<Vec<_>, _>>();
            smallest.map(drop)
        });
        assert!(all.is_ok(), "budget lost: {context}");
    }
}

// ---------------------------------------------------------------------------
// Managers that panic, hang or fail, under many tasks.

/// Installs the quiet panic hook once for this file.
fn quiet() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(quiet_provoked_panics);
}

/// A closed and drained pool's status: nothing left in it or waiting,
/// every resource made or added discarded, and as many made as the
/// manager made.
fn assert_emptied(status: &Status, books: &Books, context: &str) {
    assert_eq!(
        (
            status.size,
            status.idle,
            status.in_use,
            status.creating,
            status.waiting
        ),
        (0, 0, 0, 0, 0),
        "{context}"
    );
    assert_eq!(
        status.created + status.added,
        status.discarded.total(),
        "{context}"
    );
    assert_eq!(
        status.created,
        books.created.load(SeqCst) as u64,
        "{context}"
    );
}

/// The books of a pool after close, once every task ended: nothing held,
/// nothing counted twice, every resource the manager made dropped.
async fn assert_drained(pool: &Pool<Counting>, books: &Books, context: &str) {
    pool.close();
    anyrt_deadline::timeout(HANG, pool.wait_closed())
        .await
        .unwrap_or_else(|_| panic!("{context}: never drained: {:?}", pool.status()));
    let status = pool.status();
    assert_emptied(&status, books, &format!("{context}: {status:?}"));
    assert_eq!(
        books.alive_once(0),
        0,
        "{context}: resources leaked: {status:?}"
    );
    assert_eq!(books.over.load(SeqCst), 0, "{context}: max_size exceeded");
}

/// `create`, `recycle` and `is_broken` panic at random, under sixteen
/// tasks whose gets are cut at random polls: each panic reaches the caller
/// (of `get`, of the guard's drop) or ends a creation nobody waits for, and
/// none loses a slot or a resource.
#[anyrt_test::test(virtual_time)]
async fn a_manager_that_panics_under_many_tasks_keeps_the_books(_clock: anyrt_core::VirtualClock) {
    use futures_lite::FutureExt;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    quiet();
    for seed in 0..4 {
        let books = Arc::new(Books::default());
        books.bound.store(3, SeqCst);
        books.panicking.store(true, SeqCst);
        let pool = Pool::builder(Counting(books.clone()))
            .max_size(3)
            .min_idle(1)
            .build()
            .unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS as u64)
            .map(|task| {
                let (pool, served) = (pool.clone(), served.clone());
                anyrt_core::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(seed * 100 + task);
                    for _ in 0..20 {
                        let polls = if rng.bool() {
                            rng.usize(1..6)
                        } else {
                            usize::MAX
                        };
                        let get = AssertUnwindSafe(cancel_after(polls, pool.get()));
                        let guard = match get.catch_unwind().await {
                            Ok(Some(Ok(guard))) => guard,
                            Ok(Some(Err(e))) => panic!("{e:?} from an open pool"),
                            Ok(None) | Err(_) => continue,
                        };
                        served.fetch_add(1, SeqCst);
                        some_work(&mut rng).await;
                        // `is_broken` may panic in the guard's drop.
                        let _ = catch_unwind(AssertUnwindSafe(|| drop(guard)));
                        if rng.u8(..8) == 0 {
                            let pass = AssertUnwindSafe(pool.maintain_once());
                            let _ = pass.catch_unwind().await;
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            anyrt_deadline::timeout(HANG, task)
                .await
                .unwrap_or_else(|_| panic!("seed {seed}: a task never ended"));
        }
        assert!(served.load(SeqCst) > 0, "seed {seed}: nothing was served");
        // The panics are over: every slot serves again.
        books.panicking.store(false, SeqCst);
        let all: Vec<_> = futures::future::join_all((0..3).map(|_| pool.get())).await;
        assert!(
            all.iter().all(Result::is_ok),
            "seed {seed}: {:?}",
            pool.status()
        );
        drop(all);
        assert_drained(&pool, &books, &format!("seed {seed}")).await;
    }
}

/// `create` never ends: with `create_timeout`, every one of sixteen
/// waiting gets fails with `Timeout` (none hangs, none is told `Closed`),
/// the slots are all free again, and the pool drains.
#[anyrt_test::test(virtual_time)]
async fn a_manager_that_hangs_times_out_every_waiter(_clock: anyrt_core::VirtualClock) {
    let books = Arc::new(Books::default());
    books.bound.store(2, SeqCst);
    books.hanging.store(true, SeqCst);
    let pool = Pool::builder(Counting(books.clone()))
        .max_size(2)
        .create_timeout(5 * MS)
        .acquire_timeout(HANG * 10)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let pool = pool.clone();
            anyrt_core::spawn(async move { pool.get().await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        let got = anyrt_deadline::timeout(HANG, task)
            .await
            .expect("a waiter hung");
        assert!(matches!(got, Err(PoolError::Timeout { .. })), "{got:?}");
    }
    let status = pool.status();
    assert_eq!(
        (status.size, status.creating, status.waiting),
        (0, 0, 0),
        "{status:?}"
    );
    books.hanging.store(false, SeqCst);
    assert!(pool.get().await.is_ok(), "{:?}", pool.status());
    assert_drained(&pool, &books, "hang").await;
}

/// `create` and `recycle` fail at random under sixteen tasks: a failure
/// is an error of the one call (`Backend`), or of no call for a creation
/// cut loose, never a lost slot.
#[anyrt_test::test(virtual_time)]
async fn a_manager_that_fails_under_many_tasks_keeps_the_books(_clock: anyrt_core::VirtualClock) {
    let books = Arc::new(Books::default());
    books.bound.store(3, SeqCst);
    books.failing.store(true, SeqCst);
    let pool = Pool::builder(Counting(books.clone()))
        .max_size(3)
        .max_creating(1)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..TASKS as u64)
        .map(|task| {
            let pool = pool.clone();
            anyrt_core::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(task);
                for _ in 0..20 {
                    let polls = if rng.bool() {
                        rng.usize(1..6)
                    } else {
                        usize::MAX
                    };
                    match cancel_after(polls, pool.get()).await {
                        Some(Ok(guard)) => {
                            some_work(&mut rng).await;
                            drop(guard);
                        }
                        Some(Err(PoolError::Backend(_))) | None => {}
                        Some(Err(e)) => panic!("{e:?} from an open pool"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        anyrt_deadline::timeout(HANG, task)
            .await
            .expect("a task never ended");
    }
    books.failing.store(false, SeqCst);
    let all: Vec<_> = futures::future::join_all((0..3).map(|_| pool.get())).await;
    assert!(all.iter().all(Result::is_ok), "{:?}", pool.status());
    drop(all);
    assert_drained(&pool, &books, "failing").await;
}

// ---------------------------------------------------------------------------
// Zero and huge sizes and durations, under many tasks.

/// The largest sizes and durations the builder takes, and the smallest:
/// sixteen tasks get, hold and give back; gets of no time at all fail or
/// succeed at once; resizes to `usize::MAX` and back to one are kept in
/// bounds; the books balance.
#[anyrt_test::test(virtual_time)]
async fn huge_and_tiny_limits_under_many_tasks(_clock: anyrt_core::VirtualClock) {
    let huge = Duration::from_secs(u64::MAX);
    for (name, tiny) in [("huge", false), ("tiny", true)] {
        let books = Arc::new(Books::default());
        books.bound.store(usize::MAX, SeqCst);
        let mut builder = Pool::builder(Counting(books.clone()))
            .max_size(usize::MAX)
            .max_creating(usize::MAX)
            .acquire_timeout(huge)
            .create_timeout(huge)
            .maintain_interval(huge);
        builder = match tiny {
            false => builder
                .idle_timeout(Duration::MAX)
                .max_lifetime(Duration::MAX),
            true => builder
                .idle_timeout(Duration::from_nanos(1))
                .max_lifetime(Duration::from_nanos(1)),
        };
        let pool = builder.build().unwrap();
        let upkeep = {
            let pool = pool.clone();
            anyrt_core::spawn(async move { pool.maintain().await })
        };
        let tasks: Vec<_> = (0..TASKS as u64)
            .map(|task| {
                let pool = pool.clone();
                anyrt_core::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(task);
                    for _ in 0..10 {
                        let guard = match rng.u8(..4) {
                            0 => match pool.get_timeout(Duration::ZERO).await {
                                Ok(guard) => guard,
                                Err(e) => {
                                    assert!(e.is_timeout(), "{e:?}");
                                    continue;
                                }
                            },
                            1 => pool
                                .get_timeout(Duration::MAX - Duration::from_nanos(1))
                                .await
                                .unwrap(),
                            _ => pool.get().await.unwrap(),
                        };
                        some_work(&mut rng).await;
                        drop(guard);
                    }
                })
            })
            .collect();
        for task in tasks {
            anyrt_deadline::timeout(HANG, task)
                .await
                .unwrap_or_else(|_| panic!("{name}: a task never ended"));
        }
        let status = pool.status();
        assert!(status.size <= TASKS, "{name}: {status:?}");
        pool.resize(usize::MAX).unwrap();
        pool.resize(1).unwrap();
        let held = pool.get().await.unwrap();
        assert_eq!(pool.status().size, 1, "{name}: {:?}", pool.status());
        assert!(pool.get_timeout(MS).await.unwrap_err().is_timeout());
        drop(held);
        pool.resize(usize::MAX).unwrap();
        assert_eq!(pool.status().max_size, usize::MAX / 4, "{name}");
        assert_drained(&pool, &books, name).await;
        anyrt_deadline::timeout(HANG, upkeep)
            .await
            .unwrap_or_else(|_| panic!("{name}: `maintain` did not end with the close"));
    }
}

// ---------------------------------------------------------------------------
// Wakers that panic.

/// A `get` whose creation runs in a task of its own, first polled with a
/// waker that panics (a hand-written executor whose queue is gone): the
/// creation's end wakes it in `Deliver::drop`, on the creation's task.
/// The semaphores wake through `anyrt_core::wake_quietly`; the hand-off
/// wakes with a plain `wake`, so the waker's panic is raised inside the
/// creation task, after the outcome was stored. The `get`, polled again
/// with a good waker, must still get its resource, and the pool must keep
/// its books.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_waker_of_a_get_waiting_for_its_creation(_clock: anyrt_core::VirtualClock) {
    use std::task::{Context, Poll};
    quiet();
    let books = Arc::new(Books::default());
    books.bound.store(TASKS, SeqCst);
    let pool = Pool::builder(Counting(books.clone()))
        .max_size(TASKS)
        .build()
        .unwrap();
    // Sixteen gets, each polled once with a panicking waker while its
    // creation has yet to end (the creation sleeps or yields at random).
    let waker = anyrt_tests::wakers::panicking();
    let mut gets = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..TASKS {
        let mut get = Box::pin(pool.get());
        match get.as_mut().poll(&mut Context::from_waker(&waker)) {
            // Its creation ended on another thread already.
            Poll::Ready(got) => ready.push(got),
            Poll::Pending => gets.push(get),
        }
    }
    // Every creation ends (their tasks run on the runtime's threads).
    let start = anyrt_core::now();
    while books.created.load(SeqCst) < TASKS && anyrt_core::now() - start < HANG {
        anyrt_core::sleep(MS).await;
    }
    anyrt_core::sleep(10 * MS).await;
    assert_eq!(books.created.load(SeqCst), TASKS, "{:?}", pool.status());
    // Polled again with the task's own waker, each gets its resource.
    let mut guards = Vec::new();
    for get in gets {
        let got = anyrt_deadline::timeout(HANG, get)
            .await
            .expect("the get hung");
        guards.push(got.expect("its creation ended well"));
    }
    for got in ready {
        guards.push(got.unwrap());
    }
    let status = pool.status();
    assert_eq!(
        (status.in_use, status.creating, status.size),
        (TASKS, 0, TASKS),
        "{status:?}"
    );
    drop(guards);
    assert_drained(&pool, &books, "panicking waker").await;
}
