//! The future of `Scope::run`: polls the body and the woken children.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use anyrt_core::futures::WithAmbient;
use pin_project_lite::pin_project;

use crate::scope::{Panic, Polled, Scope, Step, drop_caught};
use crate::token::CancelToken;
use crate::wake::{BODY, SlotWaker, Wakers, give_back};

/// After how many body or child polls one poll of the run lets the
/// executor run other tasks (checked between batches: a batch, every key
/// queued at one moment, is polled whole).
const BUDGET: usize = 1024;

pin_project! {
    /// The run itself, inside the ambient layer that makes the scope's
    /// token current.
    pub(crate) struct RunInner<'s, 'a, B, R, E> {
        scope: &'s Scope<'a, E>,
        #[pin]
        body: Option<B>,
        output: Option<R>,
        // The run's wakers, until it ends and gives them back.
        wakers: Option<Wakers>,
        started: bool,
        // What the last child's poll left, recorded at the next lock.
        carry: Option<Polled<'a, E>>,
        ended: bool,
        // How the ended run ends, held until its tasks were dropped.
        outcome: Option<Outcome<R, E>>,
    }

    impl<'s, 'a, B, R, E> PinnedDrop for RunInner<'s, 'a, B, R, E> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if *this.ended {
                return;
            }
            // Keys taken for a poll that unwound go back on the queue, so
            // that their flags, in wakers the next run may reuse, stay
            // true only while queued.
            if let Some(wakers) = this.wakers.as_mut() {
                wakers.ready.put_back(&mut wakers.batch);
            }
            this.scope.refuse_spawns();
            let carried = drop_caught(this.carry.take());
            let panic = end(*this.scope, this.wakers, "the scope's future was dropped");
            // The body goes too before a destructor's panic is resumed.
            let body = catch_unwind(AssertUnwindSafe(|| this.body.set(None)));
            if let Some(panic) = carried.err().or(panic).or(body.err()) {
                if !std::thread::panicking() {
                    resume_unwind(panic);
                }
            }
        }
    }
}

impl<'s, 'a, B, R, E> RunInner<'s, 'a, B, R, E> {
    pub(crate) fn new(scope: &'s Scope<'a, E>, body: B, wakers: Wakers) -> Self {
        RunInner {
            scope,
            body: Some(body),
            output: None,
            wakers: Some(wakers),
            started: false,
            carry: None,
            ended: false,
            outcome: None,
        }
    }
}

/// Closes the scope and gives its wakers and books back to the pool;
/// returns the first panic of a destructor.
fn end<E>(scope: &Scope<'_, E>, wakers: &mut Option<Wakers>, reason: &str) -> Option<Panic> {
    let (panic, books) = scope.close(reason);
    match (wakers.take(), books) {
        (Some(wakers), Some(books)) => give_back(wakers, books),
        // Not pooled, but its awaited handles are woken all the same.
        (None, Some(mut books)) => books.clear(0),
        (_, None) => {}
    }
    panic
}

impl<'a, B, R, E> Future for RunInner<'_, 'a, B, R, E>
where
    B: Future<Output = Result<R, E>>,
    E: Send + 'a,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R, E>> {
        let mut this = self.project();
        let scope = *this.scope;
        if *this.ended {
            return deliver(scope, this.outcome, cx);
        }
        let wakers = this
            .wakers
            .as_mut()
            .expect("a run in progress has its wakers");
        if !std::mem::replace(this.started, true) {
            wakers.body.node.schedule();
        }
        wakers.ready.register(cx.waker());
        wakers.ready.set_polling(true);
        let mut polls = 0;
        let failure = 'run: loop {
            // Children spawned first: they came before the wake-ups that
            // their spawner's later awaits queued.
            if let Err(panic) = scope.take_spawned(&mut wakers.batch, this.carry) {
                break 'run Err(panic);
            }
            wakers.ready.take(&mut wakers.batch);
            if wakers.batch.is_empty() {
                // After this, wake-ups and spawns wake the task instead;
                // look once more for any that came before.
                let queued = wakers.ready.set_polling(false);
                match scope.take_spawned(&mut wakers.batch, this.carry) {
                    Err(panic) => break 'run Err(panic),
                    Ok(spawned) if queued || spawned => {
                        wakers.ready.set_polling(true);
                        continue;
                    }
                    Ok(_) => {}
                }
                if this.output.is_some() && scope.finish_if_empty() {
                    *this.ended = true;
                    // Only outputs kept for live handles are left to drop.
                    *this.outcome = Some(match end(scope, this.wakers, "the scope finished") {
                        Some(panic) => Outcome::Panic(panic),
                        None => Outcome::Value(this.output.take().expect("checked above")),
                    });
                    return deliver(scope, this.outcome, cx);
                }
                return Poll::Pending;
            }
            polls += wakers.batch.len();
            // The keys stay in the batch until polled: if a poll unwinds,
            // the drop puts them back on the queue.
            while let Some(key) = wakers.batch.pop_front() {
                let step = match key {
                    BODY => {
                        // Before anything that may fail: a key out of the
                        // queue must not stay marked as queued, or a later
                        // run on these wakers never polls its body.
                        wakers.body.node.dequeued();
                        match scope.settle(this.carry) {
                            Ok(()) => poll_body(this.body.as_mut(), this.output, &wakers.body),
                            Err(panic) => Step::Panic(panic),
                        }
                    }
                    key => {
                        // Before the poll: a wake-up during it queues the
                        // child again.
                        let slot = wakers.slot(key);
                        slot.node.dequeued();
                        scope.poll_child(key, &slot.waker, this.carry)
                    }
                };
                match step {
                    Step::Continue => {}
                    Step::Fail(error) => break 'run Ok(error),
                    Step::Panic(panic) => break 'run Err(panic),
                }
            }
            if polls >= BUDGET {
                if let Err(panic) = scope.settle(this.carry) {
                    break 'run Err(panic);
                }
                wakers.ready.set_polling(false);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        };
        wakers.ready.put_back(&mut wakers.batch);
        wakers.ready.set_polling(false);
        *this.ended = true;
        // The child polled last goes with the others, and like theirs its
        // destructor finds spawns refused.
        scope.refuse_spawns();
        let carried = drop_caught(this.carry.take()).err();
        let closing = end(
            scope,
            this.wakers,
            "a child or the body of the scope failed",
        );
        let body = catch_unwind(AssertUnwindSafe(|| this.body.set(None)));
        // A panic of a destructor wins over an error; the first panic wins
        // over later ones.
        *this.outcome = Some(match (failure, carried.or(closing).or(body.err())) {
            (Err(panic), _) | (Ok(_), Some(panic)) => Outcome::Panic(panic),
            (Ok(error), None) => Outcome::Error(error),
        });
        deliver(scope, this.outcome, cx)
    }
}

