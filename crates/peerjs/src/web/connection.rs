//! [`DataConnection`]: one WebRTC data channel to a remote peer, PeerJS-compatible.
//!
//! Lifecycle: `Connecting` → `Open` → `Closed` (or `Connecting` → `Closed` when the dial fails).
//! Whatever ends it (our `close`, the remote's `close`, ICE failure, the liveness check, a
//! failed dial, LEAVE, the peer being destroyed) runs the same teardown exactly once: emit
//! `Close`, close the data channel and the `RTCPeerConnection`, drop every listener and timer,
//! and tell the peer's session.
//!
//! A connection is its lifecycle and public face; the work is done by two parts it owns, each
//! reporting back through a sink of typed events: the [`Negotiator`] (the `RTCPeerConnection`,
//! offer/answer/candidates) and the [`Channel`] (framing, send, receive, liveness). It talks to
//! the peer's signaling session only through its [`SessionInbox`] (opened, closed; the
//! negotiator posts the offer, answer and candidates), never through a pointer to the peer.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use serde_json::Value as Json;
use web_sys::{RtcConfiguration, RtcDataChannel};

use super::channel::{Channel, ChannelEvent};
use super::inbox::SessionInbox;
use super::negotiator::{self, Negotiation, Negotiator};
use super::JsError;
use crate::data::{advertise_liveness, take_liveness, Data, DataError};
use crate::session::{ConnectFailReason, Input};
use crate::signal::{
    AnswerPayload, ConnectionId, IceCandidate, OfferPayload, PeerName, Serialization,
};

/// Options for [`super::Peer::connect`], mirroring PeerJS's `connect(id, options)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOptions {
    /// How messages are encoded (PeerJS default: `binary`).
    pub serialization: Serialization,
    /// Application data the remote sees as `conn.metadata`.
    pub metadata: Option<Json>,
    /// Exchange liveness pings when the remote is also this crate (see [`crate::data`]).
    pub liveness: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            serialization: Serialization::Binary,
            metadata: None,
            liveness: true,
        }
    }
}

/// Why a connection failed or a send was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The remote peer is not registered on the server (PeerJS `peer-unavailable`).
    #[error("peer-unavailable: {0} is not connected to the server")]
    PeerUnavailable(String),
    /// The dial did not open in time.
    #[error("negotiation-failed: the connection did not open in time")]
    Timeout,
    /// The peer's server session stopped or was destroyed while dialing.
    #[error("disconnected: the peer left the server while dialing")]
    Disconnected,
    /// `send` before the channel opened (PeerJS `not-open-yet`).
    #[error("not-open-yet: the connection is not open")]
    NotOpenYet,
    /// `send` after close (PeerJS `connection-closed`).
    #[error("connection-closed: the connection is closed")]
    Closed,
    /// The message cannot be encoded (PeerJS `message-too-big` for oversize JSON).
    #[error("message refused: {0}")]
    Data(#[from] DataError),
    /// A received frame could not be decoded; the connection keeps working.
    #[error("bad frame from the remote peer: {0}")]
    BadFrame(#[source] DataError),
    /// A message from the remote was dropped for its size (over the reassembly limits); the
    /// connection keeps working. Reported once per message.
    #[error("a message from the remote peer was dropped: {0}")]
    TooLarge(String),
    /// The remote stopped answering liveness pings.
    #[error("the remote peer stopped responding")]
    Unresponsive,
    /// A WebRTC call failed.
    #[error("webrtc: {0}")]
    Webrtc(#[source] JsError),
}

/// What happens on a [`DataConnection`].
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// The data channel is open: `send` works.
    Open,
    /// A message arrived.
    Data(Data),
    /// Something failed (a `Close` follows when it is fatal).
    Error(ConnectionError),
    /// The connection is closed; no more events follow.
    Close,
}

/// The stream of [`ConnectionEvent`]s (a `futures` `Stream`).
pub type ConnectionEvents = UnboundedReceiver<ConnectionEvent>;

/// Which side of the negotiation we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Dialer,
    Answerer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Open,
    Closed,
}

/// A data connection. Cloning gives another handle to the same connection.
#[derive(Clone)]
pub struct DataConnection {
    shared: Rc<Shared>,
}

impl std::fmt::Debug for DataConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataConnection")
            .field("id", &self.shared.setup.id)
            .field("peer", &self.shared.setup.peer)
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// What the connection is (fixed at its creation).
    setup: Setup,
    events_tx: UnboundedSender<ConnectionEvent>,
    events_rx: RefCell<Option<ConnectionEvents>>,
    negotiator: Negotiator,
    inner: RefCell<Inner>,
}

struct Inner {
    state: State,
    channel: Option<Channel>,
}

