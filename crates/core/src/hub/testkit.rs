//! Test support shared by the hub's move tests (`move_tests.rs`) and the participant's
//! (`participant/tests.rs`): who is who, a hub's durable store (exactly its committed writes, so
//! a crash is "restore a new hub from it", [`Hubs::crash`]), and [`Hubs`], the one simulated
//! network: real hubs that deliver hub-to-hub frames (a move) among themselves and hand what
//! reaches a client to the test, with a fixture for a poll created by Olga and moved to a host.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::*;
use crate::testing::{identity, lunch_draft, poll_id, NOW};

/// Olga owns the poll; hosts 4 and 5 are always-on hubs; 9 is Mallory.
pub const OLGA: u8 = 1;
pub const HOST: u8 = 4;
pub const HOST2: u8 = 5;
pub const MALLORY: u8 = 9;
/// Participants.
pub const PEOPLE: [u8; 3] = [2, 3, 6];

/// The peer ID of identity `n`.
pub fn peer(n: u8) -> PeerId {
    identity(n).peer_id().clone()
}

/// A hub's durable storage: exactly what its steps committed.
#[derive(Debug, Default, Clone)]
pub struct Store {
    pub polls: BTreeMap<PollId, Poll>,
    pub records: BTreeMap<PollId, BTreeMap<CommandId, ProcessedRecord>>,
    pub hosting: BTreeMap<PollId, Hosting>,
}

impl Store {
    pub fn commit(&mut self, writes: &[Write]) {
        for write in writes {
            match write {
                Write::Poll(poll) => {
                    self.polls.insert(poll.id, (**poll).clone());
                }
                Write::Record(id, record) => {
                    self.records
                        .entry(*id)
                        .or_default()
                        .insert(record.command_id, record.clone());
                }
                Write::DeletePoll(id) => {
                    self.polls.remove(id);
                    self.records.remove(id);
                    self.hosting.remove(id);
                }
                Write::Hosting(id, hosting) => {
                    self.hosting.insert(*id, (**hosting).clone());
                }
                // Moving never deletes a poll for good (only the owner's delete does).
                Write::Tombstone(id) => panic!("a move tombstoned poll {id}"),
            }
        }
    }

    /// A new hub restored from this store (a restart).
    pub fn load(&self, me: u8) -> Hub {
        let mut hub = Hub::new(identity(me), Limits::default());
        let ids: BTreeSet<PollId> = self
            .polls
            .keys()
            .chain(self.hosting.keys())
            .copied()
            .collect();
        for id in ids {
            let records: Vec<ProcessedRecord> = self
                .records
                .get(&id)
                .map(|r| r.values().cloned().collect())
                .unwrap_or_default();
            match self.hosting.get(&id) {
                Some(hosting) => hub
                    .restore_hosting(id, hosting.clone(), self.polls.get(&id).cloned(), records)
                    .unwrap(),
                None => hub.restore(self.polls[&id].clone(), records).unwrap(),
            }
        }
        hub
    }
}

/// One end of a connection on the [`Hubs`] network.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Hub(PeerId),
    /// The test's client number `n` (a participant, or hand-made frames).
    Client(usize),
}

/// What reached a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToClient {
    /// A frame from hub `hub` on the client's connection `conn`.
    Frame {
        client: usize,
        conn: ConnId,
        hub: PeerId,
        frame: String,
    },
    /// Hub `hub` closed (or crashed with) the client's connection `conn`.
    Closed {
        client: usize,
        conn: ConnId,
        hub: PeerId,
    },
}

/// A hub, its store, and whether it is reachable.
pub struct Node {
    pub hub: Hub,
    pub store: Store,
    /// An offline hub takes no connection and its timer does not fire.
    pub online: bool,
}

/// Real hubs on a simulated network, in simulated time: each step is committed to the hub's
/// [`Store`] before its sends, closes and dials are performed (the commit-then-send rule);
/// frames are delivered one at a time, in order.
pub struct Hubs {
    /// Unix ms.
    pub now: u64,
    nodes: BTreeMap<PeerId, Node>,
    /// Connection → (dialer, acceptor hub).
    wires: BTreeMap<ConnId, (End, PeerId)>,
    /// (conn, towards the acceptor, frame).
    queue: VecDeque<(ConnId, bool, String)>,
    next_conn: u64,
    /// What reached clients, for the test to hand over.
    pub to_clients: VecDeque<ToClient>,
}

