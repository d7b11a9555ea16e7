//! Conformance: inside tokio, anyrt's clock is tokio's clock, so a test
//! written as tokio users write them (`#[tokio::test(start_paused = true)]`)
//! sees anyrt's schedules and timeouts at exact times.

use std::cell::RefCell;
use std::time::Duration;

use anyrt_retry::{Exponential, Jitter, retry};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn now_is_tokio_s_paused_clock() {
    let start = anyrt_core::now();
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(anyrt_core::now() - start, Duration::from_secs(3));
    assert_eq!(anyrt_core::now(), tokio::time::Instant::now().into_std());
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fires_at_exactly_its_duration() {
    let start = tokio::time::Instant::now();
    let outcome =
        anyrt_deadline::timeout(Duration::from_secs(5), std::future::pending::<()>()).await;
    assert!(outcome.is_err());
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_sleep_and_a_deadline_end_at_exact_times() {
    let start = tokio::time::Instant::now();
    anyrt_core::sleep(Duration::from_millis(250)).await;
    assert_eq!(start.elapsed(), 250 * MS);
    let seen = anyrt_deadline::within(Duration::from_secs(2), async {
        anyrt_deadline::remaining()
    })
    .await;
    assert_eq!(seen, Ok(Some(Duration::from_secs(2))));
}

#[tokio::test(start_paused = true)]
async fn a_retry_schedule_is_exact() {
    let start = tokio::time::Instant::now();
    let starts = RefCell::new(Vec::new());
    let backoff = Exponential::builder()
        .initial(100 * MS)
        .multiplier(2.0)
        .max_delay(Duration::from_secs(10))
        .jitter(Jitter::None)
        .build()
        .expect("a valid policy");
    let outcome = retry(|| {
        let mut starts = starts.borrow_mut();
        starts.push(start.elapsed());
        let n = starts.len();
        async move { if n < 3 { Err(n) } else { Ok(n) } }
    })
    .backoff(backoff)
    .await;
    assert_eq!(outcome, Ok(3));
    assert_eq!(
        starts.into_inner(),
        vec![Duration::ZERO, 100 * MS, 300 * MS]
    );
}

#[tokio::test(start_paused = true)]
async fn spawned_tasks_follow_the_paused_clock_too() {
    let start = tokio::time::Instant::now();
    let task = anyrt_core::spawn(async move {
        anyrt_core::sleep(Duration::from_secs(30)).await;
        start.elapsed()
    });
    assert_eq!(task.await, Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn the_system_clock_is_not_taken_to_apply_inside_tokio() {
    assert!(!anyrt_core::reads_system_clock());
    let blocking = tokio::task::spawn_blocking(anyrt_core::reads_system_clock);
    assert!(!blocking.await.unwrap());
}

#[test]
fn the_system_clock_applies_outside_tokio_and_every_timer_override() {
    assert!(anyrt_core::reads_system_clock());
    let with_value = anyrt_core::with_value(7u8, async { anyrt_core::reads_system_clock() });
    assert!(futures::executor::block_on(with_value));
    let virtual_time = anyrt_core::with_timer(anyrt_core::VirtualClock::new(), async {
        anyrt_core::reads_system_clock()
    });
    assert!(!futures::executor::block_on(virtual_time));
}

#[test]
fn regression_one_thread_in_and_out_of_a_paused_runtime_sees_each_clock() {
    // The verdict is asked on every call: a thread that read the system
    // clock before, and was seen driving a runtime after, answers anew.
    assert!(anyrt_core::reads_system_clock());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    assert!(!runtime.block_on(async { anyrt_core::reads_system_clock() }));
    assert!(anyrt_core::reads_system_clock());
    {
        let _entered = runtime.enter();
        assert!(!anyrt_core::reads_system_clock());
    }
    assert!(anyrt_core::reads_system_clock());
    assert!(!runtime.block_on(async { anyrt_core::reads_system_clock() }));
}

/// `with_runtime`: the override's timer is used for sleeps, and `now()`
/// is its clock. The fallback's timer sleeps on the system clock, but
/// `now()` and the deadline of a relative sleep read tokio's paused clock
/// (`real_now`), so under the override, an hour ahead of the system clock
/// here, a sleep of 1 ms was set an hour and 1 ms away on the fallback's
/// timer.
#[tokio::test(start_paused = true)]
async fn regression_a_fallback_override_reads_the_fallbacks_clock_inside_paused_tokio() {
    tokio::time::advance(Duration::from_secs(3600)).await;
    let (before, seen, after, system) =
        anyrt_core::with_runtime(anyrt_core::Runtime::Fallback, async {
            let before = std::time::Instant::now();
            let seen = anyrt_core::now();
            let after = std::time::Instant::now();
            (before, seen, after, anyrt_core::reads_system_clock())
        })
        .await;
    assert!(
        before <= seen && seen <= after,
        "the fallback's clock is the system's: {:?} past it",
        seen.saturating_duration_since(after)
    );
    assert!(system, "the fallback's timer reads the system clock");
    // Checked first, since a sleep on the wrong clock would take an hour.
    let slept = anyrt_core::with_runtime(anyrt_core::Runtime::Fallback, async {
        let start = std::time::Instant::now();
        anyrt_core::sleep(MS).await;
        start.elapsed()
    })
    .await;
    assert!(slept >= MS);
}
