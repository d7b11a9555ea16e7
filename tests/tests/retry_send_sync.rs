//! Auto traits of the public types of `anyrt-retry`.

use std::future::IntoFuture;
use std::time::Duration;

use anyrt_retry::futures::Retry;
use anyrt_retry::{
    Backoff, BuildError, Constant, Decorrelated, Delays, Exponential, Fibonacci, Jitter,
    RetryBudget, RetryError, StopReason, retry, retry_with,
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

#[test]
fn the_retry_with_future_is_send_when_its_state_is() {
    struct Conn(Vec<u8>);
    impl Conn {
        async fn send(&mut self) -> Result<usize, std::io::Error> {
            futures_lite::future::yield_now().await;
            self.0.push(1);
            Ok(self.0.len())
        }
    }
    let mut conn = Conn(Vec::new());
    let fut = retry_with(&mut conn, async |conn| conn.send().await)
        .backoff(Constant::new(Duration::from_millis(1)))
        .into_future();
    send(&fut);
    assert_eq!(futures_lite::future::block_on(fut).unwrap(), 1);
    assert_eq!(conn.0, [1]);
}

#[test]
fn the_retry_within_future_is_send_when_its_parts_are() {
    fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
    spawnable(
        retry(|| async { Ok::<_, std::io::Error>(()) })
            .backoff(Constant::new(Duration::from_millis(1)))
            .within(Duration::from_secs(1)),
    );
}

#[test]
fn the_retry_with_within_future_is_send_when_its_parts_are() {
    fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
    spawnable(async {
        let mut conn = Vec::<u8>::new();
        retry_with(&mut conn, async |conn: &mut Vec<u8>| {
            conn.push(1);
            Ok::<_, std::io::Error>(conn.len())
        })
        .backoff(Constant::new(Duration::from_millis(1)))
        .within(Duration::from_secs(1))
        .await
    });
}
