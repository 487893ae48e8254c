//! The hub runtime: runs the core's [`Hub`] for this browser's polls against the real world —
//! incoming PeerJS data connections, IndexedDB, the clock.
//!
//! The loop: every input (a connection opening, a frame, a close, the owner's own action, the
//! timer) goes into the pure hub with the current time and yields a [`Step`]; one timer is armed
//! at the hub's [`Hub::poll_timeout`] (heartbeats, silent connections, poll deadlines: the hub
//! closes a poll at its deadline itself). Each step goes into the core's commit [`Pipeline`],
//! whose outputs this runtime performs: one IndexedDB transaction at a time holding the writes
//! of every step queued when it started, and only after it committed those steps' sends,
//! closes and dials, in order. So an ack never leaves before its commit (PROTOCOL.md §4.2), and
//! a burst of commands costs one transaction, not one per command. Frames travel as text over
//! [`crate::link`]. The screen gets a snapshot in a task after a change (one for all changes
//! until then).
//!
//! If a commit fails, the hub stops: its in-memory state is ahead of the database, so it closes
//! every connection, sends nothing more, and the owner's page says so. Participants keep their
//! commands and resend them when the owner reloads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use futures_util::StreamExt;
use gloo::timers::callback::Timeout;
use peerjs_client::signal::Serialization;
use peerjs_client::web::{ConnectionError, DataConnection};
use starpoll_core::delegation::SignedDelegation;
use starpoll_core::hub::pipeline::{self, Pipeline};
use starpoll_core::hub::MoveError as CoreMoveError;
use starpoll_core::hub::{ConnId, Hub, Incoming, Limits, Step, Write};
use starpoll_core::poll::{Command, Outcome, Poll, PollDraft, PollId, Refusal, Revision};
use starpoll_core::protocol::PeerInfo;
use starpoll_core::snapshot::ExportError;
use starpoll_core::{Identity, PeerId};
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use crate::error::{AppError, StorageError};
use crate::link::{self, TextEvent};
use crate::random;
use crate::storage::Repository;
use crate::test_hook;

/// The shortest wait the hub's timer is armed for (ms).
const MIN_TIMER_MS: u64 = 50;

/// The end-to-end tests' hook that stops the hub between a commit and its acks.
const FREEZE_HOOK: &str = "freeze-after-commit";

/// One hosted poll as the owner's screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostedPoll {
    /// The poll.
    pub poll: Poll,
    /// Who is connected for it now (the owner first).
    pub present: Vec<PeerInfo>,
    /// Frozen by a move to another hub in flight.
    pub moving: bool,
}

/// What the owner's screen knows about the hub.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubSnapshot {
    /// Hosted polls by id.
    pub polls: BTreeMap<PollId, HostedPoll>,
    /// Own polls that moved away, each with the delegation it moved under (its hub serves it).
    pub moved: BTreeMap<PollId, SignedDelegation>,
    /// Set when the hub stopped because storage failed.
    pub failed: Option<StorageError>,
}

struct Inner {
    hub: Hub,
    repo: Rc<Repository>,
    conns: BTreeMap<ConnId, DataConnection>,
    next_conn: u64,
    /// Commits steps' writes, then lets their sends out (`core::hub::pipeline`).
    pipeline: Pipeline,
    failed: Option<StorageError>,
    on_change: Callback<Rc<HubSnapshot>>,
    /// Fires at `timer_at`, the hub's `poll_timeout` when it was armed.
    timer: Option<Timeout>,
    timer_at: Option<u64>,
    /// Sends the next snapshot to the screen (one for all changes made before it fires).
    notify_timer: Option<Timeout>,
    /// Opens a data connection to another hub (`Step::dials`); `None` until the peer runs.
    dialer: Option<Dialer>,
}

/// Opens a data connection from this tab's peer to a peer (`None` while the peer is not open).
pub type Dialer = Rc<dyn Fn(&PeerId) -> Option<DataConnection>>;

/// Shared handle to the hub runtime (cheap to clone; equal when it is the same runtime).
#[derive(Clone)]
pub struct HubHandle(Rc<RefCell<Inner>>);

