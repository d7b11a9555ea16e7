//! A pool of real TCP connections to a loopback echo server, shared by
//! many tasks: every reply matches its request, also when requests are
//! cancelled mid-flight (their connection is then marked broken, so its
//! late reply can never reach the next user).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyrt_pool::{Pool, PoolGuard};
use anyrt_tests::cancel::cancel_after;
use async_net::TcpStream;
use futures_lite::{AsyncReadExt, AsyncWriteExt};

/// Marks the connection broken unless the exchange ran to its end.
struct InFlight<'a, M: anyrt_pool::Manager>(Option<&'a mut PoolGuard<M>>);

impl<M: anyrt_pool::Manager> Drop for InFlight<'_, M> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.mark_broken();
        }
    }
}

async fn exchange<M>(conn: &mut PoolGuard<M>, request: &[u8]) -> io::Result<Vec<u8>>
where
    M: anyrt_pool::Manager<Type = TcpStream>,
{
    let mut in_flight = InFlight(Some(conn));
    let stream: &mut TcpStream = in_flight.0.as_mut().expect("set");
    stream.write_all(request).await?;
    let mut reply = vec![0; request.len()];
    stream.read_exact(&mut reply).await?;
    in_flight.0 = None;
    Ok(reply)
}

#[anyrt_test::test]
async fn replies_match_requests_under_cancellation() {
    let (addr, _server) = anyrt_tests::tcp::echo_server().await.unwrap();
    let pool = Pool::from_fn(move || TcpStream::connect(addr))
        .max_size(4)
        .build()
        .unwrap();
    let completed = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let (pool, completed, cancelled) = (pool.clone(), completed.clone(), cancelled.clone());
            anyrt_core::spawn(async move {
                for i in 0..20 {
                    let request = format!("task {task} request {i};").into_bytes();
                    let mut conn = pool.get().await.unwrap();
                    // Every third request is cut after its first poll, when
                    // it has written and waits for the reply.
                    let polls = if i % 3 == 0 { 1 } else { usize::MAX };
                    match cancel_after(polls, exchange(&mut conn, &request)).await {
                        Some(reply) => {
                            assert_eq!(reply.unwrap(), request, "crosstalk");
                            completed.fetch_add(1, Ordering::Relaxed);
                        }
                        None => {
                            cancelled.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    let (completed, cancelled) = (
        completed.load(Ordering::Relaxed),
        cancelled.load(Ordering::Relaxed),
    );
    assert_eq!(completed + cancelled, 16 * 20);
    assert!(cancelled > 0, "some requests were cut mid-flight");
    let status = pool.status();
    assert_eq!(status.discarded.broken as usize, cancelled);
    assert!(status.size <= 4 && status.in_use == 0, "{status:?}");
}
