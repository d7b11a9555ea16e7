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
