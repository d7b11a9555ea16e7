//! Edge cases of `anyrt_pool::Semaphore`: wakers that panic or that touch
//! the semaphore when dropped, state left behind by a dropped waiter, an
//! acquire that can never be served, and std threads hammering the fast
//! path and the queue at once.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};

use anyrt_pool::{MAX_PASSES, OwnedSemaphorePermit, Semaphore};
use anyrt_tests::panics::quiet_provoked_panics;
use anyrt_tests::wakers::{counting, ends_without_deadlock, panicking};
use futures_lite::future::poll_once;

fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// `close` "fails every waiter": each waiter is woken to see the close.
/// The wakers put aside under the lock are woken one after the other by
/// `WakeList::wake_all`; when one of them panics, the unwinding drops the
/// rest unwoken, and those waiters sleep forever on a closed semaphore
/// (their wakers were taken out of the queue, so nothing wakes them
/// again). The same list serves a release, so a panicking waker there
/// leaves the next waiter asleep beside a free permit.
#[anyrt_test::test(virtual_time)]
async fn close_wakes_every_waiter_even_when_one_waker_panics() {
    quiet_provoked_panics();
    let semaphore = Semaphore::new(0);
    let mut first = pin!(semaphore.acquire());
    let mut second = pin!(semaphore.acquire());
    let (waker, woken) = counting();
    assert!(poll_with(first.as_mut(), &panicking()).is_pending());
    assert!(poll_with(second.as_mut(), &waker).is_pending());
    // The panic may reach the caller of `close`; the close must still be
    // seen by every waiter.
    let _ = catch_unwind(AssertUnwindSafe(|| semaphore.close()));
    assert!(semaphore.is_closed());
    assert_eq!(
        woken.0.load(Ordering::SeqCst),
        1,
        "the second waiter was never woken to see the close"
    );
    assert!(matches!(
        poll_with(second.as_mut(), &waker),
        Poll::Ready(Err(_))
    ));
}

/// "Nothing lost": permits taken by a waiter are either in its permit or
/// back in the semaphore. A served waiter takes its permits out of the
/// queue in `poll_acquire` and returns `Ready(Ok(()))`, but the
/// `SemaphorePermit` is only made by `Acquire::poll` after the lock guard
/// is dropped, and that drop first wakes the next waiter. When that
/// waker panics, the unwinding discards the `Ready` and the permits it
/// stood for: nobody holds them and nobody can give them back.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_waker_of_the_next_waiter_loses_no_permit_of_a_served_one() {
    quiet_provoked_panics();
    let semaphore = Semaphore::new(2);
    let (one, two) = (
        semaphore.try_acquire().unwrap(),
        semaphore.try_acquire().unwrap(),
    );
    let mut first = Box::pin(semaphore.acquire());
    let mut second = pin!(semaphore.acquire());
    let (waker, woken) = counting();
    assert!(poll_with(first.as_mut(), &waker).is_pending());
    assert!(poll_with(second.as_mut(), &panicking()).is_pending());
    drop(one); // wakes `first`
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    drop(two); // `first` is woken already: nobody else is
    // Served, `first` wakes `second`, whose waker panics.
    let served = catch_unwind(AssertUnwindSafe(|| poll_with(first.as_mut(), &waker)));
    match served {
        Ok(Poll::Ready(Ok(permit))) => drop(permit),
        Ok(other) => panic!("`first` had a free permit: {other:?}"),
        Err(_) => {}
    }
    drop(first);
    let permit = match poll_with(second.as_mut(), &waker) {
        Poll::Ready(Ok(permit)) => permit,
        other => panic!("`second` had a free permit: {other:?}"),
    };
    drop(permit);
    assert_eq!(semaphore.waiters(), 0);
    assert_eq!(
        semaphore.available_permits(),
        2,
        "a permit was lost to the panic"
    );
}

/// The same for `try_acquire`: the `MAX_PASSES`-th barging acquire hands
/// the free permits to the oldest waiter and wakes the next one in
/// `State::dispatch`, under the lock; `Semaphore::try_take` returns
/// `Ok(())` from the locked state, whose drop then runs the wakers. The
/// panic of one discards the `Ok`, and the permit taken is lost.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_waker_loses_no_permit_of_a_try_acquire() {
    quiet_provoked_panics();
    let semaphore = Semaphore::new(4);
    let all = semaphore.try_acquire_many(4).unwrap();
    let mut first = Box::pin(semaphore.acquire());
    let mut second = Box::pin(semaphore.acquire());
    let (waker, _) = counting();
    assert!(poll_with(first.as_mut(), &waker).is_pending());
    assert!(poll_with(second.as_mut(), &panicking()).is_pending());
    drop(all); // wakes `first` only
    let mut barged = Vec::new();
    for _ in 0..MAX_PASSES {
        // The last pass hands a permit to `first` and wakes `second`.
        if let Ok(Ok(permit)) = catch_unwind(AssertUnwindSafe(|| semaphore.try_acquire())) {
            barged.push(permit);
        }
    }
    drop(barged);
    for waiter in [&mut first, &mut second] {
        match poll_with(waiter.as_mut(), &waker) {
            Poll::Ready(Ok(permit)) => drop(permit),
            other => panic!("a waiter had a free permit: {other:?}"),
        }
    }
    drop((first, second));
    assert_eq!(semaphore.waiters(), 0);
    assert_eq!(
        semaphore.available_permits(),
        4,
        "a permit was lost to the panic"
    );
}

