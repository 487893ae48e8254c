//! A hub: the authority at the centre of a poll's star. It holds the polls it serves and their
//! command records, follows every participant's data connection, and decides what to store and
//! what to send — without doing either (sans-IO, like the PeerJS [session] machine).
//!
//! A hub has its own identity (`me`), which seals every frame it sends. It serves its own polls
//! (`poll.owner == me`) and polls other owners **delegated** to it (PROTOCOL.md §8): a poll
//! whose current owner-signed delegation names `me`. It moves a poll to another hub in two
//! phases committed here ([`Hub::move_poll`], or the owner's `hub:move`): freeze, transfer
//! (`hub:records`, `hub:prepare`), commit on `hub:prepared`, then `hub:activate` and a redirect
//! (`hub:delegation`) to every subscriber; a move whose target does not prepare within
//! [`Limits::move_timeout_ms`] is aborted and the poll served here as before. Hub-to-hub
//! connections are opened by the hub ([`Step::dials`], reported back with [`Hub::dialed`]).
//!
//! Shells do not call the hub directly: they drive [`machine::HubMachine`], which joins it with
//! the commit [`pipeline`] (a driver that checks signatures elsewhere queues frames in [`checks`]). What the hub's calls mean:
//! - it is fed what happens: [`Hub::opened`], [`Hub::receive`], [`Hub::closed`], the owner's own
//!   actions ([`Hub::create`], [`Hub::local`]) and the time ([`Hub::handle_timeout`] when
//!   [`Hub::poll_timeout`] came: heartbeats, silent connections, polls whose deadline came),
//!   always with the current time;
//! - each call returns a [`Step`]: first commit `step.writes` durably (one transaction may hold
//!   many steps), **then** send `step.sends` and close `step.closes`, in order. Steps are
//!   performed in the order they were returned (the pipeline's rule).
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
//! - Every frame the hub sends is sealed by the hub's own identity (`me`); for a delegated poll,
//!   `poll:state` is always preceded on its connection by the `hub:delegation` that entitles
//!   the hub to serve it (§8.3).
//! - A poll is in at most one of: served (possibly frozen by a move in flight), prepared (held,
//!   never served before `hub:activate`), moved away (only its delegation is kept, to redirect).
//!   While frozen, no command of the poll is applied; a command already recorded is answered
//!   from its record. The move's commit point is the write of "moved" at the old hub, which
//!   happens only after the target committed everything as prepared: a move is atomic.
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
//! The rules implemented here are PROTOCOL.md §4.10 and §8.3–8.5, plus the limits in
//! [`Limits`].
//!
//! [session]: https://docs.rs/peerjs-client

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::delegation::{check_chain, DelegationError, SignedDelegation};
use crate::poll::{
    due_to_close, update_for, view_for, Change, Command, CommandId, Outcome, Poll, PollDraft,
    PollId, Processed, ProcessedCommands, ProcessedRecord, Refusal, Revision, Update,
};
use crate::protocol::{
    frame_unsigned, open_from, open_from_checked, seal, ChannelFingerprints, CommandFrame, Control,
    ErrorCode, Message, PeerInfo, PollSummary, DISCOVERY_LISTED_MAX,
};
use crate::snapshot::{self, ExportError};
use crate::{Identity, PeerId};

/// The largest `hub:records` batch the hub sends, in bytes of JSON (a frame is at most
/// [`crate::protocol::MAX_FRAME_BYTES`]).
const RECORDS_BATCH_BYTES: usize = 128 * 1024;

/// At most this many transfers are received at once; a newer one evicts the oldest.
const MAX_INBOUND: usize = 4;

/// At most this many bytes of records (approximately: their frames plus a fixed overhead) are
/// held for all transfers together, so `hub:records` from strangers cannot exhaust memory.
const MAX_INBOUND_BYTES: usize = 32 * 1024 * 1024;

/// The approximate memory of a record: its frame and the rest.
fn record_bytes(record: &ProcessedRecord) -> usize {
    256 + record.frame.as_ref().map_or(0, String::len)
}

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
    /// A move whose target has not answered `hub:prepared` this long after the freeze is
    /// aborted; a committed move re-dials its target this often until activation is
    /// acknowledged (ms).
    pub move_timeout_ms: u64,
    /// Coalescing of `peer:discovery` (PROTOCOL.md §4.9): after one announcement of a poll,
    /// the next waits at least this long (ms), plus [`Limits::discovery_ms_per_subscriber`]
    /// per subscriber; the changes in between are announced together, once, when it is over.
    /// `0` (and `0` per subscriber) announces every change at once.
    pub discovery_interval_ms: u64,
    /// Added to [`Limits::discovery_interval_ms`] per subscriber of the poll (ms): with `k`
    /// subscribers an announcement is `k` frames of `O(k)` bytes, so the wait grows with `k`
    /// and the bytes per second with `k`, not `k²`.
    pub discovery_ms_per_subscriber: u64,
}

impl Default for Limits {
    /// 5 s heartbeat, 15 s silence (PROTOCOL.md §4.9); a returning participant may flush a
    /// 2,000-command outbox at once, then 500 frames/s; 4 connections per peer (tabs); 10 s for
    /// a move's target to prepare (§8.4); every `peer:discovery` change announced at once (the
    /// browser hub; the native host coalesces them, [`Limits::coalesced_discovery`]).
    fn default() -> Self {
        Self {
            heartbeat_after_ms: crate::protocol::HEARTBEAT_AFTER_MS,
            silence_close_ms: crate::protocol::SILENCE_CLOSE_MS,
            burst: 2_000,
            per_second: 500,
            per_peer: 4,
            move_timeout_ms: 10_000,
            discovery_interval_ms: 0,
            discovery_ms_per_subscriber: 0,
        }
    }
}

impl Limits {
    /// These limits with `peer:discovery` coalesced for a hub of hundreds of subscribers
    /// (issue 18): at most one announcement per poll per second, plus 10 ms per subscriber
    /// (4 s at 300 subscribers, 11 s at 1,000).
    pub fn coalesced_discovery(self) -> Self {
        Self {
            discovery_interval_ms: 1_000,
            discovery_ms_per_subscriber: 10,
            ..self
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
    /// Delete this poll, every command record of it and its [`Hosting`] (the owner deleted the
    /// poll, or it moved away). Writes before it in the same batch are superseded; writes after
    /// it stand. An owner's deletion is followed by [`Write::Tombstone`].
    DeletePoll(PollId),
    /// Keep this poll's id as deleted by its owner (after its [`Write::DeletePoll`]), so that
    /// whoever names it later hears `poll-deleted`; given back with [`Hub::restore_deleted`].
    Tombstone(PollId),
    /// Store how this hub holds a poll (replacing the stored one): its delegation chain and
    /// whether it is served, prepared or moved away. Absent for an own poll never moved.
    Hosting(PollId, Box<Hosting>),
}

/// How a hub holds a poll beyond the poll itself (PROTOCOL.md §8): stored with
/// [`Write::Hosting`], given back to [`Hub::restore_hosting`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hosting {
    /// Served, prepared, or moved away.
    pub state: HostingState,
    /// The delegations under which the poll reached this hub, oldest first (for a moved poll:
    /// ending with the one it moved away under).
    pub chain: Vec<SignedDelegation>,
    /// The highest delegation seq this hub signed or saw for the poll (an owner signs the next
    /// one above it, also after an aborted move).
    pub highest_seq: u64,
}

/// The state in a [`Hosting`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum HostingState {
    /// Served here.
    Serving,
    /// Received from `from` and committed, not served until `hub:activate`.
    Prepared {
        /// The old hub.
        from: PeerId,
    },
    /// Moved away under the last delegation of the chain; `activated` once the target said so.
    Moved {
        /// Whether the target acknowledged `hub:activate`.
        activated: bool,
    },
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
    /// Then open a data connection to each of these peers (hub-to-hub, §8.4) and report it with
    /// [`Hub::dialed`] once open (a failed dial needs no report: the hub retries or aborts on
    /// its own timer).
    pub dials: Vec<PeerId>,
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
        self.dials.extend(later.dials);
        self.changed.extend(later.changed);
        self.log.extend(later.log);
    }

    /// Whether the step asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.sends.is_empty()
            && self.closes.is_empty()
            && self.dials.is_empty()
            && self.changed.is_empty()
            && self.log.is_empty()
    }
}

