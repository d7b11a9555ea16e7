//! Allocation counts of the scope, with a plain `main` because the counter
//! is process-wide:
//!
//! - an in-place child costs one allocation (its box) once a run on this
//!   thread had as many children at once before (slot wakers are pooled),
//!   two (box and slot waker) the first time;
//! - a million items through `spawn_wait` under `limit(64)` keep memory
//!   bounded: the live bytes never grow past a small fixed amount;
//! - a `TaskGroup` task costs a bounded number of allocations;
//! - 100,000 tasks through `TaskGroup::spawn_wait` under a limit of 64,
//!   joined as they finish, keep memory bounded by the limit;
//! - `run_until_cancelled` allocates nothing for a future ready at once,
//!   and only the token's listener for one that waits;
//! - a scope of many children leaves no memory behind once dropped, and
//!   the per-thread pool keeps a bounded set whatever the scope's size;
//! - `spawn_wait` futures that give up their place in line leave nothing
//!   behind, in a scope and in a limited `TaskGroup`, even while the line
//!   never empties.

use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll, Waker};

use anyrt_scope::{CancelToken, Scope, TaskGroup};
use anyrt_tests::alloc::{allocations, count_allocations, live_bytes};

/// Polls `future` to its end with a no-op waker (every child here is
/// ready or yields, so nothing waits on a timer or a thread).
fn drive<F: std::future::Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Runs `children` trivial children in `s`; returns the allocations.
fn run_children(s: &Scope<'_, ()>, children: usize) -> u64 {
    let (outcome, count) = count_allocations(|| {
        drive(s.run(async {
            for _ in 0..children {
                s.spawn(async { Ok(()) });
            }
            Ok(())
        }))
    });
    outcome.expect("the scope succeeds");
    count
}

fn in_place_children() {
    const N: u64 = 10_000;
    let s = Scope::new();
    // The first run grows the slab, the slot wakers and the queues.
    let first = run_children(&s, N as usize);
    let again = run_children(&s, N as usize);
    // A new scope reuses the wakers the last run gave back.
    let other = run_children(&Scope::new(), N as usize);
    assert!(
        other <= N + 64,
        "a new scope reuses pooled wakers: {other} for {N} children"
    );
    println!("in-place child: first run {first} allocations for {N}, again {again}");
    assert!(
        first <= 2 * N + 64,
        "a new slot costs its box and its waker: {first} for {N} children"
    );
    assert!(
        again <= N + 32,
        "a reused slot costs the child's box only: {again} for {N} children"
    );
    assert!(again >= N, "the counter sees the boxes");
}

fn a_million_items_under_a_limit_stay_bounded() {
    const ITEMS: usize = 1_000_000;
    static PEAK: AtomicI64 = AtomicI64::new(0);
    let baseline = live_bytes();
    let processed = AtomicUsize::new(0);
    let s = Scope::new().limit(NonZeroUsize::new(64).unwrap());
    let before = allocations();
    drive(s.run(async {
        for _ in 0..ITEMS {
            let processed = &processed;
            s.spawn_wait(async move {
                anyrt_core::yield_now().await;
                PEAK.fetch_max(live_bytes() - baseline, Relaxed);
                processed.fetch_add(1, Relaxed);
                Ok(())
            })
            .await;
        }
        Ok::<(), ()>(())
    }))
    .unwrap();
    let count = allocations() - before;
    let peak = PEAK.load(Relaxed);
    println!("1,000,000 items, limit(64): peak {peak} live bytes, {count} allocations");
    assert_eq!(processed.load(Relaxed), ITEMS);
    assert!(
        peak < 64 * 1024,
        "memory stays bounded by the limit, not the item count: peak {peak} bytes"
    );
    assert!(
        count <= ITEMS as u64 + 1_000,
        "one box per item, slots reused: {count}"
    );
}

fn task_group_tasks() {
    const N: u64 = 1_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sum, count) = count_allocations(|| {
        runtime.block_on(async {
            let mut group = TaskGroup::new();
            for i in 0..N {
                group.spawn(async move { i });
            }
            group.join_all().await.into_iter().sum::<u64>()
        })
    });
    println!("TaskGroup on tokio: {count} allocations for {N} tasks");
    assert_eq!(sum, N * (N - 1) / 2);
    assert!(
        count <= N + N / 10,
        "one allocation per task (the runtime's): {count} for {N} tasks"
    );
}

