//! Cases for `anyrt-core`: sleeps and spawn+join through the ambient layer,
//! beside each runtime's own call, and the fallback timer beside
//! `futures-timer`.

use std::time::{Duration, Instant};

use futures_lite::future::poll_once;

use crate::harness::{Case, Pair};
use crate::run_on::{
    bare_block_on, fallback_block_on, smol_block_on, smol_task, tokio_block_on,
    tokio_current_thread, tokio_every_worker, tokio_multi_thread, tokio_task,
};

/// Long enough never to fire while measured.
const NEVER: Duration = Duration::from_secs(10);
/// The shortest sleep every timer honours (tokio rounds up to 1 ms).
const SHORT: Duration = Duration::from_millis(1);

/// The cases of this group, in table order.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "tokio: sleep 10 s, poll once, drop (register+cancel) vs tokio::time::sleep",
            build: tokio_cancel,
        },
        Case {
            name: "tokio task: sleep 10 s, poll once, drop (register+cancel) vs tokio::time::sleep",
            build: tokio_task_cancel,
        },
        Case {
            name: "tokio multi-thread, a task per core at once: sleep 10 s, poll once, drop vs tokio::time::sleep",
            build: tokio_every_worker_cancel,
        },
        Case {
            name: "tokio: sleep 1 ms until it fires vs tokio::time::sleep",
            build: tokio_fires,
        },
        Case {
            name: "tokio: sleep_until a past instant (ready at first poll) vs tokio::time::sleep_until",
            build: tokio_due,
        },
        Case {
            name: "smol: sleep 10 s, poll once, drop (register+cancel) vs async_io::Timer::after",
            build: smol_cancel,
        },
        Case {
            name: "smol: sleep 1 ms until it fires vs async_io::Timer::after",
            build: smol_fires,
        },
        Case {
            name: "smol: sleep_until a past instant (ready at first poll) vs async_io::Timer::at",
            build: smol_due,
        },
        Case {
            name: "fallback: sleep 10 s, poll once, drop (register+cancel) vs futures_timer::Delay",
            build: fallback_cancel,
        },
        Case {
            name: "fallback: sleep 1 ms until it fires vs futures_timer::Delay",
            build: fallback_fires,
        },
        Case {
            name: "fallback: sleep zero / past instant (completes) vs futures_timer::Delay::new(0)",
            build: fallback_due,
        },
        Case {
            name: "tokio multi-thread: spawn+join from a task vs tokio::spawn",
            build: tokio_spawn,
        },
        Case {
            name: "smol: spawn+join from a task vs smol::spawn",
            build: smol_spawn,
        },
    ]
}

fn tokio_cancel() -> Pair {
    let rt = tokio_current_thread();
    Pair {
        ours: tokio_block_on(rt.clone(), || poll_once(anyrt_core::sleep(NEVER))),
        peer: tokio_block_on(rt, || poll_once(tokio::time::sleep(NEVER))),
    }
}

fn tokio_every_worker_cancel() -> Pair {
    let rt = tokio_multi_thread();
    Pair {
        ours: tokio_every_worker(rt.clone(), || poll_once(anyrt_core::sleep(NEVER))),
        peer: tokio_every_worker(rt, || poll_once(tokio::time::sleep(NEVER))),
    }
}

fn tokio_fires() -> Pair {
    let rt = tokio_current_thread();
    Pair {
        ours: tokio_block_on(rt.clone(), || anyrt_core::sleep(SHORT)),
        peer: tokio_block_on(rt, || tokio::time::sleep(SHORT)),
    }
}

fn tokio_task_cancel() -> Pair {
    let rt = tokio_current_thread();
    Pair {
        ours: tokio_task(rt.clone(), || poll_once(anyrt_core::sleep(NEVER))),
        peer: tokio_task(rt, || poll_once(tokio::time::sleep(NEVER))),
    }
}

fn tokio_due() -> Pair {
    let rt = tokio_current_thread();
    let past = Instant::now();
    Pair {
        ours: tokio_block_on(rt.clone(), move || anyrt_core::sleep_until(past)),
        peer: tokio_block_on(rt, move || tokio::time::sleep_until(past.into())),
    }
}

fn smol_cancel() -> Pair {
    Pair {
        ours: smol_block_on(|| poll_once(anyrt_core::sleep(NEVER))),
        peer: smol_block_on(|| poll_once(async_io::Timer::after(NEVER))),
    }
}

fn smol_fires() -> Pair {
    Pair {
        ours: smol_block_on(|| anyrt_core::sleep(SHORT)),
        peer: smol_block_on(|| async_io::Timer::after(SHORT)),
    }
}

fn smol_due() -> Pair {
    let past = Instant::now();
    Pair {
        ours: smol_block_on(move || anyrt_core::sleep_until(past)),
        peer: smol_block_on(move || async_io::Timer::at(past)),
    }
}

fn fallback_cancel() -> Pair {
    Pair {
        ours: fallback_block_on(|| poll_once(anyrt_core::sleep(NEVER))),
        peer: bare_block_on(|| poll_once(futures_timer::Delay::new(NEVER))),
    }
}

fn fallback_fires() -> Pair {
    Pair {
        ours: fallback_block_on(|| anyrt_core::sleep(SHORT)),
        peer: bare_block_on(|| futures_timer::Delay::new(SHORT)),
    }
}

fn fallback_due() -> Pair {
    let past = Instant::now();
    Pair {
        ours: fallback_block_on(move || anyrt_core::sleep_until(past)),
        peer: bare_block_on(|| futures_timer::Delay::new(Duration::ZERO)),
    }
}

fn tokio_spawn() -> Pair {
    let rt = tokio_multi_thread();
    Pair {
        ours: tokio_task(rt.clone(), || anyrt_core::spawn(async { 1 })),
        peer: tokio_task(rt, || async {
            tokio::spawn(async { 1 }).await.expect("task panicked")
        }),
    }
}

fn smol_spawn() -> Pair {
    Pair {
        ours: smol_task(|| anyrt_core::spawn(async { 1 })),
        peer: smol_task(|| smol::spawn(async { 1 })),
    }
}
