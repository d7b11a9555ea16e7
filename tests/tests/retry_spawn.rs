//! A library's retrying method, spawned by an application on tokio's
//! multi-threaded runtime: the retry future must be `Send` where the
//! library wrote it the documented way.

use std::io;
use std::time::Duration;

use anyrt_retry::{Constant, retry, retry_with};

/// A client as a library would write it: its method retries with
/// `retry_with(self, ..)`, lending itself to each attempt.
struct Client {
    endpoints: Vec<String>,
    tried: Vec<String>,
}

impl Client {
    fn new(endpoints: &[&str]) -> Self {
        Client {
            endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
            tried: Vec::new(),
        }
    }

    /// One attempt: the next endpoint, which answers only if it is "up".
    async fn send(&mut self) -> io::Result<String> {
        let endpoint = self.endpoints.remove(0);
        tokio::task::yield_now().await;
        self.tried.push(endpoint.clone());
        match endpoint.as_str() {
            "up" => Ok(endpoint),
            _ => Err(io::Error::from(io::ErrorKind::ConnectionRefused)),
        }
    }

    /// The library's method: retries `send`, lending the client.
    async fn fetch(&mut self) -> io::Result<String> {
        let reply = retry_with(self, async |client: &mut Client| client.send().await)
            .backoff(Constant::new(Duration::from_millis(1)))
            .max_attempts(5)
            .await?;
        Ok(reply)
    }
}

/// Another library function: owned data moved into each attempt.
async fn fetch_owned(endpoints: Vec<String>) -> io::Result<String> {
    let mut next = 0;
    let reply = retry(|| {
        let endpoint = endpoints[next].clone();
        next += 1;
        async move {
            tokio::task::yield_now().await;
            if endpoint == "up" {
                Ok(endpoint)
            } else {
                Err(io::Error::from(io::ErrorKind::ConnectionRefused))
            }
        }
    })
    .backoff(Constant::new(Duration::from_millis(1)))
    .max_attempts(5)
    .await?;
    Ok(reply)
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn a_method_written_with_retry_with_self_can_be_spawned_on_tokio_multi_thread() {
    let out = multi_thread().block_on(async {
        let task = tokio::spawn(async move {
            let mut client = Client::new(&["down", "down", "up"]);
            let reply = client.fetch().await;
            (reply, client.tried)
        });
        task.await.unwrap()
    });
    let (reply, tried) = out;
    assert_eq!(reply.unwrap(), "up");
    assert_eq!(tried, ["down", "down", "up"]);
}

#[test]
fn a_retry_of_owned_data_can_be_spawned_on_tokio_multi_thread() {
    let reply = multi_thread().block_on(async {
        let endpoints = vec!["down".to_string(), "up".to_string()];
        tokio::spawn(fetch_owned(endpoints)).await.unwrap()
    });
    assert_eq!(reply.unwrap(), "up");
}

#[test]
fn a_spawned_retry_that_gives_up_keeps_the_last_error_kind() {
    let err = multi_thread().block_on(async {
        let task = tokio::spawn(async move {
            let mut client = Client::new(&["down"; 5]);
            client.fetch().await
        });
        task.await.unwrap().unwrap_err()
    });
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let retry = err.get_ref().unwrap();
    let retry = retry.downcast_ref::<anyrt_retry::RetryError<io::Error>>();
    assert_eq!(retry.map(|r| r.attempts()), Some(5));
}
