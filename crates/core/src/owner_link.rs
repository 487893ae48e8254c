//! A participant's one data connection to one owner, shared by every poll it follows of that
//! owner and by the owner's poll list: a sans-IO machine in str0m's shape.
//!
//! A participant keeps **one** connection per owner, whatever the number of polls it follows
//! there (the hub allows only a few connections per remote peer, PROTOCOL.md §4.10). Each poll is
//! a [`Follower`] (its view, its outbox, its `sync:request`s) inside this machine; the machine owns
//! what belongs to the connection: dialing and redialing (full-jitter backoff, reset once the
//! owner proved itself), verifying each frame once against the owner's key, routing it to the
//! poll it is about, heartbeats after [`HEARTBEAT_AFTER_MS`] of sending silence, and closing a
//! connection the owner has been silent on for [`SILENCE_CLOSE_MS`].
//!
//! The driving loop (the shell owns the connection and one timer):
//! 1. feed what happened with [`OwnerLink::handle_input`] (`now` is Unix ms) and call
//!    [`OwnerLink::handle_timeout`] when the timer fires; add and remove polls with
//!    [`OwnerLink::follow`] / [`OwnerLink::unfollow`]; stage commands with [`OwnerLink::stage`],
//!    and report their durable write with [`OwnerLink::saved`] (or [`OwnerLink::discard`]);
//! 2. drain [`OwnerLink::poll_output`] until `None` and act on each [`Output`] in order;
//! 3. arm the timer for [`OwnerLink::poll_timeout`].
//!
//! Routing (§4.12): `poll:state`, `poll:event` and `peer:discovery` name their poll; an `ack` or
//! an `error` with a `commandId` goes to the poll whose outbox holds that command; an `error`
//! without one goes to the poll its `pollId` names. An `unknown-poll` error naming neither (an
//! older owner) is attributed only when exactly one poll awaits a `sync:request` answer, and
//! dropped otherwise: marking the wrong poll deleted would lose its outbox for good.
//!
//! Invariants:
//! - At most one connection is open or being dialed; [`Output::Dial`] is emitted only while
//!   none is, and only while some poll still needs the owner (not gone) or a list is wanted.
//! - Every frame is opened once, against the owner's key; a frame that is not signed by it
//!   marks every poll's link [`crate::follower::Link::Impostor`] and closes the connection.
//! - A frame signed by the owner verifies the connection for every poll on it: each flushes its
//!   pending commands then ([`Follower::link_verified`]), in the order they were made.
//! - The peer at the other end is a **hub**: the owner itself, or a peer its polls are
//!   delegated to (PROTOCOL.md §8). Each follower decides whether that peer serves its poll
//!   ([`Follower::serving_hub`]); a follower whose poll is served elsewhere (a redirect, an
//!   impostor hub, a hub that lost it) is handed over: it leaves this link, waits in
//!   [`OwnerLink::take_moved`], and [`Output::Moved`] names the peer to follow it at.
//! - Pure: no clock, no randomness (both come in as arguments), no I/O.

use std::collections::{BTreeMap, VecDeque};

use crate::delegation::SignedDelegation;
use crate::follower::{is_impostor, FollowError, Follower, Notice};
use crate::outbox::{OutboxRecord, Redial};
use crate::poll::{Command, CommandId, PollId};
use crate::protocol::{
    self, ChannelFingerprints, Control, ErrorCode, Message, PollSummary, ProtocolError,
    HEARTBEAT_AFTER_MS, SILENCE_CLOSE_MS,
};
use crate::{Identity, PeerId};

/// How long to wait before dialing again when this side's own peer cannot dial yet (it is
/// still registering with the signaling server); the backoff is not advanced for it.
pub const NOT_READY_RETRY_MS: u64 = 250;

