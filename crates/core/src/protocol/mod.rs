//! The wire protocol between a poll's owner and its participants, over PeerJS data connections:
//! JSON messages in signed envelopes.
//!
//! Invariants:
//! - Every frame is `{"v":1,"signer","sig","body"}` ([`seal`] / [`open`]) with a signature over
//!   the exact bytes of `body`; participants' frames are signed by their author, the owner's by the
//!   owner. A frame is accepted only if its signer is the peer on the other end of the data
//!   connection ([`open_from`]), so nobody can speak for someone else, even with a captured frame.
//! - Replays are harmless without timestamps: a command carries its `pollId` and a `commandId`,
//!   and the owner answers a seen `commandId` from its record instead of applying it again.
//! - Frames are at most [`MAX_FRAME_BYTES`]; a poll at every limit still fits in one snapshot.
//! - Parsing never panics: any input is a message or a typed [`ProtocolError`], which maps to a
//!   stable [`ErrorCode`] for the `error` reply.
//! - No `serde_json::Value` escapes this module: messages are typed from the start.

pub mod batch;
mod envelope;
mod error;
mod message;
mod strict;
pub(crate) use strict::check_object;

#[cfg(test)]
mod tests;

pub use envelope::{
    check_sender, frame_unsigned, open, open_body, open_bound, open_from, open_from_checked, seal,
    seal_body, Checked, SignatureJob,
};
pub use error::{ErrorCode, ProtocolError};
pub use message::{
    CommandFrame, Control, Message, PeerInfo, PollSummary, COMMAND_TYPES, CONTROL_TYPES,
    DISCOVERY_LISTED_MAX,
};

/// The protocol version this crate speaks; every frame and body carries it as `v`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest frame accepted or sent, in bytes of UTF-8 (256 KiB). PeerJS's default `binary`
/// serialization chunks larger messages transparently; its `json` serialization refuses messages
/// of 16,300 bytes or more, so connections carrying snapshots must use `binary`.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// Either side sends a `heartbeat` on a connection it has sent nothing on for this long (ms,
/// §4.9).
pub const HEARTBEAT_AFTER_MS: u64 = 5_000;

/// Either side closes a connection it has heard nothing on for this long (ms, §4.9).
pub const SILENCE_CLOSE_MS: u64 = 15_000;

/// The DTLS certificate fingerprints of one data connection, as this side reads them from its
/// own local and remote SDP descriptions (PROTOCOL.md §2.7), each in one normal form
/// (`sha-256 AB:CD:…`, as `peerjs_client::sdp::dtls_fingerprint` writes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFingerprints {
    /// This side's own certificate's fingerprint.
    pub local: String,
    /// The other side's, which the DTLS handshake checked.
    pub remote: String,
}

impl From<(String, String)> for ChannelFingerprints {
    /// From `(local, remote)`, as `peerjs_client`'s `DataConnection::dtls_fingerprints` gives them.
    fn from((local, remote): (String, String)) -> Self {
        Self { local, remote }
    }
}
