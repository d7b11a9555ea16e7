//! `TaskGroup::with_limit(n)`: never more than `n` running whichever way
//! tasks are spawned, every task done, admission in spawn order,
//! `try_spawn` handing the future back, `spawn_wait` dropped at any point
//! losing no place, places back after a panic, an abort, a shutdown and
//! a fail fast, and `usize::MAX`.

use std::future::{Future, pending};
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_scope::{TaskGroup, TrySpawnError};
use anyrt_tests::cancel::cancel_after;
use anyrt_tests::drops::{Guard, n};
use futures::FutureExt;
use futures::channel::oneshot;

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// How many run now, and the most that ever ran at once.
#[derive(Default)]
struct Running {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Running {
    /// Runs `work` counted as running.
    async fn count<T>(&self, work: impl Future<Output = T>) -> T {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        let output = work.await;
        self.now.fetch_sub(1, SeqCst);
        output
    }
}

#[derive(Clone, Copy, Debug)]
enum How {
    Spawn,
    SpawnWait,
    TrySpawn,
}

/// 20 tasks of different lengths under `with_limit(3)`, spawned `how`;
/// returns the outputs in spawn order and the most that ran at once.
async fn run_limited(how: How) -> (Vec<usize>, usize) {
    let running = Arc::new(Running::default());
    let mut group = TaskGroup::with_limit(n(3));
    let mut joined = Vec::new();
    for i in 0..20 {
        let running = running.clone();
        let mut task = Box::pin(async move {
            running
                .count(anyrt_core::sleep((i % 4 + 1) as u32 * MS))
                .await;
            i
        });
        match how {
            How::Spawn => group.spawn(task),
            How::SpawnWait => group.spawn_wait(task).await,
            How::TrySpawn => loop {
                match group.try_spawn(task) {
                    Ok(()) => break,
                    Err(TrySpawnError(back)) => task = back,
                }
                joined.push(group.join_next().await.expect("the group is full"));
            },
        }
    }
    joined.extend(group.join_all().await);
    joined.sort_unstable();
    (joined, running.most.load(SeqCst))
}

#[anyrt_test::test(virtual_time)]
async fn never_more_than_n_run_and_every_task_completes() {
    for how in [How::Spawn, How::SpawnWait, How::TrySpawn] {
        let (outputs, most) = run_limited(how).await;
        assert_eq!(outputs, (0..20).collect::<Vec<_>>(), "{how:?}");
        assert_eq!(most, 3, "{how:?}: at most 3, and 3 reached");
    }
}

#[anyrt_test::test(virtual_time)]
async fn plain_spawns_wait_unpolled_and_start_in_spawn_order(clock: VirtualClock) {
    let started = Arc::new(Mutex::new(Vec::new()));
    let mut group = TaskGroup::with_limit(n(1));
    for i in 0..5 {
        let started = started.clone();
        group.spawn(async move {
            started.lock().unwrap().push(i);
            anyrt_core::sleep(SEC).await;
        });
    }
    assert_eq!(group.len(), 5, "spawned at once");
    group.join_all().await;
    assert_eq!(*started.lock().unwrap(), [0, 1, 2, 3, 4]);
    assert_eq!(clock.elapsed(), 5 * SEC, "one at a time");
}

#[anyrt_test::test]
async fn try_spawn_hands_the_future_back_when_full_and_succeeds_once_a_place_frees() {
    let mut group = TaskGroup::with_limit(n(2));
    let (release_a, a) = oneshot::channel::<()>();
    let (release_b, b) = oneshot::channel::<()>();
    let (release_c, c) = oneshot::channel::<()>();
    assert!(group.try_spawn(async { a.await.is_ok() }).is_ok());
    assert!(group.try_spawn(async { b.await.is_ok() }).is_ok());
    // An async block is not `Debug`; the error's `Debug` does not need it.
    let error = group.try_spawn(async { c.await.is_ok() }).unwrap_err();
    assert_eq!(format!("{error:?}"), "TrySpawnError(..)");
    assert_eq!(error.to_string(), "the task group is full");
    assert_eq!(group.len(), 2, "the third was not spawned");

    release_a.send(()).unwrap();
    assert_eq!(group.join_next().await, Some(true));
    // Its place was given back before its output came out.
    assert!(group.try_spawn(error.into_inner()).is_ok());
    assert!(group.try_spawn(async { false }).is_err());
    release_b.send(()).unwrap();
    release_c.send(()).unwrap();
    assert_eq!(group.join_all().await, [true, true]);
}

#[anyrt_test::test]
async fn spawn_wait_does_not_spawn_while_the_group_is_full() {
    let mut group = TaskGroup::with_limit(n(1));
    let (release, first) = oneshot::channel::<()>();
    group.spawn(async { first.await.is_ok() });
    {
        let mut waiting = pin!(group.spawn_wait(async { true }));
        assert!(futures::poll!(waiting.as_mut()).is_pending());
    }
    assert_eq!(group.len(), 1, "the dropped wait spawned nothing");
    release.send(()).unwrap();
    group.spawn_wait(async { true }).await;
    assert_eq!(group.join_all().await, [true, true]);
}

/// Exactly `limit` places are free: that many tasks spawn without
/// waiting and one more does not. Leaves the group empty.
async fn assert_places_free(group: &mut TaskGroup<()>, limit: usize) {
    for _ in 0..limit {
        assert!(group.try_spawn(pending()).is_ok(), "a place was lost");
    }
    assert!(group.try_spawn(pending()).is_err(), "a place was made up");
    group.shutdown().await;
}

#[anyrt_test::test(virtual_time)]
async fn a_spawn_wait_dropped_at_every_poll_loses_no_place() {
    let mut group = TaskGroup::with_limit(n(2));
    for polls in 0..100 {
        let producer = async {
            for _ in 0..5 {
                group.spawn_wait(anyrt_core::sleep(SEC)).await;
            }
        };
        let finished = cancel_after(polls, producer).await.is_some();
        group.shutdown().await;
        assert_places_free(&mut group, 2).await;
        if finished {
            // Its only await is a `spawn_wait`: each run cut after a
            // pending poll dropped one waiting in line. The first poll
            // cannot spawn all five under a limit of two.
            assert!(polls >= 2, "finished within {polls} polls");
            return;
        }
    }
    panic!("the producer did not finish within 100 polls");
}

#[anyrt_test::test(virtual_time)]
async fn a_place_granted_to_a_wait_dropped_before_it_looked_goes_back() {
    let mut group = TaskGroup::with_limit(n(1));
    group.spawn(anyrt_core::sleep(SEC));
    {
        let mut waiting = pin!(group.spawn_wait(pending()));
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        // The first task ends meanwhile, and its place is granted to the
        // wait, which is dropped without looking.
        anyrt_core::sleep(2 * SEC).await;
    }
    assert_eq!(group.join_next().await, Some(()));
    assert_places_free(&mut group, 1).await;
}

#[anyrt_test::test]
async fn a_panic_gives_its_place_back() {
    let mut group = TaskGroup::<()>::with_limit(n(1));
    group.spawn(async { panic!("boom") });
    let joined = AssertUnwindSafe(group.join_next()).catch_unwind().await;
    assert!(joined.is_err(), "the panic is resumed");
    assert_places_free(&mut group, 1).await;
}

#[anyrt_test::test(virtual_time)]
async fn abort_all_and_shutdown_give_every_place_back() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::with_limit(n(2));
    let hold = |dropped: &Arc<AtomicUsize>| {
        let guard = Guard(dropped.clone());
        async move {
            let _guard = guard;
            pending::<()>().await
        }
    };
    for _ in 0..5 {
        group.spawn(hold(&dropped)); // 2 running, 3 waiting for a place
    }
    group.abort_all();
    // The places come back as the runtime drops the futures.
    group.spawn_wait(anyrt_core::sleep(SEC)).await;
    assert_eq!(group.join_next().await, Some(()));
    group.shutdown().await;
    assert_eq!(dropped.load(SeqCst), 5);