/// Something that happened to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// The connection asked for by the last [`Output::Dial`] opened.
    Opened,
    /// The same, and the shell read the connection's DTLS fingerprints from its SDP: the link
    /// asks the hub to bind the channel (PROTOCOL.md §2.7) and, once the hub's signed
    /// `channel:bind` names the same two fingerprints, accepts unsigned frames on it.
    OpenedWith(&'a ChannelFingerprints),
    /// The connection closed, or the dial failed; `random` is a uniformly random `u32` (the
    /// jitter of the next attempt).
    Closed {
        /// Randomness for the backoff.
        random: u32,
    },
    /// This side could not dial at all yet (its own peer is not registered): try again in
    /// [`NOT_READY_RETRY_MS`].
    NotReady,
    /// A text frame arrived on the open connection.
    Frame(&'a str),
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a data connection to the owner.
    Dial,
    /// Send this frame on the open connection.
    Send(String),
    /// Close the connection (silent owner, impostor, or nobody needs it any more). Nothing
    /// more is reported for it: do not feed its `Closed`.
    Close,
    /// Something changed for one followed poll.
    Poll(PollId, Notice),
    /// The owner's `poll:list` (answering [`OwnerLink::want_list`]).
    List(Vec<PollSummary>),
    /// The connection's state changed (what [`OwnerLink::state`] says).
    StateChanged,
    /// A frame was dropped, with the reason (for the log).
    Dropped(String),
    /// A followed poll is served by another peer now: take its follower with
    /// [`OwnerLink::take_moved`] and follow it on the link to `hub` (its pending commands are
    /// resent there).
    Moved {
        /// The poll.
        poll: PollId,
        /// Where it is served.
        hub: PeerId,
    },
}

/// Where the connection stands, as a page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Nobody needs the owner: no connection, none planned.
    Idle,
    /// No connection; the next attempt is at this time (Unix ms).
    Waiting(u64),
    /// Dialing, or open but the owner has not proved itself yet.
    Connecting,
    /// Open, and a frame signed by the owner arrived on it.
    Verified,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Idle,
    Waiting { at: u64 },
    Dialing,
    Open { verified: bool },
}

/// One participant's connection to one owner and the polls it follows there.
#[derive(Debug)]
pub struct OwnerLink {
    me: Identity,
    owner: PeerId,
    followers: BTreeMap<PollId, Follower>,
    conn: Conn,
    redial: Redial,
    last_heard: u64,
    last_sent: u64,
    list_wanted: bool,
    impostor: Option<String>,
    out: VecDeque<Output>,
    /// Followers handed over to another hub, until the shell takes them.
    moved: BTreeMap<PollId, Follower>,
    /// The open connection's DTLS fingerprints, when the shell read them.
    channel: Option<ChannelFingerprints>,
    /// The open connection is bound (PROTOCOL.md §2.7): frames without a signature are
    /// accepted on it.
    bound: bool,
}

impl OwnerLink {
    /// A link from `me` to `owner` with no polls and no connection.
    pub fn new(me: Identity, owner: PeerId) -> Self {
        Self {
            me,
            owner,
            followers: BTreeMap::new(),
            conn: Conn::Idle,
            redial: Redial::new(),
            last_heard: 0,
            last_sent: 0,
            list_wanted: false,
            impostor: None,
            out: VecDeque::new(),
            moved: BTreeMap::new(),
            channel: None,
            bound: false,
        }
    }

    /// Whether the open connection is bound (PROTOCOL.md §2.7).
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// The peer this link dials: the owner, or a hub serving some of its polls.
    pub fn peer(&self) -> &PeerId {
        &self.owner
    }

    /// Takes a follower this link handed over ([`Output::Moved`]), to follow it on the link to
    /// its new hub.
    pub fn take_moved(&mut self, poll: &PollId) -> Option<Follower> {
        self.moved.remove(poll)
    }

    /// Asks the hub serving `poll` for its signed snapshot file (`snapshot:request`, the owner's
    /// export of a poll served elsewhere, PROTOCOL.md §8.7): answered with
    /// [`Notice::Snapshot`], or an `error` ([`Notice::OwnerError`]).
    pub fn request_snapshot(&mut self, poll: &PollId, now_ms: u64) -> Result<(), FollowError> {
        self.send_control(poll, Control::SnapshotRequest { poll_id: *poll }, now_ms)
    }

