//! [`Negotiator`]: the `RTCPeerConnection` of one data connection and its offer/answer/candidate
//! exchange (the part of PeerJS's `negotiator.ts` a data connection uses).
//!
//! The negotiator speaks to the signaling session only by posting inputs to its
//! [`SessionInbox`] (its offer or answer, its ICE candidates), and to its connection only by
//! handing a [`Negotiation`] to the sink it was built with (the dialer's data channel, a failed
//! WebRTC call, ICE that ended). It never holds a pointer to either.
//!
//! Invariants: remote ICE candidates are added only after the remote description is set (the
//! early ones are held until then, in arrival order); the `RTCPeerConnection` is closed and its
//! listeners are dropped once, by [`Negotiator::close`], after the running callback returns.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use serde_json::Value as Json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit, RtcIceCandidateInit,
    RtcIceConnectionState, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcSdpType,
    RtcSessionDescriptionInit,
};

use super::inbox::SessionInbox;
use super::{defer_drop, JsError};
use crate::session::Input;
use crate::signal::{
    AnswerPayload, CandidatePayload, ConnectionId, IceCandidate, OfferPayload, PeerName,
    Serialization,
};

/// What the negotiator tells its connection.
pub(crate) enum Negotiation {
    /// The dialer's data channel arrived (answerer only).
    Channel(RtcDataChannel),
    /// A WebRTC call of the exchange failed; the connection cannot open.
    Failed(JsError),
    /// ICE reached `failed` or `closed` (`disconnected` is often transient and not reported).
    Ended,
}

/// Where a negotiator hands its [`Negotiation`]s.
pub(crate) type NegotiationSink = Box<dyn Fn(Negotiation)>;

/// The `RTCPeerConnection` side of one connection. Cloning gives another handle to it.
#[derive(Clone)]
pub(crate) struct Negotiator {
    shared: Rc<Shared>,
}

struct Shared {
    pc: RtcPeerConnection,
    id: ConnectionId,
    peer: PeerName,
    session: SessionInbox,
    sink: NegotiationSink,
    state: RefCell<State>,
}

struct State {
    listeners: Vec<EventListener>,
    remote_description_set: bool,
    early_candidates: Vec<IceCandidate>,
}

/// A new `RTCPeerConnection` for a [`Negotiator`] (the one fallible step of making one, taken
/// first so that the negotiator itself can be built inside its connection).
pub(crate) fn peer_connection(config: &RtcConfiguration) -> Result<RtcPeerConnection, JsError> {
    Ok(RtcPeerConnection::new_with_configuration(config)?)
}

impl Negotiator {
    /// A negotiator for connection `id` with `peer` on `pc` (from [`peer_connection`]); an
    /// answerer also listens for the dialer's data channel.
    pub(crate) fn new(
        pc: RtcPeerConnection,
        id: ConnectionId,
        peer: PeerName,
        session: SessionInbox,
        answerer: bool,
        sink: NegotiationSink,
    ) -> Self {
        let this = Self {
            shared: Rc::new(Shared {
                pc,
                id,
                peer,
                session,
                sink,
                state: RefCell::new(State {
                    listeners: Vec::new(),
                    remote_description_set: false,
                    early_candidates: Vec::new(),
                }),
            }),
        };
        this.listen(answerer);
        this
    }

    /// Creates the ordered data channel a dialer offers, labelled with the connection ID.
    pub(crate) fn create_channel(&self) -> RtcDataChannel {
        let init = RtcDataChannelInit::new();
        init.set_ordered(true);
        self.shared
            .pc
            .create_data_channel_with_data_channel_dict(self.shared.id.as_str(), &init)
    }

    /// Dialer: makes the offer, sets it as the local description and posts it to the session
    /// (`Connect`) with `serialization` and the metadata the remote will see.
    pub(crate) fn offer(&self, serialization: Serialization, metadata: Option<Json>) {
        let this = self.clone();
        spawn_local(async move {
            match this.make_offer().await {
                Ok(sdp) => {
                    let shared = &this.shared;
                    let offer = OfferPayload::new(shared.id.clone(), sdp, serialization, metadata);
                    shared.session.post(Input::Connect {
                        remote: shared.peer.clone(),
                        offer,
                    });
                }
                Err(e) => (this.shared.sink)(Negotiation::Failed(e)),
            }
        });
    }

