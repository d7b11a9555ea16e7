//! Regressions found reviewing `spawn_wait`'s boxing of its child and the
//! supervisor's handling of a dropped run's outcomes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use anyrt_scope::{Scope, Supervisor};

/// Runs `f` on a thread of its own; `None` if it has not ended within
/// 10 s (a hang).
fn ends<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<std::thread::Result<T>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    rx.recv_timeout(Duration::from_secs(10)).ok()
}

/// Compiles only for a `Sync` value.
fn sync<T: Sync>(_: &T) {}

/// `Scope::spawn_wait`'s future keeps its boxed child in a mutex (never
/// locked), so that boxing the child at the call left the future `Sync`,
/// as it was when it held the child's future itself.
#[test]
fn spawn_wait_future_is_sync_when_its_child_is() {
    let s = Scope::<String>::new();
    let scope_wait = s.spawn_wait(std::future::ready(Ok::<u8, String>(1)));
    sync(&scope_wait);
    let sup = Supervisor::<u8, String>::new();
    let sup_wait = sup.spawn_wait(std::future::ready(Ok::<u8, String>(1)));
    sync(&sup_wait);
}

/// An output whose destructor uses its supervisor (here: spawns into it,
/// which is rejected outside a run).
struct UsesSupervisorOnDrop;

static SUPERVISOR: std::sync::OnceLock<&'static Supervisor<'static, UsesSupervisorOnDrop, ()>> =
    std::sync::OnceLock::new();

impl Drop for UsesSupervisorOnDrop {
    fn drop(&mut self) {
        if let Some(sup) = SUPERVISOR.get() {
            let _ = sup.spawn(async { Err(()) });
        }
    }
}

/// Outcomes left by a supervised run whose future was dropped are dropped
/// by the next `run`, after the scope's lock: an outcome whose destructor
/// calls back into the supervisor deadlocked on that lock before. Its
/// spawn, made once the next run has begun, is a child of that run.
#[test]
fn an_outcome_whose_destructor_uses_its_supervisor_is_dropped_after_the_lock() {
    let out = ends(|| {
        let sup: &'static Supervisor<'static, UsesSupervisorOnDrop, ()> =
            Box::leak(Box::new(Supervisor::new()));
        SUPERVISOR.set(sup).ok();
        futures::executor::block_on(async {
            // One poll: the child finishes and leaves its outcome; then
            // the run's future is dropped, the outcome still in the list.
            let first = anyrt_tests::cancel::cancel_after(
                1,
                sup.run(async {
                    sup.spawn(async { Ok(UsesSupervisorOnDrop) });
                    std::future::pending::<()>().await
                }),
            )
            .await;
            assert!(first.is_none());
            let ((), outcomes) = sup.run(async {}).await;
            (outcomes.len(), outcomes.iter().all(Result::is_err))
        })
    });
    assert_eq!(
        out.expect("the next run ends (no deadlock)")
            .expect("no panic"),
        (1, true),
        "the destructor's spawn joined the next run"
    );
}
