//! Cross-thread checks of `anyrt-stream`: a `RateLimiter` shared by
//! threads that mix `try_acquire`, `try_acquire_n`, the acquire futures
//! and `rate_limit` streams and drop their futures at random polls; the
//! queue's hand-off racing drops; `buffer`'s task racing its consumer; the
//! concurrent maps and merges woken from other threads.
//!
//! The stress loops here are bounded (a count of tries and a cap of real
//! time); what they assert holds on every interleaving of correct code, so
//! they can only fail where a race is real. Where time matters, it is a
//! `VirtualClock` shared by every thread, moved by one control thread.

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_stream::{MergeGroup, RateLimiter, StreamOps};
use futures::StreamExt;

/// The real time one stress loop may take at most.
const STRESS: Duration = Duration::from_millis(1500);

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

fn n(value: usize) -> NonZeroUsize {
    NonZeroUsize::new(value).expect("not zero")
}

/// Runs `f` with `clock` as the ambient timer (a plain call, for the
/// limiter's methods that read the clock without waiting).
fn under<T>(clock: &VirtualClock, f: impl FnOnce() -> T) -> T {
    let mut once = pin!(anyrt_core::with_timer(clock.clone(), async move { f() }));
    match once.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("a plain call does not wait"),
    }
}

/// Unparks its thread and records that it was woken.
struct Unpark {
    thread: Thread,
    woken: AtomicBool,
}

impl Unpark {
    /// A waker that unparks this thread, and what it records.
    fn this_thread() -> (Arc<Unpark>, Waker) {
        let unpark = Arc::new(Unpark {
            thread: std::thread::current(),
            woken: AtomicBool::new(false),
        });
        (unpark.clone(), Waker::from(unpark))
    }
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.thread.unpark();
    }
}

/// Polls `future` at most `polls` times on this thread and drops it after
/// the last: its output if it completed. Between two polls it either polls
/// again at once (a spurious poll) or waits for a wake, or for `stop`.
fn drive<F: Future>(
    future: F,
    polls: usize,
    rng: &mut fastrand::Rng,
    stop: &AtomicBool,
) -> Option<F::Output> {
    let (unpark, waker) = Unpark::this_thread();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    for poll in 0..polls {
        unpark.woken.store(false, SeqCst);
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        if poll + 1 == polls {
            return None;
        }
        if rng.bool() {
            continue;
        }
        while !unpark.woken.load(SeqCst) {
            if stop.load(SeqCst) {
                return None;
            }
            std::thread::park_timeout(MS);
        }
    }
    None
}

/// Polls `future` on this thread until it completes (waiting for wakes),
/// or until `give_up` is set: `None` then.
fn drive_to_end<F: Future>(future: F, give_up: &AtomicBool) -> Option<F::Output> {
    let (unpark, waker) = Unpark::this_thread();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        unpark.woken.store(false, SeqCst);
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        while !unpark.woken.load(SeqCst) {
            if give_up.load(SeqCst) {
                return None;
            }
            std::thread::park_timeout(MS);
        }
    }
}

// ---------------------------------------------------------------------
// RateLimiter: permits taken from the GCRA state are granted, once.
// ---------------------------------------------------------------------

const BURST: u32 = 4;

/// `future` with `clock` as its ambient timer.
fn timed<F: Future>(clock: &VirtualClock, future: F) -> anyrt_core::futures::WithAmbient<F> {
    anyrt_core::with_timer(clock.clone(), future)
}

