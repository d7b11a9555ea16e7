//! Conformance: the virtual clock moves only when told, wakes sleepers in
//! (deadline, registration) order and auto-advances exactly.

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use anyrt_core::{Sleep, Spawn, Timer, VirtualClock};
use futures_lite::future::poll_once;

/// A waker that logs its id when woken.
struct Logger {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Logger {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push(self.id);
    }
}

#[anyrt_test::test]
async fn sleepers_wake_in_deadline_then_registration_order() {
    let clock = VirtualClock::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let start = clock.now();
    // (id, deadline in ms): registered in this order.
    let plan = [(0, 30), (1, 10), (2, 20), (3, 10), (4, 30), (5, 20)];
    let mut sleeps: Vec<_> = plan
        .iter()
        .map(|&(id, ms)| {
            let mut sleep = Box::pin(clock.sleep_until(start + Duration::from_millis(ms)));
            let waker = Waker::from(Arc::new(Logger {
                id,
                log: log.clone(),
            }));
            assert!(
                sleep
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
            sleep
        })
        .collect();
    assert_eq!(clock.pending_sleepers(), 6);
    clock.advance(Duration::from_millis(30));
    assert_eq!(*log.lock().unwrap(), vec![1, 3, 2, 5, 0, 4]);
    for sleep in &mut sleeps {
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_ready()
        );
    }
    assert_eq!(clock.pending_sleepers(), 0);
}

use std::future::Future;

#[anyrt_test::test]
async fn time_stands_still_until_advanced() {
    let clock = VirtualClock::new();
    let start = clock.now();
    let mut sleep = pin!(clock.sleep(Duration::from_secs(5)));
    assert!(poll_once(sleep.as_mut()).await.is_none());
    clock.advance(Duration::from_millis(4999));
    assert!(
        poll_once(sleep.as_mut()).await.is_none(),
        "one millisecond early"
    );
    clock.advance(Duration::from_millis(1));
    assert!(poll_once(sleep.as_mut()).await.is_some());
    assert_eq!(clock.now() - start, Duration::from_secs(5));
}

#[anyrt_test::test]
async fn time_never_goes_back() {
    let clock = VirtualClock::new();
    let start = clock.now();
    clock.advance(Duration::from_secs(2));
    clock.advance_to(start);
    assert_eq!(clock.now() - start, Duration::from_secs(2));
}

#[anyrt_test::test]
async fn dropped_and_reset_sleeps_leave_no_sleeper() {
    let clock = VirtualClock::new();
    {
        let mut sleep = pin!(clock.sleep(Duration::from_secs(1)));
        assert!(poll_once(sleep.as_mut()).await.is_none());
        assert_eq!(clock.pending_sleepers(), 1);
        sleep.as_mut().reset(clock.now() + Duration::from_secs(9));
        assert_eq!(clock.pending_sleepers(), 1);
        clock.advance(Duration::from_secs(1));
        assert!(
            poll_once(sleep.as_mut()).await.is_none(),
            "the reset moved the deadline"
        );
    }
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test]
async fn huge_advances_and_sleeps_saturate() {
    let clock = VirtualClock::new();
    let mut sleep = pin!(clock.sleep(Duration::MAX));
    assert!(poll_once(sleep.as_mut()).await.is_none());
    clock.advance(Duration::MAX);
    assert!(poll_once(sleep.as_mut()).await.is_some());
    clock.advance(Duration::MAX);
}

#[anyrt_test::test(virtual_time)]
async fn auto_advance_jumps_to_each_deadline_exactly(clock: VirtualClock) {
    let start = clock.now();
    let mut seen = Vec::new();
    for secs in [1u64, 10, 100, 3600] {
        anyrt_core::sleep(Duration::from_secs(secs)).await;
        seen.push((anyrt_core::now() - start).as_secs());
    }
    assert_eq!(seen, vec![1, 11, 111, 3711]);
}

