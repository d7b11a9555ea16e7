//! Regressions and edges of anyrt-stream: panics in the upstream and in
//! user closures, limiter waits and clocks past the timer's horizon, an
//! upstream that is always ready, and other edges the operators' docs
//! promise something about. Each regression test failed before its fix.

use std::num::NonZeroUsize;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyrt_core::{Timer, VirtualClock};
use anyrt_stream::{RateLimiter, StreamOps};
use futures::{FutureExt, Stream, StreamExt};

const MS: Duration = Duration::from_millis(1);
const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// What [`drain_catching`] saw: the items, how many panics it caught,
/// and whether the stream ended (`false`: it hung).
#[derive(Debug, PartialEq, Eq)]
struct Drained<T> {
    items: Vec<T>,
    panics: usize,
    ended: bool,
}

/// Drains `stream`, catching each panic it resumes. Gives up after `limit`
/// of virtual time, so that a stream that hangs fails the test instead of
/// stalling it.
async fn drain_catching<S: Stream + Unpin>(mut stream: S, limit: Duration) -> Drained<S::Item> {
    let mut out = Drained {
        items: Vec::new(),
        panics: 0,
        ended: false,
    };
    let drain = async {
        loop {
            match std::panic::AssertUnwindSafe(stream.next())
                .catch_unwind()
                .await
            {
                Ok(Some(item)) => out.items.push(item),
                Ok(None) => return,
                Err(_) => out.panics += 1,
            }
        }
    };
    out.ended = anyrt_deadline::timeout(limit, drain).await.is_ok();
    out
}

fn drained<T>(items: Vec<T>, panics: usize) -> Drained<T> {
    Drained {
        items,
        panics,
        ended: true,
    }
}

/// A stream that yields `0..before`, panics once at the poll after them,
/// then yields nothing more and ends.
struct PanicsOnce {
    next: usize,
    before: usize,
    panicked: bool,
}

impl PanicsOnce {
    fn after(before: usize) -> Self {
        PanicsOnce {
            next: 0,
            before,
            panicked: false,
        }
    }
}

impl Stream for PanicsOnce {
    type Item = usize;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<usize>> {
        if self.next < self.before {
            self.next += 1;
            return Poll::Ready(Some(self.next - 1));
        }
        if !self.panicked {
            self.panicked = true;
            panic!("upstream failed");
        }
        Poll::Ready(None)
    }
}

// ---------------------------------------------------------------------
// map_concurrent / map_concurrent_unordered: panics outside the futures
// ---------------------------------------------------------------------

/// `MapConcurrent`'s docs: "Futures in flight and buffered outputs live in
/// the stream" and, for panics, "if the panic is caught, polling again goes
/// on with the other items". An upstream that panics while the map pulls
/// it must not cost the output of an item that had already finished.
///
/// Regression: item 0's output was taken from the reorder buffer, then
/// the refill before it is returned polled the upstream, which panicked:
/// the output, held in a local, was dropped by the unwinding. Now a panic
/// there is resumed at the next poll, once the output is out.
#[anyrt_test::test(virtual_time)]
async fn ordered_map_keeps_a_finished_output_when_the_upstream_panics() {
    let mapped = PanicsOnce::after(2).map_concurrent(n(2), |i| async move { i });
    let out = drain_catching(mapped, Duration::from_secs(1)).await;
    assert_eq!(out, drained(vec![0, 1], 1), "item 0's output was lost");
}

/// As above, for `map_concurrent` when the user's `f` panics for one item:
/// that item has nothing to yield, but item 0, already finished, must still
/// come out ("polling again goes on with the other items").
#[anyrt_test::test(virtual_time)]
async fn ordered_map_keeps_a_finished_output_when_f_panics() {
    let mapped = futures::stream::iter(0..5).map_concurrent(n(2), |i| {
        if i == 2 {
            panic!("f failed");
        }
        async move { i }
    });
    let out = drain_catching(mapped, Duration::from_secs(1)).await;
    assert_eq!(
        out,
        drained(vec![0, 1, 3, 4], 1),
        "item 0's output was lost"
    );
}

