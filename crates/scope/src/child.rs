//! An in-place child: its future, then its output, in one allocation.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// A child as the scope sees it, whatever its future and output types.
pub(crate) trait Child<E>: Send {
    /// Polls the future; on `Ok` the output is kept for the handle and the
    /// future is dropped at once.
    fn poll_child(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>>;

    /// Moves the kept output into `slot`, an `Option<T>` of the child's
    /// output type.
    fn take_output(self: Pin<&mut Self>, slot: &mut dyn Any);
}

/// A boxed child, as stored in the scope.
pub(crate) type BoxChild<'a, E> = Pin<Box<dyn Child<E> + 'a>>;

pin_project! {
    #[project = StageProj]
    enum Stage<F, T> {
        Running { #[pin] future: F },
        Done { output: Option<T> },
    }
}

pin_project! {
    pub(crate) struct Cell<F, T> {
        #[pin]
        stage: Stage<F, T>,
    }
}

impl<F, T> Cell<F, T> {
    pub(crate) fn new(future: F) -> Cell<F, T> {
        Cell {
            stage: Stage::Running { future },
        }
    }

    /// The future, until it has finished.
    pub(crate) fn running(self: Pin<&mut Self>) -> Option<Pin<&mut F>> {
        match self.project().stage.project() {
            StageProj::Running { future } => Some(future),
            StageProj::Done { .. } => None,
        }
    }
}

impl<F, T, E> Child<E> for Cell<F, T>
where
    F: Future<Output = Result<T, E>> + Send,
    T: Send + 'static,
{
    fn poll_child(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let mut stage = self.project().stage;
        let StageProj::Running { future } = stage.as_mut().project() else {
            return Poll::Ready(Ok(()));
        };
        let output = match future.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(output)) => Some(output),
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
        };
        // Drops the future now, not when the handle takes the output.
        stage.set(Stage::Done { output });
        Poll::Ready(Ok(()))
    }

    fn take_output(self: Pin<&mut Self>, slot: &mut dyn Any) {
        if let StageProj::Done { output } = self.project().stage.project() {
            if let Some(slot) = slot.downcast_mut::<Option<T>>() {
                *slot = output.take();
            }
        }
    }
}
