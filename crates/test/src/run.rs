//! Running a test body on one runtime.

use std::future::Future;
use std::time::Duration;

use anyrt_core::{Runtime, VirtualClock, with_runtime, with_value};
use futures::future::Either;

use crate::watchdog::{OnTimeout, Watchdog};

/// The runtimes a test runs on; each names one generated `#[test]`.
///
/// # Examples
///
/// ```
/// use anyrt_test::TestRuntime;
///
/// // Drive an async body on a runtime by hand, outside the macro.
/// let answer = TestRuntime::BlockOn.block_on(async { 40 + 2 });
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TestRuntime {
    /// `smol::block_on` (feature `smol`).
    #[cfg(feature = "smol")]
    Smol,
    /// A current-thread tokio runtime with all drivers enabled (feature
    /// `tokio`).
    #[cfg(feature = "tokio")]
    TokioCurrentThread,
    /// A multi-thread tokio runtime with two workers (feature `tokio`).
    #[cfg(feature = "tokio")]
    TokioMultiThread,
    /// `async_std::task::block_on`, with `Runtime::AsyncStd` as the ambient
    /// runtime (feature `async-std`; legacy, async-std is discontinued
    /// upstream).
    #[cfg(feature = "async-std")]
    AsyncStd,
    /// `futures::executor::block_on`, with `Runtime::Fallback` as the ambient runtime.
    BlockOn,
}

impl TestRuntime {
    /// The name of the generated test, such as `tokio_multi_thread`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyrt_test::TestRuntime::BlockOn.name(), "block_on");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "smol")]
            TestRuntime::Smol => "smol",
            #[cfg(feature = "tokio")]
            TestRuntime::TokioCurrentThread => "tokio_current_thread",
            #[cfg(feature = "tokio")]
            TestRuntime::TokioMultiThread => "tokio_multi_thread",
            #[cfg(feature = "async-std")]
            TestRuntime::AsyncStd => "async_std",
            TestRuntime::BlockOn => "block_on",
        }
    }

    /// Drives `future` to completion on this runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// let name = anyrt_test::TestRuntime::Smol.block_on(async { anyrt::Runtime::current().name() });
    /// assert_eq!(name, "smol");
    /// # }
    /// ```
    pub fn block_on<F: Future>(self, future: F) -> F::Output {
        match self {
            #[cfg(feature = "smol")]
            TestRuntime::Smol => smol::block_on(future),
            #[cfg(feature = "tokio")]
            TestRuntime::TokioCurrentThread => {
                tokio_runtime(tokio::runtime::Builder::new_current_thread()).block_on(future)
            }
            #[cfg(feature = "tokio")]
            TestRuntime::TokioMultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                tokio_runtime(builder).block_on(future)
            }
            #[cfg(feature = "async-std")]
            TestRuntime::AsyncStd => {
                async_std::task::block_on(with_runtime(Runtime::AsyncStd, future))
            }
            TestRuntime::BlockOn => {
                futures::executor::block_on(with_runtime(Runtime::Fallback, future))
            }
        }
    }
}

#[cfg(feature = "tokio")]
fn tokio_runtime(mut builder: tokio::runtime::Builder) -> tokio::runtime::Runtime {
    builder
        .enable_all()
        .build()
        .expect("anyrt-test: cannot build a tokio runtime")
}

/// How the generated test asked to be run.
#[doc(hidden)]
#[derive(Debug)]
pub struct Options {
    /// The test's path, for messages.
    pub name: &'static str,
    /// Run under an auto-advancing virtual clock.
    pub virtual_time: bool,
    /// The watchdog's limit in real time.
    pub timeout: Duration,
    /// The test carries `#[should_panic]`: a hang ends the process, since
    /// the watchdog's panic would count as the expected one.
    pub should_panic: bool,
}

/// Runs one generated test: builds the body, puts the clock under it if
/// asked, and drives it on `runtime` under the watchdog.
#[doc(hidden)]
pub fn run<T, Fut>(runtime: TestRuntime, options: Options, test: T) -> Fut::Output
where
    T: FnOnce(Option<VirtualClock>) -> Fut,
    Fut: Future,
{
    let clock = options.virtual_time.then(VirtualClock::new);
    // Boxed where it is made: the layers below (the clock, the watchdog,
    // the runtime's `block_on`) then move a pointer, so a body that keeps
    // a large local across an await fits a test thread's stack.
    let body = Box::pin(test(clock.clone()));
    let body = match &clock {
        Some(clock) => Either::Left(clock.auto_advance(body)),
        None => Either::Right(body),
    };
    let label = format!("{} on runtime `{}`", options.name, runtime.name());
    let on_timeout = match options.should_panic {
        true => OnTimeout::Exit,
        false => OnTimeout::Panic,
    };
    // Dropped after `block_on` has dropped the runtime, also when it
    // unwinds: a runtime whose shutdown hangs is still watched.
    let (watchdog, _done) = Watchdog::new(body, options.timeout, label, clock, on_timeout);
    runtime.block_on(with_value(runtime, watchdog))
}

/// The runtime the calling test runs on, inside a test made by
/// `#[anyrt_test::test]` (also in tasks it spawns through `anyrt-core`);
/// `None` elsewhere.
///
/// # Examples
///
/// ```
/// assert_eq!(anyrt_test::runtime(), None);
/// ```
pub fn runtime() -> Option<TestRuntime> {
    anyrt_core::value::<TestRuntime>()
}
