//! `Runtime`: the runtime adapters as one value, and their detection.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::Spawn;
use crate::ambient::{self, Ambient, WithAmbient};
use crate::sleep::{AnySleep, Plan};
use crate::task::{Inner, Task};
use crate::timer::{self, BoxSleep, Timer, deadline_after};

/// A runtime whose timer and spawner anyrt uses.
///
/// [`Runtime::current`] finds the one in use; a value can also be named
/// explicitly and used as a [`Timer`] and [`Spawn`]. Variants exist only
/// with their cargo feature.
///
/// # Detection order
///
/// 1. an override set by [`with_runtime`](crate::with_runtime) around the
///    calling future (inherited by tasks spawned through anyrt);
/// 2. with feature `tokio`: the tokio runtime the calling thread is inside;
/// 3. with feature `smol`: smol (async-io's timer, smol's global executor);
/// 4. with feature `async-std`: async-std (async-io's timer, its executor);
/// 5. the fallback timer thread and thread pool.
///
/// smol and async-std leave no trace on the thread that polls their
/// futures, so when both features are on, smol is chosen unless an
/// override says otherwise; the two share async-io's timer, so only the
/// spawner differs.
///
/// # Examples
///
/// ```
/// // Outside any tokio runtime, with no runtime feature on:
/// # #[cfg(not(any(feature = "tokio", feature = "smol", feature = "async-std")))]
/// assert_eq!(anyrt::Runtime::current().name(), "fallback");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Runtime {
    /// A tokio runtime, by its handle.
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Handle),
    /// smol: async-io's timer and smol's global executor.
    #[cfg(feature = "smol")]
    Smol,
    /// async-std: async-io's timer and async-std's executor.
    #[cfg(feature = "async-std")]
    AsyncStd,
    /// The fallback timer thread and the `futures` thread pool, both
    /// started on first use.
    Fallback,
}

impl Runtime {
    /// The runtime in use here: the override, else what [`detect`] finds.
    ///
    /// Log it at startup to see which runtime anyrt will use: a tokio
    /// application whose `anyrt` dependency lacks `features = ["tokio"]`
    /// gets `fallback` here, and its tasks then run on anyrt's fallback
    /// pool, where tokio I/O panics with "there is no reactor running".
    ///
    /// [`detect`]: Runtime::detect
    ///
    /// # Examples
    ///
    /// ```
    /// // In an application's startup:
    /// let runtime = anyrt::Runtime::current();
    /// println!("anyrt runs on {}", runtime.name());
    /// # #[cfg(not(any(feature = "tokio", feature = "smol", feature = "async-std")))]
    /// assert_eq!(runtime.name(), "fallback");
    /// ```
    pub fn current() -> Runtime {
        ambient::with_ref::<RuntimeOverride, _>(|runtime| runtime.map(|runtime| runtime.0.clone()))
            .unwrap_or_else(Runtime::detect)
    }

    /// The runtime found from the calling thread and the enabled features,
    /// ignoring any override (see the type's docs for the order).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{with_runtime, Runtime};
    ///
    /// # futures_lite::future::block_on(async {
    /// let (current, detected) = with_runtime(Runtime::Fallback, async {
    ///     (Runtime::current().name(), Runtime::detect().name())
    /// })
    /// .await;
    /// assert_eq!(current, "fallback");
    /// assert_eq!(detected, Runtime::detect().name()); // the override is ignored
    /// # });
    /// ```
    pub fn detect() -> Runtime {
        #[cfg(feature = "tokio")]
        if let Some(handle) = crate::rt::tokio::current() {
            return Runtime::Tokio(handle);
        }
        #[cfg(feature = "smol")]
        return Runtime::Smol;
        #[cfg(all(feature = "async-std", not(feature = "smol")))]
        return Runtime::AsyncStd;
        #[allow(unreachable_code)]
        Runtime::Fallback
    }

