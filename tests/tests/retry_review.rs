//! Promises of the retry crate's docs that once broke: a seeded retry that
//! drew other delays after a hook panicked, and `Retry-After` dates before
//! 1970 that were read as no hint at all.

use std::cell::RefCell;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyrt_core::VirtualClock;
use anyrt_retry::{Constant, parse_retry_after, retry};
use anyrt_tests::panics::{PROVOKED, poll_to_end_caught, quiet_provoked_panics};

const SEC: Duration = Duration::from_secs(1);

/// A seeded retry of three failing attempts with full jitter: the delays
/// `notify` was told of (a call that panics tells nothing), and the time
/// the retry took. With `panic_once`, the first `notify` panics.
async fn seeded_delays(clock: &VirtualClock, panic_once: bool) -> (Vec<Duration>, Duration) {
    let start = clock.elapsed();
    let (log, notified) = (RefCell::new(Vec::new()), RefCell::new(0));
    let retrying = pin!(
        retry(|| async { Err::<(), _>(()) })
            .backoff(Constant::new(SEC))
            .max_attempts(3)
            .seed(5)
            .notify(|_: &(), _, delay| {
                *notified.borrow_mut() += 1;
                if panic_once && *notified.borrow() == 1 {
                    std::panic::panic_any(PROVOKED);
                }
                log.borrow_mut().push(delay);
            })
    );
    let (out, panics) = poll_to_end_caught(retrying).await;
    let out = out.expect("ready after at most one panic");
    assert!(out.unwrap_err().reason().is_attempts());
    assert_eq!(panics, usize::from(panic_once));
    (log.into_inner(), clock.elapsed() - start)
}

/// `Retry`'s `# Panics`: "A hook (`when`, `notify`, the hint or the
/// backoff) that panics leaves the retry where it was: if the panic is
/// caught and the retry polled again, it judges the same failure again",
/// and `Retry::seed`: "Seeds the jitter, so the delays are the same on
/// every run".
///
/// `Config::decide` drew the jitter straight from the retry's random
/// source before it called `notify`. When `notify` panicked, the source
/// had moved on, so judging the failure again drew another delay: a seeded
/// retry slept other delays than the same retry without the panic.
#[anyrt_test::test(virtual_time)]
async fn a_panicking_notify_leaves_the_seeded_delays_as_they_were(clock: VirtualClock) {
    quiet_provoked_panics();
    let (calm, calm_took) = seeded_delays(&clock, false).await;
    let (panicked, panicked_took) = seeded_delays(&clock, true).await;
    assert_eq!(calm.len(), 2);
    assert_eq!(panicked, calm, "the delays after the panic");
    assert_eq!(panicked_took, calm_took);
    assert_eq!(calm_took, calm.iter().sum::<Duration>());
}

/// `parse_retry_after`: "Parses an HTTP `Retry-After` value: delay seconds
/// (`"120"`) or an HTTP-date ... A date in the past gives zero".
///
/// `http_date::parse` turned the seconds since 1970 into a `u64` and gave
/// up on a negative count, so a well-formed date before 1970 (such as the
/// `Mon, 01 Jan 0001 00:00:00 GMT` a server prints for a zero time) was
/// taken for garbage, `None`, and the server's "retry now" was ignored.
#[test]
fn a_retry_after_date_before_1970_is_in_the_past() {
    let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
    for date in [
        "Mon, 01 Jan 0001 00:00:00 GMT",
        "Wed, 31 Dec 1969 23:59:59 GMT",
        "Sun Nov  6 08:49:37 1960",
    ] {
        assert_eq!(parse_retry_after(date, now), Some(Duration::ZERO), "{date}");
        assert_eq!(
            parse_retry_after(date, SystemTime::now()),
            Some(Duration::ZERO),
            "{date}"
        );
    }
}
