//! Cancellation: every public future of the scope crate is dropped at
//! every await point, and nothing is lost: no child left alive, no place
//! under the limit lost, no task output lost.

use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_scope::{CancelToken, Scope, Supervisor, TaskGroup};
use anyrt_tests::cancel::{cancel_after, cancel_at_every_poll};

const MS: Duration = Duration::from_millis(1);

/// Counts live values: made and dropped.
struct Live<'c>(&'c AtomicUsize);

impl<'c> Live<'c> {
    fn new(count: &'c AtomicUsize) -> Self {
        count.fetch_add(1, SeqCst);
        Live(count)
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

#[anyrt_test::test(virtual_time)]
async fn a_scope_dropped_at_every_poll_leaves_no_child_alive() {
    let live = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let make = || async {
        let s = Scope::<()>::new().limit(NonZeroUsize::new(2).unwrap());
        let outcome = s
            .run(async {
                let _body = Live::new(&live);
                let mut handles = Vec::new();
                for i in 0..4_u32 {
                    let (s, live) = (&s, &live);
                    handles.push(
                        s.spawn_wait(async move {
                            let _child = Live::new(live);
                            anyrt_core::sleep(i * MS).await;
                            s.spawn(async move {
                                let _grandchild = Live::new(live);
                                anyrt_core::sleep(MS).await;
                                Ok(())
                            });
                            Ok(i)
                        })
                        .await,
                    );
                }
                let mut sum = 0;
                for handle in handles {
                    sum += handle.await;
                }
                Ok(sum)
            })
            .await;
        assert!(!s.is_running());
        assert!(s.token().is_cancelled());
        finished.fetch_add(1, SeqCst);
        outcome
    };
    let points = cancel_at_every_poll(make, |polls| {
        assert_eq!(
            live.load(SeqCst),
            0,
            "something alive after a cancel at poll {polls}"
        );
    })
    .await;
    assert!(points > 3, "the scope had several await points ({points})");
    assert_eq!(
        finished.load(SeqCst),
        1,
        "only the last attempt ran to its end"
    );
    assert_eq!(live.load(SeqCst), 0);
}

#[anyrt_test::test(virtual_time)]
async fn a_supervisor_dropped_at_every_poll_leaves_no_child_alive() {
    let live = AtomicUsize::new(0);
    let make = || async {
        let sup = Supervisor::<u32, ()>::new();
        sup.run(async {
            for i in 0..3_u32 {
                let live = &live;
                sup.spawn(async move {
                    let _child = Live::new(live);
                    anyrt_core::sleep(i * MS).await;
                    Ok(i)
                });
            }
        })
        .await
        .1
    };
    cancel_at_every_poll(make, |polls| {
        assert_eq!(
            live.load(SeqCst),
            0,
            "a child alive after a cancel at poll {polls}"
        );
    })
    .await;
}

#[anyrt_test::test(virtual_time)]
async fn a_spawn_wait_dropped_at_every_poll_loses_no_place() {
    let s = Scope::<()>::new().limit(NonZeroUsize::MIN);
    let ran = Mutex::new(Vec::new());
    s.run(async {
        let ran = &ran;
        for (attempt, granted) in [(0, false), (1, false), (3, false), (1, true)] {
            // The one place is taken for 2 ms by a child.
            s.spawn(async {
                anyrt_core::sleep(2 * MS).await;
                Ok(())
            });
            {
                let mut waiting = pin!(s.spawn_wait(async move {
                    ran.lock().unwrap().push(attempt);
                    Ok(())
                }));
                for _ in 0..attempt {
                    assert!(futures::poll!(waiting.as_mut()).is_pending());
                    anyrt_core::yield_now().await;
                }
                if granted {
                    // The place is freed and handed to the waiter, which is
                    // dropped before it takes it.
                    anyrt_core::sleep(3 * MS).await;
                }
            }
            // The place is not lost: the next spawn gets it once free.
            s.spawn_wait(async { Ok(()) }).await;
        }
        Ok(())
    })
    .await
    .unwrap();
    assert!(
        ran.lock().unwrap().is_empty(),
        "a dropped spawn_wait spawns nothing"
    );
}

#[anyrt_test::test]
async fn cancelled_dropped_at_every_poll_still_sees_the_cancel() {
    let token = CancelToken::new();
    let points = cancel_at_every_poll(
        || async {
            let waiter = token.cancelled();
            anyrt_core::yield_now().await;
            if token.reason().is_none() {
                token.child().cancel();
            }
            anyrt_core::yield_now().await;
            token.cancel_with("after two polls");
            waiter.await;
        },
        |polls| {
            assert!(
                !token.is_cancelled(),
                "a child's cancel reached the parent (cancel at poll {polls})"
            );
        },
    )
    .await;
    assert_eq!(points, 3);
    assert_eq!(token.reason().unwrap().to_string(), "after two polls");
    // A fresh waiter on the cancelled token completes at once.
    assert!(cancel_after(1, token.cancelled()).await.is_some());
}

#[anyrt_test::test(virtual_time)]
async fn join_next_dropped_at_every_poll_loses_no_output() {
    let mut group = TaskGroup::new();
    for i in 0..5_u32 {
        group.spawn(async move {
            anyrt_core::sleep(i * MS).await;
            i
        });
    }
    let mut seen = Vec::new();
    let mut polls = 0;
    while !group.is_empty() {
        if let Some(Some(i)) = cancel_after(polls % 3, group.join_next()).await {
            seen.push(i);
        }
        polls += 1;
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3, 4]);
}

#[anyrt_test::test(virtual_time)]
async fn join_all_dropped_at_every_poll_cancels_every_task() {
    let live = std::sync::Arc::new(AtomicUsize::new(0));
    let points = cancel_at_every_poll(
        || {
            let mut group = TaskGroup::new();
            for i in 0..4_u32 {
                let alive = LiveTask::new(&live);
                group.spawn(async move {
                    let _alive = alive;
                    // The first is done before `join_all` is first polled
                    // (on a multi-thread runtime), the others later.
                    anyrt_core::sleep(i * MS).await;
                    i
                });
            }
            group.join_all()
        },
        |_| {},
    )
    .await;
    assert!(points >= 1, "join_all waited at least once");
    // The cancelled tasks' futures are dropped by their runtimes, on a
    // pool thread perhaps later: wait for it, however loaded the machine
    // (a task left running would keep this waiting until the watchdog
    // fails the test).
    while live.load(SeqCst) != 0 {
        anyrt_core::yield_now().await;
    }
}

/// Counts live values from `'static` tasks: made and dropped.
struct LiveTask(std::sync::Arc<AtomicUsize>);

impl LiveTask {
    fn new(count: &std::sync::Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, SeqCst);
        LiveTask(count.clone())
    }
}

impl Drop for LiveTask {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

#[anyrt_test::test]
async fn a_dropped_shutdown_has_cancelled_the_tasks() {
    let live = std::sync::Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::new();
    struct Dec(std::sync::Arc<AtomicUsize>);
    impl Drop for Dec {
        fn drop(&mut self) {
            self.0.fetch_sub(1, SeqCst);
        }
    }
    for _ in 0..3 {
        live.fetch_add(1, SeqCst);
        let dec = Dec(live.clone());
        group.spawn(async move {
            let _dec = dec;
            std::future::pending::<()>().await
        });
    }
    assert!(cancel_after(1, group.shutdown()).await.is_none() || live.load(SeqCst) == 0);
    assert!(group.is_empty(), "the first poll cancelled every task");
    group.shutdown().await;
    assert_eq!(live.load(SeqCst), 0);
}