/// Ready on its second poll, after waking itself once.
fn a_limited_task_group_stays_bounded() {
    const ITEMS: u64 = 100_000;
    static PEAK: AtomicI64 = AtomicI64::new(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let baseline = live_bytes();
    let sum = runtime.block_on(async {
        let mut group = TaskGroup::with_limit(NonZeroUsize::new(64).unwrap());
        let mut sum = 0;
        for i in 0..ITEMS {
            while let Some(done) = group.try_join_next() {
                sum += done;
            }
            group
                .spawn_wait(async move {
                    anyrt_core::yield_now().await;
                    PEAK.fetch_max(live_bytes() - baseline, Relaxed);
                    i
                })
                .await;
        }
        while let Some(done) = group.join_next().await {
            sum += done;
        }
        sum
    });
    let peak = PEAK.load(Relaxed);
    println!("TaskGroup, 100,000 tasks, limit 64: peak {peak} live bytes");
    assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
    assert!(
        peak < 256 * 1024,
        "memory stays bounded by the limit, not the task count: peak {peak} bytes"
    );
}

fn ready_on_second_poll() -> impl std::future::Future<Output = u8> {
    let mut polled = false;
    std::future::poll_fn(move |cx| {
        if std::mem::replace(&mut polled, true) {
            return Poll::Ready(1);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

fn run_until_cancelled_allocates_only_its_listener() {
    const N: u64 = 1_000;
    let token = CancelToken::new();
    // The token's event makes its shared part on the first listener.
    drive(token.run_until_cancelled(ready_on_second_poll()));
    let (sum, ready) = count_allocations(|| {
        (0..N)
            .map(|_| drive(token.run_until_cancelled(async { 1_u64 })).unwrap())
            .sum::<u64>()
    });
    assert_eq!(
        (sum, ready),
        (N, 0),
        "a future ready at once allocates nothing"
    );
    let ((), waiting) = count_allocations(|| {
        for _ in 0..N {
            drive(token.run_until_cancelled(ready_on_second_poll()));
        }
    });
    println!("run_until_cancelled: {waiting} allocations for {N} futures that waited once");
    assert!(
        waiting <= N,
        "one listener at most per wait: {waiting} for {N}"
    );
}

/// The memory a large scope leaves on its thread: with the scope dropped,
/// and once the thread (and its pool) is gone.
fn regression_a_large_scope_leaves_bounded_memory() {
    const N: usize = 100_000;
    let before = live_bytes();
    let pooled = std::thread::spawn(move || {
        {
            let s = Scope::<()>::new();
            drive(s.run(async {
                for _ in 0..N {
                    s.spawn(async {
                        anyrt_core::yield_now().await;
                        Ok(())
                    });
                }
                Ok(())
            }))
            .unwrap();
        }
        live_bytes() - before
    })
    .join()
    .unwrap();
    let left = live_bytes() - before;
    println!("{N} children: {pooled} bytes pooled after the scope, {left} after its thread");
    // One pooled set of at most 16,384 slots is under 2 MB; the scope's
    // own entries, queues and wakers for 100,000 children are several
    // times that.
    assert!(
        pooled < 3 << 20,
        "the pool keeps a bounded set: {pooled} bytes"
    );
    assert!(
        left < 4096,
        "a dropped scope frees its boxes' memory: {left} bytes left"
    );
}

/// A given-up `spawn_wait` ticket stayed in the line until the line
/// emptied, so while one child waited in it (here behind a child holding
/// the only place) every `spawn_wait` that gave up, such as one raced
/// against a timeout in a retry loop, left an entry behind: memory grew
/// with the attempts (about 25 MB for a million), not with what waits.
/// This failed before the fix; now given-up tickets are swept out once
/// they outnumber what waits.
fn regression_given_up_waits_behind_a_waiting_child_keep_memory_bounded() {
    const GIVE_UPS: usize = 1_000_000;
    let s = Scope::<()>::new().limit(NonZeroUsize::MIN);
    let release = AtomicBool::new(false);
    let growth = drive(s.run(async {
        // The one place, held until the end.
        s.spawn(async {
            while !release.load(Relaxed) {
                anyrt_core::yield_now().await;
            }
            Ok(())
        });
        // Waits in line, so the line never empties.
        s.spawn(async { Ok(()) });
        anyrt_core::yield_now().await;
        let before = live_bytes();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..GIVE_UPS {
            let mut waiting = pin!(s.spawn_wait(async { Ok(()) }));
            assert!(
                waiting.as_mut().poll(&mut cx).is_pending(),
                "the scope is full"
            );
        }
        let growth = live_bytes() - before;
        release.store(true, Relaxed);
        Ok(growth)
    }))
    .unwrap();
    println!("{GIVE_UPS} given-up waits in a scope: {growth} bytes left behind");
    assert!(
        growth < 1 << 20,
        "{GIVE_UPS} given-up waits left {growth} bytes behind"
    );
}

/// The same for `TaskGroup::with_limit`, whose line is the same: a task
/// waits for the only place, and a million `spawn_wait` futures give up.
/// This failed before the fix too.
fn regression_given_up_group_waits_keep_memory_bounded() {
    const GIVE_UPS: usize = 1_000_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let growth = runtime.block_on(async {
        let mut group = TaskGroup::with_limit(NonZeroUsize::MIN);
        group.spawn(std::future::pending::<()>());
        // Waits in line for the place, so the line never empties.
        group.spawn(async {});
        anyrt_core::yield_now().await;
        let before = live_bytes();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..GIVE_UPS {
            let mut waiting = pin!(group.spawn_wait(async {}));
            assert!(
                waiting.as_mut().poll(&mut cx).is_pending(),
                "the group is full"
            );
        }
        let growth = live_bytes() - before;
        group.shutdown().await;
        growth
    });
    println!("{GIVE_UPS} given-up waits in a group: {growth} bytes left behind");
    assert!(
        growth < 1 << 20,
        "{GIVE_UPS} given-up waits left {growth} bytes behind"
    );
}

fn main() {
    let ((), counted) = count_allocations(|| drop(std::hint::black_box(Box::new(1_u8))));
    assert_eq!(counted, 1, "the counter sees allocations");
    in_place_children();
    a_million_items_under_a_limit_stay_bounded();
    task_group_tasks();
    a_limited_task_group_stays_bounded();
    run_until_cancelled_allocates_only_its_listener();
    regression_a_large_scope_leaves_bounded_memory();
    regression_given_up_waits_behind_a_waiting_child_keep_memory_bounded();
    regression_given_up_group_waits_keep_memory_bounded();
}