impl PartialEq for HubHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl HubHandle {
    /// Loads the hosted polls from `repo` and starts the hub (its timer included).
    pub async fn start(
        owner: Identity,
        repo: Rc<Repository>,
        on_change: Callback<Rc<HubSnapshot>>,
    ) -> Result<Self, AppError> {
        let mut hub = Hub::new(owner, Limits::default());
        let mut hostings = repo.hostings().await?;
        for (poll, records) in repo.hosted_polls().await? {
            // A poll with a hosting (delegated here, prepared here) is loaded only through
            // `restore_hosting`, which checks its delegation chain names this hub.
            let restored = match hostings.remove(&poll.id) {
                Some(hosting) => hub
                    .restore_hosting(poll.id, hosting, Some(poll), records)
                    .map_err(|e| e.to_string()),
                None => hub.restore(poll, records).map_err(|e| e.to_string()),
            };
            if let Err(e) = restored {
                gloo::console::warn!(format!("skipped a stored poll: {e}"));
            }
        }
        // What is left moved away from here: only its delegation is kept, to redirect.
        for (id, hosting) in hostings {
            if let Err(e) = hub.restore_hosting(id, hosting, None, Vec::new()) {
                gloo::console::warn!(format!("skipped a stored hosting: {e}"));
            }
        }
        hub.restore_deleted(repo.deleted_polls().await?);
        let handle = Self(Rc::new(RefCell::new(Inner {
            hub,
            repo,
            conns: BTreeMap::new(),
            next_conn: 0,
            pipeline: Pipeline::new(),
            failed: None,
            on_change,
            timer: None,
            timer_at: None,
            notify_timer: None,
            dialer: None,
        })));
        // Deadlines that passed while the owner was away close now.
        handle.wake();
        Ok(handle)
    }

    /// The current snapshot for the screen.
    pub fn snapshot(&self) -> Rc<HubSnapshot> {
        let inner = self.0.borrow();
        let polls = inner
            .hub
            .polls()
            .map(|poll| {
                let hosted = HostedPoll {
                    poll: poll.clone(),
                    present: inner.hub.present(&poll.id),
                    moving: inner.hub.is_moving(&poll.id),
                };
                (poll.id, hosted)
            })
            .collect();
        let me = inner.hub.me().clone();
        let moved = inner
            .hub
            .moved_away()
            .filter(|(_, d)| *d.owner() == me)
            .map(|(id, d)| (*id, d.clone()))
            .collect();
        Rc::new(HubSnapshot {
            polls,
            moved,
            failed: inner.failed.clone(),
        })
    }

    /// Creates a poll; it is served once committed.
    pub fn create(&self, draft: PollDraft) -> Result<PollId, CreateError> {
        let id = random::poll_id()?;
        let step = self
            .0
            .borrow_mut()
            .hub
            .create(id, draft, random::now_ms())?;
        self.enqueue(step);
        Ok(id)
    }

    /// The owner's own command on one of its polls. Returns the outcome at once (it is
    /// committed and broadcast right after); `None` if the poll is unknown.
    pub fn local(&self, poll: PollId, command: &Command) -> Result<Option<Outcome>, AppError> {
        let id = random::command_id()?;
        let (step, outcome) = self
            .0
            .borrow_mut()
            .hub
            .local(poll, id, command, random::now_ms());
        self.enqueue(step);
        Ok(outcome)
    }

    /// Deletes one of the owner's polls: its row and its command records are deleted in one
    /// transaction, and only then are the participants following it told (`unknown-poll`) and
    /// the screen updated. Returns whether the poll existed.
    pub fn delete(&self, poll: PollId) -> bool {
        let step = self.0.borrow_mut().hub.delete(poll);
        let existed = !step.writes.is_empty();
        self.enqueue(step);
        existed
    }

    /// Moves an own poll served here to the hub `target` (PROTOCOL.md §8.4): the outcome shows
    /// in the snapshot (`moved`, or the poll served again after an abort).
    pub fn move_poll(&self, poll: PollId, target: PeerId) -> Result<(), MoveError> {
        let step = self
            .0
            .borrow_mut()
            .hub
            .move_poll(poll, target, random::now_ms())?;
        self.enqueue(step);
        self.notify();
        Ok(())
    }

    /// For an own poll served elsewhere: signs the delegation moving it to `target` (this
    /// browser to take it back), for the owner's link to its current hub to send. The new
    /// highest seq is committed before the delegation is handed out.
    pub async fn sign_move(
        &self,
        poll: PollId,
        target: PeerId,
        from_revision: Revision,
    ) -> Result<SignedDelegation, MoveError> {
        let (step, delegation) = self
            .0
            .borrow_mut()
            .hub
            .sign_move(poll, target, from_revision)?;
        let repo = self.0.borrow().repo.clone();
        repo.commit(&step.writes)
            .await
            .map_err(|e| MoveError::Storage(e.to_string()))?;
        Ok(delegation)
    }

