//! Edge cases of wakers around the in-place scope, the cancel token, the
//! virtual clock and the fallback timer: wakers that panic when woken, and
//! wakers whose drop touches the object that lets go of them.

use std::future::{Future, pending};
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use anyrt_core::futures::{AnySleep, VirtualSleep};
use anyrt_core::{Runtime, Timer, VirtualClock};
use anyrt_scope::futures::CancelledOwned;
use anyrt_scope::{CancelToken, Handle, Scope};
use anyrt_tests::panics::quiet_provoked_panics;
use anyrt_tests::wakers::{Counting, counting, ends_without_deadlock, panicking};

const SEC: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

/// Only turns a hang into a failure; never a bound on speed.
const HANG: Duration = Duration::from_secs(30);

fn woken(count: &Counting) -> usize {
    count.0.load(Ordering::SeqCst)
}

/// A waker that reports its wakes on a channel, to another thread.
struct Sending(Mutex<mpsc::Sender<()>>);

impl Wake for Sending {
    fn wake(self: Arc<Self>) {
        let _ = self.0.lock().unwrap().send(());
    }
}

/// A waker that holds `T`, as an executor's waker holds its task, whose
/// future may hold anything: dropping the last clone drops it.
struct Holds<T>(#[allow(dead_code)] Mutex<Option<T>>);

impl<T: Send + 'static> Wake for Holds<T> {
    fn wake(self: Arc<Self>) {}
}

fn holding<T: Send + 'static>(held: T) -> Waker {
    Waker::from(Arc::new(Holds(Mutex::new(Some(held)))))
}

/// A waker that wakes another waker when its last clone is dropped, as a
/// task's future may when dropped (a drop guard cancelling a token that
/// somebody waits on, say).
struct WakesWhenDropped(Mutex<Option<Waker>>);

impl Wake for WakesWhenDropped {
    fn wake(self: Arc<Self>) {}
}

impl Drop for WakesWhenDropped {
    fn drop(&mut self) {
        if let Some(waker) = self.0.lock().unwrap().take() {
            waker.wake();
        }
    }
}

fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// A scope that lives for good, so that a waker (which is `'static`) can
/// hold one of its handles.
fn leaked_scope(limit: Option<usize>) -> &'static Scope<'static, ()> {
    let scope = Scope::new();
    let scope = match limit.and_then(NonZeroUsize::new) {
        Some(n) => scope.limit(n),
        None => scope,
    };
    Box::leak(Box::new(scope))
}

// ---------------------------------------------------------------------
// VirtualClock
// ---------------------------------------------------------------------

/// `VirtualClock::advance_to` "wakes every sleeper now due". The wakers of
/// the due sleepers are taken off the clock under its lock (`take_due`)
/// and woken one after the other by `due.into_iter().for_each(Waker::wake)`
/// (crates/core/src/virtual_clock.rs, `advance_to`; `jump_if_settled` does
/// the same for an auto-advance): when one of them panics, the unwinding
/// drops the rest unwoken. Their sleeps are off the clock, so no later
/// advance wakes them either: they sleep for good past their deadline.
#[test]
fn an_advance_wakes_every_due_sleeper_even_when_one_waker_panics() {
    quiet_provoked_panics();
    let clock = VirtualClock::new();
    let mut first = Box::pin(clock.sleep(SEC));
    let mut second = Box::pin(clock.sleep(2 * SEC));
    let (waker, count) = counting();
    assert!(poll_with(first.as_mut(), &panicking()).is_pending());
    assert!(poll_with(second.as_mut(), &waker).is_pending());
    // The panic may reach the caller of `advance`; the time must still
    // reach every sleeper.
    let _ = catch_unwind(AssertUnwindSafe(|| clock.advance(2 * SEC)));
    assert_eq!(clock.elapsed(), 2 * SEC);
    assert_eq!(
        woken(&count),
        1,
        "a sleeper due at the advance was never woken"
    );
    // Nothing is left to wake it later: it is off the clock.
    assert_eq!(clock.pending_sleepers(), 0);
    assert!(poll_with(second.as_mut(), &waker).is_ready());
}

