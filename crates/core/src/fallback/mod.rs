//! The zero-configuration fallbacks used when no runtime is found.

pub(crate) mod blocking;
pub(crate) mod spawn;
pub(crate) mod timer;

/// Whether this process has started the fallback timer thread or thread pool.
///
/// An application that enables a runtime feature and runs inside that
/// runtime never starts them; this lets it check.
///
/// # Examples
///
/// ```
/// // Nothing has slept or spawned yet in this doctest.
/// assert!(!anyrt::fallback_started());
/// ```
pub fn fallback_started() -> bool {
    timer::started() || spawn::started()
}

/// How many sleeps are queued on the fallback timer right now: a leak
/// check for code that runs on it (a completed or dropped sleep is not
/// counted).
///
/// # Examples
///
/// ```
/// assert_eq!(anyrt::fallback_pending_sleepers(), 0);
/// ```
pub fn fallback_pending_sleepers() -> usize {
    timer::pending()
}
