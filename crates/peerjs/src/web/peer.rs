//! [`Peer`]: one registration with a PeerJS server, and the owner of its data connections.
//!
//! Driving loop (see [`crate::session`]): every browser event becomes a session
//! [`Input`]; after each input the outputs are drained *before* any of them is acted on (so
//! acting never happens while the session is borrowed), then one timer is armed for
//! [`Session::poll_timeout`].

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, RtcConfiguration, RtcIceServer, WebSocket};

use super::connection::{ConnectOptions, DataConnection};
use super::inbox::SessionInbox;
use super::{defer_drop, now_ms, random_bytes, JsError};
use crate::server::{IceServer, ServerConfig};
use crate::session::{
    Input, Output, PeerError, PeerErrorKind, Session, SessionConfig, SessionState,
};
use crate::signal::{ConnectionId, PeerName};

/// How much the transport logs to the console (PeerJS's `debug` levels 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// Nothing.
    Disabled,
    /// Errors only.
    #[default]
    Errors,
    /// Errors and warnings.
    Warnings,
    /// Everything, including every signaling frame.
    All,
}

/// Options of a [`Peer`], mirroring PeerJS's `PeerOptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerOptions {
    /// The PeerJS signaling server.
    pub server: ServerConfig,
    /// ICE servers for every connection; empty means host candidates only.
    pub ice_servers: Vec<IceServer>,
    /// Heartbeat interval to the server, ms (PeerJS `pingInterval`, default 5000).
    pub ping_interval_ms: u64,
    /// How long a dial may take to open, ms (default 10 000).
    pub connect_timeout_ms: u64,
    /// Console logging.
    pub log_level: LogLevel,
}

impl Default for PeerOptions {
    /// PeerJS's public cloud server, Google's STUN server, default timings.
    fn default() -> Self {
        Self {
            server: ServerConfig::public_cloud(),
            ice_servers: vec![IceServer::google_stun()],
            ping_interval_ms: 5000,
            connect_timeout_ms: 10_000,
            log_level: LogLevel::Errors,
        }
    }
}

/// What happens to a [`Peer`].
#[derive(Debug)]
pub enum PeerEvent {
    /// Registered with the server (again, after a reconnect).
    Open,
    /// A remote peer dialed us. Its events are on [`DataConnection::events`].
    Connection(DataConnection),
    /// The server connection was lost; the peer reconnects by itself unless stopped.
    Disconnected,
    /// Something failed; see [`PeerError::kind`] (`peer-unavailable`, `unavailable-id`, …).
    Error(PeerError),
    /// The peer was destroyed.
    Close,
}

/// The stream of [`PeerEvent`]s (a `futures` `Stream`).
pub type PeerEvents = UnboundedReceiver<PeerEvent>;

/// A PeerJS peer: registers `id` with the server and makes and accepts data connections.
///
/// Cloning gives another handle to the same peer. Dropping every handle destroys it.
#[derive(Clone)]
pub struct Peer {
    shared: Rc<PeerShared>,
}

pub(crate) struct PeerShared {
    id: PeerName,
    options: PeerOptions,
    events: UnboundedSender<PeerEvent>,
    inner: RefCell<Inner>,
    /// Session inputs not fed yet, in arrival order (see [`PeerShared::drive`]).
    queue: RefCell<VecDeque<Input>>,
    /// Whether a [`PeerShared::drive`] loop is running (a nested call only queues).
    draining: Cell<bool>,
    /// What connections post to (through a [`SessionInbox`]): [`PeerShared::drive`].
    deliver: Rc<dyn Fn(Input)>,
}

struct Inner {
    session: Session,
    socket: Option<Socket>,
    timer: Option<Timeout>,
    connections: HashMap<ConnectionId, DataConnection>,
    _visibility: Option<EventListener>,
    _pagehide: Option<EventListener>,
}

/// The signaling WebSocket with its listeners (dropped together).
struct Socket {
    ws: WebSocket,
    _listeners: [EventListener; 4],
}

impl Drop for Socket {
    fn drop(&mut self) {
        // A clean close frees the ID on the server at once. The `close` event it causes arrives
        // asynchronously, after the listener guards (dropped right after this) are gone.
        let _ = self.ws.close();
    }
}