/// One random request of `thread`'s loop: the permits it was granted.
fn one_request(
    limiter: &RateLimiter,
    clock: &VirtualClock,
    rng: &mut fastrand::Rng,
    stop: &AtomicBool,
) -> u64 {
    let polls = rng.usize(1..8);
    match rng.u8(0..8) {
        0 => u64::from(under(clock, || limiter.try_acquire().is_ok())),
        1 => {
            let k = rng.u32(0..=BURST + 1);
            match under(clock, || limiter.try_acquire_n(k)) {
                Ok(Ok(())) => u64::from(k),
                Ok(Err(_)) => 0,
                Err(_) => {
                    assert!(k > BURST, "try_acquire_n({k}) refused as over the burst");
                    0
                }
            }
        }
        2 => drive(timed(clock, limiter.acquire()), polls, rng, stop).map_or(0, |()| 1),
        3 => {
            let k = rng.u32(0..=BURST);
            match drive(timed(clock, limiter.acquire_n(k)), polls, rng, stop) {
                Some(Ok(())) => u64::from(k),
                Some(Err(e)) => panic!("acquire_n({k}) failed: {e}"),
                None => 0,
            }
        }
        4 => drive(timed(clock, limiter.acquire_owned()), polls, rng, stop).map_or(0, |()| 1),
        5 => {
            let k = rng.u32(1..=BURST);
            match drive(timed(clock, limiter.acquire_n_owned(k)), polls, rng, stop) {
                Some(Ok(())) => u64::from(k),
                Some(Err(e)) => panic!("acquire_n_owned({k}) failed: {e}"),
                None => 0,
            }
        }
        _ => {
            // A stream of a few items of random costs (some over the
            // burst), pulled a few times, then dropped with whatever it
            // holds (its place in the queue given back).
            let costs: Vec<u32> = (0..rng.usize(1..4))
                .map(|_| rng.u32(0..=BURST + 1))
                .collect();
            let mut limited = futures::stream::iter(costs).rate_limit_by(limiter, |cost| *cost);
            let mut granted = 0;
            for _ in 0..rng.usize(1..4) {
                let polls = rng.usize(1..8);
                match drive(timed(clock, limited.next()), polls, rng, stop) {
                    Some(Some(Ok(cost))) => granted += u64::from(cost),
                    Some(Some(Err(rejected))) => {
                        assert!(rejected.cost() > BURST, "rejected within the burst");
                    }
                    Some(None) | None => {}
                }
            }
            granted
        }
    }
}

/// The limiter's promises: "the long-run rate is exact", "dropping the
/// future before it completes takes no permit", "a completed acquire
/// cannot be undone: its permit is spent", queued waiters are served in
/// turn. On a `VirtualClock` shared by the threads these can be counted
/// exactly: the control thread moves the clock one emission interval at
/// a time, and only while the limiter is not at rest (fewer than the burst
/// available), so the GCRA state never idles and each grant of `c`
/// permits moves it exactly `c` intervals ahead. Then, once everything
/// stops, the permits every thread was granted (try_acquire, try_acquire_n,
/// the four acquire futures, rate_limit_by items) add up to exactly
/// `burst + steps - available`: one more is a permit granted twice, one
/// fewer a permit taken from the state and lost (a grant dropped between
/// the state's update and `Ready`). Futures are dropped at random polls,
/// right after a wake, or while another thread hands them their turn.
#[test]
fn threads_mixing_every_request_are_granted_exactly_what_the_state_took() {
    let clock = VirtualClock::new();
    let limiter = under(&clock, || {
        RateLimiter::builder(1000, SEC)
            .burst(BURST)
            .build()
            .unwrap()
    });
    let stop = AtomicBool::new(false);
    let granted = AtomicUsize::new(0);
    let requests = AtomicUsize::new(0);
    let mut steps = 0_u64;
    std::thread::scope(|threads| {
        for seed in 0..4 {
            let (limiter, clock, stop, granted, requests) =
                (&limiter, &clock, &stop, &granted, &requests);
            threads.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed);
                while !stop.load(SeqCst) {
                    let got = one_request(limiter, clock, &mut rng, stop);
                    granted.fetch_add(got as usize, SeqCst);
                    requests.fetch_add(1, SeqCst);
                }
            });
        }
        let started = Instant::now();
        while steps < 50_000 && started.elapsed() < STRESS {
            if under(&clock, || limiter.available()) < BURST {
                clock.advance(MS);
                steps += 1;
            } else {
                std::thread::yield_now();
            }
        }
        stop.store(true, SeqCst);
    });
    let available = u64::from(under(&clock, || limiter.available()));
    let expected = u64::from(BURST) + steps - available;
    assert_eq!(limiter.waiting(), 0, "a waiter was left in the queue");
    assert_eq!(
        granted.load(SeqCst) as u64,
        expected,
        "permits granted vs taken from the state, over {steps} intervals and {} requests",
        requests.load(SeqCst)
    );
    assert!(steps > 0, "nothing was ever granted");
}

