//! The hub runtime: drives the core's [`HubMachine`] for this browser's polls against the real
//! world — incoming PeerJS data connections, IndexedDB, the clock. The owner's own actions and
//! the screen's snapshot are in [`owner`].
//!
//! The loop: a connection's events (open, frame, close) go into an inbox as they arrive; the
//! inbox is worked off in slices of at most [`SLICE_MS`], one task each ([`NextTask`]), each
//! input fed to the machine with the current time. After a slice the machine's outputs are
//! performed in order: a commit (the writes of every input fed since the last one started)
//! runs as one IndexedDB transaction in a task of its own and its end is fed back; sends,
//! closes and dials only come out after their commit. Between slices the browser runs what is
//! queued, so a commit that ended is seen and its acks leave while the rest of a burst is still
//! being checked ("commit early, commit big": the first commit starts after the first slice,
//! the next holds everything checked meanwhile). One timer is armed at the machine's
//! `poll_timeout` (heartbeats, silent connections, poll deadlines, moves).
//!
//! Signatures of a burst are checked off the page's thread ([`checker`], a worker with the
//! browser's own Ed25519): arriving frames wait in the inbox, a [`CheckQueue`], whose jobs go
//! to the worker in batches at the start of each slice; a frame is fed to the machine, in
//! arrival order, once its batch answered, with the token that spares the machine that check.
//! A lone frame, or any frame the worker did not pass, is checked by the machine as before.
//!
//! If a commit fails, the machine stops: its state is ahead of the database, so the runtime
//! closes every connection, sends nothing more, and the owner's page says so. Participants keep
//! their commands and resend them when the owner reloads.

pub mod checker;
pub mod owner;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use futures_util::StreamExt;
use gloo::timers::callback::Timeout;
use peerjs_client::signal::Serialization;
use peerjs_client::web::{ConnectionError, DataConnection};
use starpoll_core::hub::checks::{BatchId, CheckQueue};
use starpoll_core::hub::machine::{HubMachine, Input, Output};
use starpoll_core::hub::{ConnId, Incoming, Write};
use starpoll_core::protocol::SignatureJob;
use starpoll_core::PeerId;
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

pub use owner::{CreateError, HostedPoll, HubSnapshot, MoveError};

use checker::{Answer, Checker};

use crate::error::StorageError;
use crate::link::{self, TextEvent};
use crate::next_task::NextTask;
use crate::random;
use crate::storage::Repository;
use crate::test_hook;
use crate::wakeup::Wakeup;

/// The longest slice of inbox work in one task (ms).
const SLICE_MS: f64 = 8.0;

/// How long a batch of signatures may stay with the checker before the hub stops using it and
/// checks them itself (ms). A burst of 1,000 takes the worker well under 100 ms.
const CHECK_EXPIRY_MS: u32 = 5_000;

/// The shortest wait the hub's timer is armed for (ms).
const MIN_TIMER_MS: u64 = 50;

/// The shortest time between two snapshots sent to the owner's screen (ms). The first change
/// after a quiet spell is shown in the next task; during a burst (1,000 queued votes arriving
/// at once) the screen is redrawn at most this often instead of after every slice of work,
/// which left the owner's tab re-rendering ~100 times a second while it checked the burst.
const NOTIFY_MS: f64 = 50.0;

/// The end-to-end tests' hook that stops the hub between a commit and its acks.
const FREEZE_HOOK: &str = "freeze-after-commit";

/// Opens a data connection from this tab's peer to a peer (`None` while the peer is not open).
pub type Dialer = Rc<dyn Fn(&PeerId) -> Option<DataConnection>>;

/// What arrived on a connection, waiting in the inbox.
struct Arrived {
    conn: ConnId,
    /// A connection this hub dialed (a hub-to-hub one).
    dialed: bool,
    event: TextEvent,
}

