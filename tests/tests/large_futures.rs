//! Futures with a large state (128 KiB, kept across an await) pass through
//! every spawn of the workspace, and the test harness, without overflowing
//! a stack: a debug build copies a future at each layer it is moved through
//! by value, so each spawn (and the harness) boxes a large future where it
//! enters, as tokio's spawn and `#[tokio::test]` do.

use anyrt_core::{Ambient, Runtime, Spawn};
use anyrt_scope::{Scope, TaskGroup};

/// A future whose state is `N` bytes, kept across an await; its output is
/// the last byte.
async fn large_state<const N: usize>() -> u8 {
    let scratch = [3u8; N];
    anyrt_core::yield_now().await;
    std::hint::black_box(scratch)[N - 1]
}

const LARGE: usize = 128 * 1024;

#[anyrt_test::test]
async fn through_anyrt_core_spawn() {
    assert_eq!(anyrt_core::spawn(large_state::<LARGE>()).await, 3);
}

#[anyrt_test::test]
async fn through_a_captured_context() {
    let task = Ambient::capture().spawn(large_state::<LARGE>());
    assert_eq!(task.await, 3);
}

#[anyrt_test::test]
async fn through_the_current_runtime() {
    let task = Runtime::current().spawn(large_state::<LARGE>());
    assert_eq!(task.await, 3);
}

#[anyrt_test::test]
async fn through_a_task_group() {
    let mut group = TaskGroup::new();
    group.spawn(large_state::<LARGE>());
    group.spawn(large_state::<LARGE>());
    assert_eq!(group.join_all().await, [3, 3]);
}

#[anyrt_test::test]
async fn through_a_limited_task_group() {
    let mut group = TaskGroup::with_limit(std::num::NonZeroUsize::MIN);
    group.spawn(large_state::<LARGE>());
    group.spawn(large_state::<LARGE>());
    assert_eq!(group.join_all().await, [3, 3]);
}

#[anyrt_test::test]
async fn through_a_scope() {
    let s = Scope::new();
    let outcome: Result<u32, ()> = s
        .run(async {
            let in_place = s.spawn(async { Ok(large_state::<LARGE>().await) });
            let task = s.spawn_task(async { Ok(large_state::<LARGE>().await) });
            Ok(u32::from(in_place.await) + u32::from(task.await))
        })
        .await;
    assert_eq!(outcome, Ok(6));
}

#[anyrt_test::test]
async fn as_a_test_body() {
    let scratch = [5u8; LARGE];
    anyrt_core::yield_now().await;
    assert_eq!(std::hint::black_box(scratch)[LARGE - 1], 5);
}

#[anyrt_test::test(virtual_time)]
async fn as_a_test_body_under_virtual_time(clock: anyrt_core::VirtualClock) {
    let scratch = [5u8; LARGE];
    anyrt_core::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(std::hint::black_box(scratch)[LARGE - 1], 5);
    drop(clock);
}

async fn large_ok() -> Result<u8, std::io::Error> {
    Ok(large_state::<LARGE>().await)
}

#[anyrt_test::test]
async fn as_a_retried_attempt() {
    assert_eq!(anyrt_retry::retry(large_ok).await.unwrap(), 3);
}

#[anyrt_test::test]
async fn through_a_scopes_spawn_wait() {
    let s = Scope::<()>::new().limit(std::num::NonZeroUsize::MIN);
    let outcome = s
        .run(async {
            let first = s
                .spawn_wait(async { Ok(large_state::<LARGE>().await) })
                .await;
            let second = s
                .spawn_wait(async { Ok(large_state::<LARGE>().await) })
                .await;
            Ok(u32::from(first.await) + u32::from(second.await))
        })
        .await;
    assert_eq!(outcome, Ok(6));
}

#[anyrt_test::test]
async fn through_a_supervisor() {
    let sup = anyrt_scope::Supervisor::<u8, ()>::new().limit(std::num::NonZeroUsize::MIN);
    let (_, outcomes) = sup
        .run(async {
            assert!(sup.spawn(async { Ok(large_state::<LARGE>().await) }));
            assert!(
                sup.spawn_wait(async { Ok(large_state::<LARGE>().await) })
                    .await
            );
        })
        .await;
    assert_eq!(outcomes, [Ok(3), Ok(3)]);
}

#[anyrt_test::test]
async fn as_a_retried_attempt_within_a_deadline() {
    let retried = anyrt_retry::retry(|| async {
        large_ok()
            .await
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })
    });
    let within = retried.within(MINUTE).await;
    assert_eq!(within.unwrap(), 3);
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

#[anyrt_test::test]
async fn under_a_timeout() {
    assert_eq!(
        anyrt_deadline::timeout(MINUTE, large_state::<LARGE>()).await,
        Ok(3)
    );
}

#[anyrt_test::test]
async fn under_a_deadline() {
    // `within` built its future through a closure and three constructors,
    // a copy of the 128 KiB state in each frame of a debug build, and
    // overflowed inside `retry(..).within(..)` below.
    assert_eq!(
        anyrt_deadline::within(MINUTE, large_state::<LARGE>()).await,
        Ok(3)
    );
}

#[anyrt_test::test]
async fn under_a_timeout_under_a_deadline() {
    let nested = anyrt_deadline::within(
        MINUTE,
        anyrt_deadline::timeout(MINUTE, large_state::<LARGE>()),
    );
    assert_eq!(nested.await, Ok(Ok(3)));
}
