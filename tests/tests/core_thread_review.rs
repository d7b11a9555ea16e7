//! Cross-thread review of anyrt-core (and the deadlines built on it): the
//! virtual clock advanced, polled, reset and dropped from several threads,
//! auto-advance with tasks on other workers, the runtime adapters' sleeps,
//! `Interval` under a runtime override, the ambient context after panics,
//! and deadlines carried into spawned tasks.
//!
//! Stress loops are bounded by a count of tries and a cap of real time;
//! their assertions hold on every interleaving of correct code.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyrt_core::{MissedTickBehavior, Runtime, Sleep, Spawn, Timer, VirtualClock, with_runtime};
use futures::FutureExt;
use futures_lite::future::poll_once;

const MS: Duration = Duration::from_millis(1);

/// Real time a stress loop may take at most.
const CAP: Duration = Duration::from_millis(1500);

fn noop() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

// ---------------------------------------------------------------------------
// The tokio adapter's sleep.
// ---------------------------------------------------------------------------

/// A sleep whose deadline has come is ready at its first poll (tokio's
/// adapter answers that from its own clock read); it must stay ready at
/// every later poll, as on every other timer, also after a reset to a
/// deadline that has come.
#[anyrt_test::test]
async fn a_sleep_ready_at_its_first_poll_stays_ready() {
    let mut sleep = pin!(anyrt_core::sleep_until(Instant::now()));
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(poll_once(sleep.as_mut()).await.is_some());
    }
    assert_eq!(seen, [true; 3], "a sleep made due: polls 1, 2, 3");

    let mut sleep = pin!(anyrt_core::sleep(Duration::from_secs(3600)));
    assert!(poll_once(sleep.as_mut()).await.is_none());
    sleep.as_mut().reset(Instant::now());
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(poll_once(sleep.as_mut()).await.is_some());
    }
    assert_eq!(seen, [true; 3], "a sleep reset to now: polls 1, 2, 3");
}

/// The same through a `Runtime` value, and through a timeout built on a
/// sleep that is polled again after it fired.
#[anyrt_test::test]
async fn a_runtime_sleep_ready_at_its_first_poll_stays_ready() {
    let mut sleep = pin!(Runtime::current().sleep_until(Instant::now()));
    assert!(poll_once(sleep.as_mut()).await.is_some(), "first poll");
    assert!(poll_once(sleep.as_mut()).await.is_some(), "second poll");
}

/// A tokio sleep keeps its runtime's timer wherever it is polled; on a
/// paused runtime whose clock has not reached the deadline, a first poll
/// from a thread outside the runtime must not complete it (the system
/// clock, which has passed the deadline, is not that timer's clock).
#[test]
fn a_paused_tokio_sleep_polled_off_the_runtime_is_not_early() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let (early, tokio_now, deadline) = runtime.block_on(async {
        let mut sleep = Box::pin(anyrt_core::sleep(MS));
        let deadline = sleep.deadline();
        // The system clock passes the deadline; the paused clock does not
        // move while this thread is blocked here.
        std::thread::sleep(3 * MS);
        let early = std::thread::scope(|scope| {
            scope
                .spawn(|| sleep.as_mut().poll(&mut noop()).is_ready())
                .join()
                .unwrap()
        });
        (early, tokio::time::Instant::now().into_std(), deadline)
    });
    assert!(
        tokio_now < deadline,
        "the runtime's clock stands before the deadline"
    );
    assert!(
        !early,
        "the sleep completed {:?} before its deadline on its own timer",
        deadline - tokio_now
    );
}

// ---------------------------------------------------------------------------
// Interval under a runtime override.
// ---------------------------------------------------------------------------

