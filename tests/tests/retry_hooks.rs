//! Retry hooks: state passed to each attempt, `notify`, server hints,
//! seeded jitter, and no allocation per attempt.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyrt_core::VirtualClock;
use anyrt_retry::{
    Constant, Exponential, Jitter, RetryAfter, parse_retry_after, retry, retry_with,
};

const SEC: Duration = Duration::from_secs(1);

fn exponential(initial: Duration, max: Duration) -> Exponential {
    Exponential::builder()
        .initial(initial)
        .multiplier(2.0)
        .max_delay(max)
        .jitter(Jitter::None)
        .build()
        .unwrap()
}

#[derive(Debug, Default)]
struct Conn {
    attempts: u32,
    endpoints: Vec<&'static str>,
}

#[anyrt_test::test(virtual_time)]
async fn retry_with_mutates_state_across_attempts() {
    let mut conn = Conn {
        attempts: 0,
        endpoints: vec!["a", "b", "c", "d"],
    };
    let out = retry_with(&mut conn, |conn: &mut Conn| {
        conn.attempts += 1;
        let endpoint = conn.endpoints.remove(0);
        async move {
            anyrt_core::sleep(Duration::from_millis(5)).await;
            if endpoint == "c" {
                Ok(endpoint)
            } else {
                Err(endpoint)
            }
        }
    })
    .backoff(Constant::new(SEC))
    .max_attempts(5)
    .await;
    assert_eq!(out, Ok("c"));
    assert_eq!(conn.attempts, 3);
    assert_eq!(conn.endpoints, ["d"]);
}

impl Conn {
    /// An attempt that holds `&mut self` across its awaits.
    async fn send(&mut self) -> Result<&'static str, &'static str> {
        self.attempts += 1;
        anyrt_core::sleep(Duration::from_millis(5)).await;
        let endpoint = self.endpoints.remove(0);
        anyrt_core::sleep(Duration::from_millis(5)).await;
        if endpoint == "c" {
            Ok(endpoint)
        } else {
            Err(endpoint)
        }
    }
}

#[anyrt_test::test(virtual_time)]
async fn retry_with_lends_state_across_the_attempts_awaits(clock: VirtualClock) {
    let mut conn = Conn {
        attempts: 0,
        endpoints: vec!["a", "b", "c", "d"],
    };
    let mut log = Vec::new();
    let out = retry_with(&mut conn, async |conn| conn.send().await)
        .backoff(Constant::new(SEC).jitter(Jitter::None))
        .max_attempts(5)
        .notify(|err: &&str, attempt, delay| log.push((*err, attempt, delay)))
        .await;
    assert_eq!(out, Ok("c"));
    assert_eq!((conn.attempts, conn.endpoints), (3, vec!["d"]));
    assert_eq!(log, [("a", 1, SEC), ("b", 2, SEC)]);
    // Three attempts of 10 ms and two sleeps of 1 s.
    assert_eq!(clock.elapsed(), 2 * SEC + Duration::from_millis(30));
}

