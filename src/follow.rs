//! The participant runtime: runs the core's [`Follower`] for one poll against the real world —
//! a data connection to the owner's peer ID, IndexedDB, timers.
//!
//! The loop: dial the owner; on open send what the follower says (`sync:request`); feed every
//! string frame to the follower and send its reaction; on close, dial again when the core's
//! [`Redial`] says (full-jitter backoff, 0.5 s doubling to 30 s, reset once a link is verified).
//! Every verified view is saved (`joined` store), so the poll shows at once next time (and the
//! next start knows whether this browser is a member already): right after the page got the
//! snapshot that shows it, and views that arrive while a save is under way are saved together
//! once it ends (the latest wins), so a burst of events costs a few writes, not one each. A frame
//! not signed by the owner's key marks the link as an impostor: the connection is closed and
//! the page says so.
//!
//! Commands go through the IndexedDB outbox (`outbox` store): [`FollowHandle::submit`] stages
//! the command in the follower (pending at once; the page shows it once the write is done, or
//! after [`PENDING_SHOW_MS`]), writes its record, and only once the write committed lets the
//! follower send it. An answer from the owner deletes the record right after the page got the
//! snapshot that shows it, one deletion at a time: answers that arrive meanwhile are deleted
//! together once it ends, or with the next command's write (one transaction). A record still
//! stored after its answer (a reload came first) is restored and resent, and the owner answers it
//! again from its record, so this loses and duplicates nothing. On start the stored records are
//! restored, so a reload loses nothing. A one-second tick sends
//! heartbeats, drops a silent owner and resends commands whose answer is overdue.
//!
//! When the owner says the poll is gone (it deleted it: `unknown-poll`), the follower's
//! [`Notice::Gone`] lists the dropped commands: their outbox records are deleted, the connection
//! is closed and never dialed again, and the snapshot says `gone`.
//!
//! The page gets a snapshot in a task after the change (`notify`), so frames that arrive
//! together (an event and its ack, a burst of acks) cost one snapshot and one render.
//!
//! Followers live as long as the app (a [`Follows`] registry), not as long as a page, so
//! commands keep flowing while the user looks elsewhere. They run only in the tab that holds
//! the identity lock (the app starts them there and clears them when the lock is lost), so two
//! tabs never send the same outbox.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use futures_util::StreamExt;
use gloo::timers::callback::{Interval, Timeout};
use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::web::{ConnectionEvent, DataConnection};
use starpoll_core::follower::{FollowError, Follower, Link, Notice};
use starpoll_core::outbox::Redial;
use starpoll_core::poll::{Command, CommandId, PollId, PollView};
use starpoll_core::protocol::PeerInfo;
use starpoll_core::{Identity, PeerId};
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use crate::error::AppError;
use crate::network::NetworkHandle;
use crate::random;
use crate::storage::{JoinedPoll, Repository};

/// How often to retry while this tab's own peer is not registered yet.
const PEER_WAIT_MS: u32 = 250;
/// How often the follower's timers are checked (resends, heartbeats, silence).
const TICK_MS: u32 = 1_000;
/// Heartbeat after this much sending silence, and drop an owner silent this long (§4.9).
const HEARTBEAT_MS: u64 = 5_000;
const SILENCE_MS: u64 = 15_000;
/// A submitted command is shown pending after this long at the latest, if its outbox write has
/// not finished by then (it normally has, and the page shows it right after).
pub const PENDING_SHOW_MS: u32 = 50;
/// A snapshot carries this many pending commands (a page lists no more); a thousand queued votes
/// then cost a short copy per snapshot, not a thousand.
pub const PENDING_SHOWN: usize = 10;

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
    pub last_error: Option<String>,
    /// The owner deleted the poll: nothing is sent or dialed any more (final).
    pub gone: bool,
}

struct Inner {
    follower: Follower,
    network: NetworkHandle,
    repo: Rc<Repository>,
    conn: Option<DataConnection>,
    redial: Redial,
    retry: Option<Timeout>,
    tick: Option<Interval>,
    last_heard: u64,
    last_sent: u64,
    saved_at: Option<u64>,
    refusal: Option<String>,
    last_error: Option<String>,
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
    /// `notify_timer` is the fallback of a submitted command, not a 0 ms timer.
    notify_delayed: bool,
}

/// One followed poll (cheap to clone).
#[derive(Clone)]
pub struct FollowHandle(Rc<RefCell<Inner>>);

