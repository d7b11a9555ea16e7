//! `CancelToken`: cooperative, level-triggered cancellation in a tree.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

/// Why a [`CancelToken`] was cancelled: any error, shared by every clone
/// and every child token.
///
/// # Examples
///
/// ```
/// use anyrt::scope::CancelReason;
///
/// let reason = CancelReason::from("shutting down");
/// assert_eq!(reason.to_string(), "shutting down");
/// ```
#[derive(Clone)]
pub struct CancelReason(Arc<dyn Error + Send + Sync>);

impl CancelReason {
    /// A reason made of an error value.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::CancelReason;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::Other, "peer gone");
    /// let reason = CancelReason::new(io);
    /// assert!(reason.downcast_ref::<std::io::Error>().is_some());
    /// ```
    pub fn new(error: impl Error + Send + Sync + 'static) -> CancelReason {
        CancelReason(Arc::new(error))
    }

    /// The error behind the reason, if it is a `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::CancelReason;
    ///
    /// let reason = CancelReason::from("stop");
    /// assert!(reason.downcast_ref::<std::io::Error>().is_none());
    /// ```
    pub fn downcast_ref<T: Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

/// A reason given as text.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

impl From<&str> for CancelReason {
    fn from(message: &str) -> CancelReason {
        CancelReason::new(Message(message.to_owned()))
    }
}

impl From<String> for CancelReason {
    fn from(message: String) -> CancelReason {
        CancelReason::new(Message(message))
    }
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelReason").field(&self.0).finish()
    }
}

impl Error for CancelReason {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0)
    }
}

struct Node {
    cancelled: AtomicBool,
    state: Mutex<NodeState>,
}

#[derive(Default)]
struct NodeState {
    reason: Option<CancelReason>,
    /// Every descendant is cancelled too: a cancel that reaches this node
    /// need not go further. Until then the children stay listed, so that
    /// a cancel racing with the one under way walks them too.
    settled: bool,
    children: Vec<Weak<Node>>,
    /// The parent's node, kept alive while this one lives: a cancel walks
    /// down from the root through the parent's list of children, and a
    /// parent whose tokens are all dropped must still lead to its children.
    parent: Option<Arc<Node>>,
    /// The wakers of the futures waiting for the cancel, by the key of
    /// their [`Listener`]; `None` once woken (or for a free key).
    waiters: Vec<Option<Waker>>,
    /// Keys whose listener is gone, for the next ones to reuse.
    free: Vec<usize>,
}

