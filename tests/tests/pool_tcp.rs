//! A pool of real TCP connections to a loopback echo server, shared by
//! many tasks: every reply matches its request, also when requests are
//! cancelled mid-flight (their connection is then discarded, by the caller
//! marking it broken or by the manager's return check, so its late reply
//! can never reach the next user).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyrt_pool::{Manager, Metrics, Pool, PoolGuard};
use anyrt_tests::cancel::cancel_after;
use async_net::TcpStream;
use futures_lite::{AsyncReadExt, AsyncWriteExt};

type Exchange<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<u8>>> + Send + 'a>>;

/// 16 tasks x 20 requests on `pool` (of 4), every third cut after its
/// first poll, when it has written and waits for the reply: asserts that
/// every reply that arrives matches its request, and that exactly the cut
/// connections were discarded as broken.
async fn requests_cut_mid_flight<M: Manager>(
    pool: Pool<M>,
    exchange: for<'a> fn(&'a mut PoolGuard<M>, &'a [u8]) -> Exchange<'a>,
) where
    M::Error: std::fmt::Debug,
{
    let completed = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let (pool, completed, cancelled) = (pool.clone(), completed.clone(), cancelled.clone());
            anyrt_core::spawn(async move {
                for i in 0..20 {
                    let request = format!("task {task} request {i};").into_bytes();
                    let mut conn = pool.get().await.unwrap();
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
    let completed = completed.load(Ordering::Relaxed);
    let cancelled = cancelled.load(Ordering::Relaxed);
    assert_eq!(completed + cancelled, 16 * 20);
    assert!(cancelled > 0, "some requests were cut mid-flight");
    let status = pool.status();
    assert_eq!(status.discarded.broken as usize, cancelled);
    assert!(status.size <= 4 && status.in_use == 0, "{status:?}");
}

/// Marks the connection broken unless the exchange ran to its end.
struct InFlight<'a, M: Manager>(Option<&'a mut PoolGuard<M>>);

impl<M: Manager> Drop for InFlight<'_, M> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.mark_broken();
        }
    }
}

async fn exchange<M>(conn: &mut PoolGuard<M>, request: &[u8]) -> io::Result<Vec<u8>>
where
    M: Manager<Type = TcpStream>,
{
    let mut in_flight = InFlight(Some(conn));
    let stream: &mut TcpStream = in_flight.0.as_mut().expect("set");
    stream.write_all(request).await?;
    let mut reply = vec![0; request.len()];
    stream.read_exact(&mut reply).await?;
    in_flight.0 = None;
    Ok(reply)
}

fn marking_exchange<'a, M>(conn: &'a mut PoolGuard<M>, request: &'a [u8]) -> Exchange<'a>
where
    M: Manager<Type = TcpStream>,
{
    Box::pin(exchange(conn, request))
}

#[anyrt_test::test]
async fn replies_match_requests_under_cancellation() {
    let (addr, _server) = anyrt_tests::tcp::echo_server().await.unwrap();
    let pool = Pool::from_fn(move || TcpStream::connect(addr))
        .max_size(4)
        .build()
        .unwrap();
    requests_cut_mid_flight(pool, marking_exchange).await;
}

/// A connection that knows whether an exchange on it was cut short.
struct Conn {
    stream: TcpStream,
    in_flight: bool,
}

/// Its manager discards, at return, a connection cut mid-flight.
struct Conns(SocketAddr);

impl Manager for Conns {
    type Type = Conn;
    type Error = io::Error;

    async fn create(&self) -> io::Result<Conn> {
        let stream = TcpStream::connect(self.0).await?;
        Ok(Conn {
            stream,
            in_flight: false,
        })
    }

    fn is_broken(&self, conn: &mut Conn, _: &Metrics) -> bool {
        conn.in_flight
    }
}

/// An exchange that only flags itself: no guard in the caller.
fn flagging_exchange<'a>(conn: &'a mut PoolGuard<Conns>, request: &'a [u8]) -> Exchange<'a> {
    Box::pin(async move {
        conn.in_flight = true;
        conn.stream.write_all(request).await?;
        let mut reply = vec![0; request.len()];
        conn.stream.read_exact(&mut reply).await?;
        conn.in_flight = false;
        Ok(reply)
    })
}

#[anyrt_test::test]
async fn the_managers_return_check_keeps_a_cut_connection_from_the_next_user() {
    let (addr, _server) = anyrt_tests::tcp::echo_server().await.unwrap();
    let pool = Pool::builder(Conns(addr)).max_size(4).build().unwrap();
    requests_cut_mid_flight(pool, flagging_exchange).await;
}
