//! A thundering-herd simulation on a virtual clock:
//! `cargo run --release -p anyrt-bench --bin herd`.
//!
//! 1,000 clients start together at t = 0 and each calls a simulated server
//! through `anyrt_retry::retry` until a call succeeds (at most 50 attempts,
//! delays from 100 ms doubling up to 60 s). The server accepts at most 100
//! calls per second of virtual time (a fixed one-second window): a call
//! beyond that fails at once. One run per backoff policy; each prints a
//! row of a markdown table. See the crate's README for how to read it.
//!
//! Time is an `anyrt_core::VirtualClock`, driven by hand: the `join_all` of
//! every client is polled until it is pending, then the clock jumps to the
//! next sleeper's deadline, which wakes the sleepers due then; repeat. The
//! whole table takes well under a second of real time.

use std::cell::Cell;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_retry::{Backoff, Decorrelated, Exponential, Jitter, retry};
use futures::future::join_all;
use futures::task::noop_waker;

/// Clients, all starting at t = 0.
const CLIENTS: u64 = 1_000;
/// Calls the server accepts per second of virtual time.
const CAPACITY: u32 = 100;
/// The attempt cap of each client.
const MAX_ATTEMPTS: u32 = 50;
/// The first retry delay (the base of `Decorrelated`).
const INITIAL: Duration = Duration::from_millis(100);
/// The growth factor of the exponential policies.
const MULTIPLIER: f64 = 2.0;
/// The longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// The server: a fixed window of one virtual second that accepts
/// `CAPACITY` calls, and the counts of calls.
struct Server {
    clock: VirtualClock,
    start: Instant,
    window: Cell<u64>,
    accepted_in_window: Cell<u32>,
    calls: Cell<u64>,
    rejected: Cell<u64>,
}

/// The error of a rejected call.
#[derive(Debug)]
struct Overloaded;

impl Server {
    fn new(clock: VirtualClock) -> Server {
        Server {
            start: clock.now(),
            clock,
            window: Cell::new(0),
            accepted_in_window: Cell::new(0),
            calls: Cell::new(0),
            rejected: Cell::new(0),
        }
    }

    /// One call at the clock's current time.
    fn call(&self) -> Result<(), Overloaded> {
        self.calls.set(self.calls.get() + 1);
        let second = (self.clock.now() - self.start).as_secs();
        if second != self.window.get() {
            self.window.set(second);
            self.accepted_in_window.set(0);
        }
        if self.accepted_in_window.get() < CAPACITY {
            self.accepted_in_window
                .set(self.accepted_in_window.get() + 1);
            Ok(())
        } else {
            self.rejected.set(self.rejected.get() + 1);
            Err(Overloaded)
        }
    }
}

/// What one run measured.
struct Outcome {
    calls: u64,
    rejected: u64,
    /// When the last client finished (succeeded or gave up), from t = 0.
    last_done: Duration,
    gave_up: u64,
}

/// Runs the herd with `policy`: every client's retry seeded with its id.
fn run<B: Backoff + Copy>(policy: B) -> Outcome {
    let clock = VirtualClock::new();
    let server = Server::new(clock.clone());
    let max_attempts = MAX_ATTEMPTS;
    let clients = (0..CLIENTS).map(|id| {
        let server = &server;
        let clock = &clock;
        async move {
            let result = retry(|| async { server.call() })
                .backoff(policy)
                .max_attempts(max_attempts)
                .seed(id)
                .await;
            (result.is_ok(), clock.now() - server.start)
        }
    });
    let herd = pin!(anyrt_core::with_timer(clock.clone(), join_all(clients)));
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut herd = herd;
    let results = loop {
        if let Poll::Ready(results) = herd.as_mut().poll(&mut cx) {
            break results;
        }
        assert!(
            clock.advance_to_next(),
            "the herd is pending with no sleeper to wake"
        );
    };
    Outcome {
        calls: server.calls.get(),
        rejected: server.rejected.get(),
        last_done: results
            .iter()
            .map(|&(_, done)| done)
            .max()
            .unwrap_or_default(),
        gave_up: results.iter().filter(|&&(ok, _)| !ok).count() as u64,
    }
}

/// The exponential policy of the table with `jitter`.
fn exponential(jitter: Jitter) -> Exponential {
    Exponential::builder()
        .initial(INITIAL)
        .multiplier(MULTIPLIER)
        .max_delay(MAX_DELAY)
        .jitter(jitter)
        .build()
        .expect("a valid exponential policy")
}

fn row(name: &str, outcome: &Outcome) -> String {
    format!(
        "| {name} | {} | {} | {:.1} | {} |",
        outcome.calls,
        outcome.rejected,
        outcome.last_done.as_secs_f64(),
        outcome.gave_up,
    )
}

fn main() {
    let real = Instant::now();
    println!(
        "herd: {CLIENTS} clients at t = 0, server capacity {CAPACITY} calls per virtual second, \
         at most {MAX_ATTEMPTS} attempts, delays {INITIAL:?} x {MULTIPLIER} up to {MAX_DELAY:?}\n"
    );
    println!(
        "| backoff | total calls | calls rejected | completion time of the last client (virtual s) | clients that gave up |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "{}",
        row("Exponential, Jitter::None", &run(exponential(Jitter::None)))
    );
    println!(
        "{}",
        row("Exponential, Jitter::Full", &run(exponential(Jitter::Full)))
    );
    println!(
        "{}",
        row(
            "Exponential, Jitter::Equal",
            &run(exponential(Jitter::Equal))
        )
    );
    let decorrelated = Decorrelated::builder()
        .base(INITIAL)
        .max_delay(MAX_DELAY)
        .build()
        .expect("a valid decorrelated policy");
    println!("{}", row("Decorrelated", &run(decorrelated)));
    println!("\nreal time: {:.2} s", real.elapsed().as_secs_f64());
}
