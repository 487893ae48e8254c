//! A participant's session with one poll's owner: a sans-IO state machine that follows the poll,
//! queues this participant's commands and sends them only to a peer that proved it holds the
//! owner's key.
//!
//! The browser shell drives it (PROTOCOL.md §4.1):
//! 1. [`Follower::new`] with the participant's identity, the owner and poll IDs from the
//!    invitation, and the last verified view the shell saved (if any);
//! 2. the data connection to the owner opens → send every frame of [`Follower::connected`] (one
//!    `sync:request`);
//! 3. each string frame that arrives → [`Follower::receive`]; send [`Reaction::send`] and show
//!    [`Reaction::notices`]. On [`FollowError::Impostor`] close the connection;
//! 4. the user acts → [`Follower::stage`] with a fresh [`CommandId`]: the command is pending
//!    (and shown) at once; write the returned [`OutboxRecord`] durably, then call
//!    [`Follower::saved`] and send what it returns (or [`Follower::discard`] if the write
//!    failed). After a reload, [`Follower::restore`] the stored records;
//! 5. every second or so → [`Follower::tick`]; send what it returns (resends of unanswered
//!    commands);
//! 6. an `ack` or a refusal ([`Notice::Acked`], [`Notice::Refused`]) → delete the stored record;
//! 7. the connection closes → [`Follower::disconnected`], then dial again (back to 2);
//! 8. [`Notice::Gone`] → the owner deleted the poll: delete the stored records it lists, close
//!    the connection and never dial again ([`Follower::is_gone`]).
//!
//! Invariants:
//! - Every frame sent is sealed by `me` ([`protocol::seal`]); every frame accepted is opened with
//!   [`protocol::open_from`] against the owner's ID (§2.4, §2.5). A frame that fails with
//!   `signer-mismatch` or `bad-signature` means the peer at the owner's ID does not hold the
//!   owner's key: the link is marked [`Link::Impostor`] and nothing from it is used afterwards.
//! - Commands go only to a [`Link::Verified`] link: one on which a frame signed by the owner has
//!   been accepted. Before that, the only frame sent is the `sync:request` of `connected`.
//!   The protocol has no challenge, so "verified" means "sent a valid owner-signed frame": a peer
//!   replaying captured owner frames passes too, but it cannot forge an `ack`, a view made for
//!   us, or anything new; commands it swallows stay pending and are resent on the next link.
//! - Pending commands live in an [`Outbox`], in submission order, until the owner answers them
//!   (`ack` or `error` with their `commandId`, §4.2). Each is sealed once, at
//!   [`Follower::stage`] (or [`Follower::restore`]), and every resend is that same frame, so the
//!   owner answers it from its record instead of applying it twice. Nothing is sent before the
//!   shell says it is durable ([`Follower::saved`]). After a disconnect every pending command is
//!   resent, in order, on the next verified link; on a live link an unanswered one is resent
//!   after a timeout ([`crate::outbox::resend_delay`]).
//! - [`Follower::view`] only ever holds a view made by the owner for this participant and poll
//!   (`poll:state` with matching `id`, `owner`, `viewer`), advanced by gap-free `poll:event`s
//!   (§4.3). Optimism lives only in [`Follower::optimistic_view`], computed on demand.
//! - At most one `sync:request` is outstanding on a link: after one is sent, the next is sent only
//!   once a `poll:state` arrived or an event applied cleanly.
//! - An `unknown-poll` or `poll-deleted` error from the owner about this poll (it names the poll with `pollId`,
//!   or answers one of this poll's commands; [`crate::owner_link::OwnerLink`] routes it here
//!   when several polls share one connection) means the poll is gone: the follower then enters
//!   the gone state for good: every pending command is settled at once (reported in one
//!   [`Notice::Gone`]), nothing is sent any more, and [`Follower::stage`] refuses
//!   ([`FollowError::Gone`]). The last verified view stays readable.
//! - A poll may be served by a hub other than its owner (PROTOCOL.md §8). The follower keeps the
//!   highest valid owner-signed delegation it saw ([`Follower::delegation`], saved with the
//!   view) and the peer it is linked to now ([`Follower::hub`]). Frames about the poll are used
//!   only from its serving hub ([`Follower::serving_hub`]: the delegation's hub, or the owner);
//!   commands are sent only there. A `hub:delegation` that does not check out, or an older one
//!   naming the sender, or any other frame about the poll from a peer that does not serve it,
//!   makes the link an impostor's for this poll. A newer delegation naming another hub is a
//!   redirect ([`Notice::Moved`]): the follower is to be linked there, where its pending
//!   commands are resent unchanged (and answered from the records that moved with the poll).
//!   `unknown-poll` means deleted only from the owner; from another hub it sends the follower
//!   back to the owner.
//! - Pure: no clock (time comes in as `now_ms`), no randomness, no I/O.

