//! Conformance: dropping sleeps and tasks at every await point loses
//! nothing: no sleeper stays registered, no task keeps running.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyrt_core::{VirtualClock, with_timer};
use anyrt_tests::cancel::{cancel_after, cancel_at_every_poll};

#[anyrt_test::test]
async fn sleeps_dropped_at_every_poll_leave_no_sleeper() {
    let clock = VirtualClock::new();
    let checked = cancel_at_every_poll(
        || {
            clock.auto_advance(async {
                anyrt_core::sleep(Duration::from_secs(1)).await;
                anyrt_core::sleep(Duration::from_secs(2)).await;
                anyrt_core::sleep(Duration::from_secs(3)).await;
            })
        },
        |polls| {
            assert_eq!(
                clock.pending_sleepers(),
                0,
                "after cancelling at poll {polls}"
            )
        },
    )
    .await;
    assert!(
        checked >= 3,
        "the future needed at least one poll per sleep"
    );
}

#[anyrt_test::test]
async fn tasks_spawned_then_cancelled_at_every_poll_stop_running() {
    let clock = VirtualClock::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let make = || {
        let finished = finished.clone();
        with_timer(clock.clone(), async move {
            let task = anyrt_core::spawn(async move {
                anyrt_core::sleep(Duration::from_secs(5)).await;
                finished.fetch_add(1, Ordering::SeqCst);
            });
            task.await;
        })
    };
    // The only await points: before the first poll, and waiting for the
    // task (whose sleep never fires, as nobody advances the clock).
    for polls in 0..2 {
        assert!(cancel_after(polls, make()).await.is_none());
    }
    // Give cancelled tasks the chance to be dropped by their executors.
    for _ in 0..100 {
        if clock.pending_sleepers() == 0 {
            break;
        }
        anyrt_core::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "a cancelled task's sleep is deregistered"
    );
    clock.advance(Duration::from_secs(10));
    anyrt_core::sleep(Duration::from_millis(2)).await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "no cancelled task ran on"
    );
}
