//! The owner's hub: the authority at the centre of the star. It holds the owner's polls and
//! their command records, follows every participant's data connection, and decides what to store
//! and what to send — without doing either (sans-IO, like the PeerJS [session] machine).
//!
//! The driving loop (the browser shell in `src/hub.rs`):
//! - feed it what happens: [`Hub::opened`], [`Hub::receive`], [`Hub::closed`], the owner's own
//!   actions ([`Hub::create`], [`Hub::local`]) and one timer, armed for [`Hub::poll_timeout`]
//!   ([`Hub::handle_timeout`]: heartbeats, silent connections, polls whose deadline came),
//!   always with the current time;
//! - each call returns a [`Step`]: first commit `step.writes` durably (one IndexedDB transaction
//!   may hold many steps), **then** send `step.sends` and close `step.closes`, in order. Steps
//!   are performed in the order they were returned.
//!
//! Invariants:
//! - A command's state change and its [`ProcessedRecord`] are in the same step's writes, and its
//!   `ack` is in the same step's sends, so an ack never leaves before its commit (PROTOCOL.md
//!   §4.2); a resend is answered from the record and is never applied twice.
//! - Nothing a connection sends can panic the hub or change state except through
//!   [`ProcessedCommands::process`]: unopenable frames get an `error` with `commandId: null`
//!   (PROTOCOL.md §4.8), frames beyond the rate limit are dropped unread, and owner→participant
//!   message types are ignored.
//! - Subscriptions belong to connections and end with them; every change of a poll's subscriber
//!   set is announced with `peer:discovery` (§4.9).
//! - Every frame the hub sends is sealed by the owner's identity.
//! - An applied `poll:vote` keeps its signed frame in its record (the owner's own vote is sealed
//!   by the hub with the owner's key), so [`Hub::snapshot`] can export a file in which every
//!   ballot carries its voter's signature ([`crate::snapshot`]).
//! - [`Hub::delete`] forgets a poll and its records at once: the step's [`Write::DeletePoll`]
//!   removes both from storage (and stores the poll's id as deleted) before anyone is told;
//!   subscribers get `poll-deleted`, and from then on anyone who names the poll gets
//!   `poll-deleted` too (the hub keeps the ids of deleted polls: [`Hub::restore_deleted`]),
//!   while a poll the hub never had gets `unknown-poll`.
//! - `poll:list` names only the polls whose settings say `listed`; every poll, listed or not, is
//!   served to whoever names its id (`sync:request`, commands), so an unlisted poll is reached by
//!   its invite link alone.
//!
//! The rules implemented here are PROTOCOL.md §4.10, plus the limits in [`Limits`].
//!
//! [session]: https://docs.rs/peerjs-client

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::poll::{
    due_to_close, update_for, view_for, Change, Command, CommandId, Outcome, Poll, PollDraft,
    PollId, Processed, ProcessedCommands, ProcessedRecord, Refusal, Revision, Update,
};
use crate::protocol::{
    open_from, seal, CommandFrame, Control, ErrorCode, Message, PeerInfo, PollSummary,
};
use crate::snapshot::{self, ExportError};
use crate::{Identity, PeerId};

/// A data connection, numbered by the shell (unique for the hub's lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// The hub's per-connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Send a heartbeat on a connection the hub has sent nothing on for this long (ms).
    pub heartbeat_after_ms: u64,
    /// Close a connection the hub has heard nothing on for this long (ms).
    pub silence_close_ms: u64,
    /// Frames a connection may send in a burst.
    pub burst: u32,
    /// Frames per second a connection may send on average.
    pub per_second: u32,
    /// Open connections per remote peer; a newer one closes the oldest.
    pub per_peer: usize,
}

impl Default for Limits {
    /// 5 s heartbeat, 15 s silence (PROTOCOL.md §4.9); a returning participant may flush a
    /// 2,000-command outbox at once, then 500 frames/s; 4 connections per peer (tabs).
    fn default() -> Self {
        Self {
            heartbeat_after_ms: crate::protocol::HEARTBEAT_AFTER_MS,
            silence_close_ms: crate::protocol::SILENCE_CLOSE_MS,
            burst: 2_000,
            per_second: 500,
            per_peer: 4,
        }
    }
}

