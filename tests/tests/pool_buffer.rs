//! Conformance of `anyrt_pool::BufferPool`: the byte budget is enforced,
//! the same allocation comes back, emptied; buffers that grew are dropped;
//! a cancelled `get` loses nothing.

use std::pin::pin;

use anyrt_pool::{BufferError, BufferPool, BuildError};
use anyrt_tests::cancel::cancel_at_every_poll;
use futures_lite::future::{self, poll_once};

fn pool(classes: &[usize], max_bytes: usize) -> BufferPool {
    BufferPool::builder()
        .classes(classes.iter().copied())
        .max_bytes(max_bytes)
        .build()
        .unwrap()
}

#[anyrt_test::test]
async fn the_same_allocation_comes_back_empty() {
    let pool = pool(&[64, 1024], 4096);
    let mut buffer = pool.get(100).await.unwrap();
    assert_eq!((buffer.len(), buffer.capacity()), (0, 1024));
    buffer.extend_from_slice(b"the last user's secret");
    let address = buffer.as_ptr();
    drop(buffer);
    let again = pool.get(1000).await.unwrap();
    assert_eq!(again.as_ptr(), address, "the same allocation");
    assert!(again.is_empty(), "no byte of the last user is readable");
    assert_eq!(again.capacity(), 1024);
    let status = pool.status();
    assert_eq!((status.allocated, status.reused), (1, 1));
}

#[anyrt_test::test]
async fn get_waits_for_the_budget_and_try_get_does_not() {
    let pool = pool(&[1024], 2048);
    let a = pool.get(1024).await.unwrap();
    let b = pool.try_get(1).unwrap();
    assert_eq!(pool.status().in_use_bytes, 2048);
    assert_eq!(pool.try_get(1).unwrap_err(), BufferError::Exhausted);
    let mut waiting = pin!(pool.get(10));
    assert!(poll_once(waiting.as_mut()).await.is_none());
    assert_eq!(pool.status().waiting, 1);
    drop(a);
    let c = waiting.await.unwrap();
    assert_eq!(c.capacity(), 1024);
    drop((b, c));
    let status = pool.status();
    assert_eq!((status.in_use_bytes, status.idle_bytes), (0, 2048));
}

#[anyrt_test::test]
async fn idle_and_in_use_bytes_never_exceed_the_budget() {
    let pool = pool(&[100, 1000], 1000);
    // Fill the budget with idle small buffers, then ask for a large one:
    // the idle ones are dropped to make room.
    let small: Vec<_> = (0..10).map(|_| pool.try_get(1).unwrap()).collect();
    drop(small);
    assert_eq!(pool.status().idle_bytes, 1000);
    let large = pool.get(1000).await.unwrap();
    let status = pool.status();
    assert_eq!((status.in_use_bytes, status.idle_bytes), (1000, 0));
    assert_eq!(status.evicted, 10);
    drop(large);
}

#[anyrt_test::test]
async fn a_buffer_that_grew_past_its_class_is_dropped() {
    let pool = pool(&[16], 64);
    let mut buffer = pool.get(16).await.unwrap();
    buffer.extend_from_slice(&[7; 100]);
    drop(buffer);
    let status = pool.status();
    assert_eq!((status.dropped_grown, status.idle_bytes), (1, 0));
    assert_eq!(status.in_use_bytes, 0, "its budget came back");
    let mut swapped = pool.get(1).await.unwrap();
    *swapped = Vec::with_capacity(16 * 4);
    drop(swapped);
    assert_eq!(pool.status().dropped_grown, 2);
}

#[anyrt_test::test]
async fn sizes_above_the_largest_class_fail_at_once() {
    let pool = pool(&[16, 32], 64);
    let err = pool.get(33).await.unwrap_err();
    assert_eq!(
        err,
        BufferError::TooLarge {
            size: 33,
            largest: 32
        }
    );
    assert_eq!(
        pool.get(0).await.unwrap().capacity(),
        16,
        "zero is the smallest"
    );
}

#[test]
fn bad_configurations_are_errors() {
    let build = |classes: &[usize], max| {
        BufferPool::builder()
            .classes(classes.iter().copied())
            .max_bytes(max)
            .build()
            .unwrap_err()
    };
    assert_eq!(build(&[], 10), BuildError::BadClasses);
    assert_eq!(build(&[0, 8], 10), BuildError::BadClasses);
    assert_eq!(build(&[8, 8], 10), BuildError::BadClasses);
    assert_eq!(build(&[8, 16], 10), BuildError::BudgetBelowClass);
    assert_eq!(build(&[8, usize::MAX], usize::MAX), BuildError::BadClasses);
    // A huge budget is fine: it saturates.
    let pool = BufferPool::builder().max_bytes(usize::MAX).build().unwrap();
    assert!(pool.try_get(1).is_ok());
}

#[anyrt_test::test]
async fn cancelled_get_loses_no_budget_at_any_poll() {
    let pool = pool(&[512], 1024);
    let checked = cancel_at_every_poll(
        || async {
            let held = [pool.try_get(1).unwrap(), pool.try_get(1).unwrap()];
            let release = async {
                anyrt_core::yield_now().await;
                drop(held);
                anyrt_core::yield_now().await;
            };
            let (buffer, ()) = future::zip(pool.get(512), release).await;
            buffer.unwrap().capacity()
        },
        |polls| {
            let status = pool.status();
            assert_eq!(status.in_use_bytes, 0, "after {polls} polls");
            assert_eq!(status.waiting, 0, "after {polls} polls");
        },
    )
    .await;
    assert!(checked >= 2);
    assert!(pool.try_get(512).is_ok() && pool.try_get(512).is_ok());
}
