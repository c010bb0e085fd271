//! A session's queue: many producers, one consumer, bounded, closable, with no storage while it
//! is empty. Tens of thousands of idle desktops each own one or two of these, and a tokio
//! channel costs about 800 bytes before its first message (a cache-padded channel plus its first
//! block of 32 slots); this costs a mutex, a `Notify` and an `Arc`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Notify,
    capacity: usize,
}

impl<T> Shared<T> {
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why an item was not queued; it comes back with the error.
#[derive(Debug, PartialEq, Eq)]
pub enum QueueError<T> {
    /// The queue holds `capacity` items already.
    Full(T),
    /// The queue was closed (its session is ending).
    Closed(T),
}

/// The producing side; clones share the queue.
pub struct QueueSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<T> std::fmt::Debug for QueueSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSender").field("capacity", &self.shared.capacity).finish_non_exhaustive()
    }
}

/// The consuming side.
pub struct QueueReceiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for QueueReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueReceiver").field("capacity", &self.shared.capacity).finish_non_exhaustive()
    }
}

/// A queue holding at most `capacity` items (`usize::MAX`: no bound).
pub fn queue<T>(capacity: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let shared = Arc::new(Shared { state: Mutex::new(State { items: VecDeque::new(), closed: false }), ready: Notify::new(), capacity });
    (QueueSender { shared: shared.clone() }, QueueReceiver { shared })
}

impl<T> QueueSender<T> {
    /// Queues `item` unless the queue is full or closed.
    pub fn try_send(&self, item: T) -> Result<(), QueueError<T>> {
        let mut state = self.shared.state();
        if state.closed {
            return Err(QueueError::Closed(item));
        }
        if state.items.len() >= self.shared.capacity {
            return Err(QueueError::Full(item));
        }
        state.items.push_back(item);
        drop(state);
        // A stored permit if the receiver is not waiting yet: no wake-up is lost.
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.shared.state().items.len()
    }

    /// Whether nothing waits now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the queue: nothing more is accepted, and the receiver gets `None` once it has
    /// taken what is queued.
    pub fn close(&self) {
        self.shared.state().closed = true;
        self.shared.ready.notify_one();
    }
}

impl<T> QueueReceiver<T> {
    /// The next item; `None` once the queue is closed and empty.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            {
                let mut state = self.shared.state();
                if let Some(item) = herald_proto::pop_releasing(&mut state.items) {
                    return Some(item);
                }
                if state.closed {
                    return None;
                }
            }
            self.shared.ready.notified().await;
        }
    }

    /// The next item if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        herald_proto::pop_releasing(&mut self.shared.state().items)
    }

    /// Closes the queue from this side (see [`QueueSender::close`]).
    pub fn close(&mut self) {
        self.shared.state().closed = true;
    }
}

impl<T> Drop for QueueReceiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_arrive_in_order_and_the_bound_holds() {
        let (tx, mut rx) = queue(2);
        tx.try_send(1).unwrap();
        tx.clone().try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(QueueError::Full(3)));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_and_close_ends_after_draining() {
        let (tx, mut rx) = queue(usize::MAX);
        let waiter = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = rx.recv().await {
                got.push(item);
            }
            got
        });
        tokio::task::yield_now().await;
        for n in 0..100 {
            tx.try_send(n).unwrap();
        }
        tx.close();
        assert_eq!(tx.try_send(100), Err(QueueError::Closed(100)));
        assert_eq!(waiter.await.unwrap(), (0..100).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_dropped_receiver_refuses_further_items() {
        let (tx, rx) = queue::<u8>(4);
        drop(rx);
        assert_eq!(tx.try_send(1), Err(QueueError::Closed(1)));
    }
}
