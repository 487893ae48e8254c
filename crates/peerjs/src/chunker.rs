//! Chunking and reassembly of PeerJS `binary` (BinaryPack) data-channel messages, as PeerJS
//! 1.5 does it, plus recognition of its close control message. Pure: no I/O, no clock.
//!
//! # Wire behaviour (PeerJS 1.5.5 `BinaryPack` DataConnection and `BinaryPackChunker`)
//! - A message is packed first. If the **packed** bytes are longer than [`CHUNK_SIZE`] (16,300;
//!   exactly 16,300 still goes in one frame) they are cut into 16,300-byte slices, and each slice
//!   is sent as its own frame: the BinaryPack map `{__peerData: id, n: index, data: slice,
//!   total: count}` (keys in exactly that order; `data` is binary). A chunk frame is at most
//!   about 16,340 bytes.
//! - `id` is a per-connection counter that starts at 1 and grows by one per **chunked** message
//!   only (small messages do not use one). `n` counts from 0.
//! - The receiver treats a map whose `__peerData` is JS-truthy as a control frame: the close
//!   message `{__peerData: {type: "close"}}` (what `conn.close({flush: true})` sends), else a
//!   chunk. A map with a falsy `__peerData` (0, false, null, "") is ordinary data, as in JS.
//!   The reassembled bytes are unpacked and handled like a received frame.
//!
//! # Invariants of the [`Reassembler`]
//! It is fed untrusted frames and stays usable after any error. Memory is bounded by
//! [`ReassemblyLimits`]: frame and message size, chunk count per message, bytes buffered across
//! all partial messages, and the number of partial messages (the least recently progressed one
//! is evicted to admit a new one). A partial message is dropped when it becomes inconsistent
//! (its `total` changes, a chunk index repeats or is out of range) or stale (no chunk for it in
//! the last [`ReassemblyLimits::stale_after_frames`] frames; frames are the clock, so this needs
//! no time source). Errors name the partial message they dropped.
//!
//! # JS quirks the transport should know
//! - A JS receiver throws on a top-level `null`/`undefined` message (it reads
//!   `data["__peerData"]` on it), so that message is lost: don't send [`Value::Nil`] alone.
//! - The map key `__peerData` is reserved at the top level of a message.
//! - After reassembly, JS hands binary fields to the app as `Uint8Array`, not `ArrayBuffer`.
//! - The JS reassembler counts duplicate chunks and breaks on them; never resend a chunk.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::binarypack::{
    pack, unpack, write_bin, write_header, write_str, write_uint, BinaryPackError, PackError, Value,
};

/// The slice size PeerJS cuts packed messages into, and the largest packed message it sends
/// whole (`chunkedMTU`).
pub const CHUNK_SIZE: usize = 16_300;

/// The key PeerJS uses for its control and chunk frames.
pub const PEER_DATA_KEY: &str = "__peerData";

/// The frame PeerJS sends for `conn.close({flush: true})`: `{__peerData: {type: "close"}}`.
pub const CLOSE_FRAME: &[u8] = &[
    0x81, 0xba, b'_', b'_', b'p', b'e', b'e', b'r', b'D', b'a', b't', b'a', 0x81, 0xb4, b't', b'y',
    b'p', b'e', 0xb5, b'c', b'l', b'o', b's', b'e',
];

/// The sending half, one per data connection: turns a value into the frames to send, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunker {
    next_message_id: u64,
}

impl Default for Chunker {
    fn default() -> Self {
        Self::new()
    }
}

impl Chunker {
    /// A chunker for a new connection (the first chunked message gets id 1, as in PeerJS).
    pub const fn new() -> Self {
        Self { next_message_id: 1 }
    }

    /// The id the next chunked message will get.
    pub fn next_message_id(&self) -> u64 {
        self.next_message_id
    }

    /// Packs a value and returns the frames to send for it: the packed bytes themselves if they
    /// are at most [`CHUNK_SIZE`] long, else the chunk frames.
    pub fn frames(&mut self, value: &Value) -> Result<Vec<Vec<u8>>, PackError> {
        self.split(pack(value)?)
    }

