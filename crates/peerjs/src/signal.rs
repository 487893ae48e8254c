//! Every PeerJS signaling frame as a typed Rust value: what the server sends ([`ServerMessage`],
//! parsed with [`ServerMessage::parse`]) and what a client sends ([`ClientMessage`], serialized
//! with [`ClientMessage::to_json`]), plus the payloads of data-connection negotiation.
//!
//! Invariants:
//! - Parsing never panics: any text yields a [`ServerMessage`] or a typed [`SignalError`] (bad
//!   JSON, not an object, unknown `type` with its name kept, a missing or invalid field, an unknown
//!   serialization name, or a `media` payload, which this crate refuses).
//! - Outgoing frames are byte-for-byte what stock `peerjs` 1.5 sends, up to JSON key order:
//!   `{type, dst, payload}`, never a `src` (the server sets it), `payload.type` always `"data"`,
//!   SDP as `{sdp, type}` objects.
//! - Unknown fields in incoming frames (older clients' `browser`, the relayed `dst`) are ignored.
//! - No `serde_json::Value` leaves this module except [`OfferPayload::metadata`], which is
//!   arbitrary application JSON by definition.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A peer's ID on the signaling server (the `id` it registered with).
///
/// The server accepts any non-empty string; JavaScript PeerJS clients only accept IDs matching
/// `^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$` (see [`PeerName::is_valid_for_peerjs`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerName(String);

impl PeerName {
    /// Wraps an ID as is (no validation: relayed `src` values are whatever the server holds).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The ID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether JavaScript PeerJS would accept this ID: ASCII letters and digits, optionally
    /// separated by single spaces, `_` or `-`, not starting or ending with a separator.
    pub fn is_valid_for_peerjs(&self) -> bool {
        let mut previous_was_separator = true; // forbids a leading separator
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() {
                previous_was_separator = false;
            } else if matches!(b, b' ' | b'_' | b'-') && !previous_was_separator {
                previous_was_separator = true;
            } else {
                return false;
            }
        }
        !previous_was_separator // non-empty and no trailing separator
    }
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for PeerName {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for PeerName {
    fn from(id: String) -> Self {
        Self(id)
    }
}

/// The ID of one data connection, chosen by the side that dials; every ANSWER and CANDIDATE of
/// that connection echoes it. PeerJS uses `dc_` followed by random base-36 digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectionId(String);

impl ConnectionId {
    /// Wraps an existing ID (e.g. one received from a remote peer).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// A fresh data-connection ID in PeerJS's shape, `dc_` + base-36 digits, from 8 bytes the
    /// caller drew from a random source (this crate never reads one itself).
    pub fn from_random_bytes(random: [u8; 8]) -> Self {
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut n = u64::from_be_bytes(random);
        let mut digits = Vec::with_capacity(13);
        loop {
            // `n % 36` is below 36, so the index is always in bounds.
            digits.push(char::from(DIGITS[(n % 36) as usize]));
            n /= 36;
            if n == 0 {
                break;
            }
        }
        let mut id = String::with_capacity(3 + digits.len());
        id.push_str("dc_");
        id.extend(digits.iter().rev());
        Self(id)
    }

    /// The ID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ConnectionId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// How the two ends encode data-channel messages; named by the dialer in its OFFER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Serialization {
    /// `"json"`: UTF-8 JSON in binary frames.
    Json,
    /// `"raw"`: frames passed through unchanged.
    Raw,
    /// `"binary"` (PeerJS's default; `"binary-utf8"` is read as this too): BinaryPack.
    #[default]
    Binary,
}

impl Serialization {
    /// The name PeerJS uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Raw => "raw",
            Self::Binary => "binary",
        }
    }
}

impl fmt::Display for Serialization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A serialization name that PeerJS does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown serialization {0:?}")]
pub struct UnknownSerialization(pub String);

impl FromStr for Serialization {
    type Err = UnknownSerialization;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "json" => Ok(Self::Json),
            "raw" => Ok(Self::Raw),
            "binary" | "binary-utf8" => Ok(Self::Binary),
            other => Err(UnknownSerialization(other.to_owned())),
        }
    }
}

