//! The ambient context: a small value made current for the duration of each
//! poll of a wrapped future, captured by [`spawn`](crate::spawn).
//!
//! It holds the timer override (how tests inject a [`VirtualClock`]), the
//! runtime override, and typed values that other crates keep there (the
//! deadline of `anyrt-deadline`). The context is restored after every poll,
//! also when the poll panics, so it never leaks between tasks that share a
//! thread.
//!
//! [`VirtualClock`]: crate::VirtualClock

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::runtime::Runtime;
use crate::timer::{DynTimer, Timer};

type Value = Arc<dyn Any + Send + Sync>;

/// What a wrapped future sees as current while it is polled.
#[derive(Clone, Default)]
pub(crate) struct Ctx {
    pub(crate) timer: Option<Arc<dyn DynTimer>>,
    pub(crate) runtime: Option<Runtime>,
    values: Vec<(TypeId, Value)>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Ctx>>> = const { RefCell::new(None) };
    /// Whether `CURRENT` holds a context. It has no destructor, so reading
    /// it is a plain load, where `CURRENT` (which holds an `Arc`) is first
    /// checked for registration of its destructor: outside every wrapper,
    /// the common case, this is the only thread-local an ambient call reads.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the current context, if any.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Ctx>) -> R) -> R {
    if is_empty() {
        f(None)
    } else {
        CURRENT.with(|current| f(current.borrow().as_deref()))
    }
}

/// Whether no context is current: the one check on the hot path of a sleep
/// or spawn outside any wrapper.
#[inline]
pub(crate) fn is_empty() -> bool {
    !ACTIVE.get()
}

/// Makes `ctx` current and returns the context it replaces.
fn replace_current(ctx: Option<Arc<Ctx>>) -> Option<Arc<Ctx>> {
    ACTIVE.set(ctx.is_some());
    CURRENT.with(|current| current.replace(ctx))
}

/// One change to the context, applied when the wrapper is first polled.
enum Layer {
    Timer(Arc<dyn DynTimer>),
    Runtime(Runtime),
    Value(TypeId, Value),
    /// A captured context.
    Whole(Option<Arc<Ctx>>),
}

impl Layer {
    fn apply(self) -> Option<Arc<Ctx>> {
        let base = || with_current(|ctx| ctx.cloned().unwrap_or_default());
        let mut ctx = match self {
            Layer::Whole(ctx) => return ctx,
            _ => base(),
        };
        match self {
            Layer::Timer(timer) => ctx.timer = Some(timer),
            Layer::Runtime(runtime) => ctx.runtime = Some(runtime),
            Layer::Value(id, value) => match ctx.values.iter_mut().find(|(k, _)| *k == id) {
                Some(slot) => slot.1 = value,
                None => ctx.values.push((id, value)),
            },
            Layer::Whole(..) => unreachable!("returned above"),
        }
        Some(Arc::new(ctx))
    }
}

enum State {
    Unbound(Layer),
    Bound(Option<Arc<Ctx>>),
    Empty,
}

pin_project! {
    /// A future run under a changed ambient context; made by [`with_timer`],
    /// [`with_runtime`], [`with_value`] and [`Ambient::attach`].
    ///
    /// The change is layered onto the context current at the first poll, and
    /// that context is made current for this and every later poll.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future; the context is not current
    /// outside of a poll, so nothing is left behind.
    #[must_use = "futures do nothing unless awaited"]
    pub struct WithAmbient<F> {
        state: State,
        // A task spawned under a virtual clock, as the clock tracks it.
        task: Option<ClockTask>,
        #[pin]
        future: F,
    }
}

impl<F> WithAmbient<F> {
    fn new(layer: Layer, future: F) -> Self {
        WithAmbient {
            state: State::Unbound(layer),
            task: None,
            future,
        }
    }
}

impl<F: Future> Future for WithAmbient<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Dropped last, after the context is put back.
        let _polling = this.task.as_mut().map(ClockTask::polling);
        if let State::Unbound(_) = this.state {
            let State::Unbound(layer) = std::mem::replace(this.state, State::Empty) else {
                unreachable!("checked above")
            };
            *this.state = State::Bound(layer.apply());
        }
        let State::Bound(slot) = this.state else {
            unreachable!("bound above")
        };
        let _enter = Enter::new(slot);
        this.future.poll(cx)
    }
}

impl<F> fmt::Debug for WithAmbient<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithAmbient").finish_non_exhaustive()
    }
}

/// A task spawned under a virtual clock, as the clock sees it: starting
/// until its first poll, then inside a poll or not. The clock does not jump
/// while a task is starting or inside a poll.
struct ClockTask {
    clock: crate::VirtualClock,
    starting: Option<crate::virtual_clock::StartGuard>,
}

impl ClockTask {
    fn new(clock: crate::VirtualClock) -> Self {
        ClockTask {
            starting: Some(clock.task_starting()),
            clock,
        }
    }

    /// Counts the task as inside a poll until the guard is dropped; at the
    /// first poll it stops counting as starting (after, so no gap is seen).
    fn polling(&mut self) -> crate::virtual_clock::PollGuard<'_> {
        let guard = self.clock.task_polling();
        self.starting = None;
        guard
    }
}

/// Makes a context current and puts the previous one back on drop, so a
/// panicking poll restores it too.
struct Enter<'a> {
    slot: &'a mut Option<Arc<Ctx>>,
    previous: Option<Arc<Ctx>>,
}

impl<'a> Enter<'a> {
    fn new(slot: &'a mut Option<Arc<Ctx>>) -> Self {
        let previous = replace_current(slot.take());
        Enter { slot, previous }
    }
}

