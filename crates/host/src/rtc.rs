//! Native WebRTC for PeerJS data connections: one str0m [`Rtc`] per participant, all sharing the
//! host's UDP sockets, each carrying the single data channel a PeerJS dialer opens, framed by
//! `peerjs_client::data` (BinaryPack with chunking for the `binary` serialization).
//!
//! Answering: an OFFER becomes an [`Rtc`] with the host's local candidates, the ANSWER (and each
//! local candidate, trickled) goes back through the signaling session, and the dialer's trickled
//! candidates are added as they come. Dialing ([`Transport::dial`], for the hub's hub-to-hub
//! connections, PROTOCOL.md §8.4): the same in the other direction, with the same channel and
//! framing a PeerJS dialer uses. What happens on a connection surfaces as [`Event`]s for the hub
//! driver: opened (answered or dialed), a message, closed.
//!
//! Invariants:
//! - str0m's contract: every mutation of an `Rtc` (input, write, candidate, disconnect) is
//!   followed by draining its output until a timeout ([`Transport::drive`]).
//! - Frames keep their order: a frame the SCTP buffer has no room for waits in the connection's
//!   queue, and later frames wait behind it.
//! - A connection ends once ([`Event::Closed`] exactly once, after [`Event::Opened`] or not at
//!   all if it never opened), whatever ends it: the remote's close frame or channel close, ICE
//!   giving up, the liveness check, LEAVE, or the hub.
//! - Nothing a remote sends can panic this module: bad SDP, candidates and frames are logged and
//!   the rest carries on.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peerjs_client::chunker::CLOSE_FRAME;
use peerjs_client::data::{
    advertise_liveness, take_liveness, Data, DataCodec, Frame, Incoming, Liveness, LivenessAction,
    PING_FRAME,
};
use peerjs_client::signal::{
    AnswerPayload, CandidatePayload, ConnectionId, IceCandidate, OfferPayload, PeerName,
    Serialization,
};
use starpoll_core::hub::ConnId;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event as RtcEvent, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

use crate::log;

/// How long a connection may take from its OFFER to an open channel.
const OPEN_TIMEOUT: Duration = Duration::from_secs(20);

/// Connections of one remote peer still negotiating; more offers from it are refused (the hub
/// itself allows 4 open ones per peer).
const MAX_PENDING_PER_PEER: usize = 4;

/// Bytes waiting for SCTP room on one connection; a reader that slow is closed (it resyncs with
/// `sync:request` when it comes back) rather than holding the host's memory.
const MAX_QUEUED_BYTES: usize = 8 << 20;

/// What happened on a connection, for the hub driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The data channel opened.
    Opened {
        /// The connection.
        conn: ConnId,
        /// The remote PeerJS peer ID.
        peer: String,
        /// Its PeerJS connection ID.
        connection_id: ConnectionId,
        /// Whether the host dialed it ([`Transport::dial`]): a hub-to-hub connection the hub
        /// asked for, reported with `Hub::dialed` rather than `Hub::opened`.
        dialed: bool,
    },
    /// A complete message arrived.
    Message(ConnId, Data),
    /// A message was dropped for its size before it could be read.
    TooLarge(ConnId),
    /// The connection ended (every connection ends once, opened or not).
    Closed {
        /// The connection.
        conn: ConnId,
        /// Its PeerJS connection ID (for the signaling session).
        connection_id: ConnectionId,
        /// Whether its channel had opened (the hub knows it).
        opened: bool,
    },
}

/// What the signaling session must send for a new connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// The connection's number.
    pub conn: ConnId,
    /// The ANSWER.
    pub answer: AnswerPayload,
    /// The host's candidates, to trickle after the answer.
    pub candidates: Vec<CandidatePayload>,
}

