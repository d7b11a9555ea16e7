//! Cross-thread checks of `anyrt-scope`: spawns racing a run's end, a
//! cancel racing a cancel further down the tree, task groups aborted or
//! joined while their tasks finish on other workers.
//!
//! The stress loops here are bounded (a count of tries and a cap of real
//! time); what they assert holds on every interleaving of correct code, so
//! they can only fail where a race is real.

use std::future::{Future, pending};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyrt_scope::{CancelToken, Scope, Supervisor, TaskGroup};
use anyrt_tests::drops::{Guard, n};
use futures::FutureExt;

/// The real time one stress loop may take at most.
const STRESS: Duration = Duration::from_millis(1500);

// ---------------------------------------------------------------------
// Scope / Supervisor: a spawn from another thread racing the run's end.
// ---------------------------------------------------------------------

/// The other thread's side of a run racing a spawn: for each run `k`
/// (announced in `ending` by the body's last poll, just before it
/// returns), waits a few hundred spins at most, a different number each
/// run, then spawns with `spawn()` until one is rejected (at most
/// `tries`); counts the spawns accepted. Ends once `ending` is
/// `usize::MAX`.
fn spawn_as_runs_end(
    ending: &AtomicUsize,
    tries: usize,
    spawn: impl Fn() -> bool,
    accepted: &AtomicUsize,
) {
    let mut seen = 0;
    loop {
        let now = loop {
            let now = ending.load(SeqCst);
            if now != seen {
                break now;
            }
            std::hint::spin_loop();
        };
        if now == usize::MAX {
            return;
        }
        seen = now;
        for _ in 0..fastrand::usize(0..400) {
            std::hint::spin_loop();
        }
        for _ in 0..tries {
            if !spawn() {
                break;
            }
            accepted.fetch_add(1, SeqCst);
        }
    }
}

/// How many runs each of these races tries, at most.
const RUNS: usize = 100_000;

/// `Scope::spawn` documents: outside a run "the future is dropped unpolled
/// and the handle says so (`Handle::is_rejected`)", and the run "returns
/// only after every child ended". Regression: a spawn from another thread
/// that landed after the run's last look at its children but before the
/// run marked the scope closing was accepted (the handle not rejected) and
/// then dropped unpolled; the look and the refusal of spawns are now one
/// step under the scope's lock.
#[test]
fn a_spawn_accepted_from_another_thread_is_always_polled() {
    let s = Scope::<()>::new();
    let ending = AtomicUsize::new(0);
    let accepted = AtomicUsize::new(0);
    let polled = AtomicUsize::new(0);
    let started = Instant::now();
    let mut runs = 0;
    std::thread::scope(|threads| {
        threads.spawn(|| {
            let spawn = || {
                !s.spawn(async {
                    polled.fetch_add(1, SeqCst);
                    Ok(())
                })
                .is_rejected()
            };
            spawn_as_runs_end(&ending, 8, spawn, &accepted);
        });
        while runs < RUNS && started.elapsed() < STRESS {
            runs += 1;
            let body = async {
                ending.store(runs, SeqCst);
                Ok(())
            };
            futures::executor::block_on(s.run(body)).unwrap();
        }
        ending.store(usize::MAX, SeqCst);
    });
    // The spawner is gone: every spawn it counted was accepted in a run
    // that has returned since.
    let lost = accepted.load(SeqCst) - polled.load(SeqCst);
    assert_eq!(
        lost, 0,
        "{lost} children accepted (handle not rejected) but never polled, in {runs} runs"
    );
}

