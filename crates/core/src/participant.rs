//! Everything one participant (one browser tab holding the identity) does as a client of hubs,
//! as one sans-IO machine in str0m's shape: the polls it follows, one [`OwnerLink`] per hub
//! they are served by (and per owner whose poll list a page wants), and the participant's
//! policy for storage and the screen.
//!
//! The driving loop (the shell owns the connections, IndexedDB, the page callbacks and one
//! timer):
//! 1. feed what happened with [`Participant::handle_input`] (a connection event of a hub, a
//!    storage write that finished) or an intent ([`Participant::follow`],
//!    [`Participant::submit`], …), and call [`Participant::handle_timeout`] when the timer fires;
//!    `now` is Unix ms and randomness comes from an [`Entropy`];
//! 2. drain [`Participant::poll_output`] until `None` and act on each [`Output`] in order;
//! 3. arm the one timer for [`Participant::poll_timeout`].
//!
//! The policy decided here (and tested natively, `participant/tests.rs`):
//! - **Connections.** One link per hub peer, made when a poll or a list needs it and dropped
//!   when nothing does; dialing, redialing, heartbeats, silence, verification and routing are
//!   the link's ([`OwnerLink`]). A poll moved to another hub (`Output::Moved` of its link)
//!   leaves for the link of that hub, where its pending commands are resent; a poll moved to
//!   this participant itself (its owner took it back) is stopped and forgotten
//!   ([`Output::Leave`]): this browser's hub serves it.
//! - **Outbox writes first.** A submitted command is pending at once; its record goes out in
//!   [`Output::WriteOutbox`], and it is sent only after the shell reports the write
//!   committed ([`Input::OutboxWritten`]). So no command leaves before it is durable.
//! - **Deletes coalesced.** Answered commands' records are deleted right after the page got
//!   the snapshot showing the answer ([`Output::Notify`] comes first), one
//!   [`Output::DeleteOutbox`] at a time per poll; answers arriving while one is under way are
//!   deleted together once it ends, or ride along in the next command's write.
//! - **View saves coalesced.** A verified view (or a newer delegation) is saved right after the
//!   snapshot showing it, one [`Output::SaveView`] at a time per poll; views arriving meanwhile
//!   are saved together afterwards (the latest wins). A poll is saved only once a verified view
//!   arrived, and joined (`poll:join`) only then.
//! - **The screen.** A poll's page is told in a task after a change ([`Output::Notify`] at a
//!   deadline of `now`), so frames handled together cost one snapshot; a submitted command is
//!   shown once its write finished, or after [`PENDING_SHOW_MS`] at the latest.
//!
//! Invariants: every output about a poll's storage comes after the [`Output::Notify`] that
//! shows its cause; an answered command's record is deleted only after its answer arrived;
//! nothing is written for a poll after it was stopped. Pure: no clock, no randomness, no I/O.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use crate::delegation::SignedDelegation;
use crate::follower::{FollowError, Follower, GoneReason, Link, Notice};
use crate::outbox::OutboxRecord;
use crate::owner_link::{self, LinkState, OwnerLink};
use crate::poll::{Command, CommandId, PollId, PollView};
use crate::protocol::{ChannelFingerprints, ErrorCode, PeerInfo, PollSummary};
use crate::{Identity, PeerId};

#[cfg(test)]
mod tests;

/// A submitted command is shown pending after this long at the latest, if its outbox write has
/// not finished by then (it normally has, and the page shows it right after).
pub const PENDING_SHOW_MS: u64 = 50;
/// A snapshot carries this many pending commands (a page lists no more); a thousand queued votes
/// then cost a short copy per snapshot, not a thousand.
pub const PENDING_SHOWN: usize = 10;

/// A followed poll: its owner and its ID (the same poll ID at two owners is two polls).
pub type FollowKey = (PeerId, PollId);

/// The randomness the machine needs, supplied by the shell.
pub trait Entropy {
    /// A fresh command id (`None` when the source failed).
    fn command_id(&mut self) -> Option<CommandId>;
    /// A uniformly random `u32` (redial jitter).
    fn next_u32(&mut self) -> u32;
}

/// Why the last attempt to reach a hub failed, as far as this browser can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialProblem {
    /// The signaling server does not know the hub's peer ID: the owner's browser is not online.
    OwnerOffline,
    /// This side is not registered with the signaling server (its network or the server is
    /// down), so it cannot dial anyone.
    SelfOffline,
    /// The hub did not answer in time (it may be asleep or behind a firewall).
    NoAnswer,
    /// The connection broke or stopped answering.
    Lost,
    /// Another failure; the detail is for the console.
    Other(String),
}