    /// A short lowercase name: `tokio`, `smol`, `async-std` or `fallback`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(anyrt::Runtime::Fallback.name(), "fallback");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio(_) => "tokio",
            #[cfg(feature = "smol")]
            Runtime::Smol => "smol",
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => "async-std",
            Runtime::Fallback => "fallback",
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Timer for Runtime {
    type Sleep = AnySleep;

    fn now(&self) -> Instant {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio(_) => real_now(),
            // The other timers sleep on the system clock: theirs, also
            // inside a tokio runtime whose clock is paused.
            #[allow(unreachable_patterns)]
            _ => Instant::now(),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> AnySleep {
        self.choice(deadline).into_sleep()
    }
}

impl Runtime {
    /// This runtime's timer, for a sleep until `deadline`.
    fn choice(&self, deadline: Instant) -> Choice {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio(handle) => Choice::Planned(deadline, Plan::Handle(handle.clone())),
            #[cfg(feature = "smol")]
            Runtime::Smol => Choice::Planned(deadline, Plan::AsyncIo),
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => Choice::Planned(deadline, Plan::AsyncIo),
            Runtime::Fallback => Choice::Planned(deadline, Plan::Fallback),
        }
    }
}

impl Spawn for Runtime {
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if crate::task::boxed_on_spawn::<F>() {
            return self.spawn_sized(Box::pin(future));
        }
        self.spawn_sized(future)
    }
}

impl Runtime {
    /// [`Spawn::spawn`] of a future small enough to be moved by value.
    fn spawn_sized<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // With no context to carry, the task needs no wrapper: nothing is
        // swapped in and out around its polls.
        let ambient = Ambient::capture();
        if ambient.is_empty() {
            self.spawn_bound(future)
        } else {
            let (future, watch) = ambient.attach_task(future);
            self.spawn_bound(future).watched(watch)
        }
    }

    #[inline]
    fn spawn_bound<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let inner = match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio(handle) => Inner::Tokio(handle.spawn(future)),
            #[cfg(feature = "smol")]
            Runtime::Smol => Inner::Smol(smol::spawn(future)),
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => {
                // async-std's own handle is dropped, which lets the task
                // run; the remote handle cancels it when dropped, and says
                // it is finished once the outcome is there to be taken.
                let (remote, handle) = crate::remote::remote(future);
                drop(async_std::task::spawn(remote));
                Inner::AsyncStd(handle)
            }
            Runtime::Fallback => Inner::Fallback(crate::fallback::spawn::spawn(future)),
        };
        Task::new(inner)
    }
}

/// The runtime override, an ambient value.
pub(crate) struct RuntimeOverride(pub(crate) Runtime);

impl crate::Ambient {
    /// The runtime's part of the current context: the timer and runtime
    /// overrides in force (a [`VirtualClock`](crate::VirtualClock), say)
    /// and the task hooks of the clock that auto-advances, without any
    /// value of the work running here (a deadline, the cancel token of a
    /// scope, a request's [`with_value`](crate::with_value)).
    ///
    /// For work started on behalf of one caller that goes on for others,
    /// and must outlive that caller's deadline and cancellation: a pool's
    /// creation that a `get` starts and that fills the idle set after the
    /// `get` gave up. [`attach`](crate::Ambient::attach) it to the
    /// future before it is spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{Ambient, value, with_value};
    ///
    /// # futures_lite::future::block_on(async {
    /// let shared = with_value("request 7", async {
    ///     Ambient::capture_runtime().attach(async { value::<&str>() }).await
    /// })
    /// .await;
    /// assert_eq!(shared, None, "the request's value stays with the request");
    /// # });
    /// ```
    pub fn capture_runtime() -> crate::Ambient {
        use std::any::TypeId;
        let kept = [
            TypeId::of::<RuntimeOverride>(),
            TypeId::of::<crate::timer::TimerOverride>(),
        ];
        crate::Ambient::capture().only(&kept)
    }
}

/// Runs `future` with `runtime` as its ambient runtime, instead of the one
/// [`Runtime::detect`] would find: its timer (unless a timer override is in
/// force) and its spawner.
///
/// Useful when several runtime features are on and detection cannot tell
/// which executor is driving the future (smol and async-std both run on
/// async-io, and a bare `block_on` leaves no trace).
///
/// # Cancel safety
///
/// See [`WithAmbient`].
///
/// # Examples
///
/// ```
/// use anyrt::{with_runtime, Runtime};
///
/// let name = futures_lite::future::block_on(with_runtime(Runtime::Fallback, async {
///     Runtime::current().name()
/// }));
/// assert_eq!(name, "fallback");
/// ```
pub fn with_runtime<F>(runtime: Runtime, future: F) -> WithAmbient<F> {
    ambient::with_value(RuntimeOverride(runtime), future)
}