impl Serialize for Serialization {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Serialization {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The payload of an OFFER: the dialer's SDP and the data connection's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "OfferWire", from = "OfferWire")]
pub struct OfferPayload {
    /// The offer SDP text (sent as `{sdp, type:"offer"}`).
    pub sdp: String,
    /// The connection this offer opens.
    pub connection_id: ConnectionId,
    /// The data channel's label (PeerJS defaults it to the connection ID).
    pub label: String,
    /// Whether the dialer opened the channel ordered (`reliable:false` means unordered).
    pub reliable: bool,
    /// How messages on the channel are encoded.
    pub serialization: Serialization,
    /// Arbitrary application JSON; absent (and `null`) is `None`.
    pub metadata: Option<Value>,
}

impl OfferPayload {
    /// An offer the way this crate dials: label = connection ID, reliable (ordered) channel.
    pub fn new(
        connection_id: ConnectionId,
        sdp: impl Into<String>,
        serialization: Serialization,
        metadata: Option<Value>,
    ) -> Self {
        Self {
            sdp: sdp.into(),
            label: connection_id.as_str().to_owned(),
            connection_id,
            reliable: true,
            serialization,
            metadata,
        }
    }
}

/// The payload of an ANSWER: the answerer's SDP for a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "AnswerWire", from = "AnswerWire")]
pub struct AnswerPayload {
    /// The answer SDP text (sent as `{sdp, type:"answer"}`).
    pub sdp: String,
    /// The connection this answers.
    pub connection_id: ConnectionId,
}

/// One trickled ICE candidate, as `RTCIceCandidate.toJSON()` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The `candidate:…` line.
    pub candidate: String,
    /// The media stream ID (`"0"` for a data-only session).
    pub sdp_mid: Option<String>,
    /// The m-line index (`0` for a data-only session).
    pub sdp_m_line_index: Option<u16>,
    /// The ICE username fragment.
    pub username_fragment: Option<String>,
}

/// The payload of a CANDIDATE: one ICE candidate for a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "CandidateWire", from = "CandidateWire")]
pub struct CandidatePayload {
    /// The candidate.
    pub candidate: IceCandidate,
    /// The connection it belongs to.
    pub connection_id: ConnectionId,
}

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The ID is registered (not sent when a same-token socket is re-attached).
    Open,
    /// The ID is held by another client (different token); the server closes the socket.
    IdTaken {
        /// The server's explanation (`"ID is taken"`).
        msg: String,
    },
    /// Bad key, missing parameters or the server's client limit; the server closes the socket.
    Error {
        /// The server's explanation.
        msg: String,
    },
    /// A heartbeat (the server never sends one; accepted for symmetry).
    Heartbeat,
    /// A remote peer dials us.
    Offer {
        /// Who dials.
        src: PeerName,
        /// The offer.
        payload: OfferPayload,
    },
    /// A remote peer answers our offer.
    Answer {
        /// Who answers.
        src: PeerName,
        /// The answer.
        payload: AnswerPayload,
    },
    /// A remote peer trickles an ICE candidate.
    Candidate {
        /// Who sends it.
        src: PeerName,
        /// The candidate.
        payload: CandidatePayload,
    },
    /// A remote peer asks us to close every connection to it.
    Leave {
        /// Who leaves.
        src: PeerName,
    },
    /// Messages we sent to `src` expired in the server's queue: `src` is not connected.
    Expire {
        /// The unreachable peer.
        src: PeerName,
    },
}

/// A frame a client sends to the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientMessage {
    /// Keeps the registration alive (every ping interval).
    Heartbeat,
    /// Dial `dst`.
    Offer {
        /// The peer dialled.
        dst: PeerName,
        /// The offer.
        payload: OfferPayload,
    },
    /// Answer `dst`'s offer.
    Answer {
        /// The dialer.
        dst: PeerName,
        /// The answer.
        payload: AnswerPayload,
    },
    /// Trickle an ICE candidate to `dst`.
    Candidate {
        /// The remote peer.
        dst: PeerName,
        /// The candidate.
        payload: CandidatePayload,
    },
    /// Ask `dst` to close every connection to us.
    Leave {
        /// The remote peer.
        dst: PeerName,
    },
}