/// `MapConcurrentUnordered` refills "at once, before the output is handed
/// out". Regression: an upstream that panicked in that refill dropped the
/// finished output with the unwinding. Both finished items come out.
#[anyrt_test::test(virtual_time)]
async fn unordered_map_keeps_a_finished_output_when_the_upstream_panics() {
    let mapped = PanicsOnce::after(2).map_concurrent_unordered(n(2), |i| async move { i });
    let mut out = drain_catching(mapped, Duration::from_secs(1)).await;
    out.items.sort_unstable();
    assert_eq!(out, drained(vec![0, 1], 1), "item 0's output was lost");
}

/// A panic in the user's `f` must not corrupt `MapConcurrentUnordered`:
/// after it is caught, every other item still comes out and the stream
/// ends ("polling again goes on with the other items").
///
/// Regression: a free slot was popped before `f` ran; when `f` panicked
/// the slot was neither used nor given back. The next start then took
/// `in_flight` as a fresh index, the slot of a future still running: that
/// future was overwritten (its item lost), and `in_flight` counted a
/// future that no longer existed, so the stream never ended. Now `f` runs
/// before a slot is taken.
///
/// Timeline (n = 2): items 0 and 1 start at once; 0 finishes at 1 ms and
/// frees slot 0; item 2 arrives at 3 ms and `f(2)` panics; item 3 then
/// overwrites item 1 (due at 10 ms) in slot 1.
#[anyrt_test::test(virtual_time)]
async fn unordered_map_survives_a_panic_in_f() {
    let source = futures::stream::iter(0..6_u64).then(|i| async move {
        if i == 2 {
            anyrt_core::sleep(3 * MS).await;
        }
        i
    });
    let mapped = Box::pin(source).map_concurrent_unordered(n(2), |i| {
        if i == 2 {
            panic!("f failed");
        }
        async move {
            anyrt_core::sleep(if i == 1 { 10 * MS } else { MS }).await;
            i
        }
    });
    let mut out = drain_catching(mapped, Duration::from_secs(1)).await;
    out.items.sort_unstable();
    assert_eq!(out, drained(vec![0, 1, 3, 4, 5], 1));
}

// ---------------------------------------------------------------------
// RateLimiter: waits and clock readings past the timer's horizon
// ---------------------------------------------------------------------

/// A virtual clock as an ambient timer that panics once it has been read
/// `limit` times: a poll that spins on the clock fails instead of hanging.
#[derive(Clone)]
struct BoundedReads {
    clock: VirtualClock,
    reads: Arc<AtomicUsize>,
    limit: usize,
}

impl Timer for BoundedReads {
    type Sleep = anyrt_core::futures::VirtualSleep;

    fn now(&self) -> Instant {
        let reads = self.reads.fetch_add(1, Ordering::Relaxed);
        assert!(
            reads < self.limit,
            "the clock was read {reads} times: spinning"
        );
        self.clock.now()
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        self.clock.sleep_until(deadline)
    }
}

/// Drives `limiter.acquire()` on `clock` through a bounded clock: each
/// time it is pending, the clock jumps to the next sleeper. The time it
/// was granted at, or why it was not.
fn acquire_on(clock: &VirtualClock, limiter: &RateLimiter) -> Result<Instant, &'static str> {
    let timer = BoundedReads {
        clock: clock.clone(),
        reads: Arc::new(AtomicUsize::new(0)),
        limit: 100_000,
    };
    futures::executor::block_on(anyrt_core::with_timer(timer, async {
        let mut acquire = pin!(limiter.acquire());
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..10 {
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                acquire.as_mut().poll(&mut cx)
            }));
            match polled {
                Err(_) => return Err("a poll of the acquire spun on the clock"),
                Ok(Poll::Ready(())) => return Ok(clock.now()),
                Ok(Poll::Pending) => {
                    if !clock.advance_to_next() {
                        return Err("pending with no sleep registered");
                    }
                }
            }
        }
        Err("not granted after 10 wakes")
    }))
}

