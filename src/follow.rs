//! The participant runtime: drives the core's [`OwnerLink`] (one data connection per owner,
//! shared by every poll this browser follows there and by that owner's poll list) against the
//! real world: a PeerJS data connection, IndexedDB, one timer.
//!
//! **One connection per owner.** A [`Channel`] holds the owner's [`OwnerLink`], the data
//! connection it asked for, and one timer armed at the link's `poll_timeout`. Everything about
//! the connection — dialing, redialing with backoff, heartbeats, dropping a silent owner,
//! verifying frames, routing them to their poll — is decided by the link; the channel only
//! performs its [`Output`]s and feeds it the connection's events. Events of a connection the
//! channel already replaced are ignored (each dial has a generation).
//!
//! **Per poll** a [`FollowHandle`] keeps what the page needs and what touches storage: the
//! outbox writes, the deletion of answered records and the saving of verified views.
//! Commands go through the IndexedDB outbox (`outbox` store): [`FollowHandle::submit`] stages
//! the command in the link (pending at once; the page shows it once the write is done, or after
//! [`PENDING_SHOW_MS`]), writes its record, and only once the write committed lets the link send
//! it. An answer from the owner deletes the record right after the page got the snapshot that
//! shows it, one deletion at a time: answers that arrive meanwhile are deleted together once it
//! ends, or with the next command's write (one transaction). A record still stored after its
//! answer (a reload came first) is restored and resent, and the owner answers it again from its
//! record, so this loses and duplicates nothing. Every verified view is saved (`joined` store)
//! right after the page got the snapshot that shows it; views that arrive while a save is under
//! way are saved together once it ends (the latest wins).
//!
//! When the owner says the poll is gone (`unknown-poll`: no such poll; `poll-deleted`: deleted
//! by its owner), the dropped commands' records are deleted and the snapshot says `gone` and
//! why; the link stops asking for it (and closes the connection if no other poll of that owner
//! needs it).
//!
//! **Joined once loaded.** A poll is saved to the `joined` store (and so listed on the
//! dashboard) only once a view verified against the owner's key has arrived, and this
//! participant joins (`poll:join`) only then: a mistyped or made-up link leaves nothing behind,
//! neither a dashboard entry nor a pending join. Followed polls are keyed by owner **and** poll
//! ID ([`FollowKey`]): the same poll ID at another owner is another poll.
//!
//! Why the owner cannot be reached is kept typed ([`DialProblem`]): the page tells "the
//! owner's browser is not online" (PeerJS `peer-unavailable`) from "this browser is offline".
//!
//! The page gets a snapshot in a task after the change (`notify`), so frames that arrive
//! together (an event and its ack, a burst of acks) cost one snapshot and one render.
//!
//! Followers live as long as the app (a [`Follows`] registry), not as long as a page, so
//! commands keep flowing while the user looks elsewhere. They run only in the tab that holds
//! the identity lock (the app starts them there and clears them when the lock is lost), so two
//! tabs never send the same outbox.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::{Rc, Weak};

use futures_util::StreamExt;
use gloo::timers::callback::Timeout;
use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::web::ConnectionError;
use peerjs_client::web::{ConnectionEvent, DataConnection};
use starpoll_core::delegation::SignedDelegation;
use starpoll_core::follower::{Follower, GoneReason, Link, Notice};
use starpoll_core::owner_link::{Input, LinkState, Output, OwnerLink};
use starpoll_core::poll::{Command, CommandId, PollId, PollView};
use starpoll_core::protocol::{ChannelFingerprints, PeerInfo, PollSummary};
use starpoll_core::{Identity, PeerId};
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use crate::error::AppError;
use crate::network::NetworkHandle;
use crate::random;
use crate::storage::{JoinedPoll, Repository};

/// A submitted command is shown pending after this long at the latest, if its outbox write has
/// not finished by then (it normally has, and the page shows it right after).
pub const PENDING_SHOW_MS: u32 = 50;
/// A snapshot carries this many pending commands (a page lists no more); a thousand queued votes
/// then cost a short copy per snapshot, not a thousand.
pub const PENDING_SHOWN: usize = 10;

/// A followed poll: its owner and its ID (the same poll ID at two owners is two polls).
pub type FollowKey = (PeerId, PollId);

/// Why the last attempt to reach the owner failed, as far as this browser can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialProblem {
    /// The signaling server does not know the owner's peer ID (PeerJS `peer-unavailable`):
    /// the owner's browser is not online now.
    OwnerOffline,
    /// This tab is not registered with the signaling server (its network or the server is
    /// down), so it cannot dial anyone.
    SelfOffline,
    /// The owner's browser did not answer in time (it may be asleep or behind a firewall).
    NoAnswer,
    /// The connection to the owner broke or stopped answering.
    Lost,
    /// Another failure; the detail is for the console.
    Other(String),
}

