//! Cancel safety of the retry future: once dropped, during a sleep or an
//! attempt, it starts no further attempt.

use std::cell::{Cell, RefCell};
use std::future::IntoFuture;
use std::pin::pin;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_retry::{Constant, Jitter, RetryBudget, retry, retry_with};
use anyrt_tests::cancel::cancel_at_every_poll;
use futures_lite::future::{self, poll_once};

const SEC: Duration = Duration::from_secs(1);

struct DropFlag<'a>(&'a Cell<u32>);

impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[anyrt_test::test(virtual_time)]
async fn dropped_during_a_sleep(clock: VirtualClock) {
    let calls = Cell::new(0);
    let retrying = retry(|| async {
        calls.set(calls.get() + 1);
        Err::<(), _>(())
    })
    .backoff(Constant::new(10 * SEC).jitter(Jitter::None))
    .max_attempts(100);
    // Attempts at 0 and 10 s; at 15 s the retry is asleep until 20 s.
    let raced = future::or(async { Some(retrying.await) }, async {
        anyrt_core::sleep(15 * SEC).await;
        None
    })
    .await;
    assert!(raced.is_none());
    assert_eq!(calls.get(), 2);
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "the retry's sleep was deregistered"
    );
    anyrt_core::sleep(100 * SEC).await;
    assert_eq!(calls.get(), 2);
}

#[anyrt_test::test]
async fn dropped_after_a_poll_on_every_runtime() {
    let calls = Cell::new(0);
    {
        let mut retrying = pin!(
            retry(|| async {
                calls.set(calls.get() + 1);
                Err::<(), _>(())
            })
            .backoff(Constant::new(Duration::from_millis(20)))
        );
        assert!(poll_once(retrying.as_mut()).await.is_none());
    }
    assert_eq!(calls.get(), 1);
    anyrt_core::sleep(Duration::from_millis(50)).await;
    assert_eq!(calls.get(), 1);
}

#[anyrt_test::test(virtual_time)]
async fn dropped_during_an_attempt() {
    let calls = Cell::new(0);
    let dropped = Cell::new(0);
    let retrying = retry(|| {
        calls.set(calls.get() + 1);
        let n = calls.get();
        let flag = DropFlag(&dropped);
        async move {
            let _flag = flag;
            if n == 1 {
                return Err(());
            }
            future::pending::<Result<(), ()>>().await
        }
    })
    .backoff(Constant::new(SEC));
    let raced = future::or(async { Some(retrying.await) }, async {
        anyrt_core::sleep(5 * SEC).await;
        None
    })
    .await;
    assert!(raced.is_none());
    assert_eq!(
        (calls.get(), dropped.get()),
        (2, 2),
        "both attempts dropped, no third"
    );
    anyrt_core::sleep(100 * SEC).await;
    assert_eq!(calls.get(), 2);
}

/// What the cancel-at-every-poll tests watch: attempts started, attempt
/// futures alive, and the budget's balance before the call.
struct Watch {
    clock: VirtualClock,
    budget: RefCell<RetryBudget>,
    started: Cell<u32>,
    alive: Cell<u32>,
    balance_before: Cell<u64>,
}

struct Alive<'a>(&'a Cell<u32>);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl Watch {
    fn new() -> Self {
        Watch {
            clock: VirtualClock::new(),
            budget: RefCell::new(RetryBudget::default()),
            started: Cell::new(0),
            alive: Cell::new(0),
            balance_before: Cell::new(0),
        }
    }

    /// Called as a fresh retry is made: a fresh budget that pays one retry
    /// per call and has ten in hand.
    fn reset(&self) -> RetryBudget {
        let budget = RetryBudget::builder()
            .ratio(1.0)
            .min_per_sec(0)
            .build()
            .unwrap();
        for _ in 0..10 {
            budget.deposit();
        }
        self.started.set(0);
        self.balance_before.set(budget.balance());
        *self.budget.borrow_mut() = budget.clone();
        budget
    }

