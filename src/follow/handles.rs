//! What the pages (through `AppContext`) hold of the participant runtime: [`FollowHandle`] for
//! one followed poll, [`ListWatch`] for an owner's poll list, and the [`Follows`] intents that
//! start, stop and address them. Each intent is one input to the machine (fed by the loop in
//! [`super`]); a handle keeps only its key, so it stays valid across redials and moves, and an
//! intent on a poll no longer followed is the machine's [`ParticipantError::NotFollowed`].

use std::rc::Rc;

use starpoll_core::delegation::SignedDelegation;
use starpoll_core::participant::{ParticipantError, SavedView, Start};
use starpoll_core::poll::{Command, PollId};
use starpoll_core::{Identity, PeerId};
use yew::Callback;

use super::{FollowKey, FollowSnapshot, Follows, OwnerList};
use crate::error::AppError;
use crate::network::NetworkHandle;
use crate::storage::Repository;

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
        let saved = repo.joined(&key.0, poll).await?.map(SavedView::from);
        let outbox = repo.outbox(poll).await?;
        let (start, problems) = Start::restore(me.clone(), &key, saved, via, &outbox, display_name);
        for problem in problems {
            gloo::console::warn!(problem);
        }
        follows.attach(&me, &network, repo, key.clone(), on_change);
        follows.step(|m, now, rng| m.follow(start, now, rng));
        Ok(Self {
            follows: follows.clone(),
            key,
        })
    }

    /// A command of this participant: pending at once, stored in the outbox, sent once stored.
    /// A command the link refuses to queue shows in the poll's snapshot, not here.
    pub fn submit(&self, command: Command) -> Result<(), ParticipantError> {
        let key = &self.key;
        self.follows
            .step(|m, now, rng| m.submit(key, command, now, rng))
            .unwrap_or(Err(ParticipantError::NotFollowed))
    }

    /// Dials the poll's hub now, without waiting for the scheduled attempt.
    pub fn dial(&self) {
        self.follows
            .step(|m, now, rng| m.dial_now(&self.key, now, rng));
    }

    /// The owner asks the hub serving this poll to move it under `delegation`.
    pub fn request_move(&self, delegation: &SignedDelegation) -> Result<(), ParticipantError> {
        let key = &self.key;
        self.follows
            .step(|m, now, rng| m.request_move(key, delegation, now, rng))
            .unwrap_or(Err(ParticipantError::NotFollowed))
    }

    /// Asks the hub serving this poll for its signed snapshot file (the owner's export).
    pub fn request_snapshot(&self) -> Result<(), ParticipantError> {
        let key = &self.key;
        self.follows
            .step(|m, now, rng| m.request_snapshot(key, now, rng))
            .unwrap_or(Err(ParticipantError::NotFollowed))
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
        self.follows.unwatch(&self.owner, self.id);
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
        let id = self.watch(me, network, owner, on_list);
        self.step(|m, now, rng| m.want_list(owner, now, rng));
        ListWatch {
            follows: self.clone(),
            owner: owner.clone(),
            id,
        }
    }
}

/// The registry of pages and list watchers the loop tells (the runtime is made on first use).
impl Follows {
    /// Makes the runtime on first use, with the storage and the page of a poll about to be
    /// followed.
    fn attach(
        &self,
        me: &Identity,
        network: &NetworkHandle,
        repo: Rc<Repository>,
        key: FollowKey,
        page: Callback<Rc<FollowSnapshot>>,
    ) {
        self.ensure(me, network);
        self.run(|rt| {
            rt.repo = Some(repo);
            rt.pages.insert(key, page);
        });
    }

    /// Makes the runtime on first use and adds a watcher of `owner`'s list; returns its id.
    fn watch(
        &self,
        me: &Identity,
        network: &NetworkHandle,
        owner: &PeerId,
        on_list: Callback<OwnerList>,
    ) -> u64 {
        self.ensure(me, network);
        self.run(|rt| {
            rt.next_list += 1;
            let id = rt.next_list;
            let watchers = rt.lists.entry(owner.clone()).or_default();
            watchers.push((id, on_list));
            id
        })
        .unwrap_or_default()
    }

    /// Removes the watcher `id` of `owner`'s list.
    fn unwatch(&self, owner: &PeerId, id: u64) {
        self.run(|rt| {
            if let Some(watchers) = rt.lists.get_mut(owner) {
                watchers.retain(|(watcher, _)| *watcher != id);
            }
        });
    }
}
