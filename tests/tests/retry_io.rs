//! Retry on real I/O: connect to a loopback port whose listener starts
//! only after a few refusals.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use anyrt_retry::{Constant, Jitter, retry_with};

struct Server {
    addr: SocketAddr,
    attempts: u32,
    listener: Option<TcpListener>,
}

#[anyrt_test::test]
async fn connects_once_the_listener_starts() -> io::Result<()> {
    let addr = anyrt_tests::tcp::refused_addr()?;
    let mut server = Server {
        addr,
        attempts: 0,
        listener: None,
    };
    let mut refusals = 0;
    let stream = retry_with(&mut server, async |server: &mut Server| {
        server.attempts += 1;
        if server.attempts == 4 {
            server.listener = Some(TcpListener::bind(server.addr).expect("rebind the port"));
        }
        async_net::TcpStream::connect(server.addr).await
    })
    .backoff(Constant::new(Duration::from_millis(5)).jitter(Jitter::None))
    .max_attempts(10)
    .when(|e: &io::Error| e.kind() == io::ErrorKind::ConnectionRefused)
    .notify(|_: &io::Error, _, _| refusals += 1)
    .await
    .map_err(|e| e.into_inner())?;
    assert_eq!(stream.peer_addr()?, addr);
    assert_eq!((server.attempts, refusals), (4, 3));
    let (_accepted, from) = server.listener.take().unwrap().accept()?;
    assert_eq!(from, stream.local_addr()?);
    Ok(())
}
