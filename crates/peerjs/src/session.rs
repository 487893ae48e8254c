//! The signaling session of one PeerJS `Peer`, as a sans-IO state machine: its WebSocket to the
//! PeerJS server (register, heartbeat, reconnect) and the signaling side of its data connections
//! (OFFER/ANSWER/CANDIDATE routing, connect timeouts, EXPIRE and LEAVE).
//!
//! # Driving loop
//!
//! The machine does no I/O and never reads a clock or a random source. A shell (the browser
//! transport, or a test) owns the WebSocket and the timer and runs this loop:
//!
//! 1. Create it with [`Session::new`]`(config, seed, now)`; it immediately asks for a socket.
//! 2. Feed every event with [`Session::handle_input`]`(input, now)`: socket opened/closed/text,
//!    page visibility, the app's intents, the WebRTC layer's answers and candidates, and
//!    [`Input::Tick`] when the timer fires. `now` is milliseconds on any monotonic clock, the same
//!    clock for every call.
//! 3. After each input, drain [`Session::poll_output`] until it returns `None` and act on every
//!    [`Output`] in order: open/close the socket, send text frames, hand events to the app.
//! 4. Re-arm a single timer for [`Session::poll_timeout`] (an absolute instant on that clock); when
//!    it fires, feed [`Input::Tick`]. `None` means no timer is needed.
//!
//! Randomness (reconnect jitter, [`Session::new_connection_id`]) comes from a SplitMix64
//! generator seeded once by the caller's `seed`: the same seed and inputs give the same outputs.
//!
//! # Invariants
//!
//! - At most one socket at a time. [`Output::OpenSocket`] is only emitted when no socket is open
//!   or opening; the shell must then report events for that socket only, and after
//!   [`Output::CloseSocket`] it reports nothing more about the closed socket.
//! - [`Output::Open`] and [`Output::Disconnected`] strictly alternate, starting with `Open`.
//!   Error events about the socket are reported once per outage, not once per retry.
//! - Signaling frames (OFFER, ANSWER, CANDIDATE, LEAVE) are sent only while the session is open;
//!   produced earlier, they wait in an outbox (at most
//!   [`SessionConfig::max_queued_outbound`]) and are sent in order on open; produced while
//!   stopped, they are dropped (a dial fails at once). HEARTBEATs are sent whenever the socket is
//!   open and never queued.
//! - A dial ([`Input::Connect`]) ends in exactly one of: [`Input::ConnectionOpened`] from the
//!   shell, [`Input::ConnectionClosed`] from the shell, [`Output::ConnectFailed`], or
//!   [`Output::CloseConnectionsTo`] for its peer. Its timeout starts when its OFFER is handed to
//!   the socket, so a dial made while reconnecting waits for the socket rather than failing.
//! - ANSWER/CANDIDATE frames for a connection ID not yet registered (by an incoming OFFER or a
//!   `Connect`) are held, at most [`SessionConfig::max_buffered_signals`] of them and none older
//!   than [`SessionConfig::buffered_signal_max_age_ms`], and delivered in arrival order when it is.
//!   Frames whose `src` is not the registered peer of their connection are dropped.
//! - ID-TAKEN, ERROR and [`Input::Disconnect`] stop the session (no automatic reconnect; only
//!   [`Input::Reconnect`] restarts it). Any other loss of the socket reconnects automatically
//!   with the same ID and token after an exponential, fully jittered backoff, reset on open.
//! - After [`Input::Destroy`] every input is ignored and nothing more is emitted.
//! - No input panics; a malformed frame yields an [`Output::Error`] of kind
//!   [`PeerErrorKind::InvalidMessage`] and the session carries on.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use crate::backoff::Backoff;
use crate::server::{normalize_path, ServerConfig};
use crate::signal::{
    AnswerPayload, CandidatePayload, ClientMessage, ConnectionId, OfferPayload, PeerName,
    ServerMessage, SignalError,
};

/// The PeerJS client version this crate speaks, sent as `version=` (the server ignores it).
pub const PEERJS_PROTOCOL_VERSION: &str = "1.5.5";

