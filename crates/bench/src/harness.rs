//! The timing harness: calibrate, warm up, then interleaved rounds of ours
//! and the peer, reporting the median time per operation.

use std::fmt;
use std::time::Duration;

use crate::alloc::allocations;

/// One side of a case: runs the operation `n` times and returns the time
/// the `n` operations took (set-up outside the loop is not timed).
pub(crate) type Side = Box<dyn FnMut(u64) -> Duration>;

/// A benchmark case: ours beside the peer, built only when it runs.
pub(crate) struct Case {
    /// What is measured and against which peer, shown in the table.
    pub(crate) name: &'static str,
    /// Makes the two sides (and the runtime they share).
    pub(crate) build: fn() -> Pair,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The two sides of a case.
pub(crate) struct Pair {
    /// The operation through anyrt.
    pub(crate) ours: Side,
    /// The same operation through the peer.
    pub(crate) peer: Side,
}

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// Target duration of one round of one side.
    pub(crate) round: Duration,
    /// Rounds per side (odd, so the median is one of them).
    pub(crate) rounds: usize,
}

impl Config {
    /// `--quick`: the whole table in seconds.
    pub(crate) const QUICK: Config = Config {
        round: Duration::from_millis(20),
        rounds: 11,
    };
    /// The default: steadier medians, about a minute for the table.
    pub(crate) const FULL: Config = Config {
        round: Duration::from_millis(100),
        rounds: 21,
    };
}

/// The result of one side.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stats {
    /// Median nanoseconds per operation over the rounds.
    pub(crate) ns_per_op: f64,
    /// Allocations per operation, over all rounds, on every thread.
    pub(crate) allocs_per_op: f64,
}

/// The samples of one side.
#[derive(Default)]
struct Samples {
    per_op_ns: Vec<f64>,
    allocs: u64,
    ops: u64,
}

impl Samples {
    fn run(&mut self, side: &mut Side, iters: u64) {
        let before = allocations();
        let elapsed = side(iters);
        self.allocs += allocations().saturating_sub(before);
        self.ops += iters;
        self.per_op_ns
            .push(elapsed.as_nanos() as f64 / iters as f64);
    }

    fn stats(mut self) -> Stats {
        self.per_op_ns.sort_by(f64::total_cmp);
        let n = self.per_op_ns.len();
        let median = (self.per_op_ns[(n - 1) / 2] + self.per_op_ns[n / 2]) / 2.0;
        Stats {
            ns_per_op: median,
            allocs_per_op: self.allocs as f64 / self.ops as f64,
        }
    }
}

/// Measures both sides of `pair`: the same iteration count for both,
/// rounds alternating ours/peer then peer/ours so drift hits both alike.
pub(crate) fn measure(pair: &mut Pair, config: Config) -> (Stats, Stats) {
    let iters =
        calibrate(&mut pair.ours, config.round).min(calibrate(&mut pair.peer, config.round));
    let (mut ours, mut peer) = (Samples::default(), Samples::default());
    for round in 0..config.rounds {
        if round % 2 == 0 {
            ours.run(&mut pair.ours, iters);
            peer.run(&mut pair.peer, iters);
        } else {
            peer.run(&mut pair.peer, iters);
            ours.run(&mut pair.ours, iters);
        }
    }
    (ours.stats(), peer.stats())
}

/// The iteration count that makes one round of `side` last about `round`;
/// doubling up to an eighth of a round also warms the side up.
fn calibrate(side: &mut Side, round: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let elapsed = side(n);
        if elapsed >= round / 8 || n >= 1 << 32 {
            let scaled = n as f64 * round.as_secs_f64() / elapsed.as_secs_f64().max(1e-9);
            return (scaled.ceil() as u64).max(1);
        }
        n *= 2;
    }
}
