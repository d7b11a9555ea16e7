//! The ambient context: a small value made current for the duration of each
//! poll of a wrapped future, captured by [`spawn`](crate::spawn).
//!
//! This is the bottom layer of the crate: it knows neither runtimes nor
//! clocks. It holds typed values (the timer override and the runtime
//! override of the layers above are values like the deadline that
//! `anyrt-deadline` keeps here), and optionally the [`TaskHooks`] of an
//! observer of the tasks spawned under it (a virtual clock that
//! auto-advances). The context is restored after every poll, also when the
//! poll panics, so it never leaks between tasks that share a thread.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

mod hooks;

use hooks::Tracked;
pub(crate) use hooks::{JoinWatch, TaskHooks};

type Value = Arc<dyn Any + Send + Sync>;

/// What a wrapped future sees as current while it is polled.
#[derive(Clone, Default)]
pub(crate) struct Ctx {
    values: Vec<(TypeId, Value)>,
    hooks: Option<Arc<dyn TaskHooks>>,
}

impl Ctx {
    fn get<T: 'static>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        let (_, value) = self.values.iter().find(|(k, _)| *k == id)?;
        value.downcast_ref::<T>()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Ctx>>> = const { RefCell::new(None) };
    /// Whether `CURRENT` holds a context. It has no destructor, so reading
    /// it is a plain load, where `CURRENT` (which holds an `Arc`) is first
    /// checked for registration of its destructor: outside every wrapper,
    /// the common case, this is the only thread-local an ambient call reads.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the current context's value of type `T`, if any.
#[inline]
pub(crate) fn with_ref<T: 'static, R>(f: impl FnOnce(Option<&T>) -> R) -> R {
    if is_empty() {
        f(None)
    } else {
        CURRENT.with(|current| f(current.borrow().as_deref().and_then(Ctx::get::<T>)))
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
    Hooks(Arc<dyn TaskHooks>),
    Value(TypeId, Value),
    /// A captured context.
    Whole(Option<Arc<Ctx>>),
}

impl Layer {
    fn apply(self) -> Option<Arc<Ctx>> {
        let mut ctx = match self {
            Layer::Whole(ctx) => return ctx,
            _ => Ambient::capture()
                .ctx
                .as_deref()
                .cloned()
                .unwrap_or_default(),
        };
        match self {
            Layer::Hooks(hooks) => ctx.hooks = Some(hooks),
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
    /// A future run under a changed ambient context; made by
    /// [`with_timer`](crate::with_timer), [`with_runtime`](crate::with_runtime),
    /// [`with_value`] and [`Ambient::attach`].
    ///
    /// The change is layered onto the context current at the first poll, and
    /// that context is made current for this and every later poll.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future; the context is not current
    /// outside of a poll, so nothing is left behind.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::futures::WithAmbient;
    ///
    /// # futures_lite::future::block_on(async {
    /// let wrapped: WithAmbient<_> = anyrt::with_value(3u8, async { anyrt::value::<u8>() });
    /// assert_eq!(wrapped.await, Some(3));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct WithAmbient<F> {
        state: State,
        #[pin]
        future: F,
        // A task spawned under task hooks, as they track it; after the
        // future, so that it is dropped after it: what the future's drop
        // does (a guard released, a channel closed) is done before the
        // hooks hear that the task is gone.
        task: Option<Tracked>,
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
        match this.task {
            None => this.future.poll(cx),
            Some(task) => task.poll(this.future, cx),
        }
    }
}

impl<F> fmt::Debug for WithAmbient<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithAmbient").finish_non_exhaustive()
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

/// Runs `future` with `hooks` observing every task spawned under it
/// through [`spawn`](crate::spawn).
pub(crate) fn with_hooks<F>(hooks: Arc<dyn TaskHooks>, future: F) -> WithAmbient<F> {
    WithAmbient::new(Layer::Hooks(hooks), future)
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
/// let seen = anyrt::with_value(RequestId(7), async {
///     anyrt::value::<RequestId>()
/// })
/// .await;
/// assert_eq!(seen, Some(RequestId(7)));
/// assert_eq!(anyrt::value::<RequestId>(), None);
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
/// assert_eq!(anyrt::value::<u8>(), None);
/// ```
#[inline]
pub fn value<T>() -> Option<T>
where
    T: Clone + Send + Sync + 'static,
{
    with_ref::<T, _>(|value| value.cloned())
}

/// A snapshot of the ambient context, to carry it into work that another
/// executor polls (what [`spawn`](crate::spawn) does for you).
///
/// # Examples
///
/// ```
/// use anyrt::{with_value, value, Ambient};
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
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{Ambient, value, with_value};
    ///
    /// # futures_lite::future::block_on(async {
    /// let outside = Ambient::capture();
    /// let inside = with_value("tenant-7", async { Ambient::capture() }).await;
    /// assert_eq!(outside.attach(async { value::<&str>() }).await, None);
    /// assert_eq!(inside.attach(async { value::<&str>() }).await, Some("tenant-7"));
    /// # });
    /// ```
    pub fn capture() -> Ambient {
        let ctx = match is_empty() {
            true => None,
            false => CURRENT.with(|current| current.borrow().clone()),
        };
        Ambient { ctx }
    }

    /// This snapshot with only the values whose types are in `kept`, and
    /// its task hooks.
    pub(crate) fn only(mut self, kept: &[TypeId]) -> Ambient {
        let Some(ctx) = self.ctx.as_deref() else {
            return self;
        };
        let values: Vec<(TypeId, Value)> = ctx
            .values
            .iter()
            .filter(|(id, _)| kept.contains(id))
            .cloned()
            .collect();
        if values.len() != ctx.values.len() {
            self.ctx = match (values.is_empty(), &ctx.hooks) {
                (true, None) => None,
                (_, hooks) => Some(Arc::new(Ctx {
                    values,
                    hooks: hooks.clone(),
                })),
            };
        }
        self
    }

    /// Whether nothing is set: no override and no value.
    pub(crate) fn is_empty(&self) -> bool {
        self.ctx.is_none()
    }

    /// Whether this is the context current on this thread (the same
    /// snapshot, or both empty): then work started here sees it already,
    /// and needs no [`attach`](Ambient::attach). Costs one thread-local
    /// read when both are empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{Ambient, with_value};
    ///
    /// # futures_lite::future::block_on(async {
    /// let outside = Ambient::capture();
    /// assert!(outside.is_current());
    /// let inside = with_value(1_u8, async { outside.is_current() }).await;
    /// assert!(!inside);
    /// # });
    /// ```
    pub fn is_current(&self) -> bool {
        match (&self.ctx, is_empty()) {
            (None, current_empty) => current_empty,
            (Some(_), true) => false,
            (Some(ctx), false) => CURRENT.with(|current| {
                current
                    .borrow()
                    .as_ref()
                    .is_some_and(|current| Arc::ptr_eq(current, ctx))
            }),
        }
    }

    /// Runs `future` with this context current during each of its polls:
    /// how work handed to another executor (a thread, a callback) keeps
    /// the deadline and overrides of where it came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::Ambient;
    ///
    /// # futures_lite::future::block_on(async {
    /// let context = anyrt::deadline::within(Duration::from_secs(5), async { Ambient::capture() })
    ///     .await
    ///     .unwrap();
    /// let worker = std::thread::spawn(move || {
    ///     futures_lite::future::block_on(context.attach(async { anyrt::deadline::remaining() }))
    /// });
    /// assert!(worker.join().unwrap().is_some());
    /// # });
    /// ```
    pub fn attach<F>(self, future: F) -> WithAmbient<F> {
        WithAmbient::new(Layer::Whole(self.ctx), future)
    }

    /// Starts `future` as a task that sees this context instead of the
    /// caller's, on the runtime this context's overrides choose: what
    /// [`attach`](Ambient::attach) and [`spawn`](crate::spawn) would do
    /// together, except that the task holds nothing of the caller's
    /// context (`spawn(context.attach(future))` keeps the caller's context
    /// alive in the outer task for as long as the task runs, and picks the
    /// caller's runtime).
    ///
    /// For work that goes on for others after its caller gave up: it
    /// should not keep that caller's values (a request's data, a scope's
    /// cancel token) alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::{Ambient, value, with_value};
    ///
    /// # futures_lite::future::block_on(async {
    /// let outside = Ambient::capture();
    /// let task = with_value(7u8, async { outside.spawn(async { value::<u8>() }) }).await;
    /// assert_eq!(task.await, None, "the task sees the context it was given");
    /// # });
    /// ```
    pub fn spawn<F>(&self, future: F) -> crate::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if crate::task::boxed_on_spawn::<F>() {
            return self.spawn_sized(Box::pin(future));
        }
        self.spawn_sized(future)
    }