/// The same race through `Supervisor`. Regression: `spawn` returned `true`
/// ("the child was accepted"), every child "runs to its end", yet the
/// child was dropped unpolled and its outcome left out of the list.
#[test]
fn a_supervised_child_accepted_from_another_thread_always_has_its_outcome() {
    let sup = Supervisor::<u8, ()>::new();
    let ending = AtomicUsize::new(0);
    let accepted = AtomicUsize::new(0);
    let mut reported = 0;
    let mut runs = 0;
    let started = Instant::now();
    std::thread::scope(|threads| {
        threads.spawn(|| spawn_as_runs_end(&ending, 8, || sup.spawn(async { Ok(1) }), &accepted));
        while runs < RUNS && started.elapsed() < STRESS {
            runs += 1;
            let body = async {
                ending.store(runs, SeqCst);
            };
            let ((), outcomes) = futures::executor::block_on(sup.run(body));
            reported += outcomes.len();
        }
        ending.store(usize::MAX, SeqCst);
    });
    let lost = accepted.load(SeqCst) - reported;
    assert_eq!(
        lost, 0,
        "{lost} children accepted (`spawn` returned true) without an outcome, in {runs} runs"
    );
}

// ---------------------------------------------------------------------
// CancelToken: a cancel racing a cancel further down the tree.
// ---------------------------------------------------------------------

/// "A child is cancelled with its parent". Regression: when a middle token
/// was being cancelled on another thread, the parent's `cancel` skipped it
/// (marked already) and returned while the other thread was still marking
/// the middle token's descendants, so right after `root.cancel()` returned
/// a descendant could still say it was not cancelled. A cancel now walks a
/// subtree that another has marked but not yet settled.
#[test]
fn every_descendant_is_cancelled_when_cancel_returns_despite_a_concurrent_cancel() {
    const DEPTH: usize = 20_000;
    let started = Instant::now();
    let mut tries = 0;
    while tries < 200 && started.elapsed() < STRESS {
        tries += 1;
        let root = CancelToken::new();
        let middle = root.child();
        let mut chain = vec![middle.clone()];
        for _ in 0..DEPTH {
            let next = chain.last().unwrap().child();
            chain.push(next);
        }
        let leaf = chain.last().unwrap().clone();
        let go = Barrier::new(2);
        std::thread::scope(|threads| {
            threads.spawn(|| {
                go.wait();
                middle.cancel_with("middle");
            });
            go.wait();
            // Spin until the other thread has marked the middle token, so
            // that the root's cancel finds it marked.
            while !middle.is_cancelled() {
                std::hint::spin_loop();
            }
            assert!(root.cancel_with("root"), "the root was not cancelled yet");
            assert!(
                leaf.is_cancelled(),
                "root.cancel() returned with a descendant not cancelled (try {tries})"
            );
        });
    }
}