    /// Asks the hub serving `poll` to move it under `delegation` (`hub:move`, PROTOCOL.md
    /// §8.4): this participant must be the poll's owner (who signed the delegation). Sent now
    /// if the link is open; the outcome shows as a redirect ([`Output::Moved`]) or an
    /// `move-failed` error ([`Notice::OwnerError`]).
    pub fn request_move(
        &mut self,
        poll: &PollId,
        delegation: &SignedDelegation,
        now_ms: u64,
    ) -> Result<(), FollowError> {
        let control = Control::Move {
            poll_id: *poll,
            delegation: delegation.text().to_owned(),
        };
        self.send_control(poll, control, now_ms)
    }

    /// Seals and sends an owner's request about a followed `poll`, if the link is open.
    fn send_control(
        &mut self,
        poll: &PollId,
        control: Control,
        now_ms: u64,
    ) -> Result<(), FollowError> {
        if !self.followers.contains_key(poll) || !matches!(self.conn, Conn::Open { .. }) {
            return Err(FollowError::NotConnected);
        }
        let frame =
            protocol::seal(&self.me, &Message::Control(control)).map_err(FollowError::Seal)?;
        self.send_all(vec![frame], now_ms);
        Ok(())
    }

    /// The owner.
    pub fn owner(&self) -> &PeerId {
        &self.owner
    }

    /// Where the connection stands.
    pub fn state(&self) -> LinkState {
        match self.conn {
            Conn::Idle => LinkState::Idle,
            Conn::Waiting { at } => LinkState::Waiting(at),
            Conn::Dialing | Conn::Open { verified: false } => LinkState::Connecting,
            Conn::Open { verified: true } => LinkState::Verified,
        }
    }

    /// Why the last connection was refused as an impostor's, until one is verified.
    pub fn impostor(&self) -> Option<&str> {
        self.impostor.as_deref()
    }

    /// The follower of `poll`, if followed here.
    pub fn follower(&self, poll: &PollId) -> Option<&Follower> {
        self.followers.get(poll)
    }

