//! The data side of one connection, pure: turning application messages into data-channel frames
//! and back for each PeerJS serialization, plus the liveness check between peers of this crate.
//!
//! # Serializations (as stock PeerJS 1.5.x speaks them)
//! - [`Serialization::Json`]: one JSON document per message, UTF-8, sent as a **binary** frame.
//!   PeerJS refuses JSON messages of 16,300 bytes or more (it does not chunk them); so do we,
//!   with [`DataError::TooBig`]. Text frames are accepted on receive. Received JSON is checked
//!   for well-formedness and handed over as text ([`Data::JsonText`]) so the application parses
//!   it once, straight into its own types.
//! - [`Serialization::Raw`]: frames pass through untouched (text stays text, bytes stay bytes).
//! - [`Serialization::Binary`]: BinaryPack, with messages over 16,300 packed bytes split into
//!   `__peerData` chunks ([`crate::chunker`]) and reassembled on receive.
//!
//! # Liveness
//! A WebRTC peer that vanishes (tab closed, browser killed) never sends `close`, and ICE notices
//! only after 5–16 s. Two peers of this crate therefore exchange a tiny ping frame
//! ([`PING_FRAME`]) every [`Liveness::PING_INTERVAL_MS`] and declare the connection dead after
//! [`Liveness::DEAD_AFTER_MS`] without any frame. Stock PeerJS peers must never see the ping, so
//! it is negotiated: the dialer advertises support with the [`LIVENESS_KEY`] key in the OFFER's
//! metadata; an answerer of this crate that sees it starts pinging; the dialer starts pinging
//! (and expecting pings) only once it has received one. Peers that never advertise are left to
//! ICE and `close`.
//!
//! Invariants: no input panics; a malformed frame is a typed [`DataError`] and the connection
//! keeps working; ping frames are consumed here and never reach the application.

use serde_json::Value as Json;

use crate::binarypack::Value;
use crate::chunker::{Chunker, Reassembler, Received, CHUNK_SIZE};
use crate::signal::Serialization;

/// Metadata key with which a dialer of this crate advertises liveness pings.
pub const LIVENESS_KEY: &str = "__peerjsRsLiveness";

/// The liveness ping: a binary frame no JSON text, BinaryPack message of this crate or PeerJS
/// control message starts with (a NUL byte). Reserved: `raw` applications must not send it.
pub const PING_FRAME: &[u8] = b"\0peerjs-rs:ping\0";

/// One data-channel frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame (`RTCDataChannel.send(string)`).
    Text(String),
    /// A binary frame (`ArrayBuffer`).
    Bytes(Vec<u8>),
}

/// An application message.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// A JSON value (`json` serialization, or `binary` when the value is JSON-representable).
    Json(Json),
    /// A JSON document as text (`json` serialization). Sent as is, so it must be valid JSON;
    /// received `json` messages arrive in this form, already checked for well-formedness.
    JsonText(String),
    /// A BinaryPack value (`binary` serialization).
    Packed(Value),
    /// Text (`raw` serialization).
    Text(String),
    /// Bytes (`raw` serialization).
    Bytes(Vec<u8>),
}

/// Why a message could not be sent or a frame could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A `json` message of 16,300 bytes or more (PeerJS's limit; it does not chunk JSON).
    #[error("message of {size} bytes is too big for the json serialization (limit {limit})")]
    TooBig {
        /// Encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The message kind does not fit the connection's serialization (e.g. bytes over `json`).
    #[error("{kind} messages cannot be sent with the {serialization} serialization")]
    WrongKind {
        /// The message kind.
        kind: &'static str,
        /// The connection's serialization.
        serialization: &'static str,
    },
    /// A received `json` frame is not valid UTF-8 JSON.
    #[error("received frame is not JSON: {0}")]
    BadJson(String),
    /// A received `binary` frame is not valid BinaryPack or a bad chunk.
    #[error("received frame is not valid BinaryPack: {0}")]
    BadBinaryPack(String),
    /// Encoding failed.
    #[error("could not encode the message: {0}")]
    Encode(String),
}