/// `RateLimiterBuilder::build` accepts any period up to "about 584 years"
/// (`BuildError::TooLarge` only above), and `acquire` "waits for one
/// permit". A wait longer than `anyrt_core::far_future` (about 30 years
/// ahead) must still end when the permit is due, not spin.
///
/// Regression: the waiter slept until an instant counted from the
/// limiter's epoch, which `anyrt_core::deadline_after` capped at
/// `far_future`. Once the clock reached it the sleep was ready at once, the
/// permit was still not due, and one poll spun forever (here the bounded
/// clock turns a spin into a panic). The sleep is now counted from now.
#[test]
fn an_acquire_longer_than_far_future_does_not_spin() {
    let clock = VirtualClock::new();
    let start = clock.now();
    let limiter = anyrt_core::with_timer(clock.clone(), async {
        let limiter = RateLimiter::builder(1, 40 * YEAR).burst(1).build().unwrap();
        limiter.try_acquire().unwrap();
        limiter
    });
    let limiter = futures::executor::block_on(limiter);
    let granted = acquire_on(&clock, &limiter).unwrap();
    assert!(granted - start >= 40 * YEAR, "granted early");
}

/// The same spin with an everyday limiter (10 per second), made before a
/// virtual clock jumped to `far_future` (`clock.advance(Duration::MAX)`):
/// its next wait, due just after `far_future`, was capped at it, which was
/// now, and the waiter spun. It is granted 100 ms after the jump.
#[test]
fn an_acquire_after_the_clock_jumped_to_far_future_does_not_spin() {
    let clock = VirtualClock::new();
    let limiter = futures::executor::block_on(anyrt_core::with_timer(clock.clone(), async {
        RateLimiter::builder(10, Duration::from_secs(1))
            .burst(1)
            .build()
            .unwrap()
    }));
    clock.advance(Duration::MAX);
    let jumped = clock.now();
    futures::executor::block_on(anyrt_core::with_timer(clock.clone(), async {
        limiter.try_acquire().unwrap();
    }));
    let granted = acquire_on(&clock, &limiter).unwrap();
    assert_eq!(granted - jumped, 100 * MS);
}

/// `RateLimiter`: "The long-run rate is exact" and a refused `try_acquire`
/// is the rule once the burst is spent. A limiter of 333 per second counts
/// in sixteenths of a nanosecond, so its `u64` clock covers about 36
/// years; a program (or a virtual clock) that runs past that must not turn
/// it into one that grants every request.
///
/// Regression: the ticks saturated at `u64::MAX`, `Gcra::decide` then
/// allowed every request (the TAT saturated too), and the limiter stopped
/// limiting. A clock past the range now stands still at the last tick
/// where a grant fits, and a grant that would not fit is never due: the
/// second permit of a burst of one is refused, however far the clock moved.
#[anyrt_test::test(virtual_time)]
async fn a_limiter_still_limits_after_its_clock_range(clock: VirtualClock) {
    let limiter = RateLimiter::builder(333, Duration::from_secs(1))
        .burst(1)
        .build()
        .unwrap();
    clock.advance_to(clock.now() + 40 * YEAR);
    assert_eq!(limiter.try_acquire(), Ok(()));
    let granted = (0..1000).filter(|_| limiter.try_acquire().is_ok()).count();
    assert_eq!(
        granted, 0,
        "a burst of 1 granted {} more at one instant",
        granted
    );
}

// ---------------------------------------------------------------------
// chunks_timeout: the time bound with an upstream that is always ready
// ---------------------------------------------------------------------

/// An upstream that is always ready, each item taking `work` of virtual
/// time to produce (as a busy source does on a real clock), `count` items,
/// then pending for good.
fn busy(clock: VirtualClock, count: usize, work: Duration) -> impl Stream<Item = usize> + Unpin {
    let mut next = 0;
    futures::stream::poll_fn(move |_| {
        if next == count {
            return Poll::Pending;
        }
        clock.advance(work);
        next += 1;
        Poll::Ready(Some(next - 1))
    })
}

