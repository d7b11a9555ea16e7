//! Borrowing children, `limit(n)` (never more than `n` running, admission
//! in order, every item processed) and `spawn_wait`'s place in line.

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Waker};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_scope::Scope;

const MS: Duration = Duration::from_millis(1);

fn n(value: usize) -> NonZeroUsize {
    NonZeroUsize::new(value).expect("not zero")
}

/// A child that records `value` in `order` and succeeds.
async fn records<T>(order: &Mutex<Vec<T>>, value: T) -> Result<(), ()> {
    order.lock().unwrap().push(value);
    Ok(())
}

/// Polls a `spawn_wait` once (with a waker that does nothing): it must
/// wait in line.
fn assert_queued<F: Future>(waiter: Pin<&mut F>) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(waiter.poll(&mut cx).is_pending(), "waits in line");
}

#[anyrt_test::test(virtual_time)]
async fn children_mutate_disjoint_parts_of_a_local_vec() {
    let mut numbers: Vec<u64> = (0..100).collect();
    let s = Scope::<()>::new();
    s.run(async {
        for (i, chunk) in numbers.chunks_mut(10).enumerate() {
            s.spawn(async move {
                anyrt_core::sleep((10 - i as u32) * MS).await;
                for x in chunk.iter_mut() {
                    *x *= 2;
                }
                Ok(())
            });
        }
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(numbers, (0..100).map(|x| x * 2).collect::<Vec<u64>>());
}

/// Runs `items` children under `limit`, each sleeping a different time;
/// returns the order children started in and the most that ran at once.
async fn run_limited(limit: usize, items: usize, wait: bool) -> (Vec<usize>, usize) {
    let running = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let started = Mutex::new(Vec::new());
    let s = Scope::<()>::new().limit(n(limit));
    s.run(async {
        for i in 0..items {
            let (running, most, started) = (&running, &most, &started);
            let child = async move {
                started.lock().unwrap().push(i);
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                anyrt_core::sleep(((i * 7) % 5 + 1) as u32 * MS).await;
                running.fetch_sub(1, SeqCst);
                Ok(())
            };
            if wait {
                s.spawn_wait(child).await;
            } else {
                s.spawn(child);
            }
        }
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(running.load(SeqCst), 0);
    (started.into_inner().unwrap(), most.load(SeqCst))
}

#[anyrt_test::test(virtual_time)]
async fn limit_bounds_running_children_and_admits_in_order() {
    for wait in [false, true] {
        let (started, most) = run_limited(3, 50, wait).await;
        assert_eq!(most, 3, "never more than 3 at once, and 3 were reached");
        assert_eq!(started, (0..50).collect::<Vec<_>>(), "admitted in order");
    }
    let (started, most) = run_limited(1, 10, true).await;
    assert_eq!((started.len(), most), (10, 1));
}

#[anyrt_test::test(virtual_time)]
async fn spawn_wait_waits_in_the_body(clock: VirtualClock) {
    let s = Scope::<()>::new().limit(n(2));
    s.run(async {
        for _ in 0..2 {
            s.spawn(async {
                anyrt_core::sleep(10 * MS).await;
                Ok(())
            });
        }
        let start = clock.now();
        s.spawn_wait(async { Ok(()) }).await;
        assert_eq!(clock.now() - start, 10 * MS, "the third waited for a place");
        Ok(())
    })
    .await
    .unwrap();
}

#[anyrt_test::test(virtual_time)]
async fn a_dropped_spawn_wait_gives_its_place_to_the_next() {
    let order = Mutex::new(Vec::new());
    let s = Scope::<()>::new().limit(n(1));
    s.run(async {
        let order = &order;
        s.spawn(async move {
            anyrt_core::sleep(5 * MS).await;
            order.lock().unwrap().push("first");
            Ok(())
        });
        {
            // Takes a place in line, then gives it up.
            let mut dropped = pin!(s.spawn_wait(records(order, "dropped")));
            assert_queued(dropped.as_mut());
        }
        s.spawn_wait(records(order, "next")).await;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(*order.lock().unwrap(), ["first", "next"]);
}

#[anyrt_test::test(virtual_time)]
async fn a_granted_place_given_up_goes_to_the_next_in_line() {
    let order = Mutex::new(Vec::new());
    let s = Scope::<()>::new().limit(n(1));
    s.run(async {
        let order = &order;
        s.spawn(async move {
            anyrt_core::sleep(5 * MS).await;
            Ok(())
        });
        let mut first = Box::pin(s.spawn_wait(records(order, "first")));
        assert_queued(first.as_mut());
        // Queued behind `first`: admitted only once `first` gives up.
        s.spawn(records(order, "queued"));
        anyrt_core::sleep(6 * MS).await;
        assert!(
            order.lock().unwrap().is_empty(),
            "the place is held for `first`"
        );
        drop(first);
        anyrt_core::yield_now().await;
        assert_eq!(*order.lock().unwrap(), ["queued"]);
        Ok(())
    })
    .await
    .unwrap();
}

/// Two hundred `spawn_wait`s in line, every other one given up while
/// queued: the rest are admitted in the order they queued, and once the
/// line is empty a new child runs at once (nobody given up holds a place
/// in line). Looking at a ticket and giving one up cost the same however
/// long the line is.
#[anyrt_test::test(virtual_time)]
async fn waiters_that_give_up_leave_the_line_in_order() {
    let order = Mutex::new(Vec::new());
    let s = Scope::<()>::new().limit(n(1));
    s.run(async {
        let order = &order;
        s.spawn(async move {
            anyrt_core::sleep(5 * MS).await;
            Ok(())
        });
        let mut line: Vec<_> = (0..200)
            .map(|i| Box::pin(s.spawn_wait(records(order, i))))
            .collect();
        for waiter in &mut line {
            assert_queued(waiter.as_mut());
        }
        // The odd ones give up, the last first.
        let mut kept: Vec<_> = line
            .into_iter()
            .enumerate()
            .rev()
            .filter_map(|(i, waiter)| (i % 2 == 0).then_some(waiter))
            .collect();
        kept.reverse();
        for waiter in kept {
            waiter.await;
        }
        anyrt_core::yield_now().await;
        let admitted: Vec<_> = (0..200).step_by(2).collect();
        assert_eq!(*order.lock().unwrap(), admitted);
        s.spawn(records(order, 1000));
        anyrt_core::yield_now().await;
        assert_eq!(order.lock().unwrap().last(), Some(&1000), "ran at once");
        Ok(())
    })
    .await
    .unwrap();
}

/// Every waiter in line gave up while the only place was taken: a child
/// spawned then runs as soon as the place is free, not behind them.
#[anyrt_test::test(virtual_time)]
async fn a_line_of_waiters_that_all_gave_up_holds_nobody_back() {
    let order = Mutex::new(Vec::new());
    let s = Scope::<()>::new().limit(n(1));
    s.run(async {
        let order = &order;
        s.spawn(async move {
            anyrt_core::sleep(5 * MS).await;
            order.lock().unwrap().push("first");
            Ok(())
        });
        for _ in 0..3 {
            let mut waiter = pin!(s.spawn_wait(records(order, "gave up")));
            assert_queued(waiter.as_mut());
        }
        s.spawn(records(order, "next"));
        anyrt_core::sleep(6 * MS).await;
        assert_eq!(*order.lock().unwrap(), ["first", "next"]);
        Ok(())
    })
    .await
    .unwrap();
}