    /// The frames to send for an already packed message (see [`Chunker::frames`]). Fails only
    /// if the message needs more than `u32::MAX` chunks.
    pub fn split(&mut self, packed: Vec<u8>) -> Result<Vec<Vec<u8>>, PackError> {
        if packed.len() <= CHUNK_SIZE {
            return Ok(vec![packed]);
        }
        let id = self.next_message_id;
        // Wrapping after 2^64 messages is unreachable; don't panic on it anyway.
        self.next_message_id = self.next_message_id.checked_add(1).unwrap_or(1);
        let total = packed.len().div_ceil(CHUNK_SIZE);
        packed
            .chunks(CHUNK_SIZE)
            .enumerate()
            .map(|(n, slice)| chunk_frame(id, n, total, slice))
            .collect()
    }
}

/// `{__peerData: id, n, data, total}`, in PeerJS's key order.
fn chunk_frame(id: u64, n: usize, total: usize, data: &[u8]) -> Result<Vec<u8>, PackError> {
    let mut out = Vec::with_capacity(data.len() + 48);
    write_header(&mut out, 4, 0x80, 0xde, 0xdf, "map")?;
    write_str(&mut out, PEER_DATA_KEY)?;
    write_uint(&mut out, id);
    write_str(&mut out, "n")?;
    write_uint(&mut out, count_to_u64(n, "chunk index")?);
    write_str(&mut out, "data")?;
    write_bin(&mut out, data)?;
    write_str(&mut out, "total")?;
    write_uint(&mut out, count_to_u64(total, "chunk count")?);
    Ok(out)
}

fn count_to_u64(n: usize, kind: &'static str) -> Result<u64, PackError> {
    u64::try_from(n).map_err(|_| PackError::TooLong { kind, len: n })
}

/// Memory bounds of a [`Reassembler`].
///
/// Decoding is bounded too: an adversarial message of nested tiny arrays or maps can decode to
/// about 64 bytes of [`Value`] per input byte (binary and strings decode 1:1), so the worst
/// case is about `64 * max(max_frame_bytes, max_message_bytes)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest accepted frame, in bytes. PeerJS frames are at most about 16,340 bytes.
    pub max_frame_bytes: usize,
    /// Largest reassembled message, in bytes.
    pub max_message_bytes: usize,
    /// Most chunks a message may claim (`total`).
    pub max_chunks_per_message: usize,
    /// Most chunk bytes buffered across all partial messages.
    pub max_bytes_in_flight: usize,
    /// Most partial messages kept at once.
    pub max_partial_messages: usize,
    /// A partial message that got no chunk during this many received frames is dropped.
    pub stale_after_frames: u64,
}

impl Default for ReassemblyLimits {
    /// 64 KiB frames, 2 MiB messages (129 chunks), 4 MiB in flight, 4 partial messages, stale
    /// after 1024 frames.
    fn default() -> Self {
        let max_message_bytes = 2 << 20;
        Self {
            max_frame_bytes: 64 << 10,
            max_message_bytes,
            max_chunks_per_message: max_message_bytes.div_ceil(CHUNK_SIZE),
            max_bytes_in_flight: 4 << 20,
            max_partial_messages: 4,
            stale_after_frames: 1024,
        }
    }
}

/// What a received frame amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A complete message: a single frame, or the last missing chunk of one.
    Data(Value),
    /// A chunk was stored; its message is not complete yet.
    Pending {
        /// The message's id.
        id: u64,
        /// Chunks received so far.
        received: usize,
        /// Chunks in the message.
        total: usize,
    },
    /// The peer's close control message: close the connection.
    Close,
}

/// How a chunk contradicted its partial message (which was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Inconsistency {
    /// The chunk claims another chunk count than earlier chunks did.
    #[error("total changed from {was} to {now}")]
    TotalChanged {
        /// The count of earlier chunks.
        was: usize,
        /// The count this chunk claims.
        now: usize,
    },
    /// The chunk index is not below the chunk count.
    #[error("index out of range for {total} chunks")]
    IndexOutOfRange {
        /// The chunk count.
        total: usize,
    },
    /// A chunk with this index was already received.
    #[error("duplicate index")]
    DuplicateIndex,
}

