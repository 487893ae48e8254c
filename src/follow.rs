//! The participant runtime: a thin loop over the core's [`Participant`] machine, which decides
//! everything (connections per hub, redial, heartbeats and silence, resends, moved polls, when
//! outbox records are written and deleted, when views are saved, when a page is told).
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
use std::rc::Rc;

use futures_util::StreamExt;
use gloo::timers::callback::Timeout;
use peerjs_client::web::{ConnectionError, DataConnection};
use starpoll_core::delegation::SignedDelegation;
use starpoll_core::participant::{
    Entropy, Input, Output, Participant, ParticipantError, SavedView, Start,
};
use starpoll_core::poll::{Command, CommandId, PollId};
use starpoll_core::protocol::ChannelFingerprints;
use starpoll_core::{Identity, PeerId};
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

pub use starpoll_core::participant::{
    DialProblem, FollowKey, FollowSnapshot, OwnerList, SyncState,
};

use crate::error::{AppError, StorageError};
use crate::link::{self, TextEvent};
use crate::network::NetworkHandle;
use crate::random;
use crate::storage::{JoinedPoll, Repository};

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
    timer: Option<(Timeout, u64)>,
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
pub struct FollowHandle {
    follows: Follows,
    key: FollowKey,
}

impl FollowHandle {
    /// Starts following a poll: loads its saved view, delegation and outbox, and hands it to
    /// the machine (which joins it if it loaded before, and dials its hub).
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
        let key: FollowKey = (owner, poll);
        let saved = repo.joined(&key.0, poll).await?.map(|j| SavedView {
            owner: j.owner,
            poll_id: j.poll_id,
            view: j.view,
            saved_at: j.saved_at,
            delegation: j.delegation,
        });
        let outbox = repo.outbox(poll).await?;
        let (start, problems) = Start::restore(me.clone(), &key, saved, via, &outbox, display_name);
        for problem in problems {
            gloo::console::warn!(problem);
        }
        follows.ensure(&me, &network);
        follows.run(|rt| {
            rt.repo = Some(repo);
            rt.pages.insert(key.clone(), on_change);
        });
        follows.step(|m, now, rng| m.follow(start, now, rng));
        Ok(Self {
            follows: follows.clone(),
            key,
        })
    }

    /// A command of this participant: pending at once, stored in the outbox, sent once stored.
    /// `Err` only when no command id could be made.
    pub fn submit(&self, command: Command) -> Result<(), AppError> {
        let key = &self.key;
        match self
            .follows
            .step(|m, now, rng| m.submit(key, command, now, rng))
        {
            Some(Err(ParticipantError::NoCommandId)) => {
                Err(AppError::Random("no command id could be made".into()))
            }
            Some(Err(e)) => {
                gloo::console::warn!(format!("could not queue the command: {e}"));
                Ok(())
            }
            Some(Ok(())) | None => Ok(()),
        }
    }

    /// Dials the poll's hub now, without waiting for the scheduled attempt.
    pub fn dial(&self) {
        self.follows
            .step(|m, now, rng| m.dial_now(&self.key, now, rng));
    }

    /// The owner asks the hub serving this poll to move it under `delegation`.
    pub fn request_move(&self, delegation: &SignedDelegation) -> Result<(), String> {
        let key = &self.key;
        let sent = self
            .follows
            .step(|m, now, rng| m.request_move(key, delegation, now, rng));
        sent.map_or(Err("not following".into()), |r| {
            r.map_err(|e| e.to_string())
        })
    }

    /// Asks the hub serving this poll for its signed snapshot file (the owner's export).
    pub fn request_snapshot(&self) -> Result<(), String> {
        let key = &self.key;
        let sent = self
            .follows
            .step(|m, now, rng| m.request_snapshot(key, now, rng));
        sent.map_or(Err("not following".into()), |r| {
            r.map_err(|e| e.to_string())
        })
    }
}

/// A page's interest in an owner's poll list ([`Follows::list`]); dropping it ends the interest
/// (and the connection, if nothing else of that owner needs it).
pub struct ListWatch {
    follows: Follows,
    owner: PeerId,
    id: u64,
}

impl Drop for ListWatch {
    fn drop(&mut self) {
        self.follows.run(|rt| {
            if let Some(watchers) = rt.lists.get_mut(&self.owner) {
                watchers.retain(|(id, _)| *id != self.id);
            }
        });
        self.follows
            .step(|m, now, rng| m.drop_list(&self.owner, now, rng));
    }
}

