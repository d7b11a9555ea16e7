//! Side-by-side benchmarks of anyrt against the calls it wraps and the
//! crates it replaces.
//!
//! Each case runs an operation through anyrt ("ours") and the same
//! operation through a peer (the runtime's own call, or `futures-timer`),
//! in the same process, in interleaved rounds, and prints one row of a
//! markdown table: the median nanoseconds per operation of each side, their
//! ratio, and the allocations per operation of each side.
//!
//! ```text
//! cargo run --release -p anyrt-bench -- [--quick] [FILTER]
//! cargo bench -p anyrt-bench -- [--quick] [FILTER]
//! cargo run --release -p anyrt-bench --no-default-features -- [--quick] [FILTER]
//! ```
//!
//! `--quick` runs shorter rounds (the whole table in well under two
//! minutes); `FILTER` keeps the cases whose name contains it, ignoring
//! case. Other arguments starting with `--` (cargo passes `--bench`) are
//! ignored. `--no-default-features` builds anyrt-core with the `smol`
//! feature alone (what a smol application pays) and skips the tokio cases.
//!
//! The targets: through the ambient layer an operation costs at most 1.1
//! times the runtime's own call, and the fallback timer is at least as fast
//! as `futures-timer`.
//!
//! # Allocation counts
//!
//! The global allocator is `stats_alloc`'s instrumented system allocator,
//! so the table shows allocations per operation without any unsafe code in
//! this crate (the workspace forbids it).
//!
//! # Adding cases
//!
//! A group of cases is a module with a `cases()` function returning
//! `Case { name, build }` values, where `build` makes the two sides with
//! the helpers of `run_on`; register the module in the one list in
//! `cases.rs`. See the crate's README.

mod alloc;
mod cases;
mod core;
mod deadline;
mod harness;
mod pool;
mod report;
mod retry;
mod run_on;
mod scope;
mod stream;

use std::time::Instant;

use harness::Config;

/// Runs the benchmarks named by the process arguments and prints the table
/// to standard output; the entry point of the binary and the bench target.
///
/// Arguments: `--quick` for short rounds, a first non-flag argument as a
/// case-insensitive name filter; other `--` flags are ignored.
pub fn main_with_args() {
    let args = Args::parse(std::env::args().skip(1));
    if args.help {
        println!("usage: anyrt-bench [--quick] [FILTER]");
        return;
    }
    let (mode, config) = if args.quick {
        ("quick", Config::QUICK)
    } else {
        ("full", Config::FULL)
    };
    println!("machine: {}", report::machine());
    println!("build: {}", cases::features());
    println!(
        "mode: {mode} ({} rounds of ~{:?} per side)\n",
        config.rounds, config.round
    );
    println!("{}", report::header());
    let start = Instant::now();
    for case in cases::selected(args.filter.as_deref()) {
        let mut pair = (case.build)();
        let (ours, peer) = harness::measure(&mut pair, config);
        drop(pair);
        println!("{}", report::row(case.name, ours, peer));
    }
    println!("\ntotal: {:.1} s", start.elapsed().as_secs_f64());
}

/// The parsed command line.
#[derive(Debug, Default)]
struct Args {
    quick: bool,
    help: bool,
    filter: Option<String>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Args {
        let mut parsed = Args::default();
        for arg in args {
            match arg.as_str() {
                "--quick" => parsed.quick = true,
                "--help" | "-h" => parsed.help = true,
                flag if flag.starts_with("--") => {}
                filter if parsed.filter.is_none() => parsed.filter = Some(filter.to_string()),
                _ => {}
            }
        }
        parsed
    }
}
