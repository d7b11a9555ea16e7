//! Retry on real I/O: connect to a loopback port whose listener starts
//! only after a few refusals.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use anyrt_core::VirtualClock;
use anyrt_retry::{Constant, Jitter, retry, retry_with};

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

/// A library function that returns `io::Result` and retries with `?`.
async fn read_config(failures: &std::cell::Cell<u32>) -> io::Result<&'static str> {
    let config = retry(|| async {
        failures.set(failures.get() + 1);
        Err::<&'static str, _>(io::Error::new(io::ErrorKind::NotFound, "no config yet"))
    })
    .backoff(Constant::new(Duration::from_secs(1)).jitter(Jitter::None))
    .max_attempts(3)
    .await?;
    Ok(config)
}

#[anyrt_test::test(virtual_time)]
async fn question_mark_turns_a_retry_error_into_an_io_error_of_the_last_kind(clock: VirtualClock) {
    let failures = std::cell::Cell::new(0);
    let err = read_config(&failures).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert_eq!(failures.get(), 3);
    assert_eq!(clock.elapsed(), Duration::from_secs(2));
    // The retry's own error is inside, and the last error is its source.
    let inner = err.get_ref().expect("the retry error is kept");
    let retry = inner
        .downcast_ref::<anyrt_retry::RetryError<io::Error>>()
        .expect("a RetryError<io::Error>");
    assert_eq!(retry.attempts(), 3);
    let source = std::error::Error::source(retry).expect("the last error");
    assert_eq!(source.to_string(), "no config yet");
}