/// Something to commit before the step's sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Store this poll (replacing the stored one with the same id).
    Poll(Box<Poll>),
    /// Store this command record of a poll.
    Record(PollId, ProcessedRecord),
    /// Delete this poll and every command record of it (the owner deleted the poll), and keep
    /// its id as deleted (restored with [`Hub::restore_deleted`], so participants keep hearing
    /// `poll-deleted`). Writes before it in the same batch are superseded; writes after it stand.
    DeletePoll(PollId),
}

/// What one input asks the shell to do, in this order: commit `writes`, send `sends`, close
/// `closes`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Step {
    /// Commit these first, all or nothing.
    pub writes: Vec<Write>,
    /// Then send each frame on its connection, in order. A frame broadcast to several connections
    /// is one shared string, sealed (signed) once.
    pub sends: Vec<(ConnId, Rc<str>)>,
    /// Then close these connections (the hub has already forgotten them).
    pub closes: Vec<ConnId>,
    /// Polls whose state or connected peers changed (for the owner's screen).
    pub changed: BTreeSet<PollId>,
    /// What went wrong with someone's input, for the console.
    pub log: Vec<String>,
}

impl Step {
    /// Appends `later`, to be performed after this step.
    pub fn extend(&mut self, later: Step) {
        self.writes.extend(later.writes);
        self.sends.extend(later.sends);
        self.closes.extend(later.closes);
        self.changed.extend(later.changed);
        self.log.extend(later.log);
    }

    /// Whether the step asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.sends.is_empty()
            && self.closes.is_empty()
            && self.changed.is_empty()
            && self.log.is_empty()
    }
}

/// What the hub received on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A string message: a frame.
    Text(&'a str),
    /// Anything else PeerJS delivered (a number, bytes, an object): never a frame.
    NotText,
    /// A message the transport dropped for its size before it could be read (over the
    /// reassembly limits, PROTOCOL.md §1.3): answered `too-large`.
    TooLarge,
}

struct Hosted {
    poll: Poll,
    processed: ProcessedCommands,
}

struct Conn {
    peer: PeerId,
    subscribed: BTreeSet<PollId>,
    opened_at: u64,
    last_heard: u64,
    last_sent: u64,
    /// Token bucket, in thousandths of a frame.
    tokens_milli: u64,
    refilled_at: u64,
    /// When the last `rate-limited` error went out (one per second at most).
    warned_at: Option<u64>,
}

/// The owner's hub. See the module docs for the loop.
pub struct Hub {
    owner: Identity,
    limits: Limits,
    polls: BTreeMap<PollId, Hosted>,
    conns: BTreeMap<ConnId, Conn>,
    /// Ids of the polls the owner deleted: answered `poll-deleted`, not `unknown-poll`.
    deleted: BTreeSet<PollId>,
    /// The time of the input being handled (every entry point that can send sets it).
    now_ms: u64,
}

impl Hub {
    /// A hub for `owner` with no polls and no connections.
    pub fn new(owner: Identity, limits: Limits) -> Self {
        Self {
            owner,
            limits,
            polls: BTreeMap::new(),
            conns: BTreeMap::new(),
            deleted: BTreeSet::new(),
            now_ms: 0,
        }
    }

    /// The owner's peer ID.
    pub fn owner(&self) -> &PeerId {
        self.owner.peer_id()
    }

    /// Loads a stored poll and its command records (at startup). A poll owned by someone else is
    /// refused: this hub can only serve its own.
    pub fn restore(
        &mut self,
        poll: Poll,
        records: impl IntoIterator<Item = ProcessedRecord>,
    ) -> Result<(), NotMine> {
        if poll.owner != *self.owner() {
            return Err(NotMine(poll.id));
        }
        let processed = records.into_iter().collect();
        self.polls.insert(poll.id, Hosted { poll, processed });
        Ok(())
    }