/// How an ended run ends.
pub(crate) enum Outcome<R, E> {
    Value(R),
    Error(E),
    Panic(Panic),
}

/// Hands out the outcome of an ended run once the runtime has dropped
/// every task of its `spawn_task` children, so that their destructors ran
/// before the run returns, as those of its in-place children did.
fn deliver<R, E>(
    scope: &Scope<'_, E>,
    outcome: &mut Option<Outcome<R, E>>,
    cx: &mut Context<'_>,
) -> Poll<Result<R, E>> {
    assert!(
        outcome.is_some(),
        "anyrt-scope: the run was polled after it ended"
    );
    std::task::ready!(scope.poll_tasks_dropped(cx.waker()));
    match outcome.take().expect("checked above") {
        Outcome::Value(value) => Poll::Ready(Ok(value)),
        Outcome::Error(error) => Poll::Ready(Err(error)),
        Outcome::Panic(panic) => resume_unwind(panic),
    }
}

fn poll_body<B, R, E>(
    mut body: Pin<&mut Option<B>>,
    output: &mut Option<R>,
    waker: &SlotWaker,
) -> Step<E>
where
    B: Future<Output = Result<R, E>>,
{
    let Some(future) = body.as_mut().as_pin_mut() else {
        return Step::Continue;
    };
    let mut cx = Context::from_waker(&waker.waker);
    match catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
        Ok(Poll::Pending) => Step::Continue,
        Ok(Poll::Ready(Ok(value))) => {
            *output = Some(value);
            match catch_unwind(AssertUnwindSafe(|| body.set(None))) {
                Ok(()) => Step::Continue,
                Err(panic) => Step::Panic(panic),
            }
        }
        Ok(Poll::Ready(Err(error))) => Step::Fail(error),
        Err(panic) => Step::Panic(panic),
    }
}

pin_project! {
    /// The future of [`Scope::run`]: the body and the children, polled in
    /// place.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the body and every child before `drop` returns,
    /// and cancels the scope's token.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt::scope::Scope;
    ///
    /// # futures_lite::future::block_on(async {
    /// let scope = Scope::<std::convert::Infallible>::new();
    /// let run: anyrt::scope::futures::Run<'_, '_, _, _, _> = scope.run(async { Ok(5) });
    /// assert_eq!(run.await, Ok(5));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Run<'s, 'a, B, R, E> {
        #[pin]
        inner: WithAmbient<RunInner<'s, 'a, B, R, E>>,
        // The scope's token, until the first poll makes it a child of the
        // token current there.
        unlinked: Option<CancelToken>,
    }
}

impl<'s, 'a, B, R, E> Run<'s, 'a, B, R, E> {
    pub(crate) fn new(token: CancelToken, inner: WithAmbient<RunInner<'s, 'a, B, R, E>>) -> Self {
        Run {
            inner,
            unlinked: Some(token),
        }
    }
}

impl<'a, B, R, E> Future for Run<'_, 'a, B, R, E>
where
    B: Future<Output = Result<R, E>>,
    E: Send + 'a,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R, E>> {
        let this = self.project();
        if let Some(token) = this.unlinked.take() {
            // Read outside the ambient layer, which makes the scope's own
            // token current; before the layer's first poll, so before the
            // body and the children see the token.
            if let Some(parent) = CancelToken::current() {
                parent.adopt(&token);
            }
        }
        this.inner.poll(cx)
    }
}

impl<B, R, E> fmt::Debug for Run<'_, '_, B, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run").finish_non_exhaustive()
    }
}