/// Why an offer was not answered.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    /// The protocol needs `binary` (PROTOCOL.md §1.3).
    #[error("serialization {0} is not binary")]
    Serialization(&'static str),
    /// The SDP does not parse.
    #[error("bad offer SDP: {0}")]
    Sdp(String),
    /// str0m refused the offer.
    #[error("offer refused: {0}")]
    Rtc(#[source] str0m::RtcError),
    /// No socket to receive on.
    #[error("no local address to receive on")]
    NoCandidates,
    /// The host serves as many connections as it was allowed.
    #[error("the host is full ({0} connections)")]
    Full(usize),
    /// This peer already has that many connections negotiating.
    #[error("too many connections of this peer still negotiating")]
    TooManyPending,
}

/// One UDP socket and its address (a host candidate).
pub struct Socket {
    /// The socket.
    pub socket: Arc<UdpSocket>,
    /// Its local address.
    pub addr: SocketAddr,
}

struct Conn {
    rtc: Rtc,
    peer: PeerName,
    connection_id: ConnectionId,
    codec: DataCodec,
    channel: Option<ChannelId>,
    opened: bool,
    outbox: VecDeque<Frame>,
    /// Bytes in `outbox`.
    queued_bytes: usize,
    remote_pings: bool,
    liveness: Option<Liveness>,
    next_timeout: Instant,
    deadline: Option<Instant>,
    closing: bool,
    /// A dial waiting for its ANSWER.
    pending_offer: Option<SdpPendingOffer>,
    /// Opened by [`Transport::dial`].
    dialed: bool,
}

/// Every WebRTC connection of the host.
pub struct Transport {
    sockets: Vec<Socket>,
    candidates: Vec<Candidate>,
    conns: BTreeMap<ConnId, Conn>,
    by_connection_id: BTreeMap<String, ConnId>,
    /// The connection each remote address last sent to (checked with `accepts` before use), so a
    /// datagram does not ask every connection in turn.
    by_source: HashMap<SocketAddr, ConnId>,
    next_conn: u64,
    max_connections: usize,
    start: Instant,
}

fn frame_len(frame: &Frame) -> usize {
    match frame {
        Frame::Bytes(bytes) => bytes.len(),
        Frame::Text(text) => text.len(),
    }
}

/// The session inputs that announce a dial made by [`Transport::dial`]: the OFFER, then every
/// candidate to trickle after it (in that order, so the remote learns of the connection first).
pub fn dial_inputs(
    remote: &PeerName,
    offer: OfferPayload,
    candidates: Vec<CandidatePayload>,
) -> impl Iterator<Item = peerjs_client::session::Input> + '_ {
    use peerjs_client::session::Input as SessionInput;
    std::iter::once(SessionInput::Connect {
        remote: remote.clone(),
        offer,
    })
    .chain(
        candidates
            .into_iter()
            .map(move |candidate| SessionInput::SendCandidate {
                remote: remote.clone(),
                candidate,
            }),
    )
}

impl Transport {
    /// A transport on `sockets`, offering `extra` candidates (server-reflexive) besides them,
    /// with at most `max_connections` connections at once.
    pub fn new(sockets: Vec<Socket>, extra: Vec<Candidate>, max_connections: usize) -> Self {
        let mut candidates = Vec::new();
        for socket in &sockets {
            match Candidate::host(socket.addr, "udp") {
                Ok(candidate) => candidates.push(candidate),
                Err(error) => log!(
                    Warn,
                    "rtc.candidate_refused",
                    addr = socket.addr,
                    error = error
                ),
            }
        }
        candidates.extend(extra);
        Self {
            sockets,
            candidates,
            conns: BTreeMap::new(),
            by_connection_id: BTreeMap::new(),
            by_source: HashMap::new(),
            next_conn: 0,
            max_connections,
            start: Instant::now(),
        }
    }

    /// Connections, with or without an open channel yet.
    pub fn count(&self) -> usize {
        self.conns.len()
    }