    /// Answerer: sets the remote offer, makes the answer and posts it to the session
    /// (`SendAnswer`).
    pub(crate) fn answer(&self, offer_sdp: String) {
        let this = self.clone();
        spawn_local(async move {
            match this.accept_offer(&offer_sdp).await {
                Ok(sdp) => {
                    let shared = &this.shared;
                    shared.session.post(Input::SendAnswer {
                        remote: shared.peer.clone(),
                        answer: AnswerPayload {
                            sdp,
                            connection_id: shared.id.clone(),
                        },
                    });
                }
                Err(e) => (this.shared.sink)(Negotiation::Failed(e)),
            }
        });
    }

    /// Dialer: the remote's answer arrived.
    pub(crate) fn remote_answer(&self, payload: AnswerPayload) {
        let this = self.clone();
        spawn_local(async move {
            let desc = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
            desc.set_sdp(&payload.sdp);
            match JsFuture::from(this.shared.pc.set_remote_description(&desc)).await {
                Ok(_) => this.remote_description_ready(),
                Err(e) => (this.shared.sink)(Negotiation::Failed(e.into())),
            }
        });
    }

    /// A remote ICE candidate arrived: added now, or held until the remote description is set.
    pub(crate) fn remote_candidate(&self, candidate: IceCandidate) {
        let mut state = self.shared.state.borrow_mut();
        if state.remote_description_set {
            add_candidate(&self.shared.pc, &candidate);
        } else {
            state.early_candidates.push(candidate);
        }
    }

    /// The DTLS certificate fingerprints `(local, remote)`, once both descriptions are set.
    pub(crate) fn dtls_fingerprints(&self) -> Option<(String, String)> {
        let local = self.shared.pc.local_description()?.sdp();
        let remote = self.shared.pc.remote_description()?.sdp();
        Some((
            crate::sdp::dtls_fingerprint(&local)?,
            crate::sdp::dtls_fingerprint(&remote)?,
        ))
    }

    /// Closes the `RTCPeerConnection`; its listeners are dropped after the running callback
    /// returns (this may run inside one of them). Idempotent.
    pub(crate) fn close(&self) {
        let listeners = std::mem::take(&mut self.shared.state.borrow_mut().listeners);
        defer_drop(listeners);
        self.shared.pc.close();
    }

    fn remote_description_ready(&self) {
        let mut state = self.shared.state.borrow_mut();
        state.remote_description_set = true;
        for candidate in std::mem::take(&mut state.early_candidates) {
            add_candidate(&self.shared.pc, &candidate);
        }
    }

    async fn make_offer(&self) -> Result<String, JsError> {
        let pc = &self.shared.pc;
        let offer = JsFuture::from(pc.create_offer()).await?;
        let sdp = sdp_of(&offer)?;
        let desc = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        desc.set_sdp(&sdp);
        JsFuture::from(pc.set_local_description(&desc)).await?;
        Ok(sdp)
    }

    async fn accept_offer(&self, offer_sdp: &str) -> Result<String, JsError> {
        let pc = &self.shared.pc;
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

    /// Listens for local candidates, ICE state and (answerer) the dialer's data channel. The
    /// listeners hold the negotiator weakly: they do nothing once it is gone.
    fn listen(&self, answerer: bool) {
        let pc = &self.shared.pc;
        let on = |event: &'static str, handle: fn(&Shared, &web_sys::Event)| {
            let weak: Weak<Shared> = Rc::downgrade(&self.shared);
            EventListener::new(pc, event, move |e| {
                if let Some(shared) = weak.upgrade() {
                    handle(&shared, e);
                }
            })
        };
        let mut listeners = vec![
            on("icecandidate", Shared::local_candidate),
            on("iceconnectionstatechange", |shared, _| {
                // `disconnected` is often transient; `failed` and `closed` are final.
                if matches!(
                    shared.pc.ice_connection_state(),
                    RtcIceConnectionState::Failed | RtcIceConnectionState::Closed
                ) {
                    (shared.sink)(Negotiation::Ended);
                }
            }),
        ];
        if answerer {
            listeners.push(on("datachannel", |shared, e| {
                if let Some(e) = e.dyn_ref::<RtcDataChannelEvent>() {
                    (shared.sink)(Negotiation::Channel(e.channel()));
                }
            }));
        }
        self.shared.state.borrow_mut().listeners = listeners;
    }
}

impl Shared {
    /// Posts a local ICE candidate to the session (`SendCandidate`).
    fn local_candidate(&self, event: &web_sys::Event) {
        let Some(candidate) = event
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
            connection_id: self.id.clone(),
        };
        self.session.post(Input::SendCandidate {
            remote: self.peer.clone(),
            candidate: payload,
        });
    }
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