/// What a received frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A complete application message.
    Message(Data),
    /// Part of a chunked message; more frames are needed.
    Partial,
    /// A liveness ping (already accounted for).
    Ping,
    /// The remote asked to close (`{__peerData:{type:"close"}}`).
    Close,
    /// A chunked message was dropped for its size (over the reassembly limits): it will never
    /// arrive. Reported once per message, on its first rejected chunk; its other chunks are
    /// [`Incoming::Partial`].
    TooLarge {
        /// The message id.
        id: u64,
        /// Which limit it broke.
        reason: String,
    },
}

/// How many recently dropped message ids a codec remembers, so each is reported once.
const DROPPED_REMEMBERED: usize = 8;

/// Encodes and decodes the messages of one connection.
#[derive(Debug)]
pub struct DataCodec {
    serialization: Serialization,
    chunker: Chunker,
    reassembler: Reassembler,
    /// Ids of messages recently dropped for their size (each is reported once).
    dropped: std::collections::VecDeque<u64>,
}

impl DataCodec {
    /// A codec for a connection with this serialization.
    pub fn new(serialization: Serialization) -> Self {
        Self {
            serialization,
            chunker: Chunker::new(),
            reassembler: Reassembler::default(),
            dropped: std::collections::VecDeque::new(),
        }
    }

    /// The connection's serialization.
    pub fn serialization(&self) -> Serialization {
        self.serialization
    }

    /// The frames to send for one message.
    pub fn encode(&mut self, data: &Data) -> Result<Vec<Frame>, DataError> {
        match (self.serialization, data) {
            (Serialization::Json, Data::Json(value)) => {
                let text =
                    serde_json::to_vec(value).map_err(|e| DataError::Encode(e.to_string()))?;
                json_frame(text)
            }
            (Serialization::Json, Data::JsonText(text)) => json_frame(text.as_bytes().to_vec()),
            (Serialization::Raw, Data::JsonText(text)) => Ok(vec![Frame::Text(text.clone())]),
            (Serialization::Binary, Data::JsonText(text)) => {
                let value: Json =
                    serde_json::from_str(text).map_err(|e| DataError::Encode(e.to_string()))?;
                self.packed_frames(&Value::from(value))
            }
            (Serialization::Raw, Data::Text(text)) => Ok(vec![Frame::Text(text.clone())]),
            (Serialization::Raw, Data::Bytes(bytes)) => Ok(vec![Frame::Bytes(bytes.clone())]),
            (Serialization::Raw, Data::Json(value)) => Ok(vec![Frame::Text(value.to_string())]),
            (Serialization::Binary, Data::Packed(value)) => self.packed_frames(value),
            (Serialization::Binary, Data::Json(value)) => {
                self.packed_frames(&Value::from(value.clone()))
            }
            (Serialization::Binary, Data::Text(text)) => {
                self.packed_frames(&Value::Str(text.clone()))
            }
            (Serialization::Binary, Data::Bytes(bytes)) => {
                self.packed_frames(&Value::Bin(bytes.clone()))
            }
            (serialization, data) => Err(DataError::WrongKind {
                kind: data.kind(),
                serialization: serialization.as_str(),
            }),
        }
    }

    fn packed_frames(&mut self, value: &Value) -> Result<Vec<Frame>, DataError> {
        let frames = self
            .chunker
            .frames(value)
            .map_err(|e| DataError::Encode(e.to_string()))?;
        Ok(frames.into_iter().map(Frame::Bytes).collect())
    }

    /// Reads one received frame.
    pub fn decode(&mut self, frame: Frame) -> Result<Incoming, DataError> {
        if matches!(&frame, Frame::Bytes(b) if b == PING_FRAME) {
            return Ok(Incoming::Ping);
        }
        match (self.serialization, frame) {
            (Serialization::Raw, Frame::Text(text)) => Ok(Incoming::Message(Data::Text(text))),
            (Serialization::Raw, Frame::Bytes(bytes)) => Ok(Incoming::Message(Data::Bytes(bytes))),
            (Serialization::Json, Frame::Text(text)) => parse_json(text.as_bytes()),
            (Serialization::Json, Frame::Bytes(bytes)) => parse_json(&bytes),
            (Serialization::Binary, Frame::Text(text)) => {
                // PeerJS never sends text frames with `binary`; treat as a string message.
                Ok(Incoming::Message(Data::Packed(Value::Str(text))))
            }
            (Serialization::Binary, Frame::Bytes(bytes)) => {
                match self.reassembler.receive(&bytes) {
                    Ok(Received::Data(value)) => Ok(Incoming::Message(Data::Packed(value))),
                    Ok(Received::Pending { .. }) => Ok(Incoming::Partial),
                    Ok(Received::Close) => Ok(Incoming::Close),
                    Err(e) => match e.oversize_message() {
                        Some(id) if self.dropped.contains(&id) => Ok(Incoming::Partial),
                        Some(id) => {
                            if self.dropped.len() == DROPPED_REMEMBERED {
                                self.dropped.pop_front();
                            }
                            self.dropped.push_back(id);
                            Ok(Incoming::TooLarge {
                                id,
                                reason: e.to_string(),
                            })
                        }
                        None => Err(DataError::BadBinaryPack(e.to_string())),
                    },
                }
            }
        }
    }
}

