//! The in-place scope's future is `Send` when its body and children are:
//! a library function that opens a scope can be spawned by its caller on a
//! multi-threaded runtime.

use std::convert::Infallible;
use std::time::Duration;

use anyrt_scope::Scope;

/// A library function: borrows its input, fans out over it with a scope
/// whose children spawn siblings and await each other's handles.
async fn checksum(data: &[u32]) -> Result<u64, Infallible> {
    let s = Scope::new();
    s.run(async {
        let mut handles = Vec::new();
        for chunk in data.chunks(3) {
            let s = &s;
            handles.push(s.spawn(async move {
                anyrt_core::sleep(Duration::from_millis(1)).await;
                let tail = s.spawn(async move { Ok(chunk.len() as u64) });
                let sum: u64 = chunk.iter().map(|&x| u64::from(x)).sum();
                Ok(sum * 1000 + tail.await)
            }));
        }
        let mut total = 0;
        for handle in handles {
            total += handle.await;
        }
        Ok(total)
    })
    .await
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn a_function_using_a_scope_is_spawned_on_tokio_multi_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let total = runtime.block_on(async {
        let data: Vec<u32> = (1..=10).collect();
        tokio::spawn(assert_send(async move { checksum(&data).await }))
            .await
            .expect("the task ends without panicking")
    });
    assert_eq!(total, Ok(55 * 1000 + 10));
}

#[anyrt_test::test]
async fn the_same_function_runs_on_every_runtime() {
    let data: Vec<u32> = (1..=10).collect();
    assert_eq!(checksum(&data).await, Ok(55 * 1000 + 10));
}

/// The futures of a `TaskGroup` whose outputs borrow for `'static` can be
/// held by a combinator inside a spawned task. While their `Future` impls
/// were bound by `T: 'static`, such a future failed to compile inside
/// `spawn` ("implementation of `Send` is not general enough": the
/// compiler cannot prove the bound on the lifetimes it erases inside a
/// future).
#[anyrt_test::test]
async fn task_group_futures_of_static_borrows_join_inside_spawned_tasks() {
    use anyrt_scope::TaskGroup;
    let outer = anyrt_core::spawn(async {
        let mut next = TaskGroup::new();
        next.spawn(async { "next" });
        let mut all = TaskGroup::new();
        all.spawn(async { "all" });
        let mut fallible = TaskGroup::new();
        fallible.spawn(async { Ok::<_, &'static str>("ok") });
        let mut stopped = TaskGroup::<&'static str>::new();
        stopped.spawn(std::future::pending());
        let (next, all, fallible, ()) = futures::join!(
            next.join_next(),
            all.join_all(),
            fallible.try_join_all(),
            stopped.shutdown(),
        );
        (next, all, fallible)
    });
    assert_eq!(outer.await, (Some("next"), vec!["all"], Ok(vec!["ok"])));
}