/// Where the connection to a poll's hub stands, as the page shows it (`sync-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// Talking to the verified hub.
    Connected,
    /// Dialing, or waiting for the hub to prove itself.
    Connecting,
    /// No connection; the next attempt is scheduled.
    Offline,
}

impl SyncState {
    /// The `data-state` value.
    pub fn key(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Connecting => "connecting",
            Self::Offline => "offline",
        }
    }
}

/// Why the participant's last command did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandProblem {
    /// The hub refused it.
    Refused {
        /// What it asked for.
        command: Command,
        /// The hub's reason.
        code: ErrorCode,
    },
    /// Its outbox write failed, so it was dropped unsent.
    NotStored,
    /// It could not be queued: the poll is gone.
    Gone,
    /// It could not be queued: too large to seal.
    TooLarge,
    /// It could not be queued for another reason (the detail went to the log).
    NotPrepared,
}

impl CommandProblem {
    fn queueing(error: &FollowError) -> Self {
        match error {
            FollowError::Gone => Self::Gone,
            FollowError::Seal(_) => Self::TooLarge,
            _ => Self::NotPrepared,
        }
    }
}

/// What a participant's page shows of one followed poll.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowSnapshot {
    /// The owner.
    pub owner: PeerId,
    /// The poll.
    pub poll_id: PollId,
    /// The view with this participant's pending vote applied.
    pub view: Option<Rc<PollView>>,
    /// When the verified view was received (Unix ms), if it came from storage or the hub.
    pub view_saved_at: Option<u64>,
    /// Who is connected to the hub for this poll (at most
    /// [`crate::protocol::DISCOVERY_LISTED_MAX`] of them).
    pub peers: Vec<PeerInfo>,
    /// How many peers are connected to the hub for this poll, the hub's owner included.
    pub connected: u64,
    /// The connection.
    pub sync: SyncState,
    /// The oldest [`PENDING_SHOWN`] commands not answered yet (the page lists them).
    pub pending: Vec<Command>,
    /// How many commands are not answered yet.
    pub pending_count: usize,
    /// Whether a vote is among them.
    pub vote_pending: bool,
    /// When the next dial is scheduled (Unix ms), while waiting to redial.
    pub next_attempt_at: Option<u64>,
    /// Why the last command did not go through.
    pub refusal: Option<CommandProblem>,
    /// Set while the peer at the hub's ID is not who it should be.
    pub impostor: Option<String>,
    /// Why the last dial failed (e.g. the owner is not online).
    pub last_error: Option<DialProblem>,
    /// The hub does not have the poll: nothing is sent or dialed any more (final).
    pub gone: bool,
    /// Why it is gone: no such poll, or deleted by its owner.
    pub gone_reason: Option<GoneReason>,
    /// The peer serving the poll as far as this participant knows: the owner, or the hub its
    /// owner delegated it to (PROTOCOL.md §8).
    pub hub: PeerId,
    /// The last error the hub answered outside a command (e.g. a refused move), in its words.
    pub hub_error: Option<String>,
    /// The signed snapshot file the hub sent (answering [`Participant::request_snapshot`]).
    pub snapshot_file: Option<Rc<str>>,
}

/// What an owner's poll list page hears ([`Participant::want_list`]).
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerList {
    /// The owner's `poll:list`, verified against its key.
    Listed(Vec<PollSummary>),
    /// The last attempt to reach the owner failed (e.g. it is not online); retrying.
    Unreachable(DialProblem),
    /// The peer at the owner's ID does not hold its key.
    Impostor(String),
}

/// A verified view to save (`joined` store), with what a reload needs to follow it again.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedView {
    /// The owner.
    pub owner: PeerId,
    /// The poll.
    pub poll_id: PollId,
    /// The verified view.
    pub view: Option<PollView>,
    /// When it was received (Unix ms).
    pub saved_at: u64,
    /// The highest owner-signed delegation seen: a reload dials its hub directly.
    pub delegation: Option<SignedDelegation>,
}

