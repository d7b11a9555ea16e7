//! Real-time smoke test of timeouts and deadlines on every runtime (no
//! exact timings: real clocks jitter).

use std::future::pending;
use std::time::Duration;

use anyrt_deadline::{DeadlineExt, current, timeout, within};

const MS: Duration = Duration::from_millis(1);

#[anyrt_test::test]
async fn timeouts_in_real_time() {
    assert_eq!(
        timeout(Duration::from_secs(5), anyrt_core::sleep(MS)).await,
        Ok(())
    );
    assert!(timeout(10 * MS, pending::<()>()).await.is_err());
    assert!(
        anyrt_core::sleep(Duration::from_secs(60))
            .timeout(5 * MS)
            .await
            .is_err()
    );
}

#[anyrt_test::test]
async fn within_in_real_time() {
    let seen = within(Duration::from_secs(5), async {
        let task = anyrt_core::spawn(async { current() });
        (current(), task.await)
    })
    .await
    .unwrap();
    assert!(seen.0.is_some());
    assert_eq!(seen.0, seen.1);
    let outcome = within(
        10 * MS,
        within(
            Duration::from_secs(60),
            anyrt_core::sleep(Duration::from_secs(60)),
        ),
    )
    .await;
    assert!(outcome.and_then(|inner| inner).is_err());
}