/// The runtime found at call time, as a [`Timer`] and [`Spawn`] value.
///
/// Each call looks up the ambient context: a timer override, a runtime
/// override, else [`Runtime::detect`]. This is what the free functions
/// [`now`](crate::now), [`sleep`](crate::sleep) and [`spawn`](crate::spawn)
/// use, and what a pattern crate stores when it wants a `Timer` value.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::{AmbientRuntime, Timer};
///
/// # futures_lite::future::block_on(async {
/// let start = AmbientRuntime.now();
/// AmbientRuntime.sleep(Duration::from_millis(1)).await;
/// assert!(AmbientRuntime.now() - start >= Duration::from_millis(1));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AmbientRuntime;

impl Timer for AmbientRuntime {
    type Sleep = AnySleep;

    #[inline]
    fn now(&self) -> Instant {
        if ambient::is_empty() {
            return real_now();
        }
        timer::with_override(|timer| match timer {
            Some(timer) => timer.now(),
            None => overridden_now(),
        })
    }

    #[inline]
    fn sleep_until(&self, deadline: Instant) -> AnySleep {
        // Outside any wrapper (the common case) one check of a thread-local
        // leads straight to the detected runtime's timer.
        if ambient::is_empty() {
            detected(deadline).into_sleep()
        } else {
            in_context(When::At(deadline)).into_sleep()
        }
    }

    #[inline]
    fn sleep(&self, duration: Duration) -> AnySleep {
        if ambient::is_empty() {
            detected(deadline_after(real_now(), duration)).into_sleep()
        } else {
            in_context(When::After(duration)).into_sleep()
        }
    }
}

/// When an ambient sleep ends: a relative one reads its timer's clock.
#[derive(Clone, Copy)]
enum When {
    At(Instant),
    After(Duration),
}

impl When {
    #[inline]
    fn resolve(self, now: impl FnOnce() -> Instant) -> Instant {
        match self {
            When::At(deadline) => deadline,
            When::After(duration) => deadline_after(now(), duration),
        }
    }
}

/// The timer chosen for a sleep, and its deadline. Choosing (which may take
/// a call) writes only this small value; [`Choice::into_sleep`] then makes
/// the sleep with stores alone, tokio's excepted, so that a sleep of
/// async-io's or the fallback timer is built where it is stored. (A sleep
/// written by a call on one path and by stores on another is built in a
/// temporary and moved, and that move of a value just written field by
/// field stalls on store forwarding.)
enum Choice {
    /// tokio's timer, of the runtime the caller is inside.
    #[cfg(feature = "tokio")]
    Tokio(Instant),
    /// A timer whose sleep is made at its first poll.
    Planned(Instant, Plan),
    /// The sleep of a timer override, already made.
    Boxed(BoxSleep),
}

impl Choice {
    #[inline]
    fn into_sleep(self) -> AnySleep {
        match self {
            #[cfg(feature = "tokio")]
            Choice::Tokio(deadline) => AnySleep::tokio(deadline),
            Choice::Planned(deadline, plan) => AnySleep::planned(deadline, plan),
            Choice::Boxed(sleep) => AnySleep::boxed(sleep),
        }
    }
}

/// The timer under a context: its timer override, else its runtime
/// override, else the detected runtime (a context may hold only values).
#[inline(never)]
fn in_context(when: When) -> Choice {
    let overridden = timer::with_override(|timer| {
        timer.map(|timer| timer.sleep_until(when.resolve(|| timer.now())))
    });
    if let Some(sleep) = overridden {
        return Choice::Boxed(sleep);
    }
    ambient::with_ref::<RuntimeOverride, _>(|runtime| match runtime {
        Some(runtime) => runtime.0.choice(when.resolve(|| runtime.0.now())),
        None => detected(when.resolve(real_now)),
    })
}

/// The clock of the runtime override, if the context holds one (its
/// timer's clock), else the runtime's clock.
#[inline(never)]
fn overridden_now() -> Instant {
    ambient::with_ref::<RuntimeOverride, _>(|runtime| match runtime {
        Some(runtime) => runtime.0.now(),
        None => real_now(),
    })
}