struct Inner {
    machine: HubMachine,
    repo: Rc<Repository>,
    conns: BTreeMap<ConnId, DataConnection>,
    next_conn: u64,
    /// Arrived events, in order, with their signatures' checks.
    inbox: CheckQueue<Arrived>,
    /// Works the inbox off, one slice per task.
    slicer: Option<NextTask>,
    /// Checks signatures off the page's thread; `None` before the first connection (a page
    /// nobody connects to never starts it) and after it could not start or failed.
    checker: Option<Checker>,
    /// The checker was started once (it is not started again after it failed).
    checker_started: bool,
    /// A timer per batch with the checker: it expires the batch if no answer came.
    expiries: BTreeMap<BatchId, Timeout>,
    failed: Option<StorageError>,
    on_change: Callback<Rc<HubSnapshot>>,
    /// Armed at the machine's `poll_timeout`.
    timer: Wakeup,
    /// Sends the next snapshot to the screen (one for all changes made before it fires).
    notify_timer: Option<Timeout>,
    /// When the last snapshot went to the screen (`js_sys::Date::now()` ms).
    notified_at: f64,
    /// Opens a data connection to another hub (`Output::Dial`); `None` until the peer runs.
    dialer: Option<Dialer>,
}

/// Shared handle to the hub runtime (cheap to clone; equal when it is the same runtime).
#[derive(Clone)]
pub struct HubHandle(Rc<RefCell<Inner>>);

impl PartialEq for HubHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl HubHandle {
    /// Serves an incoming data connection until it closes.
    pub fn accept(&self, conn: DataConnection) {
        self.serve(conn, false);
    }

