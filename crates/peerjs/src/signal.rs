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
mod tests;