impl DialProblem {
    /// The problem a connection error shows.
    pub fn from_error(error: &ConnectionError) -> Self {
        match error {
            ConnectionError::PeerUnavailable(_) => Self::OwnerOffline,
            ConnectionError::Timeout => Self::NoAnswer,
            ConnectionError::Disconnected => Self::SelfOffline,
            ConnectionError::Unresponsive | ConnectionError::Closed => Self::Lost,
            other => Self::Other(other.to_string()),
        }
    }
}

/// Where the connection to the owner stands, as the page shows it (`sync-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// Talking to the verified owner.
    Connected,
    /// Dialing, or waiting for the owner to prove itself.
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

/// What a participant's page shows of one followed poll.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowSnapshot {
    /// The owner.
    pub owner: PeerId,
    /// The poll.
    pub poll_id: PollId,
    /// The view with this participant's pending vote applied.
    pub view: Option<Rc<PollView>>,
    /// When the verified view was received (Unix ms), if it came from storage or the owner.
    pub view_saved_at: Option<u64>,
    /// Who is connected to the owner for this poll.
    pub peers: Vec<PeerInfo>,
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
    /// The owner's reason for the last refused command.
    pub refusal: Option<String>,
    /// Set while the peer at the owner's ID is not the owner.
    pub impostor: Option<String>,
    /// Why the last dial failed (e.g. the owner is not online).
    pub last_error: Option<DialProblem>,
    /// The owner does not have the poll: nothing is sent or dialed any more (final).
    pub gone: bool,
    /// Why it is gone: no such poll, or deleted by its owner.
    pub gone_reason: Option<GoneReason>,
    /// The peer serving the poll as far as this participant knows: the owner, or the hub its
    /// owner delegated it to (PROTOCOL.md §8).
    pub hub: PeerId,
    /// The last error the hub answered outside a command (e.g. a refused move), in its words.
    pub hub_error: Option<String>,
    /// The signed snapshot file the hub sent (answering [`FollowHandle::request_snapshot`]).
    pub snapshot_file: Option<Rc<str>>,
}

/// What the owner's poll list page hears ([`Follows::list`]).
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerList {
    /// The owner's `poll:list`, verified against its key.
    Listed(Vec<PollSummary>),
    /// The last attempt to reach the owner failed (e.g. it is not online); retrying.
    Unreachable(DialProblem),
    /// The peer at the owner's ID does not hold its key.
    Impostor(String),
}

/// One hub's connection (the owner, or a hub serving its polls), shared by the polls followed
/// there and the owner's poll list.
struct Channel {
    me: Identity,
    /// The registry, to hand a moved poll to the channel of its new hub.
    registry: Weak<RefCell<Registry>>,
    link: OwnerLink,
    network: NetworkHandle,
    conn: Option<DataConnection>,
    /// Bumped at every dial and close: events of an older connection are ignored.
    generation: u64,
    timer: Option<Timeout>,
    /// When `timer` fires (Unix ms).
    timer_at: Option<u64>,
    last_error: Option<DialProblem>,
    polls: BTreeMap<PollId, Weak<RefCell<Inner>>>,
    lists: Vec<(u64, Callback<OwnerList>)>,
    next_list: u64,
}

impl Drop for Channel {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.close();
        }
    }
}

type ChannelRef = Rc<RefCell<Channel>>;

/// Changes the link with `change` at the current time, then performs what it asks.
fn run(channel: &ChannelRef, change: impl FnOnce(&mut OwnerLink, u64)) {
    change(&mut channel.borrow_mut().link, random::now_ms());
    drain(channel);
}