impl Node {
    fn new(reason: Option<CancelReason>) -> Node {
        Node {
            cancelled: AtomicBool::new(reason.is_some()),
            state: Mutex::new(NodeState {
                settled: reason.is_some(),
                reason,
                ..NodeState::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks this node cancelled unless it already was, and puts its
    /// children on `stack` unless its subtree is settled; returns whether
    /// this call marked it. Its waiters are woken later, by
    /// [`notify`](Self::notify).
    fn mark(&self, reason: &CancelReason, stack: &mut Vec<Step>) -> bool {
        let mut state = self.lock();
        if state.settled {
            return false;
        }
        let marked = state.reason.is_none();
        if marked {
            state.reason = Some(reason.clone());
            self.cancelled.store(true, Ordering::Release);
        }
        stack.extend(state.children.iter().cloned().map(Step::Mark));
        marked
    }

    /// Every descendant is cancelled: the children are let go of.
    fn settle(&self) {
        let children = {
            let mut state = self.lock();
            state.settled = true;
            std::mem::take(&mut state.children)
        };
        drop(children);
    }

    /// Wakes every waiter, after the lock is released. A waker that
    /// panics (its executor's bug, reported by the panic hook) stops
    /// nothing: the others are woken all the same.
    fn notify(&self) {
        let wakers: Vec<Waker> = {
            let mut state = self.lock();
            state.waiters.iter_mut().filter_map(Option::take).collect()
        };
        wakers.into_iter().for_each(anyrt_core::wake_quietly);
    }
}

impl Drop for Node {
    /// Lets go of the chain of ancestors that only this node kept alive
    /// one at a time, not by recursion, so that a deep chain cannot
    /// overflow the stack.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut parent = state.parent.take();
        while let Some(node) = parent {
            parent = Arc::into_inner(node).and_then(|mut node| {
                let state = node.state.get_mut().unwrap_or_else(PoisonError::into_inner);
                state.parent.take()
            });
        }
    }
}

/// A step of a cancel's walk of a tree of nodes, depth first.
enum Step {
    /// Mark this node, then walk its children.
    Mark(Weak<Node>),
    /// The walk of this node's children is over.
    Settle(Arc<Node>),
}

/// A future's place among the waiters of a token's node: its waker is
/// kept there until the cancel wakes it; dropped, it leaves.
pub(crate) struct Listener {
    node: Arc<Node>,
    key: usize,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.node.lock();
            state.free.push(self.key);
            state.waiters[self.key].take()
        };
        // After the lock: dropping the last handle of a task may drop
        // another listener of this node.
        drop(waker);
    }
}

/// A cooperative cancellation signal, shared by its clones, with child
/// tokens and a reason.
///
/// - Level-triggered: once cancelled it stays cancelled; every present and
///   future [`cancelled`](CancelToken::cancelled) completes.
/// - Cancelling is idempotent: the first reason wins, later calls return
///   `false` and change nothing.
/// - A [`child`](CancelToken::child) is cancelled with its parent (and with
///   the parent's reason); cancelling a child leaves the parent alone. A
///   grandchild is reached even once every clone of its parent is dropped.
/// - The token of the scope being run is the ambient one
///   ([`CancelToken::current`]), and a scope opened inside another makes
///   its token a child of the outer one, so cancelling an outer scope's
///   token reaches every nested scope and every task they spawned.
///
/// # Examples
///
/// ```
/// use anyrt::scope::CancelToken;
///
/// let parent = CancelToken::new();
/// let child = parent.child();
/// assert!(parent.cancel_with("deploy"));
/// assert!(child.is_cancelled());
/// assert_eq!(child.reason().unwrap().to_string(), "deploy");
/// assert!(!parent.cancel(), "cancel is idempotent");
/// ```
#[derive(Clone)]
pub struct CancelToken {
    node: Arc<Node>,
}

impl CancelToken {
    /// A token that is not cancelled, with no parent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!anyrt::scope::CancelToken::new().is_cancelled());
    /// ```
    pub fn new() -> CancelToken {
        CancelToken {
            node: Arc::new(Node::new(None)),
        }
    }

    /// The token of the scope whose body or child is running here, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::{CancelToken, Scope};
    ///
    /// # futures_lite::future::block_on(async {
    /// assert!(CancelToken::current().is_none());
    /// let s = Scope::<std::convert::Infallible>::new();
    /// let inside = s.run(async { Ok(CancelToken::current().is_some()) }).await;
    /// assert_eq!(inside, Ok(true));
    /// # });
    /// ```
    pub fn current() -> Option<CancelToken> {
        anyrt_core::value::<crate::scope::CurrentToken>().map(|current| current.0)
    }

    /// A new token cancelled whenever this one is (already cancelled if
    /// this one is); cancelling it does not cancel this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::CancelToken;
    ///
    /// let parent = CancelToken::new();
    /// let child = parent.child();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// ```
    pub fn child(&self) -> CancelToken {
        let mut state = self.node.lock();
        if let Some(reason) = &state.reason {
            return CancelToken {
                node: Arc::new(Node::new(Some(reason.clone()))),
            };
        }
        let node = Arc::new(Node::new(None));
        node.lock().parent = Some(self.node.clone());
        Self::push_child(&mut state, &node);
        CancelToken { node }
    }

