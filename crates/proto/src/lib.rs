//! XMPP vocabulary shared by every protocol crate: namespaces, JIDs, stream and stanza error
//! conditions, and small builders for the stanzas the server itself emits.

pub mod error;
pub mod ns;
pub mod stanza;

pub use error::{StanzaError, StanzaErrorType, StreamErrorCondition};
pub use jid::{BareJid, Error as JidError, FullJid, Jid};
pub use stanza::{Stanza, StanzaKind};
