//! Timeouts and deadlines (work in progress).