/// Under `with_runtime(Runtime::Fallback)` inside a paused tokio runtime
/// an hour ahead, an interval sleeps on the fallback's timer (the system
/// clock): it must also read that clock for its schedule, or a late-tick
/// policy puts the next tick an hour away.
#[test]
fn an_interval_under_a_runtime_override_reads_that_runtimes_clock() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    for behavior in [MissedTickBehavior::Delay, MissedTickBehavior::Skip] {
        let second = runtime.block_on(async {
            tokio::time::advance(Duration::from_secs(3600)).await;
            with_runtime(Runtime::Fallback, async {
                let mut every = anyrt_core::interval(10 * MS);
                every.set_missed_tick_behavior(behavior);
                let first = every
                    .tick()
                    .now_or_never()
                    .expect("the first tick is at once");
                // Past the second tick on the system clock, not a period
                // late: the schedule holds.
                std::thread::sleep(15 * MS);
                every.tick().now_or_never().map(|second| second - first)
            })
            .await
        });
        assert_eq!(second, Some(10 * MS), "{behavior:?}: the second tick");
    }
}

/// The same for `Interval::reset`, which schedules a period after "now".
#[test]
fn an_interval_reset_under_a_runtime_override_reads_that_runtimes_clock() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let ready = runtime.block_on(async {
        tokio::time::advance(Duration::from_secs(3600)).await;
        with_runtime(Runtime::Fallback, async {
            let mut every = anyrt_core::interval(Duration::from_secs(3600));
            every
                .tick()
                .now_or_never()
                .expect("the first tick is at once");
            every.set_missed_tick_behavior(MissedTickBehavior::Burst);
            let mut short = anyrt_core::interval(10 * MS);
            short
                .tick()
                .now_or_never()
                .expect("the first tick is at once");
            short.reset();
            std::thread::sleep(15 * MS);
            short.tick().now_or_never().is_some()
        })
        .await
    });
    assert!(ready, "a reset interval's tick, a period later, never came");
}

// ---------------------------------------------------------------------------
// Two auto-advancers of one clock.
// ---------------------------------------------------------------------------

/// With two auto-advancers driving one clock (supported: both are woken
/// when the tasks settle), a task woken by one's jump must run before
/// either jumps again. A jump takes the due sleepers under the clock's lock
/// and wakes them after releasing it; until the task's waker has been
/// called, the other advancer sees every task settled and jumps on. Here a
/// sleeper due at the same instant, registered before the task's, has a
/// waker that takes a few milliseconds (a busy executor's), which widens
/// the window.
#[test]
fn a_task_woken_by_one_auto_advancers_jump_is_not_overtaken_by_the_other() {
    struct Slow;
    impl std::task::Wake for Slow {
        fn wake(self: Arc<Self>) {
            std::thread::sleep(3 * MS);
        }
    }
    let began = Instant::now();
    let mut rounds = 0;
    while rounds < 20 && began.elapsed() < CAP {
        rounds += 1;
        let clock = VirtualClock::new();
        // Due with the task's sleep and before it, and a later target.
        let slow = Waker::from(Arc::new(Slow));
        let mut with_slow = Box::pin(clock.sleep(10 * MS));
        assert!(
            with_slow
                .as_mut()
                .poll(&mut Context::from_waker(&slow))
                .is_pending()
        );
        let mut later = Box::pin(clock.sleep(12 * MS));
        assert!(later.as_mut().poll(&mut noop()).is_pending());
        let (entered, has_entered) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let seen = std::thread::scope(|scope| {
            let b = clock.clone();
            scope.spawn(move || {
                futures::executor::block_on(with_runtime(
                    Runtime::Fallback,
                    b.auto_advance(async move {
                        // Holds the clock until the task below sleeps.
                        anyrt_core::spawn(std::future::poll_fn(move |_| {
                            let _ = entered.send(());
                            let _ = released.recv();
                            Poll::Ready(())
                        }))
                        .detach();
                        anyrt_core::sleep(Duration::from_secs(3600)).await;
                    }),
                ))
            });
            has_entered.recv().expect("the holding task is polled");
            let a = clock.clone();
            let (registered, has_registered) = mpsc::channel::<()>();
            let first = scope.spawn(move || {
                futures::executor::block_on(with_runtime(
                    Runtime::Fallback,
                    a.auto_advance(async move {
                        anyrt_core::spawn(async move {
                            let before = anyrt_core::now();
                            let mut sleep = pin!(anyrt_core::sleep(10 * MS));
                            if poll_once(sleep.as_mut()).await.is_none() {
                                let _ = registered.send(());
                                sleep.await;
                            }
                            anyrt_core::now() - before
                        })
                        .await
                    }),
                ))
            });
            has_registered.recv().expect("the task sleeps");
            release.send(()).expect("the holding task waits");
            first.join().expect("the first auto-advancer")
        });
        drop((with_slow, later));
        assert_eq!(
            seen,
            10 * MS,
            "round {rounds}: the task's 10 ms sleep ended late: the clock jumped past it"
        );
    }
}

