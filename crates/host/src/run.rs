//! The main loop: one thread, one task set, waiting on whichever comes first — a datagram, a
//! signaling frame, the earliest timer (signaling session, WebRTC, hub, health line) or a
//! stop signal — then feeding it to its machine, and flushing the hub after each round.
//!
//! Order of a round: handle the input and every other input already waiting (so a burst of
//! commands is one SQLite transaction), flush the hub (commit, **then** send and close), drive
//! the signaling session's outputs. A stop signal is looked at between rounds only, so the flush
//! in flight always finishes; then the queue is flushed once more, connections are closed, the
//! signaling socket is closed cleanly (freeing the ID at once) and the process exits.
//!
//! Hub-to-hub connections (PROTOCOL.md §8.4): a flush's [`crate::hub::Perform::dials`] are
//! dialed like a PeerJS dialer would — a str0m offer ([`Transport::dial`]) sent through the
//! session's `Connect`, its ANSWER and candidates fed back — and reported to the hub with
//! `dialed` when the channel opens. This is what lets the host be the *old* hub of a move: hand
//! a poll back to its owner's browser (take-back) or move it on. A failed dial is only logged:
//! the hub aborts the move, or dials again, on its own timer.

use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::session::{
    Input as SessionInput, Output as SessionOutput, PeerErrorKind, Session, SessionConfig,
};
use peerjs_client::signal::{ConnectionId, PeerName};
use starpoll_core::hub::Incoming;
use starpoll_core::poll::CommandId;
use starpoll_core::{Identity, PeerId, ServerConfig};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::hub::HubRuntime;
use crate::net::Datagram;
use crate::rtc::{self, Event, Transport};
use crate::signaling::{self, SocketEvent, SocketHandle};
use crate::{log, store::StoreError};

/// Most inputs handled in one round before a flush.
const MAX_ROUND: usize = 512;

