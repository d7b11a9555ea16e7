//! `limit(n)`: how many children run, and who is admitted next, in order.

use std::collections::{HashMap, VecDeque};
use std::task::Waker;

use crate::wake::set_waker;

/// Waiting for a place, first come, first served.
enum Queued {
    /// A child spawned while the scope was full: its slab key and id.
    Child(usize, u64),
    /// A `spawn_wait` future, by ticket; passed over if the ticket is no
    /// longer in `waiters` (its holder gave up), unless swept out of the
    /// line before it gets there.
    Waiter(u64),
}

pub(crate) struct Waiter {
    waker: Option<Waker>,
    granted: bool,
}

impl Waiter {
    /// Wakes the `spawn_wait` future holding the ticket, if it waits: the
    /// scope ended, and it must look again to learn that.
    pub(crate) fn wake(self) {
        if let Some(waker) = self.waker {
            anyrt_core::wake_quietly(waker);
        }
    }
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
    /// How many in `queue` still wait (not given up).
    waiting: usize,
    /// How many in `queue` were given up; `queue.len()` is always
    /// `waiting + given_up`.
    given_up: usize,
    /// Every ticket held, queued or granted: each look at a ticket, and
    /// giving one up, costs the same however long the line is.
    waiters: HashMap<u64, Waiter>,
    next_ticket: u64,
}

impl Admission {
    pub(crate) fn new(max: usize) -> Admission {
        Admission {
            max,
            running: 0,
            queue: VecDeque::new(),
            waiting: 0,
            given_up: 0,
            waiters: HashMap::new(),
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
        let room = self.running < self.max && self.waiting == 0;
        self.running += usize::from(room);
        room
    }

    /// Queues a child that found no place.
    pub(crate) fn queue_child(&mut self, key: usize, id: u64) {
        self.queue.push_back(Queued::Child(key, id));
        self.waiting += 1;
    }

    /// Queues a waiter; returns its ticket.
    pub(crate) fn wait(&mut self, waker: &Waker) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back(Queued::Waiter(ticket));
        self.waiting += 1;
        let waiter = Waiter {
            waker: Some(waker.clone()),
            granted: false,
        };
        self.waiters.insert(ticket, waiter);
        ticket
    }

    /// Looks at a ticket; a granted one is consumed (its place is now the
    /// holder's).
    /// A waker replaced, or let go of, goes into `dropped`, for the caller
    /// to drop after its lock.
    pub(crate) fn poll_ticket(
        &mut self,
        ticket: u64,
        waker: &Waker,
        dropped: &mut Option<Waker>,
    ) -> Ticket {
        let Some(waiter) = self.waiters.get_mut(&ticket) else {
            return Ticket::Gone;
        };
        if waiter.granted {
            *dropped = self.waiters.remove(&ticket).and_then(|w| w.waker);
            return Ticket::Granted;
        }
        *dropped = set_waker(&mut waiter.waker, waker);
        Ticket::Waiting
    }

    /// A waiter gave up: it leaves the queue, or gives back the place it
    /// was granted (which goes to the next in line). Its waker goes into
    /// `dropped`, for the caller to drop after its lock.
    pub(crate) fn cancel(&mut self, ticket: u64, dropped: &mut Option<Waker>) -> Option<Admitted> {
        let waiter = self.waiters.remove(&ticket)?;
        *dropped = waiter.waker;
        if waiter.granted {
            return self.release();
        }
        // Its entry stays in `queue`, to be passed over, so that giving up
        // costs no search of the line. Once such entries are the larger
        // part of the line they are swept out in one pass, which the
        // give-ups since the last sweep pay for: the line stays at most
        // twice as long as what waits, even while a waiter that never
        // leaves holds the line open.
        self.waiting -= 1;
        self.given_up += 1;
        if self.waiting == 0 {
            self.queue.clear();
            self.given_up = 0;
        } else if self.given_up > self.waiting {
            let waiters = &self.waiters;
            self.queue.retain(|queued| match queued {
                Queued::Child(..) => true,
                Queued::Waiter(ticket) => waiters.contains_key(ticket),
            });
            self.given_up = 0;
        }
        None
    }

    /// A running child ended: its place goes to the first in line.
    pub(crate) fn release(&mut self) -> Option<Admitted> {
        self.running -= 1;
        loop {
            let admitted = match self.queue.pop_front()? {
                Queued::Child(key, id) => Admitted::Child(key, id),
                Queued::Waiter(ticket) => match self.waiters.get_mut(&ticket) {
                    Some(waiter) => {
                        waiter.granted = true;
                        Admitted::Waiter(waiter.waker.take())
                    }
                    None => {
                        // Given up.
                        self.given_up -= 1;
                        continue;
                    }
                },
            };
            self.waiting -= 1;
            self.running += 1;
            return Some(admitted);
        }
    }

    /// The scope ended: nobody runs or waits any more. Returns the
    /// waiters, for the caller to drop (with their wakers) after its lock.
    #[must_use = "drop the waiters after the lock"]
    pub(crate) fn reset(&mut self) -> HashMap<u64, Waiter> {
        self.running = 0;
        self.queue.clear();
        self.waiting = 0;
        self.given_up = 0;
        std::mem::take(&mut self.waiters)
    }
}