/// A waker that holds a permit of the semaphore, as an executor's waker
/// holds its task, whose future may hold a permit: dropping the last
/// clone gives the permit back.
struct HoldsPermit(#[allow(dead_code)] Mutex<Option<OwnedSemaphorePermit>>);

impl Wake for HoldsPermit {
    fn wake(self: Arc<Self>) {}
}

/// Wakers are "woken once the lock is released, so that ... a waker that
/// runs or drops its task in place cannot deadlock on it" (`WakeList`).
/// A waker is dropped in place as well: when the executor let go of its
/// task, the waker a queued acquire keeps may be its last reference, and
/// dropping it drops the task, with any permit the task holds. The
/// semaphore drops the wakers it lets go of under its lock: the old
/// waker when a waiter is polled with a new one (`poll_acquire`,
/// `*slot = Some(cx.waker().clone())`), and the queue node with its
/// waker when a queued acquire is dropped (`cancel_acquire`). A permit
/// given back from that drop takes the lock again on the same thread:
/// deadlock.
#[test]
fn a_waker_the_semaphore_lets_go_of_is_dropped_outside_its_lock() {
    fn holding_a_permit(semaphore: &Arc<Semaphore>) -> Waker {
        let permit = semaphore.clone().try_acquire_owned().unwrap();
        Waker::from(Arc::new(HoldsPermit(Mutex::new(Some(permit)))))
    }
    ends_without_deadlock("a queued acquire dropped", || {
        let semaphore = Arc::new(Semaphore::new(1));
        let waker = holding_a_permit(&semaphore);
        let mut acquire = Box::pin(semaphore.acquire());
        assert!(poll_with(acquire.as_mut(), &waker).is_pending());
        drop(waker);
        drop(acquire);
        assert_eq!(semaphore.available_permits(), 1);
    });
    ends_without_deadlock("a waiter polled with another waker", || {
        let semaphore = Arc::new(Semaphore::new(1));
        let waker = holding_a_permit(&semaphore);
        let mut acquire = Box::pin(semaphore.acquire());
        assert!(poll_with(acquire.as_mut(), &waker).is_pending());
        drop(waker); // the queued acquire holds the last clone
        let (other, _) = counting();
        // Replacing the waker drops the permit, which serves this acquire.
        let permit = match poll_with(acquire.as_mut(), &other) {
            Poll::Ready(Ok(permit)) => Some(permit),
            Poll::Pending => None,
            Poll::Ready(Err(err)) => panic!("{err}"),
        };
        drop(permit);
        drop(acquire);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

/// `MAX_PASSES`: "How many times the oldest waiter may be passed over (a
/// later acquire took permits while it waited) before released permits
/// are handed to it directly." The count lives in `State::passes` and is
/// reset when the oldest waiter is served, but not when it leaves by
/// being dropped (`cancel_acquire`): the next waiter inherits the passes
/// of the one before, is owed permits before anybody passed it over, and
/// the barging fast path is off until it is served. It matters where
/// acquires time out: one that waited `MAX_WAIT` and gave up leaves the
/// count at `MAX_PASSES` for a waiter that has just come.
#[anyrt_test::test(virtual_time)]
async fn a_new_waiter_does_not_inherit_the_passes_of_a_dropped_one() {
    let semaphore = Semaphore::new(2);
    let held = semaphore.try_acquire().unwrap();
    let mut greedy = Box::pin(semaphore.acquire_many(2));
    assert!(poll_once(greedy.as_mut()).await.is_none());
    for _ in 0..MAX_PASSES {
        semaphore.try_acquire().expect("barging allowed").forget();
        semaphore.add_permits(1);
    }
    drop(greedy); // passed over `MAX_PASSES` times, and gone
    drop(held);
    assert_eq!((semaphore.available_permits(), semaphore.waiters()), (2, 0));

    // As in the example of `MAX_PASSES`, with a waiter nobody passed over.
    let (one, two) = (
        semaphore.try_acquire().unwrap(),
        semaphore.try_acquire().unwrap(),
    );
    let mut waiter = pin!(semaphore.acquire());
    assert!(poll_once(waiter.as_mut()).await.is_none());
    drop(one);
    for pass in 0..MAX_PASSES {
        let barger = semaphore.try_acquire();
        assert!(
            barger.is_ok(),
            "pass {pass}: the new waiter was owed the permit before anybody passed it over"
        );
    }
    assert!(
        semaphore.try_acquire().is_err(),
        "the permit is the waiter's now"
    );
    assert!(waiter.await.is_ok());
    drop(two);
}

/// `acquire_many`: "`n` above what the semaphore will ever have waits
/// until it is closed", and permits "saturate at `usize::MAX / 4`", so an
/// acquire of more can never be served. It is queued as any other
/// (`poll_acquire`), at the head; once it is passed over `MAX_PASSES`
/// times (or waited `MAX_WAIT`), `State::dispatch` hands it every free
/// permit, and every permit released after, for good: one such acquire
/// stops every other acquire of the semaphore until it is dropped or the
/// semaphore closed.
#[anyrt_test::test(virtual_time)]
async fn an_acquire_that_can_never_be_served_takes_no_permit_from_the_others() {
    let semaphore = Semaphore::new(4);
    let mut impossible = pin!(semaphore.acquire_many(usize::MAX));
    // Waiting (as documented) or failing at once are both fine.
    assert!(!matches!(poll_once(impossible.as_mut()).await, Some(Ok(_))));
    for round in 0..10 {
        let permit = poll_once(semaphore.acquire()).await;
        assert!(
            matches!(permit, Some(Ok(_))),
            "round {round}: no permit is held, yet none was had"
        );
    }
    assert!(semaphore.try_acquire_many(4).is_ok());
}

/// Held permits with the count they add to `held`, taken off when dropped.
struct Counted(OwnedSemaphorePermit, Arc<AtomicUsize>);

impl Counted {
    fn new(permit: OwnedSemaphorePermit, held: &Arc<AtomicUsize>) -> Self {
        let now = held.fetch_add(permit.num_permits(), Ordering::SeqCst) + permit.num_permits();
        assert!(now <= PERMITS, "{now} permits held at once, of {PERMITS}");
        Counted(permit, held.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_sub(self.0.num_permits(), Ordering::SeqCst);
    }
}

const PERMITS: usize = 3;

/// Eight std threads mix the fast path (`try_acquire`), waiting acquires,
/// acquires of several permits dropped while queued, and drops on other
/// threads than the acquire's: never more permits are held than exist,
/// and every one is back at the end, with nobody queued.
#[test]
fn threads_hammering_the_fast_path_and_the_queue_lose_and_add_no_permit() {
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let held = Arc::new(AtomicUsize::new(0));
    let (handed, taken) = mpsc::channel::<Counted>();
    // Drops the permits handed to it, as they come.
    let dropper = std::thread::spawn(move || taken.into_iter().for_each(drop));
    let threads: Vec<_> = (0..8u64)
        .map(|seed| {
            let (semaphore, held) = (semaphore.clone(), held.clone());
            let handed = handed.clone();
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed);
                let (waker, _) = counting();
                let mut kept: Option<Counted> = None;
                for _ in 0..20_000 {
                    match rng.u8(0..5) {
                        0 => {
                            if let Ok(permit) = semaphore.clone().try_acquire_owned() {
                                kept = Some(Counted::new(permit, &held));
                            }
                        }
                        1 => {
                            // Holds nothing while it waits: no hold-and-wait.
                            drop(kept.take());
                            let acquire = semaphore.clone().acquire_owned();
                            let permit = futures::executor::block_on(acquire).unwrap();
                            kept = Some(Counted::new(permit, &held));
                        }
                        2 => {
                            let n = rng.usize(0..=PERMITS);
                            let mut acquire = Box::pin(semaphore.clone().acquire_many_owned(n));
                            if let Poll::Ready(permit) = poll_with(acquire.as_mut(), &waker) {
                                kept = Some(Counted::new(permit.unwrap(), &held));
                            }
                        }
                        // Dropped on another thread.
                        3 => {
                            if let Some(permit) = kept.take() {
                                handed.send(permit).unwrap();
                            }
                        }
                        _ => kept = None,
                    }
                }
            })
        })
        .collect();
    drop(handed);
    for thread in threads {
        thread.join().unwrap();
    }
    dropper.join().unwrap();
    assert_eq!(held.load(Ordering::SeqCst), 0);
    assert_eq!(
        (semaphore.available_permits(), semaphore.waiters()),
        (PERMITS, 0)
    );
    assert!(semaphore.try_acquire_many(PERMITS).is_ok());
}