/// Everything a [`Session`] needs to know up front. Times are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The PeerJS server.
    pub server: ServerConfig,
    /// Our ID. Must satisfy [`PeerName::is_valid_for_peerjs`].
    pub id: PeerName,
    /// Our token; reuse it across reloads together with the ID so that a lingering registration
    /// re-attaches instead of answering ID-TAKEN.
    pub token: String,
    /// Sent as `version=`; defaults to [`PEERJS_PROTOCOL_VERSION`].
    pub client_version: String,
    /// Interval between HEARTBEATs while the socket is open (default 5000).
    pub ping_interval_ms: u64,
    /// How long a dial may take from sending its OFFER to its data channel opening (default
    /// 10 000).
    pub connect_timeout_ms: u64,
    /// How long the socket may take to open before it is abandoned and retried (default 10 000).
    pub socket_open_timeout_ms: u64,
    /// How long after the socket opens, without OPEN, ID-TAKEN or ERROR, the session counts as
    /// open: the server re-attaches a same-ID, same-token socket silently (default 2000).
    pub reattach_grace_ms: u64,
    /// Ceiling of the first reconnect delay (default 500).
    pub reconnect_base_ms: u64,
    /// Largest reconnect delay (default 30 000).
    pub reconnect_cap_ms: u64,
    /// Most ANSWER/CANDIDATE frames held for unregistered connections (default 64).
    pub max_buffered_signals: usize,
    /// Held frames older than this are dropped (default 15 000).
    pub buffered_signal_max_age_ms: u64,
    /// Most signaling frames waiting for the socket to open (default 256); beyond it the oldest
    /// is dropped (a dropped OFFER fails its dial with [`ConnectFailReason::QueueFull`]).
    pub max_queued_outbound: usize,
}

impl SessionConfig {
    /// A configuration with the defaults documented on each field.
    /// `server`'s path is normalised to start and end with `/`, as PeerJS does.
    pub fn new(server: ServerConfig, id: PeerName, token: impl Into<String>) -> Self {
        Self {
            server: ServerConfig {
                path: normalize_path(&server.path),
                ..server
            },
            id,
            token: token.into(),
            client_version: PEERJS_PROTOCOL_VERSION.to_owned(),
            ping_interval_ms: 5000,
            connect_timeout_ms: 10_000,
            socket_open_timeout_ms: 10_000,
            reattach_grace_ms: 2000,
            reconnect_base_ms: 500,
            reconnect_cap_ms: 30_000,
            max_buffered_signals: 64,
            buffered_signal_max_age_ms: 15_000,
            max_queued_outbound: 256,
        }
    }

    /// The signaling WebSocket URL for this ID and token.
    pub fn socket_url(&self) -> String {
        self.server
            .socket_url(&self.id, &self.token, &self.client_version)
    }
}

/// Something that happened, fed to [`Session::handle_input`].
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The socket asked for by the latest [`Output::OpenSocket`] opened.
    SocketOpened,
    /// That socket closed or failed (a WebSocket `error` and the `close` that follows it are
    /// reported once, as this).
    SocketClosed,
    /// That socket received a text frame.
    SocketText(String),
    /// The timer armed for [`Session::poll_timeout`] fired.
    Tick,
    /// The page became visible again: send a heartbeat now (background timers are throttled),
    /// and retry at once if waiting to reconnect.
    VisibilityVisible,
    /// The app dials `remote`: send `offer` (queued until the session is open) and watch for the
    /// connection to open.
    Connect {
        /// The peer dialled.
        remote: PeerName,
        /// The offer; its `connection_id` names the dial from now on.
        offer: OfferPayload,
    },
    /// The WebRTC layer answered an incoming offer.
    SendAnswer {
        /// The dialer.
        remote: PeerName,
        /// The answer.
        answer: AnswerPayload,
    },
    /// The WebRTC layer produced a local ICE candidate (send no end-of-candidates `null`).
    SendCandidate {
        /// The remote peer.
        remote: PeerName,
        /// The candidate.
        candidate: CandidatePayload,
    },
    /// Ask `remote` to close every connection to us (stock PeerJS never sends this).
    SendLeave {
        /// The remote peer.
        remote: PeerName,
    },
    /// The data channel of this connection opened: its dial succeeded.
    ConnectionOpened(ConnectionId),
    /// This connection is closed: forget it.
    ConnectionClosed(ConnectionId),
    /// The user asks to reconnect (same ID and token) after a stop, or to retry now.
    Reconnect,
    /// The user disconnects from the server (data connections are left to the app).
    Disconnect,
    /// Shut everything down for good.
    Destroy,
}