/// A limiter of `rate` per second with a burst of one, on `clock`, whose
/// one permit is taken: the next acquire waits.
fn spent_limiter(clock: &VirtualClock, rate: u32) -> RateLimiter {
    let limiter = under(clock, || {
        RateLimiter::builder(rate, SEC).burst(1).build().unwrap()
    });
    assert!(under(clock, || limiter.try_acquire()).is_ok());
    limiter
}

/// "Waiters queue in arrival order ... when it is served it wakes the next
/// one", and a waiter dropped early "gives its place in the queue back; if
/// it was at the head, the next waiter is woken and served in its place."
/// Twenty waiters are queued in order on one thread, then each is driven to
/// its end on a thread of its own, while the control thread lets one
/// permit come due at a time (the clock moves only once the last one was
/// granted and recorded) and other threads drop a few of the waiters at random moments:
/// the others are all served (none left waiting for a wake that never
/// came), one per permit, in their arrival order.
#[test]
fn waiters_driven_from_many_threads_are_served_in_order_while_others_drop() {
    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut rounds = 0;
    while rounds < 30 && started.elapsed() < STRESS {
        rounds += 1;
        let clock = VirtualClock::new();
        let limiter = spent_limiter(&clock, 1000);
        const WAITERS: usize = 20;
        let mut queued = Vec::new();
        for _ in 0..WAITERS {
            let mut waiter = Box::pin(anyrt_core::with_timer(clock.clone(), limiter.acquire()));
            let pending = waiter
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending();
            assert!(pending, "no permit is free yet");
            queued.push(waiter);
        }
        assert_eq!(limiter.waiting(), WAITERS);
        let dropped: Vec<bool> = (0..WAITERS).map(|_| rng.u8(0..4) == 0).collect();
        let served = Mutex::new(Vec::new());
        let give_up = AtomicBool::new(false);
        std::thread::scope(|threads| {
            for (i, waiter) in queued.into_iter().enumerate() {
                let (served, give_up) = (&served, &give_up);
                let drop_it = dropped[i];
                let spins = rng.usize(0..2000);
                threads.spawn(move || {
                    if drop_it {
                        for _ in 0..spins {
                            std::hint::spin_loop();
                        }
                        drop(waiter);
                        return;
                    }
                    if drive_to_end(waiter, give_up).is_some() {
                        served.lock().unwrap().push(i);
                    }
                });
            }
            // One permit comes due once the one before was granted and
            // its waiter recorded, so the record is in the order served.
            let want = dropped.iter().filter(|d| !**d).count();
            let control = Instant::now();
            let mut due = 0;
            while served.lock().unwrap().len() < want {
                if control.elapsed() > Duration::from_secs(10) {
                    break; // stalled: reported below
                }
                if served.lock().unwrap().len() == due {
                    clock.advance(MS);
                    due += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            give_up.store(true, SeqCst);
        });
        let served = served.into_inner().unwrap();
        let want: Vec<usize> = (0..WAITERS).filter(|i| !dropped[*i]).collect();
        assert_eq!(
            served, want,
            "round {rounds}: the waiters served, in the order served (dropped: {dropped:?})"
        );
        assert_eq!(limiter.waiting(), 0);
    }
}

/// The same queue on the system clock, with a real timer: threads that
/// mix `try_acquire` and acquire futures dropped at random polls never get
/// more than the burst plus the rate's share of the time that passed (a
/// bound from above only, so a slow machine cannot fail it), nothing is
/// left queued, and a last acquire after the storm completes.
#[test]
fn on_the_system_clock_threads_dropping_at_random_never_over_grant() {
    let limiter = RateLimiter::builder(20_000, SEC).burst(8).build().unwrap();
    let stop = AtomicBool::new(false);
    let granted = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|threads| {
        for seed in 0..6 {
            let (limiter, stop, granted) = (&limiter, &stop, &granted);
            threads.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(100 + seed);
                while !stop.load(SeqCst) {
                    let polls = rng.usize(1..6);
                    let got = match rng.u8(0..4) {
                        0 => u32::from(limiter.try_acquire().is_ok()),
                        1 => drive(limiter.acquire(), polls, &mut rng, stop).map_or(0, |()| 1),
                        2 => {
                            let k = rng.u32(1..=8);
                            match drive(limiter.acquire_n(k), polls, &mut rng, stop) {
                                Some(result) => {
                                    result.unwrap();
                                    k
                                }
                                None => 0,
                            }
                        }
                        _ => {
                            drive(limiter.acquire_owned(), polls, &mut rng, stop).map_or(0, |()| 1)
                        }
                    };
                    granted.fetch_add(got as usize, SeqCst);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(150));
        stop.store(true, SeqCst);
    });
    let elapsed = start.elapsed();
    let granted = granted.load(SeqCst) as f64;
    // 20 per ms; a little room for the fast clock's tens of nanoseconds.
    let bound = 8.0 + elapsed.as_secs_f64() * 20_000.0 + 2.0;
    assert!(
        granted <= bound,
        "{granted} permits in {elapsed:?}, at most {bound}"
    );
    assert_eq!(limiter.waiting(), 0, "a waiter was left in the queue");
    futures::executor::block_on(limiter.acquire());
}

/// The queue's hand-off while the next waiter is dropped on another
/// thread: the head is served and leaves (waking the waiter behind it)
/// at the same moment as that waiter is dropped; the third waiter must be
/// woken and be the head, whichever went first.
#[test]
fn a_turn_handed_to_a_waiter_dropped_meanwhile_reaches_the_one_behind() {
    let started = Instant::now();
    let mut tries = 0;
    while tries < 20_000 && started.elapsed() < STRESS {
        tries += 1;
        let clock = VirtualClock::new();
        let limiter = spent_limiter(&clock, 1);
        let (third_waker, third_wakes) = anyrt_tests::wakers::counting();
        let mut head = Box::pin(anyrt_core::with_timer(clock.clone(), limiter.acquire()));
        let mut second = Box::pin(anyrt_core::with_timer(clock.clone(), limiter.acquire()));
        let mut third = Box::pin(anyrt_core::with_timer(clock.clone(), limiter.acquire()));
        let noop = &mut Context::from_waker(Waker::noop());
        assert!(head.as_mut().poll(noop).is_pending());
        assert!(second.as_mut().poll(noop).is_pending());
        assert!(
            third
                .as_mut()
                .poll(&mut Context::from_waker(&third_waker))
                .is_pending()
        );
        clock.advance(SEC); // the head's permit is due
        let spins = fastrand::usize(0..300);
        std::thread::scope(|threads| {
            threads.spawn(|| {
                let served = head.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                assert!(served.is_ready(), "the head's permit was due");
            });
            threads.spawn(move || {
                for _ in 0..spins {
                    std::hint::spin_loop();
                }
                drop(second);
            });
        });
        assert_eq!(limiter.waiting(), 1, "try {tries}: only the third waits");
        assert!(
            third_wakes.0.load(SeqCst) >= 1,
            "try {tries}: the third was never woken"
        );
        clock.advance(SEC);
        let third_now = third.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(
            third_now.is_ready(),
            "try {tries}: the third is the head, its permit due"
        );
    }
}

// ---------------------------------------------------------------------
// buffer: the producer task on another thread racing its consumer.
// ---------------------------------------------------------------------

/// Counts its drops: an item, or the upstream itself.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Waits (on real time, bounded) until `done()` holds.
/// Every item of `stream` up to its end or its first panic, and which
/// of the two came.
async fn drain_caught<S: futures::Stream + Unpin>(stream: &mut S) -> (Vec<S::Item>, &'static str) {
    use futures::FutureExt;
    let mut out = Vec::new();
    loop {
        match std::panic::AssertUnwindSafe(stream.next())
            .catch_unwind()
            .await
        {
            Ok(Some(item)) => out.push(item),
            Ok(None) => return (out, "end"),
            Err(_) => return (out, "panic"),
        }
    }
}

async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        anyrt_core::sleep(MS).await;
    }
    panic!("{what}: the condition never held");
}

