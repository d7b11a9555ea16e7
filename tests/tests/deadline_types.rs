//! `Deadline` arithmetic and comparison, and the auto traits of every public
//! type.

use std::future::Ready;
use std::time::{Duration, Instant};

use anyrt_core::VirtualClock;
use anyrt_deadline::futures::{Timeout, Within, WithoutDeadline};
use anyrt_deadline::{Deadline, Elapsed};

const SEC: Duration = Duration::from_secs(1);

#[anyrt_test::test(virtual_time)]
async fn remaining_and_expiry_follow_the_clock(clock: VirtualClock) {
    let deadline = Deadline::after(10 * SEC);
    assert_eq!(deadline.instant(), clock.now() + 10 * SEC);
    assert_eq!(deadline.remaining(), 10 * SEC);
    assert!(!deadline.is_expired());
    clock.advance(4 * SEC);
    assert_eq!(deadline.remaining(), 6 * SEC);
    clock.advance(6 * SEC);
    assert!(deadline.is_expired());
    assert_eq!(deadline.remaining(), Duration::ZERO);
    clock.advance(SEC);
    assert_eq!(deadline.remaining(), Duration::ZERO);
}

#[anyrt_test::test(virtual_time)]
async fn comparison_and_min(clock: VirtualClock) {
    let soon = Deadline::at(clock.now() + SEC);
    let late = Deadline::after(2 * SEC);
    assert!(soon < late);
    assert_eq!(soon.min(late), soon);
    assert_eq!(late.min(soon), soon);
    assert_eq!(soon.max(late), late);
    assert_eq!(Deadline::from(soon.instant()), soon);
    assert_eq!(Instant::from(late), late.instant());
}

#[test]
fn huge_durations_saturate() {
    let never = Deadline::after(Duration::MAX);
    assert!(never.instant() >= anyrt_core::far_future());
    assert!(never.remaining() > Duration::from_secs(29 * 365 * 24 * 3600));
    assert!(!never.is_expired());
    assert!(Deadline::after(Duration::ZERO).is_expired());
}

fn send<T: Send>() {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn auto_traits() {
    send_sync::<Deadline>();
    send_sync::<Elapsed>();
    send::<Timeout<Ready<()>>>();
    send::<Within<Ready<()>>>();
    send::<WithoutDeadline<Ready<()>>>();
}
