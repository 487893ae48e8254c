//! The network runtime: this tab's PeerJS peer, registered under the identity's peer ID with its
//! stored token once this tab holds the identity (see [`crate::tab_lock`]), and the hub that
//! serves this browser's polls on it.
//!
//! Only the tab holding the identity lock runs the hub: it loads the hosted polls from IndexedDB
//! when it gets the lock (another tab may have changed them before), then registers the peer,
//! and hands every incoming data connection to the hub. Participants' outgoing connections
//! ([`NetworkHandle::connect`]) use the same peer.
//!
//! Changes are reported through a callback (the app turns them into reducer actions); the
//! peer, the hub and the lock live here, outside the reducer state, and are dropped together.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use peerjs_client::session::PeerErrorKind;
use peerjs_client::signal::Serialization;
use peerjs_client::web::{ConnectOptions, DataConnection, Peer, PeerEvent, PeerOptions};
use starpoll_core::settings::{self, IceServer};
use starpoll_core::{Identity, PeerId, ServerConfig};
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use crate::hub::HubHandle;
use crate::state::{NetworkEvent, NetworkStatus};
use crate::storage::Repository;
use crate::tab_lock::{self, LockOutcome, TabLock};

/// The running peer and the lock it depends on.
#[derive(Default)]
pub struct Network {
    lock: Option<TabLock>,
    peer: Option<Peer>,
    hub: Option<HubHandle>,
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
    /// Asks for the identity lock (taking it from another tab when `steal`), then starts the
    /// hub and registers.
    pub fn start(
        &self,
        identity: Rc<Identity>,
        server: ServerConfig,
        ice_servers: Option<Vec<IceServer>>,
        repo: Rc<Repository>,
        steal: bool,
        report: Callback<NetworkEvent>,
    ) {
        self.stop();
        report.emit(NetworkEvent::Status(NetworkStatus::Starting));
        let lock_name = format!("starpoll-identity-{}", identity.peer_id());
        let handle = self.clone();
        let on_lock = {
            let report = report.clone();
            move |outcome: LockOutcome| match outcome {
                LockOutcome::Acquired => {
                    let (handle, identity, server, ice_servers, repo, report) = (
                        handle.clone(),
                        identity.clone(),
                        server.clone(),
                        ice_servers.clone(),
                        repo.clone(),
                        report.clone(),
                    );
                    spawn_local(async move {
                        handle.start_hub(&identity, repo, report.clone()).await;
                        let options = peer_options(&server, ice_servers.as_deref());
                        handle.register(&identity, options, report);
                    });
                }
                LockOutcome::Busy => report.emit(NetworkEvent::Status(NetworkStatus::OtherTab)),
                LockOutcome::Lost => {
                    handle.stop_peer();
                    report.emit(NetworkEvent::Hub(None));
                    report.emit(NetworkEvent::Status(NetworkStatus::TakenOver));
                }
            }
        };
        match tab_lock::request(&lock_name, steal, on_lock) {
            Ok(lock) => self.0.borrow_mut().lock = Some(lock),
            Err(e) => {
                gloo::console::error!(format!("tab lock: {e}"));
                report.emit(NetworkEvent::Status(NetworkStatus::Stopped(
                    "this browser does not let starpoll coordinate its tabs (Web Locks), so it \
                     stays offline here"
                        .into(),
                )))
            }
        }
    }

    /// The running hub, if this tab holds the identity.
    pub fn hub(&self) -> Option<HubHandle> {
        self.0.borrow().hub.clone()
    }

    /// Dials `owner` for the poll protocol (PROTOCOL.md §1.3: `binary`, reliable). `None`
    /// while this tab has no open peer.
    pub fn connect(&self, owner: &PeerId) -> Option<DataConnection> {
        let network = self.0.borrow();
        let peer = network.peer.as_ref().filter(|p| p.is_open())?;
        let options = ConnectOptions {
            serialization: Serialization::Binary,
            ..ConnectOptions::default()
        };
        match peer.connect(owner.as_str(), options) {
            Ok(conn) => Some(conn),
            Err(e) => {
                gloo::console::warn!(format!("could not dial {owner}: {e}"));
                None
            }
        }
    }

    async fn start_hub(
        &self,
        identity: &Identity,
        repo: Rc<Repository>,
        report: Callback<NetworkEvent>,
    ) {
        let on_change = report.reform(|snapshot| NetworkEvent::Hub(Some(snapshot)));
        match HubHandle::start(identity.clone(), repo, on_change).await {
            Ok(hub) => {
                let weak = Rc::downgrade(&self.0);
                hub.set_dialer(Rc::new(move |peer: &PeerId| {
                    weak.upgrade()
                        .and_then(|network| NetworkHandle(network).connect(peer))
                }));
                report.emit(NetworkEvent::Hub(Some(hub.snapshot())));
                self.0.borrow_mut().hub = Some(hub);
            }
            Err(e) => {
                gloo::console::error!(format!("loading the hosted polls: {e}"));
                report.emit(NetworkEvent::Status(NetworkStatus::Stopped(
                    "this browser's polls could not be loaded from its storage, so they are not \
                     served"
                        .into(),
                )))
            }
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
            network.hub = None;
            network.peer.take()
        };
        if let Some(peer) = peer {
            peer.destroy();
        }
    }

    fn register(&self, identity: &Identity, options: PeerOptions, report: Callback<NetworkEvent>) {
        let report = report.reform(NetworkEvent::Status);
        report.emit(NetworkStatus::Connecting);
        let (peer, mut events) = Peer::new(
            identity.peer_id().as_str(),
            identity.token().as_str(),
            options,
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
                            gloo::console::error!(format!("signaling server: {e}"));
                            report.emit(NetworkStatus::Stopped(
                                "the signaling server refused to register this browser (check \
                                 the server's address and key in Settings)"
                                    .into(),
                            ))
                        }
                        // The socket could not open or was lost (reported once per outage): the
                        // session retries by itself; say so instead of "Connecting…".
                        PeerErrorKind::Network | PeerErrorKind::SocketError => {
                            gloo::console::warn!(format!("signaling server: {e}"));
                            report.emit(NetworkStatus::Unreachable)
                        }
                        _ => {}
                    },
                    PeerEvent::Connection(conn) => match handle.hub() {
                        Some(hub) => hub.accept(conn),
                        None => conn.close(),
                    },
                    PeerEvent::Close => break,
                }
            }
        });
    }
}

/// PeerJS options for a signaling server and the saved ICE servers: exactly the saved list when
/// there is one, else the core's defaults (host candidates only on loopback — tests, the local
/// server — and Google's STUN server otherwise).
fn peer_options(server: &ServerConfig, saved_ice: Option<&[IceServer]>) -> PeerOptions {
    PeerOptions {
        server: server.clone(),
        ice_servers: settings::ice_servers_for(saved_ice, server),
        ..PeerOptions::default()
    }
}