// ---------------------------------------------------------------------------
// The virtual clock from several threads (these held).
// ---------------------------------------------------------------------------

/// Sleeps polled, reset and dropped on several threads while another
/// thread advances the clock: none completes before its deadline, every
/// one that is due is woken or ready, and none is left registered.
#[test]
fn sleeps_polled_reset_and_dropped_while_another_thread_advances() {
    let began = Instant::now();
    let mut round = 0;
    while round < 100 && began.elapsed() < CAP {
        round += 1;
        let clock = VirtualClock::new();
        let start = clock.now();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let advancing = &clock;
            let stop_ref = &stop;
            scope.spawn(move || {
                // Until the workers are done (bounded in real time too).
                let spin = Instant::now();
                while !stop_ref.load(Ordering::SeqCst) && spin.elapsed() < CAP {
                    advancing.advance(MS);
                    std::thread::yield_now();
                }
                // Whatever happens, every deadline the workers wait for comes.
                advancing.advance(Duration::from_secs(3600));
            });
            let mut workers = Vec::new();
            for worker in 0..3u64 {
                let clock = clock.clone();
                workers.push(scope.spawn(move || {
                    let (waker, _woken) = anyrt_tests::wakers::counting();
                    let cx = &mut Context::from_waker(&waker);
                    for step in 0..40u64 {
                        let ms = 1 + (worker * 7 + step) % 9;
                        let mut sleep = Box::pin(clock.sleep(MS * ms as u32));
                        let deadline = sleep.deadline();
                        let ready = sleep.as_mut().poll(cx).is_ready();
                        assert!(!ready || clock.now() >= deadline, "ready early");
                        match step % 3 {
                            0 => {
                                sleep.as_mut().reset(deadline + MS);
                                let ready = sleep.as_mut().poll(cx).is_ready();
                                assert!(
                                    !ready || clock.now() >= deadline + MS,
                                    "ready early after a reset"
                                );
                            }
                            1 => drop(sleep),
                            _ => {
                                // Wait for the deadline on the clock.
                                while clock.now() < deadline {
                                    std::thread::yield_now();
                                }
                                let ready = sleep.as_mut().poll(cx).is_ready();
                                assert!(ready, "due, yet pending");
                            }
                        }
                    }
                }));
            }
            for worker in workers {
                worker.join().expect("a worker");
            }
            stop.store(true, Ordering::SeqCst);
        });
        assert_eq!(clock.pending_sleepers(), 0, "round {round}: sleepers left");
        assert!(clock.now() >= start);
    }
}