/// Why a signaling frame could not be read or written.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// The frame is not JSON.
    #[error("signaling frame is not valid JSON")]
    Json(#[source] Arc<serde_json::Error>),
    /// The frame is JSON but not an object.
    #[error("signaling frame is not a JSON object")]
    NotAnObject,
    /// The frame's `type` is not one PeerJS defines.
    #[error("unknown signaling message type {kind:?}")]
    UnknownType {
        /// The type string as received.
        kind: String,
    },
    /// A field the frame's type requires is absent.
    #[error("signaling frame lacks field `{field}`")]
    MissingField {
        /// The field's name (dotted for nested fields).
        field: &'static str,
    },
    /// A field is present but has the wrong shape.
    #[error("signaling frame has an invalid `{field}`")]
    InvalidField {
        /// The field's name (dotted for nested fields).
        field: &'static str,
        /// What serde found wrong.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// An OFFER names a serialization PeerJS does not define.
    #[error("offer names an unknown serialization")]
    UnknownSerialization(#[from] UnknownSerialization),
    /// A media-call payload (`type:"media"`): out of this crate's scope.
    #[error("media connections are not supported")]
    MediaUnsupported,
    /// A frame could not be encoded (not expected to happen for these types).
    #[error("could not encode a signaling frame")]
    Encode(#[source] Arc<serde_json::Error>),
}

impl ServerMessage {
    /// Parses one text frame from the signaling socket.
    ///
    /// # Errors
    ///
    /// A [`SignalError`] saying why the frame is not a PeerJS server message; see its variants.
    pub fn parse(text: &str) -> Result<Self, SignalError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| SignalError::Json(Arc::new(e)))?;
        let Value::Object(mut frame) = value else {
            return Err(SignalError::NotAnObject);
        };
        let kind: String = take_field(&mut frame, "type")?;
        match kind.as_str() {
            "OPEN" => Ok(Self::Open),
            "HEARTBEAT" => Ok(Self::Heartbeat),
            "ID-TAKEN" => Ok(Self::IdTaken {
                msg: server_msg(&mut frame)?,
            }),
            "ERROR" => Ok(Self::Error {
                msg: server_msg(&mut frame)?,
            }),
            "OFFER" => {
                let src = take_field(&mut frame, "src")?;
                let payload = take_payload(&mut frame)?;
                check_offer_serialization(&payload)?;
                Ok(Self::Offer {
                    src,
                    payload: from_payload(payload)?,
                })
            }
            "ANSWER" => Ok(Self::Answer {
                src: take_field(&mut frame, "src")?,
                payload: from_payload(take_payload(&mut frame)?)?,
            }),
            "CANDIDATE" => Ok(Self::Candidate {
                src: take_field(&mut frame, "src")?,
                payload: from_payload(take_payload(&mut frame)?)?,
            }),
            "LEAVE" => Ok(Self::Leave {
                src: take_field(&mut frame, "src")?,
            }),
            "EXPIRE" => Ok(Self::Expire {
                src: take_field(&mut frame, "src")?,
            }),
            _ => Err(SignalError::UnknownType { kind }),
        }
    }
}

impl ClientMessage {
    /// The JSON text frame for this message.
    ///
    /// # Errors
    ///
    /// [`SignalError::Encode`] if serde_json fails, which these types do not provoke.
    pub fn to_json(&self) -> Result<String, SignalError> {
        serde_json::to_string(self).map_err(|e| SignalError::Encode(Arc::new(e)))
    }
}

/// Removes and decodes a required top-level field.
fn take_field<T: DeserializeOwned>(
    frame: &mut Map<String, Value>,
    field: &'static str,
) -> Result<T, SignalError> {
    let value = frame
        .remove(field)
        .ok_or(SignalError::MissingField { field })?;
    serde_json::from_value(value).map_err(|e| SignalError::InvalidField {
        field,
        source: Arc::new(e),
    })
}

/// Removes the `payload` object of a relayed frame, refusing media payloads.
fn take_payload(frame: &mut Map<String, Value>) -> Result<Map<String, Value>, SignalError> {
    let payload: Map<String, Value> = take_field(frame, "payload")?;
    if payload.get("type").and_then(Value::as_str) == Some("media") {
        return Err(SignalError::MediaUnsupported);
    }
    Ok(payload)
}

/// Reports an unknown serialization name as its own error rather than a generic invalid field.
fn check_offer_serialization(payload: &Map<String, Value>) -> Result<(), SignalError> {
    match payload.get("serialization").and_then(Value::as_str) {
        Some(name) => name.parse::<Serialization>().map(drop).map_err(Into::into),
        None => Ok(()),
    }
}

fn from_payload<T: DeserializeOwned>(payload: Map<String, Value>) -> Result<T, SignalError> {
    serde_json::from_value(Value::Object(payload)).map_err(|e| SignalError::InvalidField {
        field: "payload",
        source: Arc::new(e),
    })
}

/// The `payload.msg` of ID-TAKEN/ERROR; an absent payload or message reads as empty text, so a
/// terse server still produces the error it means.
fn server_msg(frame: &mut Map<String, Value>) -> Result<String, SignalError> {
    #[derive(Deserialize)]
    struct MsgPayload {
        #[serde(default)]
        msg: String,
    }
    match frame.remove("payload") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(payload) => serde_json::from_value::<MsgPayload>(payload)
            .map(|p| p.msg)
            .map_err(|e| SignalError::InvalidField {
                field: "payload.msg",
                source: Arc::new(e),
            }),
    }
}