#[anyrt_test::test(virtual_time)]
async fn retry_with_gives_up_like_retry(clock: VirtualClock) {
    let mut calls = 0_u32;
    let err = retry_with(&mut calls, async |calls: &mut u32| {
        *calls += 1;
        anyrt_core::sleep(SEC).await;
        Err::<(), _>(*calls)
    })
    .backoff(Constant::new(60 * SEC).jitter(Jitter::None))
    .max_elapsed(90 * SEC)
    .max_attempts(10)
    .await
    .unwrap_err();
    assert!(err.reason().is_elapsed(), "{err:?}");
    assert_eq!((err.attempts(), err.into_inner()), (2, 2));
    assert_eq!(calls, 2);
    // Attempts at 0 s and 61 s; a sleep to 122 s would pass 90 s.
    assert_eq!(clock.elapsed(), 62 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn notify_sees_attempt_and_delay(clock: VirtualClock) {
    let mut calls = 0;
    let mut log = Vec::new();
    let out = retry(|| {
        calls += 1;
        let n = calls;
        async move { if n <= 3 { Err(n) } else { Ok(n) } }
    })
    .backoff(exponential(SEC, 60 * SEC))
    .max_attempts(10)
    .notify(|err: &u32, attempt, delay| log.push((*err, attempt, delay)))
    .await;
    assert_eq!(out, Ok(4));
    assert_eq!(log, [(1, 1, SEC), (2, 2, 2 * SEC), (3, 3, 4 * SEC)]);
    assert_eq!(clock.elapsed(), 7 * SEC);
}

#[derive(Debug)]
struct Throttled(Duration);

impl RetryAfter for Throttled {
    fn retry_after(&self) -> Option<Duration> {
        Some(self.0)
    }
}

#[anyrt_test::test(virtual_time)]
async fn hints_replace_the_delay_and_are_clamped(clock: VirtualClock) {
    let hints = [5 * SEC, 100 * SEC, Duration::ZERO];
    let mut i = 0;
    let mut log = Vec::new();
    let err = retry(|| {
        let hint = hints[i.min(2)];
        i += 1;
        async move { Err::<(), _>(Throttled(hint)) }
    })
    .backoff(exponential(SEC, 30 * SEC))
    .max_attempts(4)
    .hints()
    .notify(|_: &Throttled, _, delay| log.push(delay))
    .await
    .unwrap_err();
    assert!(err.reason().is_attempts());
    assert_eq!(log, [5 * SEC, 30 * SEC, Duration::ZERO]);
    assert_eq!(clock.elapsed(), 35 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn a_hint_past_the_deadline_stops(clock: VirtualClock) {
    let outcome = anyrt_deadline::within(10 * SEC, async {
        retry(|| async { Err::<(), _>(Throttled(20 * SEC)) })
            .backoff(exponential(SEC, 60 * SEC))
            .hints()
            .await
    })
    .await;
    let err = outcome.unwrap().unwrap_err();
    assert!(err.reason().is_deadline());
    assert_eq!(err.attempts(), 1);
    assert_eq!(clock.elapsed(), Duration::ZERO);
}

#[anyrt_test::test(virtual_time)]
async fn a_closure_hint_is_honoured(clock: VirtualClock) {
    let err = retry(|| async { Err::<(), _>(3u64) })
        .backoff(exponential(SEC, 60 * SEC))
        .hint(|secs: &u64| Some(Duration::from_secs(*secs)))
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 3);
    assert_eq!(clock.elapsed(), 6 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn the_same_seed_gives_the_same_delays() {
    async fn delays(seed: u64) -> Vec<Duration> {
        let mut log = Vec::new();
        let _ = retry(|| async { Err::<(), _>(()) })
            .backoff(Exponential::default())
            .max_attempts(6)
            .seed(seed)
            .notify(|_: &(), _, delay| log.push(delay))
            .await;
        log
    }
    let a = delays(17).await;
    assert_eq!(a.len(), 5);
    assert_eq!(a, delays(17).await);
    assert_ne!(a, delays(18).await);
}

#[test]
fn parses_retry_after_values() {
    let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
    let parse = |value| parse_retry_after(value, now);
    assert_eq!(parse("0"), Some(Duration::ZERO));
    assert_eq!(parse(" 120 "), Some(120 * SEC));
    assert_eq!(
        parse("99999999999999999999999"),
        Some(Duration::from_secs(u64::MAX))
    );
    assert_eq!(parse("Sun, 06 Nov 1994 08:49:47 GMT"), Some(10 * SEC));
    assert_eq!(parse("Sunday, 06-Nov-94 08:50:37 GMT"), Some(60 * SEC));
    assert_eq!(parse("Sun Nov  6 08:49:38 1994"), Some(SEC));
    assert_eq!(parse("Sat, 05 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
    for bad in ["", "-1", "1.5", "tomorrow", "Sun, 06 Nov 1994 08:49:37 PST"] {
        assert_eq!(parse(bad), None, "{bad:?}");
    }
    assert!(parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", SystemTime::now()).is_some());
}