/// An endless upstream of guarded items that yields now and then (so the
/// task is rescheduled, possibly onto another worker), counting the items
/// made; its own guard counts the upstream's drop.
fn guarded_items(
    made: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    gone: Arc<AtomicUsize>,
    seed: u64,
) -> impl futures::Stream<Item = (usize, Guard)> + Send + 'static {
    let upstream = Guard(gone);
    let mut rng = fastrand::Rng::with_seed(seed);
    futures::stream::iter(0..).then(move |i| {
        let _upstream = &upstream;
        let pause = rng.u8(0..4) == 0;
        made.fetch_add(1, SeqCst);
        let item = (i, Guard(dropped.clone()));
        async move {
            if pause {
                anyrt_core::yield_now().await;
            }
            item
        }
    })
}

/// "Dropping the stream cancels the task (dropping the upstream) and drops
/// the items queued but not yet taken." Dropped after a random number of
/// items, at random moments of its task's run on another worker: the
/// upstream is always dropped, every item made is dropped exactly once
/// (taken or queued), and the items taken came in order.
#[anyrt_test::test(timeout = 60)]
async fn a_buffer_dropped_while_its_task_runs_drops_every_item_once() {
    let mut rng = fastrand::Rng::with_seed(11);
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 200 && started.elapsed() < Duration::from_millis(700) {
        rounds += 1;
        let (made, dropped, gone) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let source = guarded_items(made.clone(), dropped.clone(), gone.clone(), rng.u64(..));
        let mut buffered = source.buffer(n(rng.usize(1..5)));
        for expected in 0..rng.usize(0..20) {
            let (i, _item) = buffered.next().await.expect("an endless upstream");
            assert_eq!(i, expected, "round {rounds}: out of order");
        }
        for _ in 0..rng.usize(0..50) {
            std::hint::spin_loop();
        }
        drop(buffered);
        eventually("the upstream is dropped", || gone.load(SeqCst) == 1).await;
        eventually("every item is dropped", || {
            dropped.load(SeqCst) == made.load(SeqCst)
        })
        .await;
        assert_eq!(
            dropped.load(SeqCst),
            made.load(SeqCst),
            "round {rounds}: items dropped vs made"
        );
    }
}