    fn mono_ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Answers `src`'s offer.
    pub fn answer(
        &mut self,
        src: PeerName,
        offer: OfferPayload,
        now: Instant,
        events: &mut Vec<Event>,
    ) -> Result<Answered, OfferError> {
        if offer.serialization != Serialization::Binary {
            return Err(OfferError::Serialization(offer.serialization.as_str()));
        }
        if self.candidates.is_empty() {
            return Err(OfferError::NoCandidates);
        }
        if self.conns.len() >= self.max_connections {
            return Err(OfferError::Full(self.max_connections));
        }
        let pending = self
            .conns
            .values()
            .filter(|c| !c.opened && c.peer == src)
            .count();
        if pending >= MAX_PENDING_PER_PEER {
            return Err(OfferError::TooManyPending);
        }
        let sdp =
            SdpOffer::from_sdp_string(&offer.sdp).map_err(|e| OfferError::Sdp(e.to_string()))?;
        let mid = offer
            .sdp
            .lines()
            .find_map(|line| line.trim().strip_prefix("a=mid:"))
            .map(str::to_owned);
        let mut rtc = Rtc::builder().build(now);
        for candidate in &self.candidates {
            rtc.add_local_candidate(candidate.clone());
        }
        let answer = rtc.sdp_api().accept_offer(sdp).map_err(OfferError::Rtc)?;
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        let mut metadata = offer.metadata.clone();
        let remote_pings = take_liveness(&mut metadata);
        self.by_connection_id
            .insert(offer.connection_id.as_str().to_owned(), conn);
        self.conns.insert(
            conn,
            Conn {
                rtc,
                peer: src,
                connection_id: offer.connection_id.clone(),
                codec: DataCodec::new(Serialization::Binary),
                channel: None,
                opened: false,
                outbox: VecDeque::new(),
                queued_bytes: 0,
                remote_pings,
                liveness: None,
                next_timeout: now,
                deadline: Some(now + OPEN_TIMEOUT),
                closing: false,
                pending_offer: None,
                dialed: false,
            },
        );
        self.drive(conn, now, events);
        let candidates = self.candidate_payloads(&offer.connection_id, mid, &ufrag);
        Ok(Answered {
            conn,
            answer: AnswerPayload {
                sdp: answer.to_sdp_string(),
                connection_id: offer.connection_id,
            },
            candidates,
        })
    }

    /// The host's candidates as PeerJS CANDIDATE payloads for `connection_id`.
    fn candidate_payloads(
        &self,
        connection_id: &ConnectionId,
        mid: Option<String>,
        ufrag: &str,
    ) -> Vec<CandidatePayload> {
        self.candidates
            .iter()
            .map(|candidate| CandidatePayload {
                candidate: IceCandidate {
                    candidate: candidate.to_sdp_string(),
                    sdp_mid: mid.clone(),
                    sdp_m_line_index: Some(0),
                    username_fragment: Some(ufrag.to_owned()),
                },
                connection_id: connection_id.clone(),
            })
            .collect()
    }

    /// Dials `peer` the way a PeerJS dialer does (a hub-to-hub connection the hub asked for with
    /// `Step::dials`; load clients and tests too): an ordered channel labelled with `connection_id`, `binary` serialization, and
    /// the liveness advertisement in the metadata. Returns the connection, the OFFER and the
    /// candidates to trickle after it.
    pub fn dial(
        &mut self,
        peer: PeerName,
        connection_id: ConnectionId,
        now: Instant,
        events: &mut Vec<Event>,
    ) -> Result<(ConnId, OfferPayload, Vec<CandidatePayload>), OfferError> {
        if self.candidates.is_empty() {
            return Err(OfferError::NoCandidates);
        }
        if self.conns.len() >= self.max_connections {
            return Err(OfferError::Full(self.max_connections));
        }
        let mut rtc = Rtc::builder().build(now);
        for candidate in &self.candidates {
            rtc.add_local_candidate(candidate.clone());
        }
        let mut change = rtc.sdp_api();
        change.add_channel(connection_id.as_str().to_owned());
        let Some((offer, pending)) = change.apply() else {
            return Err(OfferError::Sdp("nothing to offer".into()));
        };
        let sdp = offer.to_sdp_string();
        let mid = sdp
            .lines()
            .find_map(|line| line.trim().strip_prefix("a=mid:"))
            .map(str::to_owned);
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        self.by_connection_id
            .insert(connection_id.as_str().to_owned(), conn);
        self.conns.insert(
            conn,
            Conn {
                rtc,
                peer,
                connection_id: connection_id.clone(),
                codec: DataCodec::new(Serialization::Binary),
                channel: None,
                opened: false,
                outbox: VecDeque::new(),
                queued_bytes: 0,
                // A dialer waits for the answerer's first ping.
                remote_pings: false,
                liveness: None,
                next_timeout: now,
                deadline: Some(now + OPEN_TIMEOUT),
                closing: false,
                pending_offer: Some(pending),
                dialed: true,
            },
        );
        self.drive(conn, now, events);
        let mut metadata = None;
        advertise_liveness(&mut metadata);
        let offer = OfferPayload::new(connection_id.clone(), sdp, Serialization::Binary, metadata);
        let candidates = self.candidate_payloads(&connection_id, mid, &ufrag);
        Ok((conn, offer, candidates))
    }

