//! Auto traits of the public types of `anyrt-retry`.

use std::time::Duration;

use anyrt_retry::futures::Retry;
use anyrt_retry::{
    Backoff, BuildError, Constant, Decorrelated, Delays, Exponential, Fibonacci, Jitter,
    RetryBudget, RetryError, StopReason, retry,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn values_are_send_and_sync() {
    send_sync::<Constant>();
    send_sync::<Exponential>();
    send_sync::<Fibonacci>();
    send_sync::<Decorrelated>();
    send_sync::<Delays<Exponential>>();
    send_sync::<Jitter>();
    send_sync::<RetryBudget>();
    send_sync::<RetryError<std::io::Error>>();
    send_sync::<StopReason>();
    send_sync::<BuildError>();
}

#[test]
fn the_retry_future_is_send_when_its_parts_are() {
    async fn op() -> Result<u8, std::io::Error> {
        Ok(1)
    }
    let fut: Retry<_> = retry(op);
    send(&fut);
    let fut = fut
        .backoff(Constant::new(Duration::ZERO))
        .when(|_| true)
        .notify(|_, _, _| {})
        .budget(RetryBudget::default());
    send(&fut);
    assert_eq!(Exponential::default().delays_seeded(1).take(2).count(), 2);
}

#[test]
fn the_retry_future_is_send_across_an_await() {
    fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
    spawnable(async {
        retry(|| async { Ok::<_, ()>(()) })
            .backoff(Constant::new(Duration::from_millis(1)))
            .await
    });
}
