//! Model checks of the semaphore with `loom`, as tokio checks its own:
//! `RUSTFLAGS="--cfg loom" cargo test -p anyrt-pool --lib --release`.
//! Every interleaving of the threads below is run; none may lose or
//! duplicate a permit, or leave a waiter asleep.

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