/// Performs every output of the link, tells the polls and list pages what changed, and re-arms
/// the timer.
fn drain(channel: &ChannelRef) {
    let mut notices: Vec<(PollId, Notice)> = Vec::new();
    let mut lists: Vec<OwnerList> = Vec::new();
    let mut state_changed = false;
    let mut moves: Vec<(PollId, PeerId)> = Vec::new();
    loop {
        let output = channel.borrow_mut().link.poll_output();
        let Some(output) = output else {
            break;
        };
        match output {
            Output::Dial => dial(channel),
            Output::Send(frame) => {
                let conn = channel.borrow().conn.clone();
                if let Some(conn) = conn {
                    if let Err(e) = conn.send(&Data::Text(frame)) {
                        gloo::console::warn!(format!("send to the owner: {e}"));
                    }
                }
            }
            Output::Close => {
                let conn = {
                    let mut c = channel.borrow_mut();
                    c.generation += 1;
                    c.conn.take()
                };
                if let Some(conn) = conn {
                    conn.close();
                }
            }
            Output::Poll(poll, notice) => notices.push((poll, notice)),
            Output::List(polls) => lists.push(OwnerList::Listed(polls)),
            Output::StateChanged => state_changed = true,
            Output::Dropped(why) => gloo::console::warn!(why),
            Output::Moved { poll, hub } => moves.push((poll, hub)),
        }
    }
    let (handles, listeners, impostor) = {
        let mut c = channel.borrow_mut();
        if c.link.state() == LinkState::Verified {
            c.last_error = None;
        }
        let handles: Vec<(PollId, FollowHandle)> = c
            .polls
            .iter()
            .filter_map(|(poll, weak)| weak.upgrade().map(|inner| (*poll, FollowHandle(inner))))
            .collect();
        let listeners: Vec<Callback<OwnerList>> =
            c.lists.iter().map(|(_, cb)| cb.clone()).collect();
        let impostor = state_changed
            .then(|| c.link.impostor().map(str::to_owned))
            .flatten();
        (handles, listeners, impostor)
    };
    let mut touched = BTreeSet::new();
    for (poll, notice) in notices {
        if let Some((_, handle)) = handles.iter().find(|(p, _)| *p == poll) {
            handle.on_notice(notice);
            touched.insert(poll);
        }
    }
    for (poll, handle) in &handles {
        if state_changed || touched.contains(poll) {
            handle.notify();
        }
    }
    if let Some(why) = impostor {
        lists.push(OwnerList::Impostor(why));
    }
    for list in lists {
        for listener in &listeners {
            listener.emit(list.clone());
        }
    }
    for (poll, hub) in moves {
        rehome(channel, poll, &hub);
    }
    arm(channel);
}

/// A followed poll is served by `hub` now (PROTOCOL.md §8): its follower leaves this channel for
/// the channel of `hub` (made if none is alive), where its pending commands are resent.
fn rehome(channel: &ChannelRef, poll: PollId, hub: &PeerId) {
    let (follower, weak, registry, me, network) = {
        let mut c = channel.borrow_mut();
        let follower = c.link.take_moved(&poll);
        let weak = c.polls.remove(&poll);
        (
            follower,
            weak,
            c.registry.clone(),
            c.me.clone(),
            c.network.clone(),
        )
    };
    let (Some(follower), Some(handle), Some(registry)) = (
        follower,
        weak.as_ref().and_then(upgrade),
        registry.upgrade(),
    ) else {
        return;
    };
    gloo::console::log!(format!("poll {poll} is served by {hub} now"));
    if *hub == *me.peer_id() {
        // The owner took its poll back: this browser's hub serves it now (a browser cannot
        // dial itself), so the owner's page stops following it as a client.
        let (repo, owner) = (handle.0.borrow().repo.clone(), follower.owner().clone());
        drop(follower);
        let follows = Follows(registry);
        follows.remove(&(owner.clone(), poll));
        handle.stop();
        settle(channel);
        spawn_local(async move {
            if let Err(e) = repo.leave(&owner, poll).await {
                gloo::console::warn!(format!("could not forget the followed copy: {e}"));
            }
        });
        return;
    }
    let target = Follows(registry).channel(&me, hub, &network);
    target
        .borrow_mut()
        .polls
        .insert(poll, Rc::downgrade(&handle.0));
    handle.0.borrow_mut().channel = target.clone();
    run(&target, |link, now| link.follow(follower, now));
    // The delegation is saved with the view, so a reload dials the new hub directly.
    handle.save_view();
    settle(channel);
}

/// Closes a channel's connection if nothing needs it any more.
fn settle(channel: &ChannelRef) {
    let empty = {
        let c = channel.borrow();
        c.polls.is_empty() && c.lists.is_empty()
    };
    if empty {
        run(channel, |link, _| link.drop_list());
    }
}

/// Opens the data connection the link asked for and feeds its events back.
fn dial(channel: &ChannelRef) {
    let (network, owner) = {
        let c = channel.borrow();
        (c.network.clone(), c.link.peer().clone())
    };
    let conn = network.connect(&owner);
    let Some((conn, mut events)) = conn.and_then(|conn| match conn.events() {
        Some(events) => Some((conn, events)),
        None => {
            conn.close();
            None
        }
    }) else {
        // This tab's own peer is not registered yet (or the network is down): try again soon.
        let mut c = channel.borrow_mut();
        c.last_error = Some(DialProblem::SelfOffline);
        c.link.handle_input(Input::NotReady, random::now_ms());
        return;
    };
    let generation = {
        let mut c = channel.borrow_mut();
        c.generation += 1;
        c.conn = Some(conn.clone());
        c.generation
    };
    let weak = Rc::downgrade(channel);
    spawn_local(async move {
        while let Some(event) = events.next().await {
            let Some(channel) = weak.upgrade() else {
                conn.close();
                return;
            };
            if channel.borrow().generation != generation {
                return; // this connection was closed or replaced
            }
            let closed = event == ConnectionEvent::Close;
            on_event(&channel, event);
            if closed {
                return;
            }
        }
    });
}