/// Something that happened in the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// The connection to `hub` asked for by the last [`Output::Dial`] opened; with the DTLS
    /// fingerprints of that connection when the shell can read them, so the link asks the hub
    /// to bind the channel (PROTOCOL.md §2.7).
    Opened(&'a PeerId, Option<&'a ChannelFingerprints>),
    /// A text frame arrived from `hub`.
    Frame(&'a PeerId, &'a str),
    /// The connection to `hub` closed, or its dial failed.
    Closed(&'a PeerId),
    /// This side could not dial `hub` at all yet (its own peer is not registered).
    NotReady(&'a PeerId),
    /// The connection to `hub` reported an error (a close usually follows).
    Failed(&'a PeerId, DialProblem),
    /// An [`Output::WriteOutbox`] finished; `stored` says whether it committed.
    OutboxWritten {
        /// The poll.
        key: &'a FollowKey,
        /// The command written.
        command_id: CommandId,
        /// Whether the transaction committed.
        stored: bool,
        /// The records it was to delete (the `delete` of the output).
        deleted: Vec<CommandId>,
    },
    /// An [`Output::DeleteOutbox`] finished (committed or not: a record left is resent after a
    /// reload and answered again).
    OutboxDeleted(&'a FollowKey),
    /// An [`Output::SaveView`] finished.
    ViewSaved(&'a FollowKey),
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a data connection to this hub; report with [`Input::Opened`] / [`Input::Closed`]
    /// (or [`Input::NotReady`]).
    Dial(PeerId),
    /// Send this text frame on the open connection to the hub.
    Send(PeerId, String),
    /// Close the connection to the hub; report nothing more of it.
    Close(PeerId),
    /// Store this command's record and delete these answered records, in one transaction;
    /// report with [`Input::OutboxWritten`]. The command is sent only after that.
    WriteOutbox {
        /// The poll.
        key: FollowKey,
        /// The command's record.
        record: OutboxRecord,
        /// Answered commands whose records go in the same transaction.
        delete: Vec<CommandId>,
    },
    /// Delete answered commands' records; report with [`Input::OutboxDeleted`].
    DeleteOutbox {
        /// The poll.
        key: FollowKey,
        /// The answered commands.
        ids: Vec<CommandId>,
    },
    /// Save this verified view; report with [`Input::ViewSaved`].
    SaveView(Box<SavedView>),
    /// The poll moved to this participant itself (its owner took it back): forget the
    /// followed copy (saved view and outbox). It is no longer followed.
    Leave(FollowKey),
    /// Show the page the poll's [`Participant::snapshot`] now.
    Notify(FollowKey),
    /// Tell the pages watching this owner's list.
    List(PeerId, OwnerList),
    /// For the console.
    Log(String),
}

/// Why an intent could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParticipantError {
    /// The poll is not followed.
    #[error("the poll is not followed")]
    NotFollowed,
    /// No command id could be made (the randomness source failed).
    #[error("no command id could be made")]
    NoCommandId,
    /// The link refused (e.g. nothing to send it on).
    #[error(transparent)]
    Follow(#[from] FollowError),
}

/// A hub's link, shared by the polls served there and the owner's list pages.
#[derive(Debug)]
struct Hub {
    link: OwnerLink,
    lists: usize,
    last_error: Option<DialProblem>,
}

/// One followed poll's shell-facing state.
#[derive(Debug)]
struct Followed {
    hub: PeerId,
    name: String,
    saved_at: Option<u64>,
    refusal: Option<CommandProblem>,
    hub_error: Option<String>,
    snapshot_file: Option<Rc<str>>,
    /// Answered commands whose records are not being deleted yet.
    answered: Vec<CommandId>,
    deleting: bool,
    view_unsaved: bool,
    view_saving: bool,
    /// When the page is told next.
    notify_at: Option<u64>,
    /// `notify_at` is a submitted command's fallback, not "in the next task".
    notify_delayed: bool,
}

/// What [`Participant::follow`] needs of one poll.
#[derive(Debug)]
pub struct Start {
    /// The poll's follower, with its saved view, delegation and outbox restored.
    pub follower: Follower,
    /// The name to join with (or to rename to, if the owner knows another).
    pub name: String,
    /// When its saved view was received, if one was stored.
    pub saved_at: Option<u64>,
}

impl Start {
    /// A poll to follow, rebuilt from what storage holds: its last verified view and the
    /// delegation saved with it (a reload dials the hub serving it directly), else the hub an
    /// invite link names (`via`), else the owner; and its stored outbox records. What could not
    /// be restored (an invalid saved delegation, a record too large to seal) comes back for the
    /// log.
    pub fn restore(
        me: Identity,
        key: &FollowKey,
        saved: Option<SavedView>,
        via: Option<PeerId>,
        outbox: &[OutboxRecord],
        name: String,
    ) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let saved_at = saved.as_ref().map(|s| s.saved_at);
        let (view, delegation) = saved.map_or((None, None), |s| (s.view, s.delegation));
        let mut follower = Follower::new(me, key.0.clone(), key.1, view);
        let restored = delegation.is_some_and(|d| match follower.restore_delegation(d) {
            Ok(()) => true,
            Err(e) => {
                problems.push(format!("ignored a saved delegation: {e}"));
                false
            }
        });
        if let Some(via) = via.filter(|_| !restored) {
            follower.set_hub(via);
        }
        if let Err(e) = follower.restore(outbox) {
            problems.push(format!("could not restore a stored command: {e}"));
        }
        let start = Self {
            follower,
            name,
            saved_at,
        };
        (start, problems)
    }
}

/// The participant machine (see the module docs).
#[derive(Debug)]
pub struct Participant {
    me: Identity,
    hubs: BTreeMap<PeerId, Hub>,
    polls: BTreeMap<FollowKey, Followed>,
    out: VecDeque<Output>,
}

impl Participant {
    /// A participant following nothing.
    pub fn new(me: Identity) -> Self {
        Self {
            me,
            hubs: BTreeMap::new(),
            polls: BTreeMap::new(),
            out: VecDeque::new(),
        }
    }

    /// Whether `key` is followed.
    pub fn follows(&self, key: &FollowKey) -> bool {
        self.polls.contains_key(key)
    }

    /// The followed polls.
    pub fn followed(&self) -> impl Iterator<Item = &FollowKey> + '_ {
        self.polls.keys()
    }

    /// The follower of a followed poll.
    pub fn follower(&self, key: &FollowKey) -> Option<&Follower> {
        let hub = &self.polls.get(key)?.hub;
        self.hubs.get(hub)?.link.follower(&key.1)
    }

    /// Starts following a poll over its hub's link (made if none is alive). A poll loaded
    /// before is joined (or renamed) now if the owner needs it.
    pub fn follow(&mut self, start: Start, now: u64, rng: &mut impl Entropy) {
        let Start {
            follower,
            name,
            saved_at,
        } = start;
        let key = (follower.owner().clone(), follower.poll_id());
        let hub = follower.hub().clone();
        if self.polls.contains_key(&key) {
            self.stop(&key);
        }
        self.polls.insert(
            key.clone(),
            Followed {
                hub: hub.clone(),
                name,
                saved_at,
                refusal: None,
                hub_error: None,
                snapshot_file: None,
                answered: Vec::new(),
                deleting: false,
                view_unsaved: false,
                view_saving: false,
                notify_at: None,
                notify_delayed: false,
            },
        );
        self.hub(&hub).link.follow(follower, now);
        self.drain(&hub, now, rng);
        self.tell_name(&key, now, rng);
        self.notify(&key, now);
    }

    /// Stops following a poll (left, or the tab stopped): answered commands' records are
    /// deleted now; nothing else is written for it; its link closes if nothing needs it.
    pub fn unfollow(&mut self, key: &FollowKey, now: u64, rng: &mut impl Entropy) {
        if let Some(hub) = self.stop(key) {
            self.drain(&hub, now, rng);
            self.settle(&hub, now, rng);
        }
    }

    /// Stops following every poll.
    pub fn unfollow_all(&mut self, now: u64, rng: &mut impl Entropy) {
        let keys: Vec<FollowKey> = self.polls.keys().cloned().collect();
        for key in keys {
            self.unfollow(&key, now, rng);
        }
    }

    /// A command of this participant: pending at once, written to the outbox (with the
    /// deletion of answered records), then sent once the write committed.
    pub fn submit(
        &mut self,
        key: &FollowKey,
        command: Command,
        now: u64,
        rng: &mut impl Entropy,
    ) -> Result<(), ParticipantError> {
        let command_id = rng.command_id().ok_or(ParticipantError::NoCommandId)?;
        let hub = self
            .polls
            .get(key)
            .ok_or(ParticipantError::NotFollowed)?
            .hub
            .clone();
        let staged = self.hub(&hub).link.stage(&key.1, command_id, command);
        let Some(followed) = self.polls.get_mut(key) else {
            return Err(ParticipantError::NotFollowed);
        };
        followed.refusal = None;
        match staged {
            Ok(Some(record)) => {
                let delete = std::mem::take(&mut followed.answered);
                self.out.push_back(Output::WriteOutbox {
                    key: key.clone(),
                    record,
                    delete,
                });
                self.notify_later(key, now, PENDING_SHOW_MS);
            }
            Ok(None) => self.notify(key, now),
            Err(e) => {
                self.out
                    .push_back(Output::Log(format!("could not queue the command: {e}")));
                followed.refusal = Some(CommandProblem::queueing(&e));
                self.notify(key, now);
            }
        }
        Ok(())
    }

    /// The user's display name is now `name`: every followed poll's owner is told (now, or
    /// once a join or rename still pending is answered) until it holds it.
    pub fn announce_name(&mut self, name: &str, now: u64, rng: &mut impl Entropy) {
        let keys: Vec<FollowKey> = self.polls.keys().cloned().collect();
        for key in keys {
            if let Some(followed) = self.polls.get_mut(&key) {
                followed.name = name.to_owned();
            }
            self.tell_name(&key, now, rng);
        }
    }

    /// Dials the poll's hub now, without waiting for the scheduled attempt.
    pub fn dial_now(&mut self, key: &FollowKey, now: u64, rng: &mut impl Entropy) {
        let Some(hub) = self.polls.get(key).map(|f| f.hub.clone()) else {
            return;
        };
        self.hub(&hub).link.dial_now();
        self.drain(&hub, now, rng);
    }

    /// A page wants `owner`'s poll list (over the link shared with its polls): answered with
    /// [`Output::List`], also when the owner cannot be reached. Pair with
    /// [`Participant::drop_list`].
    pub fn want_list(&mut self, owner: &PeerId, now: u64, rng: &mut impl Entropy) {
        let hub = self.hub(owner);
        hub.lists += 1;
        hub.link.want_list(now);
        self.drain(owner, now, rng);
    }

    /// A page no longer wants `owner`'s list.
    pub fn drop_list(&mut self, owner: &PeerId, now: u64, rng: &mut impl Entropy) {
        let Some(hub) = self.hubs.get_mut(owner) else {
            return;
        };
        hub.lists = hub.lists.saturating_sub(1);
        if hub.lists == 0 {
            hub.link.drop_list();
        }
        self.drain(owner, now, rng);
        self.settle(owner, now, rng);
    }

    /// The owner asks the hub serving the poll to move it under `delegation`; the outcome
    /// shows as a redirect or a hub error.
    pub fn request_move(
        &mut self,
        key: &FollowKey,
        delegation: &SignedDelegation,
        now: u64,
        rng: &mut impl Entropy,
    ) -> Result<(), ParticipantError> {
        self.ask_hub(
            key,
            |followed| followed.hub_error = None,
            |link| link.request_move(&key.1, delegation, now),
            now,
            rng,
        )
    }

    /// Asks the hub serving the poll for its signed snapshot file (shown in the next
    /// snapshot's `snapshot_file`).
    pub fn request_snapshot(
        &mut self,
        key: &FollowKey,
        now: u64,
        rng: &mut impl Entropy,
    ) -> Result<(), ParticipantError> {
        self.ask_hub(
            key,
            |followed| followed.snapshot_file = None,
            |link| link.request_snapshot(&key.1, now),
            now,
            rng,
        )
    }

    /// A request of the owner's to the hub serving the poll: clears the field its answer will
    /// fill (`reset`), sends it through the hub's link (`send`), and performs what that caused.
    fn ask_hub(
        &mut self,
        key: &FollowKey,
        reset: impl FnOnce(&mut Followed),
        send: impl FnOnce(&mut OwnerLink) -> Result<(), FollowError>,
        now: u64,
        rng: &mut impl Entropy,
    ) -> Result<(), ParticipantError> {
        let followed = self
            .polls
            .get_mut(key)
            .ok_or(ParticipantError::NotFollowed)?;
        reset(followed);
        let hub = followed.hub.clone();
        let sent = send(&mut self.hub(&hub).link);
        self.drain(&hub, now, rng);
        Ok(sent?)
    }

    /// Something happened in the shell at `now`.
    pub fn handle_input(&mut self, input: Input<'_>, now: u64, rng: &mut impl Entropy) {
        match input {
            Input::Opened(hub, channel) => {
                let opened =
                    channel.map_or(owner_link::Input::Opened, owner_link::Input::OpenedWith);
                self.link_input(hub, opened, now, rng);
            }
            Input::Frame(hub, text) => {
                self.link_input(hub, owner_link::Input::Frame(text), now, rng);
            }
            Input::Closed(hub) => {
                let random = rng.next_u32();
                self.link_input(hub, owner_link::Input::Closed { random }, now, rng);
            }
            Input::NotReady(hub) => {
                if let Some(h) = self.hubs.get_mut(hub) {
                    h.last_error = Some(DialProblem::SelfOffline);
                }
                self.link_input(hub, owner_link::Input::NotReady, now, rng);
            }
            Input::Failed(hub, problem) => self.failed(hub, problem, now),
            Input::OutboxWritten {
                key,
                command_id,
                stored,
                deleted,
            } => self.written(key, command_id, stored, deleted, now, rng),
            Input::OutboxDeleted(key) => {
                if let Some(followed) = self.polls.get_mut(key) {
                    followed.deleting = false;
                }
                self.delete_answered(key);
            }
            Input::ViewSaved(key) => {
                if let Some(followed) = self.polls.get_mut(key) {
                    followed.view_saving = false;
                }
                self.write_view(key, now);
            }
        }
    }

    /// Time passed: every link's timers (redial, heartbeat, silence, resends), and the pages
    /// whose snapshot is due.
    pub fn handle_timeout(&mut self, now: u64, rng: &mut impl Entropy) {
        let due: Vec<PeerId> = self
            .hubs
            .iter()
            .filter(|(_, h)| h.link.poll_timeout().is_some_and(|at| at <= now))
            .map(|(peer, _)| peer.clone())
            .collect();
        for peer in due {
            let random = rng.next_u32();
            if let Some(hub) = self.hubs.get_mut(&peer) {
                hub.link.handle_timeout(now, random);
            }
            self.drain(&peer, now, rng);
        }
        let notify: Vec<FollowKey> = self
            .polls
            .iter()
            .filter(|(_, f)| f.notify_at.is_some_and(|at| at <= now))
            .map(|(key, _)| key.clone())
            .collect();
        for key in notify {
            self.notify_now(&key, now);
        }
    }

    /// The next output, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Participant::handle_timeout`] should be called next (Unix ms), if at all.
    pub fn poll_timeout(&self) -> Option<u64> {
        let links = self.hubs.values().filter_map(|h| h.link.poll_timeout());
        let pages = self.polls.values().filter_map(|f| f.notify_at);
        links.chain(pages).min()
    }

    /// What the page of a followed poll shows (`None` if not followed).
    pub fn snapshot(&self, key: &FollowKey) -> Option<FollowSnapshot> {
        let followed = self.polls.get(key)?;
        let hub = self.hubs.get(&followed.hub)?;
        let link = &hub.link;
        let f = link.follower(&key.1)?;
        let sync = match (f.link(), link.state()) {
            (Link::Verified, _) => SyncState::Connected,
            (_, LinkState::Connecting) if !f.is_gone() => SyncState::Connecting,
            _ => SyncState::Offline,
        };
        Some(FollowSnapshot {
            owner: f.owner().clone(),
            poll_id: f.poll_id(),
            view: f.optimistic_view().map(Rc::new),
            view_saved_at: followed.saved_at,
            peers: f.peers().to_vec(),
            connected: f.connected_count(),
            sync,
            pending: f
                .pending()
                .take(PENDING_SHOWN)
                .map(|(_, c)| c.clone())
                .collect(),
            pending_count: f.pending_len(),
            vote_pending: f
                .pending()
                .any(|(_, c)| matches!(c, Command::CastVote { .. })),
            next_attempt_at: link.next_attempt_at(),
            refusal: followed.refusal.clone(),
            impostor: f.impostor().map(str::to_owned),
            last_error: hub.last_error.clone(),
            gone: f.is_gone(),
            gone_reason: f.gone_reason(),
            hub: f.serving_hub().clone(),
            hub_error: followed.hub_error.clone(),
            snapshot_file: followed.snapshot_file.clone(),
        })
    }

    /// The link to `peer`, made if none is alive.
    fn hub(&mut self, peer: &PeerId) -> &mut Hub {
        self.hubs.entry(peer.clone()).or_insert_with(|| Hub {
            link: OwnerLink::new(self.me.clone(), peer.clone()),
            lists: 0,
            last_error: None,
        })
    }

    fn link_input(
        &mut self,
        peer: &PeerId,
        input: owner_link::Input<'_>,
        now: u64,
        rng: &mut impl Entropy,
    ) {
        let Some(hub) = self.hubs.get_mut(peer) else {
            return;
        };
        hub.link.handle_input(input, now);
        self.drain(peer, now, rng);
    }

    fn failed(&mut self, peer: &PeerId, problem: DialProblem, now: u64) {
        let Some(hub) = self.hubs.get_mut(peer) else {
            return;
        };
        hub.last_error = Some(problem.clone());
        if hub.lists > 0 {
            self.out
                .push_back(Output::List(peer.clone(), OwnerList::Unreachable(problem)));
        }
        for key in self.keys_at(peer) {
            self.notify(&key, now);
        }
    }

    /// The polls followed at `peer`.
    fn keys_at(&self, peer: &PeerId) -> Vec<FollowKey> {
        self.polls
            .iter()
            .filter(|(_, f)| f.hub == *peer)
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Turns the link's outputs into the participant's, and acts on what changed.
    fn drain(&mut self, peer: &PeerId, now: u64, rng: &mut impl Entropy) {
        let mut notices = Vec::new();
        let mut moves = Vec::new();
        let mut state_changed = false;
        let Some(hub) = self.hubs.get_mut(peer) else {
            return;
        };
        while let Some(output) = hub.link.poll_output() {
            match output {
                owner_link::Output::Dial => self.out.push_back(Output::Dial(peer.clone())),
                owner_link::Output::Send(frame) => {
                    self.out.push_back(Output::Send(peer.clone(), frame));
                }
                owner_link::Output::Close => self.out.push_back(Output::Close(peer.clone())),
                owner_link::Output::Poll(poll, notice) => notices.push((poll, notice)),
                owner_link::Output::List(polls) => self
                    .out
                    .push_back(Output::List(peer.clone(), OwnerList::Listed(polls))),
                owner_link::Output::StateChanged => state_changed = true,
                owner_link::Output::Dropped(why) => self.out.push_back(Output::Log(why)),
                owner_link::Output::Moved { poll, hub } => moves.push((poll, hub)),
            }
        }
        if hub.link.state() == LinkState::Verified {
            hub.last_error = None;
        }
        let impostor = state_changed
            .then(|| hub.link.impostor().map(str::to_owned))
            .flatten();
        let keys = self.keys_at(peer);
        for (poll, notice) in notices {
            if let Some(key) = keys.iter().find(|(_, p)| *p == poll) {
                self.on_notice(key, notice, now, rng);
                self.notify(key, now);
            }
        }
        if state_changed {
            for key in &keys {
                self.notify(key, now);
            }
        }
        if let Some(why) = impostor {
            self.out
                .push_back(Output::List(peer.clone(), OwnerList::Impostor(why)));
        }
        for (poll, hub) in moves {
            self.rehome(peer, poll, hub, now, rng);
        }
    }

    /// What a link reported about one poll.
    fn on_notice(&mut self, key: &FollowKey, notice: Notice, now: u64, rng: &mut impl Entropy) {
        let mut answered = Vec::new();
        match notice {
            Notice::ViewChanged => {
                self.save_view(key, now);
                // The first view of a new poll: join it now.
                self.tell_name(key, now, rng);
            }
            Notice::Acked { command_id, .. } => answered.push(command_id),
            Notice::Refused {
                command_id,
                command,
                code,
                message,
            } => {
                self.log(format!("the hub refused: {message}"));
                answered.push(command_id);
                self.edit(key, |f| {
                    f.refusal = Some(CommandProblem::Refused { command, code })
                });
            }
            Notice::OwnerError { message, .. } => {
                self.log(format!("the hub says: {message}"));
                self.edit(key, |f| f.hub_error = Some(message));
            }
            Notice::Gone { dropped, message } => {
                self.log(format!("the poll is gone: {message}"));
                answered.extend(dropped);
            }
            Notice::PeersChanged | Notice::Moved { .. } => {}
            Notice::Delegated => self.save_view(key, now),
            Notice::Snapshot { file } => self.edit(key, |f| f.snapshot_file = Some(file.into())),
        }
        if !answered.is_empty() {
            self.edit(key, |f| f.answered.extend(answered));
            self.notify(key, now);
            // A join or rename answered: the owner may need the latest name now.
            self.tell_name(key, now, rng);
        }
    }

    fn edit(&mut self, key: &FollowKey, change: impl FnOnce(&mut Followed)) {
        if let Some(followed) = self.polls.get_mut(key) {
            change(followed);
        }
    }

    fn log(&mut self, line: String) {
        self.out.push_back(Output::Log(line));
    }

    /// A poll is served by `to` now: its follower leaves the link of `from` for the link of
    /// `to`, or, when `to` is this participant, the poll is forgotten (its hub serves it).
    fn rehome(
        &mut self,
        from: &PeerId,
        poll: PollId,
        to: PeerId,
        now: u64,
        rng: &mut impl Entropy,
    ) {
        let Some(follower) = self
            .hubs
            .get_mut(from)
            .and_then(|h| h.link.take_moved(&poll))
        else {
            return;
        };
        let key = (follower.owner().clone(), poll);
        if !self.polls.contains_key(&key) {
            return;
        }
        self.out
            .push_back(Output::Log(format!("poll {poll} is served by {to} now")));
        if to == *self.me.peer_id() {
            drop(follower);
            self.stop(&key);
            self.out.push_back(Output::Leave(key));
        } else {
            if let Some(followed) = self.polls.get_mut(&key) {
                followed.hub = to.clone();
            }
            self.hub(&to).link.follow(follower, now);
            self.drain(&to, now, rng);
            // The delegation is saved with the view, so a reload dials the new hub directly.
            self.save_view(&key, now);
        }
        self.settle(from, now, rng);
    }

    /// Forgets a hub's link once no poll and no list needs it (its connection was closed by
    /// the link already).
    fn settle(&mut self, peer: &PeerId, now: u64, rng: &mut impl Entropy) {
        let unused = self.hubs.get(peer).is_some_and(|h| h.lists == 0)
            && !self.polls.values().any(|f| f.hub == *peer);
        if unused {
            if let Some(hub) = self.hubs.get_mut(peer) {
                hub.link.drop_list();
            }
            self.drain(peer, now, rng);
            self.hubs.remove(peer);
        }
    }

    /// Removes a poll: its answered records' deletion goes out now; returns its hub.
    fn stop(&mut self, key: &FollowKey) -> Option<PeerId> {
        self.delete_answered(key);
        let followed = self.polls.remove(key)?;
        if let Some(hub) = self.hubs.get_mut(&followed.hub) {
            hub.link.unfollow(&key.1);
        }
        Some(followed.hub)
    }

    fn written(
        &mut self,
        key: &FollowKey,
        command_id: CommandId,
        stored: bool,
        deleted: Vec<CommandId>,
        now: u64,
        rng: &mut impl Entropy,
    ) {
        let Some(followed) = self.polls.get_mut(key) else {
            return;
        };
        if !stored && !deleted.is_empty() {
            // Nothing of that transaction happened: delete these records later.
            followed.answered.extend(deleted);
        }
        if !stored {
            followed.refusal = Some(CommandProblem::NotStored);
        }
        let hub = followed.hub.clone();
        if stored {
            self.hub(&hub).link.saved(&key.1, command_id, now);
        } else {
            self.log("could not store a command; it was not sent".into());
            self.hub(&hub).link.discard(&key.1, command_id, now);
        }
        self.drain(&hub, now, rng);
        // At once: the pending command is drawn before any answer to it can arrive.
        self.notify_now(key, now);
    }

    /// Stages the join or rename the owner needs, if any (only for a loaded poll: a link to
    /// no poll leaves no pending join behind).
    fn tell_name(&mut self, key: &FollowKey, now: u64, rng: &mut impl Entropy) {
        let Some(followed) = self.polls.get(key) else {
            return;
        };
        let command = self
            .follower(key)
            .filter(|f| f.view().is_some())
            .and_then(|f| f.name_command(&followed.name));
        if let Some(command) = command {
            if let Err(e) = self.submit(key, command, now, rng) {
                self.out
                    .push_back(Output::Log(format!("could not queue the name: {e}")));
            }
        }
    }

    fn save_view(&mut self, key: &FollowKey, now: u64) {
        if let Some(followed) = self.polls.get_mut(key) {
            followed.saved_at = Some(now);
            followed.view_unsaved = true;
        }
        self.notify(key, now);
    }

    /// Writes the current verified view if it changed since the last save started and no save
    /// is under way.
    fn write_view(&mut self, key: &FollowKey, now: u64) {
        let Some(followed) = self.polls.get(key) else {
            return;
        };
        if followed.view_saving || !followed.view_unsaved {
            return;
        }
        let Some(f) = self.follower(key).filter(|f| f.view().is_some()) else {
            return;
        };
        let saved = SavedView {
            owner: f.owner().clone(),
            poll_id: f.poll_id(),
            view: f.view().cloned(),
            saved_at: followed.saved_at.unwrap_or(now),
            delegation: f.delegation().cloned(),
        };
        if let Some(followed) = self.polls.get_mut(key) {
            followed.view_unsaved = false;
            followed.view_saving = true;
        }
        self.out.push_back(Output::SaveView(Box::new(saved)));
    }

    /// Deletes every answered record of the poll in one go, unless a deletion is under way.
    fn delete_answered(&mut self, key: &FollowKey) {
        let Some(followed) = self.polls.get_mut(key) else {
            return;
        };
        if followed.deleting || followed.answered.is_empty() {
            return;
        }
        followed.deleting = true;
        let ids = std::mem::take(&mut followed.answered);
        self.out.push_back(Output::DeleteOutbox {
            key: key.clone(),
            ids,
        });
    }

    /// Tells the page in the next task (one snapshot for every change made before then).
    fn notify(&mut self, key: &FollowKey, now: u64) {
        if let Some(f) = self.polls.get_mut(key) {
            if f.notify_at.is_none() || f.notify_delayed {
                f.notify_at = Some(now);
                f.notify_delayed = false;
            }
        }
    }

    /// Tells the page in `delay` ms at the latest (sooner if [`Self::notify`] is called).
    fn notify_later(&mut self, key: &FollowKey, now: u64, delay: u64) {
        if let Some(f) = self.polls.get_mut(key) {
            if f.notify_at.is_none() {
                f.notify_at = Some(now.saturating_add(delay));
                f.notify_delayed = delay > 0;
            }
        }
    }

    /// Tells the page now; then what it shows is stored.
    fn notify_now(&mut self, key: &FollowKey, now: u64) {
        let Some(f) = self.polls.get_mut(key) else {
            return;
        };
        f.notify_at = None;
        if self.follower(key).is_none() {
            return;
        }
        self.out.push_back(Output::Notify(key.clone()));
        self.write_view(key, now);
        self.delete_answered(key);
    }
}
