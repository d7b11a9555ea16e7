//! Fairness of `Pool::get`: 64 tasks on a pool of 4 all finish, and no
//! checkout waits longer than a FIFO queue would make it.

use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_pool::Pool;
use anyrt_tests::pool::{TestManager, assert_settled};

const MS: Duration = Duration::from_millis(1);

/// 64 tasks, 10 checkouts each, every resource held 1 ms of virtual time.
/// A hold is longer than the semaphore's `MAX_WAIT`, so a released slot is
/// always owed to the oldest waiter: FIFO. No checkout waits longer than
/// the 60 waiters ahead of it on 4 resources (15 holds; asserted 16 ms),
/// and per-task totals differ by at most that (the first round's order).
#[anyrt_test::test(virtual_time)]
async fn sixty_four_tasks_on_a_pool_of_four(clock: VirtualClock) {
    let (manager, control) = TestManager::new();
    // No acquire timeout: the waits are what is measured.
    let pool = Pool::builder(manager)
        .max_size(4)
        .acquire_timeout(Duration::MAX)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let pool = pool.clone();
            anyrt_core::spawn(async move {
                let (mut total, mut longest) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..10 {
                    let start = anyrt_core::now();
                    let guard = pool.get().await.unwrap();
                    let waited = anyrt_core::now() - start;
                    (total, longest) = (total + waited, longest.max(waited));
                    anyrt_core::sleep(MS).await;
                    drop(guard);
                }
                (total, longest)
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await);
    }
    let bound = 16 * MS;
    let longest = results.iter().map(|r| r.1).max().unwrap();
    assert!(longest <= bound, "a checkout waited {longest:?}");
    let most = results.iter().map(|r| r.0).max().unwrap();
    let least = results.iter().map(|r| r.0).min().unwrap();
    assert!(most - least <= bound, "spread {:?}", most - least);
    assert_eq!(clock.elapsed(), 160 * MS, "no resource ever sat idle");
    let status = pool.status();
    assert_eq!((status.created, status.size), (4, 4));
    assert!(status.max_wait <= bound);
    assert_settled(&pool, &control);
}
