//! Cancel safety of the retry future: once dropped, during a sleep or an
//! attempt, it starts no further attempt.

use std::cell::Cell;
use std::num::NonZeroU32;
use std::pin::pin;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_retry::{Constant, Jitter, retry};
use futures_lite::future::{self, poll_once};

const SEC: Duration = Duration::from_secs(1);

struct DropFlag<'a>(&'a Cell<u32>);

impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[anyrt_test::test(virtual_time)]
async fn dropped_during_a_sleep(clock: VirtualClock) {
    let calls = Cell::new(0);
    let retrying = retry(|| async {
        calls.set(calls.get() + 1);
        Err::<(), _>(())
    })
    .backoff(Constant::new(10 * SEC).jitter(Jitter::None))
    .max_attempts(NonZeroU32::new(100).unwrap());
    // Attempts at 0 and 10 s; at 15 s the retry is asleep until 20 s.
    let raced = future::or(async { Some(retrying.await) }, async {
        anyrt_core::sleep(15 * SEC).await;
        None
    })
    .await;
    assert!(raced.is_none());
    assert_eq!(calls.get(), 2);
    assert_eq!(
        clock.pending_sleepers(),
        0,
        "the retry's sleep was deregistered"
    );
    anyrt_core::sleep(100 * SEC).await;
    assert_eq!(calls.get(), 2);
}

#[anyrt_test::test]
async fn dropped_after_a_poll_on_every_runtime() {
    let calls = Cell::new(0);
    {
        let mut retrying = pin!(
            retry(|| async {
                calls.set(calls.get() + 1);
                Err::<(), _>(())
            })
            .backoff(Constant::new(Duration::from_millis(20)))
        );
        assert!(poll_once(retrying.as_mut()).await.is_none());
    }
    assert_eq!(calls.get(), 1);
    anyrt_core::sleep(Duration::from_millis(50)).await;
    assert_eq!(calls.get(), 1);
}

#[anyrt_test::test(virtual_time)]
async fn dropped_during_an_attempt() {
    let calls = Cell::new(0);
    let dropped = Cell::new(0);
    let retrying = retry(|| {
        calls.set(calls.get() + 1);
        let n = calls.get();
        let flag = DropFlag(&dropped);
        async move {
            let _flag = flag;
            if n == 1 {
                return Err(());
            }
            future::pending::<Result<(), ()>>().await
        }
    })
    .backoff(Constant::new(SEC));
    let raced = future::or(async { Some(retrying.await) }, async {
        anyrt_core::sleep(5 * SEC).await;
        None
    })
    .await;
    assert!(raced.is_none());
    assert_eq!(
        (calls.get(), dropped.get()),
        (2, 2),
        "both attempts dropped, no third"
    );
    anyrt_core::sleep(100 * SEC).await;
    assert_eq!(calls.get(), 2);
}
