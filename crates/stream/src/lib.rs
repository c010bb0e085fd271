//! The client-to-server stream state machine, sans-IO, shared by every transport: stream header →
//! [STARTTLS] → SASL → restart → resource binding → stanzas. Bytes and the current time go in;
//! [`Output`]s come out for the driver to act on (write, upgrade to TLS, look up credentials, bind,
//! route a stanza, close). Whatever needs I/O is an output, and its answer comes back as an input.

mod machine;

pub use machine::{C2sStream, CloseReason, Framing, NS_FRAMING, Output, StreamConfig, TlsPolicy};