/// What the hub received on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A string message: a frame.
    Text(&'a str),
    /// A frame whose signature the driver had checked outside the machine (a worker): its
    /// token ([`SignatureJob::passed`](crate::protocol::SignatureJob::passed)). Everything else
    /// about the frame is checked as for [`Incoming::Text`]; a token for another frame is ignored.
    Checked(&'a str, &'a crate::protocol::Checked),
    /// Anything else PeerJS delivered (a number, bytes, an object): never a frame.
    NotText,
    /// A message the transport dropped for its size before it could be read (over the
    /// reassembly limits, PROTOCOL.md §1.3): answered `too-large`.
    TooLarge,
}

struct Hosted {
    poll: Poll,
    processed: ProcessedCommands,
    /// The delegations the poll reached this hub under, oldest first (empty: an own poll never
    /// moved).
    chain: Vec<SignedDelegation>,
    highest_seq: u64,
    phase: Phase,
}

enum Phase {
    Serving,
    /// Frozen: being moved out.
    Moving(Moving),
    /// Received from `from`, not served.
    Prepared {
        from: PeerId,
    },
}

struct Moving {
    delegation: SignedDelegation,
    /// The hub-to-hub connection the transfer went on.
    conn: Option<ConnId>,
    deadline: u64,
    /// The owner's connection that asked for the move (a remote owner).
    requester: Option<ConnId>,
}

/// A poll moved away from this hub.
struct Departed {
    /// Ending with the delegation it moved under.
    chain: Vec<SignedDelegation>,
    highest_seq: u64,
    activated: bool,
    /// The hub-to-hub connection to the target, while open.
    conn: Option<ConnId>,
    /// When to dial the target again while activation is not acknowledged.
    retry_at: u64,
}

impl Departed {
    fn delegation(&self) -> Option<&SignedDelegation> {
        self.chain.last()
    }
}

/// Records received for a transfer (`hub:records`) before its `hub:prepare`.
struct Inbound {
    from: PeerId,
    records: Vec<ProcessedRecord>,
}

struct Conn {
    /// Opened by this hub ([`Hub::dialed`]): a hub-to-hub connection.
    outgoing: bool,
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
    /// The connection's DTLS fingerprints, when the shell knows them ([`Hub::set_channel`]).
    channel: Option<ChannelFingerprints>,
    /// The participant asked for a binding and got `channel:bind` (PROTOCOL.md §2.7): later
    /// frames to it go unsigned.
    bound: bool,
    /// Bound, and the participant takes several frames in one message (§2.8).
    batches: bool,
}

/// A hub. See the module docs for the loop.
pub struct Hub {
    me: Identity,
    limits: Limits,
    polls: BTreeMap<PollId, Hosted>,
    departed: BTreeMap<PollId, Departed>,
    inbound: BTreeMap<(PollId, u64), Inbound>,
    conns: BTreeMap<ConnId, Conn>,
    /// Ids of the polls the owner deleted: answered `poll-deleted`, not `unknown-poll`.
    deleted: BTreeSet<PollId>,
    /// The time of the input being handled (every entry point that can send sets it).
    now_ms: u64,
    /// When each poll's `peer:discovery` was last sent (for [`Limits::discovery_interval_ms`]).
    announced: BTreeMap<PollId, u64>,
    /// Polls whose subscriber set changed since their last announcement, and when it is due.
    discovery_due: BTreeMap<PollId, u64>,
}

impl Hub {
    /// A hub for `me` with no polls and no connections.
    pub fn new(me: Identity, limits: Limits) -> Self {
        Self {
            me,
            limits,
            polls: BTreeMap::new(),
            departed: BTreeMap::new(),
            inbound: BTreeMap::new(),
            conns: BTreeMap::new(),
            deleted: BTreeSet::new(),
            now_ms: 0,
            announced: BTreeMap::new(),
            discovery_due: BTreeMap::new(),
        }
    }

    /// This hub's peer ID (the owner of its own polls).
    pub fn owner(&self) -> &PeerId {
        self.me.peer_id()
    }

    /// This hub's peer ID.
    pub fn me(&self) -> &PeerId {
        self.me.peer_id()
    }

    /// Loads a stored own poll and its command records (at startup), served here. A poll owned
    /// by someone else is refused: use [`Hub::restore_hosting`] for it.
    pub fn restore(
        &mut self,
        poll: Poll,
        records: impl IntoIterator<Item = ProcessedRecord>,
    ) -> Result<(), NotMine> {
        if poll.owner != *self.me() {
            return Err(NotMine(poll.id));
        }
        let processed = records.into_iter().collect();
        self.polls.insert(
            poll.id,
            Hosted {
                poll,
                processed,
                chain: Vec::new(),
                highest_seq: 0,
                phase: Phase::Serving,
            },
        );
        Ok(())
    }

    /// Loads the ids of polls the owner deleted (at startup, from the [`Write::Tombstone`]s
    /// stored before): whoever names one of them hears `poll-deleted`, not `unknown-poll`.
    pub fn restore_deleted(&mut self, ids: impl IntoIterator<Item = PollId>) {
        self.deleted.extend(ids);
    }

    /// Whether the owner deleted `poll` (since the ids of deleted polls have been kept).
    pub fn was_deleted(&self, poll: &PollId) -> bool {
        self.deleted.contains(poll)
    }

    /// Loads a stored poll with its [`Hosting`] (at startup): served or prepared (then `poll`
    /// and its records are needed), or moved away (then only the hosting is; a move committed
    /// but not acknowledged re-sends `hub:activate` from [`Hub::handle_timeout`] on).
    pub fn restore_hosting(
        &mut self,
        id: PollId,
        hosting: Hosting,
        poll: Option<Poll>,
        records: impl IntoIterator<Item = ProcessedRecord>,
    ) -> Result<(), RestoreError> {
        let Hosting {
            state,
            chain,
            highest_seq,
        } = hosting;
        if chain.iter().any(|d| d.poll_id() != id) {
            return Err(RestoreError::Inconsistent(id));
        }
        let phase = match state {
            HostingState::Moved { activated } => {
                if chain.is_empty() {
                    return Err(RestoreError::Inconsistent(id));
                }
                self.polls.remove(&id);
                self.departed.insert(
                    id,
                    Departed {
                        chain,
                        highest_seq,
                        activated,
                        conn: None,
                        retry_at: 0,
                    },
                );
                return Ok(());
            }
            HostingState::Serving => Phase::Serving,
            HostingState::Prepared { from } => Phase::Prepared { from },
        };
        let poll = poll.ok_or(RestoreError::MissingPoll(id))?;
        let served_by = chain.last().map_or(&poll.owner, SignedDelegation::hub);
        if poll.id != id || served_by != self.me() {
            return Err(RestoreError::Inconsistent(id));
        }
        self.departed.remove(&id);
        self.polls.insert(
            id,
            Hosted {
                processed: records.into_iter().collect(),
                poll,
                chain,
                highest_seq,
                phase,
            },
        );
        Ok(())
    }

    /// The polls served here (own and delegated, a poll being moved out included; not a poll
    /// only prepared), by id.
    pub fn polls(&self) -> impl Iterator<Item = &Poll> {
        self.polls
            .values()
            .filter(|hosted| hosted.is_served())
            .map(|hosted| &hosted.poll)
    }

    /// One poll served here.
    pub fn poll(&self, id: &PollId) -> Option<&Poll> {
        self.polls
            .get(id)
            .filter(|hosted| hosted.is_served())
            .map(|hosted| &hosted.poll)
    }

    /// The current delegation of a poll held here (served or prepared), if it has one.
    pub fn delegation(&self, id: &PollId) -> Option<&SignedDelegation> {
        self.polls.get(id).and_then(|hosted| hosted.chain.last())
    }

