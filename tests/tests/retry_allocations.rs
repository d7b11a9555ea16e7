//! Conformance: retrying allocates nothing per attempt. The allocation
//! counter is process-wide, so this is a `harness = false` target: a plain
//! `main` on one thread, with no libtest threads to count.

use std::future::IntoFuture;
use std::time::Duration;

use anyrt_retry::{Constant, retry, retry_with};
use anyrt_tests::alloc::count_allocations;

fn main() {
    retrying_allocates_nothing_per_attempt();
    retrying_with_state_allocates_nothing_per_attempt();
    println!("retry_allocations: ok");
}

fn retrying_allocates_nothing_per_attempt() {
    let (boxed, allocations) = count_allocations(|| std::hint::black_box(Box::new(7_u64)));
    assert_eq!(
        (*boxed, allocations),
        (7, 1),
        "the counter sees allocations"
    );
    futures::executor::block_on(async {}); // the executor's first use allocates

    let first_success = retry(|| async { Ok::<_, ()>(1) }).max_elapsed(Duration::from_secs(1));
    let (out, allocations) = count_allocations(|| futures::executor::block_on(first_success));
    assert_eq!(
        (out, allocations),
        (Ok(1), 0),
        "a first success allocates nothing"
    );

    let zero_delays = retry(|| async { Err::<(), _>(()) })
        .backoff(Constant::new(Duration::ZERO))
        .max_attempts(1000)
        .seed(1);
    let (out, allocations) = count_allocations(|| futures::executor::block_on(zero_delays));
    assert_eq!(out.unwrap_err().attempts(), 1000);
    assert_eq!(allocations, 0, "1,000 zero-delay attempts allocate nothing");
}

fn retrying_with_state_allocates_nothing_per_attempt() {
    let mut calls = 0_u32;
    let zero_delays = retry_with(&mut calls, async |calls: &mut u32| {
        *calls += 1;
        Err::<(), _>(())
    })
    .backoff(Constant::new(Duration::ZERO))
    .max_attempts(1000)
    .seed(1)
    .into_future();
    let (out, allocations) = count_allocations(|| futures::executor::block_on(zero_delays));
    assert_eq!(out.unwrap_err().attempts(), 1000);
    assert_eq!(calls, 1000);
    assert_eq!(
        allocations, 0,
        "1,000 zero-delay attempts of retry_with allocate nothing"
    );
}
