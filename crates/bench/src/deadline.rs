//! Cases for `anyrt-deadline`: `timeout` around a future that is ready at
//! once, one that completes after one pending poll, and one that never
//! completes, beside tokio's `timeout`, an async-io timer raced with
//! `futures_lite::FutureExt::or`, and `futures-timer` raced with
//! `futures::future::select`.

use std::future::{Future, pending, ready};
use std::pin::pin;
use std::time::Duration;

use futures::future::{Either, select};
use futures_lite::FutureExt as _;
use futures_lite::future::yield_now;

use crate::harness::{Case, Pair};
use crate::run_on::{
    bare_block_on, fallback_block_on, smol_block_on, tokio_block_on, tokio_current_thread,
};

/// Long enough never to fire while measured.
const TEN_S: Duration = Duration::from_secs(10);
/// The shortest limit every timer honours (tokio rounds up to 1 ms).
const SHORT: Duration = Duration::from_millis(1);

/// The cases of this group, in table order.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "deadline/tokio: timeout 10 s, ready at first poll vs tokio::time::timeout",
            build: tokio_ready,
        },
        Case {
            name: "deadline/tokio: timeout 10 s, ready after one pending poll (register+cancel) vs tokio::time::timeout",
            build: tokio_one_yield,
        },
        Case {
            name: "deadline/tokio: timeout 1 ms around pending() until it fires vs tokio::time::timeout",
            build: tokio_fires,
        },
        Case {
            name: "deadline/smol: timeout 10 s, ready at first poll vs or(fut, async_io::Timer::after)",
            build: smol_ready,
        },
        Case {
            name: "deadline/smol: timeout 10 s, ready after one pending poll (register+cancel) vs or(fut, async_io::Timer::after)",
            build: smol_one_yield,
        },
        Case {
            name: "deadline/smol: timeout 1 ms around pending() until it fires vs or(pending(), async_io::Timer::after)",
            build: smol_fires,
        },
        Case {
            name: "deadline/fallback: timeout 10 s, ready at first poll vs select(fut, futures_timer::Delay)",
            build: fallback_ready,
        },
        Case {
            name: "deadline/fallback: timeout 10 s, ready after one pending poll (register+cancel) vs select(fut, futures_timer::Delay)",
            build: fallback_one_yield,
        },
    ]
}

/// A future that is pending once (waking itself) and then returns 1.
async fn after_one_yield() -> i32 {
    yield_now().await;
    1
}

/// The smol peer: `future` raced with an async-io timer of `limit`,
/// `None` when the timer wins. `or` polls `future` first, and the timer is
/// only made when its async block is first polled, so a ready `future`
/// registers nothing.
fn smol_timeout<F: Future>(limit: Duration, future: F) -> impl Future<Output = Option<F::Output>> {
    async { Some(future.await) }.or(async move {
        async_io::Timer::after(limit).await;
        None
    })
}

/// The fallback peer: `future` raced with a `futures_timer::Delay` of
/// `limit` (made at once, as `Delay::new` registers at creation), `None`
/// when the delay wins.
async fn futures_timer_timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let future = pin!(future);
    match select(future, futures_timer::Delay::new(limit)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(((), _)) => None,
    }
}

fn tokio_ready() -> Pair {
    let rt = tokio_current_thread();
    Pair {
        ours: tokio_block_on(rt.clone(), || anyrt_deadline::timeout(TEN_S, ready(1))),
        peer: tokio_block_on(rt, || tokio::time::timeout(TEN_S, ready(1))),
    }
}

fn tokio_one_yield() -> Pair {
    let rt = tokio_current_thread();
    Pair {
        ours: tokio_block_on(rt.clone(), || {
            anyrt_deadline::timeout(TEN_S, after_one_yield())
        }),
        peer: tokio_block_on(rt, || tokio::time::timeout(TEN_S, after_one_yield())),
    }
}

fn tokio_fires() -> Pair {
    let rt = tokio_current_thread();
    Pair {
        ours: tokio_block_on(rt.clone(), || {
            anyrt_deadline::timeout(SHORT, pending::<()>())
        }),
        peer: tokio_block_on(rt, || tokio::time::timeout(SHORT, pending::<()>())),
    }
}

fn smol_ready() -> Pair {
    Pair {
        ours: smol_block_on(|| anyrt_deadline::timeout(TEN_S, ready(1))),
        peer: smol_block_on(|| smol_timeout(TEN_S, ready(1))),
    }
}

fn smol_one_yield() -> Pair {
    Pair {
        ours: smol_block_on(|| anyrt_deadline::timeout(TEN_S, after_one_yield())),
        peer: smol_block_on(|| smol_timeout(TEN_S, after_one_yield())),
    }
}

fn smol_fires() -> Pair {
    Pair {
        ours: smol_block_on(|| anyrt_deadline::timeout(SHORT, pending::<()>())),
        peer: smol_block_on(|| smol_timeout(SHORT, pending::<()>())),
    }
}

fn fallback_ready() -> Pair {
    Pair {
        ours: fallback_block_on(|| anyrt_deadline::timeout(TEN_S, ready(1))),
        peer: bare_block_on(|| futures_timer_timeout(TEN_S, ready(1))),
    }
}

fn fallback_one_yield() -> Pair {
    Pair {
        ours: fallback_block_on(|| anyrt_deadline::timeout(TEN_S, after_one_yield())),
        peer: bare_block_on(|| futures_timer_timeout(TEN_S, after_one_yield())),
    }
}