impl Hubs {
    /// Hubs for identities `hubs`, all online and empty, at [`NOW`].
    pub fn new(hubs: &[u8]) -> Self {
        let nodes = hubs
            .iter()
            .map(|n| {
                let node = Node {
                    hub: Hub::new(identity(*n), Limits::default()),
                    store: Store::default(),
                    online: true,
                };
                (peer(*n), node)
            })
            .collect();
        Self {
            now: NOW,
            nodes,
            wires: BTreeMap::new(),
            queue: VecDeque::new(),
            next_conn: 1,
            to_clients: VecDeque::new(),
        }
    }

    /// Olga's hub with her [`lunch_draft`] poll ([`poll_id`]), and the hosts `hosts`.
    pub fn with_poll(hosts: &[u8]) -> Self {
        let mut all = vec![OLGA];
        all.extend_from_slice(hosts);
        let mut hubs = Self::new(&all);
        let step = hubs
            .hub(OLGA)
            .create(poll_id(), lunch_draft(), NOW)
            .unwrap();
        hubs.take(&peer(OLGA), step);
        hubs
    }

    /// [`Hubs::with_poll`], then the poll moved by Olga's hub to `host`, settled.
    pub fn moved_to(host: u8) -> Self {
        let mut hubs = Self::with_poll(&[host]);
        let now = hubs.now;
        let step = hubs
            .hub(OLGA)
            .move_poll(poll_id(), peer(host), now)
            .unwrap();
        hubs.take(&peer(OLGA), step);
        hubs.settle();
        assert_eq!(hubs.serving(&poll_id()), [peer(host)]);
        hubs
    }

    /// Hub `n` (to drive it directly; pass its steps to [`Hubs::take`]).
    pub fn hub(&mut self, n: u8) -> &mut Hub {
        &mut self.node(n).hub
    }

    /// Hub `n` with its store and whether it is online.
    pub fn node(&mut self, n: u8) -> &mut Node {
        self.nodes.get_mut(&peer(n)).unwrap()
    }

    /// The hub of peer `p`, with its store and whether it is online.
    pub fn at(&self, p: &PeerId) -> &Node {
        &self.nodes[p]
    }

    /// Whether `hub` is a hub on this network and online.
    pub fn is_online(&self, hub: &PeerId) -> bool {
        self.nodes.get(hub).is_some_and(|n| n.online)
    }

    /// The open hub-to-hub connections (those dialed by `from`, if given).
    pub fn hub_wires(&self, from: Option<&PeerId>) -> Vec<ConnId> {
        self.wires
            .iter()
            .filter(|(_, (dialer, _))| match (dialer, from) {
                (End::Hub(p), Some(from)) => p == from,
                (End::Hub(_), None) => true,
                (End::Client(_), _) => false,
            })
            .map(|(c, _)| *c)
            .collect()
    }

    /// Closes connection `conn` as hub `by` does: the other end hears of it.
    pub fn close_by(&mut self, conn: ConnId, by: &PeerId) {
        self.close(conn, Some(by));
    }

    /// Hub `n` crashes: every connection it had drops (it hears nothing, the other ends see
    /// the close) and it restarts from its [`Store`], online or not.
    pub fn crash(&mut self, n: u8, online: bool) {
        let p = peer(n);
        let conns: Vec<ConnId> = self
            .wires
            .iter()
            .filter(|(_, (dialer, acceptor))| *acceptor == p || *dialer == End::Hub(p.clone()))
            .map(|(c, _)| *c)
            .collect();
        for conn in conns {
            self.close(conn, Some(&p));
        }
        let node = self.node(n);
        node.hub = node.store.load(n);
        node.online = online;
    }

    /// Hub `n` comes back online, or goes offline (a crash that stays down).
    pub fn set_online(&mut self, n: u8, online: bool) {
        if online {
            self.node(n).online = true;
        } else {
            self.crash(n, false);
        }
    }

