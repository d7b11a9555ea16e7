//! Backoff policies on their own: exact sequences, jitter bounds, builder
//! validation.

use std::time::Duration;

use anyrt_retry::{Backoff, Constant, Decorrelated, Exponential, Fibonacci, Jitter, Rng};
use proptest::prelude::*;

fn ms(delays: impl Iterator<Item = Duration>) -> Vec<u128> {
    delays.map(|d| d.as_millis()).collect()
}

fn exponential(initial: Duration, multiplier: f64, max: Duration, jitter: Jitter) -> Exponential {
    Exponential::builder()
        .initial(initial)
        .multiplier(multiplier)
        .max_delay(max)
        .jitter(jitter)
        .build()
        .unwrap()
}

#[test]
fn exponential_doubles_up_to_the_cap() {
    let policy = exponential(
        Duration::from_millis(100),
        2.0,
        Duration::from_secs(1),
        Jitter::None,
    );
    assert_eq!(
        ms(policy.into_iter().take(7)),
        [100, 200, 400, 800, 1000, 1000, 1000]
    );
}

#[test]
fn exponential_with_a_fractional_multiplier() {
    let policy = exponential(
        Duration::from_secs(1),
        1.5,
        Duration::from_secs(60),
        Jitter::None,
    );
    assert_eq!(
        ms(policy.into_iter().take(5)),
        [1000, 1500, 2250, 3375, 5062]
    );
}

#[test]
fn exponential_stays_at_the_cap_for_any_attempt() {
    let policy = exponential(
        Duration::from_nanos(1),
        2.0,
        Duration::from_secs(3),
        Jitter::None,
    );
    let mut rng = Rng::with_seed(0);
    for attempt in [64, 65, 1000, u32::MAX - 1, u32::MAX] {
        assert_eq!(
            policy.delay(attempt, Duration::ZERO, &mut rng),
            Duration::from_secs(3)
        );
    }
}

#[test]
fn fibonacci_sequence() {
    let policy = Fibonacci::builder()
        .initial(Duration::from_millis(10))
        .max_delay(Duration::from_millis(100))
        .jitter(Jitter::None)
        .build()
        .unwrap();
    assert_eq!(
        ms(policy.into_iter().take(9)),
        [10, 10, 20, 30, 50, 80, 100, 100, 100]
    );
}

#[test]
fn constant_sequence() {
    let policy = Constant::new(Duration::from_millis(7)).jitter(Jitter::None);
    assert_eq!(ms(policy.into_iter().take(3)), [7, 7, 7]);
}

#[test]
fn decorrelated_follows_the_aws_formula() {
    let base = Duration::from_millis(10);
    let cap = Duration::from_secs(2);
    let policy = Decorrelated::builder()
        .base(base)
        .max_delay(cap)
        .build()
        .unwrap();
    let mut prev = base;
    for delay in policy.delays_seeded(11).take(1000) {
        assert!(
            delay >= base && delay <= (prev * 3).min(cap),
            "{delay:?} after {prev:?}"
        );
        prev = delay;
    }
}

#[test]
fn seeded_delays_repeat() {
    let policy = Exponential::default();
    let a: Vec<_> = policy.delays_seeded(99).take(10).collect();
    let b: Vec<_> = policy.delays_seeded(99).take(10).collect();
    assert_eq!(a, b);
}

#[test]
fn builders_refuse_bad_input() {
    let multiplier = |m| Exponential::builder().multiplier(m).build().unwrap_err();
    assert!(multiplier(0.99).is_invalid_multiplier());
    assert!(multiplier(f64::NAN).is_invalid_multiplier());
    assert!(multiplier(f64::INFINITY).is_invalid_multiplier());
    assert!(multiplier(-2.0).is_invalid_multiplier());
    let above = Duration::from_secs(11);
    assert!(
        Exponential::builder()
            .initial(above)
            .build()
            .unwrap_err()
            .is_initial_above_max()
    );
    assert!(
        Fibonacci::builder()
            .initial(above)
            .build()
            .unwrap_err()
            .is_initial_above_max()
    );
    assert!(
        Decorrelated::builder()
            .base(above)
            .build()
            .unwrap_err()
            .is_initial_above_max()
    );
    assert!(Exponential::builder().multiplier(1.0).build().is_ok());
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..=10_000_000_000).prop_map(Duration::from_nanos),
        any::<u64>().prop_map(Duration::from_nanos),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

fn bounds() -> impl Strategy<Value = (Duration, Duration)> {
    (duration(), duration()).prop_map(|(a, b)| (a.min(b), a.max(b)))
}

fn cap_of(max: Duration) -> Duration {
    max.min(Duration::from_nanos(u64::MAX))
}