use crate::delegation::{serving_hub, DelegationError, Relation, SignedDelegation};
use crate::outbox::{Outbox, OutboxRecord};
use crate::poll::{Change, Command, CommandId, Event, PollId, PollView, Revision};
use crate::protocol::{self, CommandFrame, Control, ErrorCode, Message, PeerInfo, ProtocolError};
use crate::{Identity, PeerId};

/// The state of the data connection to the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// No connection is open.
    Down,
    /// A connection is open, but nothing signed by the owner has arrived on it yet.
    Unverified,
    /// A frame signed by the owner was accepted on this connection: commands flow.
    Verified,
    /// A frame on this connection was not signed by the owner's key: nothing is sent or accepted
    /// until the shell closes it and dials again.
    Impostor,
}

/// Why the owner does not have a followed poll ([`Follower::gone_reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoneReason {
    /// `unknown-poll`: the owner never had a poll with this id (a mistyped or made-up link), or
    /// deleted it before it kept the ids of deleted polls.
    NotFound,
    /// `poll-deleted`: the owner deleted the poll.
    Deleted,
}

impl GoneReason {
    /// The reason an error code gives (`poll-deleted` → deleted, anything else → not found).
    pub fn from_code(code: ErrorCode) -> Self {
        if code == ErrorCode::PollDeleted {
            Self::Deleted
        } else {
            Self::NotFound
        }
    }
}

/// What the shell should tell the user (or its UI state) after a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// [`Follower::view`] changed.
    ViewChanged,
    /// [`Follower::peers`] changed.
    PeersChanged,
    /// The owner applied a pending command (now, or earlier if this answers a resend).
    Acked {
        /// The command.
        command_id: CommandId,
        /// The revision it produced.
        revision: Revision,
    },
    /// The owner refused a pending command; final for its `commandId` (§4.2). Show `message`.
    Refused {
        /// The command.
        command_id: CommandId,
        /// What it asked for.
        command: Command,
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable reason.
        message: String,
    },
    /// The owner reported an error not tied to a command (`commandId: null`): a frame it could
    /// not open, or an unknown poll (§4.3, §4.8).
    OwnerError {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable reason.
        message: String,
    },
    /// The owner does not have the poll (`unknown-poll`: it never had it; `poll-deleted`: it
    /// deleted it; [`Follower::gone_reason`] tells which). Every pending command was dropped (delete their stored records); nothing more will be sent. Reported
    /// once.
    Gone {
        /// The pending commands dropped, oldest first.
        dropped: Vec<CommandId>,
        /// The owner's words.
        message: String,
    },
    /// A newer owner-signed delegation of the poll was adopted ([`Follower::delegation`]):
    /// save it with the view.
    Delegated,
    /// The hub sent the poll's signed snapshot file (answering
    /// [`crate::owner_link::OwnerLink::request_snapshot`], the owner's export).
    Snapshot {
        /// The file's text, to verify and save.
        file: String,
    },
    /// The poll is served by another peer now: follow it there (link the follower to `hub`;
    /// [`crate::owner_link::OwnerLink`] hands it over with [`crate::owner_link::Output::Moved`]).
    Moved {
        /// The peer to dial.
        hub: PeerId,
    },
}

/// The result of one received frame: frames to send to the owner, and what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaction {
    /// Frames to send on the same connection, in order.
    pub send: Vec<String>,
    /// What changed, in order.
    pub notices: Vec<Notice>,
}

/// An owner-signed frame that makes no sense for this follower. It is dropped; state is untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unexpected {
    /// The frame names another poll.
    #[error("a frame for poll {got}, expected {expected}")]
    OtherPoll {
        /// The poll followed.
        expected: PollId,
        /// The poll named.
        got: PollId,
    },
    /// A `poll:state` made for someone else.
    #[error("a view made for {got}, not for this participant")]
    OtherViewer {
        /// The view's viewer.
        got: PeerId,
    },
    /// A `poll:state` of a poll owned by someone else.
    #[error("a view of a poll owned by {got}, not by the peer dialed")]
    OtherOwner {
        /// The view's owner.
        got: PeerId,
    },
    /// A message type that only participants send (§3.1: ignored by participants).
    #[error("a {kind} message, which only participants send")]
    ParticipantMessage {
        /// The message type.
        kind: &'static str,
    },
    /// A message only hubs exchange (§8.2).
    #[error("a {kind} message, which only hubs exchange")]
    HubMessage {
        /// The message type.
        kind: &'static str,
    },
}