impl Peer {
    /// Creates the peer and starts registering `id` with `token` on the server in `options`.
    ///
    /// Reuse the same token across page loads: the server lets a socket with the same ID and
    /// token take over a registration that has not timed out yet, and answers ID-TAKEN
    /// (`unavailable-id`) to any other token.
    pub fn new(id: &str, token: &str, options: PeerOptions) -> (Peer, PeerEvents) {
        let (tx, rx) = unbounded();
        let mut config = SessionConfig::new(options.server.clone(), PeerName::new(id), token);
        config.ping_interval_ms = options.ping_interval_ms;
        config.connect_timeout_ms = options.connect_timeout_ms;
        let seed = u64::from_le_bytes(random_bytes());
        let session = Session::new(config, seed, now_ms());
        let shared = Rc::new_cyclic(|weak: &Weak<PeerShared>| {
            let weak = weak.clone();
            let deliver: Rc<dyn Fn(Input)> = Rc::new(move |input| {
                if let Some(this) = weak.upgrade() {
                    PeerShared::drive(&this, input);
                }
            });
            PeerShared {
                id: PeerName::new(id),
                options,
                events: tx,
                inner: RefCell::new(Inner {
                    session,
                    socket: None,
                    timer: None,
                    connections: HashMap::new(),
                    _visibility: None,
                    _pagehide: None,
                }),
                queue: RefCell::new(VecDeque::new()),
                draining: Cell::new(false),
                deliver,
            }
        });
        PeerShared::install_page_listeners(&shared);
        PeerShared::act_on_outputs(&shared);
        PeerShared::arm_timer(&shared);
        (Peer { shared }, rx)
    }

    /// A fresh random token (PeerJS style: base-36), for a peer's first registration.
    pub fn random_token() -> String {
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        random_bytes::<16>()
            .iter()
            .map(|b| char::from(DIGITS[usize::from(*b) % 36]))
            .collect()
    }

    /// This peer's ID.
    pub fn id(&self) -> &str {
        self.shared.id.as_str()
    }

    /// Whether the peer is registered with the server right now.
    pub fn is_open(&self) -> bool {
        self.shared.inner.borrow().session.state() == SessionState::Open
    }

    /// The session's coarse state.
    pub fn state(&self) -> SessionState {
        self.shared.inner.borrow().session.state()
    }

    /// Dials `remote`. The connection reports `Open`, or `Error` + `Close` (for example
    /// `peer-unavailable` when the server answers EXPIRE, or a timeout) on its events.
    pub fn connect(
        &self,
        remote: &str,
        options: ConnectOptions,
    ) -> Result<DataConnection, JsError> {
        let id = self.shared.inner.borrow_mut().session.new_connection_id();
        let conn = DataConnection::dial(
            SessionInbox::new(&self.shared.deliver),
            id.clone(),
            PeerName::new(remote),
            options,
            &self.shared.rtc_configuration(),
        )?;
        self.shared
            .inner
            .borrow_mut()
            .connections
            .insert(id, conn.clone());
        Ok(conn)
    }

    /// Every connection that is not closed yet.
    pub fn connections(&self) -> Vec<DataConnection> {
        self.shared
            .inner
            .borrow()
            .connections
            .values()
            .cloned()
            .collect()
    }

    /// Reconnects to the server with the same ID and token (after `disconnect`, ID-TAKEN, or to
    /// retry at once while waiting to reconnect).
    pub fn reconnect(&self) {
        PeerShared::drive(&self.shared, Input::Reconnect);
    }

    /// Leaves the server (existing data connections stay open).
    pub fn disconnect(&self) {
        PeerShared::drive(&self.shared, Input::Disconnect);
    }

    /// Closes every connection and the server socket for good.
    pub fn destroy(&self) {
        PeerShared::destroy(&self.shared);
    }
}