fn json_frame(bytes: Vec<u8>) -> Result<Vec<Frame>, DataError> {
    if bytes.len() >= CHUNK_SIZE {
        return Err(DataError::TooBig {
            size: bytes.len(),
            limit: CHUNK_SIZE,
        });
    }
    Ok(vec![Frame::Bytes(bytes)])
}

/// Checks that `bytes` is one well-formed JSON document (without building it) and returns it as
/// text.
fn parse_json(bytes: &[u8]) -> Result<Incoming, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::BadJson(e.to_string()))?;
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| DataError::BadJson(e.to_string()))?;
    Ok(Incoming::Message(Data::JsonText(text.to_owned())))
}

impl Data {
    fn kind(&self) -> &'static str {
        match self {
            Data::Json(_) | Data::JsonText(_) => "JSON",
            Data::Packed(_) => "BinaryPack",
            Data::Text(_) => "text",
            Data::Bytes(_) => "bytes",
        }
    }

    /// The message as JSON, when it is representable (BinaryPack binaries are not).
    pub fn to_json(&self) -> Option<Json> {
        match self {
            Data::Json(v) => Some(v.clone()),
            Data::JsonText(t) => serde_json::from_str(t).ok(),
            Data::Packed(v) => v.to_json().ok(),
            Data::Text(t) => Some(Json::String(t.clone())),
            Data::Bytes(_) => None,
        }
    }
}

/// Adds the liveness advertisement to a dial's metadata (when it is absent or an object).
/// Returns whether the advertisement was added.
pub fn advertise_liveness(metadata: &mut Option<Json>) -> bool {
    match metadata {
        None | Some(Json::Null) => {
            let mut map = serde_json::Map::new();
            map.insert(LIVENESS_KEY.into(), Json::from(1));
            *metadata = Some(Json::Object(map));
            true
        }
        Some(Json::Object(map)) => {
            map.insert(LIVENESS_KEY.into(), Json::from(1));
            true
        }
        Some(_) => false,
    }
}

/// Removes the liveness advertisement from received metadata; returns whether it was there.
pub fn take_liveness(metadata: &mut Option<Json>) -> bool {
    let Some(Json::Object(map)) = metadata else {
        return false;
    };
    let had = map.remove(LIVENESS_KEY).is_some();
    if had && map.is_empty() {
        *metadata = None;
    }
    had
}

/// What the liveness check asks the shell to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LivenessAction {
    /// Send [`PING_FRAME`] now.
    SendPing,
    /// Nothing heard for too long: report the connection closed and close it.
    Dead,
}

/// The liveness check of one open connection (sans-IO; `now` in ms on a monotonic clock).
#[derive(Debug, Clone)]
pub struct Liveness {
    active: bool,
    last_heard: u64,
    last_ping: u64,
}

impl Liveness {
    /// Interval between pings.
    pub const PING_INTERVAL_MS: u64 = 1_000;
    /// Silence after which the remote is considered gone.
    pub const DEAD_AFTER_MS: u64 = 4_000;

    /// Starts the check for a connection that opened at `now`. `active` is true for an answerer
    /// whose dialer advertised liveness; a dialer starts inactive and turns active on its first
    /// ping ([`Liveness::heard`]`(now, true)`).
    pub fn new(active: bool, now: u64) -> Self {
        Self {
            active,
            last_heard: now,
            last_ping: now,
        }
    }

