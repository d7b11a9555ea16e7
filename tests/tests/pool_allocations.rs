//! Allocation counts in steady state: a pool checkout and return, a
//! semaphore acquire and release (also through the waiter queue), and a
//! buffer get and drop allocate nothing. A `harness = false` target: the
//! counter is process-wide, and libtest's threads would add their own.

use std::pin::pin;

use anyrt_pool::{BufferPool, Pool, Semaphore};
use anyrt_tests::alloc::count_allocations;
use futures::executor::block_on;
use futures_lite::future::poll_once;

const ROUNDS: usize = 1_000;

fn main() {
    let (boxed, allocations) = count_allocations(|| std::hint::black_box(Box::new(7_u64)));
    assert_eq!(
        (*boxed, allocations),
        (7, 1),
        "the counter sees allocations"
    );
    block_on(async {}); // the executor's first use allocates

    pool_checkout();
    semaphore_uncontended_and_queued();
    buffer_get_and_drop();
    println!("pool_allocations: ok");
}

fn pool_checkout() {
    let pool = Pool::from_fn(|| async { Ok::<_, ()>(vec![0u8; 64]) })
        .max_size(2)
        .min_idle(1)
        .build()
        .unwrap();
    // Warm up: the resource exists, made in place by `maintain_once` (a
    // creation by `get` is a spawned task, whose thread could still be
    // allocating while the checkouts are counted).
    assert_eq!(block_on(pool.maintain_once()), Ok(1));
    block_on(async { drop(pool.get().await.unwrap()) });
    let ((), allocations) = count_allocations(|| {
        block_on(async {
            for _ in 0..ROUNDS {
                let guard = pool.get().await.unwrap();
                std::hint::black_box(&*guard);
            }
        })
    });
    assert_eq!(allocations, 0, "get + drop of an idle resource");
    let ((), allocations) = count_allocations(|| {
        for _ in 0..ROUNDS {
            drop(pool.try_get().unwrap());
        }
    });
    assert_eq!(allocations, 0, "try_get + drop");
}

fn semaphore_uncontended_and_queued() {
    let semaphore = Semaphore::new(1);
    let queued_round = || {
        block_on(async {
            let held = semaphore.acquire().await.unwrap();
            let mut waiter = pin!(semaphore.acquire());
            assert!(poll_once(waiter.as_mut()).await.is_none());
            drop(held);
            drop(waiter.await.unwrap());
        })
    };
    queued_round(); // the waiter slab grows once
    let ((), allocations) = count_allocations(|| {
        for _ in 0..ROUNDS {
            queued_round();
        }
    });
    assert_eq!(allocations, 0, "acquire through the queue, release");
    let ((), allocations) = count_allocations(|| {
        for _ in 0..ROUNDS {
            drop(semaphore.try_acquire().unwrap());
        }
    });
    assert_eq!(allocations, 0, "try_acquire + release");
}

fn buffer_get_and_drop() {
    let pool = BufferPool::builder()
        .classes([4096])
        .max_bytes(1 << 16)
        .build()
        .unwrap();
    block_on(async { drop(pool.get(4096).await.unwrap()) });
    let ((), allocations) = count_allocations(|| {
        block_on(async {
            for _ in 0..ROUNDS {
                let mut buffer = pool.get(100).await.unwrap();
                buffer.extend_from_slice(&[1; 100]);
            }
        })
    });
    assert_eq!(allocations, 0, "buffer get + fill + drop");
}