/// "The stream ends when the upstream does; a panic in the upstream is
/// resumed here once the items before it are out." The upstream ends (or
/// panics) on the task's worker while the consumer polls on another: every
/// item comes out, in order, then the end or the panic, then `None`.
#[anyrt_test::test(timeout = 60)]
async fn a_buffer_whose_upstream_ends_on_another_worker_loses_no_item() {
    anyrt_tests::panics::quiet_provoked_panics();
    let mut rng = fastrand::Rng::with_seed(12);
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 300 && started.elapsed() < Duration::from_millis(700) {
        rounds += 1;
        let len = rng.usize(0..40);
        let panics = rng.bool();
        let mut pauses = fastrand::Rng::with_seed(rng.u64(..));
        let source = futures::stream::iter(0..len + usize::from(panics)).then(move |i| {
            let pause = pauses.u8(0..3) == 0;
            async move {
                if pause {
                    anyrt_core::yield_now().await;
                }
                if i == len {
                    std::panic::panic_any(anyrt_tests::panics::PROVOKED);
                }
                i
            }
        });
        let mut buffered = source.buffer(n(rng.usize(1..4)));
        let (out, end) = drain_caught(&mut buffered).await;
        assert_eq!(out, (0..len).collect::<Vec<_>>(), "round {rounds}");
        assert_eq!(end, if panics { "panic" } else { "end" }, "round {rounds}");
        assert_eq!(buffered.next().await, None, "round {rounds}: after the end");
    }
}

// ---------------------------------------------------------------------
// map_concurrent(_unordered), merge, MergeGroup: woken from other threads.
// ---------------------------------------------------------------------