fn on_event(channel: &ChannelRef, event: ConnectionEvent) {
    match event {
        ConnectionEvent::Open => {
            // PROTOCOL.md §2.7: with the DTLS fingerprints, the link asks the hub to bind.
            let fingerprints: Option<ChannelFingerprints> = (channel.borrow().conn.as_ref())
                .and_then(DataConnection::dtls_fingerprints)
                .map(Into::into);
            let input = fingerprints
                .as_ref()
                .map_or(Input::Opened, Input::OpenedWith);
            run(channel, |link, now| link.handle_input(input, now));
        }
        ConnectionEvent::Data(Data::Packed(Value::Str(text))) => {
            run(channel, |link, now| {
                link.handle_input(Input::Frame(&text), now)
            });
        }
        ConnectionEvent::Data(_) => {
            gloo::console::warn!("dropped a non-string message from the owner");
        }
        ConnectionEvent::Error(e) => {
            gloo::console::warn!(format!("the connection to the owner: {e}"));
            let why = DialProblem::from_error(&e);
            let listeners: Vec<Callback<OwnerList>> = {
                let mut c = channel.borrow_mut();
                c.last_error = Some(why.clone());
                c.lists.iter().map(|(_, cb)| cb.clone()).collect()
            };
            for listener in listeners {
                listener.emit(OwnerList::Unreachable(why.clone()));
            }
            notify_all(channel);
        }
        ConnectionEvent::Close => {
            channel.borrow_mut().conn = None;
            let random = random::bytes::<4>()
                .map(u32::from_le_bytes)
                .unwrap_or(u32::MAX);
            run(channel, |link, now| {
                link.handle_input(Input::Closed { random }, now);
            });
        }
    }
}

/// Arms the timer for the link's next deadline, unless one at least as early is armed (a timer
/// that fires before the link needs it does nothing and re-arms).
fn arm(channel: &ChannelRef) {
    let mut c = channel.borrow_mut();
    let Some(at) = c.link.poll_timeout() else {
        c.timer = None;
        c.timer_at = None;
        return;
    };
    if c.timer_at.is_some_and(|armed| armed <= at) {
        return;
    }
    let delay = at.saturating_sub(random::now_ms());
    let weak = Rc::downgrade(channel);
    c.timer = Some(Timeout::new(
        u32::try_from(delay).unwrap_or(u32::MAX),
        move || {
            if let Some(channel) = weak.upgrade() {
                {
                    let mut c = channel.borrow_mut();
                    c.timer = None;
                    c.timer_at = None;
                }
                let random = random::bytes::<4>()
                    .map(u32::from_le_bytes)
                    .unwrap_or(u32::MAX);
                run(&channel, |link, now| link.handle_timeout(now, random));
            }
        },
    ));
    c.timer_at = Some(at);
}

fn notify_all(channel: &ChannelRef) {
    let handles: Vec<FollowHandle> = channel
        .borrow()
        .polls
        .values()
        .filter_map(|weak| weak.upgrade().map(FollowHandle))
        .collect();
    for handle in handles {
        handle.notify();
    }
}

struct Inner {
    poll: PollId,
    channel: ChannelRef,
    repo: Rc<Repository>,
    /// The name the user chose (the owner is told until it holds it).
    name: String,
    saved_at: Option<u64>,
    refusal: Option<String>,
    on_change: Callback<Rc<FollowSnapshot>>,
    /// Answered commands whose outbox records are not deleted yet.
    answered: Vec<CommandId>,
    /// A deletion of answered commands' records is under way.
    deleting: bool,
    /// The view changed since the last save started: save it after the next snapshot.
    view_unsaved: bool,
    /// A save of the view is under way.
    view_saving: bool,
    /// Stopped: nothing is written any more (the poll may be left).
    stopped: bool,
    /// Tells the page (one snapshot for every change made before it fires).
    notify_timer: Option<Timeout>,
    /// The hub's last error outside a command.
    hub_error: Option<String>,
    /// The snapshot file the hub sent last.
    snapshot_file: Option<Rc<str>>,
    /// `notify_timer` is the fallback of a submitted command, not a 0 ms timer.
    notify_delayed: bool,
}

/// What [`FollowHandle::start`] needs.
pub struct FollowStart {
    /// This browser's identity.
    pub me: Identity,
    /// The poll's owner.
    pub owner: PeerId,
    /// The poll.
    pub poll: PollId,
    /// The name to join with (or to rename to, if the owner knows another).
    pub display_name: String,
    /// This tab's peer.
    pub network: NetworkHandle,
    /// Storage.
    pub repo: Rc<Repository>,
    /// Hears every snapshot of the poll.
    pub on_change: Callback<Rc<FollowSnapshot>>,
    /// The hub an invite link names (`?via=`): dialed instead of the owner until a newer
    /// delegation says otherwise. Ignored when a delegation was saved with the view.
    pub via: Option<PeerId>,
}

