//! The participant runtime: a thin loop over the core's [`Participant`] machine, which decides
//! everything (connections per hub, redial, heartbeats and silence, resends, moved polls, when
//! outbox records are written and deleted, when views are saved, when a page is told). What the
//! pages hold of it ([`FollowHandle`], [`ListWatch`], the [`Follows`] intents) is in
//! [`handles`]; this module is the loop alone.
//!
//! The loop, one for the whole app ([`Follows`]): feed an input (a connection event, a finished
//! IndexedDB write, a user intent, the timer) with the current time, perform every output in
//! order — dial, send and close over [`crate::link`], write or delete outbox records and save
//! views in IndexedDB (each completion goes back in as an input), hand a page its snapshot —
//! then arm one timer at the machine's `poll_timeout`. Events of a connection the runtime
//! already closed or replaced are ignored (each dial has a generation).
//!
//! The machine's outputs carry the invariants: a command is sent only after the write of its
//! record was reported committed, and a record is deleted or a view saved only after the page
//! got the snapshot showing why. Followers run only in the tab holding the identity lock (the
//! app starts them there and clears them when the lock is lost), so two tabs never send the
//! same outbox.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;

use futures_util::StreamExt;
use peerjs_client::web::{ConnectionError, DataConnection};
use starpoll_core::participant::{Entropy, Input, Output, Participant};
use starpoll_core::poll::CommandId;
use starpoll_core::protocol::ChannelFingerprints;
use starpoll_core::{Identity, PeerId};
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

mod handles;

pub use handles::{FollowHandle, FollowStart, ListWatch};
pub use starpoll_core::participant::{
    DialProblem, FollowKey, FollowSnapshot, OwnerList, SyncState,
};

use crate::error::StorageError;
use crate::link::{self, TextEvent};
use crate::network::NetworkHandle;
use crate::random;
use crate::storage::{JoinedPoll, Repository};
use crate::wakeup::Wakeup;

/// The problem a connection error shows.
pub fn dial_problem(error: &ConnectionError) -> DialProblem {
    match error {
        ConnectionError::PeerUnavailable(_) => DialProblem::OwnerOffline,
        ConnectionError::Timeout => DialProblem::NoAnswer,
        ConnectionError::Disconnected => DialProblem::SelfOffline,
        ConnectionError::Unresponsive | ConnectionError::Closed => DialProblem::Lost,
        other => DialProblem::Other(other.to_string()),
    }
}

/// The browser's randomness, as the machine asks for it.
struct Random;

impl Entropy for Random {
    fn command_id(&mut self) -> Option<CommandId> {
        random::command_id().ok()
    }
    fn next_u32(&mut self) -> u32 {
        random::bytes::<4>()
            .map(u32::from_le_bytes)
            .unwrap_or(u32::MAX)
    }
}

struct Runtime {
    machine: Participant,
    network: NetworkHandle,
    repo: Option<Rc<Repository>>,
    /// The open or dialing connection per hub, with its generation.
    conns: BTreeMap<PeerId, (DataConnection, u64)>,
    generation: u64,
    timer: Wakeup,
    pages: BTreeMap<FollowKey, Callback<Rc<FollowSnapshot>>>,
    lists: BTreeMap<PeerId, Vec<(u64, Callback<OwnerList>)>>,
    next_list: u64,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for (conn, _) in self.conns.values() {
            conn.close();
        }
    }
}

/// The app's followed polls and the connections they share (one per hub); cheap to clone.
#[derive(Clone, Default)]
pub struct Follows(Rc<RefCell<Option<Runtime>>>);

impl PartialEq for Follows {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Follows {
    /// Makes the runtime on first use.
    fn ensure(&self, me: &Identity, network: &NetworkHandle) {
        let mut runtime = self.0.borrow_mut();
        if runtime.is_none() {
            *runtime = Some(Runtime {
                machine: Participant::new(me.clone()),
                network: network.clone(),
                repo: None,
                conns: BTreeMap::new(),
                generation: 0,
                timer: Wakeup::default(),
                pages: BTreeMap::new(),
                lists: BTreeMap::new(),
                next_list: 0,
            });
        }
    }

    /// Runs `f` on the runtime (`None` before it exists); holds the borrow only inside `f`.
    fn run<T>(&self, f: impl FnOnce(&mut Runtime) -> T) -> Option<T> {
        self.0.borrow_mut().as_mut().map(f)
    }

    /// Feeds the machine (`f`) at the current time, then performs its outputs and re-arms.
    fn step<T>(&self, f: impl FnOnce(&mut Participant, u64, &mut Random) -> T) -> Option<T> {
        let result = self.run(|rt| f(&mut rt.machine, random::now_ms(), &mut Random));
        self.drain();
        result
    }

    fn input(&self, input: Input<'_>) {
        self.step(|m, now, rng| m.handle_input(input, now, rng));
    }

    /// Performs every output, in order, then arms the one timer at the machine's deadline.
    fn drain(&self) {
        while let Some(output) = self.run(|rt| rt.machine.poll_output()).flatten() {
            self.perform(output);
        }
        let weak = Rc::downgrade(&self.0);
        self.run(|rt| {
            let at = rt.machine.poll_timeout();
            rt.timer.arm(at, random::now_ms(), move || {
                if let Some(follows) = weak.upgrade().map(Follows) {
                    follows.run(|rt| rt.timer.fired());
                    follows.step(|m, now, rng| m.handle_timeout(now, rng));
                }
            });
        });
    }