/// `ChunksTimeout`: "each emitted when full or `duration` after its first
/// item arrived". Regression: with an upstream that is never pending, the
/// timer was looked at only when the upstream returned `Pending`, so 50
/// items produced over 50 ms came out as one chunk at 50 ms, though the
/// chunk's time was up at 10 ms (and with `max` = `NonZeroUsize::MAX` and
/// an endless source one poll never returned). Now the chunk's time is
/// also looked at every 32 ready items, the bound its docs give.
#[anyrt_test::test(virtual_time)]
async fn chunks_timeout_keeps_its_time_bound_with_a_busy_upstream(clock: VirtualClock) {
    let start = clock.now();
    let mut chunks = busy(clock.clone(), 50, MS).chunks_timeout(n(1000), 10 * MS);
    let first = anyrt_deadline::timeout(Duration::from_secs(1), chunks.next())
        .await
        .expect("a chunk")
        .expect("not the end");
    let at = clock.now() - start;
    // Its time is looked at every 32 ready items (the docs' bound).
    assert!(
        first.len() <= 32 && at <= 32 * MS,
        "the first chunk had {} items at {at:?}; its time was up at 11 ms",
        first.len()
    );
}

// ---------------------------------------------------------------------
// Checks that held: size hints, fusing, held items across caught panics
// ---------------------------------------------------------------------

/// Drains `stream` and checks that every `size_hint` taken before a
/// `next()` bounds the number of items that really came after it, and that
/// the hint is `(0, Some(0))` and the stream terminated after the end.
async fn hints_bound_what_comes<S>(name: &str, mut stream: S) -> usize
where
    S: Stream + futures::stream::FusedStream + Unpin,
{
    let mut hints = Vec::new();
    loop {
        hints.push(stream.size_hint());
        if stream.next().await.is_none() {
            break;
        }
    }
    let total = hints.len() - 1;
    for (taken, (low, high)) in hints.into_iter().enumerate() {
        let left = total - taken;
        assert!(low <= left, "{name}: low {low} > {left} left after {taken}");
        assert!(
            high.is_none_or(|high| left <= high),
            "{name}: high {high:?} < {left} left after {taken}"
        );
    }
    assert!(
        stream.is_terminated(),
        "{name}: not terminated after the end"
    );
    assert_eq!(
        stream.size_hint(),
        (0, Some(0)),
        "{name}: hint after the end"
    );
    assert!(
        stream.next().await.is_none(),
        "{name}: polled after the end"
    );
    total
}

/// Items 0..count at varied virtual gaps (0 to 12 ms).
fn spaced(count: u64) -> Pin<Box<dyn Stream<Item = u64> + Send>> {
    Box::pin(futures::stream::iter(0..count).then(|i| async move {
        anyrt_core::sleep(Duration::from_millis(
            [0, 3, 0, 7, 1, 12, 0, 2][i as usize % 8],
        ))
        .await;
        i
    }))
}

#[anyrt_test::test(virtual_time)]
async fn every_size_hint_bounds_what_comes_and_is_zero_after_the_end() {
    let limiter = RateLimiter::builder(200, Duration::from_secs(1))
        .burst(2)
        .build()
        .unwrap();
    let src = || spaced(30);
    let results = || src().map(|i| if i % 5 == 4 { Err(i) } else { Ok(i) });
    hints_bound_what_comes("chunks", src().chunks_timeout(n(4), 5 * MS)).await;
    hints_bound_what_comes("try_chunks", results().try_chunks_timeout(n(4), 5 * MS)).await;
    hints_bound_what_comes("pace", src().pace(4 * MS)).await;
    hints_bound_what_comes("rate_limit", src().rate_limit(&limiter)).await;
    hints_bound_what_comes(
        "rate_limit_by",
        src().rate_limit_by(&limiter, |i| (*i % 4) as u32),
    )
    .await;
    hints_bound_what_comes("timeout_each", src().timeout_each(2 * MS)).await;
    hints_bound_what_comes("debounce", src().debounce(5 * MS)).await;
    hints_bound_what_comes("throttle", src().throttle(5 * MS)).await;
    hints_bound_what_comes("throttle_latest", src().throttle_latest(5 * MS)).await;
    let work = |i: u64| async move {
        anyrt_core::sleep(Duration::from_millis(7 - i % 7)).await;
        i
    };
    hints_bound_what_comes("map_concurrent", src().map_concurrent(n(3), work)).await;
    hints_bound_what_comes("unordered", src().map_concurrent_unordered(n(3), work)).await;
    hints_bound_what_comes("buffer", src().buffer(n(3))).await;
    hints_bound_what_comes("merge", anyrt_stream::merge([src(), src(), src()])).await;
    let empty: Vec<Pin<Box<dyn Stream<Item = u64> + Send>>> = Vec::new();
    assert_eq!(
        hints_bound_what_comes("empty merge", anyrt_stream::merge(empty)).await,
        0
    );
}