/// One followed poll (cheap to clone).
#[derive(Clone)]
pub struct FollowHandle(Rc<RefCell<Inner>>);

impl FollowHandle {
    /// Starts following a poll: loads the saved view, joins if not a member yet, and follows it
    /// over the owner's shared connection (made if none is alive in `follows`).
    pub async fn start(start: FollowStart, follows: &Follows) -> Result<Self, AppError> {
        let FollowStart {
            me,
            owner,
            poll,
            display_name,
            network,
            repo,
            on_change,
            via,
        } = start;
        let saved = repo.joined(&owner, poll).await?;
        let saved_at = saved.as_ref().map(|j| j.saved_at);
        let (cached, delegation) = saved.map_or((None, None), |j| (j.view, j.delegation));
        let mut follower = Follower::new(me.clone(), owner.clone(), poll, cached);
        // A reload dials the hub serving the poll directly (the saved delegation), else the
        // hub the invite link names, else the owner.
        let restored = delegation.is_some_and(|d| match follower.restore_delegation(d) {
            Ok(()) => true,
            Err(e) => {
                gloo::console::warn!(format!("ignored a saved delegation: {e}"));
                false
            }
        });
        if let Some(via) = via.filter(|_| !restored) {
            follower.set_hub(via);
        }
        let stored = repo.outbox(poll).await?;
        if let Err(e) = follower.restore(&stored) {
            // Only a record too large to seal fails; it could never be sent anyway.
            gloo::console::error!(format!("could not restore a stored command: {e}"));
        }
        // Join if not a member yet, rename if the owner holds another name; nothing if a join
        // or rename is already pending (the core decides: `Follower::name_command`). Only for a
        // poll loaded before: a new one is joined once its first view arrives (`tell_name`).
        let loaded = follower.view().is_some();
        if let Some(command) = follower.name_command(&display_name).filter(|_| loaded) {
            let id = random::command_id()?;
            match follower.stage(id, command) {
                Ok(Some(record)) => {
                    repo.save_outbox(&record, &[]).await?;
                    follower.saved(id, random::now_ms());
                }
                Ok(None) => {}
                Err(e) => gloo::console::error!(format!("could not prepare the join: {e}")),
            }
        }
        let channel = follows.channel(&me, follower.hub(), &network);
        let handle = Self(Rc::new(RefCell::new(Inner {
            poll,
            channel: channel.clone(),
            repo,
            name: display_name,
            saved_at,
            refusal: None,
            on_change,
            answered: Vec::new(),
            deleting: false,
            view_unsaved: false,
            view_saving: false,
            stopped: false,
            notify_timer: None,
            hub_error: None,
            snapshot_file: None,
            notify_delayed: false,
        })));
        channel
            .borrow_mut()
            .polls
            .insert(poll, Rc::downgrade(&handle.0));
        run(&channel, |link, now| link.follow(follower, now));
        handle.notify();
        Ok(handle)
    }

    /// Stops following: the poll leaves the owner's connection (which closes if no other poll
    /// or page needs it). Answered commands' records are deleted now; a view save not started
    /// yet is dropped (nothing is written after this).
    fn stop(&self) {
        self.delete_answered();
        let (channel, poll) = {
            let mut inner = self.0.borrow_mut();
            inner.stopped = true;
            inner.notify_timer = None;
            (inner.channel.clone(), inner.poll)
        };
        channel.borrow_mut().polls.remove(&poll);
        run(&channel, |link, _| {
            link.unfollow(&poll);
        });
    }

    /// What the page shows (`None` once stopped).
    fn snapshot(&self) -> Option<Rc<FollowSnapshot>> {
        let inner = self.0.borrow();
        let channel = inner.channel.borrow();
        let link = &channel.link;
        let f = link.follower(&inner.poll)?;
        let sync = match (f.link(), link.state()) {
            (Link::Verified, _) => SyncState::Connected,
            (_, LinkState::Connecting) if !f.is_gone() => SyncState::Connecting,
            _ => SyncState::Offline,
        };
        let snapshot = FollowSnapshot {
            owner: f.owner().clone(),
            poll_id: f.poll_id(),
            view: f.optimistic_view().map(Rc::new),
            view_saved_at: inner.saved_at,
            peers: f.peers().to_vec(),
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
            refusal: inner.refusal.clone(),
            impostor: f.impostor().map(str::to_owned),
            last_error: channel.last_error.clone(),
            gone: f.is_gone(),
            gone_reason: f.gone_reason(),
            hub: f.serving_hub().clone(),
            hub_error: inner.hub_error.clone(),
            snapshot_file: inner.snapshot_file.clone(),
        };
        Some(Rc::new(snapshot))
    }

