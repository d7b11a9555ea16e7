//! Panics provoked on purpose, kept off stderr.

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
