//! The future of `Scope::run`: polls the body and the woken children.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyrt_core::futures::WithAmbient;
use pin_project_lite::pin_project;

use crate::scope::{Scope, Step};
use crate::wake::{BODY, Ready, SlotWaker};

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
        wakers: Option<(Arc<Ready>, SlotWaker)>,
        // The keys being polled; kept for its capacity.
        batch: VecDeque<usize>,
        ended: bool,
    }

    impl<'s, 'a, B, R, E> PinnedDrop for RunInner<'s, 'a, B, R, E> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.ended {
                this.scope.close("the scope's future was dropped");
            }
        }
    }
}

impl<'s, 'a, B, R, E> RunInner<'s, 'a, B, R, E> {
    pub(crate) fn new(scope: &'s Scope<'a, E>, body: B) -> Self {
        RunInner {
            scope,
            body: Some(body),
            output: None,
            wakers: None,
            batch: VecDeque::new(),
            ended: false,
        }
    }
}

impl<'a, B, R, E> Future for RunInner<'_, 'a, B, R, E>
where
    B: Future<Output = Result<R, E>>,
    E: Send + 'a,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R, E>> {
        let mut this = self.project();
        assert!(
            !*this.ended,
            "anyrt-scope: the run was polled after it ended"
        );
        let scope = *this.scope;
        let (ready, body_waker) = this.wakers.get_or_insert_with(|| scope.start());
        let ready = &**ready;
        ready.register(cx.waker());
        ready.set_polling(true);
        let mut polls = 0;
        loop {
            let mut batch = std::mem::take(this.batch);
            // Children spawned first: they came before the wake-ups that
            // their spawner's later awaits queued.
            scope.take_spawned(&mut batch);
            ready.take(&mut batch);
            if batch.is_empty() {
                // After this, wake-ups and spawns wake the task instead;
                // look once more for any that came before.
                let queued = ready.set_polling(false);
                if queued || scope.take_spawned(&mut batch) {
                    ready.set_polling(true);
                    *this.batch = batch;
                    continue;
                }
                *this.batch = batch;
                if this.output.is_some() && scope.is_empty() {
                    *this.ended = true;
                    scope.close("the scope finished");
                    let output = this.output.take().expect("checked above");
                    return Poll::Ready(Ok(output));
                }
                return Poll::Pending;
            }
            polls += batch.len();
            while let Some(key) = batch.pop_front() {
                let step = match key {
                    BODY => poll_body(this.body.as_mut(), this.output, body_waker),
                    key => scope.poll_child(key),
                };
                let failure = match step {
                    Step::Continue => continue,
                    Step::Fail(error) => Ok(error),
                    Step::Panic(panic) => Err(panic),
                };
                ready.put_back(&mut batch);
                ready.set_polling(false);
                *this.ended = true;
                scope.close("a child or the body of the scope failed");
                this.body.set(None);
                return match failure {
                    Ok(error) => Poll::Ready(Err(error)),
                    Err(panic) => resume_unwind(panic),
                };
            }
            *this.batch = batch;
            if polls >= BUDGET {
                ready.set_polling(false);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
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
    waker.node.dequeued();
    let Some(future) = body.as_mut().as_pin_mut() else {
        return Step::Continue;
    };
    let mut cx = Context::from_waker(&waker.waker);
    match catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
        Ok(Poll::Pending) => Step::Continue,
        Ok(Poll::Ready(Ok(value))) => {
            body.set(None);
            *output = Some(value);
            Step::Continue
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
    }
}

impl<'s, 'a, B, R, E> Run<'s, 'a, B, R, E> {
    pub(crate) fn new(inner: WithAmbient<RunInner<'s, 'a, B, R, E>>) -> Self {
        Run { inner }
    }
}

impl<'a, B, R, E> Future for Run<'_, 'a, B, R, E>
where
    B: Future<Output = Result<R, E>>,
    E: Send + 'a,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R, E>> {
        self.project().inner.poll(cx)
    }
}

impl<B, R, E> fmt::Debug for Run<'_, '_, B, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run").finish_non_exhaustive()
    }
}