    /// The ANSWER to one of our dials. A bad or unexpected one ends that dial.
    pub fn remote_answer(&mut self, answer: &AnswerPayload, now: Instant, events: &mut Vec<Event>) {
        let Some(&conn) = self.by_connection_id.get(answer.connection_id.as_str()) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(pending) = c.pending_offer.take() else {
            log!(Warn, "rtc.unexpected_answer", conn = conn.0);
            return;
        };
        let accepted = SdpAnswer::from_sdp_string(&answer.sdp)
            .map_err(|e| e.to_string())
            .and_then(|sdp| {
                c.rtc
                    .sdp_api()
                    .accept_answer(pending, sdp)
                    .map_err(|e| e.to_string())
            });
        match accepted {
            Ok(()) => self.drive(conn, now, events),
            Err(error) => {
                log!(Warn, "rtc.bad_answer", conn = conn.0, error = error);
                self.drive(conn, now, events);
                self.end(conn, events);
            }
        }
    }

    /// Whether a dial to `peer` is still negotiating (its channel not open yet).
    pub fn dialing(&self, peer: &PeerName) -> bool {
        self.conns
            .values()
            .any(|c| c.dialed && !c.opened && c.peer == *peer)
    }

    /// Ends the connection with this PeerJS ID (a dial the signaling session gave up on).
    pub fn abandon(&mut self, connection_id: &ConnectionId, events: &mut Vec<Event>) {
        if let Some(&conn) = self.by_connection_id.get(connection_id.as_str()) {
            self.end(conn, events);
        }
    }