    for _ in 0..5 {
        group.spawn(hold(&dropped));
    }
    group.shutdown().await;
    assert_eq!(dropped.load(SeqCst), 10);
    assert_places_free(&mut group, 2).await;
}

/// Regression: the places given back by cancelled tasks while the runtime
/// dropped them started the next cancelled ones, one after another.
#[anyrt_test::test]
async fn regression_cancelled_tasks_waiting_for_a_place_never_start() {
    for drop_the_group in [false, true] {
        let started = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut group = TaskGroup::with_limit(n(1));
        for _ in 0..6 {
            let started = started.clone();
            let guard = Guard(dropped.clone());
            group.spawn(async move {
                let _guard = guard;
                started.fetch_add(1, SeqCst);
                pending::<()>().await
            });
        }
        while started.load(SeqCst) == 0 {
            anyrt_core::yield_now().await;
        }
        if drop_the_group {
            drop(group);
            while dropped.load(SeqCst) < 6 {
                anyrt_core::yield_now().await;
            }
        } else {
            group.abort_all();
            group.shutdown().await;
        }
        assert_eq!(dropped.load(SeqCst), 6);
        assert_eq!(
            started.load(SeqCst),
            1,
            "dropping the group: {drop_the_group}"
        );
    }
}

#[anyrt_test::test(virtual_time)]
async fn dropping_the_group_drops_running_and_waiting_tasks() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::with_limit(n(2));
    for _ in 0..5 {
        let guard = Guard(dropped.clone());
        group.spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
    }
    drop(group);
    for _ in 0..10_000 {
        if dropped.load(SeqCst) == 5 {
            return;
        }
        anyrt_core::sleep(MS).await;
    }
    panic!("only {} of 5 futures dropped", dropped.load(SeqCst));
}