/// Why a frame was not used, or one could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// The frame is not signed by the owner's key (`signer-mismatch`, `bad-signature`): the peer
    /// answering at the owner's ID is not the owner. Close the connection.
    #[error("impostor at the owner's peer ID: {0}")]
    Impostor(#[source] ProtocolError),
    /// The frame could not be opened for another reason (size, JSON, version, type, fields);
    /// dropped (§2.5).
    #[error("dropped a bad frame from the owner: {0}")]
    BadFrame(#[source] ProtocolError),
    /// A valid owner frame that does not fit this follower; dropped.
    #[error("dropped an unexpected frame: {0}")]
    Unexpected(#[source] Unexpected),
    /// A frame arrived on a link already shown to be an impostor; dropped until reconnect.
    #[error("dropped a frame from a link that failed verification")]
    Untrusted,
    /// A frame arrived while no connection is open (a shell bug); dropped.
    #[error("dropped a frame received while disconnected")]
    NotConnected,
    /// A frame to send could not be sealed (e.g. a command over the frame size limit).
    #[error("could not seal a frame: {0}")]
    Seal(#[source] ProtocolError),
    /// The owner deleted the poll ([`Notice::Gone`]): no command can be made, and frames from
    /// the owner are no longer used.
    #[error("the owner does not have this poll (never had it, or deleted it)")]
    Gone,
    /// A frame about the poll from a peer that does not serve it (no valid delegation names
    /// it): an impostor hub for this poll (§8.6 step 4).
    #[error("{hub} does not serve this poll (no delegation from its owner names it)")]
    NotServingHub {
        /// The peer.
        hub: PeerId,
    },
    /// A `hub:delegation` that does not check out (§8.1): an impostor hub for this poll.
    #[error("a delegation that does not check out: {0}")]
    BadDelegation(#[source] DelegationError),
    /// A delegation older than one already seen, naming the sender: an impostor hub (§8.6).
    #[error("a delegation older than one already seen (seq {got}, current {current})")]
    StaleDelegation {
        /// Its seq.
        got: u64,
        /// The current one's.
        current: u64,
    },
}

/// A participant following one poll of one owner. See the module docs for the driving loop.
#[derive(Debug, Clone)]
pub struct Follower {
    me: Identity,
    owner: PeerId,
    /// The peer this follower is linked to (dials, opens frames against).
    hub: PeerId,
    /// The highest valid delegation seen.
    delegation: Option<SignedDelegation>,
    /// A non-owner hub said it does not have the poll: back to the owner.
    fallback: bool,
    poll: PollId,
    view: Option<PollView>,
    peers: Vec<PeerInfo>,
    /// How many peers the owner said are connected (at least `peers.len()`).
    connected: u64,
    link: Link,
    outbox: Outbox,
    sync_outstanding: bool,
    impostor: Option<String>,
    gone: bool,
    gone_reason: Option<GoneReason>,
    /// The name the owner holds for this participant, as last confirmed (an ack of a join or
    /// rename, or a verified view listing this participant).
    owner_name: Option<String>,
    /// A name the owner refused; not asked for again (it would be refused again).
    refused_name: Option<String>,
}

impl Follower {
    /// A follower of `poll` hosted by `owner`, for participant `me`, with no connection open.
    ///
    /// `cached` is the last verified view the shell saved; it is ignored unless it is a view of
    /// `poll`, owned by `owner`, made for `me`.
    pub fn new(me: Identity, owner: PeerId, poll: PollId, cached: Option<PollView>) -> Self {
        let view = cached.filter(|v| v.id == poll && v.owner == owner && v.viewer == *me.peer_id());
        let owner_name = view
            .as_ref()
            .and_then(|v| v.members.get(me.peer_id()))
            .map(|m| m.display_name.clone());
        Self {
            me,
            hub: owner.clone(),
            owner,
            delegation: None,
            fallback: false,
            poll,
            view,
            peers: Vec::new(),
            connected: 0,
            link: Link::Down,
            outbox: Outbox::new(),
            sync_outstanding: false,
            impostor: None,
            gone: false,
            gone_reason: None,
            owner_name,
            refused_name: None,
        }
    }

    /// Puts back the delegation saved with the view (after a reload): it is kept if it is the
    /// owner's for this poll and newer than the one held; the follower is then linked to its
    /// hub. A delegation of another poll or owner is refused.
    pub fn restore_delegation(&mut self, delegation: SignedDelegation) -> Result<(), FollowError> {
        let checked = SignedDelegation::check(delegation.text(), self.poll, &self.owner)
            .map_err(FollowError::BadDelegation)?;
        if checked.relation_to(self.delegation.as_ref()) == Relation::Newer {
            self.delegation = Some(checked);
            let hub = self.serving_hub().clone();
            self.set_hub(hub);
        }
        Ok(())
    }

    /// Links the follower to `hub` (an invite's `?via=`, a redirect, a saved delegation): the
    /// link is down until the shell (or the owner link) connects it. Frames about the poll are
    /// used from `hub` only once it proves to serve it.
    pub fn set_hub(&mut self, hub: PeerId) {
        if hub != self.hub {
            self.hub = hub;
            self.reset_link(Link::Down);
        }
    }

    /// The peer this follower is linked to.
    pub fn hub(&self) -> &PeerId {
        &self.hub
    }

    /// The peer serving the poll as far as this follower knows: the current delegation's hub,
    /// or the owner.
    pub fn serving_hub(&self) -> &PeerId {
        if self.fallback {
            &self.owner
        } else {
            serving_hub(&self.owner, self.delegation.as_ref())
        }
    }

    /// The highest valid owner-signed delegation seen (save it with the view).
    pub fn delegation(&self) -> Option<&SignedDelegation> {
        self.delegation.as_ref()
    }

    /// Whether the linked peer is the poll's serving hub.
    fn serves_here(&self) -> bool {
        self.hub == *self.serving_hub()
    }

    /// What the owner must be told so that it holds `desired` as this participant's name: a
    /// `poll:join` if this participant is not a member (and no join is pending), a
    /// `user:profile` if the owner's name for it differs, or nothing. Nothing either while a
    /// join or rename is still pending (at most one is in the outbox at a time: ask again once
    /// it is answered, [`Notice::Acked`] / [`Notice::Refused`]), once the poll is gone, or for a
    /// name the owner already refused. The shell asks on start and whenever the profile name or
    /// the answers change, so the owner ends up with the last name the user chose, however the
    /// renames, reloads and the owner's absences interleave.
    pub fn name_command(&self, desired: &str) -> Option<Command> {
        if self.gone || self.refused_name.as_deref() == Some(desired) {
            return None;
        }
        let naming = self.outbox.iter().any(|e| {
            matches!(
                e.command,
                Command::Join { .. } | Command::UpdateProfile { .. }
            )
        });
        if naming {
            return None;
        }
        let display_name = desired.to_owned();
        match &self.owner_name {
            None => Some(Command::Join { display_name }),
            Some(known) if known != desired => Some(Command::UpdateProfile { display_name }),
            Some(_) => None,
        }
    }

    /// The data connection to the owner opened: returns the frames to send, exactly one
    /// `sync:request` (with `sinceRevision` when a view is held, §3.3, §4.1 step 4). Pending
    /// commands wait until the link is verified.
    /// Once the poll is gone, nothing is sent.
    pub fn connected(&mut self) -> Result<Vec<String>, FollowError> {
        if self.gone {
            self.reset_link(Link::Unverified);
            return Ok(Vec::new());
        }
        let sync = self.sync_request()?;
        self.reset_link(Link::Unverified);
        self.sync_outstanding = true;
        Ok(vec![sync])
    }

    /// The connection closed: every pending command will be resent on the next verified link, and
    /// the list of connected peers is forgotten (it is no longer known).
    pub fn disconnected(&mut self) {
        self.reset_link(Link::Down);
    }

    /// Queues a command of this participant under a fresh `command_id` (§4.2): it counts as
    /// pending (and shows in [`Follower::optimistic_view`]) at once, but is not sent until
    /// [`Follower::saved`]. Returns the record to store, or `None` if the id is already pending
    /// (then nothing changes). Refused with [`FollowError::Gone`] once the poll is gone.
    pub fn stage(
        &mut self,
        command_id: CommandId,
        command: Command,
    ) -> Result<Option<OutboxRecord>, FollowError> {
        if self.gone {
            return Err(FollowError::Gone);
        }
        if self.outbox.contains(command_id) {
            return Ok(None);
        }
        let frame = self.seal_command(command_id, &command)?;
        Ok(self
            .outbox
            .stage(command_id, command.clone(), frame)
            .map(|seq| OutboxRecord {
                poll_id: self.poll,
                seq,
                command_id,
                command,
            }))
    }

    /// The record of a staged command was stored durably: returns the frames to send now (it
    /// and any saved commands behind it, if the link is verified), else nothing.
    pub fn saved(&mut self, command_id: CommandId, now_ms: u64) -> Vec<String> {
        self.outbox.saved(command_id);
        self.flush(now_ms)
    }

    /// The record of a staged command could not be stored: the command is dropped (the user
    /// must be told), and any saved commands queued behind it may go. Returns the frames to send.
    pub fn discard(&mut self, command_id: CommandId, now_ms: u64) -> Vec<String> {
        self.outbox.discard(command_id);
        self.flush(now_ms)
    }

    /// Puts back the stored records of this poll (after a reload), in their order, as durable
    /// pending commands; they are sent on the next verified link. Records of other polls, and
    /// ids already pending, are skipped; once the poll is gone, all are.
    pub fn restore(&mut self, records: &[OutboxRecord]) -> Result<(), FollowError> {
        if self.gone {
            return Ok(());
        }
        for record in records.iter().filter(|r| r.poll_id == self.poll) {
            if self.outbox.contains(record.command_id) {
                continue;
            }
            let frame = self.seal_command(record.command_id, &record.command)?;
            self.outbox
                .restore(record.seq, record.command_id, record.command.clone(), frame);
        }
        Ok(())
    }

    /// Time passed: on a verified link, returns the frames of commands whose answer is overdue
    /// (resent as they were first sent; the owner's record answers a duplicate).
    pub fn tick(&mut self, now_ms: u64) -> Vec<String> {
        if self.link == Link::Verified {
            self.outbox.due(now_ms)
        } else {
            Vec::new()
        }
    }

    /// When [`Follower::tick`] will next resend something, if anything is in flight.
    pub fn next_resend_at(&self) -> Option<u64> {
        self.outbox.next_resend_at()
    }

    /// A frame arrived from the owner's connection. It is opened against the owner's key
    /// (§2.5); on success the link is verified (flushing pending commands) and the message is
    /// applied (§3.4, §4.3). On error nothing changed, except that an impostor is recorded.
    pub fn receive(&mut self, text: &str, now_ms: u64) -> Result<Reaction, FollowError> {
        self.usable()?;
        let message = match protocol::open_from(text, &self.hub) {
            Ok((_, message)) => message,
            Err(error) if is_impostor(&error) => {
                let whose = if self.hub == self.owner {
                    "the owner's"
                } else {
                    "its"
                };
                self.refuse_link(format!(
                    "the peer answering at {} does not hold {whose} key ({error})",
                    self.hub
                ));
                return Err(FollowError::Impostor(error));
            }
            Err(error) => return Err(FollowError::BadFrame(error)),
        };
        match message {
            Message::Control(control) => self.accept(control, now_ms),
            Message::Command(_) => Err(unexpected_from_participant("poll command")),
        }
    }

    /// A message the shell (or [`crate::owner_link::OwnerLink`]) already opened against the
    /// owner's key: checked against this follower, applied, and the link marked verified
    /// (flushing pending commands). On error nothing changed.
    pub fn accept(&mut self, control: Control, now_ms: u64) -> Result<Reaction, FollowError> {
        self.usable()?;
        // `handle` either fails before changing anything or succeeds; only then is the link
        // verified, so a failure never loses the flushed commands.
        let mut reaction = Reaction::default();
        let checked = self
            .check(&control)
            .and_then(|()| self.handle(control, &mut reaction));
        if let Err(error) = checked {
            if matches!(
                error,
                FollowError::NotServingHub { .. }
                    | FollowError::BadDelegation(_)
                    | FollowError::StaleDelegation { .. }
            ) {
                self.refuse_link(format!(
                    "{} is an impostor for this poll: {error}",
                    self.hub
                ));
            }
            return Err(error);
        }
        if !self.serves_here() {
            return Ok(reaction);
        }
        let mut send = self.verify(now_ms);
        send.append(&mut reaction.send);
        reaction.send = send;
        Ok(reaction)
    }

    /// Another frame signed by the owner arrived on the connection this follower shares
    /// (a frame about another poll): the link is verified; returns the pending commands to send.
    /// Nothing happens unless the link is [`Link::Unverified`].
    pub fn link_verified(&mut self, now_ms: u64) -> Vec<String> {
        if self.gone || self.link != Link::Unverified || !self.serves_here() {
            return Vec::new();
        }
        self.verify(now_ms)
    }

    /// A frame on the connection was not signed by the owner's key: the link is an impostor's,
    /// `why` is shown until a later link is verified; nothing is sent or accepted on it.
    pub fn refuse_link(&mut self, why: String) {
        self.impostor = Some(why);
        self.reset_link(Link::Impostor);
    }

    /// Whether `command_id` is one of this follower's pending commands (an `ack` or `error`
    /// carrying it is about this poll).
    pub fn is_pending(&self, command_id: CommandId) -> bool {
        self.outbox.contains(command_id)
    }

    /// Whether a `sync:request` of this follower is waiting for its answer on the current link.
    pub fn awaits_sync(&self) -> bool {
        self.sync_outstanding
    }

    /// Fails unless a frame from the owner can be used now.
    fn usable(&self) -> Result<(), FollowError> {
        if self.gone {
            return Err(FollowError::Gone);
        }
        match self.link {
            Link::Down => Err(FollowError::NotConnected),
            Link::Impostor => Err(FollowError::Untrusted),
            Link::Unverified | Link::Verified => Ok(()),
        }
    }

    /// This participant.
    pub fn me(&self) -> &PeerId {
        self.me.peer_id()
    }

    /// The poll's owner.
    pub fn owner(&self) -> &PeerId {
        &self.owner
    }

    /// The poll followed.
    pub fn poll_id(&self) -> PollId {
        self.poll
    }

    /// The last view verified to come from the owner (save it for the next session).
    pub fn view(&self) -> Option<&PollView> {
        self.view.as_ref()
    }

    /// The peers connected to the owner for this poll, as the owner last said (§4.9); empty while
    /// disconnected.
    pub fn peers(&self) -> &[PeerInfo] {
        &self.peers
    }

    /// How many peers are connected to the owner for this poll (the owner included), as the
    /// owner last said; more than [`Follower::peers`] lists when the owner cut the list (§3.4).
    pub fn connected_count(&self) -> u64 {
        self.connected.max(self.peers.len() as u64)
    }

    /// The state of the connection.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Whether commands are being sent (the link is verified).
    pub fn is_verified(&self) -> bool {
        self.link == Link::Verified
    }

    /// Whether the owner does not have the poll (see [`Notice::Gone`]); final.
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// Why the poll is gone, once it is: the owner never had it, or deleted it.
    pub fn gone_reason(&self) -> Option<GoneReason> {
        self.gone_reason
    }

    /// Why the last link was refused, until a later link is verified.
    pub fn impostor(&self) -> Option<&str> {
        self.impostor.as_deref()
    }

    /// The commands waiting for an answer, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = (CommandId, &Command)> + '_ {
        self.outbox.iter().map(|e| (e.command_id, &e.command))
    }

    /// How many commands wait for an answer.
    pub fn pending_len(&self) -> usize {
        self.outbox.len()
    }

    /// The view as the user should see it: [`Follower::view`] with the latest pending
    /// `poll:vote` applied as if the owner had accepted it (`myBallot`, and the results if
    /// visible), at the same revision. Other pending commands are not shown (§4.2: the view
    /// changes only through the owner; this is the UI's optimistic overlay).
    pub fn optimistic_view(&self) -> Option<PollView> {
        let view = self.view.as_ref()?;
        let ballot = self.outbox.iter().rev().find_map(|p| match &p.command {
            Command::CastVote {
                option_ids,
                answers,
            } => Some((option_ids, answers)),
            _ => None,
        });
        let Some((option_ids, answers)) = ballot else {
            return Some(view.clone());
        };
        let event = Event {
            revision: view.revision.next(),
            change: Change::ballot_cast(view.kind, self.me.peer_id(), option_ids, answers),
        };
        // Casting one's own ballot always fits a view; should it not, show the verified view.
        Some(view.apply(&event).map_or_else(
            |_| view.clone(),
            |mut optimistic| {
                optimistic.revision = view.revision;
                optimistic
            },
        ))
    }

    /// Refuses hub-signed messages that do not fit this follower, before anything changes.
    fn check(&self, control: &Control) -> Result<(), FollowError> {
        let poll_id: Option<PollId> = match control {
            Control::State { poll } => {
                if poll.owner != self.owner {
                    return Err(FollowError::Unexpected(Unexpected::OtherOwner {
                        got: poll.owner.clone(),
                    }));
                }
                if poll.viewer != *self.me.peer_id() {
                    return Err(FollowError::Unexpected(Unexpected::OtherViewer {
                        got: poll.viewer.clone(),
                    }));
                }
                Some(poll.id)
            }
            Control::Event { poll_id, .. }
            | Control::Discovery { poll_id, .. }
            | Control::Delegation { poll_id, .. }
            | Control::Snapshot { poll_id, .. }
            | Control::Error {
                poll_id: Some(poll_id),
                ..
            } => Some(*poll_id),
            Control::SyncRequest { .. } => return Err(unexpected_from_participant("sync:request")),
            Control::ListRequest => return Err(unexpected_from_participant("poll:list:request")),
            Control::BindRequest { .. } => {
                return Err(unexpected_from_participant("channel:bind:request"))
            }
            Control::SnapshotRequest { .. } => {
                return Err(unexpected_from_participant("snapshot:request"))
            }
            Control::Move { .. } => return Err(hub_message("hub:move")),
            Control::Records { .. } => return Err(hub_message("hub:records")),
            Control::Prepare { .. } => return Err(hub_message("hub:prepare")),
            Control::Prepared { .. } => return Err(hub_message("hub:prepared")),
            Control::Activate { .. } => return Err(hub_message("hub:activate")),
            Control::Activated { .. } => return Err(hub_message("hub:activated")),
            Control::Abort { .. } => return Err(hub_message("hub:abort")),
            Control::Ack { .. } | Control::Error { .. } => None,
            // About the connection, not a poll ([`crate::owner_link`] handles `channel:bind`).
            Control::List { .. } | Control::Heartbeat | Control::Bind { .. } => return Ok(()),
        };
        if let Some(poll_id) = poll_id {
            if poll_id != self.poll {
                return Err(FollowError::Unexpected(Unexpected::OtherPoll {
                    expected: self.poll,
                    got: poll_id,
                }));
            }
        }
        match control {
            // Checked on its own (§8.6 step 2); an error about no poll is informational; and
            // any peer may say it does not have the poll (§8.6 step 5: not an impostor).
            Control::Delegation { .. }
            | Control::Error {
                command_id: None,
                poll_id: None,
                ..
            }
            | Control::Error {
                code: ErrorCode::UnknownPoll,
                ..
            } => Ok(()),
            _ if self.serves_here() => Ok(()),
            _ => Err(FollowError::NotServingHub {
                hub: self.hub.clone(),
            }),
        }
    }

    /// Marks the link verified; on the first verification returns every durable pending
    /// command, in order, and marks them sent.
    fn verify(&mut self, now_ms: u64) -> Vec<String> {
        if self.link == Link::Verified {
            return Vec::new();
        }
        self.link = Link::Verified;
        self.impostor = None;
        self.flush(now_ms)
    }

    /// On a verified link, sends what the outbox may send now.
    fn flush(&mut self, now_ms: u64) -> Vec<String> {
        if self.link == Link::Verified && !self.gone {
            self.outbox.flush(now_ms)
        } else {
            Vec::new()
        }
    }

    /// Applies a checked message from the owner. Fails only before changing anything.
    fn handle(&mut self, control: Control, reaction: &mut Reaction) -> Result<(), FollowError> {
        match control {
            Control::State { poll } => {
                self.view = Some(*poll);
                self.note_own_name();
                self.sync_outstanding = false;
                reaction.notices.push(Notice::ViewChanged);
            }
            Control::Event { event, .. } => self.event(&event, reaction)?,
            Control::Discovery {
                peers, connected, ..
            } => {
                self.peers = peers;
                self.connected = connected;
                reaction.notices.push(Notice::PeersChanged);
            }
            Control::Delegation { delegation, .. } => self.delegated(&delegation, reaction)?,
            Control::Snapshot { file, .. } => reaction.notices.push(Notice::Snapshot { file }),
            Control::Error {
                code: code @ (ErrorCode::UnknownPoll | ErrorCode::PollDeleted),
                message,
                ..
            } => {
                if self.hub == self.owner {
                    self.mark_gone(GoneReason::from_code(code), message, reaction);
                } else {
                    // A hub that is not the owner does not have it: ask the owner (§8.6 step 5).
                    self.fallback = true;
                    self.reset_link(Link::Down);
                    reaction.notices.push(Notice::Moved {
                        hub: self.owner.clone(),
                    });
                }
            }
            Control::Ack {
                command_id,
                revision,
            } => {
                if let Some(entry) = self.outbox.settle(command_id) {
                    if let Command::Join { display_name }
                    | Command::UpdateProfile { display_name } = entry.command
                    {
                        self.owner_name = Some(display_name);
                    }
                    reaction.notices.push(Notice::Acked {
                        command_id,
                        revision,
                    });
                }
            }
            Control::Error {
                command_id: Some(command_id),
                code,
                message,
                ..
            } => {
                if let Some(pending) = self.outbox.settle(command_id) {
                    if let Command::Join { display_name }
                    | Command::UpdateProfile { display_name } = &pending.command
                    {
                        self.refused_name = Some(display_name.clone());
                    }
                    reaction.notices.push(Notice::Refused {
                        command_id,
                        command: pending.command,
                        code,
                        message,
                    });
                }
            }
            Control::Error {
                command_id: None,
                code,
                message,
                ..
            } => reaction.notices.push(Notice::OwnerError { code, message }),
            Control::List { .. } | Control::Heartbeat | Control::Bind { .. } => {}
            // Refused by `check`.
            Control::SyncRequest { .. }
            | Control::ListRequest
            | Control::BindRequest { .. }
            | Control::SnapshotRequest { .. }
            | Control::Move { .. }
            | Control::Records { .. }
            | Control::Prepare { .. }
            | Control::Prepared { .. }
            | Control::Activate { .. }
            | Control::Activated { .. }
            | Control::Abort { .. } => {}
        }
        Ok(())
    }

    /// A `hub:delegation` about this poll (§8.6 step 2). Fails before changing anything.
    fn delegated(&mut self, text: &str, reaction: &mut Reaction) -> Result<(), FollowError> {
        let delegation = SignedDelegation::check(text, self.poll, &self.owner)
            .map_err(FollowError::BadDelegation)?;
        match delegation.relation_to(self.delegation.as_ref()) {
            Relation::Newer => {
                self.delegation = Some(delegation);
                self.fallback = false;
                reaction.notices.push(Notice::Delegated);
                if !self.serves_here() {
                    reaction.notices.push(Notice::Moved {
                        hub: self.serving_hub().clone(),
                    });
                }
                Ok(())
            }
            Relation::Same => Ok(()),
            Relation::Stale if *delegation.hub() == self.hub => Err(FollowError::StaleDelegation {
                got: delegation.seq(),
                current: self.delegation.as_ref().map_or(0, SignedDelegation::seq),
            }),
            Relation::Stale => Ok(()),
        }
    }

    /// Takes the owner's name for this participant from a new verified view.
    fn note_own_name(&mut self) {
        let me = self.me.peer_id();
        if let Some(member) = self.view.as_ref().and_then(|v| v.members.get(me)) {
            self.owner_name = Some(member.display_name.clone());
        }
    }

    /// The owner does not have the poll: settle every pending command and stop.
    fn mark_gone(&mut self, reason: GoneReason, message: String, reaction: &mut Reaction) {
        if self.gone {
            return;
        }
        self.gone = true;
        self.gone_reason = Some(reason);
        self.sync_outstanding = false;
        let dropped: Vec<CommandId> = self.outbox.iter().map(|e| e.command_id).collect();
        for id in &dropped {
            self.outbox.settle(*id);
        }
        reaction.notices.push(Notice::Gone { dropped, message });
    }

    /// A `poll:event` for this poll (§4.3).
    fn event(&mut self, event: &Event, reaction: &mut Reaction) -> Result<(), FollowError> {
        let next = match &self.view {
            Some(view) if event.revision <= view.revision => return Ok(()),
            Some(view) => view.apply(event),
            None => return self.resync(reaction),
        };
        match next {
            Ok(next) => {
                self.view = Some(next);
                self.note_own_name();
                self.sync_outstanding = false;
                reaction.notices.push(Notice::ViewChanged);
                Ok(())
            }
            Err(_) => self.resync(reaction),
        }
    }

    /// Asks for a fresh `poll:state`, unless a request is already outstanding.
    fn resync(&mut self, reaction: &mut Reaction) -> Result<(), FollowError> {
        if !self.sync_outstanding {
            reaction.send.push(self.sync_request()?);
            self.sync_outstanding = true;
        }
        Ok(())
    }

    /// Starts a new link state: nothing is sent on it yet, no sync request is outstanding, and
    /// who is connected is unknown.
    fn reset_link(&mut self, link: Link) {
        self.link = link;
        self.sync_outstanding = false;
        self.peers.clear();
        self.connected = 0;
        self.outbox.link_lost();
    }

    fn sync_request(&self) -> Result<String, FollowError> {
        self.seal(Control::SyncRequest {
            poll_id: self.poll,
            since_revision: self.view.as_ref().map(|v| v.revision),
        })
    }

    fn seal_command(
        &self,
        command_id: CommandId,
        command: &Command,
    ) -> Result<String, FollowError> {
        protocol::seal(
            &self.me,
            &Message::Command(CommandFrame {
                command: command.clone(),
                poll_id: self.poll,
                command_id,
            }),
        )
        .map_err(FollowError::Seal)
    }

    fn seal(&self, control: Control) -> Result<String, FollowError> {
        protocol::seal(&self.me, &Message::Control(control)).map_err(FollowError::Seal)
    }
}

/// A sealed `poll:list:request` (§3.3), for a participant who knows only the owner's ID.
pub fn list_request(me: &Identity) -> Result<String, ProtocolError> {
    protocol::seal(me, &Message::Control(Control::ListRequest))
}

/// Whether an opening failure shows that the frame was not signed by the expected key (§2.4
/// steps 4, 5, 6 and 8), as opposed to a malformed or unknown message.
pub(crate) fn is_impostor(error: &ProtocolError) -> bool {
    matches!(
        error,
        ProtocolError::SignerMismatch { .. }
            | ProtocolError::BadSigner(_)
            | ProtocolError::BadSignature(_)
    )
}

fn hub_message(kind: &'static str) -> FollowError {
    FollowError::Unexpected(Unexpected::HubMessage { kind })
}

fn unexpected_from_participant(kind: &'static str) -> FollowError {
    FollowError::Unexpected(Unexpected::ParticipantMessage { kind })
}

#[cfg(test)]
mod tests;
