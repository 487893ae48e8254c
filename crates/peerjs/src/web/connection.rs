//! [`DataConnection`]: one WebRTC data channel to a remote peer, PeerJS-compatible.
//!
//! Lifecycle: `Connecting` → `Open` → `Closed` (or `Connecting` → `Closed` when the dial fails).
//! Whatever ends it (our `close`, the remote's `close`, ICE failure, the liveness check, a
//! failed dial, LEAVE, the peer being destroyed) runs the same teardown exactly once: emit
//! `Close`, close the data channel and the `RTCPeerConnection`, drop every listener and timer,
//! and tell the peer's session.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use serde_json::Value as Json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit,
    RtcDataChannelState, RtcDataChannelType, RtcIceCandidateInit, RtcIceConnectionState,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcSdpType, RtcSessionDescriptionInit,
};

use super::inbox::SessionInbox;
use super::{defer_drop, now_ms, JsError};
use crate::chunker::CLOSE_FRAME;
use crate::data::{
    advertise_liveness, take_liveness, Data, DataCodec, DataError, Frame, Incoming, Liveness,
    LivenessAction, PING_FRAME,
};
use crate::session::{ConnectFailReason, Input};
use crate::signal::{
    AnswerPayload, CandidatePayload, ConnectionId, IceCandidate, OfferPayload, PeerName,
    Serialization,
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
pub(crate) enum Role {
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
            .field("id", &self.shared.id)
            .field("peer", &self.shared.peer)
            .finish_non_exhaustive()
    }
}

struct Shared {
    id: ConnectionId,
    peer: PeerName,
    role: Role,
    serialization: Serialization,
    reliable: bool,
    metadata: Option<Json>,
    session: SessionInbox,
    events_tx: UnboundedSender<ConnectionEvent>,
    events_rx: RefCell<Option<ConnectionEvents>>,
    inner: RefCell<Inner>,
}