// ---- Wire shapes: the fixed literals (`type:"data"`, `type:"offer"`) live only here. ----

/// `payload.type`; only data connections are modelled (media is refused before this is read).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum DataTag {
    #[serde(rename = "data")]
    Data,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum OfferTag {
    #[serde(rename = "offer")]
    Offer,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum AnswerTag {
    #[serde(rename = "answer")]
    Answer,
}

/// `RTCSessionDescriptionInit`: `{sdp, type}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SdpWire<T> {
    sdp: String,
    #[serde(rename = "type")]
    kind: T,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OfferWire {
    sdp: SdpWire<OfferTag>,
    #[serde(rename = "type")]
    kind: DataTag,
    connection_id: ConnectionId,
    label: String,
    #[serde(default)]
    reliable: bool,
    #[serde(default)]
    serialization: Serialization,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<Value>,
}

impl From<OfferPayload> for OfferWire {
    fn from(p: OfferPayload) -> Self {
        Self {
            sdp: SdpWire {
                sdp: p.sdp,
                kind: OfferTag::Offer,
            },
            kind: DataTag::Data,
            connection_id: p.connection_id,
            label: p.label,
            reliable: p.reliable,
            serialization: p.serialization,
            metadata: p.metadata,
        }
    }
}

impl From<OfferWire> for OfferPayload {
    fn from(w: OfferWire) -> Self {
        Self {
            sdp: w.sdp.sdp,
            connection_id: w.connection_id,
            label: w.label,
            reliable: w.reliable,
            serialization: w.serialization,
            metadata: w.metadata,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnswerWire {
    sdp: SdpWire<AnswerTag>,
    #[serde(rename = "type")]
    kind: DataTag,
    connection_id: ConnectionId,
}

impl From<AnswerPayload> for AnswerWire {
    fn from(p: AnswerPayload) -> Self {
        Self {
            sdp: SdpWire {
                sdp: p.sdp,
                kind: AnswerTag::Answer,
            },
            kind: DataTag::Data,
            connection_id: p.connection_id,
        }
    }
}

impl From<AnswerWire> for AnswerPayload {
    fn from(w: AnswerWire) -> Self {
        Self {
            sdp: w.sdp.sdp,
            connection_id: w.connection_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CandidateWire {
    candidate: IceCandidate,
    #[serde(rename = "type")]
    kind: DataTag,
    connection_id: ConnectionId,
}

impl From<CandidatePayload> for CandidateWire {
    fn from(p: CandidatePayload) -> Self {
        Self {
            candidate: p.candidate,
            kind: DataTag::Data,
            connection_id: p.connection_id,
        }
    }
}

impl From<CandidateWire> for CandidatePayload {
    fn from(w: CandidateWire) -> Self {
        Self {
            candidate: w.candidate,
            connection_id: w.connection_id,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    // Frames copied from /work/shared/peerjs-transcript.md §4 (peer@1.0.2 + peerjs@1.5.5).
    const OFFER_SDP: &str = "v=0\r\no=- 7020836999029313320 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:1oOB\r\na=ice-pwd:t5eASHHmrxl7yGGk+ovIcMqM\r\na=ice-options:trickle\r\na=fingerprint:sha-256 A9:DA:BC:11:66:C5:0D:13:32:19:40:68:FC:3D:C3:33:4D:B8:E8:F1:C0:14:88:4D:CC:7F:36:EA:B7:4C:B5:7A\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
    const ANSWER_SDP: &str = "v=0\r\no=- 915049146040145659 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Y5mZ\r\na=ice-pwd:Jv7sh3rxo0vCV7JO1lM7h+49\r\na=ice-options:trickle\r\na=fingerprint:sha-256 B6:AE:85:AB:85:59:0B:E3:85:43:15:DC:EA:01:18:27:73:68:E6:09:C4:EE:61:2D:E5:C2:79:71:7F:09:CF:1E\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
    const CANDIDATE_LINE: &str = "candidate:2977833400 1 udp 2122260223 127.0.0.1 36387 typ host generation 0 ufrag 1oOB network-id 1 network-cost 50";

    const OPEN: &str = r#"{
  "type": "OPEN"
}"#;

    const HEARTBEAT: &str = r#"{
  "type": "HEARTBEAT"
}"#;

    const OFFER_SENT: &str = r#"{
  "type": "OFFER",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 7020836999029313320 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:1oOB\r\na=ice-pwd:t5eASHHmrxl7yGGk+ovIcMqM\r\na=ice-options:trickle\r\na=fingerprint:sha-256 A9:DA:BC:11:66:C5:0D:13:32:19:40:68:FC:3D:C3:33:4D:B8:E8:F1:C0:14:88:4D:CC:7F:36:EA:B7:4C:B5:7A\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "offer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a",
    "metadata": {
      "name": "Guest One",
      "v": 1
    },
    "label": "dc_q0tmbver2a",
    "reliable": true,
    "serialization": "json"
  },
  "dst": "owner1"
}"#;

    const OFFER_RELAYED: &str = r#"{
  "type": "OFFER",
  "src": "guest1",
  "dst": "owner1",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 7020836999029313320 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:1oOB\r\na=ice-pwd:t5eASHHmrxl7yGGk+ovIcMqM\r\na=ice-options:trickle\r\na=fingerprint:sha-256 A9:DA:BC:11:66:C5:0D:13:32:19:40:68:FC:3D:C3:33:4D:B8:E8:F1:C0:14:88:4D:CC:7F:36:EA:B7:4C:B5:7A\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "offer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a",
    "metadata": {
      "name": "Guest One",
      "v": 1
    },
    "label": "dc_q0tmbver2a",
    "reliable": true,
    "serialization": "json"
  }
}"#;

    const ANSWER_SENT: &str = r#"{
  "type": "ANSWER",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 915049146040145659 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Y5mZ\r\na=ice-pwd:Jv7sh3rxo0vCV7JO1lM7h+49\r\na=ice-options:trickle\r\na=fingerprint:sha-256 B6:AE:85:AB:85:59:0B:E3:85:43:15:DC:EA:01:18:27:73:68:E6:09:C4:EE:61:2D:E5:C2:79:71:7F:09:CF:1E\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "answer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  },
  "dst": "guest1"
}"#;

    const ANSWER_RELAYED: &str = r#"{
  "type": "ANSWER",
  "src": "owner1",
  "dst": "guest1",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 915049146040145659 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Y5mZ\r\na=ice-pwd:Jv7sh3rxo0vCV7JO1lM7h+49\r\na=ice-options:trickle\r\na=fingerprint:sha-256 B6:AE:85:AB:85:59:0B:E3:85:43:15:DC:EA:01:18:27:73:68:E6:09:C4:EE:61:2D:E5:C2:79:71:7F:09:CF:1E\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "answer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  }
}"#;

    const CANDIDATE_SENT: &str = r#"{
  "type": "CANDIDATE",
  "payload": {
    "candidate": {
      "candidate": "candidate:2977833400 1 udp 2122260223 127.0.0.1 36387 typ host generation 0 ufrag 1oOB network-id 1 network-cost 50",
      "sdpMid": "0",
      "sdpMLineIndex": 0,
      "usernameFragment": "1oOB"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  },
  "dst": "owner1"
}"#;

    const CANDIDATE_RELAYED: &str = r#"{
  "type": "CANDIDATE",
  "src": "guest1",
  "dst": "owner1",
  "payload": {
    "candidate": {
      "candidate": "candidate:2977833400 1 udp 2122260223 127.0.0.1 36387 typ host generation 0 ufrag 1oOB network-id 1 network-cost 50",
      "sdpMid": "0",
      "sdpMLineIndex": 0,
      "usernameFragment": "1oOB"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  }
}"#;

    const ID_TAKEN: &str = r#"{
  "type": "ID-TAKEN",
  "payload": {
    "msg": "ID is taken"
  }
}"#;

    const EXPIRE: &str = r#"{
  "type": "EXPIRE",
  "src": "ghost",
  "dst": "guest1"
}"#;

    const LEAVE: &str = r#"{
  "type": "LEAVE",
  "src": "rawbot",
  "dst": "guest1"
}"#;

    const ERROR_BAD_KEY: &str = r#"{"type":"ERROR","payload":{"msg":"Invalid key provided"}}"#;
    const ERROR_NO_ID: &str =
        r#"{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}"#;

    // The one-line forms of the chronological transcript (§3).
    const OFFER_GHOST_SENT: &str = r#"{"type":"OFFER","payload":{"sdp":{"sdp":"v=0…(see below)","type":"offer"},"type":"data","connectionId":"dc_lgkmfo13ona","metadata":{"from":"guest1"},"label":"dc_lgkmfo13ona","reliable":true,"serialization":"json"},"dst":"ghost"}"#;
    const LEAVE_RAW_SENT: &str = r#"{"type":"LEAVE","dst":"guest1"}"#;

    fn guest_offer() -> OfferPayload {
        OfferPayload::new(
            ConnectionId::new("dc_q0tmbver2a"),
            OFFER_SDP,
            Serialization::Json,
            Some(json!({"name": "Guest One", "v": 1})),
        )
    }

    fn guest_candidate() -> CandidatePayload {
        CandidatePayload {
            candidate: IceCandidate {
                candidate: CANDIDATE_LINE.into(),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
                username_fragment: Some("1oOB".into()),
            },
            connection_id: ConnectionId::new("dc_q0tmbver2a"),
        }
    }

    fn as_value(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn parses_server_originated_frames() {
        assert_eq!(ServerMessage::parse(OPEN).unwrap(), ServerMessage::Open);
        assert_eq!(
            ServerMessage::parse(HEARTBEAT).unwrap(),
            ServerMessage::Heartbeat
        );
        assert_eq!(
            ServerMessage::parse(ID_TAKEN).unwrap(),
            ServerMessage::IdTaken {
                msg: "ID is taken".into()
            }
        );
        assert_eq!(
            ServerMessage::parse(ERROR_BAD_KEY).unwrap(),
            ServerMessage::Error {
                msg: "Invalid key provided".into()
            }
        );
        assert_eq!(
            ServerMessage::parse(ERROR_NO_ID).unwrap(),
            ServerMessage::Error {
                msg: "No id, token, or key supplied to websocket server".into()
            }
        );
        assert_eq!(
            ServerMessage::parse(EXPIRE).unwrap(),
            ServerMessage::Expire {
                src: "ghost".into()
            }
        );
        assert_eq!(
            ServerMessage::parse(LEAVE).unwrap(),
            ServerMessage::Leave {
                src: "rawbot".into()
            }
        );
    }

    #[test]
    fn parses_relayed_offer() {
        assert_eq!(
            ServerMessage::parse(OFFER_RELAYED).unwrap(),
            ServerMessage::Offer {
                src: "guest1".into(),
                payload: guest_offer(),
            }
        );
    }

    #[test]
    fn parses_relayed_answer_and_candidate() {
        assert_eq!(
            ServerMessage::parse(ANSWER_RELAYED).unwrap(),
            ServerMessage::Answer {
                src: "owner1".into(),
                payload: AnswerPayload {
                    sdp: ANSWER_SDP.into(),
                    connection_id: ConnectionId::new("dc_q0tmbver2a"),
                },
            }
        );
        assert_eq!(
            ServerMessage::parse(CANDIDATE_RELAYED).unwrap(),
            ServerMessage::Candidate {
                src: "guest1".into(),
                payload: guest_candidate(),
            }
        );
    }

    #[test]
    fn outgoing_frames_match_the_transcript_field_for_field() {
        let offer = ClientMessage::Offer {
            dst: "owner1".into(),
            payload: guest_offer(),
        };
        assert_eq!(as_value(&offer.to_json().unwrap()), as_value(OFFER_SENT));

        let answer = ClientMessage::Answer {
            dst: "guest1".into(),
            payload: AnswerPayload {
                sdp: ANSWER_SDP.into(),
                connection_id: ConnectionId::new("dc_q0tmbver2a"),
            },
        };
        assert_eq!(as_value(&answer.to_json().unwrap()), as_value(ANSWER_SENT));

        let candidate = ClientMessage::Candidate {
            dst: "owner1".into(),
            payload: guest_candidate(),
        };
        assert_eq!(
            as_value(&candidate.to_json().unwrap()),
            as_value(CANDIDATE_SENT)
        );

        assert_eq!(
            as_value(&ClientMessage::Heartbeat.to_json().unwrap()),
            as_value(HEARTBEAT)
        );
        let leave = ClientMessage::Leave {
            dst: "guest1".into(),
        };
        assert_eq!(
            as_value(&leave.to_json().unwrap()),
            as_value(LEAVE_RAW_SENT)
        );

        let ghost = ClientMessage::Offer {
            dst: "ghost".into(),
            payload: OfferPayload::new(
                ConnectionId::new("dc_lgkmfo13ona"),
                "v=0…(see below)",
                Serialization::Json,
                Some(json!({"from": "guest1"})),
            ),
        };
        assert_eq!(
            as_value(&ghost.to_json().unwrap()),
            as_value(OFFER_GHOST_SENT)
        );
    }

    #[test]
    fn relayed_offer_is_the_sent_offer_plus_src() {
        // What a peer receives re-serializes to what the dialer sent.
        let ServerMessage::Offer { src, payload } = ServerMessage::parse(OFFER_RELAYED).unwrap()
        else {
            panic!("not an offer");
        };
        assert_eq!(src.as_str(), "guest1");
        let resent = ClientMessage::Offer {
            dst: "owner1".into(),
            payload,
        };
        assert_eq!(as_value(&resent.to_json().unwrap()), as_value(OFFER_SENT));
    }

    #[test]
    fn client_frames_never_carry_src() {
        let offer = as_value(
            &ClientMessage::Offer {
                dst: "owner1".into(),
                payload: guest_offer(),
            }
            .to_json()
            .unwrap(),
        );
        assert!(offer.get("src").is_none());
    }

    #[test]
    fn absent_or_null_metadata_is_omitted_and_defaults_apply() {
        let frame = json!({
            "type": "OFFER", "src": "a", "dst": "b",
            "payload": {
                "sdp": {"sdp": "x", "type": "offer"}, "type": "data",
                "connectionId": "dc_1", "label": "dc_1", "metadata": null,
                "browser": "chrome"
            }
        });
        let ServerMessage::Offer { payload, .. } =
            ServerMessage::parse(&frame.to_string()).unwrap()
        else {
            panic!("not an offer");
        };
        assert_eq!(payload.metadata, None);
        assert!(!payload.reliable, "PeerJS's default is unreliable");
        assert_eq!(payload.serialization, Serialization::Binary);
        let sent = as_value(
            &ClientMessage::Offer {
                dst: "a".into(),
                payload,
            }
            .to_json()
            .unwrap(),
        );
        assert!(sent["payload"].get("metadata").is_none());
    }

    #[test]
    fn serialization_names() {
        for (name, expected) in [
            ("json", Serialization::Json),
            ("raw", Serialization::Raw),
            ("binary", Serialization::Binary),
            ("binary-utf8", Serialization::Binary),
        ] {
            assert_eq!(name.parse::<Serialization>().unwrap(), expected);
        }
        assert_eq!(
            "msgpack".parse::<Serialization>(),
            Err(UnknownSerialization("msgpack".into()))
        );
        assert_eq!(Serialization::Binary.to_string(), "binary");
    }

    #[test]
    fn unknown_serialization_is_a_typed_error() {
        let frame = OFFER_RELAYED.replace("\"json\"", "\"cbor\"");
        match ServerMessage::parse(&frame) {
            Err(SignalError::UnknownSerialization(UnknownSerialization(name))) => {
                assert_eq!(name, "cbor")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn media_payloads_are_refused() {
        let offer = json!({
            "type": "OFFER", "src": "a", "dst": "b",
            "payload": {"sdp": {"sdp": "x", "type": "offer"}, "type": "media",
                        "connectionId": "mc_1", "metadata": null}
        });
        assert!(matches!(
            ServerMessage::parse(&offer.to_string()),
            Err(SignalError::MediaUnsupported)
        ));
        let candidate = CANDIDATE_RELAYED.replace("\"data\"", "\"media\"");
        assert!(matches!(
            ServerMessage::parse(&candidate),
            Err(SignalError::MediaUnsupported)
        ));
    }

    #[test]
    fn malformed_frames_give_typed_errors() {
        assert!(matches!(
            ServerMessage::parse("{not json"),
            Err(SignalError::Json(_))
        ));
        assert!(matches!(
            ServerMessage::parse(""),
            Err(SignalError::Json(_))
        ));
        assert!(matches!(
            ServerMessage::parse("[1,2]"),
            Err(SignalError::NotAnObject)
        ));
        assert!(matches!(
            ServerMessage::parse("{}"),
            Err(SignalError::MissingField { field: "type" })
        ));
        assert!(matches!(
            ServerMessage::parse(r#"{"type":7}"#),
            Err(SignalError::InvalidField { field: "type", .. })
        ));
        match ServerMessage::parse(r#"{"type":"WHATEVER","src":"x"}"#) {
            Err(SignalError::UnknownType { kind }) => assert_eq!(kind, "WHATEVER"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            ServerMessage::parse(r#"{"type":"EXPIRE"}"#),
            Err(SignalError::MissingField { field: "src" })
        ));
        assert!(matches!(
            ServerMessage::parse(r#"{"type":"LEAVE","src":["x"]}"#),
            Err(SignalError::InvalidField { field: "src", .. })
        ));
        assert!(matches!(
            ServerMessage::parse(r#"{"type":"OFFER","src":"x"}"#),
            Err(SignalError::MissingField { field: "payload" })
        ));
        assert!(matches!(
            ServerMessage::parse(r#"{"type":"ANSWER","src":"x","payload":{"type":"data"}}"#),
            Err(SignalError::InvalidField {
                field: "payload",
                ..
            })
        ));
        // An ANSWER whose SDP claims to be an offer is not an answer.
        let wrong_sdp = ANSWER_RELAYED.replace("\"answer\"", "\"offer\"");
        assert!(matches!(
            ServerMessage::parse(&wrong_sdp),
            Err(SignalError::InvalidField {
                field: "payload",
                ..
            })
        ));
        assert!(matches!(
            ServerMessage::parse(r#"{"type":"ERROR","payload":{"msg":3}}"#),
            Err(SignalError::InvalidField {
                field: "payload.msg",
                ..
            })
        ));
    }

    #[test]
    fn errors_keep_their_source() {
        use std::error::Error as _;
        let err = ServerMessage::parse("{oops").unwrap_err();
        assert!(err.source().is_some());
        let err = ServerMessage::parse(r#"{"type":"LEAVE","src":1}"#).unwrap_err();
        assert!(err.source().is_some());
    }

    #[test]
    fn terse_server_errors_still_parse() {
        assert_eq!(
            ServerMessage::parse(r#"{"type":"ERROR"}"#).unwrap(),
            ServerMessage::Error { msg: String::new() }
        );
    }

    #[test]
    fn connection_ids_from_random_bytes() {
        assert_eq!(ConnectionId::from_random_bytes([0; 8]).as_str(), "dc_0");
        assert_eq!(
            ConnectionId::from_random_bytes([0, 0, 0, 0, 0, 0, 0, 36]).as_str(),
            "dc_10"
        );
        assert_eq!(
            ConnectionId::from_random_bytes([0xff; 8]).as_str(),
            "dc_3w5e11264sgsf"
        );
        let a = ConnectionId::from_random_bytes([1, 2, 3, 4, 5, 6, 7, 8]);
        let b = ConnectionId::from_random_bytes([8, 7, 6, 5, 4, 3, 2, 1]);
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("dc_"));
        assert!(a.as_str()[3..]
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    }

    #[test]
    fn peerjs_id_rule() {
        for ok in ["owner1", "a", "a-b", "a b_c", "A9z"] {
            assert!(PeerName::new(ok).is_valid_for_peerjs(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "a__b", "a.b", "ä", "a b "] {
            assert!(!PeerName::new(bad).is_valid_for_peerjs(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,200}") {
            let _ = ServerMessage::parse(&text);
        }

        #[test]
        fn offers_round_trip(sdp in ".{0,50}", id in "[a-z0-9]{1,12}", reliable: bool,
                             ser in 0u8..3, name in "[A-Za-z0-9]{1,10}") {
            let serialization = [Serialization::Json, Serialization::Raw, Serialization::Binary]
                [usize::from(ser)];
            let payload = OfferPayload {
                sdp, connection_id: ConnectionId::new(format!("dc_{id}")),
                label: id, reliable, serialization, metadata: Some(json!({"n": name})),
            };
            let sent = ClientMessage::Offer { dst: "me".into(), payload: payload.clone() };
            let mut relayed = as_value(&sent.to_json().unwrap());
            relayed["src"] = json!(name);
            let parsed = ServerMessage::parse(&relayed.to_string()).unwrap();
            proptest::prop_assert_eq!(parsed, ServerMessage::Offer { src: PeerName::new(name), payload });
        }
    }
}