/// An upstream that panics once while an operator holds items: after the
/// panic is caught, the held items still come out as documented (nothing
/// the operator holds lives in the poll that unwound).
#[anyrt_test::test(virtual_time)]
async fn held_items_survive_a_caught_panic_in_the_upstream() {
    let src = || PanicsOnce::after(3);
    let limit = Duration::from_secs(1);
    let out = drain_catching(src().chunks_timeout(n(10), 10 * MS), limit).await;
    assert_eq!(out, drained(vec![vec![0, 1, 2]], 1));
    let out = drain_catching(src().debounce(10 * MS), limit).await;
    assert_eq!(out, drained(vec![2], 1));
    let out = drain_catching(src().throttle_latest(10 * MS), limit).await;
    assert_eq!(out, drained(vec![0, 2], 1));
    let out = drain_catching(src().throttle(10 * MS), limit).await;
    assert_eq!(out, drained(vec![0], 1));
    let out = drain_catching(src().pace(10 * MS), limit).await;
    assert_eq!(out, drained(vec![0, 1, 2], 1));
    let out = drain_catching(src().timeout_each(MS), limit).await;
    assert_eq!(out, drained(vec![Ok(0), Ok(1), Ok(2)], 1));
    let limiter = RateLimiter::builder(10, Duration::from_secs(1))
        .burst(1)
        .build()
        .unwrap();
    let out = drain_catching(src().rate_limit(&limiter), limit).await;
    assert_eq!(out, drained(vec![0, 1, 2], 1));
    assert_eq!(limiter.waiting(), 0);
    // A cost function that panics loses its own item only.
    let out = drain_catching(
        futures::stream::iter(0..4_u32).rate_limit_by(&limiter, |i| {
            if *i == 1 {
                panic!("cost failed");
            }
            1
        }),
        limit,
    )
    .await;
    assert_eq!(out, drained(vec![Ok(0), Ok(2), Ok(3)], 1));
    assert_eq!(limiter.waiting(), 0);
}

/// Threads on the system clock, each with a plain `block_on`: queued
/// acquires and racing `try_acquire`s never get more than the burst plus
/// the rate's share of the real time that passed (bounds from below only,
/// so a slow machine cannot fail it).
#[test]
fn threads_on_the_system_clock_never_over_grant() {
    let limiter = RateLimiter::builder(1000, Duration::from_secs(1))
        .burst(10)
        .build()
        .unwrap();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..25 {
                    futures::executor::block_on(limiter.acquire());
                }
            });
        }
    });
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(190),
        "200 permits in {elapsed:?}"
    );
    assert_eq!(limiter.waiting(), 0);

    let racing = RateLimiter::builder(1000, Duration::from_secs(1))
        .burst(10)
        .build()
        .unwrap();
    let granted = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                while start.elapsed() < Duration::from_millis(30) {
                    if racing.try_acquire().is_ok() {
                        granted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let elapsed_ms = start.elapsed().as_millis() as usize;
    let granted = granted.into_inner();
    assert!(
        granted <= 10 + elapsed_ms + 1,
        "{granted} granted in {elapsed_ms} ms at 1 per ms, burst 10"
    );
}

/// A stream that yields item `i` at `times[i]` ms after its creation.
fn at_times(times: Vec<u64>) -> Pin<Box<dyn Stream<Item = usize> + Send>> {
    let start = anyrt_core::now();
    Box::pin(
        futures::stream::iter(times.into_iter().enumerate()).then(move |(i, ms)| async move {
            anyrt_core::sleep_until(start + Duration::from_millis(ms)).await;
            i
        }),
    )
}

/// Each item with the whole milliseconds since `start` it came out at.
async fn timed_out<S: Stream + Unpin>(mut stream: S, start: Instant) -> Vec<(u64, S::Item)> {
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        out.push(((anyrt_core::now() - start).as_millis() as u64, item));
    }
    out
}