/// Why a received frame was rejected. The reassembler stays usable after any of them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReassemblyError {
    /// The frame is not BinaryPack.
    #[error("frame is not valid BinaryPack")]
    Frame(#[source] BinaryPackError),
    /// The frame is larger than allowed.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// Its length.
        len: usize,
        /// [`ReassemblyLimits::max_frame_bytes`].
        max: usize,
    },
    /// A `__peerData` frame that is neither the close message nor a well-formed chunk.
    #[error("malformed PeerJS control frame: {0}")]
    MalformedChunk(&'static str),
    /// A chunk contradicts its partial message, which was dropped.
    #[error(
        "chunk {n} of message {id} is inconsistent ({reason}); the partial message was dropped"
    )]
    Inconsistent {
        /// The message id.
        id: u64,
        /// The chunk index.
        n: usize,
        /// What was wrong.
        #[source]
        reason: Inconsistency,
    },
    /// The message claims more chunks than allowed; it was dropped.
    #[error("message {id} claims {total} chunks, more than the {max} allowed; dropped")]
    TooManyChunks {
        /// The message id.
        id: u64,
        /// The claimed count.
        total: usize,
        /// [`ReassemblyLimits::max_chunks_per_message`].
        max: usize,
    },
    /// The message grew beyond the size limit; it was dropped.
    #[error("message {id} exceeds {max} bytes; dropped")]
    MessageTooLarge {
        /// The message id.
        id: u64,
        /// [`ReassemblyLimits::max_message_bytes`].
        max: usize,
    },
    /// Buffering the chunk would exceed the in-flight limit; its message was dropped.
    #[error("buffering message {id} would exceed {max} bytes in flight; dropped")]
    InFlightLimit {
        /// The message id.
        id: u64,
        /// [`ReassemblyLimits::max_bytes_in_flight`].
        max: usize,
    },
    /// The reassembled bytes are not BinaryPack.
    #[error("reassembled message {id} is not valid BinaryPack")]
    Reassembled {
        /// The message id.
        id: u64,
        /// The decoding error.
        #[source]
        source: BinaryPackError,
    },
    /// The reassembled message is itself a chunk (PeerJS never nests them).
    #[error("reassembled message {id} is itself a chunk")]
    NestedChunk {
        /// The message id.
        id: u64,
    },
}

impl ReassemblyError {
    /// The id of the message dropped for its size (too many chunks, too many bytes, or too much
    /// in flight), if that is why this frame was rejected: the message will never arrive, and
    /// its sender may be told so.
    pub fn oversize_message(&self) -> Option<u64> {
        match self {
            Self::TooManyChunks { id, .. }
            | Self::MessageTooLarge { id, .. }
            | Self::InFlightLimit { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Counters of what a [`Reassembler`] has done, for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Messages reassembled from chunks.
    pub reassembled: u64,
    /// Partial messages dropped because they went stale.
    pub dropped_stale: u64,
    /// Partial messages evicted to make room for a new one.
    pub dropped_evicted: u64,
    /// Partial messages dropped for an inconsistency or a limit.
    pub dropped_invalid: u64,
}

#[derive(Debug)]
struct Partial {
    id: u64,
    total: usize,
    chunks: BTreeMap<usize, Vec<u8>>,
    bytes: usize,
    last_progress: u64,
}

/// The receiving half, one per data connection: feed it every received frame.
#[derive(Debug)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    partials: Vec<Partial>,
    bytes_in_flight: usize,
    frames_seen: u64,
    stats: ReassemblyStats,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(ReassemblyLimits::default())
    }
}

/// A chunk frame's fields.
struct Chunk<'a> {
    id: u64,
    n: usize,
    total: usize,
    data: &'a [u8],
}

/// What a decoded frame is.
enum Kind<'a> {
    Data,
    Close,
    Chunk(Chunk<'a>),
}

impl Reassembler {
    /// A reassembler for a new connection.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            limits,
            partials: Vec::new(),
            bytes_in_flight: 0,
            frames_seen: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> ReassemblyLimits {
        self.limits
    }