/// What a connection is: fixed when it is made, before its negotiator and channel exist.
struct Setup {
    session: SessionInbox,
    id: ConnectionId,
    peer: PeerName,
    role: Role,
    serialization: Serialization,
    reliable: bool,
    metadata: Option<Json>,
    remote_pings: bool,
}

impl DataConnection {
    /// Starts a dial: creates the peer connection and an ordered channel, makes the offer, and
    /// hands it to the session.
    pub(crate) fn dial(
        session: SessionInbox,
        id: ConnectionId,
        peer: PeerName,
        options: ConnectOptions,
        config: &RtcConfiguration,
    ) -> Result<Self, JsError> {
        // What the remote sees: the caller's metadata plus, when asked, the liveness key.
        let mut wire_metadata = options.metadata.clone();
        if options.liveness {
            advertise_liveness(&mut wire_metadata);
        }
        let conn = Self::build(
            Setup {
                session,
                id,
                peer,
                role: Role::Dialer,
                serialization: options.serialization,
                reliable: true,
                metadata: options.metadata,
                remote_pings: false,
            },
            config,
        )?;
        conn.attach_channel(conn.shared.negotiator.create_channel());
        conn.shared
            .negotiator
            .offer(options.serialization, wire_metadata);
        Ok(conn)
    }

    /// Accepts an incoming offer: creates the peer connection, answers, and waits for the
    /// dialer's channel.
    pub(crate) fn answer(
        session: SessionInbox,
        src: PeerName,
        payload: OfferPayload,
        config: &RtcConfiguration,
    ) -> Result<Self, JsError> {
        let mut metadata = payload.metadata;
        let remote_pings = take_liveness(&mut metadata);
        let conn = Self::build(
            Setup {
                session,
                id: payload.connection_id,
                peer: src,
                role: Role::Answerer,
                serialization: payload.serialization,
                reliable: payload.reliable,
                metadata,
                remote_pings,
            },
            config,
        )?;
        conn.shared.negotiator.answer(payload.sdp);
        Ok(conn)
    }

    /// The connection with its negotiator, which reports to it through a weak handle (the
    /// negotiator is part of the connection, so it never outlives it usefully).
    fn build(setup: Setup, config: &RtcConfiguration) -> Result<Self, JsError> {
        let pc = negotiator::peer_connection(config)?;
        let (tx, rx) = unbounded();
        let shared = Rc::new_cyclic(|weak: &Weak<Shared>| {
            let weak = weak.clone();
            let negotiator = Negotiator::new(
                pc,
                setup.id.clone(),
                setup.peer.clone(),
                setup.session.clone(),
                setup.role == Role::Answerer,
                Box::new(move |negotiation| {
                    if let Some(shared) = weak.upgrade() {
                        DataConnection { shared }.negotiated(negotiation);
                    }
                }),
            );
            Shared {
                setup,
                events_tx: tx,
                events_rx: RefCell::new(Some(rx)),
                negotiator,
                inner: RefCell::new(Inner {
                    state: State::Connecting,
                    channel: None,
                }),
            }
        });
        Ok(Self { shared })
    }

    /// The connection's events. Returns `None` after the first call (there is one receiver).
    pub fn events(&self) -> Option<ConnectionEvents> {
        self.shared.events_rx.borrow_mut().take()
    }

    /// The connection ID (`dc_…`), also the data channel's label.
    pub fn connection_id(&self) -> &ConnectionId {
        &self.shared.setup.id
    }

    /// The DTLS certificate fingerprints of this connection, as `(local, remote)` in
    /// [`crate::sdp::dtls_fingerprint`]'s normal form, once both descriptions are set (`None`
    /// before, or when either has no single well-formed fingerprint). The browser checks the
    /// remote one in the DTLS handshake.
    pub fn dtls_fingerprints(&self) -> Option<(String, String)> {
        self.shared.negotiator.dtls_fingerprints()
    }

    /// The remote peer's ID.
    pub fn peer(&self) -> &str {
        self.shared.setup.peer.as_str()
    }

    /// The serialization in use.
    pub fn serialization(&self) -> Serialization {
        self.shared.setup.serialization
    }

    /// Whether the dialer asked for an ordered, reliable channel.
    pub fn reliable(&self) -> bool {
        self.shared.setup.reliable
    }

    /// The dialer's metadata (without this crate's liveness advertisement).
    pub fn metadata(&self) -> Option<&Json> {
        self.shared.setup.metadata.as_ref()
    }

    /// Whether the channel is open.
    pub fn is_open(&self) -> bool {
        self.shared.inner.borrow().state == State::Open
    }

