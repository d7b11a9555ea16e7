//! Model checks of a limited group's places under every interleaving loom
//! explores: `RUSTFLAGS="--cfg anyrt_loom" cargo test -p anyrt-scope --lib
//! --release loom`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::task::{Context, Waker};

use loom::thread;

use super::Slots;

/// Regression: a task waiting for a place, polled on another thread while
/// the group cancelled every task and the running one gave its place back,
/// could be granted that place after its look at the epoch, and start.
#[test]
fn loom_a_place_given_back_by_a_cancelled_task_starts_none_of_the_others() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(NonZeroUsize::MIN));
        let mut running = slots.try_enter().expect("the first place is free");
        let mut waiting = slots.enter_or_queue(Waker::noop());
        assert!(waiting.is_waiting());
        let poller = thread::spawn(move || {
            let started = waiting
                .poll_enter(&mut Context::from_waker(Waker::noop()))
                .is_ready();
            (started, waiting)
        });
        // What the group's drop does: cancel, then the runtime drops the
        // running task.
        slots.cancel_all();
        running.release();
        let (started, waiting) = poller.join().unwrap();
        assert!(!started, "a cancelled task started its future");
        drop(waiting);
        // Every place is free again.
        assert!(slots.try_enter().is_some());
    });
}
