//! Retry with backoff (work in progress).