    /// Sends one message.
    pub fn send(&self, data: &Data) -> Result<(), ConnectionError> {
        let channel = {
            let inner = self.shared.inner.borrow();
            match inner.state {
                State::Connecting => return Err(ConnectionError::NotOpenYet),
                State::Closed => return Err(ConnectionError::Closed),
                State::Open => {}
            }
            inner.channel.clone().ok_or(ConnectionError::NotOpenYet)?
        };
        let frames = channel.encode(data)?;
        channel.send(&frames).map_err(ConnectionError::Webrtc)
    }

    /// Closes the connection (and its `RTCPeerConnection`). Idempotent.
    pub fn close(&self) {
        let flush_close = {
            let inner = self.shared.inner.borrow();
            (inner.state == State::Open && self.shared.setup.serialization == Serialization::Binary)
                .then(|| inner.channel.clone())
                .flatten()
        };
        if let Some(channel) = flush_close {
            // Tell a PeerJS `binary` peer explicitly, as PeerJS's own `close({flush})` does.
            channel.send_close_frame();
        }
        self.teardown();
    }

    pub(crate) fn remote_answer(&self, payload: AnswerPayload) {
        self.shared.negotiator.remote_answer(payload);
    }

    pub(crate) fn remote_candidate(&self, candidate: IceCandidate) {
        self.shared.negotiator.remote_candidate(candidate);
    }

    pub(crate) fn fail(&self, reason: ConnectFailReason, peer: &PeerName) {
        let error = match reason {
            ConnectFailReason::PeerUnavailable => {
                ConnectionError::PeerUnavailable(peer.as_str().to_owned())
            }
            ConnectFailReason::Timeout => ConnectionError::Timeout,
            _ => ConnectionError::Disconnected,
        };
        self.fatal(error);
    }

    /// What the negotiator reported.
    fn negotiated(&self, negotiation: Negotiation) {
        match negotiation {
            Negotiation::Channel(channel) => self.attach_channel(channel),
            Negotiation::Failed(e) => self.fatal(ConnectionError::Webrtc(e)),
            Negotiation::Ended => self.teardown(),
        }
    }

    /// Takes over the data channel (the dialer's own, or the one the answerer received).
    fn attach_channel(&self, channel: RtcDataChannel) {
        // An answerer whose dialer advertised liveness pings at once; a dialer waits for the
        // first ping (stock PeerJS answerers never send one).
        let active = self.shared.setup.role == Role::Answerer && self.shared.setup.remote_pings;
        let weak = Rc::downgrade(&self.shared);
        let channel = Channel::attach(
            channel,
            self.shared.setup.serialization,
            active,
            Box::new(move |event| {
                if let Some(shared) = weak.upgrade() {
                    DataConnection { shared }.on_channel(event);
                }
            }),
        );
        self.shared.inner.borrow_mut().channel = Some(channel.clone());
        channel.start();
    }

    /// What the data channel reported.
    fn on_channel(&self, event: ChannelEvent) {
        match event {
            ChannelEvent::Open => self.opened(),
            ChannelEvent::Message(data) => self.emit(ConnectionEvent::Data(data)),
            ChannelEvent::BadFrame(e) => {
                self.emit(ConnectionEvent::Error(ConnectionError::BadFrame(e)));
            }
            ChannelEvent::TooLarge(reason) => {
                self.emit(ConnectionEvent::Error(ConnectionError::TooLarge(reason)));
            }
            ChannelEvent::Unresponsive => self.fatal(ConnectionError::Unresponsive),
            ChannelEvent::Closed => self.teardown(),
        }
    }

    fn opened(&self) {
        {
            let mut inner = self.shared.inner.borrow_mut();
            if inner.state != State::Connecting {
                return;
            }
            inner.state = State::Open;
        }
        self.emit(ConnectionEvent::Open);
        self.shared
            .setup
            .session
            .post(Input::ConnectionOpened(self.shared.setup.id.clone()));
    }

    fn fatal(&self, error: ConnectionError) {
        if self.shared.inner.borrow().state == State::Closed {
            return;
        }
        self.emit(ConnectionEvent::Error(error));
        self.teardown();
    }

    /// Ends the connection once: events, channel, peer connection, listeners, session.
    fn teardown(&self) {
        let channel = {
            let mut inner = self.shared.inner.borrow_mut();
            if inner.state == State::Closed {
                return;
            }
            inner.state = State::Closed;
            inner.channel.take()
        };
        if let Some(channel) = channel {
            channel.close();
        }
        self.shared.negotiator.close();
        self.emit(ConnectionEvent::Close);
        self.shared
            .setup
            .session
            .post(Input::ConnectionClosed(self.shared.setup.id.clone()));
    }

    fn emit(&self, event: ConnectionEvent) {
        let _ = self.shared.events_tx.unbounded_send(event);
    }
}