    /// Makes `child`, a token with no parent, a child of this one, as if
    /// made by [`child`](Self::child): cancelled now if this one is.
    pub(crate) fn adopt(&self, child: &CancelToken) {
        let mut state = self.node.lock();
        match state.reason.clone() {
            Some(reason) => {
                drop(state);
                child.cancel_with(reason);
            }
            None => {
                Self::push_child(&mut state, &child.node);
                drop(state);
                child.node.lock().parent = Some(self.node.clone());
            }
        }
    }

    /// Registers a child node, first forgetting the dropped ones when the
    /// list is full, so that it grows with the children alive.
    fn push_child(state: &mut NodeState, node: &Arc<Node>) {
        if state.children.len() == state.children.capacity() {
            state.children.retain(|child| child.strong_count() > 0);
        }
        state.children.push(Arc::downgrade(node));
    }

    /// Cancels the token and its children with the reason "cancelled";
    /// `false` if it was already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = anyrt::scope::CancelToken::new();
    /// assert!(token.cancel());
    /// assert!(!token.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        self.cancel_with("cancelled")
    }

    /// Cancels the token and its children with `reason`; `false` (and the
    /// first reason kept) if it was already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = anyrt::scope::CancelToken::new();
    /// assert!(token.cancel_with("first"));
    /// assert!(!token.cancel_with("second"));
    /// assert_eq!(token.reason().unwrap().to_string(), "first");
    /// ```
    pub fn cancel_with(&self, reason: impl Into<CancelReason>) -> bool {
        let reason = reason.into();
        // The whole tree is marked before any waiter is woken, so that a
        // waker that panics leaves no descendant uncancelled. Depth first
        // without recursion, so a deep tree cannot overflow. A subtree
        // that another cancel has marked but not yet settled is walked
        // here too, so that when this call returns every descendant is
        // cancelled, whichever call marked it.
        let mut stack = Vec::new();
        let first = self.node.mark(&reason, &mut stack);
        let mut marked = Vec::new();
        while let Some(step) = stack.pop() {
            match step {
                Step::Mark(child) => {
                    let Some(node) = child.upgrade() else {
                        continue;
                    };
                    let len = stack.len();
                    stack.push(Step::Settle(node.clone()));
                    if node.mark(&reason, &mut stack) {
                        marked.push(node);
                    } else if stack.len() == len + 1 {
                        // Settled already: nothing to walk.
                        stack.pop();
                    }
                }
                Step::Settle(node) => node.settle(),
            }
        }
        self.node.settle();
        if first {
            self.node.notify();
        }
        for node in marked {
            node.notify();
        }
        first
    }

