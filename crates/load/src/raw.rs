//! The baseline: the same nodes and WebRTC stack with nothing of starpoll on top. A
//! [`Broadcaster`] answers every dial and sends each message it receives, unchanged, to every
//! open channel (the sender included); [`RawClients`] dial it once each and record each message
//! with the instant its frame arrived. No signatures, no storage, no views: what is left is
//! signaling, DTLS/SCTP and the PeerJS data framing, for the same N.

use std::time::Instant;

use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::signal::PeerName;
use starpoll_core::hub::ConnId;
use starpoll_host::rtc::Event;

use crate::swarm::{Node, NodeEvent, Peers};

/// The raw broadcaster (one node, index 0 of its swarm).
#[derive(Default)]
pub struct Broadcaster {
    open: Vec<ConnId>,
    /// Messages relayed so far.
    pub relayed: u64,
}

impl Peers for Broadcaster {
    fn event(&mut self, _index: usize, node: &mut Node, event: NodeEvent, _at: Instant) {
        match event {
            NodeEvent::Rtc(Event::Opened { conn, .. }) => self.open.push(conn),
            NodeEvent::Rtc(Event::Closed { conn, .. }) => self.open.retain(|c| *c != conn),
            NodeEvent::Rtc(Event::Message(_, Data::Packed(Value::Str(text)))) => {
                self.relayed += 1;
                let now = Instant::now();
                for conn in self.open.clone() {
                    node.send(conn, &text, now);
                }
            }
            NodeEvent::Rtc(_) | NodeEvent::Registered => {}
        }
    }

    fn timeout(&mut self, _index: usize, _node: &mut Node, _now: Instant) {}

    fn next_timeout(&self, _index: usize) -> Option<Instant> {
        None
    }
}

/// One raw client.
#[derive(Default)]
pub struct RawClient {
    conn: Option<ConnId>,
    /// Whether its channel is open.
    pub open: bool,
    /// Messages received, with the instant each arrived.
    pub received: Vec<(String, Instant)>,
}

/// Raw clients dialing one broadcaster.
pub struct RawClients {
    target: PeerName,
    /// The clients, by node index.
    pub clients: Vec<RawClient>,
}

impl RawClients {
    /// Clients of the broadcaster `target` (add one per node).
    pub fn new(target: PeerName) -> Self {
        Self {
            target,
            clients: Vec::new(),
        }
    }

    /// Adds the next node's client.
    pub fn add(&mut self) {
        self.clients.push(RawClient::default());
    }

    /// Sends `text` from client `index`.
    pub fn send(&mut self, index: usize, node: &mut Node, text: &str) {
        if let Some(conn) = self.clients.get(index).and_then(|c| c.conn) {
            node.send(conn, text, Instant::now());
        }
    }
}

impl Peers for RawClients {
    fn event(&mut self, index: usize, node: &mut Node, event: NodeEvent, at: Instant) {
        let Some(client) = self.clients.get_mut(index) else {
            return;
        };
        match event {
            NodeEvent::Registered => {
                if client.conn.is_none() {
                    client.conn = node.dial(&self.target, Instant::now()).ok();
                }
            }
            NodeEvent::Rtc(Event::Opened { conn, .. }) if client.conn == Some(conn) => {
                client.open = true;
            }
            NodeEvent::Rtc(Event::Message(conn, Data::Packed(Value::Str(text))))
                if client.conn == Some(conn) =>
            {
                client.received.push((text, at));
            }
            NodeEvent::Rtc(Event::Closed { conn, .. }) if client.conn == Some(conn) => {
                // The baseline does not redial: a lost client shows as one that never receives.
                client.conn = None;
                client.open = false;
            }
            NodeEvent::Rtc(_) => {}
        }
    }

    fn timeout(&mut self, _index: usize, _node: &mut Node, _now: Instant) {}

    fn next_timeout(&self, _index: usize) -> Option<Instant> {
        None
    }
}