    /// The delegation under which a poll moved away from this hub, if it did.
    pub fn moved_to(&self, id: &PollId) -> Option<&SignedDelegation> {
        self.departed.get(id).and_then(Departed::delegation)
    }

    /// The polls that moved away from this hub, each with the delegation it moved under.
    pub fn moved_away(&self) -> impl Iterator<Item = (&PollId, &SignedDelegation)> {
        self.departed
            .iter()
            .filter_map(|(id, departed)| departed.delegation().map(|d| (id, d)))
    }

    /// Whether a poll is held here only as prepared (not served).
    pub fn is_prepared(&self, id: &PollId) -> bool {
        self.polls
            .get(id)
            .is_some_and(|hosted| matches!(hosted.phase, Phase::Prepared { .. }))
    }

    /// Whether a poll is frozen by a move in flight.
    pub fn is_moving(&self, id: &PollId) -> bool {
        self.polls
            .get(id)
            .is_some_and(|hosted| matches!(hosted.phase, Phase::Moving(_)))
    }

    /// The peers connected for `poll` now: this hub first if it owns the poll, then each
    /// subscribed remote peer once (PROTOCOL.md §4.9, §8.3 rule 3).
    pub fn present(&self, poll: &PollId) -> Vec<PeerInfo> {
        let Some(hosted) = self.polls.get(poll) else {
            return Vec::new();
        };
        // The owner first, when connected (§3.4): here, or subscribed to a poll delegated here.
        let owner = &hosted.poll.owner;
        let mut peers = Vec::new();
        let owner_here = *owner == *self.me()
            || self
                .conns
                .values()
                .any(|c| c.peer == *owner && c.subscribed.contains(poll));
        if owner_here {
            peers.push(owner.clone());
        }
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
        let poll = Poll::new(id, self.me().clone(), draft, now_ms)?;
        let mut step = Step::default();
        step.writes.push(Write::Poll(Box::new(poll.clone())));
        step.changed.insert(id);
        self.polls.insert(
            id,
            Hosted {
                poll,
                processed: ProcessedCommands::new(),
                chain: Vec::new(),
                highest_seq: 0,
                phase: Phase::Serving,
            },
        );
        Ok(step)
    }

    /// This hub's own command (the owner's screen, or the automatic close): processed like
    /// anyone else's, with author = this hub's peer. Returns the step and the outcome; `None`
    /// for a poll not served here, or frozen by a move (nothing is applied then).
    pub fn local(
        &mut self,
        poll_id: PollId,
        command_id: CommandId,
        command: &Command,
        now_ms: u64,
    ) -> (Step, Option<Outcome>) {
        self.now_ms = now_ms;
        let me = self.me().clone();
        let mut step = Step::default();
        // The owner's ballot is signed like everyone else's, so a snapshot can prove it too.
        let frame = match command {
            Command::CastVote { .. } => {
                let frame = CommandFrame {
                    command: command.clone(),
                    poll_id,
                    command_id,
                };
                match seal(&self.me, &frame.into()) {
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
        let outcome = match self.process(
            &mut step,
            poll_id,
            &me,
            command_id,
            command,
            frame.as_deref(),
        ) {
            Handled::Outcome(outcome) => Some(outcome),
            Handled::Unknown | Handled::Held | Handled::Redirect(_) => {
                step.log
                    .push(format!("poll {poll_id} is not served here now"));
                None
            }
        };
        (step, outcome)
    }

    /// Deletes a poll of this hub (the owner's decision): the step's writes delete it and its
    /// records ([`Write::DeletePoll`]); then every connection subscribed to it gets an `error`
    /// with `commandId: null` and code `poll-deleted`, and is unsubscribed; the id is kept
    /// ([`Write::Tombstone`]), so whoever names the poll later hears `poll-deleted` too. Other
    /// polls and the connections themselves are untouched. A poll it does not hold, or whose
    /// owner is someone else, gives an empty step. A poll moved away is forgotten here (its hub
    /// keeps it).
    pub fn delete(&mut self, poll: PollId) -> Step {
        let mut step = Step::default();
        if self.departed.remove(&poll).is_some() {
            step.writes.push(Write::DeletePoll(poll));
            step.changed.insert(poll);
        }
        let mine = self
            .polls
            .get(&poll)
            .is_some_and(|hosted| hosted.poll.owner == *self.me() && hosted.is_served());
        if !mine {
            return step;
        }
        self.polls.remove(&poll);
        step.writes.push(Write::DeletePoll(poll));
        step.writes.push(Write::Tombstone(poll));
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

    /// The signed snapshot file of a poll served here at `now_ms` ([`snapshot::export`]): the
    /// poll and every ballot's signed vote frame, signed by this hub, with the poll's delegation
    /// chain when it has one (§8.9).
    pub fn snapshot(&self, poll: &PollId, now_ms: u64) -> Result<String, ExportError> {
        let hosted = self
            .polls
            .get(poll)
            .filter(|hosted| hosted.is_served())
            .ok_or(ExportError::UnknownPoll(*poll))?;
        let records: Vec<ProcessedRecord> = hosted.processed.records().collect();
        snapshot::export_served(&self.me, &hosted.poll, &records, &hosted.chain, now_ms)
    }

    /// Starts moving an own poll served here to `target` (PROTOCOL.md §8.4): signs the next
    /// delegation, freezes the poll and opens the transfer. `target` = this hub is refused
    /// ([`MoveError::AlreadyThere`]). The outcome shows later: [`Hub::moved_to`] once committed,
    /// or the poll served again after an abort.
    pub fn move_poll(
        &mut self,
        poll_id: PollId,
        target: PeerId,
        now_ms: u64,
    ) -> Result<Step, MoveError> {
        self.now_ms = now_ms;
        let me = self.me().clone();
        let hosted = self
            .polls
            .get(&poll_id)
            .ok_or(MoveError::NotServed(poll_id))?;
        if hosted.poll.owner != me {
            return Err(MoveError::NotOwner(poll_id));
        }
        if !matches!(hosted.phase, Phase::Serving) {
            return Err(MoveError::Busy(poll_id));
        }
        if target == me {
            return Err(MoveError::AlreadyThere(poll_id));
        }
        let seq = hosted.seq().max(hosted.highest_seq) + 1;
        let delegation =
            SignedDelegation::sign(&self.me, poll_id, target, seq, hosted.poll.revision)
                .map_err(MoveError::Sign)?;
        let mut step = Step::default();
        self.start_move(&mut step, poll_id, delegation, None);
        Ok(step)
    }

    /// For an own poll moved away from this hub: signs the next delegation, to `target`, for
    /// the owner to send to the hub serving the poll now (`hub:move`, e.g. with
    /// [`crate::owner_link::OwnerLink::request_move`]). The step stores the new highest seq.
    /// `from_revision` is the revision the owner last saw.
    pub fn sign_move(
        &mut self,
        poll_id: PollId,
        target: PeerId,
        from_revision: Revision,
    ) -> Result<(Step, SignedDelegation), MoveError> {
        let me = self.me().clone();
        let departed = self
            .departed
            .get_mut(&poll_id)
            .ok_or(MoveError::NotServed(poll_id))?;
        let current = departed.delegation().ok_or(MoveError::NotServed(poll_id))?;
        if *current.owner() != me {
            return Err(MoveError::NotOwner(poll_id));
        }
        let seq = departed.highest_seq.max(current.seq()) + 1;
        let delegation = SignedDelegation::sign(&self.me, poll_id, target, seq, from_revision)
            .map_err(MoveError::Sign)?;
        departed.highest_seq = seq;
        let mut step = Step::default();
        step.writes
            .push(Write::Hosting(poll_id, Box::new(departed.hosting())));
        Ok((step, delegation))
    }

    /// A participant's data connection opened. `remote` is the PeerJS peer ID at the other end;
    /// one that is not a canonical peer ID is closed at once (its frames could never be opened).
    pub fn opened(&mut self, conn: ConnId, remote: &str, now_ms: u64) -> Step {
        self.open_conn(conn, remote, now_ms, false)
    }

    /// A connection this hub asked for ([`Step::dials`]) opened: a hub-to-hub connection. A
    /// transfer or activation waiting for `remote` goes on it now.
    pub fn dialed(&mut self, conn: ConnId, remote: &str, now_ms: u64) -> Step {
        let mut step = self.open_conn(conn, remote, now_ms, true);
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return step;
        };
        let moving: Vec<PollId> = self
            .polls
            .iter()
            .filter_map(|(id, hosted)| match &hosted.phase {
                Phase::Moving(m) if m.conn.is_none() && *m.delegation.hub() == peer => Some(*id),
                _ => None,
            })
            .collect();
        for poll_id in moving {
            self.send_transfer(&mut step, poll_id, conn);
        }
        let activations: Vec<(PollId, u64)> = self
            .departed
            .iter_mut()
            .filter_map(|(id, d)| {
                let (seq, hub) = d.delegation().map(|d| (d.seq(), d.hub().clone()))?;
                (!d.activated && d.conn.is_none() && hub == peer).then(|| {
                    d.conn = Some(conn);
                    (*id, seq)
                })
            })
            .collect();
        for (poll_id, seq) in activations {
            self.send(&mut step, conn, &Control::Activate { poll_id, seq }.into());
        }
        self.release(&mut step, conn);
        step
    }

    /// Closes a hub-to-hub connection this hub opened once no move needs it any more.
    fn release(&mut self, step: &mut Step, conn: ConnId) {
        if !self.conns.get(&conn).is_some_and(|c| c.outgoing) {
            return;
        }
        let moving = self
            .polls
            .values()
            .any(|h| matches!(&h.phase, Phase::Moving(m) if m.conn == Some(conn)));
        let activating = self
            .departed
            .values()
            .any(|d| !d.activated && d.conn == Some(conn));
        if !moving && !activating {
            self.drop_conn(step, conn);
        }
    }

    fn open_conn(&mut self, conn: ConnId, remote: &str, now_ms: u64, outgoing: bool) -> Step {
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
                outgoing,
                peer,
                subscribed: BTreeSet::new(),
                opened_at: now_ms,
                last_heard: now_ms,
                last_sent: now_ms,
                tokens_milli: burst,
                refilled_at: now_ms,
                warned_at: None,
                channel: None,
                bound: false,
                batches: false,
            },
        );
        step
    }

    /// Tells the hub the DTLS fingerprints of an open participant connection, as this side reads
    /// them from its SDP (PROTOCOL.md §2.7). Only then does the hub answer the participant's
    /// `channel:bind:request`; a shell that cannot read them never calls this, and its
    /// connections stay signed frame by frame.
    pub fn set_channel(&mut self, conn: ConnId, channel: ChannelFingerprints) {
        if let Some(state) = self.conns.get_mut(&conn) {
            if !state.bound {
                state.channel = Some(channel);
            }
        }
    }

    /// Whether frames to `conn` go unsigned (the connection is bound, PROTOCOL.md §2.7).
    pub fn is_bound(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.bound)
    }

