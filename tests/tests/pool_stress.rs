//! A bounded stress of `Pool` on multi-threaded runtimes: 1,000 tasks x 200
//! checkouts, with random cancellation (while waiting, checking or
//! creating) and random hold times, and resources taken out with `detach`
//! and given back with `add` (refused when others filled the room); the
//! books balance afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyrt_pool::{AddError, Pool};
use anyrt_tests::cancel::cancel_after;
use anyrt_tests::pool::{TestManager, assert_settled};

const TASKS: usize = 1_000;
const GETS: usize = 200;

#[anyrt_test::test(runtimes(tokio_multi_thread, smol), timeout = 300)]
async fn a_thousand_tasks_with_random_cancellation() {
    stress(None).await;
}

/// The same with two creations at a time: cut gets also wait for a
/// creation permit, and for resources coming back meanwhile.
#[anyrt_test::test(runtimes(tokio_multi_thread, smol), timeout = 300)]
async fn a_thousand_tasks_with_random_cancellation_and_max_creating() {
    stress(Some(2)).await;
}

async fn stress(max_creating: Option<usize>) {
    let (manager, control) = TestManager::new();
    let builder = Pool::builder(manager).max_size(8);
    let pool = match max_creating {
        Some(n) => builder.max_creating(n),
        None => builder,
    }
    .build()
    .unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let added = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (pool, served) = (pool.clone(), served.clone());
            let added = added.clone();
            anyrt_core::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(task as u64);
                for _ in 0..GETS {
                    // 1 in 4 checkouts is cut after 1 to 3 polls.
                    let polls = if rng.u8(..4) == 0 {
                        rng.usize(1..4)
                    } else {
                        usize::MAX
                    };
                    let Some(got) = cancel_after(polls, pool.get()).await else {
                        continue;
                    };
                    let mut guard = got.unwrap();
                    assert!(pool.status().size <= 8);
                    for _ in 0..rng.u8(..3) {
                        anyrt_core::yield_now().await;
                    }
                    served.fetch_add(1, Ordering::Relaxed);
                    match rng.u8(..50) {
                        0 => guard.mark_broken(),
                        1 => {
                            let resource = guard.detach();
                            anyrt_core::yield_now().await;
                            match pool.add(resource) {
                                Ok(()) => {
                                    added.fetch_add(1, Ordering::Relaxed);
                                }
                                // Others filled the room meanwhile: dropped here.
                                Err(AddError::Full(_)) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                        _ => {}
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    // Creations whose get was cut may still be finishing.
    while pool.status().creating > 0 {
        anyrt_core::yield_now().await;
    }
    assert!(served.load(Ordering::Relaxed) > TASKS * GETS / 2);
    assert_settled(&pool, &control);
    let status = pool.status();
    assert!(status.size <= 8, "{status:?}");
    assert!(status.discarded.broken > 0, "{status:?}");
    assert_eq!(
        status.added,
        added.load(Ordering::Relaxed) as u64,
        "{status:?}"
    );
    assert!(status.added > 0, "{status:?}");
    // A graceful shutdown finds nothing left out.
    pool.close();
    pool.wait_closed().await;
    assert_eq!(control.alive_once(0), 0, "every resource was dropped");
}