impl FollowHandle {
    /// Starts following `poll` of `owner`: loads the saved view, joins if not a member yet
    /// (as `display_name`), and dials.
    pub async fn start(
        me: Identity,
        owner: PeerId,
        poll: PollId,
        display_name: String,
        network: NetworkHandle,
        repo: Rc<Repository>,
        on_change: Callback<Rc<FollowSnapshot>>,
    ) -> Result<Self, AppError> {
        let saved = repo.joined(poll).await?.filter(|j| j.owner == owner);
        let saved_at = saved.as_ref().map(|j| j.saved_at);
        let cached = saved.and_then(|j| j.view);
        let known_name = cached
            .as_ref()
            .and_then(|v| v.members.get(me.peer_id()))
            .map(|m| m.display_name.clone());
        let mut follower = Follower::new(me, owner.clone(), poll, cached);
        let stored = repo.outbox(poll).await?;
        if let Err(e) = follower.restore(&stored) {
            // Only a record too large to seal fails; it could never be sent anyway.
            gloo::console::error!(format!("could not restore a stored command: {e}"));
        }
        // Join if not a member yet (and no join is pending); rename if the name changed since
        // the last visit.
        let joining = follower
            .pending()
            .any(|(_, c)| matches!(c, Command::Join { .. }));
        let command = match known_name {
            None if !joining => Some(Command::Join { display_name }),
            Some(known) if known != display_name => Some(Command::UpdateProfile { display_name }),
            _ => None,
        };
        if let Some(command) = command {
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
        // Remember the poll at once, so the dashboard lists it even before the owner answers.
        repo.save_joined(&JoinedPoll {
            owner: owner.clone(),
            poll_id: poll,
            view: follower.view().cloned(),
            saved_at: saved_at.unwrap_or_else(random::now_ms),
        })
        .await?;
        let handle = Self(Rc::new(RefCell::new(Inner {
            follower,
            network,
            repo,
            conn: None,
            redial: Redial::new(),
            retry: None,
            tick: None,
            last_heard: 0,
            last_sent: 0,
            saved_at,
            refusal: None,
            last_error: None,
            on_change,
            answered: Vec::new(),
            deleting: false,
            view_unsaved: false,
            view_saving: false,
            stopped: false,
            notify_timer: None,
            notify_delayed: false,
        })));
        let weak = Rc::downgrade(&handle.0);
        let tick = Interval::new(TICK_MS, move || {
            if let Some(handle) = upgrade(&weak) {
                handle.tick();
            }
        });
        handle.0.borrow_mut().tick = Some(tick);
        handle.notify();
        handle.dial();
        Ok(handle)
    }

    /// Stops dialing and ticking and closes the connection. Answered commands' records are
    /// deleted now; a view save not started yet is dropped (nothing is written after this).
    fn stop(&self) {
        self.delete_answered();
        let conn = {
            let mut inner = self.0.borrow_mut();
            inner.stopped = true;
            inner.retry = None;
            inner.tick = None;
            inner.conn.take()
        };
        if let Some(conn) = conn {
            conn.close();
        }
    }

    /// What the page shows.
    pub fn snapshot(&self) -> Rc<FollowSnapshot> {
        let inner = self.0.borrow();
        let f = &inner.follower;
        let sync = match (f.link(), inner.conn.is_some()) {
            (Link::Verified, _) => SyncState::Connected,
            (Link::Unverified, _) | (Link::Down, true) => SyncState::Connecting,
            (Link::Down | Link::Impostor, _) => SyncState::Offline,
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
            next_attempt_at: inner.redial.next_at(),
            refusal: inner.refusal.clone(),
            impostor: f.impostor().map(str::to_owned),
            last_error: inner.last_error.clone(),
            gone: f.is_gone(),
        };
        Rc::new(snapshot)
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
            match inner.follower.stage(id, command) {
                Ok(Some(record)) => {
                    let answered = std::mem::take(&mut inner.answered);
                    Some((record, answered, inner.repo.clone()))
                }
                Ok(None) => None,
                Err(e) => {
                    inner.refusal = Some(e.to_string());
                    None
                }
            }
        };
        let Some((record, answered, repo)) = staged else {
            self.notify();
            return Ok(());
        };
        self.notify_later(PENDING_SHOW_MS);
        {
            let weak = Rc::downgrade(&self.0);
            spawn_local(async move {
                let saved = repo.save_outbox(&record, &answered).await;
                if let Some(handle) = upgrade(&weak) {
                    handle.stored(id, saved, answered);
                }
            });
        }
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
        let frames = {
            let mut inner = self.0.borrow_mut();
            let now = random::now_ms();
            match saved {
                Ok(()) => inner.follower.saved(id, now),
                Err(e) => {
                    inner.refusal = Some(format!(
                        "your change could not be saved, so it was not sent: {e}"
                    ));
                    inner.follower.discard(id, now)
                }
            }
        };
        self.send(frames);
        // At once (the page renders in this task's microtasks): the pending command is drawn before
        // any answer to it can arrive.
        self.notify_now();
    }