    /// Whether several frames to `conn` may go in one message (it is bound and its participant
    /// asked for batches, PROTOCOL.md §2.8).
    pub fn takes_batches(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.bound && c.batches)
    }

    /// `channel:bind:request`: answers with the signed `channel:bind` when this hub knows the
    /// connection's fingerprints (and it is a participant's connection), and binds it: every
    /// later frame on it goes unsigned. Otherwise ignored: the participant keeps checking
    /// signatures.
    fn bind_requested(&mut self, step: &mut Step, conn: ConnId, batches: bool) {
        let Some(state) = self.conns.get(&conn) else {
            return;
        };
        if state.bound || state.outgoing {
            return;
        }
        let Some(channel) = state.channel.clone() else {
            step.log.push(format!(
                "{}: channel:bind:request on a connection whose fingerprints are unknown; frames stay signed",
                state.peer
            ));
            return;
        };
        let bind = Control::Bind {
            hub_fingerprint: channel.local,
            participant_fingerprint: channel.remote,
        };
        // Sealed: the connection is not bound until this frame is on its way.
        self.send(step, conn, &bind.into());
        if let Some(state) = self.conns.get_mut(&conn) {
            state.bound = true;
            state.batches = batches;
        }
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
        let (text, checked) = match incoming {
            Incoming::Text(text) => (text, None),
            Incoming::Checked(text, checked) => (text, Some(checked)),
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
        let opened = match checked {
            Some(checked) => open_from_checked(text, &peer, checked),
            None => open_from(text, &peer),
        };
        match opened {
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

    /// Time passed: heartbeats on quiet connections, silent connections closed, moves whose
    /// target did not prepare in time aborted, unacknowledged activations re-dialed. Returns
    /// the step and the own polls whose deadline has come, without closing them
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
        let overdue: Vec<PollId> = self
            .polls
            .iter()
            .filter(|(_, h)| matches!(&h.phase, Phase::Moving(m) if now_ms >= m.deadline))
            .map(|(id, _)| *id)
            .collect();
        for poll_id in overdue {
            self.abort_move(&mut step, poll_id);
        }
        let retry = self.limits.move_timeout_ms;
        for departed in self.departed.values_mut() {
            if departed.activated || departed.conn.is_some() || now_ms < departed.retry_at {
                continue;
            }
            if let Some(delegation) = departed.delegation() {
                if !step.dials.contains(delegation.hub()) {
                    step.dials.push(delegation.hub().clone());
                }
                departed.retry_at = now_ms.saturating_add(retry);
            }
        }
        let announce: Vec<PollId> = self
            .discovery_due
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for poll_id in announce {
            self.discovery_due.remove(&poll_id);
            self.announce_now(&mut step, poll_id);
        }
        let me = self.me().clone();
        let due = self
            .polls
            .values()
            .filter(|hosted| matches!(hosted.phase, Phase::Serving) && hosted.poll.owner == me)
            .filter(|hosted| due_to_close(&hosted.poll, now_ms))
            .map(|hosted| hosted.poll.id)
            .collect();
        (step, due)
    }

    /// Time passed (the timer armed for [`Hub::poll_timeout`] fired, or any time): everything
    /// [`Hub::tick`] does, and every open own poll whose deadline has come closed by the owner
    /// with a command id from `fresh_id` (randomness is an input; `None` leaves the poll for
    /// the next call, with a log line). A delegated poll is not closed at its deadline (only its
    /// owner may close it); its votes are refused after it all the same.
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
    /// heartbeat, a silent connection's close, an own open poll's deadline, a move's timeout,
    /// or the next dial of an unacknowledged activation. `None` when there is nothing to wait
    /// for.
    pub fn poll_timeout(&self) -> Option<u64> {
        let conns = self.conns.values().map(|c| {
            let heartbeat = c.last_sent.saturating_add(self.limits.heartbeat_after_ms);
            let silence = c.last_heard.saturating_add(self.limits.silence_close_ms);
            heartbeat.min(silence)
        });
        let moves = self.polls.values().filter_map(|h| match &h.phase {
            Phase::Moving(m) => Some(m.deadline),
            _ => None,
        });
        let activations = self
            .departed
            .values()
            .filter(|d| !d.activated && d.conn.is_none())
            .map(|d| d.retry_at);
        conns
            .chain(moves)
            .chain(activations)
            .chain(self.discovery_due.values().copied())
            .chain(self.next_deadline())
            .min()
    }

    /// The earliest deadline of an own open poll still ahead of the hub (for the shell's timer).
    pub fn next_deadline(&self) -> Option<u64> {
        self.polls
            .values()
            .filter(|h| h.poll.owner == *self.me() && matches!(h.phase, Phase::Serving))
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
        match self.process(step, poll_id, author, command_id, &command, Some(text)) {
            Handled::Outcome(outcome) => {
                let answer = Control::answer(poll_id, command_id, &outcome);
                self.send(step, conn, &answer.into());
                if matches!(command, Command::Join { .. })
                    && matches!(outcome, Outcome::Acked { .. })
                {
                    self.subscribe(step, conn, poll_id, None);
                }
            }
            Handled::Unknown => {
                let error = if self.deleted.contains(&poll_id) {
                    Control::poll_deleted(poll_id, Some(command_id))
                } else {
                    Control::unknown_poll(command_id, poll_id)
                };
                self.send(step, conn, &error.into());
            }
            Handled::Held => step.log.push(format!(
                "held a command for poll {poll_id}, which is being moved; it will be resent"
            )),
            Handled::Redirect(delegation) => {
                let redirect = Control::Delegation {
                    poll_id,
                    delegation: delegation.text().to_owned(),
                };
                self.send(step, conn, &redirect.into());
            }
        }
    }

    /// Processes a command for `poll_id` by `author`, which arrived in the signed `frame`: on
    /// `Applied`, records the writes and broadcasts the update to every subscribed connection.
    /// A frozen poll answers only commands already recorded; a prepared one none; a poll moved
    /// away answers with its delegation. The time is the current input's (`self.now_ms`).
    fn process(
        &mut self,
        step: &mut Step,
        poll_id: PollId,
        author: &PeerId,
        command_id: CommandId,
        command: &Command,
        frame: Option<&str>,
    ) -> Handled {
        let now_ms = self.now_ms;
        let Some(hosted) = self.polls.get_mut(&poll_id) else {
            return match self.departed.get(&poll_id).and_then(Departed::delegation) {
                Some(delegation) => Handled::Redirect(delegation.clone()),
                None => Handled::Unknown,
            };
        };
        match &hosted.phase {
            Phase::Serving => {}
            Phase::Moving(_) => {
                if hosted.processed.outcome(&command_id).is_none() {
                    return Handled::Held;
                }
            }
            Phase::Prepared { .. } => return Handled::Held,
        }
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
        Handled::Outcome(outcome)
    }

    fn control(&mut self, step: &mut Step, conn: ConnId, control: Control) {
        match control {
            Control::SyncRequest {
                poll_id,
                since_revision,
            } => {
                if self.polls.contains_key(&poll_id) {
                    self.subscribe(step, conn, poll_id, since_revision);
                } else if let Some(delegation) = self.moved_to(&poll_id) {
                    let redirect = Control::Delegation {
                        poll_id,
                        delegation: delegation.text().to_owned(),
                    };
                    self.send(step, conn, &redirect.into());
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
            Control::Move {
                poll_id,
                delegation,
            } => self.move_requested(step, conn, poll_id, &delegation),
            Control::Records {
                poll_id,
                seq,
                records,
            } => self.records_received(step, conn, poll_id, seq, records),
            Control::Prepare {
                poll_id,
                delegation,
                chain,
                poll_data,
                record_count,
            } => {
                let transfer = Transfer {
                    poll_id,
                    delegation,
                    chain,
                    poll: *poll_data,
                    record_count,
                };
                self.prepare(step, conn, transfer);
            }
            Control::Prepared { poll_id, seq } => self.prepared(step, conn, poll_id, seq),
            Control::Activate { poll_id, seq } => self.activate(step, conn, poll_id, seq),
            Control::Activated { poll_id, seq } => self.activated(step, conn, poll_id, seq),
            Control::Abort { poll_id, seq } => self.aborted(step, conn, poll_id, seq),
            Control::SnapshotRequest { poll_id } => self.snapshot_requested(step, conn, poll_id),
            Control::BindRequest { batches } => self.bind_requested(step, conn, batches),
            // A heartbeat only proves the connection alive (already noted); owner→participant
            // types from a participant are ignored without reply (§4.10 rule 10), and so is a
            // redirect (a hub does not follow polls).
            Control::Heartbeat
            | Control::State { .. }
            | Control::Event { .. }
            | Control::Discovery { .. }
            | Control::Ack { .. }
            | Control::Error { .. }
            | Control::List { .. }
            | Control::Delegation { .. }
            | Control::Bind { .. }
            | Control::Snapshot { .. } => {}
        }
    }

    /// `snapshot:request`: the poll's owner (only) gets its signed snapshot file (§8.7), or an
    /// `error` saying why not.
    fn snapshot_requested(&mut self, step: &mut Step, conn: ConnId, poll_id: PollId) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        let error = |code: ErrorCode, message: String| Control::Error {
            command_id: None,
            poll_id: Some(poll_id),
            code,
            message,
        };
        let answer = match self.poll(&poll_id).map(|poll| poll.owner == peer) {
            None => Control::poll_gone(poll_id, format!("no poll {poll_id} here")),
            Some(false) => error(
                ErrorCode::NotPermitted,
                "only the poll's owner may export its snapshot".into(),
            ),
            Some(true) => match self.snapshot(&poll_id, self.now_ms) {
                Ok(file) => Control::Snapshot { poll_id, file },
                Err(e) => error(ErrorCode::Internal, e.to_string()),
            },
        };
        let message: Message = answer.into();
        if let Err(e) = seal(&self.me, &message) {
            // Too large for one frame (a snapshot may reach 5 MiB).
            let error = error(ErrorCode::TooLarge, e.to_string());
            self.send(step, conn, &error.into());
            return;
        }
        self.send(step, conn, &message);
    }

    /// Sends `conn` the poll's state (unless it holds `since` and nothing is newer) and
    /// subscribes it; a new subscription is announced. A delegated poll's state is preceded by
    /// its delegation, always (§8.3 rule 1). A prepared poll only subscribes the connection
    /// (it is told once the poll is activated), pointing it to the hub before the move if
    /// there is one.
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
        let peer = state.peer.clone();
        if let Phase::Prepared { .. } = hosted.phase {
            // The chain without the pending delegation: who serves it until activation.
            let before = hosted
                .chain
                .len()
                .checked_sub(2)
                .and_then(|i| hosted.chain.get(i));
            if let Some(before) = before {
                let redirect = Control::Delegation {
                    poll_id,
                    delegation: before.text().to_owned(),
                };
                self.send(step, conn, &redirect.into());
            }
            return;
        }
        let mut messages: Vec<Message> = Vec::new();
        if let Some(delegation) = hosted.chain.last() {
            messages.push(
                Control::Delegation {
                    poll_id,
                    delegation: delegation.text().to_owned(),
                }
                .into(),
            );
        }
        let current = since.is_some_and(|since| since >= hosted.poll.revision);
        if !current {
            let view = view_for(&hosted.poll, &peer);
            messages.push(
                Control::State {
                    poll: Box::new(view),
                }
                .into(),
            );
        }
        self.send_each(step, messages.into_iter().map(|m| (conn, m)));
        if fresh {
            self.announce(step, poll_id);
        }
    }

    /// The subscriber set of `poll_id` changed: sends every connection subscribed to it the
    /// current `peer:discovery` now, or — within [`Limits::discovery_interval_ms`] (plus the
    /// per-subscriber part) of the poll's last announcement — once when that interval is over
    /// ([`Hub::tick`]), with every change made until then.
    fn announce(&mut self, step: &mut Step, poll_id: PollId) {
        if !self.polls.get(&poll_id).is_some_and(Hosted::is_served) {
            return;
        }
        if self.discovery_due.contains_key(&poll_id) {
            return;
        }
        let subscribers = self
            .conns
            .values()
            .filter(|c| c.subscribed.contains(&poll_id))
            .count() as u64;
        let interval = self.limits.discovery_interval_ms.saturating_add(
            self.limits
                .discovery_ms_per_subscriber
                .saturating_mul(subscribers),
        );
        match self.announced.get(&poll_id) {
            Some(last) if self.now_ms < last.saturating_add(interval) => {
                self.discovery_due
                    .insert(poll_id, last.saturating_add(interval));
            }
            _ => self.announce_now(step, poll_id),
        }
    }

    /// Sends every connection subscribed to `poll_id` the current `peer:discovery`.
    fn announce_now(&mut self, step: &mut Step, poll_id: PollId) {
        if !self.polls.get(&poll_id).is_some_and(Hosted::is_served) {
            return;
        }
        let mut peers = self.present(&poll_id);
        let connected = peers.len() as u64;
        peers.truncate(DISCOVERY_LISTED_MAX);
        let targets: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.subscribed.contains(&poll_id))
            .map(|(id, _)| *id)
            .collect();
        if !targets.is_empty() {
            // Nothing sent is no announcement: the next change is not held back by it.
            self.announced.insert(poll_id, self.now_ms);
        }
        let message: Message = Control::Discovery {
            poll_id,
            peers,
            connected,
        }
        .into();
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

    /// Forgets `conn`, announcing the subscriber change of each poll it followed, and detaching
    /// it from any move it carried.
    fn forget(&mut self, step: &mut Step, conn: ConnId) {
        let Some(state) = self.conns.remove(&conn) else {
            return;
        };
        for hosted in self.polls.values_mut() {
            if let Phase::Moving(m) = &mut hosted.phase {
                if m.conn == Some(conn) {
                    m.conn = None;
                }
                if m.requester == Some(conn) {
                    m.requester = None;
                }
            }
        }
        for departed in self.departed.values_mut() {
            if departed.conn == Some(conn) {
                departed.conn = None;
            }
        }
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
        // (message, bound?) → its frame: signed for unbound connections, plain for bound ones.
        let mut sealed: Vec<(Message, bool, Rc<str>)> = Vec::new();
        for (conn, message) in messages {
            let bound = self.is_bound(conn);
            let frame = match sealed
                .iter()
                .find(|(done, b, _)| *b == bound && *done == message)
            {
                Some((_, _, frame)) => Rc::clone(frame),
                None => {
                    let made = if bound {
                        frame_unsigned(self.me.peer_id(), &message)
                    } else {
                        seal(&self.me, &message)
                    };
                    match made {
                        Ok(frame) => {
                            let frame: Rc<str> = frame.into();
                            sealed.push((message, bound, Rc::clone(&frame)));
                            frame
                        }
                        Err(error) => {
                            step.log.push(format!("could not seal a message: {error}"));
                            continue;
                        }
                    }
                }
            };
            if let Some(state) = self.conns.get_mut(&conn) {
                state.last_sent = self.now_ms;
            }
            step.sends.push((conn, frame));
        }
    }

    /// Freezes `poll_id` and starts its transfer to the delegation's hub (§8.4 steps 1–2).
    fn start_move(
        &mut self,
        step: &mut Step,
        poll_id: PollId,
        delegation: SignedDelegation,
        requester: Option<ConnId>,
    ) {
        let deadline = self.now_ms.saturating_add(self.limits.move_timeout_ms);
        let target = delegation.hub().clone();
        let Some(hosted) = self.polls.get_mut(&poll_id) else {
            return;
        };
        hosted.highest_seq = hosted.highest_seq.max(delegation.seq());
        hosted.phase = Phase::Moving(Moving {
            delegation,
            conn: None,
            deadline,
            requester,
        });
        step.writes
            .push(Write::Hosting(poll_id, Box::new(hosted.hosting())));
        step.changed.insert(poll_id);
        step.log
            .push(format!("moving poll {poll_id} to {target}: frozen"));
        let open = self
            .conns
            .iter()
            .find(|(_, c)| c.outgoing && c.peer == target)
            .map(|(id, _)| *id);
        match open {
            Some(conn) => self.send_transfer(step, poll_id, conn),
            None => step.dials.push(target),
        }
    }

    /// Sends a frozen poll's records and `hub:prepare` on the hub-to-hub connection `conn`.
    fn send_transfer(&mut self, step: &mut Step, poll_id: PollId, conn: ConnId) {
        let Some(hosted) = self.polls.get_mut(&poll_id) else {
            return;
        };
        let Phase::Moving(moving) = &mut hosted.phase else {
            return;
        };
        moving.conn = Some(conn);
        let seq = moving.delegation.seq();
        let delegation = moving.delegation.text().to_owned();
        let records: Vec<ProcessedRecord> = hosted.processed.records().collect();
        let record_count = records.len() as u64;
        let chain = hosted.chain.iter().map(|d| d.text().to_owned()).collect();
        let poll = Box::new(hosted.poll.clone());
        let mut messages: Vec<Message> = Vec::new();
        let mut batch: Vec<ProcessedRecord> = Vec::new();
        let mut size = 0;
        for record in records {
            let len = serde_json::to_string(&record).map_or(0, |json| json.len());
            if !batch.is_empty() && size + len > RECORDS_BATCH_BYTES {
                messages.push(
                    Control::Records {
                        poll_id,
                        seq,
                        records: std::mem::take(&mut batch),
                    }
                    .into(),
                );
                size = 0;
            }
            size += len;
            batch.push(record);
        }
        if !batch.is_empty() {
            messages.push(
                Control::Records {
                    poll_id,
                    seq,
                    records: batch,
                }
                .into(),
            );
        }
        messages.push(
            Control::Prepare {
                poll_id,
                delegation,
                chain,
                poll_data: poll,
                record_count,
            }
            .into(),
        );
        for message in messages {
            self.send(step, conn, &message);
        }
    }

    /// `hub:move` from `conn` (§8.4): only the poll's owner may ask, with a valid newer
    /// delegation.
    fn move_requested(&mut self, step: &mut Step, conn: ConnId, poll_id: PollId, text: &str) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        let Some(hosted) = self.polls.get(&poll_id).filter(|h| h.is_served()) else {
            if let Some(delegation) = self.moved_to(&poll_id) {
                let redirect = Control::Delegation {
                    poll_id,
                    delegation: delegation.text().to_owned(),
                };
                self.send(step, conn, &redirect.into());
            } else {
                let error = Control::poll_gone(poll_id, format!("no poll {poll_id} here"));
                self.send(step, conn, &error.into());
            }
            return;
        };
        let refuse = |code: ErrorCode, message: String| Control::Error {
            command_id: None,
            poll_id: Some(poll_id),
            code,
            message,
        };
        if peer != hosted.poll.owner {
            let error = refuse(
                ErrorCode::NotPermitted,
                "only the poll's owner may move it".into(),
            );
            self.send(step, conn, &error.into());
            return;
        }
        if !matches!(hosted.phase, Phase::Serving) {
            step.log
                .push(format!("poll {poll_id} is already being moved"));
            return;
        }
        let delegation = match SignedDelegation::check(text, poll_id, &hosted.poll.owner) {
            Ok(d) if d.seq() > hosted.seq().max(hosted.highest_seq) => d,
            Ok(d) => {
                let error = refuse(
                    ErrorCode::BadDelegation,
                    format!(
                        "delegation seq {} is not newer than {}",
                        d.seq(),
                        hosted.seq()
                    ),
                );
                self.send(step, conn, &error.into());
                return;
            }
            Err(e) => {
                let error = refuse(ErrorCode::BadDelegation, e.to_string());
                self.send(step, conn, &error.into());
                return;
            }
        };
        if delegation.hub() == self.me() {
            return; // already here
        }
        self.start_move(step, poll_id, delegation, Some(conn));
    }

    /// `hub:records`: kept until the transfer's `hub:prepare`.
    fn records_received(
        &mut self,
        step: &mut Step,
        conn: ConnId,
        poll_id: PollId,
        seq: u64,
        records: Vec<ProcessedRecord>,
    ) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        let key = (poll_id, seq);
        if !self.inbound.contains_key(&key) && self.inbound.len() >= MAX_INBOUND {
            if let Some(oldest) = self.inbound.keys().next().copied() {
                self.inbound.remove(&oldest);
            }
        }
        let inbound = self.inbound.entry(key).or_insert_with(|| Inbound {
            from: peer.clone(),
            records: Vec::new(),
        });
        if inbound.from != peer {
            // Someone else's transfer of the same poll: start over with this sender's.
            *inbound = Inbound {
                from: peer,
                records: Vec::new(),
            };
        }
        inbound.records.extend(records);
        let held: usize = self
            .inbound
            .values()
            .flat_map(|i| &i.records)
            .map(record_bytes)
            .sum();
        if held > MAX_INBOUND_BYTES {
            self.inbound.remove(&key);
            step.log.push(format!(
                "dropped a transfer of poll {poll_id}: too many records"
            ));
        }
    }

    /// `hub:prepare` (§8.4 step 3): check everything, commit as prepared, answer.
    fn prepare(&mut self, step: &mut Step, conn: ConnId, transfer: Transfer) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        let poll_id = transfer.poll_id;
        match self.check_transfer(&peer, transfer) {
            Ok(Checked::Again(seq)) => {
                self.send(step, conn, &Control::Prepared { poll_id, seq }.into());
            }
            Ok(Checked::New {
                poll,
                records,
                chain,
                highest_seq,
            }) => {
                let seq = chain.last().map_or(0, SignedDelegation::seq);
                step.writes.push(Write::DeletePoll(poll_id));
                step.writes.push(Write::Poll(poll.clone()));
                for record in &records {
                    step.writes.push(Write::Record(poll_id, record.clone()));
                }
                let hosted = Hosted {
                    poll: *poll,
                    processed: records.into_iter().collect(),
                    chain,
                    highest_seq,
                    phase: Phase::Prepared { from: peer },
                };
                step.writes
                    .push(Write::Hosting(poll_id, Box::new(hosted.hosting())));
                self.departed.remove(&poll_id);
                self.polls.insert(poll_id, hosted);
                step.changed.insert(poll_id);
                self.send(step, conn, &Control::Prepared { poll_id, seq }.into());
            }
            Err((code, message)) => {
                step.log
                    .push(format!("refused a transfer of poll {poll_id}: {message}"));
                let error = Control::Error {
                    command_id: None,
                    poll_id: Some(poll_id),
                    code,
                    message,
                };
                self.send(step, conn, &error.into());
            }
        }
    }

    /// The checks of §8.4 step 3, in order. Consumes the transfer's inbound records.
    fn check_transfer(
        &mut self,
        sender: &PeerId,
        transfer: Transfer,
    ) -> Result<Checked, (ErrorCode, String)> {
        let bad = |e: &dyn std::fmt::Display| (ErrorCode::BadDelegation, e.to_string());
        let invalid = |e: String| (ErrorCode::InvalidField, e);
        let Transfer {
            poll_id,
            delegation,
            chain,
            poll,
            record_count,
        } = transfer;
        if poll.id != poll_id {
            return Err(invalid(format!("pollData is poll {}", poll.id)));
        }
        let delegation =
            SignedDelegation::check(&delegation, poll_id, &poll.owner).map_err(|e| bad(&e))?;
        if delegation.hub() != self.me() {
            return Err(bad(&"the delegation names another hub"));
        }
        let mut chain = check_chain(&chain, poll_id, &poll.owner).map_err(|e| bad(&e))?;
        if chain.last().is_some_and(|d| d.seq() >= delegation.seq()) {
            return Err(bad(&"the delegation is not newer than the chain"));
        }
        let sender_serves = chain.last().map_or(&poll.owner, SignedDelegation::hub) == sender;
        if *sender != poll.owner && !sender_serves {
            return Err(bad(&format!(
                "{sender} is neither the owner nor the hub serving the poll"
            )));
        }
        if poll.revision < delegation.delegation().from_revision {
            return Err(invalid(format!(
                "revision {} is below the delegation's fromRevision",
                poll.revision
            )));
        }
        let seq = delegation.seq();
        // What this hub adopted before (a seq it only signed, as the owner, does not count:
        // the owner accepts the transfer of its own new delegation).
        let known = self
            .polls
            .get(&poll_id)
            .map(|h| (h.seq(), matches!(h.phase, Phase::Prepared { .. })));
        if let Some(hosted) = self.polls.get(&poll_id) {
            if let Phase::Prepared { from } = &hosted.phase {
                if hosted.seq() == seq && from == sender {
                    self.inbound.remove(&(poll_id, seq));
                    return Ok(Checked::Again(seq));
                }
            }
        }
        match known {
            Some((_, false)) => return Err(bad(&"this hub serves the poll already")),
            Some((highest, true)) if highest >= seq => {
                return Err(bad(&"not newer than a delegation seen here"))
            }
            _ => {}
        }
        if let Some(departed) = self.departed.get(&poll_id) {
            if departed.delegation().map_or(0, SignedDelegation::seq) >= seq {
                return Err(bad(&"not newer than a delegation seen here"));
            }
        }
        let inbound = self.inbound.remove(&(poll_id, seq));
        let records = match inbound {
            Some(inbound) if inbound.from == *sender => inbound.records,
            Some(_) => Vec::new(),
            None => Vec::new(),
        };
        if records.len() as u64 != record_count {
            return Err(invalid(format!(
                "{} records arrived, {record_count} announced",
                records.len()
            )));
        }
        for record in &records {
            if let Some(frame) = &record.frame {
                check_vote_frame(frame, poll_id, &record.author).map_err(invalid)?;
            }
        }
        let mut ids = BTreeSet::new();
        if !records.iter().all(|r| ids.insert(r.command_id)) {
            return Err(invalid("a command id is recorded twice".into()));
        }
        let highest_seq = seq.max(self.departed.get(&poll_id).map_or(0, |d| d.highest_seq));
        chain.push(delegation);
        Ok(Checked::New {
            poll: Box::new(poll),
            records,
            chain,
            highest_seq,
        })
    }

    /// `hub:prepared` (§8.4 step 4): the commit point of a move from this hub.
    fn prepared(&mut self, step: &mut Step, conn: ConnId, poll_id: PollId, seq: u64) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        let moving = self.polls.get(&poll_id).is_some_and(|h| {
            matches!(&h.phase, Phase::Moving(m)
                if m.delegation.seq() == seq && *m.delegation.hub() == peer)
        });
        if !moving {
            let committed = self
                .moved_to(&poll_id)
                .is_some_and(|d| d.seq() == seq && *d.hub() == peer);
            let answer = if committed {
                if let Some(departed) = self.departed.get_mut(&poll_id) {
                    if !departed.activated {
                        departed.conn = Some(conn);
                    }
                }
                Control::Activate { poll_id, seq }
            } else {
                Control::Abort { poll_id, seq }
            };
            self.send(step, conn, &answer.into());
            self.release(step, conn);
            return;
        }
        let Some(hosted) = self.polls.remove(&poll_id) else {
            return;
        };
        let Phase::Moving(moving) = hosted.phase else {
            return;
        };
        let mut chain = hosted.chain;
        let delegation = moving.delegation.clone();
        chain.push(moving.delegation);
        let departed = Departed {
            chain,
            highest_seq: hosted.highest_seq,
            activated: false,
            conn: Some(conn),
            retry_at: self.now_ms.saturating_add(self.limits.move_timeout_ms),
        };
        step.writes.push(Write::DeletePoll(poll_id));
        step.writes
            .push(Write::Hosting(poll_id, Box::new(departed.hosting())));
        self.departed.insert(poll_id, departed);
        step.changed.insert(poll_id);
        step.log.push(format!(
            "poll {poll_id} moved to {} (seq {seq})",
            delegation.hub()
        ));
        self.send(step, conn, &Control::Activate { poll_id, seq }.into());
        let redirect: Message = Control::Delegation {
            poll_id,
            delegation: delegation.text().to_owned(),
        }
        .into();
        let mut targets: Vec<ConnId> = self
            .conns
            .iter_mut()
            .filter_map(|(id, c)| c.subscribed.remove(&poll_id).then_some(*id))
            .collect();
        if let Some(requester) = moving.requester {
            if self.conns.contains_key(&requester) && !targets.contains(&requester) {
                targets.push(requester);
            }
        }
        self.send_each(step, targets.into_iter().map(|c| (c, redirect.clone())));
    }

    /// `hub:activate` (§8.4 step 5): serve a prepared poll.
    fn activate(&mut self, step: &mut Step, conn: ConnId, poll_id: PollId, seq: u64) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        // An activation this hub already went through (the poll has moved on since, or came
        // back under a newer delegation) is acknowledged, so the old hub stops re-sending it.
        let me = self.me().clone();
        let went_through =
            |chain: &[SignedDelegation]| chain.iter().any(|d| d.seq() == seq && *d.hub() == me);
        let Some(hosted) = self.polls.get_mut(&poll_id) else {
            if self
                .departed
                .get(&poll_id)
                .is_some_and(|d| went_through(&d.chain))
            {
                self.send(step, conn, &Control::Activated { poll_id, seq }.into());
            }
            return;
        };
        if hosted.seq() != seq {
            if hosted
                .chain
                .iter()
                .any(|d| d.seq() == seq && *d.hub() == me)
            {
                self.send(step, conn, &Control::Activated { poll_id, seq }.into());
            }
            return;
        }
        match &hosted.phase {
            Phase::Prepared { from } if *from == peer => {}
            Phase::Prepared { .. } => return,
            // Already active: a repeated activation (the old hub restarted) is acknowledged.
            Phase::Serving | Phase::Moving(_) => {
                self.send(step, conn, &Control::Activated { poll_id, seq }.into());
                return;
            }
        }
        hosted.phase = Phase::Serving;
        step.writes
            .push(Write::Hosting(poll_id, Box::new(hosted.hosting())));
        step.changed.insert(poll_id);
        step.log.push(format!("serving poll {poll_id} (seq {seq})"));
        self.send(step, conn, &Control::Activated { poll_id, seq }.into());
        let waiting: Vec<ConnId> = self
            .conns
            .iter_mut()
            .filter_map(|(id, c)| c.subscribed.remove(&poll_id).then_some(*id))
            .collect();
        for waiter in waiting {
            self.subscribe(step, waiter, poll_id, None);
        }
    }

    /// `hub:activated`: the target serves the poll; nothing more to re-send.
    fn activated(&mut self, step: &mut Step, conn: ConnId, poll_id: PollId, seq: u64) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        let Some(departed) = self.departed.get_mut(&poll_id) else {
            return;
        };
        let matches = departed
            .delegation()
            .is_some_and(|d| d.seq() == seq && *d.hub() == peer);
        if matches && !departed.activated {
            departed.activated = true;
            departed.conn = None;
            step.writes
                .push(Write::Hosting(poll_id, Box::new(departed.hosting())));
        }
        self.release(step, conn);
    }

    /// `hub:abort`: forget a prepared copy (§8.4 "Abort").
    fn aborted(&mut self, step: &mut Step, conn: ConnId, poll_id: PollId, seq: u64) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
            return;
        };
        let prepared = self.polls.get(&poll_id).is_some_and(|h| {
            h.seq() == seq && matches!(&h.phase, Phase::Prepared { from } if *from == peer)
        });
        if !prepared {
            return;
        }
        let Some(mut hosted) = self.polls.remove(&poll_id) else {
            return;
        };
        hosted.chain.pop();
        step.writes.push(Write::DeletePoll(poll_id));
        step.changed.insert(poll_id);
        step.log
            .push(format!("dropped the prepared copy of poll {poll_id}"));
        // A poll that had moved away from here before stays moved away (to the old hub).
        if !hosted.chain.is_empty() {
            let departed = Departed {
                chain: hosted.chain,
                highest_seq: hosted.highest_seq,
                activated: true,
                conn: None,
                retry_at: 0,
            };
            step.writes
                .push(Write::Hosting(poll_id, Box::new(departed.hosting())));
            self.departed.insert(poll_id, departed);
        }
        let waiting: Vec<ConnId> = self
            .conns
            .iter_mut()
            .filter_map(|(id, c)| c.subscribed.remove(&poll_id).then_some(*id))
            .collect();
        for waiter in waiting {
            self.control(
                step,
                waiter,
                Control::SyncRequest {
                    poll_id,
                    since_revision: None,
                },
            );
        }
    }

    /// A move's target did not prepare in time: serve the poll as before (§8.4 "Abort").
    fn abort_move(&mut self, step: &mut Step, poll_id: PollId) {
        let Some(hosted) = self.polls.get_mut(&poll_id) else {
            return;
        };
        let Phase::Moving(moving) = std::mem::replace(&mut hosted.phase, Phase::Serving) else {
            return;
        };
        let seq = moving.delegation.seq();
        step.changed.insert(poll_id);
        step.log.push(format!(
            "the move of poll {poll_id} to {} failed: no answer in time; serving it here",
            moving.delegation.hub()
        ));
        if let Some(conn) = moving.conn {
            self.send(step, conn, &Control::Abort { poll_id, seq }.into());
            self.release(step, conn);
        }
        if let Some(requester) = moving.requester {
            let error = Control::Error {
                command_id: None,
                poll_id: Some(poll_id),
                code: ErrorCode::MoveFailed,
                message: format!(
                    "the move to {} failed; the poll stays here",
                    moving.delegation.hub()
                ),
            };
            self.send(step, requester, &error.into());
        }
    }
}