    /// Loads the ids of polls the owner deleted (at startup, from the [`Write::DeletePoll`]s
    /// stored before): whoever names one of them hears `poll-deleted`, not `unknown-poll`.
    pub fn restore_deleted(&mut self, ids: impl IntoIterator<Item = PollId>) {
        self.deleted.extend(ids);
    }

    /// Whether the owner deleted `poll` (since the ids of deleted polls have been kept).
    pub fn was_deleted(&self, poll: &PollId) -> bool {
        self.deleted.contains(poll)
    }

    /// The hosted polls, by id.
    pub fn polls(&self) -> impl Iterator<Item = &Poll> {
        self.polls.values().map(|hosted| &hosted.poll)
    }

    /// One hosted poll.
    pub fn poll(&self, id: &PollId) -> Option<&Poll> {
        self.polls.get(id).map(|hosted| &hosted.poll)
    }

    /// The peers connected for `poll` now: the owner first, then each subscribed remote peer
    /// once (PROTOCOL.md §4.9).
    pub fn present(&self, poll: &PollId) -> Vec<PeerInfo> {
        let Some(hosted) = self.polls.get(poll) else {
            return Vec::new();
        };
        let mut peers = vec![self.owner().clone()];
        for conn in self.conns.values() {
            if conn.subscribed.contains(poll) && !peers.contains(&conn.peer) {
                peers.push(conn.peer.clone());
            }
        }
        PeerInfo::list(&hosted.poll, &peers)
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Creates a poll owned by this hub's owner.
    pub fn create(&mut self, id: PollId, draft: PollDraft, now_ms: u64) -> Result<Step, Refusal> {
        let poll = Poll::new(id, self.owner().clone(), draft, now_ms)?;
        let mut step = Step::default();
        step.writes.push(Write::Poll(Box::new(poll.clone())));
        step.changed.insert(id);
        self.polls.insert(
            id,
            Hosted {
                poll,
                processed: ProcessedCommands::new(),
            },
        );
        Ok(step)
    }

    /// The owner's own command (from its screen, or the automatic close): processed like anyone
    /// else's, with author = owner. Returns the step and the outcome (an unknown poll is `None`).
    pub fn local(
        &mut self,
        poll_id: PollId,
        command_id: CommandId,
        command: &Command,
        now_ms: u64,
    ) -> (Step, Option<Outcome>) {
        self.now_ms = now_ms;
        let owner = self.owner().clone();
        let mut step = Step::default();
        // The owner's ballot is signed like everyone else's, so a snapshot can prove it too.
        let frame = match command {
            Command::CastVote { .. } => {
                let frame = CommandFrame {
                    command: command.clone(),
                    poll_id,
                    command_id,
                };
                match seal(&self.owner, &frame.into()) {
                    Ok(text) => Some(text),
                    Err(error) => {
                        step.log
                            .push(format!("could not seal the owner's vote: {error}"));
                        None
                    }
                }
            }
            _ => None,
        };
        let outcome = self.process(
            &mut step,
            poll_id,
            &owner,
            command_id,
            command,
            frame.as_deref(),
        );
        (step, outcome)
    }

    /// Deletes a hosted poll (the owner's decision): the step's writes delete it and its
    /// records ([`Write::DeletePoll`]); then every connection subscribed to it gets an `error`
    /// with `commandId: null` and code `poll-deleted`, and is unsubscribed; the id is kept, so
    /// whoever names the poll later hears `poll-deleted` too. Other polls and the
    /// connections themselves are untouched. An unknown poll gives an empty step.
    pub fn delete(&mut self, poll: PollId) -> Step {
        let mut step = Step::default();
        if self.polls.remove(&poll).is_none() {
            return step;
        }
        step.writes.push(Write::DeletePoll(poll));
        step.changed.insert(poll);
        self.deleted.insert(poll);
        let subscribers: Vec<ConnId> = self
            .conns
            .iter_mut()
            .filter_map(|(id, c)| c.subscribed.remove(&poll).then_some(*id))
            .collect();
        let gone: Message = Control::poll_deleted(poll, None).into();
        for conn in subscribers {
            self.send(&mut step, conn, &gone);
        }
        step
    }

    /// The signed snapshot file of a hosted poll at `now_ms` ([`snapshot::export`]): the poll
    /// and every ballot's signed vote frame, signed by the owner.
    pub fn snapshot(&self, poll: &PollId, now_ms: u64) -> Result<String, ExportError> {
        let hosted = self
            .polls
            .get(poll)
            .ok_or(ExportError::UnknownPoll(*poll))?;
        let records: Vec<ProcessedRecord> = hosted.processed.records().collect();
        snapshot::export(&self.owner, &hosted.poll, &records, now_ms)
    }

    /// A participant's data connection opened. `remote` is the PeerJS peer ID at the other end;
    /// one that is not a canonical peer ID is closed at once (its frames could never be opened).
    pub fn opened(&mut self, conn: ConnId, remote: &str, now_ms: u64) -> Step {
        self.now_ms = now_ms;
        let mut step = Step::default();
        let Ok(peer) = remote.parse::<PeerId>() else {
            step.closes.push(conn);
            step.log.push(format!(
                "closed a connection from {remote:?}: not a starpoll peer ID"
            ));
            return step;
        };
        // Too many connections from one peer: close its oldest.
        let mut mine: Vec<(u64, ConnId)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.peer == peer)
            .map(|(id, c)| (c.opened_at, *id))
            .collect();
        mine.sort();
        while mine.len() >= self.limits.per_peer.max(1) {
            let (_, oldest) = mine.remove(0);
            step.log
                .push(format!("closed an older connection of {peer}"));
            self.drop_conn(&mut step, oldest);
        }
        let burst = u64::from(self.limits.burst) * 1000;
        self.conns.insert(
            conn,
            Conn {
                peer,
                subscribed: BTreeSet::new(),
                opened_at: now_ms,
                last_heard: now_ms,
                last_sent: now_ms,
                tokens_milli: burst,
                refilled_at: now_ms,
                warned_at: None,
            },
        );
        step
    }

