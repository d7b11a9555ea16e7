//! Conformance: the auto traits every public type of anyrt-core promises.

use anyrt_core::futures::{AnySleep, AutoAdvance, VirtualSleep, WithAmbient, YieldNow};
use anyrt_core::{Ambient, AmbientRuntime, Runtime, Task, VirtualClock};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}

type Fut = std::future::Ready<u8>;

#[test]
fn public_types_are_send_and_sync_where_promised() {
    send::<AnySleep>();
    send::<VirtualSleep>();
    unpin::<VirtualSleep>();
    send::<Task<u8>>();
    sync::<Task<u8>>();
    unpin::<Task<u8>>();
    send::<WithAmbient<Fut>>();
    send::<AutoAdvance<Fut>>();
    send::<Ambient>();
    sync::<Ambient>();
    send::<Runtime>();
    sync::<Runtime>();
    send::<AmbientRuntime>();
    sync::<AmbientRuntime>();
    send::<VirtualClock>();
    sync::<VirtualClock>();
    send::<YieldNow>();
    sync::<YieldNow>();
    unpin::<YieldNow>();
}

/// Tasks whose output borrows for `'static` can be awaited through a
/// combinator inside another spawned task. While `Task`'s `Future` impl
/// was bound by `T: 'static`, such a future failed to compile inside
/// `spawn` ("implementation of `Send` is not general enough": the
/// compiler cannot prove the bound on the lifetimes it erases inside a
/// future).
#[anyrt_test::test]
async fn tasks_of_static_borrows_join_inside_spawned_tasks() {
    let outer = anyrt_core::spawn(async {
        let a = anyrt_core::spawn(async { "a" });
        let b = anyrt_core::spawn_blocking(|| "b");
        futures::join!(a, b)
    });
    assert_eq!(outer.await, ("a", "b"));
}
