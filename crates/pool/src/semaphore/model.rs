//! Model checks of the semaphore with `loom`, as tokio checks its own:
//! `RUSTFLAGS="--cfg anyrt_loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p anyrt-pool
//! --lib --release` (CI's bound: seconds; without it, minutes). Every
//! interleaving of the threads below (of the fast word's atomics and the
//! lock) is run; none may lose or duplicate a permit, or leave a waiter
//! asleep. The wait bound in time is off under loom (it explores
//! interleavings, not clocks); the pass count is set by hand instead.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use loom::future::block_on;
use loom::thread;

use super::{MAX_PASSES, Semaphore};

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

fn settled(semaphore: &Semaphore, permits: usize) {
    assert_eq!(semaphore.available_permits(), permits);
    assert_eq!(semaphore.waiters(), 0);
}

#[test]
fn acquire_and_release_on_two_threads() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let other = semaphore.clone();
        let t = thread::spawn(move || {
            block_on(async {
                let permit = other.acquire().await.unwrap();
                drop(permit);
            })
        });
        block_on(async {
            let permit = semaphore.acquire().await.unwrap();
            drop(permit);
        });
        t.join().unwrap();
        settled(&semaphore, 1);
    });
}

#[test]
fn the_oldest_waiter_is_handed_the_permit() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().try_acquire_owned().unwrap();
        let waiter = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(async { semaphore.acquire().await.map(|p| p.forget()) }))
        };
        // Once the waiter is queued, it is owed the next release.
        while semaphore.waiters() == 0 {
            thread::yield_now();
        }
        semaphore.lock().passes = MAX_PASSES;
        drop(held);
        assert!(semaphore.try_acquire().is_err(), "nobody barges past it");
        waiter.join().unwrap().unwrap();
        assert_eq!(semaphore.available_permits(), 0, "forgotten by the waiter");
    });
}

#[test]
fn a_waiter_dropped_as_it_is_handed_the_permit_passes_it_on() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().try_acquire_owned().unwrap();
        // The first waiter is queued here, then dropped on another thread
        // while the release hands it the permit.
        let mut first = Box::pin(semaphore.clone().acquire_owned());
        assert!(poll_once(first.as_mut()).is_pending());
        let second = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(async { semaphore.acquire().await.is_ok() }))
        };
        while semaphore.waiters() < 2 {
            thread::yield_now();
        }
        semaphore.lock().passes = MAX_PASSES;
        let dropper = thread::spawn(move || drop(first));
        drop(held);
        dropper.join().unwrap();
        assert!(second.join().unwrap(), "the second waiter got the permit");
        settled(&semaphore, 1);
    });
}

#[test]
fn a_woken_waiter_dropped_before_it_runs_wakes_the_next() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().try_acquire_owned().unwrap();
        let mut first = Box::pin(semaphore.acquire());
        assert!(poll_once(first.as_mut()).is_pending());
        let second = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(async { semaphore.acquire().await.is_ok() }))
        };
        while semaphore.waiters() < 2 {
            thread::yield_now();
        }
        let releaser = thread::spawn(move || drop(held));
        // Dropped before or after the release woke it, never polled again.
        drop(first);
        releaser.join().unwrap();
        assert!(second.join().unwrap());
        settled(&semaphore, 1);
    });
}

#[test]
fn free_permits_leave_the_lock_when_the_last_waiter_does() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().try_acquire_owned().unwrap();
        // Asks for more than exist: it waits until dropped.
        let mut waiter = Box::pin(semaphore.clone().acquire_many_owned(2));
        assert!(poll_once(waiter.as_mut()).is_pending());
        let releaser = thread::spawn(move || drop(held));
        let canceller = thread::spawn(move || drop(waiter));
        let fast = semaphore.clone();
        let barger = thread::spawn(move || fast.try_acquire().map(|p| p.forget()).is_ok());
        releaser.join().unwrap();
        canceller.join().unwrap();
        let barged = barger.join().unwrap();
        settled(&semaphore, if barged { 0 } else { 1 });
    });
}

#[test]
fn close_racing_with_a_handoff_loses_no_permit() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().try_acquire_owned().unwrap();
        let waiter = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(async { semaphore.acquire().await.is_ok() }))
        };
        while semaphore.waiters() == 0 {
            thread::yield_now();
        }
        semaphore.lock().passes = MAX_PASSES;
        let closer = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.close())
        };
        drop(held);
        closer.join().unwrap();
        // Served before the close, or failed by it: either way the permit
        // is back once the waiter is done with it.
        let _ = waiter.join().unwrap();
        assert_eq!(semaphore.available_permits(), 1);
        assert_eq!(semaphore.waiters(), 0);
    });
}

#[test]
fn forgetting_permits_racing_with_a_release_to_waiters_counts_each_once() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(0));
        let mut waiter = Box::pin(semaphore.clone().acquire_owned());
        assert!(poll_once(waiter.as_mut()).is_pending());
        let grower = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.release_to_waiters(2))
        };
        let shrinker = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.forget_permits(2))
        };
        grower.join().unwrap();
        let forgotten = shrinker.join().unwrap();
        // The waiter holds what it was handed, or gives it back.
        let got = match poll_once(waiter.as_mut()) {
            Poll::Ready(Ok(permit)) => permit.num_permits(),
            Poll::Ready(Err(_)) => unreachable!("never closed"),
            Poll::Pending => 0,
        };
        drop(waiter);
        assert_eq!(semaphore.available_permits() + forgotten, 2, "got {got}");
    });
}
