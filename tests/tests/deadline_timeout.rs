//! `timeout` and `timeout_at`: exact firing times on the virtual clock,
//! edge durations and instants, self-waking futures, the error type.

use std::future::{Future, pending, ready};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_deadline::{Deadline, DeadlineExt, Elapsed, timeout, timeout_at};
use futures_lite::future::poll_once;

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// Wakes itself and stays pending at every poll, moving the clock by 1 ms
/// when it has one (so that virtual time passes although the test is never
/// idle).
struct Spin(Option<VirtualClock>);

impl Future for Spin {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(clock) = &self.0 {
            clock.advance(MS);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn past(clock: &VirtualClock) -> Instant {
    clock
        .now()
        .checked_sub(Duration::from_secs(3600))
        .unwrap_or_else(|| clock.now())
}

#[anyrt_test::test(virtual_time)]
async fn fires_exactly_at_its_duration(clock: VirtualClock) {
    assert!(timeout(5 * SEC, pending::<()>()).await.is_err());
    assert_eq!(clock.elapsed(), 5 * SEC);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn fires_exactly_at_its_instant(clock: VirtualClock) {
    let at = clock.now() + 2 * SEC;
    assert!(timeout_at(at, pending::<()>()).await.is_err());
    assert_eq!(clock.now(), at);
}

#[anyrt_test::test(virtual_time)]
async fn inner_future_completing_first_wins(clock: VirtualClock) {
    assert_eq!(timeout(5 * SEC, anyrt_core::sleep(3 * SEC)).await, Ok(()));
    assert_eq!(clock.elapsed(), 3 * SEC);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn inner_future_due_at_the_deadline_wins(clock: VirtualClock) {
    assert_eq!(timeout(3 * SEC, anyrt_core::sleep(3 * SEC)).await, Ok(()));
    assert_eq!(clock.elapsed(), 3 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn relative_timeout_starts_at_first_poll(clock: VirtualClock) {
    let limited = timeout(5 * SEC, pending::<()>());
    anyrt_core::sleep(2 * SEC).await;
    assert!(limited.await.is_err());
    assert_eq!(clock.elapsed(), 7 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn ready_future_wins_at_zero_duration(clock: VirtualClock) {
    assert_eq!(timeout(Duration::ZERO, ready(1)).await, Ok(1));
    assert_eq!(timeout(Duration::ZERO, async { 2 }).await, Ok(2));
    assert_eq!(clock.elapsed(), Duration::ZERO);
}

#[anyrt_test::test(virtual_time)]
async fn zero_duration_times_out_a_pending_future_at_once(clock: VirtualClock) {
    assert!(timeout(Duration::ZERO, pending::<()>()).await.is_err());
    assert_eq!(clock.elapsed(), Duration::ZERO);
    assert_eq!(clock.pending_sleepers(), 0);
}

async fn elapsed() -> Elapsed {
    timeout(Duration::ZERO, pending::<()>()).await.unwrap_err()
}

#[anyrt_test::test(virtual_time)]
async fn instant_far_in_the_past(clock: VirtualClock) {
    assert_eq!(timeout_at(past(&clock), ready("late")).await, Ok("late"));
    assert!(timeout_at(past(&clock), pending::<()>()).await.is_err());
    assert_eq!(clock.elapsed(), Duration::ZERO);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn duration_max_saturates(clock: VirtualClock) {
    assert_eq!(
        timeout(Duration::MAX, anyrt_core::sleep(3600 * SEC)).await,
        Ok(())
    );
    assert_eq!(clock.elapsed(), 3600 * SEC);

    let mut never = Box::pin(timeout(Duration::MAX, pending::<()>()));
    assert!(poll_once(never.as_mut()).await.is_none());
    assert_eq!(clock.pending_sleepers(), 1);
    drop(never);
    assert_eq!(clock.pending_sleepers(), 0);

    let far = Deadline::after(Duration::MAX);
    assert!(far.instant() >= anyrt_core::far_future());
    assert_eq!(timeout_at(far, ready(())).await, Ok(()));
}

#[anyrt_test::test(virtual_time)]
async fn self_waking_future_still_times_out(clock: VirtualClock) {
    let at = clock.now() + 10 * MS;
    assert!(timeout_at(at, Spin(Some(clock.clone()))).await.is_err());
    assert_eq!(clock.now(), at);

    let start = clock.elapsed();
    assert!(timeout(10 * MS, Spin(Some(clock.clone()))).await.is_err());
    let took = clock.elapsed() - start;
    // The clock is read when the inner future first returns pending, after
    // it moved the clock by 1 ms.
    assert!(took >= 10 * MS && took <= 11 * MS, "{took:?}");
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test]
async fn self_waking_future_times_out_in_real_time() {
    let start = Instant::now();
    assert!(timeout(10 * MS, Spin(None)).await.is_err());
    assert!(start.elapsed() >= 10 * MS);
}

#[anyrt_test::test(virtual_time)]
async fn extension_methods(clock: VirtualClock) {
    assert_eq!(async { 1 }.timeout(SEC).await, Ok(1));
    assert!(pending::<()>().timeout(SEC).await.is_err());
    assert_eq!(clock.elapsed(), SEC);
    let at = Deadline::after(2 * SEC);
    assert!(pending::<()>().deadline(at).await.is_err());
    assert_eq!(clock.elapsed(), 3 * SEC);
    assert!(pending::<()>().deadline(clock.now() + SEC).await.is_err());
    assert_eq!(clock.elapsed(), 4 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn finished_timeout_holds_no_timer(clock: VirtualClock) {
    let mut limited = Box::pin(timeout(10 * SEC, anyrt_core::sleep(SEC)));
    assert!(poll_once(limited.as_mut()).await.is_none());
    assert_eq!(clock.pending_sleepers(), 2);
    assert_eq!(limited.as_mut().await, Ok(()));
    // Still alive, already released.
    assert_eq!(clock.pending_sleepers(), 0);
    drop(limited);
}

#[test]
fn elapsed_is_an_io_timeout() {
    let elapsed = futures_lite::future::block_on(elapsed());
    assert_eq!(elapsed.to_string(), "deadline has elapsed");
    let error: Box<dyn std::error::Error + Send + Sync> = Box::new(elapsed);
    assert!(error.source().is_none());
    let io = io::Error::from(elapsed);
    assert_eq!(io.kind(), io::ErrorKind::TimedOut);
    assert_eq!(
        question_mark(elapsed).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
}

fn question_mark(elapsed: Elapsed) -> io::Result<()> {
    Err(elapsed)?;
    Ok(())
}