    /// Who serves poll `id` now (not frozen, not only prepared).
    pub fn serving(&self, id: &PollId) -> Vec<PeerId> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.hub.poll(id).is_some())
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The poll as the one hub serving it has it.
    pub fn served(&self, id: &PollId) -> &Poll {
        let serving = self.serving(id);
        assert_eq!(serving.len(), 1, "exactly one hub serves the poll");
        self.nodes[&serving[0]].hub.poll(id).unwrap()
    }

    /// Commits hub `at`'s step, then performs its sends, closes and dials.
    pub fn take(&mut self, at: &PeerId, step: Step) {
        self.nodes.get_mut(at).unwrap().store.commit(&step.writes);
        for (conn, frame) in &step.sends {
            if let Some((_, acceptor)) = self.wires.get(conn) {
                let towards_acceptor = acceptor != at;
                self.queue
                    .push_back((*conn, towards_acceptor, frame.to_string()));
            }
        }
        for conn in step.closes {
            self.close(conn, Some(at));
        }
        for target in step.dials {
            self.dial(at, &target);
        }
    }

    /// Client `client` (identity `who`) opens a connection to `hub`; `None` if it is offline
    /// (or closed the connection at once).
    pub fn connect(&mut self, client: usize, who: &PeerId, hub: &PeerId) -> Option<ConnId> {
        if !self.is_online(hub) {
            return None;
        }
        let conn = self.new_wire(End::Client(client), hub);
        let now = self.now;
        let step = self
            .nodes
            .get_mut(hub)
            .unwrap()
            .hub
            .opened(conn, who.as_str(), now);
        self.take(hub, step);
        self.wires.contains_key(&conn).then_some(conn)
    }

    /// A client sends a frame on its connection (dropped if the connection is gone).
    pub fn send(&mut self, conn: ConnId, frame: String) {
        if self.wires.contains_key(&conn) {
            self.queue.push_back((conn, true, frame));
        }
    }

    /// A client closes its connection (the hub hears of it).
    pub fn disconnect(&mut self, conn: ConnId) {
        self.close(conn, None);
    }

    /// Delivers one frame; `false` if none was waiting. A frame to a client is added to
    /// [`Hubs::to_clients`].
    pub fn deliver_one(&mut self) -> bool {
        let Some((conn, towards_acceptor, frame)) = self.queue.pop_front() else {
            return false;
        };
        let Some((dialer, acceptor)) = self.wires.get(&conn).cloned() else {
            return true;
        };
        let now = self.now;
        let to = if towards_acceptor {
            End::Hub(acceptor.clone())
        } else {
            dialer
        };
        match to {
            End::Hub(at) => {
                let step =
                    self.nodes
                        .get_mut(&at)
                        .unwrap()
                        .hub
                        .receive(conn, Incoming::Text(&frame), now);
                self.take(&at, step);
            }
            End::Client(client) => self.to_clients.push_back(ToClient::Frame {
                client,
                conn,
                hub: acceptor,
                frame,
            }),
        }
        true
    }

    /// Delivers frames until none is waiting between hubs and none is left for a client.
    pub fn settle(&mut self) {
        while self.deliver_one() {}
    }

    /// When an online hub's timer is due next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.nodes
            .values()
            .filter(|n| n.online)
            .filter_map(|n| n.hub.poll_timeout())
            .min()
    }

    /// Fires the timer of every online hub due by [`Hubs::now`].
    pub fn wake(&mut self) {
        let now = self.now;
        let due: Vec<PeerId> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.online && n.hub.poll_timeout().is_some_and(|t| t <= now))
            .map(|(p, _)| p.clone())
            .collect();
        for p in due {
            let step = self
                .nodes
                .get_mut(&p)
                .unwrap()
                .hub
                .handle_timeout(now, || None);
            self.take(&p, step);
        }
    }

    fn new_wire(&mut self, dialer: End, acceptor: &PeerId) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.wires.insert(conn, (dialer, acceptor.clone()));
        conn
    }

    fn dial(&mut self, from: &PeerId, target: &PeerId) {
        if !self.is_online(target) {
            return;
        }
        let conn = self.new_wire(End::Hub(from.clone()), target);
        let now = self.now;
        let step = self
            .nodes
            .get_mut(target)
            .unwrap()
            .hub
            .opened(conn, from.as_str(), now);
        self.take(target, step);
        if self.wires.contains_key(&conn) {
            let step = self
                .nodes
                .get_mut(from)
                .unwrap()
                .hub
                .dialed(conn, target.as_str(), now);
            self.take(from, step);
        }
    }

    /// Closes a connection; both ends hear of it except `by` (the hub that closed it).
    fn close(&mut self, conn: ConnId, by: Option<&PeerId>) {
        let Some((dialer, acceptor)) = self.wires.remove(&conn) else {
            return;
        };
        self.queue.retain(|(c, _, _)| *c != conn);
        if by != Some(&acceptor) {
            let step = self.nodes.get_mut(&acceptor).unwrap().hub.closed(conn);
            self.take(&acceptor, step);
        }
        match dialer {
            End::Hub(p) if by != Some(&p) => {
                let step = self.nodes.get_mut(&p).unwrap().hub.closed(conn);
                self.take(&p, step);
            }
            End::Client(client) if by.is_some() => self.to_clients.push_back(ToClient::Closed {
                client,
                conn,
                hub: acceptor,
            }),
            _ => {}
        }
    }
}
