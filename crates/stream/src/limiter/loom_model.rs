//! Model checks of the limiter's shared state under every interleaving
//! loom explores: `RUSTFLAGS="--cfg anyrt_loom" cargo test -p anyrt-stream --lib
//! --release loom`.

use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use super::shared::Shared;

/// A waker that records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag() -> (std::sync::Arc<Flag>, Waker) {
    let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
    (flag.clone(), Waker::from(flag))
}

#[test]
fn concurrent_takes_never_grant_more_than_the_burst() {
    loom::model(|| {
        let epoch = Instant::now();
        let shared = Arc::new(Shared::new(1, Duration::from_secs(1), 2, epoch).unwrap());
        // One permit of the burst of 2 is taken up front.
        assert!(shared.take(epoch, 1, None).is_ok());
        let granted = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (shared, granted) = (shared.clone(), granted.clone());
                thread::spawn(move || {
                    if shared.take(epoch, 1, None).is_ok() {
                        granted.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // One permit left at this instant: exactly one of the two racing
        // takes is granted.
        assert_eq!(granted.load(Ordering::SeqCst), 1);
        assert_eq!(shared.available(epoch), 0);
    });
}

#[test]
fn a_head_that_leaves_while_the_next_joins_hands_its_turn_on() {
    loom::model(|| {
        let epoch = Instant::now();
        let shared = Arc::new(Shared::new(1, Duration::from_secs(1), 1, epoch).unwrap());
        let (_, head_waker) = flag();
        let head = shared.join(&head_waker);
        let next = {
            let shared = shared.clone();
            thread::spawn(move || {
                let (woken, waker) = flag();
                let id = shared.join(&waker);
                // Polled once: either it is already the head, or the head
                // leaving must wake it.
                let head_now = shared.is_head(id, &waker);
                (id, head_now, woken)
            })
        };
        // The head is dropped (while being woken, or at any moment).
        shared.leave(head);
        let (id, was_head, woken) = next.join().unwrap();
        assert!(
            was_head || woken.0.load(Ordering::SeqCst),
            "the waiter behind a dropped head was neither head nor woken"
        );
        let (_, waker) = flag();
        assert!(shared.is_head(id, &waker));
        shared.leave(id);
        assert!(shared.nobody_queued());
    });
}

#[test]
fn a_waiter_dropped_in_the_middle_does_not_block_the_one_behind() {
    loom::model(|| {
        let epoch = Instant::now();
        let shared = Arc::new(Shared::new(1, Duration::from_secs(1), 1, epoch).unwrap());
        let (_, a_waker) = flag();
        let (_, b_waker) = flag();
        let (c_woken, c_waker) = flag();
        let a = shared.join(&a_waker);
        let b = shared.join(&b_waker);
        let c = shared.join(&c_waker);
        let middle = {
            let shared = shared.clone();
            thread::spawn(move || shared.leave(b))
        };
        shared.leave(a); // served
        middle.join().unwrap();
        assert!(c_woken.0.load(Ordering::SeqCst), "c's turn came");
        assert!(shared.is_head(c, &c_waker));
        shared.leave(c);
        assert!(shared.nobody_queued());
    });
}

#[test]
fn the_turn_reaches_a_waiter_whose_waker_changed_meanwhile() {
    loom::model(|| {
        let epoch = Instant::now();
        let shared = Arc::new(Shared::new(1, Duration::from_secs(1), 1, epoch).unwrap());
        let (_, a_waker) = flag();
        let (_, first) = flag();
        let a = shared.join(&a_waker);
        let b = shared.join(&first);
        let repoll = {
            let shared = shared.clone();
            thread::spawn(move || {
                // b is polled again by another task: a new waker.
                let (woken, second) = flag();
                (shared.is_head(b, &second), woken)
            })
        };
        shared.leave(a);
        let (was_head, woken) = repoll.join().unwrap();
        assert!(
            was_head || woken.0.load(Ordering::SeqCst),
            "the turn went to a stale waker"
        );
    });
}

#[test]
fn a_try_take_racing_a_queued_head_never_grants_more_than_is_free() {
    loom::model(|| {
        let epoch = Instant::now();
        let shared = Arc::new(Shared::new(1, Duration::from_secs(1), 2, epoch).unwrap());
        // One of the burst of 2 is taken: one is free at `epoch`.
        assert!(shared.take(epoch, 1, None).is_ok());
        let granted = Arc::new(AtomicUsize::new(0));
        let fast = {
            let (shared, granted) = (shared.clone(), granted.clone());
            thread::spawn(move || {
                if shared.nobody_queued() && shared.take(epoch, 1, None).is_ok() {
                    granted.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        // A waiter joins, and at the head takes, then leaves.
        let (_, waker) = flag();
        let id = shared.join(&waker);
        assert!(shared.is_head(id, &waker));
        if shared.take(epoch, 1, None).is_ok() {
            granted.fetch_add(1, Ordering::SeqCst);
        }
        shared.leave(id);
        fast.join().unwrap();
        assert_eq!(granted.load(Ordering::SeqCst), 1, "one permit was free");
        assert!(shared.nobody_queued());
    });
}