struct Inner {
    state: State,
    pc: RtcPeerConnection,
    channel: Option<RtcDataChannel>,
    pc_listeners: Vec<EventListener>,
    channel_listeners: Vec<EventListener>,
    remote_description_set: bool,
    early_candidates: Vec<IceCandidate>,
    codec: DataCodec,
    /// Whether the remote understands liveness pings (answerer: the dialer advertised it).
    remote_pings: bool,
    liveness: Option<Liveness>,
    liveness_timer: Option<Interval>,
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
        let pc = RtcPeerConnection::new_with_configuration(config)?;
        // What the remote sees: the caller's metadata plus, when asked, the liveness key.
        let mut wire_metadata = options.metadata.clone();
        if options.liveness {
            advertise_liveness(&mut wire_metadata);
        }
        let init = RtcDataChannelInit::new();
        init.set_ordered(true);
        let channel = pc.create_data_channel_with_data_channel_dict(id.as_str(), &init);
        let conn = Self::build(
            session,
            id,
            peer,
            Role::Dialer,
            options.serialization,
            true,
            options.metadata,
            pc,
            false,
        );
        conn.attach_pc_listeners();
        conn.attach_channel(channel);
        let this = conn.clone();
        spawn_local(async move {
            match this.make_offer().await {
                Ok(sdp) => {
                    let offer = OfferPayload::new(
                        this.shared.id.clone(),
                        sdp,
                        this.shared.serialization,
                        wire_metadata,
                    );
                    this.shared.session.post(Input::Connect {
                        remote: this.shared.peer.clone(),
                        offer,
                    });
                }
                Err(e) => this.fatal(ConnectionError::Webrtc(e)),
            }
        });
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
        let pc = RtcPeerConnection::new_with_configuration(config)?;
        let mut metadata = payload.metadata.clone();
        let remote_pings = take_liveness(&mut metadata);
        let conn = Self::build(
            session,
            payload.connection_id.clone(),
            src,
            Role::Answerer,
            payload.serialization,
            payload.reliable,
            metadata,
            pc,
            remote_pings,
        );
        conn.attach_pc_listeners();
        let weak = Rc::downgrade(&conn.shared);
        let on_channel =
            EventListener::new(&conn.shared.inner.borrow().pc, "datachannel", move |e| {
                if let (Some(shared), Some(e)) =
                    (weak.upgrade(), e.dyn_ref::<RtcDataChannelEvent>())
                {
                    DataConnection { shared }.attach_channel(e.channel());
                }
            });
        conn.shared.inner.borrow_mut().pc_listeners.push(on_channel);
        let this = conn.clone();
        spawn_local(async move {
            match this.accept_offer(&payload.sdp).await {
                Ok(sdp) => this.shared.session.post(Input::SendAnswer {
                    remote: this.shared.peer.clone(),
                    answer: AnswerPayload {
                        sdp,
                        connection_id: this.shared.id.clone(),
                    },
                }),
                Err(e) => this.fatal(ConnectionError::Webrtc(e)),
            }
        });
        Ok(conn)
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        session: SessionInbox,
        id: ConnectionId,
        peer: PeerName,
        role: Role,
        serialization: Serialization,
        reliable: bool,
        metadata: Option<Json>,
        pc: RtcPeerConnection,
        remote_pings: bool,
    ) -> Self {
        let (tx, rx) = unbounded();
        Self {
            shared: Rc::new(Shared {
                id,
                peer,
                role,
                serialization,
                reliable,
                metadata,
                session,
                events_tx: tx,
                events_rx: RefCell::new(Some(rx)),
                inner: RefCell::new(Inner {
                    state: State::Connecting,
                    pc,
                    channel: None,
                    pc_listeners: Vec::new(),
                    channel_listeners: Vec::new(),
                    remote_description_set: false,
                    early_candidates: Vec::new(),
                    codec: DataCodec::new(serialization),
                    remote_pings,
                    liveness: None,
                    liveness_timer: None,
                }),
            }),
        }
    }

    /// The connection's events. Returns `None` after the first call (there is one receiver).
    pub fn events(&self) -> Option<ConnectionEvents> {
        self.shared.events_rx.borrow_mut().take()
    }

    /// The connection ID (`dc_…`), also the data channel's label.
    pub fn connection_id(&self) -> &ConnectionId {
        &self.shared.id
    }

    /// The DTLS certificate fingerprints of this connection, as `(local, remote)` in
    /// [`crate::sdp::dtls_fingerprint`]'s normal form, once both descriptions are set (`None`
    /// before, or when either has no single well-formed fingerprint). The browser checks the
    /// remote one in the DTLS handshake.
    pub fn dtls_fingerprints(&self) -> Option<(String, String)> {
        let inner = self.shared.inner.borrow();
        let local = inner.pc.local_description()?.sdp();
        let remote = inner.pc.remote_description()?.sdp();
        Some((
            crate::sdp::dtls_fingerprint(&local)?,
            crate::sdp::dtls_fingerprint(&remote)?,
        ))
    }

    /// The remote peer's ID.
    pub fn peer(&self) -> &str {
        self.shared.peer.as_str()
    }

    /// The serialization in use.
    pub fn serialization(&self) -> Serialization {
        self.shared.serialization
    }

    /// Whether the dialer asked for an ordered, reliable channel.
    pub fn reliable(&self) -> bool {
        self.shared.reliable
    }

    /// The dialer's metadata (without this crate's liveness advertisement).
    pub fn metadata(&self) -> Option<&Json> {
        self.shared.metadata.as_ref()
    }

    /// Whether the channel is open.
    pub fn is_open(&self) -> bool {
        self.shared.inner.borrow().state == State::Open
    }

    /// Sends one message.
    pub fn send(&self, data: &Data) -> Result<(), ConnectionError> {
        let mut inner = self.shared.inner.borrow_mut();
        match inner.state {
            State::Connecting => return Err(ConnectionError::NotOpenYet),
            State::Closed => return Err(ConnectionError::Closed),
            State::Open => {}
        }
        let frames = inner.codec.encode(data)?;
        let channel = inner.channel.clone().ok_or(ConnectionError::NotOpenYet)?;
        drop(inner);
        for frame in frames {
            send_frame(&channel, &frame).map_err(ConnectionError::Webrtc)?;
        }
        Ok(())
    }

    /// Closes the connection (and its `RTCPeerConnection`). Idempotent.
    pub fn close(&self) {
        let flush_close = {
            let inner = self.shared.inner.borrow();
            inner.state == State::Open && self.shared.serialization == Serialization::Binary
        };
        if flush_close {
            // Tell a PeerJS `binary` peer explicitly, as PeerJS's own `close({flush})` does.
            if let Some(channel) = self.shared.inner.borrow().channel.clone() {
                let _ = channel.send_with_u8_array(CLOSE_FRAME);
            }
        }
        self.teardown();
    }

    pub(crate) fn remote_answer(&self, payload: AnswerPayload) {
        let this = self.clone();
        spawn_local(async move {
            let pc = this.shared.inner.borrow().pc.clone();
            let desc = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
            desc.set_sdp(&payload.sdp);
            match JsFuture::from(pc.set_remote_description(&desc)).await {
                Ok(_) => this.remote_description_ready(),
                Err(e) => this.fatal(ConnectionError::Webrtc(e.into())),
            }
        });
    }

    pub(crate) fn remote_candidate(&self, candidate: IceCandidate) {
        let mut inner = self.shared.inner.borrow_mut();
        if inner.remote_description_set {
            add_candidate(&inner.pc, &candidate);
        } else {
            inner.early_candidates.push(candidate);
        }
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

    fn remote_description_ready(&self) {
        let mut inner = self.shared.inner.borrow_mut();
        inner.remote_description_set = true;
        for candidate in std::mem::take(&mut inner.early_candidates) {
            add_candidate(&inner.pc, &candidate);
        }
    }

    async fn make_offer(&self) -> Result<String, JsError> {
        let pc = self.shared.inner.borrow().pc.clone();
        let offer = JsFuture::from(pc.create_offer()).await?;
        let sdp = sdp_of(&offer)?;
        let desc = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        desc.set_sdp(&sdp);
        JsFuture::from(pc.set_local_description(&desc)).await?;
        Ok(sdp)
    }

    async fn accept_offer(&self, offer_sdp: &str) -> Result<String, JsError> {
        let pc = self.shared.inner.borrow().pc.clone();
        let remote = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        remote.set_sdp(offer_sdp);
        JsFuture::from(pc.set_remote_description(&remote)).await?;
        self.remote_description_ready();
        let answer = JsFuture::from(pc.create_answer()).await?;
        let sdp = sdp_of(&answer)?;
        let local = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
        local.set_sdp(&sdp);
        JsFuture::from(pc.set_local_description(&local)).await?;
        Ok(sdp)
    }

    fn attach_pc_listeners(&self) {
        let pc = self.shared.inner.borrow().pc.clone();
        let weak = Rc::downgrade(&self.shared);
        let on_candidate = EventListener::new(&pc, "icecandidate", move |e| {
            let Some(shared) = weak.upgrade() else { return };
            let Some(candidate) = e
                .dyn_ref::<RtcPeerConnectionIceEvent>()
                .and_then(|e| e.candidate())
            else {
                return; // end of candidates: PeerJS does not send it
            };
            if candidate.candidate().is_empty() {
                return;
            }
            let username_fragment = js_sys::Reflect::get(&candidate, &"usernameFragment".into())
                .ok()
                .and_then(|v| v.as_string());
            let payload = CandidatePayload {
                candidate: IceCandidate {
                    candidate: candidate.candidate(),
                    sdp_mid: candidate.sdp_mid(),
                    sdp_m_line_index: candidate.sdp_m_line_index(),
                    username_fragment,
                },
                connection_id: shared.id.clone(),
            };
            shared.session.post(Input::SendCandidate {
                remote: shared.peer.clone(),
                candidate: payload,
            });
        });
        let weak = Rc::downgrade(&self.shared);
        let on_ice_state = EventListener::new(&pc, "iceconnectionstatechange", move |_| {
            let Some(shared) = weak.upgrade() else { return };
            let state = shared.inner.borrow().pc.ice_connection_state();
            // `disconnected` is often transient; `failed` and `closed` are final.
            if matches!(
                state,
                RtcIceConnectionState::Failed | RtcIceConnectionState::Closed
            ) {
                DataConnection { shared }.teardown();
            }
        });
        let mut inner = self.shared.inner.borrow_mut();
        inner.pc_listeners.push(on_candidate);
        inner.pc_listeners.push(on_ice_state);
    }

    fn attach_channel(&self, channel: RtcDataChannel) {
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        let weak = Rc::downgrade(&self.shared);
        let on_open = EventListener::new(&channel, "open", move |_| {
            if let Some(shared) = weak.upgrade() {
                DataConnection { shared }.opened();
            }
        });
        let weak = Rc::downgrade(&self.shared);
        let on_message = EventListener::new(&channel, "message", move |e| {
            let (Some(shared), Some(e)) = (weak.upgrade(), e.dyn_ref::<MessageEvent>()) else {
                return;
            };
            DataConnection { shared }.received(e.data());
        });
        let weak = Rc::downgrade(&self.shared);
        let on_close = EventListener::new(&channel, "close", move |_| {
            if let Some(shared) = weak.upgrade() {
                DataConnection { shared }.teardown();
            }
        });
        let already_open = channel.ready_state() == RtcDataChannelState::Open;
        {
            let mut inner = self.shared.inner.borrow_mut();
            inner.channel = Some(channel);
            inner.channel_listeners = vec![on_open, on_message, on_close];
        }
        if already_open {
            self.opened();
        }
    }

    fn opened(&self) {
        {
            let mut inner = self.shared.inner.borrow_mut();
            if inner.state != State::Connecting {
                return;
            }
            inner.state = State::Open;
            // An answerer whose dialer advertised liveness pings at once; a dialer waits for the
            // first ping (stock PeerJS answerers never send one).
            let active = self.shared.role == Role::Answerer && inner.remote_pings;
            inner.liveness = Some(Liveness::new(active, now_ms()));
            let weak = Rc::downgrade(&self.shared);
            inner.liveness_timer = Some(Interval::new(250, move || {
                if let Some(shared) = weak.upgrade() {
                    DataConnection { shared }.check_liveness();
                }
            }));
        }
        self.emit(ConnectionEvent::Open);
        self.shared
            .session
            .post(Input::ConnectionOpened(self.shared.id.clone()));
        self.check_liveness();
    }

    fn received(&self, data: JsValue) {
        let frame = if let Some(text) = data.as_string() {
            Frame::Text(text)
        } else if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            Frame::Bytes(js_sys::Uint8Array::new(buffer).to_vec())
        } else {
            return; // Blob frames are not used with binaryType = arraybuffer
        };
        let decoded = {
            let mut inner = self.shared.inner.borrow_mut();
            let decoded = inner.codec.decode(frame);
            let ping = matches!(decoded, Ok(Incoming::Ping));
            if let Some(liveness) = inner.liveness.as_mut() {
                liveness.heard(now_ms(), ping);
            }
            decoded
        };
        match decoded {
            Ok(Incoming::Message(data)) => self.emit(ConnectionEvent::Data(data)),
            Ok(Incoming::Partial | Incoming::Ping) => {}
            Ok(Incoming::Close) => self.teardown(),
            Ok(Incoming::TooLarge { reason, .. }) => {
                self.emit(ConnectionEvent::Error(ConnectionError::TooLarge(reason)));
            }
            Err(e) => self.emit(ConnectionEvent::Error(ConnectionError::BadFrame(e))),
        }
    }

    fn check_liveness(&self) {
        let (action, channel) = {
            let mut inner = self.shared.inner.borrow_mut();
            let action = inner.liveness.as_mut().and_then(|l| l.poll(now_ms()));
            (action, inner.channel.clone())
        };
        match action {
            Some(LivenessAction::SendPing) => {
                if let Some(channel) = channel {
                    let _ = channel.send_with_u8_array(PING_FRAME);
                }
            }
            Some(LivenessAction::Dead) => self.fatal(ConnectionError::Unresponsive),
            None => {}
        }
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
        let (channel, pc, listeners, timer) = {
            let mut inner = self.shared.inner.borrow_mut();
            if inner.state == State::Closed {
                return;
            }
            inner.state = State::Closed;
            inner.liveness = None;
            let mut listeners = std::mem::take(&mut inner.pc_listeners);
            listeners.append(&mut inner.channel_listeners);
            (
                inner.channel.take(),
                inner.pc.clone(),
                listeners,
                inner.liveness_timer.take(),
            )
        };
        // This may run inside one of these listeners: drop them after the callback returns.
        defer_drop((listeners, timer));
        if let Some(channel) = channel {
            channel.close();
        }
        pc.close();
        self.emit(ConnectionEvent::Close);
        self.shared
            .session
            .post(Input::ConnectionClosed(self.shared.id.clone()));
    }

    fn emit(&self, event: ConnectionEvent) {
        let _ = self.shared.events_tx.unbounded_send(event);
    }
}

fn send_frame(channel: &RtcDataChannel, frame: &Frame) -> Result<(), JsError> {
    match frame {
        Frame::Text(text) => channel.send_with_str(text)?,
        Frame::Bytes(bytes) => channel.send_with_u8_array(bytes)?,
    }
    Ok(())
}

fn add_candidate(pc: &RtcPeerConnection, candidate: &IceCandidate) {
    let init = RtcIceCandidateInit::new(&candidate.candidate);
    init.set_sdp_mid(candidate.sdp_mid.as_deref());
    init.set_sdp_m_line_index(candidate.sdp_m_line_index);
    if let Some(ufrag) = &candidate.username_fragment {
        let _ = js_sys::Reflect::set(&init, &"usernameFragment".into(), &ufrag.into());
    }
    // A rejected candidate (e.g. after close) is not fatal: ICE uses the others.
    let _ = pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
}

fn sdp_of(description: &JsValue) -> Result<String, JsError> {
    js_sys::Reflect::get(description, &"sdp".into())?
        .as_string()
        .ok_or_else(|| JsError {
            name: "TypeError".into(),
            message: "session description without sdp".into(),
        })
}
