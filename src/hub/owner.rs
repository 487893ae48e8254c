//! The hub runtime's face to the owner's screen: starting it from storage, the snapshot the
//! screen renders, and the owner's own actions (create, vote and close, delete, move, export).
//! Each action feeds the core's [`HubMachine`] and lets the runtime perform what comes out.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use starpoll_core::delegation::SignedDelegation;
use starpoll_core::hub::machine::HubMachine;
use starpoll_core::hub::MoveError as CoreMoveError;
use starpoll_core::hub::{Hub, Limits};
use starpoll_core::poll::{Command, Outcome, Poll, PollDraft, PollId, Refusal, Revision};
use starpoll_core::protocol::PeerInfo;
use starpoll_core::snapshot::ExportError;
use starpoll_core::{Identity, PeerId};
use yew::Callback;

use super::{Dialer, HubHandle, Inner};
use crate::error::{AppError, StorageError};
use crate::next_task::NextTask;
use crate::random;
use crate::storage::Repository;
use crate::wakeup::Wakeup;

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
            machine: HubMachine::new(hub),
            repo,
            conns: BTreeMap::new(),
            next_conn: 0,
            inbox: starpoll_core::hub::checks::CheckQueue::new(),
            slicer: None,
            checker: None,
            checker_started: false,
            expiries: BTreeMap::new(),
            failed: None,
            on_change,
            timer: Wakeup::default(),
            notify_timer: None,
            notified_at: 0.0,
            dialer: None,
        })));
        let weak = Rc::downgrade(&handle.0);
        let slicer = NextTask::new(move || {
            if let Some(inner) = weak.upgrade() {
                HubHandle(inner).work_inbox();
            }
        })?;
        handle.0.borrow_mut().slicer = Some(slicer);
        // Deadlines that passed while the owner was away close now.
        handle.wake();
        Ok(handle)
    }

    /// The current snapshot for the screen.
    pub fn snapshot(&self) -> Rc<HubSnapshot> {
        let inner = self.0.borrow();
        let hub = inner.machine.hub();
        let polls = hub
            .polls()
            .map(|poll| {
                let hosted = HostedPoll {
                    poll: poll.clone(),
                    present: hub.present(&poll.id),
                    moving: hub.is_moving(&poll.id),
                };
                (poll.id, hosted)
            })
            .collect();
        let me = hub.me().clone();
        let moved = hub
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
        let now = random::now_ms();
        self.0.borrow_mut().machine.create(id, draft, now)?;
        self.drive();
        Ok(id)
    }

    /// The owner's own command on one of its polls. Returns the outcome at once (it is
    /// committed and broadcast right after); `None` if the poll is unknown.
    pub fn local(&self, poll: PollId, command: &Command) -> Result<Option<Outcome>, AppError> {
        let id = random::command_id()?;
        let now = random::now_ms();
        let outcome = self.0.borrow_mut().machine.local(poll, id, command, now);
        self.drive();
        Ok(outcome)
    }

    /// Deletes one of the owner's polls: its row and its command records are deleted in one
    /// transaction, and only then are the participants following it told (`unknown-poll`) and
    /// the screen updated. Returns whether the poll existed.
    pub fn delete(&self, poll: PollId) -> bool {
        let existed = self.0.borrow_mut().machine.delete(poll);
        self.drive();
        existed
    }

    /// Moves an own poll served here to the hub `target` (PROTOCOL.md §8.4): the outcome shows
    /// in the snapshot (`moved`, or the poll served again after an abort).
    pub fn move_poll(&self, poll: PollId, target: PeerId) -> Result<(), MoveError> {
        let now = random::now_ms();
        self.0.borrow_mut().machine.move_poll(poll, target, now)?;
        self.drive();
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
        let (writes, delegation) =
            self.0
                .borrow_mut()
                .machine
                .sign_move(poll, target, from_revision)?;
        let repo = self.0.borrow().repo.clone();
        repo.commit(&writes)
            .await
            .map_err(|e| MoveError::Storage(e.to_string()))?;
        Ok(delegation)
    }

    /// Whether the owner deleted `poll` (the hub keeps the ids of deleted polls).
    pub fn was_deleted(&self, poll: &PollId) -> bool {
        self.0.borrow().machine.hub().was_deleted(poll)
    }

    /// The signed snapshot file of one of the owner's polls, exported now
    /// ([`starpoll_core::snapshot`]).
    pub fn signed_export(&self, poll: &PollId) -> Result<String, ExportError> {
        self.0
            .borrow()
            .machine
            .hub()
            .snapshot(poll, random::now_ms())
    }

    /// Sets how the hub opens hub-to-hub connections (the tab's peer).
    pub fn set_dialer(&self, dialer: Dialer) {
        self.0.borrow_mut().dialer = Some(dialer);
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
