//! `limit(n)`: how many children run, and who is admitted next, in order.

use std::collections::VecDeque;
use std::task::Waker;

/// Waiting for a place, first come, first served.
enum Queued {
    /// A child spawned while the scope was full: its slab key and id.
    Child(usize, u64),
    /// A `spawn_wait` future, by ticket.
    Waiter(u64),
}

struct Waiter {
    ticket: u64,
    waker: Option<Waker>,
    granted: bool,
}

/// Who got the place that was freed.
pub(crate) enum Admitted {
    Child(usize, u64),
    Waiter(Option<Waker>),
}

/// What a ticket holder finds when it looks again.
pub(crate) enum Ticket {
    Granted,
    Waiting,
    /// The scope ended; the ticket means nothing any more.
    Gone,
}

pub(crate) struct Admission {
    max: usize,
    running: usize,
    queue: VecDeque<Queued>,
    waiters: Vec<Waiter>,
    next_ticket: u64,
}

impl Admission {
    pub(crate) fn new(max: usize) -> Admission {
        Admission {
            max,
            running: 0,
            queue: VecDeque::new(),
            waiters: Vec::new(),
            next_ticket: 0,
        }
    }

    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Takes a place if one is free and nobody waits ahead.
    pub(crate) fn try_enter(&mut self) -> bool {
        let room = self.running < self.max && self.queue.is_empty();
        self.running += usize::from(room);
        room
    }

    /// Queues a child that found no place.
    pub(crate) fn queue_child(&mut self, key: usize, id: u64) {
        self.queue.push_back(Queued::Child(key, id));
    }

    /// Queues a waiter; returns its ticket.
    pub(crate) fn wait(&mut self, waker: &Waker) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back(Queued::Waiter(ticket));
        self.waiters.push(Waiter {
            ticket,
            waker: Some(waker.clone()),
            granted: false,
        });
        ticket
    }

    /// Looks at a ticket; a granted one is consumed (its place is now the
    /// holder's).
    pub(crate) fn poll_ticket(&mut self, ticket: u64, waker: &Waker) -> Ticket {
        let Some(at) = self.waiters.iter().position(|w| w.ticket == ticket) else {
            return Ticket::Gone;
        };
        if self.waiters[at].granted {
            self.waiters.swap_remove(at);
            return Ticket::Granted;
        }
        let slot = &mut self.waiters[at].waker;
        if !slot.as_ref().is_some_and(|known| known.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
        Ticket::Waiting
    }

    /// A waiter gave up: it leaves the queue, or gives back the place it
    /// was granted (which goes to the next in line).
    pub(crate) fn cancel(&mut self, ticket: u64) -> Option<Admitted> {
        let at = self.waiters.iter().position(|w| w.ticket == ticket)?;
        let waiter = self.waiters.swap_remove(at);
        if waiter.granted {
            return self.release();
        }
        self.queue
            .retain(|queued| !matches!(queued, Queued::Waiter(t) if *t == ticket));
        None
    }

    /// A running child ended: its place goes to the first in line.
    pub(crate) fn release(&mut self) -> Option<Admitted> {
        self.running -= 1;
        let next = self.queue.pop_front()?;
        self.running += 1;
        Some(match next {
            Queued::Child(key, id) => Admitted::Child(key, id),
            Queued::Waiter(ticket) => {
                let waiter = self
                    .waiters
                    .iter_mut()
                    .find(|w| w.ticket == ticket)
                    .expect("a queued ticket has its waiter");
                waiter.granted = true;
                Admitted::Waiter(waiter.waker.take())
            }
        })
    }

    /// The scope ended: nobody runs or waits any more.
    pub(crate) fn reset(&mut self) {
        self.running = 0;
        self.queue.clear();
        self.waiters.clear();
    }
}
