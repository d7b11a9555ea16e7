//! The operators of `StreamOps`, one file each.

mod batch;
mod buffer;
mod chunks_timeout;
mod debounce;
mod map_concurrent;
mod map_concurrent_unordered;
mod pace;
mod rate_limit;
mod slots;
mod throttle;
mod throttle_latest;
mod timeout_each;
mod window;

pub(crate) use batch::Batch;
pub use buffer::Buffer;
pub use chunks_timeout::{ChunksTimeout, TryChunksTimeout};
pub use debounce::Debounce;
pub use map_concurrent::MapConcurrent;
pub use map_concurrent_unordered::MapConcurrentUnordered;
pub use pace::Pace;
pub use rate_limit::{RateLimit, RateLimitBy, Rejected};
pub use throttle::Throttle;
pub use throttle_latest::ThrottleLatest;
pub use timeout_each::TimeoutEach;