/// `VirtualSleep` is dropped off the clock ("Dropping it removes it from
/// the clock"), which takes the clock's lock. A sleep polled again with
/// another waker swaps it in place, under the lock:
/// `waker.clone_from(cx.waker())` in `VirtualSleep::poll`
/// (crates/core/src/virtual_clock.rs). When the old waker was the last
/// reference to a task whose future holds another sleep on the same clock,
/// that drop releases the other sleep and takes the lock again on the same
/// thread: deadlock.
#[test]
fn a_waker_the_virtual_clock_lets_go_of_is_dropped_outside_its_lock() {
    ends_without_deadlock("a virtual sleep polled with another waker", || {
        let clock = VirtualClock::new();
        let mut other_sleep: Pin<Box<VirtualSleep>> = Box::pin(clock.sleep(HOUR));
        assert!(poll_with(other_sleep.as_mut(), Waker::noop()).is_pending());
        let waker = holding(other_sleep);
        let mut sleep = Box::pin(clock.sleep(SEC));
        assert!(poll_with(sleep.as_mut(), &waker).is_pending());
        drop(waker); // the clock holds the last clone
        let (other, count) = counting();
        assert!(poll_with(sleep.as_mut(), &other).is_pending());
        assert_eq!(clock.pending_sleepers(), 1);
        clock.advance(SEC);
        assert_eq!(woken(&count), 1);
    });
}

// ---------------------------------------------------------------------
// The fallback timer
// ---------------------------------------------------------------------

/// The fallback timer is one per process: the test that may deadlock on
/// its lock (and so hold it for good) waits until the other is done.
static FALLBACK_THREAD_CHECKED: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

/// Marks the fallback timer's thread checked when dropped, pass or fail.
struct Checked;

impl Drop for Checked {
    fn drop(&mut self) {
        let (checked, changed) = &FALLBACK_THREAD_CHECKED;
        *checked.lock().unwrap_or_else(|poison| poison.into_inner()) = true;
        changed.notify_all();
    }
}

/// The fallback timer (`Runtime::Fallback`, and every sleep under a bare
/// `block_on` without a runtime feature) is "one lazily started thread"
/// that wakes the sleepers due. It wakes them with
/// `due.drain(..).for_each(Waker::wake)` on that thread (crates/core/src/
/// fallback/timer.rs, `Queue::run`), with nothing to catch a panic: one
/// waker that panics ends the thread, which is never started again, and
/// from then on no fallback sleep of the process ever completes.
#[test]
fn a_panicking_waker_does_not_stop_the_fallback_timer() {
    quiet_provoked_panics();
    let _checked = Checked;
    let (sent, received) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut first: Pin<Box<AnySleep>> =
            Box::pin(Runtime::Fallback.sleep(Duration::from_millis(200)));
        let first_pending = poll_with(first.as_mut(), &panicking()).is_pending();
        let mut second = Box::pin(Runtime::Fallback.sleep(Duration::from_millis(400)));
        let waker = Waker::from(Arc::new(Sending(Mutex::new(sent))));
        let second_pending = poll_with(second.as_mut(), &waker).is_pending();
        let _ = tx.send((first_pending, second_pending));
        // Both stay registered until the end of the test.
        std::thread::sleep(HANG + SEC);
        drop((first, second));
    });
    let (first_pending, second_pending) = rx.recv_timeout(HANG).expect("the sleeps were polled");
    assert!(first_pending && second_pending);
    assert!(
        received.recv_timeout(HANG).is_ok(),
        "a sleep 400 ms long was never woken: a panicking waker ended the fallback timer's thread"
    );
}

/// The same swap as the virtual clock's, on the fallback timer:
/// `current.clone_from(waker)` in `Queue::update` (crates/core/src/
/// fallback/timer.rs) drops the old waker under the queue's lock, and a
/// fallback sleep dropped from that drop (`Queue::cancel`) takes the lock
/// again on the same thread: deadlock, of every fallback sleep of the
/// process.
#[test]
fn a_waker_the_fallback_timer_lets_go_of_is_dropped_outside_its_lock() {
    {
        let (checked, changed) = &FALLBACK_THREAD_CHECKED;
        let guard = checked.lock().unwrap_or_else(|poison| poison.into_inner());
        drop(changed.wait_timeout_while(guard, HANG, |checked| !*checked));
    }
    ends_without_deadlock("a fallback sleep polled with another waker", || {
        let mut other_sleep: Pin<Box<AnySleep>> = Box::pin(Runtime::Fallback.sleep(HOUR));
        assert!(poll_with(other_sleep.as_mut(), Waker::noop()).is_pending());
        let waker = holding(other_sleep);
        let mut sleep = Box::pin(Runtime::Fallback.sleep(HOUR));
        assert!(poll_with(sleep.as_mut(), &waker).is_pending());
        drop(waker); // the timer holds the last clone
        let (other, _) = counting();
        assert!(poll_with(sleep.as_mut(), &other).is_pending());
    });
}

