//! Many PeerJS peers in one process, each a real one: its own signaling WebSocket and pure
//! `peerjs_client::session::Session`, its own UDP socket and the host's str0m
//! [`Transport`] (the same DTLS/SCTP stack and `binary` framing the host answers with). A
//! [`Swarm`] runs them all on one thread and one clock, and hands what happens to a [`Peers`]
//! behaviour (followers of a poll, raw baseline clients, the raw broadcaster).
//!
//! The driving loop ([`Swarm::run`]) waits for a datagram, a signaling frame or the earliest
//! timer of any node or behaviour; it feeds a whole batch of datagrams to the transports first,
//! stamping each resulting event with the instant its transport produced it, and only then lets
//! the behaviour act on them. So the *arrival* time of a frame does not include the time the
//! process spends verifying the frames that arrived in the same batch.
//!
//! Invariants:
//! - Each node's socket generations are tagged with its index (`index << 32 | n`), so one
//!   channel carries every node's signaling events and each reaches its own session, and a
//!   replaced socket's events are ignored (the session's rule).
//! - str0m's contract is the transport's: every mutation is followed by draining its output.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peerjs_client::session::{
    Input as SessionInput, Output as SessionOutput, Session, SessionConfig,
};
use peerjs_client::signal::{ConnectionId, PeerName};
use starpoll_core::hub::ConnId;
use starpoll_core::{Identity, ServerConfig};
use starpoll_host::net::{spawn_readers, Datagram};
use starpoll_host::rtc::{dial_inputs, Event, OfferError, Socket, Transport};
use starpoll_host::signaling::{self, SocketEvent, SocketHandle};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Most datagrams handled in one batch.
const MAX_BATCH: usize = 2048;

/// Connections one node accepts (the broadcaster answers every load client; the starpoll-host
/// default is 2000).
const MAX_CONNECTIONS: usize = 2000;

/// Why the swarm could not add a node.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// The node's UDP socket.
    #[error("could not bind a UDP socket on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What happened at a node, for its behaviour.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// The node is registered with the PeerJS server (it can dial now).
    Registered,
    /// Its transport reported this.
    Rtc(Event),
}

/// One PeerJS peer: signaling session, socket and WebRTC transport.
pub struct Node {
    session: Session,
    transport: Transport,
    socket: Option<SocketHandle>,
    socket_tx: UnboundedSender<SocketEvent>,
    tag: u64,
    generation: u64,
    registered: bool,
    start: Instant,
    /// Events waiting for the behaviour, with the instant they happened.
    events: VecDeque<(NodeEvent, Instant)>,
}