impl Follows {
    /// The follower of `poll`, if started.
    pub fn get(&self, poll: &FollowKey) -> Option<FollowHandle> {
        self.run(|rt| rt.machine.follows(poll))
            .filter(|followed| *followed)
            .map(|_| FollowHandle {
                follows: self.clone(),
                key: poll.clone(),
            })
    }

    /// Stops and forgets the follower of `poll` (leaving it).
    pub fn remove(&self, poll: &FollowKey) {
        self.run(|rt| rt.pages.remove(poll));
        self.step(|m, now, rng| m.unfollow(poll, now, rng));
    }

    /// Stops every follower (this tab lost the identity to another one, which takes over the
    /// outboxes from IndexedDB).
    pub fn clear(&self) {
        self.run(|rt| rt.pages.clear());
        self.step(|m, now, rng| m.unfollow_all(now, rng));
    }

    /// The user's display name changed: every followed poll's owner is told.
    pub fn announce_name(&self, name: &str) {
        self.step(|m, now, rng| m.announce_name(name, now, rng));
    }

    /// Asks `owner` for its poll list over the shared connection; `on_list` hears the answer,
    /// failures to reach the owner (it keeps trying), and an impostor, while the watch lasts.
    pub fn list(
        &self,
        me: &Identity,
        owner: &PeerId,
        network: &NetworkHandle,
        on_list: Callback<OwnerList>,
    ) -> ListWatch {
        self.ensure(me, network);
        let id = self
            .run(|rt| {
                rt.next_list += 1;
                let id = rt.next_list;
                rt.lists
                    .entry(owner.clone())
                    .or_default()
                    .push((id, on_list));
                id
            })
            .unwrap_or_default();
        self.step(|m, now, rng| m.want_list(owner, now, rng));
        ListWatch {
            follows: self.clone(),
            owner: owner.clone(),
            id,
        }
    }

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
                timer: None,
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
        let Some(at) = self.run(|rt| rt.machine.poll_timeout()).flatten() else {
            self.run(|rt| rt.timer = None);
            return;
        };
        if self.run(|rt| rt.timer.as_ref().is_some_and(|(_, armed)| *armed <= at)) == Some(true) {
            return; // one at least as early is armed; it re-arms when it fires
        }
        let delay = u32::try_from(at.saturating_sub(random::now_ms())).unwrap_or(u32::MAX);
        let weak = Rc::downgrade(&self.0);
        let timer = Timeout::new(delay, move || {
            if let Some(strong) = weak.upgrade() {
                let follows = Follows(strong);
                follows.run(|rt| rt.timer = None);
                follows.step(|m, now, rng| m.handle_timeout(now, rng));
            }
        });
        self.run(|rt| rt.timer = Some((timer, at)));
    }

    fn perform(&self, output: Output) {
        let repo = self.run(|rt| rt.repo.clone()).flatten();
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
                let op = async move {
                    repo.ok_or(StorageError::Unavailable)?
                        .save_outbox(&record, &delete)
                        .await
                };
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
                let op = async move {
                    repo.ok_or(StorageError::Unavailable)?
                        .delete_outbox(poll, &ids)
                        .await
                };
                self.store("delete answered commands", op, move |f, _| {
                    f.input(Input::OutboxDeleted(&key));
                });
            }
            Output::SaveView(saved) => {
                let key = (saved.owner.clone(), saved.poll_id);
                let joined = JoinedPoll {
                    owner: saved.owner,
                    poll_id: saved.poll_id,
                    view: saved.view,
                    saved_at: saved.saved_at,
                    delegation: saved.delegation,
                };
                let op = async move {
                    repo.ok_or(StorageError::Unavailable)?
                        .save_joined(&joined)
                        .await
                };
                self.store("save the poll view", op, move |f, _| {
                    f.input(Input::ViewSaved(&key));
                });
            }
            Output::Leave(key) => {
                self.run(|rt| rt.pages.remove(&key));
                let op = async move {
                    repo.ok_or(StorageError::Unavailable)?
                        .leave(&key.0, key.1)
                        .await
                };
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

    /// Runs one IndexedDB operation in a task (a failure is logged), then `done` feeds its end
    /// back (with whether it committed), if the runtime is still alive.
    fn store(
        &self,
        what: &'static str,
        op: impl std::future::Future<Output = Result<(), StorageError>> + 'static,
        done: impl FnOnce(&Follows, bool) + 'static,
    ) {
        let weak = Rc::downgrade(&self.0);
        spawn_local(async move {
            let result = op.await;
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