    /// One attempt: 500 ms of work, failing the first three times.
    async fn attempt(&self) -> Result<u32, u32> {
        self.started.set(self.started.get() + 1);
        let n = self.started.get();
        self.alive.set(self.alive.get() + 1);
        let _alive = Alive(&self.alive);
        anyrt_core::sleep(SEC / 2).await;
        if n <= 3 { Err(n) } else { Ok(n) }
    }

    /// After a cancel: nothing registered, no attempt alive, every retry
    /// withdrawn but not started given back, and no attempt starts later.
    fn check(&self, polls: usize) {
        let started = u64::from(self.started.get());
        assert_eq!(
            self.clock.pending_sleepers(),
            0,
            "a sleep is left after poll {polls}"
        );
        assert_eq!(
            self.alive.get(),
            0,
            "an attempt is alive after poll {polls}"
        );
        let expected = match started {
            0 => self.balance_before.get(),
            // This call paid one retry; each attempt after the first used one.
            n => self.balance_before.get() + 1 - (n - 1),
        };
        assert_eq!(
            self.budget.borrow().balance(),
            expected,
            "budget after poll {polls}"
        );
        self.clock.advance(100 * SEC);
        assert_eq!(
            u64::from(self.started.get()),
            started,
            "an attempt started after poll {polls}"
        );
    }
}

#[anyrt_test::test]
async fn retry_dropped_at_every_poll_loses_nothing() {
    let watch = Watch::new();
    let checked = cancel_at_every_poll(
        || {
            let budget = watch.reset();
            let retrying = retry(|| watch.attempt())
                .backoff(Constant::new(SEC).jitter(Jitter::None))
                .max_attempts(10)
                .budget(budget);
            watch.clock.auto_advance(retrying)
        },
        |polls| watch.check(polls),
    )
    .await;
    // Four attempts and three sleeps, each at least one pending poll.
    assert!(checked >= 7, "only {checked} cancel points");
    assert_eq!(watch.started.get(), 4);
}

#[anyrt_test::test]
async fn retry_with_dropped_at_every_poll_loses_nothing() {
    let watch = Watch::new();
    let log = RefCell::new(Vec::new());
    let checked = cancel_at_every_poll(
        || {
            let budget = watch.reset();
            watch.clock.auto_advance(async {
                let mut seen = Vec::new();
                let out = retry_with(&mut seen, async |seen: &mut Vec<u32>| {
                    let out = watch.attempt().await;
                    seen.push(watch.started.get());
                    out
                })
                .backoff(Constant::new(SEC).jitter(Jitter::None))
                .max_attempts(10)
                .budget(budget)
                .await;
                *log.borrow_mut() = seen;
                out
            })
        },
        |polls| watch.check(polls),
    )
    .await;
    assert!(checked >= 7, "only {checked} cancel points");
    assert_eq!(*log.borrow(), [1, 2, 3, 4]);
}

/// An attempt that counts the attempts alive (made and not yet dropped)
/// and records, at each poll, how many there were.
struct Counted<'a> {
    alive: &'a Cell<u32>,
    seen: &'a RefCell<Vec<u32>>,
}

impl<'a> Counted<'a> {
    fn new(alive: &'a Cell<u32>, seen: &'a RefCell<Vec<u32>>) -> Self {
        alive.set(alive.get() + 1);
        Counted { alive, seen }
    }
}

impl std::future::Future for Counted<'_> {
    type Output = Result<(), ()>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.seen.borrow_mut().push(self.alive.get());
        std::task::Poll::Ready(Err(()))
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.alive.set(self.alive.get() - 1);
    }
}