    /// Whether the owner deleted `poll` (the hub keeps the ids of deleted polls).
    pub fn was_deleted(&self, poll: &PollId) -> bool {
        self.0.borrow().hub.was_deleted(poll)
    }

    /// The signed snapshot file of one of the owner's polls, exported now
    /// ([`starpoll_core::snapshot`]).
    pub fn signed_export(&self, poll: &PollId) -> Result<String, ExportError> {
        self.0.borrow().hub.snapshot(poll, random::now_ms())
    }

    /// Sets how the hub opens hub-to-hub connections (the tab's peer).
    pub fn set_dialer(&self, dialer: Dialer) {
        self.0.borrow_mut().dialer = Some(dialer);
    }

    /// Serves an incoming data connection until it closes.
    pub fn accept(&self, conn: DataConnection) {
        self.serve(conn, false);
    }

    /// Serves a data connection until it closes: one a participant opened, or one this hub
    /// dialed (`dialed`: reported with [`Hub::dialed`] once open, a hub-to-hub connection).
    fn serve(&self, conn: DataConnection, dialed: bool) {
        if self.0.borrow().failed.is_some() || conn.serialization() != Serialization::Binary {
            // The protocol needs `binary` (PROTOCOL.md §1.3); a stopped hub serves nobody.
            conn.close();
            return;
        }
        let Some(mut events) = conn.events() else {
            conn.close();
            return;
        };
        let id = {
            let mut inner = self.0.borrow_mut();
            inner.next_conn += 1;
            let id = ConnId(inner.next_conn);
            inner.conns.insert(id, conn.clone());
            id
        };
        let handle = self.clone();
        spawn_local(async move {
            while let Some(event) = events.next().await {
                let now = random::now_ms();
                let event = TextEvent::from(event);
                let step = {
                    let mut inner = handle.0.borrow_mut();
                    match &event {
                        TextEvent::Open if dialed => inner.hub.dialed(id, conn.peer(), now),
                        TextEvent::Open => {
                            let step = inner.hub.opened(id, conn.peer(), now);
                            // PROTOCOL.md §2.7: lets the hub answer a channel:bind:request.
                            if let Some(fingerprints) = conn.dtls_fingerprints() {
                                inner.hub.set_channel(id, fingerprints.into());
                            }
                            step
                        }
                        TextEvent::Text(text) => inner.hub.receive(id, Incoming::Text(text), now),
                        TextEvent::NotText => inner.hub.receive(id, Incoming::NotText, now),
                        TextEvent::Error(ConnectionError::TooLarge(why)) => {
                            gloo::console::warn!(format!("from {}: {why}", conn.peer()));
                            inner.hub.receive(id, Incoming::TooLarge, now)
                        }
                        TextEvent::Error(e) => {
                            gloo::console::warn!(format!("connection from {}: {e}", conn.peer()));
                            Step::default()
                        }
                        TextEvent::Close => {
                            inner.conns.remove(&id);
                            inner.hub.closed(id)
                        }
                    }
                };
                handle.enqueue(step);
                if event == TextEvent::Close {
                    break;
                }
            }
        });
    }

    /// The timer fired (or the hub starts): whatever the hub has to do by now.
    fn wake(&self) {
        {
            let mut inner = self.0.borrow_mut();
            inner.timer = None;
            inner.timer_at = None;
        }
        let now = random::now_ms();
        let step = self
            .0
            .borrow_mut()
            .hub
            .handle_timeout(now, || random::command_id().ok());
        self.enqueue(step);
    }

    /// Arms the timer for the hub's next deadline, unless one at least as early is armed (a
    /// timer that fires before the hub needs it does nothing and re-arms). The timer holds the
    /// runtime weakly, so dropping the last handle stops it.
    fn arm(&self) {
        let mut inner = self.0.borrow_mut();
        let at = if inner.failed.is_some() {
            None
        } else {
            inner.hub.poll_timeout()
        };
        let Some(at) = at else {
            inner.timer = None;
            inner.timer_at = None;
            return;
        };
        if inner.timer_at.is_some_and(|armed| armed <= at) {
            return;
        }
        // Never sooner than MIN_TIMER_MS: a deadline the hub could not act on must not spin.
        let delay = at.saturating_sub(random::now_ms()).max(MIN_TIMER_MS);
        let weak = Rc::downgrade(&self.0);
        inner.timer = Some(Timeout::new(
            u32::try_from(delay).unwrap_or(u32::MAX),
            move || {
                if let Some(inner) = weak.upgrade() {
                    HubHandle(inner).wake();
                }
            },
        ));
        inner.timer_at = Some(at);
    }