    /// A trickled candidate of the remote side.
    pub fn remote_candidate(
        &mut self,
        connection_id: &ConnectionId,
        payload: &CandidatePayload,
        now: Instant,
        events: &mut Vec<Event>,
    ) {
        let Some(&conn) = self.by_connection_id.get(connection_id.as_str()) else {
            return;
        };
        let text = payload.candidate.candidate.trim();
        let text = text.strip_prefix("a=").unwrap_or(text);
        match Candidate::from_sdp_string(text) {
            Ok(candidate) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.rtc.add_remote_candidate(candidate);
                }
                self.drive(conn, now, events);
            }
            // e.g. an mDNS `.local` host name: ICE goes on with the others.
            Err(error) => log!(
                Info,
                "rtc.candidate_skipped",
                conn = conn.0,
                candidate = text,
                error = error
            ),
        }
    }

    /// The connection an incoming UDP packet belongs to, if any, gets it.
    pub fn receive(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        packet: &[u8],
        now: Instant,
        events: &mut Vec<Event>,
    ) {
        let Ok(contents) = packet.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        let cached = self
            .by_source
            .get(&source)
            .copied()
            .filter(|id| self.conns.get(id).is_some_and(|c| c.rtc.accepts(&input)));
        let Some(conn) = cached.or_else(|| {
            self.conns
                .iter()
                .find(|(_, c)| c.rtc.accepts(&input))
                .map(|(id, _)| *id)
        }) else {
            return;
        };
        self.by_source.insert(source, conn);
        if let Some(c) = self.conns.get_mut(&conn) {
            if let Err(error) = c.rtc.handle_input(input) {
                log!(Warn, "rtc.input_failed", conn = conn.0, error = error);
            }
        }
        self.drive(conn, now, events);
    }

    /// Sends one frame of the hub (a text message) on `conn`.
    pub fn send(&mut self, conn: ConnId, text: &str, now: Instant, events: &mut Vec<Event>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        match c.codec.encode(&Data::Text(text.to_owned())) {
            Ok(frames) => {
                for frame in frames {
                    c.queued_bytes += frame_len(&frame);
                    c.outbox.push_back(frame);
                }
            }
            Err(error) => {
                log!(Warn, "rtc.encode_failed", conn = conn.0, error = error);
                return;
            }
        }
        self.drive(conn, now, events);
        if self
            .conns
            .get(&conn)
            .is_some_and(|c| c.queued_bytes > MAX_QUEUED_BYTES)
        {
            log!(
                Warn,
                "conn.too_slow",
                conn = conn.0,
                limit = MAX_QUEUED_BYTES
            );
            self.end(conn, events);
        }
    }

    /// Closes `conn` (the hub's decision, or LEAVE): tells a PeerJS peer, then ends it.
    pub fn close(&mut self, conn: ConnId, now: Instant, events: &mut Vec<Event>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.opened && !c.closing {
                c.outbox.push_back(Frame::Bytes(CLOSE_FRAME.to_vec()));
                c.closing = true;
            }
        }
        self.drive(conn, now, events);
        self.end(conn, events);
    }

    /// Every connection to `peer` (it sent LEAVE).
    pub fn close_peer(&mut self, peer: &PeerName, now: Instant, events: &mut Vec<Event>) {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.peer == *peer)
            .map(|(id, _)| *id)
            .collect();
        for conn in conns {
            self.close(conn, now, events);
        }
    }

    /// Closes everything (the host stops).
    pub fn close_all(&mut self, now: Instant, events: &mut Vec<Event>) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.close(conn, now, events);
        }
    }

    /// When [`Transport::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conns
            .values()
            .flat_map(|c| {
                let liveness = c
                    .liveness
                    .as_ref()
                    .and_then(Liveness::next_deadline)
                    .map(|ms| self.start + Duration::from_millis(ms));
                [Some(c.next_timeout), c.deadline, liveness]
            })
            .flatten()
            .min()
    }

    /// Time passed: str0m timers, liveness pings, connections that never opened.
    pub fn handle_timeout(&mut self, now: Instant, events: &mut Vec<Event>) {
        let mono = self.mono_ms(now);
        let start = self.start;
        // Only the connections with something due: a timer of one must not cost all of them.
        let due: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                let liveness = c
                    .liveness
                    .as_ref()
                    .and_then(Liveness::next_deadline)
                    .is_some_and(|ms| start + Duration::from_millis(ms) <= now);
                c.next_timeout <= now || c.deadline.is_some_and(|d| d <= now) || liveness
            })
            .map(|(id, _)| *id)
            .collect();
        for conn in due {
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            if c.deadline.is_some_and(|d| d <= now) {
                log!(Info, "conn.open_timeout", conn = conn.0, peer = c.peer);
                self.end(conn, events);
                continue;
            }
            match c.liveness.as_mut().and_then(|l| l.poll(mono)) {
                Some(LivenessAction::SendPing) => {
                    c.outbox.push_back(Frame::Bytes(PING_FRAME.to_vec()))
                }
                Some(LivenessAction::Dead) => {
                    log!(Info, "conn.unresponsive", conn = conn.0, peer = c.peer);
                    self.end(conn, events);
                    continue;
                }
                None => {}
            }
            if c.next_timeout <= now {
                if let Err(error) = c.rtc.handle_input(Input::Timeout(now)) {
                    log!(Warn, "rtc.timeout_failed", conn = conn.0, error = error);
                }
            }
            self.drive(conn, now, events);
        }
    }

    /// Flushes queued frames and drains str0m's output for `conn` until its next timeout.
    fn drive(&mut self, conn: ConnId, now: Instant, events: &mut Vec<Event>) {
        let mono = self.mono_ms(now);
        let mut ended = false;
        {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            loop {
                // Queued frames first, in order, while SCTP has room.
                if let Some(channel) = c.channel {
                    while let Some(frame) = c.outbox.front() {
                        let Some(mut ch) = c.rtc.channel(channel) else {
                            break;
                        };
                        let written = match frame {
                            Frame::Bytes(bytes) => ch.write(true, bytes),
                            Frame::Text(text) => ch.write(false, text.as_bytes()),
                        };
                        match written {
                            Ok(false) => break,
                            Ok(true) => {}
                            Err(error) => {
                                log!(Warn, "rtc.write_failed", conn = conn.0, error = error)
                            }
                        }
                        if let Some(frame) = c.outbox.pop_front() {
                            c.queued_bytes = c.queued_bytes.saturating_sub(frame_len(&frame));
                        }
                    }
                }
                match c.rtc.poll_output() {
                    Ok(Output::Timeout(at)) => {
                        c.next_timeout = at;
                        break;
                    }
                    Ok(Output::Transmit(t)) => {
                        if let Some(socket) = self.sockets.iter().find(|s| s.addr == t.source) {
                            // UDP: a datagram the kernel cannot take now is lost like any other.
                            let _ = socket.socket.try_send_to(&t.contents, t.destination);
                        }
                    }
                    Ok(Output::Event(event)) => match event {
                        RtcEvent::ChannelOpen(id, label) if c.channel.is_none() => {
                            c.channel = Some(id);
                            c.opened = true;
                            c.deadline = None;
                            c.liveness = Some(Liveness::new(c.remote_pings, mono));
                            log!(
                                Info,
                                "conn.open",
                                conn = conn.0,
                                peer = c.peer,
                                label = label
                            );
                            events.push(Event::Opened {
                                conn,
                                peer: c.peer.as_str().to_owned(),
                                connection_id: c.connection_id.clone(),
                                dialed: c.dialed,
                            });
                        }
                        RtcEvent::ChannelData(data) => {
                            if Some(data.id) != c.channel {
                                continue;
                            }
                            let frame = if data.binary {
                                Frame::Bytes(data.data)
                            } else {
                                Frame::Text(String::from_utf8_lossy(&data.data).into_owned())
                            };
                            let decoded = c.codec.decode(frame);
                            if let Some(liveness) = c.liveness.as_mut() {
                                liveness.heard(mono, matches!(decoded, Ok(Incoming::Ping)));
                            }
                            match decoded {
                                Ok(Incoming::Message(message)) => {
                                    events.push(Event::Message(conn, message))
                                }
                                Ok(Incoming::Partial | Incoming::Ping) => {}
                                Ok(Incoming::Close) => ended = true,
                                Ok(Incoming::TooLarge { reason, .. }) => {
                                    log!(Warn, "conn.too_large", conn = conn.0, reason = reason);
                                    events.push(Event::TooLarge(conn));
                                }
                                Err(error) => {
                                    log!(Warn, "conn.bad_frame", conn = conn.0, error = error)
                                }
                            }
                        }
                        RtcEvent::ChannelClose(id) if Some(id) == c.channel => {
                            ended = true;
                        }
                        RtcEvent::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                            ended = true;
                        }
                        _ => {}
                    },
                    Err(error) => {
                        log!(Warn, "rtc.failed", conn = conn.0, error = error);
                        ended = true;
                        break;
                    }
                }
            }
            if !c.rtc.is_alive() {
                ended = true;
            }
        }
        if ended {
            self.end(conn, events);
        }
    }

    /// Forgets `conn` and stops its `Rtc`; reports `Closed` if it had opened.
    fn end(&mut self, conn: ConnId, events: &mut Vec<Event>) {
        let Some(mut c) = self.conns.remove(&conn) else {
            return;
        };
        self.by_connection_id.remove(c.connection_id.as_str());
        self.by_source.retain(|_, id| *id != conn);
        c.rtc.disconnect();
        // Drain what the disconnect produced (str0m's contract); sends are best effort.
        while let Ok(output) = c.rtc.poll_output() {
            match output {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    if let Some(socket) = self.sockets.iter().find(|s| s.addr == t.source) {
                        let _ = socket.socket.try_send_to(&t.contents, t.destination);
                    }
                }
                Output::Event(_) => {}
            }
        }
        log!(
            Info,
            "conn.close",
            conn = conn.0,
            peer = c.peer,
            opened = c.opened
        );
        events.push(Event::Closed {
            conn,
            connection_id: c.connection_id,
            opened: c.opened,
        });
    }
}

#[cfg(test)]
mod tests;