/// Something the shell must do or report, drained with [`Session::poll_output`].
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a WebSocket to `url` (no socket is open or opening).
    OpenSocket {
        /// The full signaling URL.
        url: String,
    },
    /// Close the current socket cleanly (a clean close frees the ID on the server at once).
    CloseSocket,
    /// Send this text frame on the current socket.
    SendText(String),
    /// The session is registered with the server.
    Open,
    /// The session is no longer registered (follows an `Open`).
    Disconnected,
    /// Something went wrong; see [`PeerError::kind`].
    Error(PeerError),
    /// A remote peer dials us: answer with [`Input::SendAnswer`].
    IncomingOffer {
        /// Who dials.
        src: PeerName,
        /// The offer.
        payload: OfferPayload,
    },
    /// The remote side answered our dial.
    RemoteAnswer {
        /// The dial.
        connection_id: ConnectionId,
        /// The answer.
        payload: AnswerPayload,
    },
    /// A remote ICE candidate for a connection.
    RemoteCandidate {
        /// The connection.
        connection_id: ConnectionId,
        /// The candidate.
        payload: CandidatePayload,
    },
    /// A dial failed; close its RTCPeerConnection.
    ConnectFailed {
        /// The dial.
        connection_id: ConnectionId,
        /// The peer dialled.
        peer: PeerName,
        /// Why.
        reason: ConnectFailReason,
    },
    /// `peer` sent LEAVE: close every connection to it (the session has forgotten them).
    CloseConnectionsTo {
        /// The peer that left.
        peer: PeerName,
    },
}

/// Why a dial failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectFailReason {
    /// The server answered EXPIRE: the peer is not registered.
    PeerUnavailable,
    /// No open data channel within [`SessionConfig::connect_timeout_ms`] of sending the OFFER
    /// (an absent or frozen peer never answers).
    Timeout,
    /// The session is stopped ([`Input::Disconnect`], ID-TAKEN or ERROR).
    Disconnected,
    /// The session was destroyed.
    Destroyed,
    /// The outbox overflowed while the socket was down and this OFFER was the oldest entry.
    QueueFull,
}

/// The kinds of peer-level error, mirroring PeerJS's names (see [`PeerErrorKind::as_str`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerErrorKind {
    /// Our ID is not one PeerJS accepts.
    InvalidId,
    /// Another client holds our ID (ID-TAKEN).
    UnavailableId,
    /// The server could not reach `peer` (EXPIRE).
    PeerUnavailable {
        /// The unreachable peer.
        peer: PeerName,
    },
    /// The server could not be reached or the connection to it was lost.
    Network,
    /// The server reported an error (ERROR).
    ServerError,
    /// The socket failed (e.g. did not open in time).
    SocketError,
    /// The socket closed unexpectedly (for shells; the session reports losses as `Network`).
    SocketClosed,
    /// A WebRTC failure (for the transport layer; the session never emits it).
    Webrtc,
    /// An operation needs the server but the session is disconnected.
    Disconnected,
    /// A signaling frame could not be read or written (not in PeerJS, which drops such frames
    /// silently); the source is a [`SignalError`].
    InvalidMessage,
}

impl PeerErrorKind {
    /// PeerJS's name for this kind (`"invalid-message"` for the one PeerJS lacks).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidId => "invalid-id",
            Self::UnavailableId => "unavailable-id",
            Self::PeerUnavailable { .. } => "peer-unavailable",
            Self::Network => "network",
            Self::ServerError => "server-error",
            Self::SocketError => "socket-error",
            Self::SocketClosed => "socket-closed",
            Self::Webrtc => "webrtc",
            Self::Disconnected => "disconnected",
            Self::InvalidMessage => "invalid-message",
        }
    }
}

impl fmt::Display for PeerErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A peer-level error event.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct PeerError {
    /// What kind of failure.
    pub kind: PeerErrorKind,
    /// A human-readable explanation (the server's own text for ID-TAKEN and ERROR).
    pub message: String,
    /// The underlying parse or encode error, if any.
    #[source]
    pub source: Option<SignalError>,
}

impl PeerError {
    /// An error without an underlying cause.
    pub fn new(kind: PeerErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }
}