    /// Whether the token has been cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!anyrt::scope::CancelToken::new().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Ordering::Acquire)
    }

    /// Why the token was cancelled; `None` while it is not.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = anyrt::scope::CancelToken::new();
    /// assert!(token.reason().is_none());
    /// token.cancel_with("done");
    /// assert_eq!(token.reason().unwrap().to_string(), "done");
    /// ```
    pub fn reason(&self) -> Option<CancelReason> {
        self.node.lock().reason.clone()
    }

    /// Completes once the token is cancelled (at once if it already is).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future unregisters its listener; nothing else is held.
    /// It allocates only its event listener, on the first poll that finds
    /// the token not cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let token = anyrt::scope::CancelToken::new();
    /// let waiter = token.clone();
    /// let task = anyrt::spawn(async move { waiter.cancelled().await; "stopped" });
    /// token.cancel();
    /// assert_eq!(task.await, "stopped");
    /// # });
    /// ```
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            token: self,
            listener: None,
        }
    }

    /// [`cancelled`](Self::cancelled) on a token it owns (tokio-util's
    /// `cancelled_owned`): `'static` and `Send`, to be spawned or kept in
    /// a struct beside other futures.
    ///
    /// # Cancel safety
    ///
    /// As [`cancelled`](Self::cancelled): dropping it unregisters its
    /// listener and drops its clone of the token.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let token = anyrt::scope::CancelToken::new();
    /// let task = anyrt::spawn(token.clone().cancelled_owned());
    /// token.cancel();
    /// task.await;
    /// # });
    /// ```
    pub fn cancelled_owned(self) -> CancelledOwned {
        CancelledOwned {
            token: self,
            listener: None,
        }
    }

    /// A guard that cancels the token when dropped, unless disarmed.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = anyrt::scope::CancelToken::new();
    /// drop(token.clone().drop_guard());
    /// assert!(token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// Ready once the token is cancelled; otherwise `listener` is left
    /// registered, to wake `cx`. The listener is made only when needed.
    pub(crate) fn poll_cancelled(
        &self,
        listener: &mut Option<Listener>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if self.is_cancelled() {
            *listener = None;
            return Poll::Ready(());
        }
        // A waker replaced is dropped after the lock (declared before it),
        // as a listener's is.
        let mut replaced = None;
        let mut state = self.node.lock();
        // Seen under the lock the cancel marks under: no wake is missed.
        if state.reason.is_some() {
            drop(state);
            *listener = None;
            return Poll::Ready(());
        }
        match listener {
            Some(registered) => match &mut state.waiters[registered.key] {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => replaced = slot.replace(cx.waker().clone()),
            },
            None => {
                let waker = Some(cx.waker().clone());
                let key = match state.free.pop() {
                    Some(key) => {
                        state.waiters[key] = waker;
                        key
                    }
                    None => {
                        state.waiters.push(waker);
                        state.waiters.len() - 1
                    }
                };
                *listener = Some(Listener {
                    node: self.node.clone(),
                    key,
                });
            }
        }
        drop(state);
        drop(replaced);
        Poll::Pending
    }
}

impl Default for CancelToken {
    fn default() -> CancelToken {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("reason", &self.reason())
            .finish()
    }
}

/// Cancels its token when dropped; made by [`CancelToken::drop_guard`].
///
/// # Examples
///
/// ```
/// let token = anyrt::scope::CancelToken::new();
/// let guard = token.clone().drop_guard();
/// let token_again = guard.disarm();
/// assert!(!token_again.is_cancelled());
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuard {
    token: Option<CancelToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    ///
    /// # Examples
    ///
    /// ```
    /// let guard = anyrt::scope::CancelToken::new().drop_guard();
    /// assert!(!guard.disarm().is_cancelled());
    /// ```
    pub fn disarm(mut self) -> CancelToken {
        self.token.take().expect("the token is taken only here")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel_with("the drop guard was dropped");
        }
    }
}

/// Completes when its token is cancelled; made by
/// [`CancelToken::cancelled`].
///
/// # Cancel safety
///
/// Dropping it unregisters its listener; nothing is lost.
///
/// # Examples
///
/// ```
/// use anyrt::scope::CancelToken;
///
/// # futures_lite::future::block_on(async {
/// let token = CancelToken::new();
/// token.cancel();
/// let cancelled: anyrt::scope::futures::Cancelled<'_> = token.cancelled();
/// cancelled.await; // level-triggered: already cancelled, so at once
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled<'a> {
    token: &'a CancelToken,
    listener: Option<Listener>,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.token.poll_cancelled(&mut this.listener, cx)
    }
}

/// Completes once its token is cancelled; made by
/// [`CancelToken::cancelled_owned`].
///
/// # Cancel safety
///
/// Dropping it unregisters its listener; nothing is lost.
///
/// # Examples
///
/// ```
/// use anyrt::scope::CancelToken;
///
/// # futures_lite::future::block_on(async {
/// let token = CancelToken::new();
/// let cancelled: anyrt::scope::futures::CancelledOwned = token.child().cancelled_owned();
/// token.cancel();
/// cancelled.await;
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct CancelledOwned {
    token: CancelToken,
    listener: Option<Listener>,
}

impl Future for CancelledOwned {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.token.poll_cancelled(&mut this.listener, cx)
    }
}

impl fmt::Debug for CancelledOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelledOwned")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("token", self.token)
            .finish_non_exhaustive()
    }
}