impl Drop for Enter<'_> {
    fn drop(&mut self) {
        *self.slot = replace_current(self.previous.take());
    }
}

/// Runs `future` with `timer` as its ambient timer: [`now`](crate::now),
/// [`sleep`](crate::sleep) and everything built on them, in the future, in
/// what it calls and in tasks it spawns through [`spawn`](crate::spawn), use
/// `timer`. This is how tests put a [`VirtualClock`](crate::VirtualClock)
/// under code that was written for real time.
///
/// A sleep takes its timer when it is created: create it inside `future`
/// (in an `async` block), not before.
///
/// # Cancel safety
///
/// See [`WithAmbient`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt_core::{with_timer, VirtualClock};
///
/// # futures_lite::future::block_on(async {
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// let nested = async { anyrt_core::now() };
/// clock.advance(Duration::from_secs(5));
/// let seen = with_timer(clock.clone(), nested).await;
/// assert_eq!(seen - start, Duration::from_secs(5));
/// # });
/// ```
pub fn with_timer<T, F>(timer: T, future: F) -> WithAmbient<F>
where
    T: Timer + 'static,
    T::Sleep: 'static,
{
    WithAmbient::new(Layer::Timer(Arc::new(timer)), future)
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
/// use anyrt_core::{with_runtime, Runtime};
///
/// let name = futures_lite::future::block_on(with_runtime(Runtime::Fallback, async {
///     Runtime::current().name()
/// }));
/// assert_eq!(name, "fallback");
/// ```
pub fn with_runtime<F>(runtime: Runtime, future: F) -> WithAmbient<F> {
    WithAmbient::new(Layer::Runtime(runtime), future)
}

/// Runs `future` with `value` as the ambient value of type `T`, readable
/// with [`value`] in the future and everything it calls or spawns through
/// [`spawn`](crate::spawn). An outer value of the same type is shadowed.
///
/// This is the one mechanism other crates build their ambient state on
/// (`anyrt-deadline` keeps its deadline here). Use a private type as `T` so
/// that no other crate can read or shadow it.
///
/// # Cancel safety
///
/// See [`WithAmbient`].
///
/// # Examples
///
/// ```
/// #[derive(Clone, Debug, PartialEq)]
/// struct RequestId(u64);
///
/// # futures_lite::future::block_on(async {
/// let seen = anyrt_core::with_value(RequestId(7), async {
///     anyrt_core::value::<RequestId>()
/// })
/// .await;
/// assert_eq!(seen, Some(RequestId(7)));
/// assert_eq!(anyrt_core::value::<RequestId>(), None);
/// # });
/// ```
pub fn with_value<T, F>(value: T, future: F) -> WithAmbient<F>
where
    T: Send + Sync + 'static,
{
    WithAmbient::new(Layer::Value(TypeId::of::<T>(), Arc::new(value)), future)
}

/// The ambient value of type `T`, set by an enclosing [`with_value`].
///
/// # Examples
///
/// ```
/// assert_eq!(anyrt_core::value::<u8>(), None);
/// ```
pub fn value<T>() -> Option<T>
where
    T: Clone + Send + Sync + 'static,
{
    with_current(|ctx| {
        let ctx = ctx?;
        let id = TypeId::of::<T>();
        let (_, value) = ctx.values.iter().find(|(k, _)| *k == id)?;
        value.downcast_ref::<T>().cloned()
    })
}

/// A snapshot of the ambient context, to carry it into work that another
/// executor polls (what [`spawn`](crate::spawn) does for you).
///
/// # Examples
///
/// ```
/// use anyrt_core::{with_value, value, Ambient};
///
/// # futures_lite::future::block_on(async {
/// let captured = with_value(5u32, async { Ambient::capture() }).await;
/// let seen = captured.attach(async { value::<u32>() }).await;
/// assert_eq!(seen, Some(5));
/// # });
/// ```
#[derive(Clone, Default)]
pub struct Ambient {
    ctx: Option<Arc<Ctx>>,
}

impl Ambient {
    /// The context current on this thread (empty outside any wrapper).
    pub fn capture() -> Ambient {
        let ctx = match is_empty() {
            true => None,
            false => CURRENT.with(|current| current.borrow().clone()),
        };
        Ambient { ctx }
    }

    /// Whether nothing is set: no override and no value.
    pub(crate) fn is_empty(&self) -> bool {
        self.ctx.is_none()
    }

    /// Runs `future` with this context current during each of its polls.
    pub fn attach<F>(self, future: F) -> WithAmbient<F> {
        WithAmbient::new(Layer::Whole(self.ctx), future)
    }

    /// Like [`attach`](Ambient::attach), for a task about to be spawned: a
    /// virtual clock in the context learns that a task is starting, so it
    /// does not jump before the task's first poll.
    pub(crate) fn attach_task<F>(self, future: F) -> WithAmbient<F> {
        let clock = self.ctx.as_deref().and_then(|ctx| {
            let timer = ctx.timer.as_ref()?;
            timer
                .as_any()
                .downcast_ref::<crate::VirtualClock>()
                .cloned()
        });
        WithAmbient {
            task: clock.map(ClockTask::new),
            ..WithAmbient::new(Layer::Whole(self.ctx), future)
        }
    }
}

impl fmt::Debug for Ambient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ctx = self.ctx.as_deref();
        f.debug_struct("Ambient")
            .field("timer_override", &ctx.is_some_and(|c| c.timer.is_some()))
            .field("runtime", &ctx.and_then(|c| c.runtime.as_ref()))
            .field("values", &ctx.map_or(0, |c| c.values.len()))
            .finish()
    }
}