/// A sleep pending on one thread while another advances past it is woken
/// (never lost), and the clock agrees that it is due when it is.
#[test]
fn a_sleep_registered_while_another_thread_advances_is_never_lost() {
    let began = Instant::now();
    let mut round = 0;
    while round < 2000 && began.elapsed() < CAP {
        round += 1;
        let clock = VirtualClock::new();
        let (waker, woken) = anyrt_tests::wakers::counting();
        let mut sleep = Box::pin(clock.sleep(MS));
        std::thread::scope(|scope| {
            let advancing = clock.clone();
            let handle = scope.spawn(move || advancing.advance(MS));
            let ready = sleep
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready();
            handle.join().unwrap();
            assert!(
                ready || woken.0.load(Ordering::SeqCst) == 1,
                "round {round}: a pending sleep past its deadline was never woken"
            );
        });
        assert!(sleep.as_mut().poll(&mut noop()).is_ready());
        assert_eq!(clock.pending_sleepers(), 0);
    }
}

/// Resets racing an advance: the sleep is woken or ready once its new
/// deadline has come, and it never completes before it.
#[test]
fn resets_racing_an_advance_never_lose_or_hasten_a_wake() {
    let began = Instant::now();
    let mut round = 0;
    while round < 2000 && began.elapsed() < CAP {
        round += 1;
        let clock = VirtualClock::new();
        let start = clock.now();
        let (waker, woken) = anyrt_tests::wakers::counting();
        let cx = &mut Context::from_waker(&waker);
        let mut sleep = Box::pin(clock.sleep(Duration::from_secs(10)));
        assert!(sleep.as_mut().poll(cx).is_pending());
        std::thread::scope(|scope| {
            let advancing = clock.clone();
            let handle = scope.spawn(move || advancing.advance(2 * MS));
            sleep.as_mut().reset(start + 2 * MS);
            handle.join().unwrap();
        });
        assert_eq!(clock.now(), start + 2 * MS);
        let ready = sleep.as_mut().poll(cx).is_ready();
        assert!(
            ready,
            "round {round}: due after a reset, yet pending (woken {})",
            woken.0.load(Ordering::SeqCst)
        );
        assert_eq!(clock.pending_sleepers(), 0);
    }
}

// ---------------------------------------------------------------------------
// Auto-advance with tasks on other workers (these held).
// ---------------------------------------------------------------------------

