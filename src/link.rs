//! The link adapter: the protocol's text frames over a PeerJS [`DataConnection`]
//! (`binary` serialization, PROTOCOL.md §1.3), so the runtimes never look inside BinaryPack.
//!
//! Every starpoll frame is a JSON string; this module is the one place that knows it travels
//! as a BinaryPack string ([`Value::Str`]) and turns a connection's events into
//! [`TextEvent`]s. Anything else that arrives is [`TextEvent::NotText`].

use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::web::{ConnectionError, ConnectionEvent, DataConnection};

/// What happened on a connection, in the protocol's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum TextEvent {
    /// The data channel is open: frames can be sent.
    Open,
    /// A text frame arrived.
    Text(String),
    /// A message that is not a text frame arrived (dropped by the protocol).
    NotText,
    /// The connection reported an error (a close usually follows).
    Error(ConnectionError),
    /// The connection closed; nothing more comes.
    Close,
}

impl From<ConnectionEvent> for TextEvent {
    fn from(event: ConnectionEvent) -> Self {
        match event {
            ConnectionEvent::Open => Self::Open,
            ConnectionEvent::Data(Data::Packed(Value::Str(text))) => Self::Text(text),
            ConnectionEvent::Data(_) => Self::NotText,
            ConnectionEvent::Error(e) => Self::Error(e),
            ConnectionEvent::Close => Self::Close,
        }
    }
}

/// Sends one text frame on `conn`.
pub fn send(conn: &DataConnection, frame: String) -> Result<(), ConnectionError> {
    conn.send(&Data::Text(frame))
}