    /// A command of this participant: pending at once, stored in the outbox (in the same
    /// transaction as the deletion of answered commands' records), then sent as soon as the
    /// owner is reachable. The page shows it pending once the write is done (so drawing it does
    /// not hold up the write and the send), or after [`PENDING_SHOW_MS`] should the write take
    /// longer. `Err` only when no command id could be made.
    pub fn submit(&self, command: Command) -> Result<(), AppError> {
        let id = random::command_id()?;
        let staged = {
            let mut inner = self.0.borrow_mut();
            inner.refusal = None;
            let poll = inner.poll;
            let staged = inner.channel.borrow_mut().link.stage(&poll, id, command);
            match staged {
                Ok(Some(record)) => {
                    let answered = std::mem::take(&mut inner.answered);
                    Some((record, answered, inner.repo.clone()))
                }
                Ok(None) => None,
                Err(e) => {
                    gloo::console::warn!(format!("could not queue the command: {e}"));
                    inner.refusal = Some(crate::messages::cannot_queue(&e));
                    None
                }
            }
        };
        let Some((record, answered, repo)) = staged else {
            self.notify();
            return Ok(());
        };
        self.notify_later(PENDING_SHOW_MS);
        let weak = Rc::downgrade(&self.0);
        spawn_local(async move {
            let saved = repo.save_outbox(&record, &answered).await;
            if let Some(handle) = upgrade(&weak) {
                handle.stored(id, saved, answered);
            }
        });
        Ok(())
    }

    /// The outbox write of a staged command (and of the deletion of `answered` records)
    /// finished: send it (and whatever waited behind it), or drop it and say why.
    fn stored(
        &self,
        id: CommandId,
        saved: Result<(), crate::error::StorageError>,
        answered: Vec<CommandId>,
    ) {
        if saved.is_err() && !answered.is_empty() {
            // Nothing of that transaction happened: delete these records later.
            self.forget(answered);
        }
        let (channel, poll) = {
            let inner = self.0.borrow();
            (inner.channel.clone(), inner.poll)
        };
        match saved {
            Ok(()) => run(&channel, |link, now| link.saved(&poll, id, now)),
            Err(e) => {
                gloo::console::error!(format!("could not store a command: {e}"));
                self.0.borrow_mut().refusal = Some(crate::messages::not_stored());
                run(&channel, |link, now| link.discard(&poll, id, now));
            }
        }
        // At once (the page renders in this task's microtasks): the pending command is drawn before
        // any answer to it can arrive.
        self.notify_now();
    }

    /// The user's display name is now `name`: the owner is told (now, or once a join or rename
    /// still pending is answered) until it holds it.
    pub fn announce_name(&self, name: &str) {
        self.0.borrow_mut().name = name.to_owned();
        self.tell_name();
    }

    /// Queues the join or rename the core says the owner needs, if any.
    fn tell_name(&self) {
        let command = {
            let inner = self.0.borrow();
            if inner.stopped {
                return;
            }
            let channel = inner.channel.borrow();
            // Join only a poll that loaded: a link to no poll leaves no pending join behind.
            channel
                .link
                .follower(&inner.poll)
                .filter(|f| f.view().is_some())
                .and_then(|f| f.name_command(&inner.name))
        };
        if let Some(command) = command {
            if let Err(e) = self.submit(command) {
                gloo::console::warn!(format!("could not queue the name: {e}"));
            }
        }
    }

    /// Dials the owner now, without waiting for the scheduled attempt.
    pub fn dial(&self) {
        let channel = self.0.borrow().channel.clone();
        run(&channel, |link, _| link.dial_now());
    }

    /// The owner asks the hub serving this poll to move it under `delegation` (signed with
    /// [`starpoll_core::hub::Hub::sign_move`]); the outcome shows as a redirect or a hub error.
    pub fn request_move(&self, delegation: &SignedDelegation) -> Result<(), String> {
        let (channel, poll) = {
            let mut inner = self.0.borrow_mut();
            inner.hub_error = None;
            (inner.channel.clone(), inner.poll)
        };
        let sent = channel
            .borrow_mut()
            .link
            .request_move(&poll, delegation, random::now_ms());
        drain(&channel);
        sent.map_err(|e| e.to_string())
    }

    /// Asks the hub serving this poll for its signed snapshot file (the owner's export of a
    /// moved poll); it shows in the next snapshot (`snapshot_file`).
    pub fn request_snapshot(&self) -> Result<(), String> {
        let (channel, poll) = {
            let mut inner = self.0.borrow_mut();
            inner.snapshot_file = None;
            (inner.channel.clone(), inner.poll)
        };
        let sent = channel
            .borrow_mut()
            .link
            .request_snapshot(&poll, random::now_ms());
        drain(&channel);
        sent.map_err(|e| e.to_string())
    }

