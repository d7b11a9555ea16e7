//! The ambient deadline: `within`, `within_deadline`, `current`,
//! `remaining`, nesting, in-place children, spawned tasks and
//! `without_deadline`.

use std::future::pending;
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_deadline::{
    Deadline, DeadlineExt, current, remaining, within, within_deadline, without_deadline,
};
use futures_lite::future::zip;

const SEC: Duration = Duration::from_secs(1);

async fn nested_current() -> Option<Deadline> {
    async { current() }.await
}

#[anyrt_test::test(virtual_time)]
async fn no_deadline_outside_within() {
    assert_eq!(current(), None);
    assert_eq!(remaining(), None);
}

#[anyrt_test::test(virtual_time)]
async fn within_sets_and_enforces(clock: VirtualClock) {
    let expected = Deadline::at(clock.now() + 10 * SEC);
    let seen = within(10 * SEC, async {
        anyrt_core::sleep(3 * SEC).await;
        (current(), remaining())
    })
    .await;
    assert_eq!(seen, Ok((Some(expected), Some(7 * SEC))));
    assert_eq!(current(), None);

    assert!(within(10 * SEC, pending::<()>()).await.is_err());
    assert_eq!(clock.elapsed(), 13 * SEC);
    assert_eq!(clock.pending_sleepers(), 0);
}

#[anyrt_test::test(virtual_time)]
async fn within_deadline_and_extension(clock: VirtualClock) {
    let at = Deadline::at(clock.now() + 2 * SEC);
    assert_eq!(within_deadline(at, async { current() }).await, Ok(Some(at)));
    assert!(within_deadline(at, pending::<()>()).await.is_err());
    assert_eq!(clock.now(), at.instant());
    assert!(pending::<()>().within(SEC).await.is_err());
    assert_eq!(clock.elapsed(), 3 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn inner_shorter_wins(clock: VirtualClock) {
    let outcome = within(10 * SEC, async {
        let inner = Deadline::at(clock.now() + 5 * SEC);
        assert_eq!(within(5 * SEC, async { current() }).await, Ok(Some(inner)));
        within(5 * SEC, pending::<()>()).await
    })
    .await;
    assert_eq!(outcome.map(|inner| inner.is_err()), Ok(true));
    assert_eq!(clock.elapsed(), 5 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn inner_longer_cannot_extend(clock: VirtualClock) {
    let outer = Deadline::at(clock.now() + 5 * SEC);
    let seen = within(5 * SEC, async { within(10 * SEC, nested_current()).await }).await;
    assert_eq!(seen, Ok(Ok(Some(outer))));

    let outcome = within(5 * SEC, within(10 * SEC, pending::<()>())).await;
    assert!(outcome.and_then(|inner| inner).is_err());
    assert_eq!(clock.elapsed(), 5 * SEC);

    let outcome = within(SEC, within(Duration::MAX, anyrt_core::sleep(3600 * SEC))).await;
    assert!(outcome.and_then(|inner| inner).is_err());
    assert_eq!(clock.elapsed(), 6 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn outer_deadline_binds_at_first_poll(clock: VirtualClock) {
    // Made outside, polled inside: the deadline it sees is the one where it runs.
    let probe = within(60 * SEC, async { current() });
    let outer = Deadline::at(clock.now() + SEC);
    assert_eq!(within(SEC, probe).await, Ok(Ok(Some(outer))));
}

#[anyrt_test::test(virtual_time)]
async fn duration_max_within(clock: VirtualClock) {
    let left = within(Duration::MAX, async { remaining() }).await.unwrap();
    assert!(left.is_some_and(|left| left > Duration::from_secs(29 * 365 * 24 * 3600)));
    assert_eq!(within(Duration::MAX, anyrt_core::sleep(SEC)).await, Ok(()));
    assert_eq!(clock.elapsed(), SEC);
}

#[anyrt_test::test(virtual_time)]
async fn in_place_children_see_it(clock: VirtualClock) {
    let expected = Some(Deadline::at(clock.now() + 5 * SEC));
    let seen = within(5 * SEC, async {
        let a = async {
            anyrt_core::sleep(SEC).await;
            nested_current().await
        };
        let b = async { current() };
        let (x, (y, z)) = zip(
            a,
            zip(b, futures::future::join(nested_current(), nested_current())),
        )
        .await;
        [x, y, z.0, z.1]
    })
    .await;
    assert_eq!(seen, Ok([expected; 4]));
}

#[anyrt_test::test(virtual_time)]
#[allow(clippy::async_yields_async)] // The task is awaited outside the `within`, on purpose.
async fn spawned_tasks_inherit_it(clock: VirtualClock) {
    let outer = Some(Deadline::at(clock.now() + 5 * SEC));
    // Awaited outside the `within`: under virtual time, waiting on another
    // thread with a sleeper pending would let the clock jump past it.
    let task = within(5 * SEC, async { anyrt_core::spawn(async { current() }) })
        .await
        .unwrap();
    assert_eq!(task.await, outer);

    // The task outlives the `within` that spawned it, but a `within` inside
    // it still cannot pass the spawner's deadline. (One sleeper at a time
    // in tasks on other threads: the auto-advancing clock cannot see them
    // being woken, and would jump on to the next sleeper.)
    let task = within(5 * SEC, async {
        anyrt_core::spawn(async { within(60 * SEC, pending::<()>()).await })
    })
    .await
    .unwrap();
    assert!(task.await.is_err());
    assert_eq!(clock.elapsed(), 5 * SEC);
}

#[anyrt_test::test(virtual_time)]
async fn without_deadline_hides_it(clock: VirtualClock) {
    let seen = within(SEC, without_deadline(async { (current(), remaining()) })).await;
    assert_eq!(seen, Ok((None, None)));

    let own = Deadline::at(clock.now() + 10 * SEC);
    let seen = within(SEC, without_deadline(within(10 * SEC, nested_current()))).await;
    assert_eq!(seen, Ok(Ok(Some(own))));

    // Outside the hidden part, the deadline is back.
    let outer = Deadline::at(clock.now() + SEC);
    let seen = within(SEC, async {
        without_deadline(async {}).await;
        current()
    })
    .await;
    assert_eq!(seen, Ok(Some(outer)));
}

#[anyrt_test::test(virtual_time)]
#[allow(clippy::async_yields_async)] // The task is awaited outside the `within`, on purpose.
async fn spawned_cleanup_outlives_the_deadline(clock: VirtualClock) {
    let task = within(SEC, async {
        anyrt_core::spawn(without_deadline(async {
            let own = within(3 * SEC, async { remaining() }).await;
            anyrt_core::sleep(2 * SEC).await;
            (own, current())
        }))
    })
    .await
    .unwrap();
    assert_eq!(task.await, (Ok(Some(3 * SEC)), None));
    assert_eq!(clock.elapsed(), 2 * SEC);
}