    /// Whether pings are being exchanged.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// A frame arrived at `now`; `ping` says whether it was a liveness ping.
    pub fn heard(&mut self, now: u64, ping: bool) {
        self.last_heard = self.last_heard.max(now);
        if ping {
            self.active = true;
        }
    }

    /// What to do at `now` (call when [`Liveness::next_deadline`] is reached).
    pub fn poll(&mut self, now: u64) -> Option<LivenessAction> {
        if !self.active {
            return None;
        }
        if now.saturating_sub(self.last_heard) >= Self::DEAD_AFTER_MS {
            self.active = false;
            return Some(LivenessAction::Dead);
        }
        if now.saturating_sub(self.last_ping) >= Self::PING_INTERVAL_MS {
            self.last_ping = now;
            return Some(LivenessAction::SendPing);
        }
        None
    }

    /// The next instant [`Liveness::poll`] has something to do, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.active.then(|| {
            (self.last_ping + Self::PING_INTERVAL_MS).min(self.last_heard + Self::DEAD_AFTER_MS)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_a_binary_utf8_frame_and_round_trips() {
        let mut codec = DataCodec::new(Serialization::Json);
        let msg = Data::Json(json!({"hello": "wörld", "n": [1, 2]}));
        let frames = codec.encode(&msg).unwrap();
        assert_eq!(
            frames,
            vec![Frame::Bytes(
                "{\"hello\":\"wörld\",\"n\":[1,2]}".as_bytes().to_vec()
            )]
        );
        let Incoming::Message(back) = codec.decode(frames[0].clone()).unwrap() else {
            panic!("a message")
        };
        assert_eq!(back.to_json(), msg.to_json());
        // Text frames (some clients) are accepted too.
        assert_eq!(
            codec.decode(Frame::Text("[1]".into())).unwrap(),
            Incoming::Message(Data::JsonText("[1]".into()))
        );
        // Pre-serialized text is sent as is.
        assert_eq!(
            codec.encode(&Data::JsonText("{\"a\":1}".into())).unwrap(),
            vec![Frame::Bytes(b"{\"a\":1}".to_vec())]
        );
    }

    #[test]
    fn json_refuses_messages_peerjs_would_refuse() {
        let mut codec = DataCodec::new(Serialization::Json);
        let big = Data::Json(Json::String("x".repeat(CHUNK_SIZE)));
        assert!(matches!(codec.encode(&big), Err(DataError::TooBig { .. })));
        let bytes = Data::Bytes(vec![1, 2]);
        assert!(matches!(
            codec.encode(&bytes),
            Err(DataError::WrongKind { .. })
        ));
    }

    #[test]
    fn malformed_frames_are_typed_errors_and_the_codec_keeps_working() {
        let mut json = DataCodec::new(Serialization::Json);
        assert!(matches!(
            json.decode(Frame::Bytes(b"{nope".to_vec())),
            Err(DataError::BadJson(_))
        ));
        assert_eq!(
            json.decode(Frame::Bytes(b"1".to_vec())).unwrap(),
            Incoming::Message(Data::JsonText("1".into()))
        );
        let mut bin = DataCodec::new(Serialization::Binary);
        // A truncated BinaryPack string header.
        assert!(matches!(
            bin.decode(Frame::Bytes(vec![0xd8, 0x00])),
            Err(DataError::BadBinaryPack(_))
        ));
        let frames = bin.encode(&Data::Json(json!({"a": 1}))).unwrap();
        let Frame::Bytes(bytes) = &frames[0] else {
            panic!("binary frame")
        };
        assert_eq!(
            bin.decode(Frame::Bytes(bytes.clone())).unwrap(),
            Incoming::Message(Data::Packed(Value::from(json!({"a": 1}))))
        );
    }

