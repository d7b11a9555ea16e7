//! Deadlines and the ambient context: children (in place and tasks) see
//! the context where the scope was opened, not the one at the `spawn`
//! call; a child's own `within` narrows only that child; a `within` around
//! the scope bounds its children.

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_deadline::{Deadline, current, within};
use anyrt_scope::Scope;

const SEC: Duration = Duration::from_secs(1);

// A clock that moves only by hand (here: never), so the task's trip
// through the runtime cannot race an auto-advance; what is checked is
// which deadline the children see, not when it fires.
#[anyrt_test::test]
async fn children_see_the_deadline_where_the_scope_was_opened() {
    let clock = VirtualClock::new();
    let opened = Deadline::at(clock.now() + 10 * SEC);
    let seen = anyrt_core::with_timer(
        clock.clone(),
        within(10 * SEC, async {
            let s = Scope::<()>::new();
            s.run(async {
                // Spawned under a narrower deadline, polled under the scope's.
                let (in_place, task) = within(SEC, async {
                    (
                        s.spawn(async { Ok(current()) }),
                        s.spawn_task(async { Ok(current()) }),
                    )
                })
                .await
                .unwrap();
                Ok((in_place.await, task.await))
            })
            .await
        }),
    )
    .await;
    assert_eq!(seen, Ok(Ok((Some(opened), Some(opened)))));
}

#[anyrt_test::test(virtual_time)]
async fn a_childs_own_within_narrows_only_that_child(clock: VirtualClock) {
    let opened = Deadline::at(clock.now() + 10 * SEC);
    let narrowed = Deadline::at(clock.now() + 2 * SEC);
    let seen = within(10 * SEC, async {
        let s = Scope::<()>::new();
        s.run(async {
            let narrow = s.spawn(async { Ok(within(2 * SEC, async { current() }).await) });
            let sibling = s.spawn(async {
                anyrt_core::sleep(3 * SEC).await;
                Ok(current())
            });
            Ok((narrow.await, sibling.await, current()))
        })
        .await
    })
    .await;
    assert_eq!(
        seen,
        Ok(Ok((Ok(Some(narrowed)), Some(opened), Some(opened))))
    );
}

#[anyrt_test::test(virtual_time)]
async fn a_within_around_the_scope_bounds_its_children(clock: VirtualClock) {
    let dropped = AtomicUsize::new(0);
    struct Guard<'c>(&'c AtomicUsize);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let s = Scope::<()>::new();
    let outcome = within(
        5 * SEC,
        s.run(async {
            let guard = Guard(&dropped);
            s.spawn(async move {
                let _guard = guard;
                anyrt_core::sleep(20 * SEC).await;
                Ok(())
            });
            s.spawn_task(async { pending::<Result<(), ()>>().await });
            Ok(())
        }),
    )
    .await;
    assert!(outcome.is_err(), "the deadline ended the scope");
    assert_eq!(clock.elapsed(), 5 * SEC);
    assert_eq!(dropped.load(SeqCst), 1, "the child was dropped");
    assert!(!s.is_running());
}

#[anyrt_test::test(virtual_time)]
#[allow(clippy::async_yields_async)] // the handle is awaited outside the timer override
async fn children_use_the_timer_where_the_scope_was_opened(clock: VirtualClock) {
    let other = VirtualClock::new();
    other.advance(1000 * SEC);
    let s = Scope::<()>::new();
    let seen = s
        .run(async {
            let child = anyrt_core::with_timer(other.clone(), async {
                s.spawn(async {
                    anyrt_core::sleep(SEC).await;
                    Ok(anyrt_core::now())
                })
            })
            .await;
            Ok(child.await)
        })
        .await
        .unwrap();
    assert_eq!(seen, clock.now(), "the child slept on the scope's clock");
    assert_eq!(clock.elapsed(), SEC);
}