#[anyrt_test::test(virtual_time)]
async fn auto_advance_serves_concurrent_sleepers_in_order(clock: VirtualClock) {
    let start = clock.now();
    let order = Arc::new(Mutex::new(Vec::new()));
    let sleeper = |ms: u64| {
        let order = order.clone();
        async move {
            anyrt_core::sleep(Duration::from_millis(ms)).await;
            order.lock().unwrap().push(ms);
        }
    };
    futures::join!(sleeper(30), sleeper(10), sleeper(20));
    assert_eq!(*order.lock().unwrap(), vec![10, 20, 30]);
    assert_eq!(clock.now() - start, Duration::from_millis(30));
}

#[anyrt_test::test(virtual_time)]
async fn auto_advance_drives_spawned_sleepers(clock: VirtualClock) {
    let start = clock.now();
    let task = anyrt_core::spawn(async {
        anyrt_core::sleep(Duration::from_secs(60)).await;
        anyrt_core::now()
    });
    assert_eq!(task.await - start, Duration::from_secs(60));
}

#[test]
fn virtual_clock_is_the_ambient_one_under_auto_advance() {
    let clock = VirtualClock::new();
    let found = futures::executor::block_on(clock.auto_advance(async { VirtualClock::current() }));
    assert!(found.is_some());
    assert!(VirtualClock::current().is_none());
}

/// Regression: a jump must wait until tasks woken by the previous jump (on
/// any thread) have run, or they see a later time than their deadline.
#[anyrt_test::test(virtual_time)]
async fn auto_advance_waits_for_tasks_woken_by_the_last_jump(clock: VirtualClock) {
    let start = clock.now();
    let tasks: Vec<_> = (0..8u64)
        .map(|offset| {
            anyrt_core::spawn(async move {
                let mut seen = Vec::new();
                for step in 1..=5u64 {
                    anyrt_core::sleep(Duration::from_millis(100 + offset)).await;
                    seen.push((anyrt_core::now() - start, step));
                }
                (offset, seen)
            })
        })
        .collect();
    for task in tasks {
        let (offset, seen) = task.await;
        for (elapsed, step) in seen {
            assert_eq!(
                elapsed,
                Duration::from_millis((100 + offset) * step),
                "task {offset} step {step}"
            );
        }
    }
}

/// Regression: a task whose sleep has fired may be descheduled (here: it
/// blocks its thread on purpose) before it makes its next sleep, within
/// the same poll. The clock must not jump meanwhile, or the next sleep is
/// measured from a later time than the one the task woke at.
#[anyrt_test::test(virtual_time)]
async fn auto_advance_never_jumps_while_a_task_is_inside_a_poll(clock: VirtualClock) {
    let start = clock.now();
    let task = anyrt_core::spawn(async move {
        anyrt_core::sleep(Duration::from_millis(10)).await;
        // Stands in for preemption between two awaits of one poll.
        std::thread::sleep(Duration::from_millis(5));
        anyrt_core::sleep(Duration::from_millis(10)).await;
        anyrt_core::now() - start
    });
    // Another sleeper due in between, so a premature jump has a target.
    anyrt_core::sleep(Duration::from_millis(15)).await;
    assert_eq!(task.await, Duration::from_millis(20));
}

/// Occupies the runtime's workers (or its one thread) for `busy` with
/// tasks that the clock does not see: spawned with an empty context, so
/// through the runtime's own spawner.
async fn occupy_workers(busy: Duration) -> Vec<anyrt_core::Task<()>> {
    let runtime = anyrt_core::Runtime::current();
    anyrt_core::Ambient::default()
        .attach(async move {
            (0..4)
                .map(|_| runtime.spawn(async move { std::thread::sleep(busy) }))
                .collect()
        })
        .await
}