/// What became of a command sent to this hub.
enum Handled {
    /// Answered (applied, refused or replayed).
    Outcome(Outcome),
    /// No such poll here.
    Unknown,
    /// Not answered now: the poll is frozen or only prepared; the author resends it.
    Held,
    /// The poll moved away under this delegation.
    Redirect(SignedDelegation),
}

/// A `hub:prepare`, unpacked.
struct Transfer {
    poll_id: PollId,
    delegation: String,
    chain: Vec<String>,
    poll: Poll,
    record_count: u64,
}

/// A transfer that passed its checks.
enum Checked {
    /// The same transfer, prepared before: answer again.
    Again(u64),
    /// A new one, to commit.
    New {
        poll: Box<Poll>,
        records: Vec<ProcessedRecord>,
        chain: Vec<SignedDelegation>,
        highest_seq: u64,
    },
}

impl Hosted {
    /// Served (possibly frozen by a move), not only prepared.
    fn is_served(&self) -> bool {
        !matches!(self.phase, Phase::Prepared { .. })
    }

    /// The seq of the current delegation (0: none).
    fn seq(&self) -> u64 {
        self.chain.last().map_or(0, SignedDelegation::seq)
    }

    fn hosting(&self) -> Hosting {
        Hosting {
            state: match &self.phase {
                Phase::Serving | Phase::Moving(_) => HostingState::Serving,
                Phase::Prepared { from } => HostingState::Prepared { from: from.clone() },
            },
            chain: self.chain.clone(),
            highest_seq: self.highest_seq,
        }
    }
}