/// Worker threads that complete the senders they are handed, each after a
/// random spin, in whatever order they get to them.
fn completer<'scope>(
    threads: &'scope std::thread::Scope<'scope, '_>,
    jobs: std::sync::mpsc::Receiver<(usize, futures::channel::oneshot::Sender<usize>)>,
) {
    let jobs = Arc::new(Mutex::new(jobs));
    for seed in 0..3 {
        let jobs = jobs.clone();
        threads.spawn(move || {
            let mut rng = fastrand::Rng::with_seed(seed);
            loop {
                let job = jobs.lock().unwrap().recv();
                let Ok((value, done)) = job else { return };
                for _ in 0..rng.usize(0..500) {
                    std::hint::spin_loop();
                }
                let _ = done.send(value);
            }
        });
    }
}

/// The concurrent maps' futures are completed from other threads (a wake
/// from another thread, while the map may be in its poll): the ordered map
/// yields every output in input order, the unordered one every output
/// once; neither waits for a wake that was lost.
#[test]
fn maps_whose_futures_finish_on_other_threads_yield_every_output() {
    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(13);
    let mut rounds = 0;
    let give_up = AtomicBool::new(false);
    std::thread::scope(|threads| {
        let (jobs, queue) = std::sync::mpsc::channel();
        completer(threads, queue);
        while rounds < 400 && started.elapsed() < Duration::from_millis(700) {
            rounds += 1;
            let count = rng.usize(0..60);
            let limit = n(rng.usize(1..9));
            let spawn = |i: usize| {
                let (done, output) = futures::channel::oneshot::channel();
                jobs.send((i, done)).unwrap();
                async move { output.await.unwrap() }
            };
            let ordered = futures::stream::iter(0..count).map_concurrent(limit, spawn);
            let out = drive_to_end(ordered.collect::<Vec<_>>(), &give_up);
            assert_eq!(out, Some((0..count).collect()), "round {rounds}: ordered");
            let unordered = futures::stream::iter(0..count).map_concurrent_unordered(limit, spawn);
            let mut out = drive_to_end(unordered.collect::<Vec<_>>(), &give_up).unwrap();
            out.sort_unstable();
            assert_eq!(
                out,
                (0..count).collect::<Vec<_>>(),
                "round {rounds}: unordered"
            );
        }
        drop(jobs);
    });
}

/// `merge` and `MergeGroup` over channels fed by other threads: every
/// item of every stream comes out, each stream's in its order, and the
/// group reports each stream's end once; removing streams and pushing new
/// ones into their slots while the old ones' senders still wake them
/// loses nothing of the new ones.
#[test]
fn merges_fed_from_other_threads_lose_nothing() {
    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(14);
    let give_up = AtomicBool::new(false);
    let mut rounds = 0;
    while rounds < 300 && started.elapsed() < Duration::from_millis(700) {
        rounds += 1;
        let streams = rng.usize(1..6);
        let per = rng.usize(0..30);
        std::thread::scope(|threads| {
            let mut receivers = Vec::new();
            for s in 0..streams {
                let (tx, rx) = futures::channel::mpsc::unbounded();
                receivers.push(rx);
                let spin = rng.usize(0..200);
                threads.spawn(move || {
                    for i in 0..per {
                        for _ in 0..spin {
                            std::hint::spin_loop();
                        }
                        tx.unbounded_send((s, i)).unwrap();
                    }
                });
            }
            let all =
                drive_to_end(anyrt_stream::merge(receivers).collect::<Vec<_>>(), &give_up).unwrap();
            for s in 0..streams {
                let mine: Vec<usize> = all
                    .iter()
                    .filter(|(t, _)| *t == s)
                    .map(|(_, i)| *i)
                    .collect();
                assert_eq!(
                    mine,
                    (0..per).collect::<Vec<_>>(),
                    "round {rounds}: stream {s}"
                );
            }
        });

        // A group: a stream removed while its sender still sends, another
        // pushed into its slot.
        std::thread::scope(|threads| {
            let (stale_tx, stale_rx) = futures::channel::mpsc::unbounded::<usize>();
            let (tx, rx) = futures::channel::mpsc::unbounded::<usize>();
            let mut group = MergeGroup::new();
            let stale = group.push(stale_rx);
            let mut cx = Context::from_waker(Waker::noop());
            assert!(group.poll_next_event(&mut cx).is_pending());
            assert!(group.remove(stale).is_some());
            let fresh = group.push(rx);
            threads.spawn(move || {
                for i in 0..per {
                    let _ = stale_tx.unbounded_send(i);
                }
            });
            threads.spawn(move || {
                for i in 0..per {
                    tx.unbounded_send(i).unwrap();
                }
            });
            let mut items = Vec::new();
            let mut ended = 0;
            let events = futures::stream::poll_fn(|cx| group.poll_next_event(cx));
            let all = drive_to_end(events.collect::<Vec<_>>(), &give_up).unwrap();
            for event in all {
                match event {
                    anyrt_stream::MergeEvent::Item(key, i) => {
                        assert_eq!(key, fresh, "round {rounds}: an item of a removed stream");
                        items.push(i);
                    }
                    anyrt_stream::MergeEvent::Ended(key) => {
                        assert_eq!(key, fresh);
                        ended += 1;
                    }
                }
            }
            assert_eq!(items, (0..per).collect::<Vec<_>>(), "round {rounds}");
            assert_eq!(ended, 1, "round {rounds}: one end");
        });
    }
}

