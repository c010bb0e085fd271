//! XMPP vocabulary shared by every protocol crate: namespaces, JIDs, stream and stanza error
//! conditions, small builders for the stanzas the server itself emits, and the queue helper
//! every per-session queue uses; the per-session byte budget and warning summaries
//! ([`throttle`]) and the redaction of secrets from logged XML ([`redact`]).

pub mod error;
pub mod ns;
pub mod redact;
pub mod stanza;
pub mod throttle;
pub mod time;

pub use error::{StanzaError, StanzaErrorType, StreamErrorCondition};
pub use jid::{BareJid, Error as JidError, FullJid, Jid};
pub use redact::redact_xml;
pub use stanza::{Stanza, StanzaKind};
pub use throttle::{LogThrottle, RateLimit, TokenBucket};

/// Takes the front of a queue and frees its storage once it is empty: the queues of an idle
/// session are empty nearly all the time, and tens of thousands of idle sessions should not each
/// keep the room their busiest moment needed.
pub fn pop_releasing<T>(queue: &mut std::collections::VecDeque<T>) -> Option<T> {
    let front = queue.pop_front();
    if queue.is_empty() && queue.capacity() > 0 {
        *queue = std::collections::VecDeque::new();
    }
    front
}