    /// What it has done so far.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// How many messages are partly received.
    pub fn partial_messages(&self) -> usize {
        self.partials.len()
    }

    /// How many chunk bytes are buffered.
    pub fn bytes_in_flight(&self) -> usize {
        self.bytes_in_flight
    }

    /// Forgets every partial message (e.g. when the connection closes).
    pub fn clear(&mut self) {
        self.partials.clear();
        self.bytes_in_flight = 0;
    }

    /// Handles one received data-channel frame.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Received, ReassemblyError> {
        self.frames_seen = self.frames_seen.saturating_add(1);
        self.drop_stale();
        if frame.len() > self.limits.max_frame_bytes {
            return Err(ReassemblyError::FrameTooLarge {
                len: frame.len(),
                max: self.limits.max_frame_bytes,
            });
        }
        let value = unpack(frame).map_err(ReassemblyError::Frame)?;
        match classify(&value)? {
            Kind::Data => Ok(Received::Data(value)),
            Kind::Close => Ok(Received::Close),
            Kind::Chunk(chunk) => self.add_chunk(chunk),
        }
    }

    fn drop_stale(&mut self) {
        let now = self.frames_seen;
        let limit = self.limits.stale_after_frames;
        let before = self.partials.len();
        let mut freed = 0;
        self.partials.retain(|p| {
            let fresh = now.saturating_sub(p.last_progress) <= limit;
            if !fresh {
                freed += p.bytes;
            }
            fresh
        });
        self.bytes_in_flight = self.bytes_in_flight.saturating_sub(freed);
        self.stats.dropped_stale += (before - self.partials.len()) as u64;
    }

    /// Removes a partial message (if present), releasing its bytes.
    fn remove(&mut self, id: u64) -> Option<Partial> {
        let index = self.partials.iter().position(|p| p.id == id)?;
        let partial = self.partials.swap_remove(index);
        self.bytes_in_flight = self.bytes_in_flight.saturating_sub(partial.bytes);
        Some(partial)
    }

    /// Drops a partial message because of `error`, and returns the error.
    fn reject(&mut self, id: u64, error: ReassemblyError) -> ReassemblyError {
        if self.remove(id).is_some() {
            self.stats.dropped_invalid += 1;
        }
        error
    }

    fn add_chunk(&mut self, chunk: Chunk<'_>) -> Result<Received, ReassemblyError> {
        let Chunk { id, n, total, data } = chunk;
        let limits = self.limits;
        if total > limits.max_chunks_per_message {
            let max = limits.max_chunks_per_message;
            return Err(self.reject(id, ReassemblyError::TooManyChunks { id, total, max }));
        }
        if n >= total {
            let reason = Inconsistency::IndexOutOfRange { total };
            return Err(self.reject(id, ReassemblyError::Inconsistent { id, n, reason }));
        }
        let index = match self.partials.iter().position(|p| p.id == id) {
            Some(index) => {
                let partial = &self.partials[index];
                let reason = if partial.total != total {
                    Some(Inconsistency::TotalChanged {
                        was: partial.total,
                        now: total,
                    })
                } else if partial.chunks.contains_key(&n) {
                    Some(Inconsistency::DuplicateIndex)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(self.reject(id, ReassemblyError::Inconsistent { id, n, reason }));
                }
                index
            }
            None => {
                if limits.max_partial_messages == 0 {
                    let max = limits.max_bytes_in_flight;
                    return Err(ReassemblyError::InFlightLimit { id, max });
                }
                if self.partials.len() >= limits.max_partial_messages {
                    self.evict_least_recent();
                }
                self.partials.push(Partial {
                    id,
                    total,
                    chunks: BTreeMap::new(),
                    bytes: 0,
                    last_progress: self.frames_seen,
                });
                self.partials.len() - 1
            }
        };

        let message_bytes = self.partials[index].bytes.saturating_add(data.len());
        if message_bytes > limits.max_message_bytes {
            let max = limits.max_message_bytes;
            return Err(self.reject(id, ReassemblyError::MessageTooLarge { id, max }));
        }
        if self.bytes_in_flight.saturating_add(data.len()) > limits.max_bytes_in_flight {
            let max = limits.max_bytes_in_flight;
            return Err(self.reject(id, ReassemblyError::InFlightLimit { id, max }));
        }

        self.bytes_in_flight += data.len();
        let partial = &mut self.partials[index];
        partial.chunks.insert(n, data.to_vec());
        partial.bytes = message_bytes;
        partial.last_progress = self.frames_seen;
        let received = partial.chunks.len();
        if received < total {
            return Ok(Received::Pending {
                id,
                received,
                total,
            });
        }

        let Some(partial) = self.remove(id) else {
            // Unreachable: the partial was found or inserted above.
            return Ok(Received::Pending {
                id,
                received,
                total,
            });
        };
        self.stats.reassembled += 1;
        let mut message = Vec::with_capacity(partial.bytes);
        // BTreeMap iterates in index order; the indices are exactly 0..total.
        for bytes in partial.chunks.into_values() {
            message.extend_from_slice(&bytes);
        }
        let value =
            unpack(&message).map_err(|source| ReassemblyError::Reassembled { id, source })?;
        match classify(&value)? {
            Kind::Data => Ok(Received::Data(value)),
            Kind::Close => Ok(Received::Close),
            Kind::Chunk(_) => Err(ReassemblyError::NestedChunk { id }),
        }
    }

    fn evict_least_recent(&mut self) {
        let oldest = self
            .partials
            .iter()
            .min_by_key(|p| p.last_progress)
            .map(|p| p.id);
        if let Some(id) = oldest {
            self.remove(id);
            self.stats.dropped_evicted += 1;
        }
    }
}