/// Why the loop stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A commit failed: the hub stopped.
    #[error("storage failed, the hub stopped: {0}")]
    Store(#[from] StoreError),
    /// Signal handlers could not be installed.
    #[error("could not listen for signals: {0}")]
    Signals(#[source] std::io::Error),
    /// No randomness for the session seed.
    #[error("no randomness from the operating system: {0}")]
    Random(#[source] getrandom::Error),
}

/// Unix time in ms.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn fresh_command_id() -> Option<CommandId> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(CommandId::from_random_bytes(bytes))
}

struct Health {
    every_ms: u64,
    next: Instant,
    last_records: u64,
    last_at: Instant,
    /// Where the loop's time went since the last health line (issue 18).
    work: Work,
}

/// Counters of the loop's work between two health lines: what the hub sent and how long the
/// rounds took, so a stall can be told apart (sealing, sending, reading, starvation).
#[derive(Default)]
struct Work {
    /// Rounds of the loop.
    rounds: u64,
    /// Longest round, from its wake-up to the end of its flush.
    round_max: Duration,
    /// Time spent in rounds (the rest of the interval the loop waited).
    busy: Duration,
    /// Time spent in the hub's flushes (the pure hub's work is before, in the inputs).
    flush: Duration,
    /// Frames handed to the transport, and their bytes.
    frames: u64,
    bytes: u64,
    /// Distinct frames among them: each one sealed once (signed unless the connection is bound).
    sealed: u64,
    /// `peer:discovery` frames among `frames`, and their bytes.
    discovery: u64,
    discovery_bytes: u64,
}

/// The running host.
pub struct Host {
    runtime: HubRuntime,
    transport: Transport,
    session: Session,
    start: Instant,
    socket: Option<SocketHandle>,
    generation: u64,
    /// Where signaling sockets report, and where the loop reads it.
    socket_tx: UnboundedSender<SocketEvent>,
    socket_rx: UnboundedReceiver<SocketEvent>,
    health: Health,
    /// Set when the session is registered (for the health line).
    registered: bool,
    /// When to ask a stopped session to register again (after ID-TAKEN or a server ERROR).
    reconnect_at: Option<Instant>,
}

/// How long a session stopped by the server waits before registering again.
const RETRY_STOPPED_AFTER: Duration = Duration::from_secs(30);

impl Host {
    /// A host for `identity` on `server`.
    pub fn new(
        identity: &Identity,
        server: &ServerConfig,
        runtime: HubRuntime,
        transport: Transport,
        health_ms: u64,
    ) -> Result<Self, RunError> {
        let config = SessionConfig::new(
            server.clone(),
            PeerName::new(identity.peer_id().as_str()),
            identity.token().as_str(),
        );
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).map_err(RunError::Random)?;
        let start = Instant::now();
        let (socket_tx, socket_rx) = signaling::channel();
        Ok(Self {
            runtime,
            transport,
            session: Session::new(config, u64::from_le_bytes(seed), 0),
            start,
            socket: None,
            generation: 0,
            socket_tx,
            socket_rx,
            health: Health {
                every_ms: health_ms,
                next: start + Duration::from_millis(health_ms),
                last_records: 0,
                last_at: start,
                work: Work::default(),
            },
            registered: false,
            reconnect_at: None,
        })
    }

    fn mono(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs until SIGTERM or SIGINT (Ok) or a storage failure (Err).
    pub async fn run(mut self, mut datagrams: UnboundedReceiver<Datagram>) -> Result<(), RunError> {
        let mut term = signal(SignalKind::terminate()).map_err(RunError::Signals)?;
        let mut int = signal(SignalKind::interrupt()).map_err(RunError::Signals)?;
        // Deadlines that passed while the host was down close now.
        self.runtime.wake(unix_ms(), fresh_command_id);
        self.drive_session(None);
        self.flush()?;
        loop {
            let deadline = self.next_deadline();
            let mut woke = Instant::now();
            let stop = tokio::select! {
                biased;
                _ = term.recv() => Some("SIGTERM"),
                _ = int.recv() => Some("SIGINT"),
                Some(datagram) = datagrams.recv() => {
                    woke = Instant::now();
                    let mut events = Vec::new();
                    self.datagram(datagram, &mut events);
                    for _ in 0..MAX_ROUND {
                        match datagrams.try_recv() {
                            Ok(datagram) => self.datagram(datagram, &mut events),
                            Err(_) => break,
                        }
                    }
                    self.transport_events(events);
                    None
                }
                Some(event) = self.socket_rx.recv() => {
                    woke = Instant::now();
                    self.socket_event(event);
                    while let Ok(event) = self.socket_rx.try_recv() {
                        self.socket_event(event);
                    }
                    None
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    woke = Instant::now();
                    None
                }
            };
            // Timers are looked at after every round, not only when nothing else is ready: with
            // hundreds of connections datagrams arrive without pause, and a `biased` select
            // would then never reach the sleep (no liveness pings, no str0m timeouts).
            if Instant::now() >= deadline {
                self.timeouts();
            }
            self.flush()?;
            let took = woke.elapsed();
            let work = &mut self.health.work;
            work.rounds += 1;
            work.busy += took;
            work.round_max = work.round_max.max(took);
            if let Some(signal) = stop {
                log!(Info, "host.stopping", signal = signal);
                break;
            }
        }
        self.shutdown().await
    }

    async fn shutdown(&mut self) -> Result<(), RunError> {
        let now = Instant::now();
        let mut events = Vec::new();
        self.transport.close_all(now, &mut events);
        self.transport_events(events);
        self.flush()?;
        self.session
            .handle_input(SessionInput::Destroy, self.mono(now));
        self.drain_session();
        // Give the clean close a moment to reach the server.
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while let Some(event) = self.socket_rx.recv().await {
                if matches!(event, SocketEvent::Closed(..)) {
                    break;
                }
            }
        })
        .await;
        log!(
            Info,
            "host.stopped",
            polls = self.runtime.hub().polls().count()
        );
        Ok(())
    }

    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let mut deadline = self.health.next;
        if let Some(at) = self.reconnect_at {
            deadline = deadline.min(at);
        }
        if let Some(at) = self.session.poll_timeout() {
            deadline = deadline.min(self.start + Duration::from_millis(at));
        }
        if let Some(at) = self.transport.poll_timeout() {
            deadline = deadline.min(at);
        }
        if let Some(at) = self.runtime.poll_timeout() {
            let wait = at.saturating_sub(unix_ms());
            deadline = deadline.min(now + Duration::from_millis(wait));
        }
        // Never spin: a deadline the machines could not act on waits a little.
        deadline.max(now + Duration::from_millis(5))
    }

    fn timeouts(&mut self) {
        let now = Instant::now();
        if self
            .session
            .poll_timeout()
            .is_some_and(|at| at <= self.mono(now))
        {
            self.drive_session(Some(SessionInput::Tick));
        }
        let mut events = Vec::new();
        self.transport.handle_timeout(now, &mut events);
        self.transport_events(events);
        if self
            .runtime
            .poll_timeout()
            .is_some_and(|at| at <= unix_ms())
        {
            self.runtime.wake(unix_ms(), fresh_command_id);
        }
        if self.health.next <= now {
            self.health_line(now);
        }
        if self.reconnect_at.is_some_and(|at| at <= now) {
            self.reconnect_at = None;
            log!(Info, "signal.retry");
            self.drive_session(Some(SessionInput::Reconnect));
        }
    }

    fn health_line(&mut self, now: Instant) {
        let records = self.runtime.committed_records();
        let secs = now
            .saturating_duration_since(self.health.last_at)
            .as_secs_f64()
            .max(0.001);
        let rate = (records - self.health.last_records) as f64 / secs;
        let work = std::mem::take(&mut self.health.work);
        let per_s = |n: u64| format!("{:.0}", n as f64 / secs);
        log!(
            Info,
            "health",
            polls = self.runtime.hub().polls().count(),
            connections = self.runtime.hub().connections(),
            transports = self.transport.count(),
            commands_per_s = format!("{rate:.2}"),
            commands_total = records,
            registered = self.registered,
            rounds = work.rounds,
            round_max_ms = format!("{:.1}", work.round_max.as_secs_f64() * 1e3),
            busy_pct = format!("{:.0}", work.busy.as_secs_f64() / secs * 100.0),
            flush_pct = format!("{:.0}", work.flush.as_secs_f64() / secs * 100.0),
            frames_per_s = per_s(work.frames),
            bytes_per_s = per_s(work.bytes),
            sealed_per_s = per_s(work.sealed),
            discovery_per_s = per_s(work.discovery),
            discovery_bytes_per_s = per_s(work.discovery_bytes),
        );
        self.health.last_records = records;
        self.health.last_at = now;
        self.health.next = now + Duration::from_millis(self.health.every_ms);
    }

    fn datagram(&mut self, (source, local, bytes): Datagram, events: &mut Vec<Event>) {
        self.transport
            .receive(source, local, &bytes, Instant::now(), events);
    }

    /// Feeds connection events to the hub.
    fn transport_events(&mut self, events: Vec<Event>) {
        let now = unix_ms();
        for event in events {
            match event {
                Event::Opened {
                    conn,
                    peer,
                    connection_id,
                    dialed,
                } => {
                    self.session.handle_input(
                        SessionInput::ConnectionOpened(connection_id),
                        self.mono(Instant::now()),
                    );
                    if dialed {
                        self.runtime.dialed(conn, &peer, now);
                    } else {
                        self.runtime.opened(conn, &peer, now);
                    }
                }
                Event::Message(conn, Data::Packed(Value::Str(text))) => {
                    self.runtime.receive(conn, Incoming::Text(&text), now);
                }
                Event::Message(conn, _) => self.runtime.receive(conn, Incoming::NotText, now),
                Event::TooLarge(conn) => self.runtime.receive(conn, Incoming::TooLarge, now),
                Event::Closed {
                    conn,
                    connection_id,
                    opened,
                } => {
                    self.session.handle_input(
                        SessionInput::ConnectionClosed(connection_id),
                        self.mono(Instant::now()),
                    );
                    if opened {
                        self.runtime.closed(conn);
                    }
                }
            }
        }
        self.drain_session();
    }

    /// Commits the hub's queued steps, then performs their sends and closes.
    fn flush(&mut self) -> Result<(), RunError> {
        // Closing a connection yields a hub step (its subscriptions end): flush until quiet.
        let began = Instant::now();
        while self.runtime.pending() {
            let perform = self.runtime.flush()?;
            let now = Instant::now();
            let mut events = Vec::new();
            let mut last: Option<&Rc<str>> = None;
            for (conn, frame) in &perform.sends {
                let work = &mut self.health.work;
                work.frames += 1;
                work.bytes += frame.len() as u64;
                // A broadcast's frames share one `Rc` (sealed once), and come one after another.
                if !last.is_some_and(|l| Rc::ptr_eq(l, frame)) {
                    work.sealed += 1;
                }
                if frame.contains("peer:discovery") {
                    work.discovery += 1;
                    work.discovery_bytes += frame.len() as u64;
                }
                last = Some(frame);
                self.transport.send(*conn, frame, now, &mut events);
            }
            for conn in &perform.closes {
                self.transport.close(*conn, now, &mut events);
            }
            for peer in &perform.dials {
                self.dial(peer, now, &mut events);
            }
            self.transport_events(events);
        }
        self.health.work.flush += began.elapsed();
        Ok(())
    }

    /// Opens a hub-to-hub connection to `peer` (PROTOCOL.md §8.4): a str0m dial whose OFFER
    /// and candidates go out through the signaling session, exactly as a PeerJS dialer's. Its
    /// opening reaches the hub as [`HubRuntime::dialed`]; a dial that fails is only logged (the
    /// hub retries or aborts the move on its own timer). A peer still being dialed is not
    /// dialed twice.
    fn dial(&mut self, peer: &PeerId, now: Instant, events: &mut Vec<Event>) {
        let remote = PeerName::new(peer.as_str());
        if self.transport.dialing(&remote) {
            return;
        }
        let mut random = [0u8; 8];
        if let Err(error) = getrandom::fill(&mut random) {
            log!(Warn, "conn.dial_failed", peer = peer, error = error);
            return;
        }
        let connection_id = ConnectionId::from_random_bytes(random);
        match self
            .transport
            .dial(remote.clone(), connection_id.clone(), now, events)
        {
            Ok((conn, offer, candidates)) => {
                log!(
                    Info,
                    "conn.dial",
                    conn = conn.0,
                    peer = peer,
                    connection_id = connection_id
                );
                let mono = self.mono(now);
                for input in rtc::dial_inputs(&remote, offer, candidates) {
                    self.session.handle_input(input, mono);
                }
            }
            Err(error) => log!(Warn, "conn.dial_failed", peer = peer, error = error),
        }
    }

    fn socket_event(&mut self, event: SocketEvent) {
        let input = match event {
            SocketEvent::Opened(generation) if generation == self.generation => {
                SessionInput::SocketOpened
            }
            SocketEvent::Text(generation, text) if generation == self.generation => {
                SessionInput::SocketText(text)
            }
            SocketEvent::Closed(generation, reason) if generation == self.generation => {
                log!(Info, "signal.socket_closed", reason = reason);
                self.socket = None;
                SessionInput::SocketClosed
            }
            _ => return, // a socket already replaced or closed
        };
        self.drive_session(Some(input));
    }

    fn drive_session(&mut self, input: Option<SessionInput>) {
        if let Some(input) = input {
            self.session.handle_input(input, self.mono(Instant::now()));
        }
        self.drain_session();
    }

    fn drain_session(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                SessionOutput::OpenSocket { url } => {
                    self.generation += 1;
                    log!(
                        Info,
                        "signal.connect",
                        url = url.split('?').next().unwrap_or("")
                    );
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
                    self.generation += 1;
                }
                SessionOutput::SendText(text) => {
                    if let Some(socket) = &self.socket {
                        socket.send(text);
                    }
                }
                SessionOutput::Open => {
                    self.registered = true;
                    log!(Info, "signal.open", peer_id = self.session.config().id);
                }
                SessionOutput::Disconnected => {
                    self.registered = false;
                    log!(Warn, "signal.disconnected");
                }
                SessionOutput::Error(error) => {
                    // ID-TAKEN and server errors stop the session; a host keeps trying.
                    let stopped = matches!(
                        error.kind,
                        PeerErrorKind::UnavailableId | PeerErrorKind::ServerError
                    );
                    if stopped {
                        self.reconnect_at = Some(Instant::now() + RETRY_STOPPED_AFTER);
                    }
                    log!(
                        Warn,
                        "signal.error",
                        kind = error.kind,
                        message = error.message,
                        retry_in_s = if stopped {
                            RETRY_STOPPED_AFTER.as_secs()
                        } else {
                            0
                        },
                    );
                }
                SessionOutput::IncomingOffer { src, payload } => {
                    let now = Instant::now();
                    let mut events = Vec::new();
                    let connection_id = payload.connection_id.clone();
                    match self
                        .transport
                        .answer(src.clone(), payload, now, &mut events)
                    {
                        Ok(answered) => {
                            log!(
                                Info,
                                "conn.offer",
                                conn = answered.conn.0,
                                peer = src,
                                connection_id = connection_id
                            );
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
                        Err(error) => {
                            log!(
                                Warn,
                                "conn.offer_refused",
                                peer = src,
                                connection_id = connection_id,
                                error = error
                            );
                            self.session.handle_input(
                                SessionInput::ConnectionClosed(connection_id),
                                self.mono(now),
                            );
                        }
                    }
                    self.transport_events(events);
                }
                SessionOutput::RemoteCandidate {
                    connection_id,
                    payload,
                } => {
                    let mut events = Vec::new();
                    self.transport.remote_candidate(
                        &connection_id,
                        &payload,
                        Instant::now(),
                        &mut events,
                    );
                    self.transport_events(events);
                }
                SessionOutput::CloseConnectionsTo { peer } => {
                    let mut events = Vec::new();
                    self.transport
                        .close_peer(&peer, Instant::now(), &mut events);
                    self.transport_events(events);
                }
                SessionOutput::RemoteAnswer { payload, .. } => {
                    let mut events = Vec::new();
                    self.transport
                        .remote_answer(&payload, Instant::now(), &mut events);
                    self.transport_events(events);
                }
                SessionOutput::ConnectFailed {
                    connection_id,
                    peer,
                    reason,
                } => {
                    log!(
                        Info,
                        "conn.dial_failed",
                        peer = peer,
                        connection_id = connection_id,
                        reason = format!("{reason:?}")
                    );
                    let mut events = Vec::new();
                    self.transport.abandon(&connection_id, &mut events);
                    self.transport_events(events);
                }
            }
        }
    }
}