    /// What the link reported about this poll.
    fn on_notice(&self, notice: Notice) {
        let mut answered = Vec::new();
        match notice {
            Notice::ViewChanged => {
                self.save_view();
                // The first view of a new poll: now join it.
                self.tell_name();
            }
            Notice::Acked { command_id, .. } => answered.push(command_id),
            Notice::Refused {
                command_id,
                command,
                code,
                message,
            } => {
                gloo::console::warn!(format!("the owner refused: {message}"));
                answered.push(command_id);
                self.0.borrow_mut().refusal = Some(starpoll_core::explain::refused(code, &command));
            }
            Notice::OwnerError { message, .. } => {
                gloo::console::warn!(format!("the owner says: {message}"));
                self.0.borrow_mut().hub_error = Some(message);
            }
            Notice::Gone { dropped, message } => {
                gloo::console::warn!(format!("the poll is gone: {message}"));
                answered.extend(dropped);
            }
            Notice::PeersChanged => {}
            // A newer delegation: saved with the view.
            Notice::Delegated => self.save_view(),
            Notice::Snapshot { file } => self.0.borrow_mut().snapshot_file = Some(file.into()),
            // The owner link hands the follower over (`Output::Moved`, see `rehome`).
            Notice::Moved { .. } => {}
        }
        if !answered.is_empty() {
            self.forget(answered);
            // A join or rename answered: the owner may need the latest name now.
            self.tell_name();
        }
    }

    /// Marks answered commands' outbox records for deletion: right after the next snapshot, or
    /// with the next command's write if that comes first. Until then (and should a deletion
    /// fail) a reload restores and resends them, and the owner answers them from its records.
    fn forget(&self, answered: Vec<CommandId>) {
        self.0.borrow_mut().answered.extend(answered);
        self.notify();
    }

    /// Deletes the records of every answered command in one transaction, unless a deletion is
    /// under way (then once it ended).
    fn delete_answered(&self) {
        let (repo, poll, answered) = {
            let mut inner = self.0.borrow_mut();
            if inner.deleting || inner.answered.is_empty() {
                return;
            }
            inner.deleting = true;
            let answered = std::mem::take(&mut inner.answered);
            (inner.repo.clone(), inner.poll, answered)
        };
        let weak = Rc::downgrade(&self.0);
        spawn_local(async move {
            if let Err(e) = repo.delete_outbox(poll, &answered).await {
                gloo::console::warn!(format!("could not delete answered commands: {e}"));
            }
            if let Some(handle) = upgrade(&weak) {
                handle.0.borrow_mut().deleting = false;
                handle.delete_answered();
            }
        });
    }

    /// A verified view arrived: it is saved right after the page got its snapshot (the page
    /// updates first), or, while a save is under way, once that one ended (latest view wins).
    fn save_view(&self) {
        {
            let mut inner = self.0.borrow_mut();
            inner.saved_at = Some(random::now_ms());
            inner.view_unsaved = true;
        }
        self.notify();
    }

    /// Writes the current verified view if it changed since the last save started and no save
    /// is under way; once written, looks again.
    fn write_view(&self) {
        let (repo, joined) = {
            let mut inner = self.0.borrow_mut();
            if inner.stopped || inner.view_saving || !inner.view_unsaved {
                return;
            }
            let joined = {
                let channel = inner.channel.borrow();
                // Only a loaded poll is remembered (and listed on the dashboard).
                let Some(f) = channel
                    .link
                    .follower(&inner.poll)
                    .filter(|f| f.view().is_some())
                else {
                    return;
                };
                JoinedPoll {
                    owner: f.owner().clone(),
                    poll_id: f.poll_id(),
                    view: f.view().cloned(),
                    saved_at: inner.saved_at.unwrap_or_else(random::now_ms),
                    delegation: f.delegation().cloned(),
                }
            };
            inner.view_unsaved = false;
            inner.view_saving = true;
            (inner.repo.clone(), joined)
        };
        let weak = Rc::downgrade(&self.0);
        spawn_local(async move {
            if let Err(e) = repo.save_joined(&joined).await {
                gloo::console::error!(format!("could not save the poll view: {e}"));
            }
            if let Some(handle) = upgrade(&weak) {
                handle.0.borrow_mut().view_saving = false;
                handle.write_view();
            }
        });
    }

    /// Tells the page about the change, in a task after this one: frames that are already
    /// waiting (an event and its ack, or a burst of acks) are handled first, and the page gets one
    /// snapshot (one render) for all of them instead of one each.
    /// A changed view is saved right after the snapshot went out.
    fn notify(&self) {
        let delayed = {
            let inner = self.0.borrow();
            !inner.stopped && (inner.notify_timer.is_none() || inner.notify_delayed)
        };
        if delayed {
            self.schedule_notify(0);
        }
    }

    /// Tells the page now (and drops a scheduled snapshot).
    fn notify_now(&self) {
        self.0.borrow_mut().notify_timer = None;
        let Some(snapshot) = self.snapshot() else {
            return;
        };
        let on_change = self.0.borrow().on_change.clone();
        on_change.emit(snapshot);
        self.write_view();
        self.delete_answered();
    }