/// Compares `kind` and `message`; the `source` is not compared.
impl PartialEq for PeerError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

/// Coarse session state for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// A socket is opening, or open and awaiting registration.
    Connecting,
    /// Registered: signaling flows.
    Open,
    /// The socket was lost; waiting to retry.
    Reconnecting,
    /// Stopped (Disconnect, ID-TAKEN, ERROR, invalid ID); only [`Input::Reconnect`] restarts.
    Disconnected,
    /// Destroyed for good.
    Destroyed,
}

/// The connection-level phase of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `OpenSocket` was emitted; the socket is abandoned at `deadline` if still not open.
    Connecting { deadline: u64 },
    /// The socket is open; without OPEN/ID-TAKEN/ERROR the session counts as open at `deadline`.
    AwaitingOpen { deadline: u64, next_ping: u64 },
    /// Registered.
    Open { next_ping: u64 },
    /// No socket; the next attempt is at `retry_at`.
    Backoff { retry_at: u64 },
    /// No socket, no retry.
    Stopped,
    /// Terminal.
    Destroyed,
}

/// A dial that has not opened yet.
#[derive(Debug, Clone)]
struct PendingDial {
    peer: PeerName,
    /// Set when the OFFER is sent.
    deadline: Option<u64>,
}

/// An ANSWER or CANDIDATE for a connection that is not registered yet.
#[derive(Debug, Clone)]
struct HeldSignal {
    received_at: u64,
    src: PeerName,
    signal: RemoteSignal,
}

#[derive(Debug, Clone)]
enum RemoteSignal {
    Answer(AnswerPayload),
    Candidate(CandidatePayload),
}

impl RemoteSignal {
    fn connection_id(&self) -> &ConnectionId {
        match self {
            Self::Answer(p) => &p.connection_id,
            Self::Candidate(p) => &p.connection_id,
        }
    }

    fn into_output(self) -> Output {
        match self {
            Self::Answer(payload) => Output::RemoteAnswer {
                connection_id: payload.connection_id.clone(),
                payload,
            },
            Self::Candidate(payload) => Output::RemoteCandidate {
                connection_id: payload.connection_id.clone(),
                payload,
            },
        }
    }
}

/// A signaling frame waiting for the session to open.
#[derive(Debug, Clone)]
struct Queued {
    text: String,
    connection_id: Option<ConnectionId>,
    is_offer: bool,
}

/// SplitMix64: a tiny, well-mixed deterministic generator (not cryptographic; jitter only).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_u32(&mut self) -> u32 {
        // The high half; the shift leaves exactly 32 bits.
        u32::try_from(self.next_u64() >> 32).unwrap_or(u32::MAX)
    }
}

/// The signaling session machine. See the module docs for the driving loop.
#[derive(Debug, Clone)]
pub struct Session {
    config: SessionConfig,
    phase: Phase,
    backoff: Backoff,
    rng: SplitMix64,
    outputs: VecDeque<Output>,
    /// Frames waiting for open, in send order.
    outbox: VecDeque<Queued>,
    /// Our dials that have not opened, failed or closed.
    pending: BTreeMap<ConnectionId, PendingDial>,
    /// Every registered connection and its remote peer.
    connections: BTreeMap<ConnectionId, PeerName>,
    /// Frames for unregistered connections, oldest first.
    held: VecDeque<HeldSignal>,
    /// `Open` was emitted and `Disconnected` has not followed yet.
    open_announced: bool,
    /// The current outage has been reported with an error event.
    outage_reported: bool,
}