    /// The polls followed here.
    pub fn polls(&self) -> impl Iterator<Item = &PollId> + '_ {
        self.followers.keys()
    }

    /// Starts following a poll over this link (replacing a follower of the same poll). On an
    /// open link its `sync:request` goes at once; otherwise the link dials if it was idle.
    pub fn follow(&mut self, mut follower: Follower, now_ms: u64) {
        let poll = follower.poll_id();
        follower.set_hub(self.owner.clone());
        if let Conn::Open { verified } = self.conn {
            match follower.connected() {
                Ok(frames) => self.send_all(frames, now_ms),
                Err(e) => self.dropped(format!("could not start the sync of {poll}: {e}")),
            }
            if verified {
                let frames = follower.link_verified(now_ms);
                self.send_all(frames, now_ms);
            }
        }
        self.followers.insert(poll, follower);
        self.wake();
    }

    /// Stops following `poll` (left, or the tab stopped). The owner keeps sending its frames
    /// until the connection closes; they are dropped. When nothing needs the connection any
    /// more, it is closed.
    pub fn unfollow(&mut self, poll: &PollId) -> Option<Follower> {
        let follower = self.followers.remove(poll);
        self.settle_idle();
        follower
    }

    /// Asks the owner for its `poll:list` (on the open connection now, else once one opens);
    /// answered once with [`Output::List`].
    pub fn want_list(&mut self, now_ms: u64) {
        self.list_wanted = true;
        if matches!(self.conn, Conn::Open { .. }) {
            self.send_list_request(now_ms);
        }
        self.wake();
    }

    /// The list is no longer wanted (the page showing it went away).
    pub fn drop_list(&mut self) {
        self.list_wanted = false;
        self.settle_idle();
    }

    /// Dials now if no connection is open or being dialed (the user's "retry now").
    pub fn dial_now(&mut self) {
        if matches!(self.conn, Conn::Waiting { .. }) {
            self.conn = Conn::Idle;
        }
        self.wake();
    }

    /// Queues a command of this participant for `poll` ([`Follower::stage`]): returns the
    /// record to store durably before calling [`OwnerLink::saved`].
    pub fn stage(
        &mut self,
        poll: &PollId,
        command_id: CommandId,
        command: Command,
    ) -> Result<Option<OutboxRecord>, FollowError> {
        let follower = self
            .followers
            .get_mut(poll)
            .ok_or(FollowError::NotConnected)?;
        follower.stage(command_id, command)
    }

    /// The record of a staged command is stored: it is sent as soon as the link allows.
    pub fn saved(&mut self, poll: &PollId, command_id: CommandId, now_ms: u64) {
        if let Some(follower) = self.followers.get_mut(poll) {
            let frames = follower.saved(command_id, now_ms);
            self.send_all(frames, now_ms);
        }
    }

    /// The record of a staged command could not be stored: it is dropped.
    pub fn discard(&mut self, poll: &PollId, command_id: CommandId, now_ms: u64) {
        if let Some(follower) = self.followers.get_mut(poll) {
            let frames = follower.discard(command_id, now_ms);
            self.send_all(frames, now_ms);
        }
    }

    /// Something happened to the connection at `now_ms`.
    pub fn handle_input(&mut self, input: Input<'_>, now_ms: u64) {
        match input {
            Input::Opened => self.opened(None, now_ms),
            Input::OpenedWith(channel) => self.opened(Some(channel.clone()), now_ms),
            Input::Closed { random } => {
                if matches!(self.conn, Conn::Dialing | Conn::Open { .. }) {
                    self.lost(now_ms, random);
                }
            }
            Input::NotReady => {
                if self.conn == Conn::Dialing {
                    self.conn = Conn::Waiting {
                        at: now_ms.saturating_add(NOT_READY_RETRY_MS),
                    };
                    self.out.push_back(Output::StateChanged);
                }
            }
            Input::Frame(text) => self.message(text, now_ms),
        }
    }

    /// Time passed: dial when the wait is over, close a connection the owner has been silent
    /// on, resend overdue commands, and send a heartbeat on a quiet connection.
    pub fn handle_timeout(&mut self, now_ms: u64, random: u32) {
        match self.conn {
            Conn::Waiting { at } if now_ms >= at => {
                self.conn = Conn::Idle;
                self.wake();
            }
            Conn::Open { .. } => {
                if now_ms.saturating_sub(self.last_heard) >= SILENCE_CLOSE_MS {
                    self.dropped(format!(
                        "the owner was silent for {SILENCE_CLOSE_MS} ms; reconnecting"
                    ));
                    self.out.push_back(Output::Close);
                    self.lost(now_ms, random);
                    return;
                }
                let mut frames = Vec::new();
                for follower in self.followers.values_mut() {
                    frames.extend(follower.tick(now_ms));
                }
                if frames.is_empty() && now_ms.saturating_sub(self.last_sent) >= HEARTBEAT_AFTER_MS
                {
                    match protocol::seal(&self.me, &Message::Control(Control::Heartbeat)) {
                        Ok(frame) => frames.push(frame),
                        Err(e) => self.dropped(format!("could not seal a heartbeat: {e}")),
                    }
                }
                self.send_all(frames, now_ms);
            }
            Conn::Idle | Conn::Waiting { .. } | Conn::Dialing => {}
        }
    }

    /// The next output, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`OwnerLink::handle_timeout`] should be called next (Unix ms), if at all.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.conn {
            Conn::Waiting { at } => Some(at),
            Conn::Open { .. } => {
                let silence = self.last_heard.saturating_add(SILENCE_CLOSE_MS);
                let heartbeat = self.last_sent.saturating_add(HEARTBEAT_AFTER_MS);
                let resend = self
                    .followers
                    .values()
                    .filter_map(Follower::next_resend_at)
                    .min();
                Some(silence.min(heartbeat).min(resend.unwrap_or(u64::MAX)))
            }
            Conn::Idle | Conn::Dialing => None,
        }
    }

    /// The time of the next scheduled dial, while waiting for one.
    pub fn next_attempt_at(&self) -> Option<u64> {
        match self.conn {
            Conn::Waiting { at } => Some(at),
            _ => None,
        }
    }

    /// Whether anything needs the owner: a poll not gone, or a wanted list.
    fn needed(&self) -> bool {
        self.list_wanted || self.followers.values().any(|f| !f.is_gone())
    }

    /// Dials if idle and needed.
    fn wake(&mut self) {
        if self.conn == Conn::Idle && self.needed() {
            self.conn = Conn::Dialing;
            self.redial.dialing();
            self.out.push_back(Output::Dial);
            self.out.push_back(Output::StateChanged);
        }
    }

    /// Closes the connection (or stops waiting) when nothing needs it any more.
    fn settle_idle(&mut self) {
        if self.needed() {
            return;
        }
        match self.conn {
            Conn::Idle => return,
            Conn::Dialing | Conn::Open { .. } => self.out.push_back(Output::Close),
            Conn::Waiting { .. } => {}
        }
        for follower in self.followers.values_mut() {
            follower.disconnected();
        }
        self.conn = Conn::Idle;
        self.out.push_back(Output::StateChanged);
    }

    fn opened(&mut self, channel: Option<ChannelFingerprints>, now_ms: u64) {
        if self.conn != Conn::Dialing {
            return;
        }
        self.conn = Conn::Open { verified: false };
        self.last_heard = now_ms;
        self.last_sent = now_ms;
        self.bound = false;
        let mut frames = Vec::new();
        // First, so the hub binds the channel before it answers the polls' sync requests.
        if channel.is_some() {
            match protocol::seal(
                &self.me,
                &Message::Control(Control::BindRequest { batches: true }),
            ) {
                Ok(frame) => frames.push(frame),
                Err(e) => self.dropped(format!("could not seal a channel:bind:request: {e}")),
            }
        }
        self.channel = channel;
        let mut failures = Vec::new();
        for (poll, follower) in &mut self.followers {
            match follower.connected() {
                Ok(sync) => frames.extend(sync),
                Err(e) => failures.push(format!("could not start the sync of {poll}: {e}")),
            }
        }
        for failure in failures {
            self.dropped(failure);
        }
        self.send_all(frames, now_ms);
        if self.list_wanted {
            self.send_list_request(now_ms);
        }
        self.out.push_back(Output::StateChanged);
        self.settle_idle();
    }

    /// The connection is gone (closed, failed, or closed by this side): every poll's link is
    /// down, and the next dial is scheduled if anything still needs the owner.
    fn lost(&mut self, now_ms: u64, random: u32) {
        self.channel = None;
        self.bound = false;
        for follower in self.followers.values_mut() {
            follower.disconnected();
        }
        self.conn = if self.needed() {
            Conn::Waiting {
                at: now_ms.saturating_add(self.redial.failed(now_ms, random)),
            }
        } else {
            Conn::Idle
        };
        self.out.push_back(Output::StateChanged);
    }

    /// A data-channel message: one frame, or a batch of them on a connection that asked for
    /// batches (PROTOCOL.md §2.8), each opened as if it had arrived alone. This side asks for
    /// batches exactly when it asks for a binding: when it knows the connection's fingerprints.
    fn message(&mut self, text: &str, now_ms: u64) {
        if !(self.channel.is_some() && protocol::batch::is_batch(text)) {
            return self.frame(text, now_ms);
        }
        match protocol::batch::split(text) {
            Ok(frames) => {
                for frame in frames {
                    // A frame may end the connection (an impostor's binding): the rest is
                    // dropped with it.
                    if !matches!(self.conn, Conn::Open { .. }) {
                        break;
                    }
                    self.frame(frame, now_ms);
                }
            }
            Err(error) => self.dropped(format!("dropped a bad batch from the owner: {error}")),
        }
    }

    fn frame(&mut self, text: &str, now_ms: u64) {
        let Conn::Open { verified } = self.conn else {
            self.dropped("a frame arrived while no connection is open".into());
            return;
        };
        self.last_heard = now_ms;
        let opened = if self.bound {
            protocol::open_bound(text, &self.owner)
        } else {
            protocol::open_from(text, &self.owner)
        };
        let control = match opened {
            Ok((_, Message::Control(control))) => control,
            Ok((_, Message::Command(_))) => {
                self.dropped("the owner sent a poll command, which only participants send".into());
                return;
            }
            Err(error) if is_impostor(&error) => {
                self.refuse(&error, now_ms);
                return;
            }
            Err(error) => {
                self.dropped(format!("dropped a bad frame from the owner: {error}"));
                return;
            }
        };
        // A binding is checked before the connection counts as verified, so a connection whose
        // binding fails never carries a command.
        if let Control::Bind {
            hub_fingerprint,
            participant_fingerprint,
        } = &control
        {
            if !self.bind(hub_fingerprint, participant_fingerprint, now_ms) {
                return;
            }
        }
        if !verified {
            self.verified(now_ms);
        }
        self.route(control, now_ms);
    }

    /// A frame signed by the owner arrived: every poll's pending commands may go.
    fn verified(&mut self, now_ms: u64) {
        self.conn = Conn::Open { verified: true };
        self.redial.verified();
        self.impostor = None;
        let mut frames = Vec::new();
        for follower in self.followers.values_mut() {
            frames.extend(follower.link_verified(now_ms));
        }
        self.send_all(frames, now_ms);
        self.out.push_back(Output::StateChanged);
    }

    /// The hub's `channel:bind` (verified: an unbound connection accepts only signed frames)
    /// names the fingerprints it sees. The channel is bound only if they are exactly the two
    /// this side sees; otherwise the DTLS peer is not the hub's own end of this connection
    /// (someone in the middle relayed the signed frame), and the connection is closed.
    /// Returns whether the connection is still open.
    fn bind(&mut self, hub: &str, participant: &str, now_ms: u64) -> bool {
        let Some(channel) = &self.channel else {
            self.dropped("a channel:bind this side did not ask for".into());
            return true;
        };
        if self.bound {
            return true;
        }
        if channel.remote == hub && channel.local == participant {
            self.bound = true;
            return true;
        }
        let why = format!(
            "the connection to {} is not end to end: the hub's channel:bind names other DTLS fingerprints than this side sees",
            self.owner
        );
        self.cut_impostor(why, now_ms);
        false
    }

    /// The peer at the owner's ID signed with another key: nothing from it is used.
    fn refuse(&mut self, error: &ProtocolError, now_ms: u64) {
        let why = format!(
            "the peer answering at {} does not hold the owner's key ({error})",
            self.owner
        );
        self.cut_impostor(why, now_ms);
    }

    /// Closes a connection that is not the owner's (`why`): every poll on it is told, and the
    /// link waits before dialing again.
    fn cut_impostor(&mut self, why: String, now_ms: u64) {
        for follower in self.followers.values_mut() {
            follower.refuse_link(why.clone());
        }
        self.impostor = Some(why);
        self.out.push_back(Output::Close);
        // The jitter need not be random here: the impostor is unlikely to go away soon.
        self.lost(now_ms, u32::MAX);
    }

    /// Gives an owner-signed message to the poll it is about.
    fn route(&mut self, control: Control, now_ms: u64) {
        let poll = match &control {
            Control::List { polls } => {
                if self.list_wanted {
                    self.list_wanted = false;
                    self.out.push_back(Output::List(polls.clone()));
                    self.settle_idle();
                }
                return;
            }
            Control::Heartbeat => return,
            // Checked in `frame`.
            Control::Bind { .. } => return,
            Control::State { poll } => Some(poll.id),
            Control::Event { poll_id, .. }
            | Control::Discovery { poll_id, .. }
            | Control::Delegation { poll_id, .. }
            | Control::Snapshot { poll_id, .. } => Some(*poll_id),
            Control::Ack { command_id, .. }
            | Control::Error {
                command_id: Some(command_id),
                ..
            } => self.holder_of(*command_id),
            Control::Error {
                command_id: None,
                poll_id: Some(poll_id),
                ..
            } => Some(*poll_id),
            Control::Error {
                command_id: None,
                poll_id: None,
                code: ErrorCode::UnknownPoll | ErrorCode::PollDeleted,
                ..
            } => self.only_awaiting_sync(),
            Control::Error {
                command_id: None,
                poll_id: None,
                code,
                message,
            } => {
                self.dropped(format!("the owner says ({code:?}): {message}"));
                return;
            }
            Control::SyncRequest { .. }
            | Control::ListRequest
            | Control::BindRequest { .. }
            | Control::SnapshotRequest { .. } => {
                self.dropped("the owner sent a message only participants send".into());
                return;
            }
            Control::Move { .. }
            | Control::Records { .. }
            | Control::Prepare { .. }
            | Control::Prepared { .. }
            | Control::Activate { .. }
            | Control::Activated { .. }
            | Control::Abort { .. } => {
                self.dropped("the hub sent a message only hubs exchange".into());
                return;
            }
        };
        let Some(poll) = poll else {
            // An answer to a command no longer pending (answered before), or an error no poll
            // can be blamed for.
            return;
        };
        let Some(follower) = self.followers.get_mut(&poll) else {
            return; // a poll not (or no longer) followed on this link
        };
        match follower.accept(control, now_ms) {
            Ok(reaction) => {
                self.send_all(reaction.send, now_ms);
                let gone = reaction
                    .notices
                    .iter()
                    .any(|n| matches!(n, Notice::Gone { .. }));
                for notice in reaction.notices {
                    self.out.push_back(Output::Poll(poll, notice));
                }
                if gone {
                    self.settle_idle();
                }
            }
            Err(e) => self.dropped(e.to_string()),
        }
        self.hand_over(poll);
    }

    /// Hands `poll`'s follower over when its poll is served by another peer than this link's.
    fn hand_over(&mut self, poll: PollId) {
        let Some(follower) = self.followers.get(&poll) else {
            return;
        };
        if follower.is_gone() || *follower.serving_hub() == self.owner {
            return;
        }
        let hub = follower.serving_hub().clone();
        if let Some(mut follower) = self.followers.remove(&poll) {
            follower.set_hub(hub.clone());
            self.moved.insert(poll, follower);
            self.out.push_back(Output::Moved { poll, hub });
            self.settle_idle();
        }
    }

    /// The followed poll whose outbox holds `command_id`.
    fn holder_of(&self, command_id: CommandId) -> Option<PollId> {
        self.followers
            .iter()
            .find(|(_, f)| f.is_pending(command_id))
            .map(|(poll, _)| *poll)
    }

    /// The one poll waiting for a `sync:request` answer, if exactly one is.
    fn only_awaiting_sync(&self) -> Option<PollId> {
        let mut waiting = self.followers.iter().filter(|(_, f)| f.awaits_sync());
        match (waiting.next(), waiting.next()) {
            (Some((poll, _)), None) => Some(*poll),
            _ => None,
        }
    }

    fn send_list_request(&mut self, now_ms: u64) {
        match crate::follower::list_request(&self.me) {
            Ok(frame) => self.send_all(vec![frame], now_ms),
            Err(e) => self.dropped(format!("could not seal a poll:list:request: {e}")),
        }
    }

    fn send_all(&mut self, frames: Vec<String>, now_ms: u64) {
        if frames.is_empty() || !matches!(self.conn, Conn::Open { .. }) {
            return;
        }
        self.last_sent = now_ms;
        self.out.extend(frames.into_iter().map(Output::Send));
    }

    fn dropped(&mut self, why: String) {
        self.out.push_back(Output::Dropped(why));
    }
}

#[cfg(test)]
mod tests;