/// The time on the runtime's clock: tokio's inside tokio (which a paused
/// tokio runtime moves on its own), else the monotonic clock.
#[inline]
pub(crate) fn real_now() -> Instant {
    #[cfg(feature = "tokio")]
    return tokio::time::Instant::now().into_std();
    #[allow(unreachable_code)]
    Instant::now()
}

/// Whether [`now`](crate::now) reads the system's monotonic clock here,
/// `std::time::Instant::now()`: no timer override (a
/// [`VirtualClock`](crate::VirtualClock)) is in force and, with feature
/// `tokio`, the calling thread is not inside a tokio runtime, whose clock a
/// paused runtime moves on its own, unless a runtime override other than
/// tokio's is in force ([`with_runtime`]): the other runtimes' timers, and
/// so their clocks, are the system's.
///
/// `false` does not say that the clock is another: inside tokio it usually
/// is the system's. This is for code that keeps a cheaper reading of the
/// system clock of its own (a CPU counter anchored to `Instant::now`): it
/// may use that reading only where this is `true`, and calls
/// [`now`](crate::now) elsewhere. Outside every wrapper and runtime it
/// costs two flag reads and, with feature `tokio`, one question to tokio
/// (for the current handle; a thread seen driving a runtime asks for its
/// worker index first, which copies no handle).
///
/// # Examples
///
/// ```
/// use anyrt::{reads_system_clock, with_timer, VirtualClock};
///
/// # futures_lite::future::block_on(async {
/// assert!(reads_system_clock()); // outside every wrapper and runtime
/// let under_virtual_time = with_timer(VirtualClock::new(), async { reads_system_clock() });
/// assert!(!under_virtual_time.await);
/// # });
/// ```
#[inline]
pub fn reads_system_clock() -> bool {
    if !ambient::is_empty() {
        if timer_overridden() {
            return false;
        }
        if let Some(on_tokio) = overridden_on_tokio() {
            return !on_tokio;
        }
    }
    #[cfg(feature = "tokio")]
    if crate::rt::tokio::inside_mostly_outside() {
        return false;
    }
    true
}

/// Whether the current context holds a timer override: a search of its
/// values, kept out of line (as `in_context` is) so that the callers of
/// [`reads_system_clock`], outside every wrapper, inline only the flag.
#[inline(never)]
fn timer_overridden() -> bool {
    timer::with_override(|timer| timer.is_some())
}

/// Whether the current context's runtime override is tokio, if it holds
/// one: the other runtimes' timers read the system clock.
#[inline(never)]
fn overridden_on_tokio() -> Option<bool> {
    ambient::with_ref::<RuntimeOverride, _>(|runtime| {
        runtime.map(|runtime| runtime.0.name() == "tokio")
    })
}

/// The timer of the detected runtime, without building a `Runtime` value.
#[inline]
fn detected(deadline: Instant) -> Choice {
    #[cfg(feature = "tokio")]
    if crate::rt::tokio::inside() {
        return Choice::Tokio(deadline);
    }
    Choice::Planned(deadline, Plan::without_tokio())
}

impl Spawn for AmbientRuntime {
    #[inline]
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if crate::task::boxed_on_spawn::<F>() {
            return spawn_sized(Box::pin(future));
        }
        spawn_sized(future)
    }
}

/// [`AmbientRuntime`]'s spawn of a future small enough to be moved by value.
#[inline]
fn spawn_sized<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Outside any wrapper there is no override to honour and no context
    // to carry: one check of the thread-local, then the detected
    // runtime's own spawn.
    if ambient::is_empty() {
        detected_spawn(future)
    } else {
        Runtime::current().spawn_sized(future)
    }
}

/// A spawn on the detected runtime, without building a `Runtime` value or
/// copying a tokio handle.
#[inline]
fn detected_spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[cfg(feature = "tokio")]
    if crate::rt::tokio::inside() {
        return Task::new(Inner::Tokio(tokio::spawn(future)));
    }
    #[cfg(feature = "smol")]
    return Runtime::Smol.spawn_bound(future);
    #[cfg(all(feature = "async-std", not(feature = "smol")))]
    return Runtime::AsyncStd.spawn_bound(future);
    #[allow(unreachable_code)]
    Runtime::Fallback.spawn_bound(future)
}