    /// Carries out one output of the machine.
    fn perform(&self, output: Output) {
        match output {
            Output::Dial(hub) => self.dial(hub),
            Output::Send(hub, frame) => {
                let conn = self
                    .run(|rt| rt.conns.get(&hub).map(|(c, _)| c.clone()))
                    .flatten();
                if let Some(Err(e)) = conn.map(|c| link::send(&c, frame)) {
                    gloo::console::warn!(format!("send to {hub}: {e}"));
                }
            }
            Output::Close(hub) => {
                if let Some((conn, _)) = self.run(|rt| rt.conns.remove(&hub)).flatten() {
                    conn.close();
                }
            }
            Output::WriteOutbox {
                key,
                record,
                delete,
            } => {
                let (command_id, deleted) = (record.command_id, delete.clone());
                let op =
                    |repo: Rc<Repository>| async move { repo.save_outbox(&record, &delete).await };
                self.store("store a command", op, move |f, stored| {
                    f.input(Input::OutboxWritten {
                        key: &key,
                        command_id,
                        stored,
                        deleted,
                    });
                });
            }
            Output::DeleteOutbox { key, ids } => {
                let poll = key.1;
                let op = |repo: Rc<Repository>| async move { repo.delete_outbox(poll, &ids).await };
                self.store("delete answered commands", op, move |f, _| {
                    f.input(Input::OutboxDeleted(&key));
                });
            }
            Output::SaveView(saved) => {
                let key = (saved.owner.clone(), saved.poll_id);
                let joined = JoinedPoll::from(*saved);
                let op = |repo: Rc<Repository>| async move { repo.save_joined(&joined).await };
                self.store("save the poll view", op, move |f, _| {
                    f.input(Input::ViewSaved(&key));
                });
            }
            Output::Leave(key) => {
                self.run(|rt| rt.pages.remove(&key));
                let op = |repo: Rc<Repository>| async move { repo.leave(&key.0, key.1).await };
                self.store("forget the followed copy", op, |_, _| {});
            }
            Output::Notify(key) => {
                let page = self.run(|rt| {
                    let snapshot = rt.machine.snapshot(&key)?;
                    Some((rt.pages.get(&key)?.clone(), Rc::new(snapshot)))
                });
                if let Some((page, snapshot)) = page.flatten() {
                    page.emit(snapshot);
                }
            }
            Output::List(owner, list) => {
                let watchers = self.run(|rt| rt.lists.get(&owner).cloned()).flatten();
                for (_, watcher) in watchers.unwrap_or_default() {
                    watcher.emit(list.clone());
                }
            }
            Output::Log(line) => gloo::console::warn!(line),
        }
    }

    /// Runs one IndexedDB operation on the runtime's repository in a task (a failure is
    /// logged), then `done` feeds its end back (with whether it committed), if the runtime is
    /// still alive.
    fn store<F: Future<Output = Result<(), StorageError>> + 'static>(
        &self,
        what: &'static str,
        op: impl FnOnce(Rc<Repository>) -> F,
        done: impl FnOnce(&Follows, bool) + 'static,
    ) {
        let op = self.run(|rt| rt.repo.clone()).flatten().map(op);
        let weak = Rc::downgrade(&self.0);
        spawn_local(async move {
            let result = match op {
                Some(op) => op.await,
                None => Err(StorageError::Unavailable),
            };
            if let Err(e) = &result {
                gloo::console::error!(format!("could not {what}: {e}"));
            }
            let committed = result.is_ok();
            if let Some(strong) = weak.upgrade() {
                done(&Follows(strong), committed);
            }
        });
    }

    /// Opens the data connection the machine asked for and feeds its events back.
    fn dial(&self, hub: PeerId) {
        let network = self.run(|rt| rt.network.clone());
        let conn = network.and_then(|n| n.connect(&hub));
        let Some((conn, mut events)) = conn.and_then(|c| {
            c.events().map(|e| (c.clone(), e)).or_else(|| {
                c.close();
                None
            })
        }) else {
            // This tab's own peer is not registered yet (or the network is down).
            self.input(Input::NotReady(&hub));
            return;
        };
        let generation = self
            .run(|rt| {
                rt.generation += 1;
                rt.conns.insert(hub.clone(), (conn.clone(), rt.generation));
                rt.generation
            })
            .unwrap_or_default();
        let weak = Rc::downgrade(&self.0);
        spawn_local(async move {
            while let Some(event) = events.next().await {
                let Some(follows) = weak.upgrade().map(Follows) else {
                    conn.close();
                    return;
                };
                let current = follows.run(|rt| rt.conns.get(&hub).map(|(_, g)| *g));
                if current.flatten() != Some(generation) {
                    return; // this connection was closed or replaced
                }
                match TextEvent::from(event) {
                    TextEvent::Open => {
                        // PROTOCOL.md §2.7: with the DTLS fingerprints the link asks to bind.
                        let channel: Option<ChannelFingerprints> =
                            conn.dtls_fingerprints().map(Into::into);
                        follows.input(Input::Opened(&hub, channel.as_ref()));
                    }
                    TextEvent::Text(text) => follows.input(Input::Frame(&hub, &text)),
                    TextEvent::NotText => gloo::console::warn!("dropped a non-text message"),
                    TextEvent::Error(e) => {
                        gloo::console::warn!(format!("the connection to {hub}: {e}"));
                        follows.input(Input::Failed(&hub, dial_problem(&e)));
                    }
                    TextEvent::Close => {
                        follows.run(|rt| rt.conns.remove(&hub));
                        follows.input(Input::Closed(&hub));
                        return;
                    }
                }
            }
        });
    }
}
