//! Promises of the docs of `anyrt-core` and `anyrt-deadline` that once
//! broke, found by trying to break them; each test is named after what
//! went wrong.

use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use anyrt_core::{Sleep, Timer, VirtualClock};
use futures::FutureExt;
use futures_lite::future::poll_once;

const HOUR: Duration = Duration::from_secs(3600);

/// `VirtualClock::advance`: "Moves the clock forward by `duration`
/// (saturating) and wakes every sleeper now due."
///
/// `advance` read the time under one hold of the clock's lock and moved it
/// under another (in `advance_to`), so an advance made by another thread
/// in between was overwritten: two advances of 1 ns moved the clock 1 ns.
/// Now the time is read and moved under one hold.
#[test]
fn regression_advances_from_several_threads_add_up() {
    const THREADS: u32 = 4;
    const ADVANCES: u32 = 20_000;
    let clock = VirtualClock::new();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let clock = clock.clone();
            std::thread::spawn(move || {
                for _ in 0..ADVANCES {
                    clock.advance(Duration::from_nanos(1));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("an advancing thread");
    }
    assert_eq!(
        clock.elapsed(),
        Duration::from_nanos(1) * THREADS * ADVANCES
    );
}

/// `VirtualClock::advance_to_next`: "Jumps to the earliest pending
/// sleeper's deadline and wakes the sleepers due then; `false` if nobody
/// sleeps."
///
/// `advance_to_next` found the earliest deadline under one hold of the
/// clock's lock and moved the clock under another, so two threads could
/// both find the same sleeper: both said they jumped, the second moved
/// nothing, and the later sleeper was left pending. Now the deadline is
/// found and reached under one hold. (The race is narrow: before the fix
/// this failed in most runs, not in every one.)
#[test]
fn regression_two_threads_advancing_to_the_next_sleeper_take_one_each() {
    const ROUNDS: usize = 20_000;
    let clock = VirtualClock::new();
    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (clock, barrier) = (clock.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut jumps = 0;
                for _ in 0..ROUNDS {
                    barrier.wait();
                    jumps += usize::from(clock.advance_to_next());
                    barrier.wait();
                }
                jumps
            })
        })
        .collect();
    let cx = &mut Context::from_waker(Waker::noop());
    let mut stopped_short = 0;
    for _ in 0..ROUNDS {
        let now = clock.now();
        let mut first = Box::pin(clock.sleep_until(now + Duration::from_nanos(1)));
        let mut second = Box::pin(clock.sleep_until(now + Duration::from_nanos(2)));
        assert!(first.as_mut().poll(cx).is_pending());
        assert!(second.as_mut().poll(cx).is_pending());
        barrier.wait(); // both threads jump
        barrier.wait(); // both have jumped
        if clock.now() != now + Duration::from_nanos(2) {
            stopped_short += 1;
        }
    }
    let jumps: usize = threads
        .into_iter()
        .map(|thread| thread.join().expect("an advancing thread"))
        .sum();
    assert_eq!(
        (stopped_short, jumps),
        (0, 2 * ROUNDS),
        "(rounds that left a sleeper pending, jumps reported)"
    );
}

/// `anyrt_core::sleep_until`: "a deadline in the past completes at the
/// first poll", and `Interval::poll_tick`: the first tick comes "at once".
///
/// On tokio, `TokioSleep::poll` only asked tokio's timer, which rounds a
/// deadline up to its next millisecond tick and fires one that has passed
/// only when its driver next turns: a sleep until the instant just read,
/// an interval's first tick and a sleep reset to that instant were all
/// pending at their first poll. Now a pending poll also compares tokio's
/// clock with the deadline.
#[anyrt_test::test]
async fn regression_a_deadline_that_has_come_is_ready_at_the_first_poll_on_every_runtime() {
    let ambient = poll_once(anyrt_core::sleep_until(Instant::now()))
        .await
        .is_some();
    let on_the_runtime = poll_once(anyrt_core::Runtime::current().sleep_until(Instant::now()))
        .await
        .is_some();
    let mut every = anyrt_core::interval(HOUR);
    let first_tick = every.tick().now_or_never().is_some();
    let mut sleep = pin!(anyrt_core::sleep(HOUR));
    assert!(poll_once(sleep.as_mut()).await.is_none());
    sleep.as_mut().reset(Instant::now());
    let reset = poll_once(sleep.as_mut()).await.is_some();
    assert_eq!(
        [ambient, on_the_runtime, first_tick, reset],
        [true; 4],
        "[sleep_until, Runtime::sleep_until, the first tick, reset]"
    );
}

/// `Sleep::deadline` of a sleep on a runtime's timer, whose deadlines
/// "past `far_future` count as that instant": the same before and after
/// the first poll, on every runtime.
///
/// `AnySleep::deadline` gave back the deadline as it was asked while the
/// sleep was not yet polled (the fallback's and async-io's sleeps are made
/// at the first poll), and the capped one after; tokio's, made at once,
/// gave the capped one from the start.
#[anyrt_test::test]
async fn regression_a_sleeps_deadline_does_not_change_at_its_first_poll() {
    let mut sleep = pin!(anyrt_core::sleep_until(anyrt_core::far_future() + HOUR));
    let before = sleep.deadline();
    assert!(poll_once(sleep.as_mut()).await.is_none());
    assert_eq!(before, sleep.deadline());
    assert_eq!(before, anyrt_core::far_future());
}
