//! Cases for `anyrt-retry`: a retry whose first attempt succeeds, and one
//! whose operation fails three times (zero delay between attempts) before
//! it succeeds, beside `backon`'s `Retryable::retry`, a direct call of the
//! operation and a hand-written retry loop.
//!
//! Every side runs under `futures::executor::block_on` with no runtime,
//! and every side builds its retry inside the async block that awaits it,
//! as a caller writes `retry(..).await`. Each case names the peer's
//! configuration. `backon` has no default sleeper without its runtime
//! features, so it runs with two: `async_io::Timer::after`, which a smol
//! user would pass (a zero-delay timer is ready at its first poll, but it
//! reads the clock and makes a timer), and the strongest reasonable one, a
//! sleeper that skips zero delays and sleeps on `async_io::Timer` otherwise,
//! as ours does. (A sleeper that never sleeps would be faster still, and
//! wrong for any delay that is not zero.)

use std::cell::Cell;
use std::time::Duration;

use anyrt_retry::{Constant, retry};
use backon::{ConstantBuilder, Retryable as _};

use crate::harness::{Case, Pair};
use crate::run_on::bare_block_on;

/// Failures before the operation of the failing cases succeeds.
const FAILURES: u32 = 3;
/// The attempt cap of the failing cases: room for one more failure.
const MAX_ATTEMPTS: u32 = 5;

/// The cases of this group, in table order.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "retry: first attempt succeeds vs backon (async_io::Timer sleeper)",
            build: first_vs_backon,
        },
        Case {
            name: "retry: first attempt succeeds vs direct call",
            build: first_vs_direct,
        },
        Case {
            name: "retry: three zero-delay failures then success vs backon (async_io::Timer sleeper, sleeps for zero too)",
            build: three_failures_vs_backon,
        },
        Case {
            name: "retry: three zero-delay failures then success vs backon (sleeper that skips zero delays)",
            build: three_failures_vs_backon_skipping_zero,
        },
        Case {
            name: "retry: three zero-delay failures then success vs hand-written loop (same attempt cap)",
            build: three_failures_vs_loop,
        },
    ]
}

/// The attempt cap of ours in the failing cases.
fn max_attempts() -> u32 {
    MAX_ATTEMPTS
}

/// backon's zero-delay constant backoff, one attempt plus `MAX_ATTEMPTS - 1`
/// retries, like ours.
fn backon_zero_delay() -> ConstantBuilder {
    ConstantBuilder::new()
        .with_delay(Duration::ZERO)
        .with_max_times(MAX_ATTEMPTS as usize - 1)
}

/// One attempt of the failing operation: counts the call in `calls` and
/// fails until `FAILURES` calls have failed.
///
/// The counter is read through `black_box`, as a real operation's outcome
/// is not known to the compiler: each side makes a fresh counter, so without
/// it the compiler works out the hand-written loop's result (four calls,
/// then `Ok(4)`) at compile time and times an empty loop.
fn failing_op(calls: &Cell<u32>) -> impl Future<Output = Result<u32, ()>> + use<> {
    let calls = std::hint::black_box(calls);
    let n = calls.get() + 1;
    calls.set(n);
    async move { if n <= FAILURES { Err(()) } else { Ok(n) } }
}

fn first_vs_backon() -> Pair {
    Pair {
        ours: bare_block_on(|| async { retry(|| async { Ok::<_, ()>(1) }).await }),
        peer: bare_block_on(|| async {
            (|| async { Ok::<_, ()>(1) })
                .retry(ConstantBuilder::new())
                .sleep(async_io::Timer::after)
                .await
        }),
    }
}

fn first_vs_direct() -> Pair {
    Pair {
        ours: bare_block_on(|| retry(|| async { Ok::<_, ()>(1) })),
        peer: bare_block_on(|| async {
            let op = || async { Ok::<_, ()>(1) };
            op().await
        }),
    }
}

/// Ours in the failing cases: a fresh counter per operation.
async fn ours_three_failures() -> Result<u32, anyrt_retry::RetryError<()>> {
    let calls = Cell::new(0);
    retry(|| failing_op(&calls))
        .backoff(Constant::new(Duration::ZERO))
        .max_attempts(max_attempts())
        .seed(1)
        .await
}

fn three_failures_vs_backon() -> Pair {
    Pair {
        ours: bare_block_on(ours_three_failures),
        peer: bare_block_on(|| async {
            let calls = Cell::new(0);
            (|| failing_op(&calls))
                .retry(backon_zero_delay())
                .sleep(async_io::Timer::after)
                .await
        }),
    }
}

/// backon's strongest reasonable sleeper here: a zero delay completes at
/// once, without the timer, as ours does; any other delay sleeps on
/// async-io's timer.
async fn sleep_unless_zero(delay: Duration) {
    if !delay.is_zero() {
        async_io::Timer::after(delay).await;
    }
}

fn three_failures_vs_backon_skipping_zero() -> Pair {
    Pair {
        ours: bare_block_on(ours_three_failures),
        peer: bare_block_on(|| async {
            let calls = Cell::new(0);
            (|| failing_op(&calls))
                .retry(backon_zero_delay())
                .sleep(sleep_unless_zero)
                .await
        }),
    }
}

fn three_failures_vs_loop() -> Pair {
    Pair {
        ours: bare_block_on(ours_three_failures),
        peer: bare_block_on(|| async {
            let calls = Cell::new(0);
            let mut tries = 1;
            loop {
                match failing_op(&calls).await {
                    Ok(v) => break Ok(v),
                    Err(()) if tries < MAX_ATTEMPTS => tries += 1,
                    Err(e) => break Err(e),
                }
            }
        }),
    }
}