// ---------------------------------------------------------------------
// CancelToken
// ---------------------------------------------------------------------

/// `CancelToken`: "every present and future `cancelled` completes", and
/// `Node::notify` says "A waker that panics (a waiter's bug) cannot stop
/// the others' nodes from being woken". It only protects the other nodes:
/// the waiters of one node are woken by a single `event.notify(usize::MAX)`
/// under `catch_unwind` (crates/scope/src/token.rs, `Node::notify`), and
/// event-listener wakes them one by one inside that call, so a panicking
/// waker stops the call and every waiter behind it on the same token is
/// never woken (nothing notifies the node again: it is cancelled).
#[test]
fn cancel_wakes_every_waiter_of_a_token_even_when_one_waker_panics() {
    quiet_provoked_panics();
    let token = CancelToken::new();
    let mut first = Box::pin(token.cancelled());
    let mut second = Box::pin(token.cancelled());
    let (waker, count) = counting();
    assert!(poll_with(first.as_mut(), &panicking()).is_pending());
    assert!(poll_with(second.as_mut(), &waker).is_pending());
    let _ = catch_unwind(AssertUnwindSafe(|| token.cancel()));
    assert!(token.is_cancelled());
    // The first waiter's listener was left half notified by the panic; it
    // is not dropped here, so that its drop cannot unwind in the asserts.
    std::mem::forget(first);
    assert_eq!(
        woken(&count),
        1,
        "a waiter on the cancelled token was never woken"
    );
    assert!(poll_with(second.as_mut(), &waker).is_ready());
}

/// `cancelled()` polled again with another waker re-registers its
/// listener, and event-listener swaps the waker under the event's lock
/// (`poll_cancelled`, `Pin::new(registered).poll(cx)` in crates/scope/src/
/// token.rs): the old waker is dropped there. When it was the last
/// reference to a task whose future waits on the same token, that drop
/// unregisters the other listener, which takes the same lock on the same
/// thread: deadlock.
#[test]
fn a_waker_the_token_lets_go_of_is_dropped_outside_its_lock() {
    ends_without_deadlock("a cancelled() polled with another waker", || {
        let token = CancelToken::new();
        let mut other_waiter: Pin<Box<CancelledOwned>> = Box::pin(token.clone().cancelled_owned());
        assert!(poll_with(other_waiter.as_mut(), Waker::noop()).is_pending());
        let waker = holding(other_waiter);
        let mut waiting = Box::pin(token.clone().cancelled_owned());
        assert!(poll_with(waiting.as_mut(), &waker).is_pending());
        drop(waker); // the token's listener holds the last clone
        let (other, count) = counting();
        assert!(poll_with(waiting.as_mut(), &other).is_pending());
        token.cancel();
        assert_eq!(woken(&count), 1);
    });
}

// ---------------------------------------------------------------------
// Scope
// ---------------------------------------------------------------------