    /// A ~5 MB message is over the reassembly limits: it is reported once as dropped for its
    /// size (so the receiver can answer `too-large`), and the next message still arrives.
    #[test]
    fn an_oversize_message_is_reported_once_and_the_connection_goes_on() {
        let mut tx = DataCodec::new(Serialization::Binary);
        let mut rx = DataCodec::new(Serialization::Binary);
        let huge = "x".repeat(5 * 1024 * 1024);
        let mut reports = 0;
        for frame in tx.encode(&Data::Text(huge)).unwrap() {
            match rx.decode(frame).unwrap() {
                Incoming::TooLarge { .. } => reports += 1,
                Incoming::Partial => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(reports, 1);
        // Just over the byte limit with an allowed chunk count: dropped once too.
        let big = "y".repeat(2 * 1024 * 1024 + 1024);
        let mut reports = 0;
        for frame in tx.encode(&Data::Text(big)).unwrap() {
            if let Incoming::TooLarge { .. } = rx.decode(frame).unwrap() {
                reports += 1;
            }
        }
        assert_eq!(reports, 1);
        let mut after = Vec::new();
        for frame in tx.encode(&Data::Text("still here".into())).unwrap() {
            after.push(rx.decode(frame).unwrap());
        }
        assert_eq!(
            after,
            [Incoming::Message(Data::Packed(Value::Str(
                "still here".into()
            )))]
        );
    }

    #[test]
    fn binary_chunks_large_messages_and_reassembles_them() {
        let mut tx = DataCodec::new(Serialization::Binary);
        let mut rx = DataCodec::new(Serialization::Binary);
        let blob: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let frames = tx.encode(&Data::Bytes(blob.clone())).unwrap();
        assert!(frames.len() > 1, "chunked");
        let mut got = None;
        for frame in frames {
            match rx.decode(frame).unwrap() {
                Incoming::Partial => {}
                Incoming::Message(m) => got = Some(m),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, Some(Data::Packed(Value::Bin(blob))));
    }

    #[test]
    fn raw_passes_frames_through() {
        let mut codec = DataCodec::new(Serialization::Raw);
        assert_eq!(
            codec.encode(&Data::Text("hi".into())).unwrap(),
            vec![Frame::Text("hi".into())]
        );
        assert_eq!(
            codec.decode(Frame::Bytes(vec![9, 8])).unwrap(),
            Incoming::Message(Data::Bytes(vec![9, 8]))
        );
    }

    #[test]
    fn pings_never_reach_the_application() {
        for s in [
            Serialization::Json,
            Serialization::Raw,
            Serialization::Binary,
        ] {
            let mut codec = DataCodec::new(s);
            assert_eq!(
                codec.decode(Frame::Bytes(PING_FRAME.to_vec())).unwrap(),
                Incoming::Ping
            );
        }
    }

    #[test]
    fn liveness_metadata_is_added_and_removed() {
        let mut none = None;
        assert!(advertise_liveness(&mut none));
        assert!(take_liveness(&mut none));
        assert_eq!(none, None);
        let mut obj = Some(json!({"name": "x"}));
        assert!(advertise_liveness(&mut obj));
        assert!(take_liveness(&mut obj));
        assert_eq!(obj, Some(json!({"name": "x"})));
        let mut text = Some(json!("plain"));
        assert!(!advertise_liveness(&mut text));
        assert!(!take_liveness(&mut text));
    }

    #[test]
    fn liveness_pings_and_declares_silence_dead_within_five_seconds() {
        let mut live = Liveness::new(true, 0);
        assert_eq!(live.next_deadline(), Some(1_000));
        assert_eq!(live.poll(1_000), Some(LivenessAction::SendPing));
        live.heard(1_500, true);
        assert_eq!(live.poll(2_000), Some(LivenessAction::SendPing));
        assert_eq!(live.poll(2_100), None);
        // Silence from 1.5 s: dead at 5.5 s at the latest, never before 4 s of silence.
        let dead_at = loop {
            let t = live.next_deadline().unwrap();
            if live.poll(t) == Some(LivenessAction::Dead) {
                break t;
            }
        };
        assert_eq!(dead_at, 1_500 + Liveness::DEAD_AFTER_MS);
        assert_eq!(live.poll(dead_at + 10_000), None, "reported once");
    }

    #[test]
    fn a_dialer_stays_quiet_until_the_answerer_pings() {
        let mut live = Liveness::new(false, 0);
        assert_eq!(live.next_deadline(), None);
        assert_eq!(
            live.poll(60_000),
            None,
            "a stock PeerJS answerer is never declared dead"
        );
        live.heard(60_000, false);
        assert!(!live.is_active());
        live.heard(60_100, true);
        assert!(live.is_active());
        assert_eq!(live.poll(61_100), Some(LivenessAction::SendPing));
    }
}