    /// [`spawn`](Ambient::spawn) of a future small enough to be moved by
    /// value.
    fn spawn_sized<F>(&self, future: F) -> crate::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.is_current() {
            return crate::spawn(future);
        }
        let mut slot = self.ctx.clone();
        let _enter = Enter::new(&mut slot);
        crate::spawn(future)
    }

    /// Like [`attach`](Ambient::attach), for a task about to be spawned:
    /// task hooks in the context (a virtual clock's) count the task as
    /// runnable until its first poll, and then whenever it is woken and
    /// not yet polled; the [`JoinWatch`] goes with its handle, which
    /// tells them when the output has been taken.
    pub(crate) fn attach_task<F>(self, future: F) -> (WithAmbient<F>, Option<JoinWatch>) {
        let hooks = self.ctx.as_deref().and_then(|ctx| ctx.hooks.clone());
        let (task, watch) = match hooks {
            Some(hooks) => {
                let (task, watch) = Tracked::new(hooks);
                (Some(task), Some(watch))
            }
            None => (None, None),
        };
        let future = WithAmbient {
            task,
            ..WithAmbient::new(Layer::Whole(self.ctx), future)
        };
        (future, watch)
    }
}

impl fmt::Debug for Ambient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ctx = self.ctx.as_deref();
        f.debug_struct("Ambient")
            .field("values", &ctx.map_or(0, |c| c.values.len()))
            .field("task_hooks", &ctx.is_some_and(|c| c.hooks.is_some()))
            .finish()
    }
}