    /// Serves a data connection until it closes: one a participant opened, or one this hub
    /// dialed (`dialed`: a hub-to-hub connection). Its events wait in the inbox, in order.
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
        self.start_checker();
        let id = {
            let mut inner = self.0.borrow_mut();
            inner.next_conn += 1;
            let id = ConnId(inner.next_conn);
            inner.conns.insert(id, conn.clone());
            id
        };
        let handle = self.clone();
        // The signer every frame on this connection must have (for the checker's jobs).
        let remote: Option<PeerId> = conn.peer().parse().ok();
        spawn_local(async move {
            while let Some(event) = events.next().await {
                let event = TextEvent::from(event);
                if let TextEvent::Error(e) = &event {
                    if !matches!(e, ConnectionError::TooLarge(_)) {
                        gloo::console::warn!(format!("connection from {}: {e}", conn.peer()));
                        continue;
                    }
                }
                let closed = event == TextEvent::Close;
                let mut inner = handle.0.borrow_mut();
                let job = match (&event, &remote, &inner.checker) {
                    (TextEvent::Text(text), Some(remote), Some(_)) => {
                        SignatureJob::of(text, remote)
                    }
                    _ => None,
                };
                inner.inbox.push(
                    Arrived {
                        conn: id,
                        dialed,
                        event,
                    },
                    job,
                );
                if let Some(slicer) = &inner.slicer {
                    slicer.schedule();
                }
                if closed {
                    break;
                }
            }
        });
    }

    /// One slice of inbox work, then the outputs; schedules the next slice if work is left
    /// that is not waiting for the checker (its answer schedules one).
    fn work_inbox(&self) {
        let started = js_sys::Date::now();
        self.send_checks();
        let mut out_of_time = false;
        loop {
            let popped = self.0.borrow_mut().inbox.pop();
            let Some((
                Arrived {
                    conn,
                    dialed,
                    event,
                },
                checked,
            )) = popped
            else {
                break;
            };
            let now = random::now_ms();
            let mut inner = self.0.borrow_mut();
            let Some(connection) = inner.conns.get(&conn).cloned() else {
                continue;
            };
            let remote = connection.peer();
            let input = match &event {
                TextEvent::Open if dialed => Input::Dialed { conn, remote },
                TextEvent::Open => Input::Opened {
                    conn,
                    remote,
                    // PROTOCOL.md §2.7: lets the hub answer a channel:bind:request.
                    channel: connection.dtls_fingerprints().map(Into::into),
                },
                TextEvent::Text(text) => match &checked {
                    Some(checked) => Input::Received(conn, Incoming::Checked(text, checked)),
                    None => Input::Received(conn, Incoming::Text(text)),
                },
                TextEvent::NotText => Input::Received(conn, Incoming::NotText),
                TextEvent::Error(e) => {
                    gloo::console::warn!(format!("from {remote}: {e}"));
                    Input::Received(conn, Incoming::TooLarge)
                }
                TextEvent::Close => {
                    inner.conns.remove(&conn);
                    Input::Closed(conn)
                }
            };
            inner.machine.handle_input(input, now);
            if js_sys::Date::now() - started >= SLICE_MS {
                out_of_time = true;
                break;
            }
        }
        self.drive();
        let inner = self.0.borrow();
        if let (true, Some(slicer)) = (out_of_time, &inner.slicer) {
            slicer.schedule();
        }
    }

    /// Starts the signature checker, once (without one, the machine checks every frame
    /// itself). It is started with the first connection, so its start-up overlaps that
    /// connection's own and a page that only follows polls never pays for it.
    fn start_checker(&self) {
        if std::mem::replace(&mut self.0.borrow_mut().checker_started, true) {
            return;
        }
        let weak = Rc::downgrade(&self.0);
        let started = Checker::start(move |answer| {
            if let Some(inner) = weak.upgrade() {
                HubHandle(inner).checked(answer);
            }
        });
        match started {
            Ok(checker) => self.0.borrow_mut().checker = Some(checker),
            Err(e) => gloo::console::warn!(format!("hub: signatures are checked here: {e}")),
        }
    }

    /// Sends the checker the jobs that wait, as one batch, with a timer that expires it.
    fn send_checks(&self) {
        let mut guard = self.0.borrow_mut();
        let inner = &mut *guard;
        let Some(checker) = &inner.checker else {
            return;
        };
        let Some((batch, jobs)) = inner.inbox.take_batch() else {
            return;
        };
        if let Err(e) = checker.send(batch, &jobs) {
            drop(guard);
            return self.checked(Answer::Gone(format!("could not send it a batch: {e}")));
        }
        let weak = Rc::downgrade(&self.0);
        let expiry = Timeout::new(CHECK_EXPIRY_MS, move || {
            if let Some(inner) = weak.upgrade() {
                let handle = HubHandle(inner);
                let expired = handle.0.borrow_mut().inbox.expire(batch);
                if expired {
                    handle.checked(Answer::Gone(format!("no answer in {CHECK_EXPIRY_MS} ms")));
                }
            }
        });
        inner.expiries.insert(batch, expiry);
    }

    /// The checker answered (or is gone): the frames it answered for may go on.
    fn checked(&self, answer: Answer) {
        let mut inner = self.0.borrow_mut();
        match answer {
            Answer::Checked(batch, passed) => {
                inner.expiries.remove(&batch);
                inner.inbox.answered(batch, &passed);
            }
            Answer::Gone(why) => {
                gloo::console::warn!(format!(
                    "hub: the signature checker stopped ({why}); signatures are checked here"
                ));
                inner.inbox.abandon();
                inner.expiries.clear();
                // Dropped in a later task: this may run inside the checker's own callback.
                if let Some(checker) = inner.checker.take() {
                    spawn_local(async move { drop(checker) });
                }
            }
        }
        if let Some(slicer) = &inner.slicer {
            slicer.schedule();
        }
    }

    /// The timer fired (or the hub starts): whatever the machine has to do by now.
    fn wake(&self) {
        {
            let mut inner = self.0.borrow_mut();
            inner.timer.fired();
            let now = random::now_ms();
            inner
                .machine
                .handle_timeout(now, || random::command_id().ok());
        }
        self.drive();
    }

    /// Arms the timer for the machine's next deadline. It holds the runtime weakly, so
    /// dropping the last handle stops it.
    fn arm(&self) {
        let weak = Rc::downgrade(&self.0);
        let mut inner = self.0.borrow_mut();
        let now = random::now_ms();
        // Never sooner than MIN_TIMER_MS: a deadline the hub could not act on must not spin.
        let at = inner
            .machine
            .poll_timeout()
            .map(|at| at.max(now + MIN_TIMER_MS));
        inner.timer.arm(at, now, move || {
            if let Some(inner) = weak.upgrade() {
                HubHandle(inner).wake();
            }
        });
    }

    /// Performs the machine's outputs in order: a commit runs in a task and feeds its end
    /// back; sends, closes and dials come out only after their commit. Then re-arms the timer
    /// (any input may move the machine's next deadline).
    fn drive(&self) {
        loop {
            let output = self.0.borrow_mut().machine.poll_output();
            let Some(output) = output else {
                break;
            };
            let inner = self.0.borrow();
            match output {
                Output::Commit(writes) => {
                    let (repo, handle) = (inner.repo.clone(), self.clone());
                    spawn_local(async move { handle.commit(&repo, writes).await });
                }
                Output::Send(conn, frame) => {
                    if let Some(c) = inner.conns.get(&conn) {
                        if let Err(e) = link::send(c, frame.to_string()) {
                            gloo::console::warn!(format!("send to {}: {e}", c.peer()));
                        }
                    }
                }
                Output::Close(conn) => {
                    if let Some(c) = inner.conns.get(&conn) {
                        c.close();
                    }
                }
                Output::Dial(peer) => {
                    drop(inner);
                    self.dial(&peer);
                }
                Output::Changed => {
                    drop(inner);
                    self.notify();
                }
                Output::Log(line) => gloo::console::log!(format!("hub: {line}")),
                Output::Stopped => {
                    drop(inner);
                    let conns = std::mem::take(&mut self.0.borrow_mut().conns);
                    for conn in conns.values() {
                        conn.close();
                    }
                    self.notify();
                }
            }
        }
        self.arm();
    }

    /// Commits one transaction of the machine's and reports its end. If a commit fails, the
    /// hub stops: its in-memory state is ahead of the database.
    async fn commit(&self, repo: &Repository, writes: Vec<Write>) {
        let input = match repo.commit(&writes).await {
            Ok(()) => {
                let recorded = writes.iter().any(|w| matches!(w, Write::Record(..)));
                if recorded && test_hook::take(FREEZE_HOOK) {
                    // Committed, but the answers never leave: the commit never ends for the
                    // machine, so nothing is sent from now on, as if the tab died right here.
                    test_hook::mark(FREEZE_HOOK);
                    return;
                }
                Input::Committed
            }
            Err(e) => {
                gloo::console::error!(format!("hub stopped: {e}"));
                self.0.borrow_mut().failed = Some(e);
                Input::Failed
            }
        };
        self.0
            .borrow_mut()
            .machine
            .handle_input(input, random::now_ms());
        self.drive();
    }

    /// Opens a hub-to-hub connection to a peer (a failed dial needs no report: the machine
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

    /// Sends the screen a snapshot in a task after this one (one for all changes until then),
    /// but no sooner than [`NOTIFY_MS`] after the previous one.
    fn notify(&self) {
        let mut inner = self.0.borrow_mut();
        if inner.notify_timer.is_some() {
            return;
        }
        let wait = (inner.notified_at + NOTIFY_MS - js_sys::Date::now()).clamp(0.0, NOTIFY_MS);
        let weak = Rc::downgrade(&self.0);
        // Whole milliseconds, within 0..=NOTIFY_MS: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let wait = wait.ceil() as u32;
        inner.notify_timer = Some(Timeout::new(wait, move || {
            if let Some(inner) = weak.upgrade() {
                let handle = HubHandle(inner);
                {
                    let mut inner = handle.0.borrow_mut();
                    inner.notify_timer = None;
                    inner.notified_at = js_sys::Date::now();
                }
                let snapshot = handle.snapshot();
                let on_change = handle.0.borrow().on_change.clone();
                on_change.emit(snapshot);
            }
        }));
    }
}
