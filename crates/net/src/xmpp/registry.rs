//! The live BOSH sessions by sid, and what a session's task is sent through its mailbox:
//! requests (each with where its answer goes), and the server's order to stop.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use herald_core::queue::QueueSender;
use herald_xml::Element;
use tokio::sync::oneshot;

use crate::http::Parked;

/// One request handed to a session's task.
pub(crate) struct Request {
    pub(crate) body: Element,
    /// Its size on the wire: held against the pre-authentication limit and charged against
    /// the client's byte budget (both by the machine).
    pub(crate) bytes: usize,
    pub(crate) reply: Reply,
}

/// Where the answer to a request goes.
pub(crate) enum Reply {
    /// To the router's handler, which waits for it.
    Channel(oneshot::Sender<(u16, String)>),
    /// Onto the fast-path connection the request came on, parked with the session until then:
    /// an idle session's held request keeps no task of its own.
    Connection(Parked),
}

impl Reply {
    /// Sends the answer: its HTTP status and body.
    pub(crate) fn send(self, status: u16, body: String) {
        match self {
            Reply::Channel(tx) => drop(tx.send((status, body))),
            Reply::Connection(connection) => connection.answer(status, body),
        }
    }

    /// Answers as for an unknown session (404): the session ended before it answered.
    pub(crate) fn send_unknown(self) {
        self.send(404, String::new());
    }
}

/// What a session's task is sent: requests, and the server's order to stop (it comes this way
/// so that an idle session's task waits on nothing else for it).
pub(crate) enum Message {
    Request(Box<Request>),
    Shutdown,
}

/// Live BOSH sessions by sid.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, QueueSender<Message>>>,
    /// Set by [`Registry::close_all`]: sessions registered later are told to stop at once.
    closing: AtomicBool,
}

impl Registry {
    pub(crate) fn get(&self, sid: &str) -> Option<QueueSender<Message>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).get(sid).cloned()
    }

    /// Registers a session; when the server is already stopping, tells it to stop too.
    pub(crate) fn insert(&self, sid: String, tx: QueueSender<Message>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if self.closing.load(Ordering::Acquire) {
            let _ = tx.try_send(Message::Shutdown);
        }
        sessions.insert(sid, tx);
    }

    pub(crate) fn remove(&self, sid: &str) {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(sid);
    }

    /// Tells every session the server is stopping (each answers its client with
    /// `system-shutdown` and closes).
    pub fn close_all(&self) {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        self.closing.store(true, Ordering::Release);
        for tx in sessions.values() {
            let _ = tx.try_send(Message::Shutdown);
        }
    }

    /// Number of live sessions (including closed ones still answering late requests).
    pub fn len(&self) -> usize {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