impl PeerShared {
    /// Feeds `input` to the session and acts on what it asks for, then re-arms the timer.
    ///
    /// Inputs are fed strictly in arrival order: a call made while an earlier one is still
    /// acting on outputs (a connection closing from inside the loop, say) only queues its input,
    /// and the running loop feeds it next.
    pub(crate) fn drive(this: &Rc<Self>, input: Input) {
        this.queue.borrow_mut().push_back(input);
        if this.draining.replace(true) {
            return;
        }
        loop {
            let next = this.queue.borrow_mut().pop_front();
            let Some(input) = next else { break };
            if let Input::ConnectionClosed(id) = &input {
                this.inner.borrow_mut().connections.remove(id);
            }
            this.inner
                .borrow_mut()
                .session
                .handle_input(input, now_ms());
            Self::act_on_outputs(this);
        }
        this.draining.set(false);
        Self::arm_timer(this);
    }

    /// Drains and acts on the session's outputs.
    fn act_on_outputs(this: &Rc<Self>) {
        loop {
            let outputs: Vec<Output> = {
                let mut inner = this.inner.borrow_mut();
                std::iter::from_fn(|| inner.session.poll_output()).collect()
            };
            if outputs.is_empty() {
                break;
            }
            for output in outputs {
                Self::act(this, output);
            }
        }
    }

    fn act(this: &Rc<Self>, output: Output) {
        match output {
            Output::OpenSocket { url } => Self::open_socket(this, &url),
            Output::CloseSocket => {
                let socket = this.inner.borrow_mut().socket.take();
                defer_drop(socket);
            }
            Output::SendText(text) => {
                this.log(LogLevel::All, &format!("→ {text}"));
                let sent = this
                    .inner
                    .borrow()
                    .socket
                    .as_ref()
                    .map(|s| s.ws.send_with_str(&text));
                if let Some(Err(e)) = sent {
                    this.log(
                        LogLevel::Warnings,
                        &format!("socket send failed: {}", JsError::from(e)),
                    );
                }
            }
            Output::Open => this.emit(PeerEvent::Open),
            Output::Disconnected => this.emit(PeerEvent::Disconnected),
            Output::Error(error) => {
                this.log(LogLevel::Errors, &error.to_string());
                this.emit(PeerEvent::Error(error));
            }
            Output::IncomingOffer { src, payload } => {
                match DataConnection::answer(
                    SessionInbox::new(&this.deliver),
                    src,
                    payload,
                    &this.rtc_configuration(),
                ) {
                    Ok(conn) => {
                        this.inner
                            .borrow_mut()
                            .connections
                            .insert(conn.connection_id().clone(), conn.clone());
                        this.emit(PeerEvent::Connection(conn));
                    }
                    Err(e) => this.emit(PeerEvent::Error(PeerError::new(
                        PeerErrorKind::Webrtc,
                        format!("could not accept a connection: {e}"),
                    ))),
                }
            }
            Output::RemoteAnswer {
                connection_id,
                payload,
            } => {
                if let Some(conn) = this.connection(&connection_id) {
                    conn.remote_answer(payload);
                }
            }
            Output::RemoteCandidate {
                connection_id,
                payload,
            } => {
                if let Some(conn) = this.connection(&connection_id) {
                    conn.remote_candidate(payload.candidate);
                }
            }
            Output::ConnectFailed {
                connection_id,
                peer,
                reason,
            } => {
                if let Some(conn) = this.connection(&connection_id) {
                    conn.fail(reason, &peer);
                }
            }
            Output::CloseConnectionsTo { peer } => {
                let doomed: Vec<DataConnection> = this
                    .inner
                    .borrow()
                    .connections
                    .values()
                    .filter(|c| c.peer() == peer.as_str())
                    .cloned()
                    .collect();
                for conn in doomed {
                    conn.close();
                }
            }
        }
    }

    fn connection(&self, id: &ConnectionId) -> Option<DataConnection> {
        self.inner.borrow().connections.get(id).cloned()
    }

