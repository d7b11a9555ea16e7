//! `Timer`: one boxed sleep per operator, made on first need and reset for
//! every later deadline, so operators stay `Unpin` and allocate once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use anyrt_core::Sleep;
use anyrt_core::futures::AnySleep;

#[derive(Default)]
pub(crate) struct Timer {
    sleep: Option<Pin<Box<AnySleep>>>,
}

impl Timer {
    /// Sets the deadline, keeping the sleep (and its registration) if
    /// there is one.
    pub(crate) fn set(&mut self, deadline: Instant) {
        match &mut self.sleep {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
            }
            None => self.sleep = Some(Box::pin(anyrt_core::sleep_until(deadline))),
        }
    }

    /// Polls the sleep; a timer never set is pending forever.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sleep {
            Some(sleep) => f.debug_tuple("Timer").field(&sleep.deadline()).finish(),
            None => f.write_str("Timer(unset)"),
        }
    }
}