#[anyrt_test::test(virtual_time)]
async fn fail_fast_under_a_limit_cancels_the_rest(clock: VirtualClock) {
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut group = TaskGroup::with_limit(n(2));
    group.spawn(async {
        anyrt_core::sleep(SEC).await;
        Err::<(), _>("failed")
    });
    for _ in 0..5 {
        let started = started.clone();
        let guard = Guard(dropped.clone());
        group.spawn(async move {
            let _guard = guard;
            started.fetch_add(1, SeqCst);
            pending().await
        });
    }
    assert_eq!(group.try_join_all().await, Err("failed"));
    assert_eq!(clock.elapsed(), SEC);
    // One ran beside the failing task; the place it gave back may have
    // let one more start before the rest were cancelled.
    let started = started.load(SeqCst);
    assert!((1..=2).contains(&started), "{started} started");
    assert_eq!(dropped.load(SeqCst), 5, "every future dropped on return");
}

#[anyrt_test::test(virtual_time)]
async fn a_supervised_join_all_under_a_limit_returns_every_outcome() {
    let mut group = TaskGroup::with_limit(n(2));
    for i in 0..6_u32 {
        group.spawn(async move {
            anyrt_core::sleep(SEC).await;
            if i % 2 == 0 { Ok(i) } else { Err(i) }
        });
    }
    let outcomes = group.join_all().await;
    assert_eq!(outcomes, [Ok(0), Err(1), Ok(2), Err(3), Ok(4), Err(5)]);
}

#[anyrt_test::test(virtual_time)]
async fn a_limit_of_usize_max_lets_every_task_run_at_once() {
    const TASKS: usize = 100;
    let mut group = TaskGroup::with_limit(NonZeroUsize::MAX);
    assert_eq!(group.max_running(), usize::MAX);
    let arrived = Arc::new(AtomicUsize::new(0));
    for i in 0..TASKS {
        let arrived = arrived.clone();
        let barrier = async move {
            arrived.fetch_add(1, SeqCst);
            while arrived.load(SeqCst) < TASKS {
                anyrt_core::sleep(MS).await;
            }
            i
        };
        if i % 2 == 0 {
            group.try_spawn(barrier).expect("never full");
        } else {
            group.spawn_wait(barrier).await;
        }
    }
    assert_eq!(group.join_all().await, (0..TASKS).collect::<Vec<_>>());
}

#[anyrt_test::test]
async fn without_a_limit_nothing_is_ever_full() {
    let mut group = TaskGroup::new();
    assert_eq!(group.max_running(), usize::MAX);
    for _ in 0..1_000 {
        assert!(group.try_spawn(pending::<()>()).is_ok());
    }
    group.spawn_wait(pending()).await;
    assert_eq!(group.len(), 1_001);
    group.shutdown().await;
}