    /// A connection closed (by the remote, or the network).
    pub fn closed(&mut self, conn: ConnId) -> Step {
        let mut step = Step::default();
        if self.conns.contains_key(&conn) {
            self.forget(&mut step, conn);
        }
        step
    }

    /// Something arrived on `conn`.
    pub fn receive(&mut self, conn: ConnId, incoming: Incoming<'_>, now_ms: u64) -> Step {
        self.now_ms = now_ms;
        let mut step = Step::default();
        let Some(state) = self.conns.get_mut(&conn) else {
            return step; // closed meanwhile
        };
        state.last_heard = now_ms;
        if !take_token(state, &self.limits, now_ms) {
            let warn = state
                .warned_at
                .is_none_or(|at| now_ms.saturating_sub(at) >= 1_000);
            if warn {
                state.warned_at = Some(now_ms);
                let error = Control::Error {
                    command_id: None,
                    poll_id: None,
                    code: ErrorCode::RateLimited,
                    message: format!(
                        "too many messages (more than {} per second); dropped unread, resend later",
                        self.limits.per_second
                    ),
                };
                self.send(&mut step, conn, &error.into());
            }
            return step;
        }
        let text = match incoming {
            Incoming::Text(text) => text,
            Incoming::NotText => {
                let error = Control::Error {
                    command_id: None,
                    poll_id: None,
                    code: ErrorCode::BadJson,
                    message: "malformed JSON: a frame must be a string".into(),
                };
                self.send(&mut step, conn, &error.into());
                return step;
            }
            Incoming::TooLarge => {
                let error = Control::Error {
                    command_id: None,
                    poll_id: None,
                    code: ErrorCode::TooLarge,
                    message: format!(
                        "message too large: the transport dropped it (a frame is at most {} bytes)",
                        crate::protocol::MAX_FRAME_BYTES
                    ),
                };
                self.send(&mut step, conn, &error.into());
                return step;
            }
        };
        let peer = state.peer.clone();
        match open_from(text, &peer) {
            Err(error) => {
                step.log
                    .push(format!("refused a frame from {peer}: {error}"));
                self.send(&mut step, conn, &Control::protocol_error(&error).into());
            }
            Ok((_, Message::Command(frame))) => {
                self.command(&mut step, conn, &peer, frame, text);
            }
            Ok((_, Message::Control(control))) => self.control(&mut step, conn, control),
        }
        step
    }