impl Node {
    fn mono(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the node is registered with the PeerJS server.
    pub fn registered(&self) -> bool {
        self.registered
    }

    /// Dials `remote` like a PeerJS dialer (ordered `binary` channel, liveness advertised).
    pub fn dial(&mut self, remote: &PeerName, now: Instant) -> Result<ConnId, OfferError> {
        let connection_id = self.session.new_connection_id();
        let mut events = Vec::new();
        let (conn, offer, candidates) =
            self.transport
                .dial(remote.clone(), connection_id, now, &mut events)?;
        let mono = self.mono(now);
        for input in dial_inputs(remote, offer, candidates) {
            self.session.handle_input(input, mono);
        }
        self.transport_events(events, now);
        self.drain_session();
        Ok(conn)
    }

    /// Sends a text message on `conn`.
    pub fn send(&mut self, conn: ConnId, text: &str, now: Instant) {
        let mut events = Vec::new();
        self.transport.send(conn, text, now, &mut events);
        self.transport_events(events, now);
    }

    /// Closes `conn`.
    pub fn close(&mut self, conn: ConnId, now: Instant) {
        let mut events = Vec::new();
        self.transport.close(conn, now, &mut events);
        self.transport_events(events, now);
    }

    /// Closes every connection and the signaling socket.
    pub fn shut_down(&mut self, now: Instant) {
        let mut events = Vec::new();
        self.transport.close_all(now, &mut events);
        self.transport_events(events, now);
        self.session
            .handle_input(SessionInput::Destroy, self.mono(now));
        self.drain_session();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let session = self
            .session
            .poll_timeout()
            .map(|ms| self.start + Duration::from_millis(ms));
        [session, self.transport.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn timeout(&mut self, now: Instant) {
        if self
            .session
            .poll_timeout()
            .is_some_and(|at| at <= self.mono(now))
        {
            self.session
                .handle_input(SessionInput::Tick, self.mono(now));
            self.drain_session();
        }
        let mut events = Vec::new();
        self.transport.handle_timeout(now, &mut events);
        self.transport_events(events, now);
    }

    fn datagram(&mut self, (source, local, bytes): Datagram, now: Instant) {
        let mut events = Vec::new();
        self.transport
            .receive(source, local, &bytes, now, &mut events);
        self.transport_events(events, now);
    }

    fn socket_event(&mut self, event: SocketEvent) {
        let input = match event {
            SocketEvent::Opened(generation) if generation == self.generation => {
                SessionInput::SocketOpened
            }
            SocketEvent::Text(generation, text) if generation == self.generation => {
                SessionInput::SocketText(text)
            }
            SocketEvent::Closed(generation, _) if generation == self.generation => {
                self.socket = None;
                SessionInput::SocketClosed
            }
            _ => return,
        };
        self.session.handle_input(input, self.mono(Instant::now()));
        self.drain_session();
    }

    /// Tells the session about opened and closed connections and queues the events.
    fn transport_events(&mut self, events: Vec<Event>, at: Instant) {
        for event in events {
            match &event {
                Event::Opened { connection_id, .. } => self.session.handle_input(
                    SessionInput::ConnectionOpened(connection_id.clone()),
                    self.mono(at),
                ),
                Event::Closed { connection_id, .. } => self.session.handle_input(
                    SessionInput::ConnectionClosed(connection_id.clone()),
                    self.mono(at),
                ),
                Event::Message(..) | Event::TooLarge(_) => {}
            }
            self.events.push_back((NodeEvent::Rtc(event), at));
        }
    }

    /// Acts on every output of the session (the same as the host's loop does).
    fn drain_session(&mut self) {
        while let Some(output) = self.session.poll_output() {
            let now = Instant::now();
            let mut events = Vec::new();
            match output {
                SessionOutput::OpenSocket { url } => {
                    self.generation = self.tag | (self.generation.wrapping_add(1) & 0xffff_ffff);
                    self.socket = Some(signaling::open(
                        url,
                        self.generation,
                        self.socket_tx.clone(),
                    ));
                }
                SessionOutput::CloseSocket => {
                    if let Some(socket) = self.socket.take() {
                        socket.close();
                    }
                    self.generation = self.tag | (self.generation.wrapping_add(1) & 0xffff_ffff);
                }
                SessionOutput::SendText(text) => {
                    if let Some(socket) = &self.socket {
                        socket.send(text);
                    }
                }
                SessionOutput::Open => {
                    self.registered = true;
                    self.events.push_back((NodeEvent::Registered, now));
                }
                SessionOutput::Disconnected => self.registered = false,
                SessionOutput::Error(_) => {}
                SessionOutput::IncomingOffer { src, payload } => {
                    let connection_id: ConnectionId = payload.connection_id.clone();
                    match self
                        .transport
                        .answer(src.clone(), payload, now, &mut events)
                    {
                        Ok(answered) => {
                            let mono = self.mono(now);
                            self.session.handle_input(
                                SessionInput::SendAnswer {
                                    remote: src.clone(),
                                    answer: answered.answer,
                                },
                                mono,
                            );
                            for candidate in answered.candidates {
                                self.session.handle_input(
                                    SessionInput::SendCandidate {
                                        remote: src.clone(),
                                        candidate,
                                    },
                                    mono,
                                );
                            }
                        }
                        Err(_) => self.session.handle_input(
                            SessionInput::ConnectionClosed(connection_id),
                            self.mono(now),
                        ),
                    }
                }
                SessionOutput::RemoteCandidate {
                    connection_id,
                    payload,
                } => self
                    .transport
                    .remote_candidate(&connection_id, &payload, now, &mut events),
                SessionOutput::RemoteAnswer { payload, .. } => {
                    self.transport.remote_answer(&payload, now, &mut events)
                }
                SessionOutput::CloseConnectionsTo { peer } => {
                    self.transport.close_peer(&peer, now, &mut events)
                }
                SessionOutput::ConnectFailed { connection_id, .. } => {
                    self.transport.abandon(&connection_id, &mut events)
                }
            }
            self.transport_events(events, now);
        }
    }
}

/// What the simulated peers do with their nodes.
pub trait Peers {
    /// Something happened at node `index` at `at`.
    fn event(&mut self, index: usize, node: &mut Node, event: NodeEvent, at: Instant);
    /// Node `index`'s own timer is due.
    fn timeout(&mut self, index: usize, node: &mut Node, now: Instant);
    /// When node `index`'s own timer is due, if at all.
    fn next_timeout(&self, index: usize) -> Option<Instant>;
}

/// Every node of the process and the channels their I/O reports on.
pub struct Swarm {
    nodes: Vec<Node>,
    by_addr: HashMap<SocketAddr, usize>,
    datagram_tx: UnboundedSender<Datagram>,
    datagrams: UnboundedReceiver<Datagram>,
    socket_tx: UnboundedSender<SocketEvent>,
    sockets: UnboundedReceiver<SocketEvent>,
    start: Instant,
}

impl Default for Swarm {
    fn default() -> Self {
        Self::new()
    }
}

impl Swarm {
    /// An empty swarm (call [`Swarm::add`] inside a tokio `LocalSet`).
    pub fn new() -> Self {
        let (datagram_tx, datagrams) = unbounded_channel();
        let (socket_tx, sockets) = signaling::channel();
        Self {
            nodes: Vec::new(),
            by_addr: HashMap::new(),
            datagram_tx,
            datagrams,
            socket_tx,
            sockets,
            start: Instant::now(),
        }
    }

    /// Nodes so far.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `index`.
    pub fn node(&mut self, index: usize) -> Option<&mut Node> {
        self.nodes.get_mut(index)
    }

    /// Adds a node for `identity` on a fresh UDP socket at `addr` (port 0: any), registering
    /// with `server`; `seed` drives its session's randomness (connection IDs, backoff).
    /// Returns its index.
    pub async fn add(
        &mut self,
        identity: &Identity,
        server: &ServerConfig,
        addr: SocketAddr,
        seed: u64,
    ) -> Result<usize, SwarmError> {
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|source| SwarmError::Bind { addr, source })?;
        starpoll_host::net::enlarge_receive_buffer(&udp);
        let local = udp
            .local_addr()
            .map_err(|source| SwarmError::Bind { addr, source })?;
        let socket = Socket {
            socket: Arc::new(udp),
            addr: local,
        };
        spawn_readers(std::slice::from_ref(&socket), &self.datagram_tx);
        let index = self.nodes.len();
        let config = SessionConfig::new(
            server.clone(),
            PeerName::new(identity.peer_id().as_str()),
            identity.token().as_str(),
        );
        let mono =
            u64::try_from(Instant::now().duration_since(self.start).as_millis()).unwrap_or(0);
        let mut node = Node {
            session: Session::new(config, seed, mono),
            transport: Transport::new(vec![socket], Vec::new(), MAX_CONNECTIONS),
            socket: None,
            socket_tx: self.socket_tx.clone(),
            tag: (index as u64) << 32,
            generation: (index as u64) << 32,
            registered: false,
            start: self.start,
            events: VecDeque::new(),
        };
        node.drain_session();
        self.by_addr.insert(local, index);
        self.nodes.push(node);
        Ok(index)
    }

    /// Runs until `done` holds (true) or `until` passes (false).
    pub async fn run<P: Peers>(
        &mut self,
        peers: &mut P,
        until: Instant,
        mut done: impl FnMut(&P) -> bool,
    ) -> bool {
        loop {
            self.dispatch_all(peers);
            if done(peers) {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            let mut deadline = until;
            for (index, node) in self.nodes.iter().enumerate() {
                for at in [node.poll_timeout(), peers.next_timeout(index)]
                    .into_iter()
                    .flatten()
                {
                    deadline = deadline.min(at);
                }
            }
            let deadline = deadline.max(now + Duration::from_millis(1));
            tokio::select! {
                biased;
                Some(datagram) = self.datagrams.recv() => {
                    self.datagram(datagram);
                    for _ in 0..MAX_BATCH {
                        match self.datagrams.try_recv() {
                            Ok(datagram) => self.datagram(datagram),
                            Err(_) => break,
                        }
                    }
                }
                Some(event) = self.sockets.recv() => {
                    self.socket_event(event);
                    while let Ok(event) = self.sockets.try_recv() {
                        self.socket_event(event);
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => {}
            }
            // Timers every turn, not only when nothing else is ready: a steady stream of
            // datagrams must not starve the liveness pings and heartbeats.
            self.dispatch_all(peers);
            let now = Instant::now();
            for (index, node) in self.nodes.iter_mut().enumerate() {
                if node.poll_timeout().is_some_and(|at| at <= now) {
                    node.timeout(now);
                }
                if peers.next_timeout(index).is_some_and(|at| at <= now) {
                    peers.timeout(index, node, now);
                }
            }
        }
    }

    /// Closes every node's connections and signaling sockets, and gives the closes a moment.
    pub async fn shut_down(&mut self) {
        let now = Instant::now();
        for node in &mut self.nodes {
            node.shut_down(now);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    fn datagram(&mut self, datagram: Datagram) {
        if let Some(&index) = self.by_addr.get(&datagram.1) {
            if let Some(node) = self.nodes.get_mut(index) {
                node.datagram(datagram, Instant::now());
            }
        }
    }

    fn socket_event(&mut self, event: SocketEvent) {
        let generation = match &event {
            SocketEvent::Opened(g) | SocketEvent::Text(g, _) | SocketEvent::Closed(g, _) => *g,
        };
        let index = usize::try_from(generation >> 32).unwrap_or(usize::MAX);
        if let Some(node) = self.nodes.get_mut(index) {
            node.socket_event(event);
        }
    }

    /// Hands every queued node event to the behaviour, until none is left.
    fn dispatch_all<P: Peers>(&mut self, peers: &mut P) {
        for (index, node) in self.nodes.iter_mut().enumerate() {
            while let Some((event, at)) = node.events.pop_front() {
                peers.event(index, node, event, at);
            }
        }
    }
}