/// Regression (a 20 ms real-time stall bound let the clock jump past tasks
/// not yet polled): with every worker busy for 100 ms, a task spawned under
/// the clock that sleeps 1 s and then signals is never overtaken by a 2 s
/// timeout.
#[anyrt_test::test(virtual_time)]
async fn regression_auto_advance_waits_for_a_task_not_yet_polled(clock: VirtualClock) {
    let start = clock.now();
    let busy = occupy_workers(Duration::from_millis(100)).await;
    let (signal, signalled) = futures::channel::oneshot::channel();
    let task = anyrt_core::spawn(async move {
        anyrt_core::sleep(Duration::from_secs(1)).await;
        let _ = signal.send(anyrt_core::now());
    });
    let seen = anyrt_deadline::timeout(Duration::from_secs(2), signalled).await;
    let at = seen
        .expect("the timeout overtook the task")
        .expect("the task signals");
    assert_eq!(at - start, Duration::from_secs(1));
    task.await;
    for task in busy {
        task.await;
    }
}

/// Regression: the same, for a task woken by a jump but not yet polled
/// when the workers are busy.
#[anyrt_test::test(virtual_time)]
async fn regression_auto_advance_waits_for_a_woken_task_not_yet_polled(clock: VirtualClock) {
    let start = clock.now();
    let (signal, signalled) = futures::channel::oneshot::channel();
    let task = anyrt_core::spawn(async move {
        anyrt_core::sleep(Duration::from_secs(1)).await;
        // The workers are busy when the jump wakes the next sleep.
        anyrt_core::sleep(Duration::from_secs(1)).await;
        let _ = signal.send(anyrt_core::now());
    });
    anyrt_core::sleep(Duration::from_millis(500)).await;
    let busy = occupy_workers(Duration::from_millis(100)).await;
    let seen = anyrt_deadline::timeout(Duration::from_secs(3), signalled).await;
    let at = seen
        .expect("the timeout overtook the task")
        .expect("the task signals");
    assert_eq!(at - start, Duration::from_secs(2));
    task.await;
    for task in busy {
        task.await;
    }
}

/// Regression: a task's output reaches its handle after the task's last
/// poll; the clock must not jump in between.
#[anyrt_test::test(virtual_time)]
async fn regression_auto_advance_waits_for_a_finished_task_to_be_joined(clock: VirtualClock) {
    let start = clock.now();
    for round in 1..=50u64 {
        let task = anyrt_core::spawn(async move {
            anyrt_core::sleep(Duration::from_secs(1)).await;
            round
        });
        let joined =
            anyrt_deadline::timeout(Duration::from_secs(1) + Duration::from_nanos(1), task).await;
        assert_eq!(joined, Ok(round), "round {round}");
    }
    assert!(clock.now() - start >= Duration::from_secs(50));
}

/// Regression: a waker of a task that has finished, woken later (by a
/// primitive that keeps the last waker it was given, as the `Waker`
/// contract allows), counted the task as runnable for ever, and the clock
/// never moved again.
#[anyrt_test::test(virtual_time, timeout = 20)]
async fn regression_a_stale_wake_of_a_finished_task_does_not_stop_the_clock(clock: VirtualClock) {
    let start = clock.now();
    let kept = Arc::new(Mutex::new(None::<Waker>));
    let keep = kept.clone();
    let (gone, dropped) = futures::channel::oneshot::channel::<()>();
    let task = anyrt_core::spawn(futures::future::poll_fn(move |cx| {
        let _gone = &gone;
        *keep.lock().unwrap() = Some(cx.waker().clone());
        std::task::Poll::Ready(())
    }));
    task.await;
    // The task's future is gone (its sender with it), then its waker fires.
    let _ = dropped.await;
    let waker = kept
        .lock()
        .unwrap()
        .take()
        .expect("the task kept its waker");
    waker.wake();
    anyrt_core::sleep(Duration::from_secs(1)).await;
    assert_eq!(clock.now() - start, Duration::from_secs(1));
}