/// Random arrival times whose gaps favour the edges: 0, the window and
/// one either side of it.
fn arrivals(rng: &mut fastrand::Rng, count: usize, window: u64) -> Vec<u64> {
    let mut at = 0;
    (0..count)
        .map(|_| {
            at += match rng.u8(0..6) {
                0 => 0,
                1 => window - 1,
                2 => window,
                3 => window + 1,
                4 => 2 * window,
                _ => rng.u64(0..window),
            };
            at
        })
        .collect()
}

/// Debounce, throttle, throttle_latest and pace against their documented
/// rules, on random arrival times with gaps at the window's edges: the
/// same items at the same virtual times.
#[anyrt_test::test(virtual_time)]
async fn time_operators_match_their_documented_rules_on_random_arrivals() {
    const W: u64 = 5;
    for seed in 0..40 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let times = arrivals(&mut rng, 12, W);
        let end = *times.last().unwrap();

        // debounce: out at `at + W` if the next item is at least W later;
        // the last one at the upstream's end (its arrival).
        let expected: Vec<(u64, usize)> = (0..times.len())
            .filter_map(|i| match times.get(i + 1) {
                Some(next) if next - times[i] >= W => Some((times[i] + W, i)),
                Some(_) => None,
                None => Some((end, i)),
            })
            .collect();
        let start = anyrt_core::now();
        let got = timed_out(
            at_times(times.clone()).debounce(Duration::from_millis(W)),
            start,
        )
        .await;
        assert_eq!(got, expected, "debounce, seed {seed}, arrivals {times:?}");

        // throttle: out at arrival if at least W after the last one out.
        let mut last: Option<u64> = None;
        let expected: Vec<(u64, usize)> = (0..times.len())
            .filter(|&i| {
                let out = last.is_none_or(|last| times[i] - last >= W);
                if out {
                    last = Some(times[i]);
                }
                out
            })
            .map(|i| (times[i], i))
            .collect();
        let start = anyrt_core::now();
        let got = timed_out(
            at_times(times.clone()).throttle(Duration::from_millis(W)),
            start,
        )
        .await;
        assert_eq!(got, expected, "throttle, seed {seed}, arrivals {times:?}");

        // throttle_latest: the first of a quiet spell at once, the newest
        // of each window at its end, which opens the next window.
        let (mut expected, mut window_end, mut held) = (Vec::new(), None::<u64>, None);
        for (i, &at) in times.iter().enumerate() {
            while let Some(until) = window_end.filter(|until| at >= *until) {
                window_end = held.take().map(|h| {
                    expected.push((until, h));
                    until + W
                });
            }
            if window_end.is_some() {
                held = Some(i);
            } else {
                expected.push((at, i));
                window_end = Some(at + W);
            }
        }
        if let (Some(h), Some(until)) = (held, window_end) {
            expected.push((until, h));
        }
        let start = anyrt_core::now();
        let got = timed_out(
            at_times(times.clone()).throttle_latest(Duration::from_millis(W)),
            start,
        )
        .await;
        assert_eq!(
            got, expected,
            "throttle_latest, seed {seed}, arrivals {times:?}"
        );

        // pace: slot = max(arrival, previous slot + W).
        let mut slot: Option<u64> = None;
        let expected: Vec<(u64, usize)> = times
            .iter()
            .enumerate()
            .map(|(i, &at)| {
                let s = slot.map_or(at, |prev| at.max(prev + W));
                slot = Some(s);
                (s, i)
            })
            .collect();
        let start = anyrt_core::now();
        let got = timed_out(
            at_times(times.clone()).pace(Duration::from_millis(W)),
            start,
        )
        .await;
        assert_eq!(got, expected, "pace, seed {seed}, arrivals {times:?}");
    }
}
