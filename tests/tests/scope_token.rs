//! `CancelToken`: trees, reasons, idempotence, drop guards, waiters; the
//! scope's token reachable from its children and from nested scopes and
//! tasks.

use std::future::pending;
use std::time::Duration;

use anyrt_scope::{CancelReason, CancelToken, Scope, TaskGroup};

#[test]
fn a_tree_of_tokens_cancels_downwards_only() {
    let root = CancelToken::new();
    let a = root.child();
    let a1 = a.child();
    let b = root.child();
    assert!(a.cancel_with("a only"));
    assert!(a.is_cancelled() && a1.is_cancelled());
    assert!(!root.is_cancelled() && !b.is_cancelled());
    assert_eq!(a1.reason().unwrap().to_string(), "a only");

    assert!(root.cancel_with("everything"));
    assert!(b.is_cancelled());
    assert_eq!(b.reason().unwrap().to_string(), "everything");
    assert_eq!(
        a.reason().unwrap().to_string(),
        "a only",
        "the first reason wins"
    );
    let late = root.child();
    assert_eq!(
        late.reason().unwrap().to_string(),
        "everything",
        "born cancelled"
    );
}

#[test]
fn cancel_is_idempotent_and_the_first_reason_wins() {
    let token = CancelToken::new();
    let clone = token.clone();
    assert!(token.reason().is_none());
    assert!(clone.cancel_with(CancelReason::new(std::io::Error::other("disk full"))));
    assert!(!token.cancel());
    assert!(!token.cancel_with("again"));
    let reason = token.reason().unwrap();
    assert_eq!(reason.to_string(), "disk full");
    assert!(reason.downcast_ref::<std::io::Error>().is_some());
    assert!(std::error::Error::source(&reason).is_some());
}

#[test]
fn a_deep_tree_cancels_without_recursion() {
    let root = CancelToken::new();
    let mut leaf = root.child();
    let mut chain = Vec::new();
    for _ in 0..100_000 {
        let next = leaf.child();
        chain.push(leaf);
        leaf = next;
    }
    root.cancel();
    assert!(leaf.is_cancelled());
}

#[test]
fn regression_a_cancel_reaches_descendants_of_dropped_tokens() {
    // A node listed its children weakly and nothing kept it alive once its
    // tokens were dropped, so the link from the root to the leaf was lost.
    let root = CancelToken::new();
    let mut leaf = root.child();
    for _ in 0..100_000 {
        leaf = leaf.child();
    }
    root.cancel_with("shutdown");
    assert!(leaf.is_cancelled());
    assert_eq!(leaf.reason().unwrap().to_string(), "shutdown");
    // The 100,000 ancestors it kept alive go with it, without recursion.
    drop(leaf);
    let survivor = root.child().child();
    assert!(survivor.is_cancelled());
}

#[test]
fn a_chain_of_dropped_tokens_is_freed_without_recursion_when_its_leaf_goes() {
    let root = CancelToken::new();
    let mut leaf = root.child();
    for _ in 0..100_000 {
        leaf = leaf.child();
    }
    drop(leaf);
    let live = root.child();
    root.cancel();
    assert!(live.is_cancelled());
}

#[test]
fn dropped_children_do_not_pile_up() {
    let root = CancelToken::new();
    for _ in 0..100_000 {
        drop(root.child());
    }
    // Still works, and cancels the live child.
    let live = root.child();
    root.cancel();
    assert!(live.is_cancelled());
}

#[test]
fn the_drop_guard_cancels_unless_disarmed() {
    let token = CancelToken::new();
    let guard = token.clone().drop_guard();
    let token = guard.disarm();
    assert!(!token.is_cancelled());
    {
        let _guard = token.clone().drop_guard();
    }
    assert!(token.is_cancelled());
}

#[anyrt_test::test]
async fn cancelled_wakes_every_waiter_and_is_level_triggered() {
    let token = CancelToken::new();
    let mut group = TaskGroup::new();
    for _ in 0..4 {
        let token = token.clone();
        group.spawn(async move {
            token.cancelled().await;
            token.reason().map(|r| r.to_string())
        });
    }
    anyrt_core::sleep(Duration::from_millis(1)).await;
    token.child().cancel();
    assert!(!token.is_cancelled());
    token.cancel_with("stop");
    assert_eq!(group.join_all().await, vec![Some("stop".to_string()); 4]);
    token.cancelled().await;
}

#[anyrt_test::test]
async fn the_scope_token_reaches_children_nested_scopes_and_tasks() {
    let outer = Scope::<String>::new();
    let outcome = outer
        .run(async {
            let token = outer.token();
            assert!(!token.is_cancelled());
            // A child sees the scope's token as the ambient one.
            let child_token = outer.spawn(async { Ok(CancelToken::current()) });
            let nested = outer.spawn(async {
                let inner = Scope::<String>::new();
                inner
                    .run(async {
                        let inner_token = inner.token();
                        let task = inner.spawn_task(async {
                            let ambient = CancelToken::current().expect("tasks carry the token");
                            ambient.cancelled().await;
                            Ok(ambient.reason().map(|r| r.to_string()))
                        });
                        let seen = inner.spawn(async move {
                            inner_token.cancelled().await;
                            Ok(inner_token.reason().map(|r| r.to_string()))
                        });
                        Ok((task.await, seen.await))
                    })
                    .await
            });
            let child_token = child_token.await.expect("a child sees a token");
            anyrt_core::yield_now().await;
            assert!(child_token.cancel_with("from the outer scope"));
            assert!(token.is_cancelled(), "the child saw the scope's own token");
            Ok(nested.await)
        })
        .await;
    let (task, seen) = outcome.expect("no error");
    let expected = Some("from the outer scope".to_string());
    assert_eq!(
        task, expected,
        "the cancel reached a task of a nested scope"
    );
    assert_eq!(seen, expected, "the cancel reached a nested scope's token");
}

#[anyrt_test::test]
async fn a_scope_token_is_cancelled_when_the_scope_ends() {
    let s = Scope::<()>::new();
    let token = s
        .run(async {
            let token = s.token();
            let watcher = token.clone();
            s.spawn(async move {
                pending::<()>().await;
                drop(watcher);
                Ok(())
            });
            Err::<CancelToken, _>(())
        })
        .await;
    assert!(token.is_err());
    assert!(s.token().is_cancelled());
    assert!(
        CancelToken::current().is_none(),
        "nothing leaks out of the run"
    );
}

#[anyrt_test::test]
async fn an_owned_wait_for_cancellation_is_static_and_can_be_dropped() {
    fn spawnable<F: std::future::Future + Send + 'static>(future: F) -> F {
        future
    }
    let token = CancelToken::new();
    // Dropped while registered: the token is unaffected, and a later wait
    // still completes.
    let mut early = Box::pin(spawnable(token.child().cancelled_owned()));
    assert!(futures::poll!(early.as_mut()).is_pending());
    drop(early);
    let waiter = anyrt_core::spawn(spawnable(token.child().cancelled_owned()));
    anyrt_core::yield_now().await;
    assert!(token.cancel_with("shutdown"));
    waiter.await;
    // Level-triggered: made after the cancel, ready at its first poll.
    let late = token.cancelled_owned();
    assert!(futures::poll!(Box::pin(late)).is_ready());
}