/// Regression: the clock jumped while a task whose handle was aborted (or
/// dropped) was still to be dropped by its runtime, so work done by that
/// drop (a guard released, a channel closed) was seen late.
#[anyrt_test::test(virtual_time)]
async fn regression_auto_advance_waits_for_an_aborted_task_to_be_dropped(clock: VirtualClock) {
    let start = clock.now();
    for round in 0..20 {
        let (started, running) = futures::channel::oneshot::channel::<()>();
        let (gone, dropped) = futures::channel::oneshot::channel::<()>();
        let mut task = anyrt_core::spawn(async move {
            let _gone = gone;
            let _ = started.send(());
            anyrt_core::sleep(Duration::from_secs(3600)).await;
        });
        running.await.expect("the task starts");
        if round % 2 == 0 {
            task.abort();
        } else {
            drop(task);
        }
        let seen = anyrt_deadline::timeout(Duration::from_secs(1), dropped).await;
        assert!(
            seen.is_ok(),
            "round {round}: the clock jumped past a task being cancelled"
        );
        assert_eq!(clock.now(), start, "round {round}");
    }
}

/// Regression: a poll was taken for a panic whenever the thread was
/// unwinding, so a task polled from a destructor during a panic (here a
/// drop guard that finishes work on a tokio runtime) counted as finished
/// at its first `Pending`, and the clock waited for ever for its output
/// to be taken. The real-time bound only turns that hang into a failure.
#[test]
fn regression_a_task_polled_during_an_unwind_is_not_taken_for_finished() {
    struct FinishOnDrop(std::sync::mpsc::Sender<Duration>);

    impl Drop for FinishOnDrop {
        fn drop(&mut self) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let clock = VirtualClock::new();
            let elapsed = runtime.block_on(clock.auto_advance(async {
                let start = anyrt_core::now();
                let task = anyrt_core::spawn(async move {
                    anyrt_core::sleep(Duration::from_secs(1)).await;
                    anyrt_core::now() - start
                });
                task.await
            }));
            let _ = self.0.send(elapsed);
        }
    }

    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::panic::catch_unwind(move || {
            let _guard = FinishOnDrop(sender);
            panic!("unwinding while the guard runs its work");
        });
    });
    let elapsed = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("the clock stood still: the task was taken for finished");
    assert_eq!(elapsed, Duration::from_secs(1));
}