    fn open_socket(this: &Rc<Self>, url: &str) {
        this.log(LogLevel::All, &format!("opening {url}"));
        let old = this.inner.borrow_mut().socket.take();
        defer_drop(old);
        let ws = match WebSocket::new(url) {
            Ok(ws) => ws,
            Err(e) => {
                this.log(
                    LogLevel::Errors,
                    &format!("cannot open socket: {}", JsError::from(e)),
                );
                let this = this.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    Self::drive(&this, Input::SocketClosed);
                });
                return;
            }
        };
        let weak = Rc::downgrade(this);
        let on = |event: &'static str, input: fn(&web_sys::Event) -> Option<Input>| {
            let weak: Weak<Self> = weak.clone();
            EventListener::new(&ws, event, move |e| {
                if let (Some(this), Some(input)) = (weak.upgrade(), input(e)) {
                    Self::drive(&this, input);
                }
            })
        };
        let listeners = [
            on("open", |_| Some(Input::SocketOpened)),
            on("message", |e| {
                e.dyn_ref::<MessageEvent>()
                    .and_then(|m| m.data().as_string())
                    .map(Input::SocketText)
            }),
            // An `error` is always followed by `close`; report the close only.
            on("error", |_| None),
            on("close", |_| Some(Input::SocketClosed)),
        ];
        this.inner.borrow_mut().socket = Some(Socket {
            ws,
            _listeners: listeners,
        });
    }

    fn arm_timer(this: &Rc<Self>) {
        let mut inner = this.inner.borrow_mut();
        let Some(at) = inner.session.poll_timeout() else {
            inner.timer = None;
            return;
        };
        let delay = at.saturating_sub(now_ms()).min(u64::from(u32::MAX));
        let weak = Rc::downgrade(this);
        // Replacing the old Timeout cancels it.
        inner.timer = Some(Timeout::new(delay as u32, move || {
            if let Some(this) = weak.upgrade() {
                Self::drive(&this, Input::Tick);
            }
        }));
    }

    fn install_page_listeners(this: &Rc<Self>) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let weak = Rc::downgrade(this);
        let visibility = EventListener::new(&document, "visibilitychange", move |_| {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
                .unwrap_or(false);
            if let (true, Some(this)) = (visible, weak.upgrade()) {
                Self::drive(&this, Input::VisibilityVisible);
            }
        });
        // Close everything cleanly when the page goes away, so remote peers and the server learn
        // at once instead of after their timeouts.
        let weak = Rc::downgrade(this);
        let pagehide = web_sys::window().map(|w| {
            EventListener::new(&w, "pagehide", move |_| {
                if let Some(this) = weak.upgrade() {
                    Self::destroy(&this);
                }
            })
        });
        let mut inner = this.inner.borrow_mut();
        inner._visibility = Some(visibility);
        inner._pagehide = pagehide;
    }

    fn destroy(this: &Rc<Self>) {
        let connections: Vec<DataConnection> = this
            .inner
            .borrow_mut()
            .connections
            .drain()
            .map(|(_, c)| c)
            .collect();
        for conn in connections {
            conn.close();
        }
        Self::drive(this, Input::Destroy);
        let (socket, timer) = {
            let mut inner = this.inner.borrow_mut();
            (inner.socket.take(), inner.timer.take())
        };
        defer_drop((socket, timer));
        this.emit(PeerEvent::Close);
    }

    pub(crate) fn rtc_configuration(&self) -> RtcConfiguration {
        let config = RtcConfiguration::new();
        let servers = js_sys::Array::new();
        for server in &self.options.ice_servers {
            let ice = RtcIceServer::new();
            let urls: js_sys::Array = server
                .urls()
                .iter()
                .map(|u| wasm_bindgen::JsValue::from_str(u))
                .collect();
            ice.set_urls(&urls);
            if let Some(username) = server.username() {
                ice.set_username(username);
            }
            if let Some(credential) = server.credential() {
                ice.set_credential(credential);
            }
            servers.push(&ice);
        }
        config.set_ice_servers(&servers);
        config
    }

    fn emit(&self, event: PeerEvent) {
        // A closed receiver means the application stopped listening; nothing to do.
        let _ = self.events.unbounded_send(event);
    }

    pub(crate) fn log(&self, level: LogLevel, message: &str) {
        if level > self.options.log_level || level == LogLevel::Disabled {
            return;
        }
        let text = format!("[peerjs {}] {message}", self.id);
        match level {
            LogLevel::Errors => web_sys::console::error_1(&text.into()),
            LogLevel::Warnings => web_sys::console::warn_1(&text.into()),
            _ => web_sys::console::log_1(&text.into()),
        }
    }
}

impl Drop for PeerShared {
    fn drop(&mut self) {
        // The last handle is gone: close every RTCPeerConnection (the socket closes as it drops).
        for conn in self.inner.get_mut().connections.values() {
            conn.close();
        }
    }
}