proptest! {
    #[test]
    fn full_jitter_stays_within_zero_and_the_cap(
        (initial, max) in bounds(), multiplier in 1.0f64..1000.0, attempt in any::<u32>(), seed in any::<u64>(),
    ) {
        let policy = exponential(initial, multiplier, max, Jitter::Full);
        let mut rng = Rng::with_seed(seed);
        let delay = policy.delay(attempt, Duration::ZERO, &mut rng);
        prop_assert!(delay <= cap_of(max));
    }

    #[test]
    fn equal_jitter_stays_within_half_and_whole(
        (initial, max) in bounds(), multiplier in 1.0f64..1000.0, attempt in any::<u32>(), seed in any::<u64>(),
    ) {
        let exact = exponential(initial, multiplier, max, Jitter::None);
        let equal = exponential(initial, multiplier, max, Jitter::Equal);
        let mut rng = Rng::with_seed(seed);
        let d = exact.delay(attempt, Duration::ZERO, &mut rng);
        let delay = equal.delay(attempt, Duration::ZERO, &mut rng);
        prop_assert!(d <= cap_of(max));
        prop_assert!(delay >= d / 2 && delay <= d, "{:?} not in [{:?}, {:?}]", delay, d / 2, d);
    }

    #[test]
    fn exponential_never_shrinks(
        (initial, max) in bounds(), multiplier in 1.0f64..64.0, attempt in 1u32..u32::MAX,
    ) {
        let policy = exponential(initial, multiplier, max, Jitter::None);
        let mut rng = Rng::with_seed(0);
        let now = policy.delay(attempt, Duration::ZERO, &mut rng);
        let next = policy.delay(attempt + 1, Duration::ZERO, &mut rng);
        prop_assert!(now <= next);
    }

    #[test]
    fn fibonacci_and_decorrelated_respect_the_cap(
        (initial, max) in bounds(), attempt in any::<u32>(), prev in duration(), seed in any::<u64>(),
        jitter in prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal)],
    ) {
        let mut rng = Rng::with_seed(seed);
        let fib = Fibonacci::builder().initial(initial).max_delay(max).jitter(jitter).build().unwrap();
        prop_assert!(fib.delay(attempt, prev, &mut rng) <= cap_of(max));
        let dec = Decorrelated::builder().base(initial).max_delay(max).build().unwrap();
        let delay = dec.delay(attempt, prev, &mut rng);
        prop_assert!(delay <= cap_of(max) && delay >= cap_of(initial));
    }

    #[test]
    fn constant_jitter_bounds(delay in duration(), seed in any::<u64>()) {
        let mut rng = Rng::with_seed(seed);
        let d = cap_of(delay);
        prop_assert!(Constant::new(delay).delay(1, Duration::ZERO, &mut rng) <= d);
        let equal = Constant::new(delay).jitter(Jitter::Equal).delay(u32::MAX, Duration::ZERO, &mut rng);
        prop_assert!(equal >= d / 2 && equal <= d);
    }
}

#[test]
fn the_constructors_that_cannot_fail_match_their_builders() {
    let (initial, max) = (Duration::from_millis(100), Duration::from_secs(1));
    let built = Exponential::builder()
        .initial(initial)
        .multiplier(2.0)
        .max_delay(max)
        .build()
        .unwrap();
    assert_eq!(Exponential::new(initial, max), built);
    let built = Fibonacci::builder()
        .initial(initial)
        .max_delay(max)
        .build()
        .unwrap();
    assert_eq!(Fibonacci::new(initial, max), built);
    let built = Decorrelated::builder()
        .base(initial)
        .max_delay(max)
        .build()
        .unwrap();
    assert_eq!(Decorrelated::new(initial, max), built);
}

#[test]
fn the_constructors_that_cannot_fail_lower_an_initial_above_the_cap() {
    let (initial, max) = (Duration::from_secs(5), Duration::from_secs(1));
    let exponential = Exponential::new(initial, max).jitter(Jitter::None);
    let fibonacci = Fibonacci::new(initial, max).jitter(Jitter::None);
    assert!(exponential.into_iter().take(5).all(|d| d == max));
    assert!(fibonacci.into_iter().take(5).all(|d| d == max));
    let decorrelated = Decorrelated::new(initial, max);
    assert!(decorrelated.delays_seeded(3).take(5).all(|d| d == max));
    // Durations too long for nanoseconds in a u64 saturate; nothing panics.
    let huge = Exponential::new(Duration::MAX, Duration::MAX).jitter(Jitter::None);
    assert_eq!(huge.max_delay(), Duration::from_nanos(u64::MAX));
    assert_eq!(
        huge.into_iter().nth(40),
        Some(Duration::from_nanos(u64::MAX))
    );
    let zero = Fibonacci::new(Duration::ZERO, Duration::ZERO);
    assert!(zero.into_iter().take(5).all(|d| d.is_zero()));
}