/// `SpawnWait` takes its place under the scope's lock, then stores the
/// child under a second lock. Regression: when the run ended and the next
/// run of the same scope started in between (the other thread polls the
/// wait), the child was stored in the new run as holding a place that run
/// never counted, and its end took the count of running children below
/// zero (a panic in a debug build; in a release build the count wrapped
/// and the scope admitted nobody again). A place now belongs to the run
/// that granted it, and a child carrying one from an earlier run asks
/// afresh.
#[test]
fn a_spawn_wait_admitted_as_a_run_ends_does_not_carry_its_place_into_the_next_run() {
    let s = Scope::<()>::new().limit(n(1));
    let ending = AtomicUsize::new(0);
    let accepted = AtomicUsize::new(0);
    let started = Instant::now();
    let mut runs = 0;
    let mut failure = None;
    std::thread::scope(|threads| {
        threads.spawn(|| {
            let spawn = || {
                let mut waiting = pin!(s.spawn_wait(async { Ok(()) }));
                match waiting
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                {
                    Poll::Ready(handle) => !handle.is_rejected(),
                    // The scope is full: the wait is dropped, giving up its
                    // ticket; try again.
                    Poll::Pending => true,
                }
            };
            spawn_as_runs_end(&ending, 256, spawn, &accepted);
        });
        while runs < 10 * RUNS && started.elapsed() < 3 * STRESS {
            runs += 1;
            let body = async {
                ending.store(runs, SeqCst);
                Ok(())
            };
            let run = AssertUnwindSafe(|| futures::executor::block_on(s.run(body)));
            if let Err(payload) = std::panic::catch_unwind(run) {
                failure = Some(panic_message(&*payload));
                break;
            }
        }
        ending.store(usize::MAX, SeqCst);
    });
    assert_eq!(failure, None, "run {runs} of the scope panicked");
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

// ---------------------------------------------------------------------
// TaskGroup: outcomes of tasks finishing on other workers while the group
// joins, aborts and shuts down (these hold).
// ---------------------------------------------------------------------

/// Tasks finishing on other workers while `join_next` waits, is dropped
/// after a pending poll, or is replaced by `try_join_next`: every output
/// comes out once; then an abort while tasks finish, and a shutdown,
/// leave every future dropped, every place free, and nothing to join.
#[anyrt_test::test(timeout = 30)]
async fn outputs_of_tasks_finishing_on_other_workers_are_never_lost() {
    for limit in [None, Some(3)] {
        let mut group = match limit {
            Some(limit) => TaskGroup::with_limit(n(limit)),
            None => TaskGroup::new(),
        };
        for i in 0..200_usize {
            group.spawn(async move {
                if i % 3 == 0 {
                    anyrt_core::yield_now().await;
                }
                i
            });
        }
        let mut seen = Vec::new();
        while seen.len() < 200 {
            if seen.len() % 2 == 0 {
                // Dropped after one poll: cancel safe.
                let mut next = pin!(group.join_next());
                if let Poll::Ready(output) = futures::poll!(next.as_mut()) {
                    seen.push(output.expect("tasks are left"));
                    continue;
                }
            }
            match group.try_join_next() {
                Some(output) => seen.push(output),
                None => seen.extend(group.join_next().await),
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..200).collect::<Vec<_>>(), "limit {limit:?}");
        assert_eq!(group.join_next().await, None);

        let dropped = Arc::new(AtomicUsize::new(0));
        for i in 0..100_usize {
            let guard = Guard(dropped.clone());
            group.spawn(async move {
                let _guard = guard;
                if i % 2 == 0 {
                    pending::<()>().await;
                }
                i
            });
        }
        anyrt_core::yield_now().await;
        group.abort_all();
        assert_eq!(
            group.join_next().await,
            None,
            "nothing joined after an abort"
        );
        group.shutdown().await;
        assert_eq!(dropped.load(SeqCst), 100, "limit {limit:?}");
        if let Some(limit) = limit {
            for _ in 0..limit {
                assert!(group.try_spawn(pending()).is_ok(), "a place was lost");
            }
            assert!(group.try_spawn(pending()).is_err());
            group.shutdown().await;
        }
    }
}

/// `try_join_all` failing while the other tasks finish or panic on other
/// workers: the first failure is returned (or resumed) only once every
/// other future was dropped, on every runtime.
#[anyrt_test::test(timeout = 30)]
async fn try_join_all_fails_fast_while_tasks_finish_on_other_workers() {
    anyrt_tests::panics::quiet_provoked_panics();
    for round in 0..20_usize {
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut group = TaskGroup::with_limit(n(4));
        for i in 0..40_usize {
            let guard = Guard(dropped.clone());
            group.spawn(async move {
                let _guard = guard;
                if (i + round) % 7 == 0 {
                    anyrt_core::yield_now().await;
                }
                match i {
                    10 => Err(i),
                    20 if round % 2 == 0 => std::panic::panic_any(anyrt_tests::panics::PROVOKED),
                    _ => Ok(i),
                }
            });
        }
        let joined = AssertUnwindSafe(group.try_join_all()).catch_unwind().await;
        if let Ok(outcome) = joined {
            assert!(outcome.is_err(), "a task failed");
        }
        assert_eq!(
            dropped.load(SeqCst),
            40,
            "round {round}: every future dropped on return"
        );
    }
}
