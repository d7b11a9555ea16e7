//! Regressions: `buffer`'s task must not hold its thread with an upstream
//! that is always ready, and `timeout_each` must not leave its sleep
//! registered once the item it timed has come, nor make one for a wait
//! that never ends.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_stream::StreamOps;
use futures::{FutureExt, StreamExt};

const MS: Duration = Duration::from_millis(1);

/// `buffer` "runs the stream in a task ... which keeps up to `n` items
/// queued ahead of the consumer", and the crate's rule for an upstream
/// that is always ready is that it "cannot hold the thread" (the
/// operators take at most 32 ready items per poll, then wake themselves
/// and yield). The buffer's task has no such budget: its poll pulls the
/// upstream until the queue is full. On an executor where the task shares
/// the consumer's thread (a current-thread tokio runtime), an endless
/// ready upstream behind a large bound (here `NonZeroUsize::MAX`) never
/// lets the consumer run: it gets no item while the queue grows without
/// end. Here the upstream gives up after 200,000 items nobody took, so the
/// test fails instead of exhausting memory.
#[anyrt_test::test(runtimes(tokio_current_thread))]
async fn buffer_task_does_not_hold_the_thread_with_an_always_ready_upstream() {
    let consumer_got_one = Arc::new(AtomicBool::new(false));
    let starved = Arc::new(AtomicBool::new(false));
    let (got, flag) = (consumer_got_one.clone(), starved.clone());
    let source = futures::stream::iter(0_u64..).take_while(move |i| {
        let give_up = *i >= 200_000 && !got.load(SeqCst);
        if give_up {
            flag.store(true, SeqCst);
        }
        futures::future::ready(!give_up)
    });
    let mut buffered = source.buffer(NonZeroUsize::MAX);
    assert_eq!(buffered.next().await, Some(0));
    consumer_got_one.store(true, SeqCst);
    drop(buffered);
    assert!(
        !starved.load(SeqCst),
        "the buffer's task pulled 200,000 items in one go before the consumer got the first"
    );
}

/// `timeout_each`'s timer is there for the wait for the next item only.
/// Operators take a sleep they no longer need off its timer "so it neither
/// wakes the task for nothing nor holds a virtual clock's next jump" (as
/// `chunks_timeout` does when a chunk fills before its time). When an item
/// comes before its timeout, `timeout_each` leaves the sleep registered:
/// the virtual clock then counts a sleeper due at the old deadline, and
/// while the consumer waits on something the clock does not see (here a
/// thread), the clock jumps to that dead deadline, 49 ms of virtual time
/// that nothing asked for.
#[anyrt_test::test(virtual_time)]
async fn timeout_each_leaves_no_sleep_behind_once_its_item_came(clock: VirtualClock) {
    let source = futures::stream::iter([1])
        .then(|i| anyrt_core::sleep(MS).map(move |()| i))
        .chain(futures::stream::pending());
    let mut limited = Box::pin(source.timeout_each(50 * MS));
    assert_eq!(limited.next().await, Some(Ok(1)));
    assert_eq!(clock.elapsed(), MS);
    let sleepers = clock.pending_sleepers();
    // The consumer now waits on something outside the clock.
    let (tx, rx) = futures::channel::oneshot::channel();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        let _ = tx.send(());
    });
    rx.await.unwrap();
    thread.join().unwrap();
    assert_eq!(
        (sleepers, clock.elapsed()),
        (0, MS),
        "(sleepers left after the item, virtual time after waiting on the thread)"
    );
}

/// A wait of `Duration::MAX` never ends, so `timeout_each` makes no sleep
/// for it: one would count as a sleeper the virtual clock could jump to.
#[anyrt_test::test(virtual_time)]
async fn timeout_each_of_duration_max_makes_no_sleep(clock: VirtualClock) {
    let source = futures::stream::iter([1]).then(|i| anyrt_core::sleep(MS).map(move |()| i));
    let mut limited = Box::pin(source.timeout_each(Duration::MAX));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(limited.poll_next_unpin(&mut cx).is_pending());
    assert_eq!(clock.pending_sleepers(), 1, "only the upstream's sleep");
    assert_eq!(limited.next().await, Some(Ok(1)));
    assert_eq!(limited.next().await, None);
    assert_eq!(clock.elapsed(), MS);
}