/// Regression: a task that finished counted as "unjoined" until its
/// handle took the output, even with nobody awaiting the handle, so tasks
/// joined in spawn order (one finishing before the one awaited) stopped
/// the clock for ever. Only a handle being awaited holds the clock, until
/// the runtime hands the output over.
#[anyrt_test::test(virtual_time, timeout = 20)]
async fn regression_a_finished_task_nobody_awaits_yet_does_not_stop_the_clock(clock: VirtualClock) {
    let start = clock.now();
    let tasks: Vec<_> = [3u64, 1, 2]
        .into_iter()
        .map(|secs| {
            anyrt_core::spawn(async move {
                anyrt_core::sleep(Duration::from_secs(secs)).await;
                anyrt_core::now() - start
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.as_secs());
    }
    assert_eq!(seen, [3, 1, 2]);
}

/// Regression: the clock kept one waiting auto-advancer, so with two
/// driving it (on two threads), the second to wait replaced the first,
/// and when the tasks settled only the second was woken: here it had
/// finished, and the first waited for ever. The real-time bound only
/// turns that hang into a failure; the pauses only make the order likely.
#[test]
fn regression_two_auto_advancers_of_one_clock_are_both_woken() {
    use anyrt_core::{Runtime, with_runtime};
    use std::sync::mpsc;
    use std::thread::{sleep, spawn};

    let clock = VirtualClock::new();
    let (entered, has_entered) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let (done, first_done) = mpsc::channel::<Duration>();
    let first = clock.clone();
    spawn(move || {
        let start = first.now();
        futures::executor::block_on(with_runtime(
            Runtime::Fallback,
            first.auto_advance(async move {
                // A task the clock sees, inside a poll until released.
                anyrt_core::spawn(std::future::poll_fn(move |_| {
                    let _ = entered.send(());
                    let _ = released.recv();
                    std::task::Poll::Ready(())
                }))
                .detach();
                anyrt_core::sleep(Duration::from_secs(1)).await;
            }),
        ));
        let _ = done.send(first.now() - start);
    });
    has_entered.recv().expect("the task is polled");
    sleep(Duration::from_millis(100));
    let (open, gate) = futures::channel::oneshot::channel::<()>();
    let second = clock.clone();
    let waiting = spawn(move || futures::executor::block_on(second.auto_advance(gate)));
    sleep(Duration::from_millis(100));
    open.send(()).expect("the second auto-advancer waits");
    waiting
        .join()
        .expect("the second auto-advancer")
        .expect("opened");
    release.send(()).expect("the task waits to be released");
    let elapsed = first_done
        .recv_timeout(Duration::from_secs(30))
        .expect("the first auto-advancer was never woken");
    assert_eq!(elapsed, Duration::from_secs(1));
}

/// Many tasks, each sleeping, yielding and spawning a sleeper of its own
/// that it awaits, joined in spawn order: every sleep lasts exactly what
/// it asked for, and the clock never stalls.
#[anyrt_test::test(virtual_time, timeout = 60)]
async fn auto_advance_is_exact_for_many_tasks_with_nested_spawns(clock: VirtualClock) {
    let start = clock.now();
    let tasks: Vec<_> = (0..200u64)
        .map(|task| {
            anyrt_core::spawn(async move {
                for step in 1..=10u64 {
                    let asked = Duration::from_millis(1 + (task * 7 + step) % 13);
                    let before = anyrt_core::now();
                    anyrt_core::sleep(asked).await;
                    assert_eq!(anyrt_core::now() - before, asked, "task {task} step {step}");
                    if step % 3 == 0 {
                        anyrt_core::yield_now().await;
                    }
                    if step % 4 == 0 {
                        let before = anyrt_core::now();
                        let nested = anyrt_core::spawn(async {
                            anyrt_core::sleep(Duration::from_millis(2)).await;
                            anyrt_core::now()
                        });
                        assert_eq!(nested.await - before, Duration::from_millis(2));
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    assert!(clock.now() > start);
}

/// A chain of tasks passing a message on after a sleep each, beside tasks
/// aborted, dropped and detached and blocking calls: each message arrives
/// at the time it was sent.
#[anyrt_test::test(virtual_time, timeout = 60)]
async fn auto_advance_is_exact_along_a_chain_of_tasks(clock: VirtualClock) {
    use futures::channel::mpsc;
    use futures::{SinkExt, StreamExt};

    let start = clock.now();
    let (mut first, mut last) = mpsc::channel::<Duration>(1);
    let mut links = Vec::new();
    for link in 0..30u64 {
        let (mut out, next) = mpsc::channel::<Duration>(1);
        let mut input = std::mem::replace(&mut last, next);
        links.push(anyrt_core::spawn(async move {
            while let Some(sent) = input.next().await {
                assert_eq!(anyrt_core::now() - start, sent, "link {link} got it late");
                anyrt_core::sleep(Duration::from_millis(1 + link % 7)).await;
                if out.send(anyrt_core::now() - start).await.is_err() {
                    break;
                }
            }
        }));
    }
    for round in 0..20u64 {
        first.send(anyrt_core::now() - start).await.unwrap();
        let sent = last.next().await.unwrap();
        assert_eq!(sent, anyrt_core::now() - start, "round {round}");
        let mut side = anyrt_core::spawn(anyrt_core::sleep(Duration::from_millis(3)));
        match round % 3 {
            0 => side.abort(),
            1 => drop(side),
            _ => side.detach(),
        }
        let before = anyrt_core::now();
        assert_eq!(
            anyrt_core::spawn_blocking(move || round * 2).await,
            round * 2
        );
        assert_eq!(
            anyrt_core::now(),
            before,
            "the clock moved during a blocking call"
        );
    }
    drop(first);
    for link in links {
        link.await;
    }
}