    /// Dials the owner now (also cancels a scheduled attempt).
    pub fn dial(&self) {
        let network = {
            let mut inner = self.0.borrow_mut();
            inner.retry = None;
            if inner.conn.is_some() || inner.follower.is_gone() {
                return;
            }
            inner.redial.dialing();
            inner.network.clone()
        };
        let owner = self.0.borrow().follower.owner().clone();
        let Some(conn) = network.connect(&owner) else {
            // This tab's own peer is not registered yet (or the network is down): wait a bit.
            self.schedule(PEER_WAIT_MS);
            return;
        };
        let Some(mut events) = conn.events() else {
            conn.close();
            self.schedule(PEER_WAIT_MS);
            return;
        };
        self.0.borrow_mut().conn = Some(conn.clone());
        self.notify();
        let weak = Rc::downgrade(&self.0);
        spawn_local(async move {
            while let Some(event) = events.next().await {
                let Some(handle) = upgrade(&weak) else {
                    conn.close();
                    return;
                };
                let closed = event == ConnectionEvent::Close;
                handle.on_event(&conn, event);
                if closed {
                    return;
                }
            }
        });
    }

    fn on_event(&self, conn: &DataConnection, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Open => {
                let frames = {
                    let mut inner = self.0.borrow_mut();
                    let now = random::now_ms();
                    inner.last_heard = now;
                    inner.last_sent = now;
                    inner.follower.connected()
                };
                match frames {
                    Ok(frames) => self.send(frames),
                    Err(e) => gloo::console::error!(format!("could not start the sync: {e}")),
                }
            }
            ConnectionEvent::Data(Data::Packed(Value::Str(text))) => self.on_frame(conn, &text),
            ConnectionEvent::Data(_) => {
                gloo::console::warn!("dropped a non-string message from the owner");
            }
            ConnectionEvent::Error(e) => {
                self.0.borrow_mut().last_error = Some(e.to_string());
            }
            ConnectionEvent::Close => {
                let delay = {
                    let mut inner = self.0.borrow_mut();
                    inner.follower.disconnected();
                    inner.conn = None;
                    if inner.follower.is_gone() {
                        drop(inner);
                        self.notify();
                        return;
                    }
                    let random = random::bytes::<4>()
                        .map(u32::from_le_bytes)
                        .unwrap_or(u32::MAX);
                    inner.redial.failed(random::now_ms(), random)
                };
                self.schedule(u32::try_from(delay).unwrap_or(u32::MAX));
            }
        }
        self.notify();
    }

    fn on_frame(&self, conn: &DataConnection, text: &str) {
        let result = {
            let mut inner = self.0.borrow_mut();
            let now = random::now_ms();
            inner.last_heard = now;
            inner.follower.receive(text, now)
        };
        let reaction = match result {
            Ok(reaction) => reaction,
            Err(FollowError::Impostor(e)) => {
                gloo::console::error!(format!("impostor at the owner's ID: {e}"));
                conn.close();
                return;
            }
            Err(e) => {
                gloo::console::warn!(e.to_string());
                return;
            }
        };
        self.send(reaction.send);
        let mut save = false;
        let mut gone = false;
        let mut answered = Vec::new();
        {
            let mut inner = self.0.borrow_mut();
            for notice in reaction.notices {
                match notice {
                    Notice::ViewChanged => save = true,
                    Notice::Acked { command_id, .. } => answered.push(command_id),
                    Notice::Refused {
                        command_id,
                        message,
                        ..
                    } => {
                        answered.push(command_id);
                        inner.refusal = Some(message);
                    }
                    Notice::OwnerError { message, .. } => {
                        gloo::console::warn!(format!("the owner says: {message}"));
                    }
                    Notice::Gone { dropped, message } => {
                        gloo::console::warn!(format!("the poll is gone: {message}"));
                        answered.extend(dropped);
                        inner.retry = None;
                        gone = true;
                    }
                    Notice::PeersChanged => {}
                }
            }
            if inner.follower.is_verified() {
                inner.redial.verified();
                inner.last_error = None;
            }
        }
        if save {
            self.save_view();
        }
        if !answered.is_empty() {
            self.forget(answered);
        }
        if gone {
            // Nothing more to say to the owner about this poll; `dial` will not reconnect.
            conn.close();
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
            (inner.repo.clone(), inner.follower.poll_id(), answered)
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
            inner.view_unsaved = false;
            inner.view_saving = true;
            let f = &inner.follower;
            let joined = JoinedPoll {
                owner: f.owner().clone(),
                poll_id: f.poll_id(),
                view: f.view().cloned(),
                saved_at: inner.saved_at.unwrap_or_else(random::now_ms),
            };
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

    /// Once a second: drop an owner silent for too long, resend overdue commands, and send a
    /// heartbeat on a link this side has been quiet on.
    fn tick(&self) {
        let now = random::now_ms();
        let (conn, mut frames) = {
            let mut inner = self.0.borrow_mut();
            let Some(conn) = inner.conn.clone() else {
                return;
            };
            if inner.follower.is_gone() {
                // A connection that opened after the poll went away: nothing to say on it.
                drop(inner);
                conn.close();
                return;
            }
            if inner.follower.link() != Link::Down
                && now.saturating_sub(inner.last_heard) >= SILENCE_MS
            {
                drop(inner);
                gloo::console::warn!("the owner went silent; reconnecting");
                conn.close();
                return;
            }
            let frames = inner.follower.tick(now);
            (conn, frames)
        };
        let quiet = now.saturating_sub(self.0.borrow().last_sent) >= HEARTBEAT_MS;
        if frames.is_empty() && quiet && conn.is_open() {
            if let Ok(frame) = self.0.borrow().follower.heartbeat() {
                frames.push(frame);
            }
        }
        self.send(frames);
    }

    fn send(&self, frames: Vec<String>) {
        if frames.is_empty() {
            return;
        }
        let conn = {
            let mut inner = self.0.borrow_mut();
            inner.last_sent = random::now_ms();
            inner.conn.clone()
        };
        let Some(conn) = conn else {
            return;
        };
        for frame in frames {
            if let Err(e) = conn.send(&Data::Text(frame)) {
                gloo::console::warn!(format!("send to the owner: {e}"));
            }
        }
    }

    fn schedule(&self, delay_ms: u32) {
        let weak = Rc::downgrade(&self.0);
        let timeout = Timeout::new(delay_ms, move || {
            if let Some(handle) = upgrade(&weak) {
                handle.dial();
            }
        });
        self.0.borrow_mut().retry = Some(timeout);
    }

    /// Tells the page about the change, in a task after this one: frames that are already
    /// waiting (an event and its ack, or a burst of acks) are handled first, and the page gets one
    /// snapshot (one render) for all of them instead of one each.
    /// A changed view is saved right after the snapshot went out.
    fn notify(&self) {
        let delayed = {
            let inner = self.0.borrow();
            inner.notify_timer.is_none() || inner.notify_delayed
        };
        if delayed {
            self.schedule_notify(0);
        }
    }

    /// Tells the page now (and drops a scheduled snapshot).
    fn notify_now(&self) {
        self.0.borrow_mut().notify_timer = None;
        let snapshot = self.snapshot();
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

/// The app's followed polls, by poll ID (one follower per poll for the app's lifetime).
#[derive(Clone, Default)]
pub struct Follows(Rc<RefCell<BTreeMap<PollId, FollowHandle>>>);

impl PartialEq for Follows {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Follows {
    /// The follower of `poll`, if started.
    pub fn get(&self, poll: &PollId) -> Option<FollowHandle> {
        self.0.borrow().get(poll).cloned()
    }

    /// Records a started follower.
    pub fn insert(&self, poll: PollId, handle: FollowHandle) {
        self.0.borrow_mut().insert(poll, handle);
    }

    /// Stops and forgets the follower of `poll` (leaving it).
    pub fn remove(&self, poll: &PollId) {
        let stopped = self.0.borrow_mut().remove(poll);
        if let Some(handle) = stopped {
            handle.stop();
        }
    }

    /// Stops every follower (this tab lost the identity to another one, which takes over the
    /// outboxes from IndexedDB).
    pub fn clear(&self) {
        let stopped = std::mem::take(&mut *self.0.borrow_mut());
        for handle in stopped.values() {
            handle.stop();
        }
    }
}
