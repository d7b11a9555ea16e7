//! What the time operators share: the window that a yielded item opens
//! (the throttles', and the one `pace` keeps the next item out of), and the
//! pass-through of a zero duration.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::stream::Stream;

use crate::timer::due_after;

/// The window that an item a throttle (or `pace`) yielded opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    /// No item yielded yet: the next one goes out at once.
    Closed,
    /// Open until this instant, excluded.
    Until(Instant),
    /// Open for good: the duration saturates as `Duration::MAX` does.
    Forever,
}

impl Window {
    /// The window of an item yielded at `now`.
    pub(crate) fn opened_at(now: Instant, duration: Duration) -> Self {
        due_after(now, duration).map_or(Window::Forever, Window::Until)
    }

    /// Whether an item that arrives at `now` falls in the window.
    pub(crate) fn is_open_at(self, now: Instant) -> bool {
        match self {
            Window::Closed => false,
            Window::Until(end) => now < end,
            Window::Forever => true,
        }
    }
}

/// The upstream's poll, for a zero duration: every item goes through.
pub(crate) fn pass_through<S: Stream>(
    stream: Pin<&mut S>,
    done: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<S::Item>> {
    if *done {
        return Poll::Ready(None);
    }
    let poll = stream.poll_next(cx);
    *done = matches!(poll, Poll::Ready(None));
    poll
}

/// The size hint of an operator that holds at most one item and yields at
/// least one more whenever it holds one or the upstream has one coming
/// (`debounce`, `throttle_latest`); a zero duration passes items through.
pub(crate) fn held_size_hint(
    held: bool,
    done: bool,
    zero: bool,
    (low, high): (usize, Option<usize>),
) -> (usize, Option<usize>) {
    let held = usize::from(held);
    if done {
        return (held, Some(held));
    }
    if zero {
        return (low, high);
    }
    let low = usize::from(held > 0 || low > 0);
    (low, high.and_then(|high| high.checked_add(held)))
}