    /// Tells the page in `delay_ms` at the latest (sooner if [`Self::notify`] is called).
    fn notify_later(&self, delay_ms: u32) {
        if self.0.borrow().notify_timer.is_none() {
            self.schedule_notify(delay_ms);
        }
    }

    fn schedule_notify(&self, delay_ms: u32) {
        let weak = Rc::downgrade(&self.0);
        let timer = Timeout::new(delay_ms, move || {
            if let Some(handle) = upgrade(&weak) {
                handle.notify_now();
            }
        });
        let mut inner = self.0.borrow_mut();
        inner.notify_timer = Some(timer);
        inner.notify_delayed = delay_ms > 0;
    }
}

fn upgrade(weak: &Weak<RefCell<Inner>>) -> Option<FollowHandle> {
    weak.upgrade().map(FollowHandle)
}

/// A page's interest in an owner's poll list ([`Follows::list`]); dropping it ends the interest
/// (and the connection, if nothing else of that owner needs it).
pub struct ListWatch {
    channel: ChannelRef,
    id: u64,
}

impl Drop for ListWatch {
    fn drop(&mut self) {
        let none_left = {
            let mut c = self.channel.borrow_mut();
            c.lists.retain(|(id, _)| *id != self.id);
            c.lists.is_empty()
        };
        if none_left {
            run(&self.channel, |link, _| link.drop_list());
        }
    }
}

#[derive(Default)]
struct Registry {
    polls: BTreeMap<FollowKey, FollowHandle>,
    channels: BTreeMap<PeerId, Weak<RefCell<Channel>>>,
}

/// The app's followed polls, by owner and poll ID (one follower per poll for the app's
/// lifetime), and the one connection per owner they share.
#[derive(Clone, Default)]
pub struct Follows(Rc<RefCell<Registry>>);

impl PartialEq for Follows {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Follows {
    /// The follower of `poll`, if started.
    pub fn get(&self, poll: &FollowKey) -> Option<FollowHandle> {
        self.0.borrow().polls.get(poll).cloned()
    }

    /// Records a started follower.
    pub fn insert(&self, poll: FollowKey, handle: FollowHandle) {
        self.0.borrow_mut().polls.insert(poll, handle);
    }

    /// Stops and forgets the follower of `poll` (leaving it).
    pub fn remove(&self, poll: &FollowKey) {
        let stopped = self.0.borrow_mut().polls.remove(poll);
        if let Some(handle) = stopped {
            handle.stop();
        }
    }

    /// Stops every follower (this tab lost the identity to another one, which takes over the
    /// outboxes from IndexedDB).
    pub fn clear(&self) {
        let stopped = std::mem::take(&mut self.0.borrow_mut().polls);
        for handle in stopped.values() {
            handle.stop();
        }
    }

    /// The user's display name changed: every followed poll tells its owner (see
    /// [`FollowHandle::announce_name`]).
    pub fn announce_name(&self, name: &str) {
        let handles: Vec<FollowHandle> = self.0.borrow().polls.values().cloned().collect();
        for handle in handles {
            handle.announce_name(name);
        }
    }

    /// Asks `owner` for its poll list over the shared connection; `on_list` hears the answer,
    /// failures to reach the owner (it keeps trying), and an impostor. Lasts as long as the
    /// returned watch.
    pub fn list(
        &self,
        me: &Identity,
        owner: &PeerId,
        network: &NetworkHandle,
        on_list: Callback<OwnerList>,
    ) -> ListWatch {
        let channel = self.channel(me, owner, network);
        let id = {
            let mut c = channel.borrow_mut();
            c.next_list += 1;
            let id = c.next_list;
            c.lists.push((id, on_list));
            id
        };
        run(&channel, |link, now| link.want_list(now));
        ListWatch { channel, id }
    }

    /// The connection to `owner`, made if none is alive.
    fn channel(&self, me: &Identity, owner: &PeerId, network: &NetworkHandle) -> ChannelRef {
        let registry_weak = Rc::downgrade(&self.0);
        let mut registry = self.0.borrow_mut();
        if let Some(channel) = registry.channels.get(owner).and_then(Weak::upgrade) {
            return channel;
        }
        let channel = Rc::new(RefCell::new(Channel {
            me: me.clone(),
            registry: registry_weak,
            link: OwnerLink::new(me.clone(), owner.clone()),
            network: network.clone(),
            conn: None,
            generation: 0,
            timer: None,
            timer_at: None,
            last_error: None,
            polls: BTreeMap::new(),
            lists: Vec::new(),
            next_list: 0,
        }));
        registry.channels.retain(|_, weak| weak.strong_count() > 0);
        registry
            .channels
            .insert(owner.clone(), Rc::downgrade(&channel));
        channel
    }
}