    /// Time passed: heartbeats on quiet connections, silent connections closed. Returns the
    /// step and the polls whose deadline has come, without closing them
    /// ([`Hub::handle_timeout`] does both).
    pub fn tick(&mut self, now_ms: u64) -> (Step, Vec<PollId>) {
        self.now_ms = now_ms;
        let mut step = Step::default();
        let silent: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| now_ms.saturating_sub(c.last_heard) >= self.limits.silence_close_ms)
            .map(|(id, _)| *id)
            .collect();
        for conn in silent {
            step.log.push(format!(
                "closed a connection silent for {} ms",
                self.limits.silence_close_ms
            ));
            self.drop_conn(&mut step, conn);
        }
        let quiet: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| now_ms.saturating_sub(c.last_sent) >= self.limits.heartbeat_after_ms)
            .map(|(id, _)| *id)
            .collect();
        for conn in quiet {
            self.send(&mut step, conn, &Control::Heartbeat.into());
        }
        let due = self
            .polls
            .values()
            .filter(|hosted| due_to_close(&hosted.poll, now_ms))
            .map(|hosted| hosted.poll.id)
            .collect();
        (step, due)
    }

    /// Time passed (the timer armed for [`Hub::poll_timeout`] fired, or any time): heartbeats
    /// on quiet connections, silent connections closed, and every open poll whose deadline has
    /// come closed by the owner with a command id from `fresh_id` (randomness is an input;
    /// `None` leaves the poll for the next call, with a log line).
    pub fn handle_timeout(
        &mut self,
        now_ms: u64,
        mut fresh_id: impl FnMut() -> Option<CommandId>,
    ) -> Step {
        let (mut step, due) = self.tick(now_ms);
        for poll in due {
            let Some(command_id) = fresh_id() else {
                step.log.push(format!(
                    "no command id to close poll {poll} at its deadline"
                ));
                continue;
            };
            let (closed, _) = self.local(poll, command_id, &Command::Close, now_ms);
            step.extend(closed);
        }
        step
    }

    /// When [`Hub::handle_timeout`] has something to do next (Unix ms): a quiet connection's
    /// heartbeat, a silent connection's close, or an open poll's deadline. `None` when nothing
    /// is connected and no open poll has a deadline.
    pub fn poll_timeout(&self) -> Option<u64> {
        let conns = self.conns.values().map(|c| {
            let heartbeat = c.last_sent.saturating_add(self.limits.heartbeat_after_ms);
            let silence = c.last_heard.saturating_add(self.limits.silence_close_ms);
            heartbeat.min(silence)
        });
        conns.chain(self.next_deadline()).min()
    }

    /// The earliest deadline of an open poll still ahead of the hub (for the shell's timer).
    pub fn next_deadline(&self) -> Option<u64> {
        self.polls
            .values()
            .filter(|h| h.poll.status == crate::poll::PollStatus::Open)
            .filter_map(|h| h.poll.deadline)
            .min()
    }

    fn command(
        &mut self,
        step: &mut Step,
        conn: ConnId,
        author: &PeerId,
        frame: CommandFrame,
        text: &str,
    ) {
        let CommandFrame {
            command,
            poll_id,
            command_id,
        } = frame;
        let Some(outcome) = self.process(step, poll_id, author, command_id, &command, Some(text))
        else {
            let error = if self.deleted.contains(&poll_id) {
                Control::poll_deleted(poll_id, Some(command_id))
            } else {
                Control::unknown_poll(command_id, poll_id)
            };
            self.send(step, conn, &error.into());
            return;
        };
        let answer = Control::answer(poll_id, command_id, &outcome);
        self.send(step, conn, &answer.into());
        if matches!(command, Command::Join { .. }) && matches!(outcome, Outcome::Acked { .. }) {
            self.subscribe(step, conn, poll_id, None);
        }
    }

    /// Processes a command for `poll_id` by `author`, which arrived in the signed `frame`: on
    /// `Applied`, records the writes and broadcasts the update to every subscribed connection.
    /// `None` for an unknown poll. The time is the current input's (`self.now_ms`).
    fn process(
        &mut self,
        step: &mut Step,
        poll_id: PollId,
        author: &PeerId,
        command_id: CommandId,
        command: &Command,
        frame: Option<&str>,
    ) -> Option<Outcome> {
        let now_ms = self.now_ms;
        let hosted = self.polls.get_mut(&poll_id)?;
        let processed = hosted.processed.process_signed(
            &hosted.poll,
            author,
            command_id,
            command,
            now_ms,
            frame,
        );
        let outcome = processed.outcome().clone();
        match processed {
            Processed::Applied { poll, event, .. } => {
                let before = std::mem::replace(&mut hosted.poll, *poll);
                if let Some(record) = hosted.processed.record(&command_id) {
                    step.writes.push(Write::Record(poll_id, record));
                }
                step.writes.push(Write::Poll(Box::new(hosted.poll.clone())));
                step.changed.insert(poll_id);
                let after = hosted.poll.clone();
                let targets: Vec<(ConnId, PeerId)> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.subscribed.contains(&poll_id))
                    .map(|(id, c)| (*id, c.peer.clone()))
                    .collect();
                let updates = targets.into_iter().map(|(conn, peer)| {
                    let message = match update_for(&before, &after, &event, &peer) {
                        Update::Event(event) => Control::Event { poll_id, event },
                        Update::Snapshot(view) => Control::State { poll: view },
                    };
                    (conn, message.into())
                });
                self.send_each(step, updates);
                if matches!(
                    event.change,
                    Change::Joined { .. } | Change::RoleSet { .. } | Change::ProfileUpdated { .. }
                ) {
                    self.announce(step, poll_id);
                }
            }
            Processed::Refused { .. } => {
                // A reused id (another author's) is not recorded; a first refusal is.
                if let Some(record) = hosted.processed.record(&command_id) {
                    if record.author == *author {
                        step.writes.push(Write::Record(poll_id, record));
                    }
                }
            }
            Processed::Replayed { .. } => {}
        }
        Some(outcome)
    }

    fn control(&mut self, step: &mut Step, conn: ConnId, control: Control) {
        match control {
            Control::SyncRequest {
                poll_id,
                since_revision,
            } => {
                if self.polls.contains_key(&poll_id) {
                    self.subscribe(step, conn, poll_id, since_revision);
                } else {
                    let error = if self.deleted.contains(&poll_id) {
                        Control::poll_deleted(poll_id, None)
                    } else {
                        Control::poll_gone(poll_id, format!("no poll {poll_id} here"))
                    };
                    self.send(step, conn, &error.into());
                }
            }
            Control::ListRequest => {
                // Only listed polls: an unlisted one is reached by its id alone (its invite link).
                let polls = self
                    .polls()
                    .filter(|poll| poll.settings.listed)
                    .map(PollSummary::from)
                    .collect();
                self.send(step, conn, &Control::List { polls }.into());
            }
            // A heartbeat only proves the connection alive (already noted); owner→participant
            // types from a participant are ignored without reply (§4.10 rule 10).
            Control::Heartbeat
            | Control::State { .. }
            | Control::Event { .. }
            | Control::Discovery { .. }
            | Control::Ack { .. }
            | Control::Error { .. }
            | Control::List { .. } => {}
        }
    }

    /// Sends `conn` the poll's state (unless it holds `since` and nothing is newer) and
    /// subscribes it; a new subscription is announced.
    fn subscribe(
        &mut self,
        step: &mut Step,
        conn: ConnId,
        poll_id: PollId,
        since: Option<Revision>,
    ) {
        let (Some(hosted), Some(state)) = (self.polls.get(&poll_id), self.conns.get_mut(&conn))
        else {
            return;
        };
        let fresh = state.subscribed.insert(poll_id);
        let current = since.is_some_and(|since| since >= hosted.poll.revision);
        if !current {
            let view = view_for(&hosted.poll, &state.peer);
            let message = Control::State {
                poll: Box::new(view),
            };
            self.send(step, conn, &message.into());
        }
        if fresh {
            self.announce(step, poll_id);
        }
    }

    /// Sends every connection subscribed to `poll_id` the current `peer:discovery`.
    fn announce(&mut self, step: &mut Step, poll_id: PollId) {
        let peers = self.present(&poll_id);
        let targets: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.subscribed.contains(&poll_id))
            .map(|(id, _)| *id)
            .collect();
        let message: Message = Control::Discovery { poll_id, peers }.into();
        self.send_each(
            step,
            targets.into_iter().map(|conn| (conn, message.clone())),
        );
        step.changed.insert(poll_id);
    }

    /// Forgets `conn` and tells the shell to close it.
    fn drop_conn(&mut self, step: &mut Step, conn: ConnId) {
        self.forget(step, conn);
        step.closes.push(conn);
    }

    /// Forgets `conn`, announcing the subscriber change of each poll it followed.
    fn forget(&mut self, step: &mut Step, conn: ConnId) {
        let Some(state) = self.conns.remove(&conn) else {
            return;
        };
        for poll_id in state.subscribed {
            self.announce(step, poll_id);
        }
    }

    fn send(&mut self, step: &mut Step, conn: ConnId, message: &Message) {
        self.send_each(step, [(conn, message.clone())]);
    }

    /// Sends each connection its message, sealing each distinct message once: a broadcast to N
    /// subscribers costs one signature, not N (most subscribers get the same event; a few may get
    /// a different view, e.g. while results are hidden from them).
    fn send_each(
        &mut self,
        step: &mut Step,
        messages: impl IntoIterator<Item = (ConnId, Message)>,
    ) {
        let mut sealed: Vec<(Message, Rc<str>)> = Vec::new();
        for (conn, message) in messages {
            let frame = match sealed.iter().find(|(done, _)| *done == message) {
                Some((_, frame)) => Rc::clone(frame),
                None => match seal(&self.owner, &message) {
                    Ok(frame) => {
                        let frame: Rc<str> = frame.into();
                        sealed.push((message, Rc::clone(&frame)));
                        frame
                    }
                    Err(error) => {
                        step.log.push(format!("could not seal a message: {error}"));
                        continue;
                    }
                },
            };
            if let Some(state) = self.conns.get_mut(&conn) {
                state.last_sent = self.now_ms;
            }
            step.sends.push((conn, frame));
        }
    }
}

/// Refills `conn`'s bucket for the time passed and takes one frame's token, if there is one.
fn take_token(conn: &mut Conn, limits: &Limits, now_ms: u64) -> bool {
    let burst = u64::from(limits.burst) * 1000;
    let elapsed = now_ms.saturating_sub(conn.refilled_at);
    // per_second frames per 1000 ms = per_second thousandths of a frame per ms.
    let refill = elapsed.saturating_mul(u64::from(limits.per_second));
    conn.tokens_milli = conn.tokens_milli.saturating_add(refill).min(burst);
    conn.refilled_at = now_ms;
    if conn.tokens_milli >= 1000 {
        conn.tokens_milli -= 1000;
        true
    } else {
        false
    }
}

/// A stored poll belongs to another owner (the database and the identity disagree).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("poll {0} belongs to another owner; this hub serves only its own polls")]
pub struct NotMine(pub PollId);

#[cfg(test)]
mod tests;