#[anyrt_test::test]
async fn a_finished_attempt_is_dropped_before_the_next_is_polled() {
    let (alive, seen) = (Cell::new(0), RefCell::new(Vec::new()));
    let err = retry(|| Counted::new(&alive, &seen))
        .backoff(Constant::new(Duration::ZERO))
        .max_attempts(200)
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 200);
    // Runs of zero-delay attempts, and the yields between them.
    assert_eq!(*seen.borrow(), vec![1; 200], "attempts alive at each poll");
    assert_eq!(alive.get(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_finished_attempt_is_dropped_before_the_sleep() {
    let (alive, seen) = (Cell::new(0), RefCell::new(Vec::new()));
    let retrying = retry(|| Counted::new(&alive, &seen))
        .backoff(Constant::new(10 * SEC).jitter(Jitter::None))
        .max_attempts(3);
    // At 5 s the retry sleeps between its first and second attempt.
    let during_sleep = Cell::new(None);
    let raced = future::or(async { Some(retrying.await) }, async {
        anyrt_core::sleep(5 * SEC).await;
        during_sleep.set(Some(alive.get()));
        None
    })
    .await;
    assert!(raced.is_none());
    assert_eq!(*seen.borrow(), [1]);
    assert_eq!(
        during_sleep.get(),
        Some(0),
        "attempts alive during the sleep"
    );
}

#[anyrt_test::test]
async fn hooks_and_the_next_call_never_see_the_finished_attempt() {
    let (alive, seen) = (Cell::new(0), RefCell::new(Vec::new()));
    let (at_call, at_when, at_notify) = (
        RefCell::new(Vec::new()),
        RefCell::new(Vec::new()),
        RefCell::new(Vec::new()),
    );
    let err = retry(|| {
        at_call.borrow_mut().push(alive.get());
        Counted::new(&alive, &seen)
    })
    .backoff(Constant::new(Duration::ZERO))
    .max_attempts(4)
    .when(|_: &()| {
        at_when.borrow_mut().push(alive.get());
        true
    })
    .notify(|_: &(), _, _| at_notify.borrow_mut().push(alive.get()))
    .await
    .unwrap_err();
    assert_eq!(err.attempts(), 4);
    assert_eq!(
        *at_call.borrow(),
        [0; 4],
        "attempts alive when the next is made"
    );
    assert_eq!(*at_when.borrow(), [0; 4], "attempts alive when `when` runs");
    assert_eq!(
        *at_notify.borrow(),
        [0; 3],
        "attempts alive when `notify` runs"
    );
}

/// A budget with room for every retry of these tests, and its balance.
fn roomy_budget() -> RetryBudget {
    let budget = RetryBudget::builder()
        .ratio(1.0)
        .min_per_sec(0)
        .max_balance(1_000)
        .build()
        .unwrap();
    for _ in 0..500 {
        budget.deposit();
    }
    budget
}

#[anyrt_test::test]
async fn dropped_at_a_zero_delay_yield_gives_its_retry_back() {
    let budget = roomy_budget();
    let before = budget.balance();
    let started = Cell::new(0_u64);
    {
        let mut retrying = pin!(
            retry(|| {
                started.set(started.get() + 1);
                async { Err::<(), _>(()) }
            })
            .backoff(Constant::new(Duration::ZERO))
            .max_attempts(1_000)
            .budget(budget.clone())
        );
        // The first poll runs attempts until the retry yields.
        assert!(poll_once(retrying.as_mut()).await.is_none());
    }
    assert!(started.get() > 1 && started.get() < 1_000);
    // One call paid in; each retry that started took one out, and the
    // retry taken for the attempt after the yield came back.
    assert_eq!(budget.balance(), before + 1 - (started.get() - 1));
}

#[anyrt_test::test]
async fn retry_with_dropped_at_a_zero_delay_yield_gives_its_retry_back() {
    let budget = roomy_budget();
    let before = budget.balance();
    let mut started = 0_u64;
    {
        let mut retrying = pin!(
            retry_with(&mut started, async |started: &mut u64| {
                *started += 1;
                Err::<(), _>(())
            })
            .backoff(Constant::new(Duration::ZERO))
            .max_attempts(1_000)
            .budget(budget.clone())
            .into_future()
        );
        assert!(poll_once(retrying.as_mut()).await.is_none());
    }
    assert!(started > 1 && started < 1_000);
    assert_eq!(budget.balance(), before + 1 - (started - 1));
}

/// `Retry::within`, dropped after each of its polls: no attempt starts
/// after the drop, every attempt that started was dropped, no sleep stays
/// registered, and the budget lost exactly the retries that started.
#[anyrt_test::test(virtual_time)]
async fn a_retry_within_a_deadline_dropped_at_every_poll_loses_nothing(clock: VirtualClock) {
    let (made, dropped) = (Cell::new(0_u32), Cell::new(0_u32));
    let budget = RefCell::new(roomy_budget());
    let before = Cell::new(0);
    let checked = cancel_at_every_poll(
        || {
            let fresh = roomy_budget();
            before.set(fresh.balance());
            *budget.borrow_mut() = fresh.clone();
            made.set(0);
            dropped.set(0);
            retry(|| {
                made.set(made.get() + 1);
                let flag = DropFlag(&dropped);
                async move {
                    let _flag = flag;
                    anyrt_core::sleep(SEC).await;
                    Err::<(), _>(std::io::Error::other("down"))
                }
            })
            .backoff(Constant::new(SEC).jitter(Jitter::None))
            .max_attempts(4)
            .budget(fresh)
            .within(60 * SEC)
        },
        |polls| {
            let (made, dropped) = (made.get(), dropped.get());
            assert_eq!(
                made, dropped,
                "an attempt outlived the drop at poll {polls}"
            );
            assert_eq!(clock.pending_sleepers(), 0, "a sleep outlived poll {polls}");
            // One deposit by the call; one retry out per attempt after the first.
            let spent = u64::from(made.saturating_sub(1));
            assert_eq!(
                budget.borrow().balance(),
                before.get() + u64::from(made > 0) - spent,
                "budget after poll {polls}"
            );
        },
    )
    .await;
    assert!(checked >= 7, "only {checked} cancel points");
}

/// `retry_with(..).within(..)`, dropped after each of its polls: the
/// attempts that started were all dropped, no sleep stays registered, and
/// the budget lost exactly the retries that started.
#[anyrt_test::test(virtual_time)]
async fn retry_with_within_a_deadline_dropped_at_every_poll_loses_nothing(clock: VirtualClock) {
    let (made, dropped) = (Cell::new(0_u32), Cell::new(0_u32));
    let budget = RefCell::new(roomy_budget());
    let before = Cell::new(0);
    let checked = cancel_at_every_poll(
        || {
            let fresh = roomy_budget();
            before.set(fresh.balance());
            *budget.borrow_mut() = fresh.clone();
            made.set(0);
            dropped.set(0);
            let (made, dropped) = (&made, &dropped);
            async move {
                let mut attempts = 0_u32;
                retry_with(&mut attempts, async move |attempts: &mut u32| {
                    *attempts += 1;
                    made.set(made.get() + 1);
                    let _flag = DropFlag(dropped);
                    anyrt_core::sleep(SEC).await;
                    Err::<(), _>(std::io::Error::other("down"))
                })
                .backoff(Constant::new(SEC).jitter(Jitter::None))
                .max_attempts(4)
                .budget(fresh)
                .within(60 * SEC)
                .await
            }
        },
        |polls| {
            let (made, dropped) = (made.get(), dropped.get());
            assert_eq!(
                made, dropped,
                "an attempt outlived the drop at poll {polls}"
            );
            assert_eq!(clock.pending_sleepers(), 0, "a sleep outlived poll {polls}");
            let spent = u64::from(made.saturating_sub(1));
            assert_eq!(
                budget.borrow().balance(),
                before.get() + u64::from(made > 0) - spent,
                "budget after poll {polls}"
            );
        },
    )
    .await;
    assert!(checked >= 7, "only {checked} cancel points");
}
