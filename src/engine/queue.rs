//! The event queue: a binary min-heap of 16-byte events ordered by (time, tag).
//!
//! The tag puts the event class in its top byte and a unique id (environment, traffic source,
//! request) below, so events at the same instant run in a fixed, documented order without a
//! sequence counter: completions first (a freed environment can serve an arrival at that very
//! instant), then timers (retries, pollers), then arrivals; within a class, by id.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One scheduled event: its time and a tag packing its class and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Event {
    /// When the event fires, µs.
    pub time: u64,
    /// Class and id packed into one word (same-instant order).
    pub tag: u64,
}

/// Event classes, in the order they run at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Class {
    /// An environment finishes INIT + invocation. Id: environment.
    Complete = 0,
    /// A delayed action (retry, poll, re-delivery). Id: timer slot.
    Timer = 1,
    /// A traffic source emits a request. Id: source.
    Arrival = 2,
}

impl Event {
    /// An event of `class` for object `id` at `time`.
    #[inline]
    pub fn new(time: u64, class: Class, id: u32) -> Event {
        Event {
            time,
            tag: ((class as u64) << 56) | id as u64,
        }
    }
    /// The event's class.
    #[inline]
    pub fn class(&self) -> Class {
        match self.tag >> 56 {
            0 => Class::Complete,
            1 => Class::Timer,
            _ => Class::Arrival,
        }
    }
    /// The id of the object the event concerns.
    #[inline]
    pub fn id(&self) -> u32 {
        self.tag as u32
    }
}

/// The pending events, earliest first.
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Event>>,
}

impl EventQueue {
    /// An empty queue with room for `n` events.
    pub fn with_capacity(n: usize) -> EventQueue {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
        }
    }
    /// Schedules an event.
    #[inline]
    pub fn push(&mut self, e: Event) {
        self.heap.push(Reverse(e));
    }
    /// Takes the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.heap.pop().map(|Reverse(e)| e)
    }
    /// Time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(e)| e.time)
    }
    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_instant_runs_completions_then_timers_then_arrivals() {
        let mut q = EventQueue::default();
        q.push(Event::new(5, Class::Arrival, 0));
        q.push(Event::new(5, Class::Timer, 9));
        q.push(Event::new(5, Class::Complete, 3));
        q.push(Event::new(5, Class::Complete, 1));
        q.push(Event::new(4, Class::Arrival, 7));
        let order: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|e| (e.time, e.class(), e.id()))
            .collect();
        assert_eq!(
            order,
            vec![
                (4, Class::Arrival, 7),
                (5, Class::Complete, 1),
                (5, Class::Complete, 3),
                (5, Class::Timer, 9),
                (5, Class::Arrival, 0)
            ]
        );
    }
}