impl Departed {
    fn hosting(&self) -> Hosting {
        Hosting {
            state: HostingState::Moved {
                activated: self.activated,
            },
            chain: self.chain.clone(),
            highest_seq: self.highest_seq,
        }
    }
}

/// Checks that a moved record's frame is its author's signed `poll:vote` for `poll`.
fn check_vote_frame(frame: &str, poll: PollId, author: &PeerId) -> Result<(), String> {
    match crate::protocol::open(frame, Some(author)) {
        Ok((
            _,
            Message::Command(CommandFrame {
                command: Command::CastVote { .. },
                poll_id,
                ..
            }),
        )) if poll_id == poll => Ok(()),
        Ok(_) => Err(format!(
            "a record of {author} keeps a frame that is not its vote"
        )),
        Err(e) => Err(format!(
            "a record of {author} keeps a frame that does not open: {e}"
        )),
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

/// A stored poll and its [`Hosting`] do not fit together, or do not fit this hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A served or prepared poll without its poll data.
    #[error("poll {0} is hosted here but its data is missing")]
    MissingPoll(PollId),
    /// The hosting names another poll, or its chain does not end at this hub.
    #[error("the stored hosting of poll {0} does not fit it or this hub")]
    Inconsistent(PollId),
}

/// Why a move could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MoveError {
    /// The poll is not served here (or, for [`Hub::sign_move`], has not moved away from here).
    #[error("poll {0} is not served here")]
    NotServed(PollId),
    /// Only the poll's owner moves it.
    #[error("poll {0} belongs to someone else")]
    NotOwner(PollId),
    /// A move of it is already in flight.
    #[error("poll {0} is already being moved")]
    Busy(PollId),
    /// It is served here already.
    #[error("poll {0} is served here already")]
    AlreadyThere(PollId),
    /// The delegation could not be signed.
    #[error("could not sign the delegation: {0}")]
    Sign(#[source] DelegationError),
}

pub mod checks;
pub mod machine;
pub mod pipeline;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod move_tests;

#[cfg(test)]
pub(crate) mod testkit;