/// "The stream ends when the upstream does; a panic in the upstream is
/// resumed here." The consumer's waker is called from the producer task
/// (after each item is queued, `ops/buffer.rs`, `this.channel.consumer
/// .wake()`); one that panics (an executor's bug, as the limiter's queue
/// allows for with `anyrt_core::wake_quietly`) unwinds the producer task:
/// its upstream is dropped mid-stream, and the consumer, polled again with
/// a good waker, gets the first item, then the waker's panic as if it
/// were the upstream's, and never the other items.
#[anyrt_test::test(timeout = 20)]
async fn a_panicking_consumer_waker_does_not_end_the_upstream() {
    anyrt_tests::panics::quiet_provoked_panics();
    let (open, gate) = futures::channel::oneshot::channel::<()>();
    let source = futures::stream::once(gate).flat_map(|_| futures::stream::iter(0..5));
    let mut buffered = source.buffer(n(8));
    let panicking = anyrt_tests::wakers::panicking();
    let first = futures::Stream::poll_next(
        Pin::new(&mut buffered),
        &mut Context::from_waker(&panicking),
    );
    assert!(first.is_pending(), "the upstream waits for its gate");
    open.send(()).unwrap();
    // The first item is queued, and the consumer woken, while the
    // panicking waker is the one registered.
    eventually("the first item is queued", || !buffered.is_empty()).await;
    let (out, end) = drain_caught(&mut buffered).await;
    assert_eq!(
        (out, end),
        ((0..5).collect(), "end"),
        "the upstream's items, then its end"
    );
}

/// The same for the per-slot wakers of the concurrent maps (and merges):
/// a slot's waker is called by whatever completes the slot's future, on
/// any thread (here a channel's sender), and it calls the consumer's
/// waker there (`wake_set.rs`, `SlotWaker::wake_by_ref`,
/// `self.shared.parent.wake()`). A consumer waker that panics then panics
/// in the sender's code, a party that has nothing to do with the map (in
/// a sender's drop during an unwinding, the process would abort); the
/// limiter's queue keeps such a panic to itself with
/// `anyrt_core::wake_quietly`.
#[test]
fn a_panicking_consumer_waker_goes_no_further_than_the_map() {
    anyrt_tests::panics::quiet_provoked_panics();
    let (done, output) = futures::channel::oneshot::channel::<u8>();
    let mut outputs = Some(output);
    let mut map = futures::stream::iter([0]).map_concurrent(n(1), move |_| outputs.take().unwrap());
    let panicking = anyrt_tests::wakers::panicking();
    let first =
        futures::Stream::poll_next(Pin::new(&mut map), &mut Context::from_waker(&panicking));
    assert!(first.is_pending());
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done.send(7)));
    assert!(
        sent.is_ok(),
        "the sender was hit by the map's consumer's waker"
    );
    let out = futures::executor::block_on(map.collect::<Vec<_>>());
    assert_eq!(out, [Ok(7)]);
}