/// Tasks woken from plain threads the clock does not see, tasks that panic,
/// tasks dropped unpolled, detached and nested: every sleep of a tracked
/// task lasts exactly what it asked.
#[anyrt_test::test(virtual_time, timeout = 30)]
async fn auto_advance_is_exact_beside_panics_drops_detaches_and_foreign_wakes(clock: VirtualClock) {
    let start = clock.now();
    let mut tasks = Vec::new();
    for task in 0..24u64 {
        tasks.push(anyrt_core::spawn(async move {
            for step in 0..6u64 {
                let asked = MS * (1 + (task + step) % 5) as u32;
                let before = anyrt_core::now();
                anyrt_core::sleep(asked).await;
                assert_eq!(anyrt_core::now() - before, asked, "task {task} step {step}");
                match (task + step) % 5 {
                    0 => {
                        let panicking = anyrt_core::spawn(async {
                            anyrt_core::sleep(MS).await;
                            panic!("provoked");
                        });
                        let caught = std::panic::AssertUnwindSafe(panicking).catch_unwind().await;
                        assert!(caught.is_err());
                    }
                    1 => drop(anyrt_core::spawn(anyrt_core::sleep(MS))),
                    2 => anyrt_core::spawn(anyrt_core::sleep(2 * MS)).detach(),
                    3 => {
                        // Woken by a thread the clock does not see, after
                        // its work is done.
                        let (tx, rx) = futures::channel::oneshot::channel();
                        std::thread::spawn(move || {
                            let _ = tx.send(7u8);
                        });
                        assert_eq!(rx.await, Ok(7));
                    }
                    _ => {
                        let before = anyrt_core::now();
                        let nested = anyrt_core::spawn(async {
                            anyrt_core::spawn(async {
                                anyrt_core::sleep(3 * MS).await;
                                anyrt_core::now()
                            })
                            .await
                        });
                        assert_eq!(nested.await - before, 3 * MS);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await;
    }
    assert!(clock.now() > start);
}

/// Handles dropped while their tasks complete on other workers: the clock
/// neither stops (a count left behind) nor overtakes the next sleep.
#[anyrt_test::test(virtual_time, timeout = 30)]
async fn handles_dropped_while_their_tasks_complete_keep_the_clock_exact(clock: VirtualClock) {
    for round in 0..200u64 {
        let task = anyrt_core::spawn(async move { round * 2 });
        if round % 2 == 0 {
            anyrt_core::yield_now().await;
        }
        drop(task);
        let before = clock.now();
        anyrt_core::sleep(MS).await;
        assert_eq!(clock.now() - before, MS, "round {round}");
    }
}

// ---------------------------------------------------------------------------
// The fallback timer (held).
// ---------------------------------------------------------------------------

/// Fallback sleeps registered, reset and dropped from many threads while
/// the timer thread fires: none is early, all that are awaited end, and
/// none is left registered by this test.
#[test]
fn fallback_sleeps_from_many_threads_are_never_early_and_leave_nothing() {
    std::thread::scope(|scope| {
        for thread in 0..8u64 {
            scope.spawn(move || {
                futures::executor::block_on(with_runtime(Runtime::Fallback, async move {
                    for step in 0..30u64 {
                        let wait = Duration::from_micros(100 + (thread * 37 + step * 11) % 400);
                        let deadline = Instant::now() + wait;
                        let mut sleep = pin!(anyrt_core::sleep_until(deadline));
                        let _ = poll_once(sleep.as_mut()).await;
                        match step % 3 {
                            0 => {
                                sleep.as_mut().reset(deadline + Duration::from_micros(50));
                                sleep.as_mut().await;
                                assert!(Instant::now() >= deadline + Duration::from_micros(50));
                            }
                            1 => {}
                            _ => {
                                sleep.as_mut().await;
                                assert!(Instant::now() >= deadline, "early");
                            }
                        }
                    }
                }));
            });
        }
    });
}

// ---------------------------------------------------------------------------
// The ambient context and deadlines across tasks and threads (held).
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Tag(u32);

/// Tasks that panic inside a poll under a value share the workers with
/// tasks that have none: no value leaks into a later poll of another task.
#[anyrt_test::test]
async fn a_panicking_poll_leaks_no_context_to_tasks_sharing_the_worker() {
    let mut tasks = Vec::new();
    for round in 0..40u32 {
        // The task is spawned under the value; its handle is the output.
        #[allow(clippy::async_yields_async)]
        let panicking = anyrt_core::with_value(Tag(round), async {
            anyrt_core::spawn(async {
                anyrt_core::yield_now().await;
                panic!("provoked");
            })
        })
        .await;
        let plain = anyrt_core::Ambient::default().spawn(async {
            let mut seen = Vec::new();
            for _ in 0..3 {
                seen.push(anyrt_core::value::<Tag>());
                anyrt_core::yield_now().await;
            }
            seen
        });
        tasks.push((panicking, plain));
    }
    for (panicking, plain) in tasks {
        assert!(
            std::panic::AssertUnwindSafe(panicking)
                .catch_unwind()
                .await
                .is_err()
        );
        assert_eq!(plain.await, [None, None, None]);
    }
    assert_eq!(anyrt_core::value::<Tag>(), None);
}

/// A deadline reaches tasks spawned under it and their own children,
/// nested deadlines take the earlier, and a task left running past the
/// deadline sees it expired.
#[anyrt_test::test(virtual_time)]
async fn deadlines_reach_nested_spawned_tasks(clock: VirtualClock) {
    let start = clock.now();
    let outcome = anyrt_deadline::within(Duration::from_secs(10), async move {
        let child = anyrt_core::spawn(async move {
            let own = anyrt_deadline::current().map(|d| d.instant() - start);
            let grandchild = anyrt_core::spawn(anyrt_deadline::within(
                Duration::from_secs(60),
                async move { anyrt_deadline::current().map(|d| d.instant() - start) },
            ))
            .await;
            let shorter = anyrt_deadline::within(Duration::from_secs(3), async move {
                anyrt_deadline::current().map(|d| d.instant() - start)
            })
            .await;
            (own, grandchild, shorter)
        })
        .await;
        let slow = anyrt_core::spawn(async move {
            anyrt_core::sleep(Duration::from_secs(20)).await;
            anyrt_deadline::remaining()
        });
        slow.detach();
        let ten = Duration::from_secs(10);
        assert_eq!(
            child,
            (Some(ten), Ok(Some(ten)), Ok(Some(Duration::from_secs(3))))
        );
        anyrt_core::sleep(Duration::from_secs(30)).await;
    })
    .await;
    assert!(
        outcome.is_err(),
        "the 30 s sleep ran past the 10 s deadline"
    );
    assert_eq!(clock.now() - start, Duration::from_secs(10));
    let check = anyrt_deadline::within(Duration::from_secs(10), async move {
        anyrt_core::spawn(async move {
            let own = anyrt_deadline::current().map(|d| d.instant() - start);
            let grandchild = anyrt_core::spawn(anyrt_deadline::within(
                Duration::from_secs(60),
                async move { anyrt_deadline::current().map(|d| d.instant() - start) },
            ))
            .await;
            (own, grandchild)
        })
        .await
    })
    .await
    .expect("in time");
    let ten = Duration::from_secs(10);
    assert_eq!(check, (Some(2 * ten), Ok(Some(2 * ten))));
}

/// `Ambient::capture` on one thread, `attach` and `spawn` on others: the
/// deadline and the clock go with it.
#[test]
fn a_captured_context_carries_the_deadline_and_clock_to_other_threads() {
    let clock = VirtualClock::new();
    let start = clock.now();
    let captured = futures::executor::block_on(anyrt_core::with_timer(
        clock.clone(),
        anyrt_deadline::within(Duration::from_secs(5), async {
            anyrt_core::Ambient::capture()
        }),
    ))
    .expect("in time");
    let seen: Vec<_> = std::thread::scope(|scope| {
        (0..4)
            .map(|_| {
                let captured = captured.clone();
                scope.spawn(move || {
                    futures::executor::block_on(captured.attach(async move {
                        (anyrt_deadline::remaining(), anyrt_core::now() - start)
                    }))
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    for seen in seen {
        assert_eq!(seen, (Some(Duration::from_secs(5)), Duration::ZERO));
    }
    let task = futures::executor::block_on(async {
        captured
            .spawn(async move { anyrt_deadline::remaining() })
            .await
    });
    assert_eq!(task, Some(Duration::from_secs(5)));
}

// ---------------------------------------------------------------------------
// Tasks on the fallback pool across threads (held).
// ---------------------------------------------------------------------------

/// Handles awaited after their task panicked, and handles dropped while
/// the task completes on a worker: each output is dropped once, each panic
/// reaches its awaiter, and a resumed panic leaves the handle finished.
#[test]
fn fallback_handles_dropped_or_awaited_while_tasks_end_on_workers() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut made = 0;
    while made < 2000 && began.elapsed() < CAP {
        made += 1;
        let output = Counted(drops.clone());
        let task = Runtime::Fallback.spawn(async move { output });
        if made % 3 == 0 {
            std::thread::yield_now();
        }
        drop(task);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while drops.load(Ordering::SeqCst) < made && Instant::now() < deadline {
        std::thread::sleep(MS);
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        made,
        "each output dropped once"
    );

    let panicked = Runtime::Fallback.spawn(async { panic!("provoked") });
    let caught = futures::executor::block_on(std::panic::AssertUnwindSafe(panicked).catch_unwind());
    assert!(caught.is_err());
}