/// JS truthiness of a decoded value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Nil | Value::Undefined | Value::Bool(false) => false,
        Value::Int(0) | Value::UInt(0) => false,
        Value::Float(f) => !(*f == 0.0 || f.is_nan()),
        Value::Str(s) => !s.is_empty(),
        _ => true,
    }
}

/// Sorts a decoded frame the way PeerJS's `_handleDataMessage` does.
fn classify(value: &Value) -> Result<Kind<'_>, ReassemblyError> {
    let Some(peer_data) = value.get(PEER_DATA_KEY).filter(|v| truthy(v)) else {
        return Ok(Kind::Data);
    };
    if peer_data.get("type").and_then(Value::as_str) == Some("close") {
        return Ok(Kind::Close);
    }
    let id = match peer_data.as_u64() {
        Some(id) if id > 0 => id,
        _ => {
            return Err(ReassemblyError::MalformedChunk(
                "__peerData is neither a close message nor a positive integer id",
            ))
        }
    };
    let n = value
        .get("n")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(ReassemblyError::MalformedChunk(
            "chunk index n is not a non-negative integer",
        ))?;
    let total = value
        .get("total")
        .and_then(Value::as_u64)
        .and_then(|t| usize::try_from(t).ok())
        .filter(|&t| t > 0)
        .ok_or(ReassemblyError::MalformedChunk(
            "chunk count total is not a positive integer",
        ))?;
    let data = value
        .get("data")
        .and_then(Value::as_bin)
        .ok_or(ReassemblyError::MalformedChunk("chunk data is not binary"))?;
    Ok(Kind::Chunk(Chunk { id, n, total, data }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bin_of_packed_len(packed_len: usize, seed: u8) -> Value {
        // Binary over 65,535 bytes has a 5-byte header, else 3 (for > 15 bytes).
        let header = if packed_len - 3 > 0xffff { 5 } else { 3 };
        Value::Bin(
            (0..packed_len - header)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect(),
        )
    }

    fn receive_all(r: &mut Reassembler, frames: &[Vec<u8>]) -> Vec<Received> {
        frames
            .iter()
            .map(|f| r.receive(f).expect("valid frame"))
            .collect()
    }

    #[test]
    fn close_frame_constant_is_the_packed_close_message() {
        let close = Value::Map(vec![(
            Value::from(PEER_DATA_KEY),
            Value::Map(vec![(Value::from("type"), Value::from("close"))]),
        )]);
        assert_eq!(pack(&close).expect("packs"), CLOSE_FRAME);
        assert_eq!(
            Reassembler::default().receive(CLOSE_FRAME),
            Ok(Received::Close)
        );
    }

    #[test]
    fn sizes_around_the_chunk_boundary() {
        let mut chunker = Chunker::new();
        let mut reassembler = Reassembler::default();
        let mut next_id = 1;
        for packed_len in [
            1000,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            2 * CHUNK_SIZE,
            2 * CHUNK_SIZE + 1,
            65_538,
            65_541,
            1_000_000,
            1 << 20,
        ] {
            let value = bin_of_packed_len(packed_len, packed_len as u8);
            assert_eq!(pack(&value).expect("packs").len(), packed_len);
            let frames = chunker.frames(&value).expect("packs");
            let expected_frames = if packed_len <= CHUNK_SIZE {
                1
            } else {
                packed_len.div_ceil(CHUNK_SIZE)
            };
            assert_eq!(frames.len(), expected_frames, "{packed_len}");
            for frame in &frames {
                assert!(frame.len() <= CHUNK_SIZE + 48, "{}", frame.len());
            }
            if packed_len > CHUNK_SIZE {
                assert_eq!(chunker.next_message_id(), next_id + 1);
                next_id += 1;
            }
            let results = receive_all(&mut reassembler, &frames);
            assert_eq!(results.last(), Some(&Received::Data(value)));
            assert!(results[..results.len() - 1]
                .iter()
                .all(|r| matches!(r, Received::Pending { .. })));
            assert_eq!(reassembler.partial_messages(), 0);
            assert_eq!(reassembler.bytes_in_flight(), 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn out_of_order_and_interleaved_chunks_reassemble(
            len_a in 0usize..120_000,
            len_b in 0usize..120_000,
            seed in any::<u64>(),
        ) {
            let a = Value::Array(vec![Value::from("a"), Value::Bin(vec![1; len_a])]);
            let b = Value::Map(vec![(Value::from("b"), Value::Str("é".repeat(len_b / 2)))]);
            let mut chunker = Chunker::new();
            let mut frames: Vec<(usize, Vec<u8>)> = Vec::new();
            for (i, v) in [&a, &b].into_iter().enumerate() {
                frames.extend(chunker.frames(v).expect("packs").into_iter().map(|f| (i, f)));
            }
            // A deterministic shuffle driven by `seed`.
            let mut state = seed | 1;
            for i in (1..frames.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                frames.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let mut reassembler = Reassembler::default();
            let mut got = [None, None];
            for (i, frame) in &frames {
                match reassembler.receive(frame) {
                    Ok(Received::Data(v)) => got[*i] = Some(v),
                    Ok(Received::Pending { .. }) => {}
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
            prop_assert_eq!(got, [Some(a), Some(b)]);
            prop_assert_eq!(reassembler.bytes_in_flight(), 0);
        }

        #[test]
        fn garbage_frames_never_break_the_reassembler(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..40),
        ) {
            let mut reassembler = Reassembler::default();
            for frame in &frames {
                let _ = reassembler.receive(frame);
            }
            // Still works afterwards.
            let value = bin_of_packed_len(40_000, 9);
            let mut result = None;
            for frame in Chunker::new().frames(&value).expect("packs") {
                result = Some(reassembler.receive(&frame));
            }
            prop_assert_eq!(result, Some(Ok(Received::Data(value))));
        }
    }

    fn chunk(id: i64, n: i64, total: i64, data: &[u8]) -> Vec<u8> {
        pack(&Value::Map(vec![
            (Value::from(PEER_DATA_KEY), Value::Int(id)),
            (Value::from("n"), Value::Int(n)),
            (Value::from("data"), Value::from(data)),
            (Value::from("total"), Value::Int(total)),
        ]))
        .expect("packs")
    }

    /// The packed bytes of `value` cut into `parts` chunks with message id `id`.
    fn chunks_of(id: i64, value: &Value, parts: usize) -> Vec<Vec<u8>> {
        let bytes = pack(value).expect("packs");
        let size = bytes.len().div_ceil(parts);
        bytes
            .chunks(size)
            .enumerate()
            .map(|(n, c)| chunk(id, n as i64, parts as i64, c))
            .collect()
    }

    #[test]
    fn inconsistent_chunks_drop_their_partial_message() {
        let value = Value::Str("x".repeat(100));
        let frames = chunks_of(5, &value, 3);
        let mut r = Reassembler::default();

        // Duplicate index.
        r.receive(&frames[0]).expect("first chunk");
        assert_eq!(
            r.receive(&frames[0]),
            Err(ReassemblyError::Inconsistent {
                id: 5,
                n: 0,
                reason: Inconsistency::DuplicateIndex
            })
        );
        assert_eq!(r.partial_messages(), 0);
        assert_eq!(r.bytes_in_flight(), 0);

        // Total changes.
        r.receive(&frames[0]).expect("first chunk again");
        assert_eq!(
            r.receive(&chunk(5, 1, 4, b"zz")),
            Err(ReassemblyError::Inconsistent {
                id: 5,
                n: 1,
                reason: Inconsistency::TotalChanged { was: 3, now: 4 }
            })
        );
        assert_eq!(r.partial_messages(), 0);

        // Index out of range.
        r.receive(&frames[0]).expect("first chunk again");
        assert_eq!(
            r.receive(&chunk(5, 3, 3, b"zz")),
            Err(ReassemblyError::Inconsistent {
                id: 5,
                n: 3,
                reason: Inconsistency::IndexOutOfRange { total: 3 }
            })
        );
        assert_eq!(r.partial_messages(), 0);
        assert_eq!(r.stats().dropped_invalid, 3);

        // And it still works.
        let results = receive_all(&mut r, &frames);
        assert_eq!(results.last(), Some(&Received::Data(value)));
    }

    #[test]
    fn malformed_control_frames_are_typed_errors() {
        let mut r = Reassembler::default();
        let frame = |entries: Vec<(&str, Value)>| {
            pack(&Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (Value::from(k), v))
                    .collect(),
            ))
            .expect("packs")
        };
        for bad in [
            frame(vec![(PEER_DATA_KEY, Value::from("x"))]),
            frame(vec![(PEER_DATA_KEY, Value::Int(-1))]),
            frame(vec![(
                PEER_DATA_KEY,
                Value::Map(vec![(Value::from("type"), Value::from("open"))]),
            )]),
            frame(vec![
                (PEER_DATA_KEY, Value::Int(1)),
                ("n", Value::Int(-1)),
                ("total", Value::Int(2)),
                ("data", Value::Bin(vec![])),
            ]),
            frame(vec![
                (PEER_DATA_KEY, Value::Int(1)),
                ("n", Value::Int(0)),
                ("total", Value::Int(0)),
                ("data", Value::Bin(vec![])),
            ]),
            frame(vec![
                (PEER_DATA_KEY, Value::Int(1)),
                ("n", Value::Int(0)),
                ("total", Value::Int(2)),
                ("data", Value::from("not binary")),
            ]),
        ] {
            assert!(
                matches!(r.receive(&bad), Err(ReassemblyError::MalformedChunk(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            r.receive(&[0xc4]),
            Err(ReassemblyError::Frame(BinaryPackError::UnknownType { .. }))
        ));
        // Falsy __peerData: ordinary data, as in JS.
        for falsy in [
            Value::Int(0),
            Value::Nil,
            Value::Bool(false),
            Value::from(""),
        ] {
            let data = Value::Map(vec![(Value::from(PEER_DATA_KEY), falsy)]);
            assert_eq!(
                r.receive(&pack(&data).expect("packs")),
                Ok(Received::Data(data))
            );
        }
        // A reassembled close message closes; a reassembled chunk is refused.
        let close_frames = chunks_of(
            7,
            &Value::Map(vec![(
                Value::from(PEER_DATA_KEY),
                Value::Map(vec![(Value::from("type"), Value::from("close"))]),
            )]),
            2,
        );
        assert_eq!(
            receive_all(&mut r, &close_frames).last(),
            Some(&Received::Close)
        );
        let inner = unpack(&chunk(1, 0, 1, b"x")).expect("decodes");
        let nested = chunks_of(8, &inner, 2);
        r.receive(&nested[0]).expect("first half");
        assert_eq!(
            r.receive(&nested[1]),
            Err(ReassemblyError::NestedChunk { id: 8 })
        );
        let garbage = [chunk(9, 0, 2, &[0xc1]), chunk(9, 1, 2, &[0xc1])];
        r.receive(&garbage[0]).expect("first half");
        assert!(matches!(
            r.receive(&garbage[1]),
            Err(ReassemblyError::Reassembled {
                id: 9,
                source: BinaryPackError::TrailingBytes { .. }
            })
        ));
    }

    #[test]
    fn partial_message_limit_evicts_the_least_recent() {
        let limits = ReassemblyLimits {
            max_partial_messages: 2,
            ..ReassemblyLimits::default()
        };
        let mut r = Reassembler::new(limits);
        let msgs: Vec<_> = (1..=3)
            .map(|i| chunks_of(i, &Value::Bin(vec![i as u8; 50]), 2))
            .collect();
        r.receive(&msgs[0][0]).expect("chunk");
        r.receive(&msgs[1][0]).expect("chunk");
        r.receive(&msgs[2][0]).expect("chunk"); // evicts message 1
        assert_eq!(r.partial_messages(), 2);
        assert_eq!(r.stats().dropped_evicted, 1);
        assert!(matches!(r.receive(&msgs[1][1]), Ok(Received::Data(_))));
        assert!(matches!(r.receive(&msgs[2][1]), Ok(Received::Data(_))));
        // Message 1's second half now starts a new partial message that never completes.
        assert!(matches!(
            r.receive(&msgs[0][1]),
            Ok(Received::Pending { id: 1, .. })
        ));
    }

    #[test]
    fn size_limits_drop_the_offending_message() {
        let limits = ReassemblyLimits {
            max_frame_bytes: 100,
            max_message_bytes: 100,
            max_chunks_per_message: 10,
            max_bytes_in_flight: 150,
            ..ReassemblyLimits::default()
        };
        let mut r = Reassembler::new(limits);
        assert!(matches!(
            r.receive(&chunk(1, 0, 11, b"x")),
            Err(ReassemblyError::TooManyChunks {
                id: 1,
                total: 11,
                max: 10
            })
        ));
        assert!(matches!(
            r.receive(&[0xc0; 101]),
            Err(ReassemblyError::FrameTooLarge { len: 101, max: 100 })
        ));
        r.receive(&chunk(2, 0, 3, &[0; 60])).expect("fits");
        assert_eq!(
            r.receive(&chunk(2, 1, 3, &[0; 60])),
            Err(ReassemblyError::MessageTooLarge { id: 2, max: 100 })
        );
        assert_eq!(r.bytes_in_flight(), 0);
        r.receive(&chunk(3, 0, 3, &[0; 60])).expect("fits");
        r.receive(&chunk(4, 0, 3, &[0; 60])).expect("fits");
        assert_eq!(r.bytes_in_flight(), 120);
        assert_eq!(
            r.receive(&chunk(4, 1, 3, &[0; 40])),
            Err(ReassemblyError::InFlightLimit { id: 4, max: 150 })
        );
        assert_eq!(r.bytes_in_flight(), 60);
        assert_eq!(r.partial_messages(), 1);
        r.clear();
        assert_eq!((r.partial_messages(), r.bytes_in_flight()), (0, 0));
    }

    #[test]
    fn stale_partial_messages_are_dropped() {
        let limits = ReassemblyLimits {
            stale_after_frames: 3,
            ..ReassemblyLimits::default()
        };
        let mut r = Reassembler::new(limits);
        let frames = chunks_of(1, &Value::Bin(vec![5; 40]), 2);
        r.receive(&frames[0]).expect("chunk"); // frame 1
        for _ in 0..3 {
            r.receive(&[0x01]).expect("data"); // frames 2..=4: 3 frames since progress
        }
        assert_eq!(r.partial_messages(), 1);
        r.receive(&[0x01]).expect("data"); // frame 5: 4 frames since progress
        assert_eq!(r.partial_messages(), 0);
        assert_eq!(r.stats().dropped_stale, 1);
        assert_eq!(r.bytes_in_flight(), 0);
    }
}