/// Per-child wakers: a child's wake-up queues its key and wakes the
/// scope's future "if the queue was empty" (`Ready::push` →
/// `wake_unless_polling`, which locks `Ready::parent`). The scope's future
/// remembers its task's waker at each poll with
/// `set_waker(&mut lock(&self.parent), waker)` (crates/scope/src/wake.rs,
/// `Ready::register`), which drops the old waker under the `parent` lock,
/// before the poll marks itself as polling. When the old waker was the
/// last reference to a task whose drop wakes a child of the scope (a drop
/// guard cancelling a token the child waits on, say), that wake locks
/// `parent` again on the same thread: deadlock.
#[test]
fn a_waker_the_scope_future_lets_go_of_is_dropped_outside_its_lock() {
    ends_without_deadlock("the scope's future polled with another waker", || {
        let child_waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let keep = child_waker.clone();
        let scope = Scope::<()>::new();
        let mut run = Box::pin(scope.run(async {
            scope.spawn(std::future::poll_fn(move |cx| {
                *keep.lock().unwrap() = Some(cx.waker().clone());
                Poll::<Result<(), ()>>::Pending
            }));
            pending::<Result<(), ()>>().await
        }));
        let dropping = Arc::new(WakesWhenDropped(Mutex::new(None)));
        let waker = Waker::from(dropping.clone());
        assert!(poll_with(run.as_mut(), &waker).is_pending());
        let child = child_waker.lock().unwrap().take();
        assert!(child.is_some(), "the child was polled");
        *dropping.0.lock().unwrap() = child;
        drop((dropping, waker)); // the scope's future holds the last clone
        let (other, _) = counting();
        assert!(poll_with(run.as_mut(), &other).is_pending());
        drop(run);
    });
}

/// A `Handle` is released from the scope when dropped (`Slots::release`
/// takes the scope's lock). Awaiting it keeps the awaiter's waker in the
/// child's entry, replaced under the scope's lock by
/// `set_waker(&mut entry.handle_waker, waker)` (crates/scope/src/scope.rs,
/// `poll_output`), and dropped under it by `entry.handle_waker = None`
/// (`release`). When that waker was the last reference to a task that
/// holds another handle of the scope, the handle's drop takes the lock
/// again on the same thread: deadlock.
#[test]
fn a_handle_waker_the_scope_lets_go_of_is_dropped_outside_its_lock() {
    fn run_with(what: &'static str, replace: bool) {
        ends_without_deadlock(what, move || {
            let scope = leaked_scope(None);
            let outcome = futures::executor::block_on(scope.run(async move {
                let awaited = scope.spawn(pending::<Result<(), ()>>());
                let other: Handle<'static, ()> = scope.spawn(pending());
                let mut awaited = pin!(awaited);
                let waker = holding(other);
                assert!(poll_with(awaited.as_mut(), &waker).is_pending());
                drop(waker); // the child's entry holds the last clone
                if replace {
                    let (waker, _) = counting();
                    assert!(poll_with(awaited.as_mut(), &waker).is_pending());
                }
                // Dropped here: `release`.
                Err::<(), ()>(())
            }));
            assert_eq!(outcome, Err(()));
        });
    }
    run_with("a handle polled with another waker", true);
    run_with("a polled handle dropped", false);
}

/// `spawn_wait` under a limit waits in line with a ticket that keeps its
/// waker in the scope's `Admission`. The waker is replaced under the
/// scope's lock by `set_waker(&mut waiter.waker, waker)`
/// (crates/scope/src/admission.rs, `poll_ticket`), and dropped under it
/// when the future gives its place up (`cancel`: `self.waiters.remove`,
/// called from `Scope::cancel_place` with the lock held). When that waker
/// was the last reference to a task that holds a handle of the scope, the
/// handle's drop takes the lock again on the same thread: deadlock.
#[test]
fn a_spawn_wait_waker_the_scope_lets_go_of_is_dropped_outside_its_lock() {
    fn run_with(what: &'static str, replace: bool) {
        ends_without_deadlock(what, move || {
            let scope = leaked_scope(Some(1));
            let outcome = futures::executor::block_on(scope.run(async move {
                let _running = scope.spawn(pending::<Result<(), ()>>());
                let other: Handle<'static, ()> = scope.spawn(pending());
                let mut waiting = Box::pin(scope.spawn_wait(pending::<Result<(), ()>>()));
                let waker = holding(other);
                assert!(poll_with(waiting.as_mut(), &waker).is_pending());
                drop(waker); // the ticket holds the last clone
                if replace {
                    let (waker, _) = counting();
                    assert!(poll_with(waiting.as_mut(), &waker).is_pending());
                }
                drop(waiting); // `cancel_place`
                Err::<(), ()>(())
            }));
            assert_eq!(outcome, Err(()));
        });
    }
    run_with("a spawn_wait polled with another waker", true);
    run_with("a waiting spawn_wait dropped", false);
}
