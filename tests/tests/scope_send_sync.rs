//! The auto traits of every public type of anyrt-scope: what may cross
//! threads, as a multi-threaded runtime needs.

use std::future::{Future, ready};

use anyrt_scope::futures::{
    Cancelled, GroupSpawnWait, JoinAll, JoinNext, Run, RunUntilCancelled, RunUntilCancelledOwned,
    Shutdown, SpawnWait, SupervisedRun, TryJoinAll,
};
use anyrt_scope::{
    CancelReason, CancelToken, DropGuard, Handle, Scope, Supervisor, TaskGroup, TrySpawnError,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn the_types_are_send_and_sync() {
    send_sync::<Scope<'static, String>>();
    send_sync::<Supervisor<'static, u8, String>>();
    send_sync::<Handle<'static, u8>>();
    send_sync::<TaskGroup<u8>>();
    send_sync::<CancelToken>();
    send_sync::<CancelReason>();
    send_sync::<DropGuard>();
    send_sync::<Cancelled<'static>>();
    send_sync::<JoinNext<'static, u8>>();
    send_sync::<JoinAll<u8>>();
    send_sync::<TryJoinAll<u8, String>>();
    send_sync::<Shutdown<'static, u8>>();
    send_sync::<RunUntilCancelled<'static, std::future::Ready<u8>>>();
    send_sync::<RunUntilCancelledOwned<std::future::Ready<u8>>>();
    send_sync::<GroupSpawnWait<'static, u8, std::future::Ready<u8>>>();
    send_sync::<TrySpawnError<std::future::Ready<u8>>>();
}

#[test]
fn the_futures_are_send_when_their_parts_are() {
    let s = Scope::<String>::new();
    let run: Run<'_, '_, _, u8, String> = s.run(async {
        let wait: SpawnWait<'_, '_, _, String> = s.spawn_wait(ready(Ok::<u8, String>(1)));
        send(&wait);
        let handle = wait.await;
        Ok(handle.await)
    });
    send(&run);
    assert_eq!(futures::executor::block_on(run), Ok(1));

    let sup = Supervisor::<u8, String>::new();
    let supervised: SupervisedRun<'_, '_, _, u8, String> = sup.run(async {
        sup.spawn(ready(Ok(2)));
    });
    send(&supervised);
    assert_eq!(futures::executor::block_on(supervised).1, [Ok(2)]);

    let mut group = TaskGroup::<u8>::new();
    group.spawn(ready(3));
    let next = group.join_next();
    send(&next);
    assert_eq!(futures::executor::block_on(next), Some(3));
    let mut limited = TaskGroup::<u8>::with_limit(std::num::NonZeroUsize::MIN);
    let wait = limited.spawn_wait(ready(4));
    send(&wait);
    futures::executor::block_on(wait);
    assert_eq!(futures::executor::block_on(limited.join_next()), Some(4));
    fn is_future<F: Future>(_: &F) {}
    is_future(&group.shutdown());
}