impl Session {
    /// A session that starts connecting at `now` (the first output is [`Output::OpenSocket`],
    /// or an [`PeerErrorKind::InvalidId`] error). `seed` seeds the jitter generator: pass a
    /// value from a real random source.
    pub fn new(config: SessionConfig, seed: u64, now: u64) -> Self {
        let backoff = Backoff::new(config.reconnect_base_ms, config.reconnect_cap_ms);
        let mut session = Self {
            config,
            phase: Phase::Stopped,
            backoff,
            rng: SplitMix64(seed),
            outputs: VecDeque::new(),
            outbox: VecDeque::new(),
            pending: BTreeMap::new(),
            connections: BTreeMap::new(),
            held: VecDeque::new(),
            open_announced: false,
            outage_reported: false,
        };
        session.start(now);
        session
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The coarse state.
    pub fn state(&self) -> SessionState {
        match self.phase {
            Phase::Connecting { .. } | Phase::AwaitingOpen { .. } => SessionState::Connecting,
            Phase::Open { .. } => SessionState::Open,
            Phase::Backoff { .. } => SessionState::Reconnecting,
            Phase::Stopped => SessionState::Disconnected,
            Phase::Destroyed => SessionState::Destroyed,
        }
    }

    /// A fresh `dc_…` connection ID drawn from the session's generator.
    pub fn new_connection_id(&mut self) -> ConnectionId {
        ConnectionId::from_random_bytes(self.rng.next_u64().to_be_bytes())
    }

    /// The next output to act on, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The instant at which the shell must feed [`Input::Tick`], if any.
    pub fn poll_timeout(&self) -> Option<u64> {
        let phase = match self.phase {
            Phase::Connecting { deadline } => Some(deadline),
            Phase::AwaitingOpen {
                deadline,
                next_ping,
            } => Some(deadline.min(next_ping)),
            Phase::Open { next_ping } => Some(next_ping),
            Phase::Backoff { retry_at } => Some(retry_at),
            Phase::Stopped => None,
            Phase::Destroyed => return None,
        };
        let dials = self.pending.values().filter_map(|d| d.deadline).min();
        match (phase, dials) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Feeds one input at time `now` (milliseconds); then drain [`Session::poll_output`].
    pub fn handle_input(&mut self, input: Input, now: u64) {
        if self.phase == Phase::Destroyed {
            return;
        }
        self.prune_held(now);
        match input {
            Input::SocketOpened => self.on_socket_opened(now),
            Input::SocketClosed => self.on_socket_closed(now),
            Input::SocketText(text) => self.on_text(&text, now),
            Input::Tick => self.on_tick(now),
            Input::VisibilityVisible => self.on_visible(now),
            Input::Connect { remote, offer } => self.on_connect(remote, offer, now),
            Input::SendAnswer { remote, answer } => {
                let id = answer.connection_id.clone();
                self.send_signal(
                    ClientMessage::Answer {
                        dst: remote,
                        payload: answer,
                    },
                    Some(id),
                    now,
                );
            }
            Input::SendCandidate { remote, candidate } => {
                let id = candidate.connection_id.clone();
                self.send_signal(
                    ClientMessage::Candidate {
                        dst: remote,
                        payload: candidate,
                    },
                    Some(id),
                    now,
                );
            }
            Input::SendLeave { remote } => {
                self.send_signal(ClientMessage::Leave { dst: remote }, None, now)
            }
            Input::ConnectionOpened(id) => {
                self.pending.remove(&id);
            }
            Input::ConnectionClosed(id) => self.forget_connection(&id),
            Input::Reconnect => match self.phase {
                Phase::Stopped => {
                    self.backoff.reset();
                    self.outage_reported = false;
                    self.start(now);
                }
                Phase::Backoff { .. } => self.start(now),
                _ => {}
            },
            Input::Disconnect => self.stop(ConnectFailReason::Disconnected),
            Input::Destroy => self.destroy(),
        }
    }

    // ---- socket lifecycle ----

    /// Opens a socket unless our ID is one PeerJS would refuse.
    fn start(&mut self, now: u64) {
        if !self.config.id.is_valid_for_peerjs() {
            self.phase = Phase::Stopped;
            let message = format!("ID \"{}\" is invalid", self.config.id);
            self.emit_error(PeerErrorKind::InvalidId, message);
            return;
        }
        self.outputs.push_back(Output::OpenSocket {
            url: self.config.socket_url(),
        });
        self.phase = Phase::Connecting {
            deadline: now.saturating_add(self.config.socket_open_timeout_ms),
        };
    }

    fn on_socket_opened(&mut self, now: u64) {
        if let Phase::Connecting { .. } = self.phase {
            self.phase = Phase::AwaitingOpen {
                deadline: now.saturating_add(self.config.reattach_grace_ms),
                next_ping: now.saturating_add(self.config.ping_interval_ms),
            };
        }
    }

    fn on_socket_closed(&mut self, now: u64) {
        match self.phase {
            Phase::Connecting { .. } => self.socket_lost(
                now,
                PeerErrorKind::Network,
                "Could not connect to the signaling server.",
            ),
            Phase::AwaitingOpen { .. } | Phase::Open { .. } => {
                self.socket_lost(now, PeerErrorKind::Network, "Lost connection to server.")
            }
            Phase::Backoff { .. } | Phase::Stopped | Phase::Destroyed => {}
        }
    }

    /// The socket is gone without our asking: report once per outage, then retry after backoff.
    fn socket_lost(&mut self, now: u64, kind: PeerErrorKind, message: &str) {
        self.announce_disconnected();
        if !self.outage_reported {
            self.outage_reported = true;
            self.emit_error(kind, message);
        }
        let delay = self.backoff.next_delay(self.rng.next_u32());
        self.phase = Phase::Backoff {
            retry_at: now.saturating_add(delay),
        };
    }

    fn enter_open(&mut self, now: u64) {
        let next_ping = match self.phase {
            Phase::AwaitingOpen { next_ping, .. } => next_ping,
            _ => return,
        };
        self.phase = Phase::Open { next_ping };
        self.backoff.reset();
        self.outage_reported = false;
        self.open_announced = true;
        self.outputs.push_back(Output::Open);
        while let Some(queued) = self.outbox.pop_front() {
            self.transmit(queued, now);
        }
    }

    /// Stops after ID-TAKEN, ERROR or [`Input::Disconnect`]: no socket, no retry. Dials whose
    /// OFFER is still queued fail with `reason`.
    fn stop(&mut self, reason: ConnectFailReason) {
        if self.has_socket() {
            self.outputs.push_back(Output::CloseSocket);
        }
        self.phase = Phase::Stopped;
        self.announce_disconnected();
        // Dials whose OFFER never left can no longer be sent; other queued frames are stale.
        for queued in std::mem::take(&mut self.outbox) {
            if let (true, Some(id)) = (queued.is_offer, queued.connection_id) {
                self.fail_dial(&id, reason);
            }
        }
    }

    fn destroy(&mut self) {
        self.stop(ConnectFailReason::Destroyed);
        for (connection_id, dial) in std::mem::take(&mut self.pending) {
            self.outputs.push_back(Output::ConnectFailed {
                connection_id,
                peer: dial.peer,
                reason: ConnectFailReason::Destroyed,
            });
        }
        self.connections.clear();
        self.held.clear();
        self.phase = Phase::Destroyed;
    }

    fn has_socket(&self) -> bool {
        matches!(
            self.phase,
            Phase::Connecting { .. } | Phase::AwaitingOpen { .. } | Phase::Open { .. }
        )
    }

    fn announce_disconnected(&mut self) {
        if self.open_announced {
            self.open_announced = false;
            self.outputs.push_back(Output::Disconnected);
        }
    }

    // ---- timers ----

    fn on_tick(&mut self, now: u64) {
        match self.phase {
            Phase::Connecting { deadline } if now >= deadline => {
                self.outputs.push_back(Output::CloseSocket);
                self.socket_lost(
                    now,
                    PeerErrorKind::SocketError,
                    "The signaling socket did not open in time.",
                );
            }
            Phase::AwaitingOpen {
                deadline,
                next_ping,
            } => {
                if now >= next_ping {
                    self.heartbeat(now);
                }
                if now >= deadline {
                    // Same ID and token re-attached silently: no OPEN will come.
                    self.enter_open(now);
                }
            }
            Phase::Open { next_ping } if now >= next_ping => self.heartbeat(now),
            Phase::Backoff { retry_at } if now >= retry_at => self.start(now),
            _ => {}
        }
        let expired: Vec<ConnectionId> = self
            .pending
            .iter()
            .filter(|(_, dial)| dial.deadline.is_some_and(|d| now >= d))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.fail_dial(&id, ConnectFailReason::Timeout);
        }
    }

    fn on_visible(&mut self, now: u64) {
        match self.phase {
            Phase::AwaitingOpen { .. } | Phase::Open { .. } => self.heartbeat(now),
            Phase::Backoff { .. } => self.start(now),
            _ => {}
        }
    }

    /// Sends a HEARTBEAT now and schedules the next one a ping interval later.
    fn heartbeat(&mut self, now: u64) {
        let next = now.saturating_add(self.config.ping_interval_ms);
        match &mut self.phase {
            Phase::AwaitingOpen { next_ping, .. } | Phase::Open { next_ping } => *next_ping = next,
            _ => return,
        }
        self.encode_and(ClientMessage::Heartbeat, |s, text| {
            s.outputs.push_back(Output::SendText(text))
        });
    }

    // ---- incoming frames ----

    fn on_text(&mut self, text: &str, now: u64) {
        if !matches!(self.phase, Phase::AwaitingOpen { .. } | Phase::Open { .. }) {
            return; // not ours: no socket is open
        }
        let message = match ServerMessage::parse(text) {
            Ok(message) => message,
            Err(e) => {
                self.outputs.push_back(Output::Error(PeerError {
                    kind: PeerErrorKind::InvalidMessage,
                    message: format!("ignored a signaling frame: {e}"),
                    source: Some(e),
                }));
                return;
            }
        };
        match message {
            ServerMessage::Open => self.enter_open(now),
            ServerMessage::Heartbeat => {}
            ServerMessage::IdTaken { msg } => {
                let msg = if msg.is_empty() {
                    format!("ID \"{}\" is taken", self.config.id)
                } else {
                    msg
                };
                self.emit_error(PeerErrorKind::UnavailableId, msg);
                self.stop(ConnectFailReason::Disconnected);
            }
            ServerMessage::Error { msg } => {
                self.emit_error(PeerErrorKind::ServerError, msg);
                self.stop(ConnectFailReason::Disconnected);
            }
            relayed => {
                // Only a registered ID receives relays: we are open even without OPEN.
                self.enter_open(now);
                self.on_relayed(relayed, now);
            }
        }
    }

    fn on_relayed(&mut self, message: ServerMessage, now: u64) {
        match message {
            ServerMessage::Offer { src, payload } => {
                let id = payload.connection_id.clone();
                if self.connections.contains_key(&id) {
                    return; // a duplicate (or an echo of our own dial): PeerJS ignores it too
                }
                self.connections.insert(id.clone(), src.clone());
                self.outputs
                    .push_back(Output::IncomingOffer { src, payload });
                self.release_held(&id);
            }
            ServerMessage::Answer { src, payload } => {
                self.route_signal(src, RemoteSignal::Answer(payload), now)
            }
            ServerMessage::Candidate { src, payload } => {
                self.route_signal(src, RemoteSignal::Candidate(payload), now)
            }
            ServerMessage::Leave { src } => {
                let ids: Vec<ConnectionId> = self
                    .connections
                    .iter()
                    .filter(|(_, peer)| **peer == src)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in &ids {
                    self.forget_connection(id);
                }
                self.held.retain(|h| h.src != src);
                self.outputs
                    .push_back(Output::CloseConnectionsTo { peer: src });
            }
            ServerMessage::Expire { src } => {
                let message = format!("Could not connect to peer {src}");
                self.emit_error(
                    PeerErrorKind::PeerUnavailable { peer: src.clone() },
                    message,
                );
                let ids: Vec<ConnectionId> = self
                    .pending
                    .iter()
                    .filter(|(_, dial)| dial.peer == src)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in ids {
                    self.fail_dial(&id, ConnectFailReason::PeerUnavailable);
                }
            }
            ServerMessage::Open
            | ServerMessage::Heartbeat
            | ServerMessage::IdTaken { .. }
            | ServerMessage::Error { .. } => {}
        }
    }

    /// Delivers an ANSWER/CANDIDATE to its registered connection, or holds it until then.
    fn route_signal(&mut self, src: PeerName, signal: RemoteSignal, now: u64) {
        match self.connections.get(signal.connection_id()) {
            Some(peer) if *peer == src => self.outputs.push_back(signal.into_output()),
            Some(_) => {} // someone else's connection ID: drop
            None => {
                if self.config.max_buffered_signals == 0 {
                    return;
                }
                while self.held.len() >= self.config.max_buffered_signals {
                    self.held.pop_front();
                }
                self.held.push_back(HeldSignal {
                    received_at: now,
                    src,
                    signal,
                });
            }
        }
    }

    /// Delivers, in arrival order, the held frames of a newly registered connection.
    fn release_held(&mut self, id: &ConnectionId) {
        let Some(peer) = self.connections.get(id).cloned() else {
            return;
        };
        let (mine, rest): (VecDeque<HeldSignal>, VecDeque<HeldSignal>) =
            std::mem::take(&mut self.held)
                .into_iter()
                .partition(|h| h.signal.connection_id() == id);
        self.held = rest;
        for held in mine {
            if held.src == peer {
                self.outputs.push_back(held.signal.into_output());
            }
        }
    }

    fn prune_held(&mut self, now: u64) {
        let max_age = self.config.buffered_signal_max_age_ms;
        self.held
            .retain(|h| now.saturating_sub(h.received_at) <= max_age);
    }

    // ---- outgoing signaling ----

    fn on_connect(&mut self, remote: PeerName, offer: OfferPayload, now: u64) {
        let id = offer.connection_id.clone();
        if self.phase == Phase::Stopped {
            self.outputs.push_back(Output::ConnectFailed {
                connection_id: id,
                peer: remote,
                reason: ConnectFailReason::Disconnected,
            });
            return;
        }
        self.connections.insert(id.clone(), remote.clone());
        self.pending.insert(
            id.clone(),
            PendingDial {
                peer: remote.clone(),
                deadline: None,
            },
        );
        self.send_signal(
            ClientMessage::Offer {
                dst: remote,
                payload: offer,
            },
            Some(id.clone()),
            now,
        );
        self.release_held(&id);
    }

    /// Sends a signaling frame now if open, queues it if the session will open, drops it if
    /// stopped.
    fn send_signal(&mut self, message: ClientMessage, id: Option<ConnectionId>, now: u64) {
        if self.phase == Phase::Stopped {
            return;
        }
        let is_offer = matches!(message, ClientMessage::Offer { .. });
        self.encode_and(message, |s, text| {
            let queued = Queued {
                text,
                connection_id: id,
                is_offer,
            };
            if let Phase::Open { .. } = s.phase {
                s.transmit(queued, now);
            } else {
                s.enqueue(queued);
            }
        });
    }

    fn enqueue(&mut self, queued: Queued) {
        if self.config.max_queued_outbound == 0 {
            return;
        }
        while self.outbox.len() >= self.config.max_queued_outbound {
            let Some(dropped) = self.outbox.pop_front() else {
                break;
            };
            if let (true, Some(id)) = (dropped.is_offer, dropped.connection_id) {
                self.fail_dial(&id, ConnectFailReason::QueueFull);
            }
        }
        self.outbox.push_back(queued);
    }

    /// Hands a frame to the open socket; a sent OFFER starts its dial's timeout.
    fn transmit(&mut self, queued: Queued, now: u64) {
        if let (true, Some(id)) = (queued.is_offer, &queued.connection_id) {
            if let Some(dial) = self.pending.get_mut(id) {
                dial.deadline = Some(now.saturating_add(self.config.connect_timeout_ms));
            }
        }
        self.outputs.push_back(Output::SendText(queued.text));
    }

    fn encode_and(&mut self, message: ClientMessage, then: impl FnOnce(&mut Self, String)) {
        match message.to_json() {
            Ok(text) => then(self, text),
            Err(e) => self.outputs.push_back(Output::Error(PeerError {
                kind: PeerErrorKind::InvalidMessage,
                message: format!("could not encode a signaling frame: {e}"),
                source: Some(e),
            })),
        }
    }

    // ---- bookkeeping ----

    /// Reports a dial as failed and forgets its connection.
    fn fail_dial(&mut self, id: &ConnectionId, reason: ConnectFailReason) {
        if let Some(dial) = self.pending.remove(id) {
            self.outputs.push_back(Output::ConnectFailed {
                connection_id: id.clone(),
                peer: dial.peer,
                reason,
            });
        }
        self.forget_connection(id);
    }

    /// Forgets a connection: its dial, its queued frames and its held frames.
    fn forget_connection(&mut self, id: &ConnectionId) {
        self.pending.remove(id);
        self.connections.remove(id);
        self.outbox.retain(|q| q.connection_id.as_ref() != Some(id));
        self.held.retain(|h| h.signal.connection_id() != id);
    }

    fn emit_error(&mut self, kind: PeerErrorKind, message: impl Into<String>) {
        self.outputs
            .push_back(Output::Error(PeerError::new(kind, message)));
    }
}

#[cfg(test)]
mod tests;