    /// Hands a step to the pipeline and performs what it lets out.
    fn enqueue(&self, step: Step) {
        // Any input may move the hub's next deadline (a new connection, a send, a deadline).
        self.arm();
        self.0
            .borrow_mut()
            .pipeline
            .handle_input(pipeline::Input::Step(step));
        self.drive();
    }

    /// Performs the pipeline's outputs in order: a commit runs in a task and feeds its end
    /// back; sends, closes and dials come out only after their commit.
    fn drive(&self) {
        loop {
            let output = self.0.borrow_mut().pipeline.poll_output();
            let Some(output) = output else {
                return;
            };
            let inner = self.0.borrow();
            match output {
                pipeline::Output::Commit(writes) => {
                    let (repo, handle) = (inner.repo.clone(), self.clone());
                    spawn_local(async move { handle.commit(&repo, writes).await });
                }
                pipeline::Output::Send(conn, frame) => {
                    if let Some(c) = inner.conns.get(&conn) {
                        if let Err(e) = link::send(c, frame.to_string()) {
                            gloo::console::warn!(format!("send to {}: {e}", c.peer()));
                        }
                    }
                }
                pipeline::Output::Close(conn) => {
                    if let Some(c) = inner.conns.get(&conn) {
                        c.close();
                    }
                }
                pipeline::Output::Dial(peer) => {
                    drop(inner);
                    self.dial(&peer);
                }
                pipeline::Output::Changed => {
                    drop(inner);
                    self.notify();
                }
                pipeline::Output::Log(line) => gloo::console::log!(format!("hub: {line}")),
                pipeline::Output::Stopped => {
                    drop(inner);
                    let conns = std::mem::take(&mut self.0.borrow_mut().conns);
                    for conn in conns.values() {
                        conn.close();
                    }
                    self.notify();
                }
            }
        }
    }

    /// Commits one transaction of the pipeline and reports its end. If a commit fails, the hub
    /// stops: its in-memory state is ahead of the database.
    async fn commit(&self, repo: &Repository, writes: Vec<Write>) {
        let input = match repo.commit(&writes).await {
            Ok(()) => {
                let recorded = writes.iter().any(|w| matches!(w, Write::Record(..)));
                if recorded && test_hook::take(FREEZE_HOOK) {
                    // Committed, but the answers never leave: the commit never ends for the
                    // pipeline, so nothing is sent from now on, as if the tab died right here.
                    test_hook::mark(FREEZE_HOOK);
                    return;
                }
                pipeline::Input::Committed
            }
            Err(e) => {
                gloo::console::error!(format!("hub stopped: {e}"));
                self.0.borrow_mut().failed = Some(e);
                pipeline::Input::Failed
            }
        };
        self.0.borrow_mut().pipeline.handle_input(input);
        self.drive();
    }

    /// Opens a hub-to-hub connection to a peer (a failed dial needs no report: the hub
    /// retries or aborts a move on its own timer).
    fn dial(&self, peer: &PeerId) {
        let Some(dialer) = self.0.borrow().dialer.clone() else {
            gloo::console::warn!("hub: cannot dial another hub before this browser is online");
            return;
        };
        if let Some(conn) = dialer(peer) {
            self.serve(conn, true);
        }
    }

    /// Sends the screen a snapshot in a task after this one (one for all changes until then).
    fn notify(&self) {
        let mut inner = self.0.borrow_mut();
        if inner.notify_timer.is_some() {
            return;
        }
        let weak = Rc::downgrade(&self.0);
        inner.notify_timer = Some(Timeout::new(0, move || {
            if let Some(inner) = weak.upgrade() {
                let handle = HubHandle(inner);
                handle.0.borrow_mut().notify_timer = None;
                let snapshot = handle.snapshot();
                let on_change = handle.0.borrow().on_change.clone();
                on_change.emit(snapshot);
            }
        }));
    }
}

/// Why a poll could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// The hub refused (not served here, not the owner's, a move in flight, already there).
    #[error(transparent)]
    Refused(#[from] CoreMoveError),
    /// The new delegation could not be stored.
    #[error("could not store the move: {0}")]
    Storage(String),
}

/// Why a poll could not be created.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CreateError {
    /// The draft breaks a rule (empty title, duplicate options…).
    #[error("{0}")]
    Invalid(#[from] Refusal),
    /// The browser failed (randomness).
    #[error(transparent)]
    App(#[from] AppError),
}
