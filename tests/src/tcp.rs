//! Loopback TCP servers on `async-net`, which run under every runtime
//! (async-io drives them on its own thread when the runtime does not).

use std::io;
use std::net::SocketAddr;

use async_net::{TcpListener, TcpStream};
use futures_lite::io::{copy, split};

/// Binds an echo server on a free loopback port and serves it on a task
/// spawned through `anyrt-core`; dropping the task stops the server.
pub async fn echo_server() -> io::Result<(SocketAddr, anyrt_core::Task<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = anyrt_core::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            anyrt_core::spawn(echo(stream)).detach();
        }
    });
    Ok((addr, task))
}

async fn echo(stream: TcpStream) {
    let (mut reader, mut writer) = split(stream);
    let _ = copy(&mut reader, &mut writer).await;
}

/// A loopback address on which nothing listens (connecting is refused), at
/// least until somebody binds it again.
pub fn refused_addr() -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()
}
