//! Panics provoked on purpose, kept off stderr, and futures polled
//! through them.

use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;

/// The message of the panics a test provokes on purpose.
pub const PROVOKED: &str = "provoked panic";

/// Installs a panic hook that reports every panic but those with the
/// message [`PROVOKED`], to the hook that was there before.
pub fn quiet_provoked_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        if message != Some(PROVOKED) {
            default(info);
        }
    }));
}

/// Polls `fut` on the caller's runtime, catching panics, until it is
/// ready or has panicked twice: the output, if any, and how many polls
/// panicked.
pub async fn poll_to_end_caught<F: Future>(mut fut: Pin<&mut F>) -> (Option<F::Output>, usize) {
    let mut panics = 0;
    poll_fn(|cx| {
        while panics < 2 {
            match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                Ok(Poll::Ready(output)) => return Poll::Ready((Some(output), panics)),
                Ok(Poll::Pending) => return Poll::Pending,
                Err(_) => panics += 1,
            }
        }
        Poll::Ready((None, panics))
    })
    .await
}
