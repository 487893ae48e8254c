//! The network runtime: this tab's PeerJS peer, registered under the identity's peer ID with its
//! stored token once this tab holds the identity (see [`crate::tab_lock`]).
//!
//! Status changes are reported through a callback (the app turns them into reducer actions); the
//! peer and the lock live here, outside the reducer state, and are dropped together.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use peerjs_client::session::PeerErrorKind;
use peerjs_client::web::{Peer, PeerEvent, PeerOptions};
use starpoll_core::{Identity, ServerConfig};
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use crate::tab_lock::{self, LockOutcome, TabLock};

/// Where this tab stands on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkStatus {
    /// Asking for the identity lock.
    Starting,
    /// Another tab of this browser holds the identity.
    OtherTab,
    /// Another tab took the identity over from this one.
    TakenOver,
    /// Registering with the signaling server.
    Connecting,
    /// Registered: others can reach this browser.
    Online,
    /// Lost the server; reconnecting by itself.
    Reconnecting,
    /// Stopped for a reason the user must act on.
    Stopped(String),
}

impl NetworkStatus {
    /// The `data-state` value the UI shows.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Starting | Self::Connecting => "connecting",
            Self::OtherTab | Self::TakenOver => "other-tab",
            Self::Online => "online",
            Self::Reconnecting => "reconnecting",
            Self::Stopped(_) => "stopped",
        }
    }
}

/// The running peer and the lock it depends on.
#[derive(Default)]
pub struct Network {
    lock: Option<TabLock>,
    peer: Option<Peer>,
    /// Bumped whenever the peer is replaced or stopped, so a stopped peer's late events (its
    /// own `Disconnected` while being destroyed) are not reported over the newer status.
    generation: u64,
}

/// Shared handle to the runtime (cheap to clone; equal when it is the same runtime).
#[derive(Clone, Default)]
pub struct NetworkHandle(Rc<RefCell<Network>>);

impl PartialEq for NetworkHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl NetworkHandle {
    /// Asks for the identity lock (taking it from another tab when `steal`), then registers.
    pub fn start(
        &self,
        identity: Rc<Identity>,
        server: ServerConfig,
        steal: bool,
        report: Callback<NetworkStatus>,
    ) {
        self.stop();
        report.emit(NetworkStatus::Starting);
        let lock_name = format!("starpoll-identity-{}", identity.peer_id());
        let handle = self.clone();
        let on_lock = {
            let report = report.clone();
            move |outcome: LockOutcome| match outcome {
                LockOutcome::Acquired => handle.register(&identity, &server, report.clone()),
                LockOutcome::Busy => report.emit(NetworkStatus::OtherTab),
                LockOutcome::Lost => {
                    handle.stop_peer();
                    report.emit(NetworkStatus::TakenOver);
                }
            }
        };
        match tab_lock::request(&lock_name, steal, on_lock) {
            Ok(lock) => self.0.borrow_mut().lock = Some(lock),
            Err(e) => report.emit(NetworkStatus::Stopped(format!(
                "could not coordinate with other tabs: {e}"
            ))),
        }
    }

    /// Stops the peer and releases the lock.
    pub fn stop(&self) {
        self.stop_peer();
        let lock = self.0.borrow_mut().lock.take();
        drop(lock);
    }

    fn stop_peer(&self) {
        let peer = {
            let mut network = self.0.borrow_mut();
            network.generation += 1;
            network.peer.take()
        };
        if let Some(peer) = peer {
            peer.destroy();
        }
    }

    fn register(
        &self,
        identity: &Identity,
        server: &ServerConfig,
        report: Callback<NetworkStatus>,
    ) {
        report.emit(NetworkStatus::Connecting);
        let (peer, mut events) = Peer::new(
            identity.peer_id().as_str(),
            identity.token().as_str(),
            peer_options(server),
        );
        let generation = {
            let mut network = self.0.borrow_mut();
            network.generation += 1;
            network.peer = Some(peer);
            network.generation
        };
        let handle = self.clone();
        spawn_local(async move {
            while let Some(event) = events.next().await {
                if handle.0.borrow().generation != generation {
                    break; // this peer was stopped; its events no longer describe this tab
                }
                match event {
                    PeerEvent::Open => report.emit(NetworkStatus::Online),
                    PeerEvent::Disconnected => report.emit(NetworkStatus::Reconnecting),
                    PeerEvent::Error(e) => match e.kind {
                        PeerErrorKind::UnavailableId => report.emit(NetworkStatus::Stopped(
                            "another browser is using this identity right now (it holds a \
                             different session token)"
                                .into(),
                        )),
                        PeerErrorKind::ServerError | PeerErrorKind::InvalidId => {
                            report.emit(NetworkStatus::Stopped(e.to_string()))
                        }
                        _ => {}
                    },
                    // Serving polls to participants arrives with the hub; until then, refuse.
                    PeerEvent::Connection(conn) => conn.close(),
                    PeerEvent::Close => break,
                }
            }
        });
    }
}

/// PeerJS options for a signaling server: host candidates only on loopback (tests, the local
/// server), Google's STUN server otherwise.
fn peer_options(server: &ServerConfig) -> PeerOptions {
    let loopback = matches!(
        server.host.as_str(),
        "127.0.0.1" | "localhost" | "::1" | "[::1]"
    );
    let defaults = PeerOptions::default();
    PeerOptions {
        host: server.host.clone(),
        port: server.port,
        path: server.path.clone(),
        key: server.key.clone(),
        secure: server.secure,
        ice_servers: if loopback {
            Vec::new()
        } else {
            defaults.ice_servers.clone()
        },
        ..defaults
    }
}
