//! The app state and its reducer. Pure: the reducer only computes the next state; the effects it
//! implies (saving to IndexedDB) are started by the intents in [`crate::context`].

use std::rc::Rc;

use std::collections::BTreeMap;

use starpoll_core::participant::{FollowKey, FollowSnapshot};
use starpoll_core::settings::IceServer;
use starpoll_core::Identity;
use yew::Reducible;

use crate::config::ServerChoice;
use crate::error::{AppError, StorageError};
use crate::hub::HubSnapshot;
use crate::storage::Profile;

/// Everything the app shows once it has started (the database and the runtimes live in the
/// app context, not here).
///
/// Equality compares the shared identity by pointer (it never changes while the app runs) and
/// the rest by value, so Yew re-renders only on real changes.
#[derive(Clone)]
pub struct Ready {
    /// This browser's identity.
    pub identity: Rc<Identity>,
    /// The display name as last edited (saved or not).
    pub profile: Profile,
    /// Where the display name stands with respect to storage.
    pub name_save: SaveState,
    /// The signaling server this page uses.
    pub server: ServerChoice,
    /// The ICE servers saved in the settings (`None`: the defaults for `server`).
    pub ice_servers: Option<Vec<IceServer>>,
    /// Where this tab stands on the network.
    pub network: NetworkStatus,
    /// The polls this browser hosts, while this tab runs the hub.
    pub hub: Option<Rc<HubSnapshot>>,
    /// The polls this browser follows as a participant (started this session), by owner and
    /// poll ID.
    pub follows: BTreeMap<FollowKey, Rc<FollowSnapshot>>,
}

impl PartialEq for Ready {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.identity, &other.identity)
            && self.profile == other.profile
            && self.name_save == other.name_save
            && self.server == other.server
            && self.ice_servers == other.ice_servers
            && self.network == other.network
            && self.hub == other.hub
            && self.follows == other.follows
    }
}

/// What the network runtime reports to the app.
#[derive(Clone)]
pub enum NetworkEvent {
    /// The peer's status changed.
    Status(NetworkStatus),
    /// The hub's polls or their connected peers changed (or the hub started or stopped).
    Hub(Option<Rc<HubSnapshot>>),
}

/// Where this tab stands on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkStatus {
    /// Asking for the identity lock.
    Starting,
    /// Another tab of this browser holds the identity.
    OtherTab,
    /// Another tab took the identity over from this one.
    TakenOver,
    /// Registering with the signaling server.
    Connecting,
    /// The signaling server cannot be reached (it is down, or this browser's network is): the
    /// peer keeps retrying by itself, and nobody can reach this browser meanwhile.
    Unreachable,
    /// Registered: others can reach this browser.
    Online,
    /// Lost the server; reconnecting by itself.
    Reconnecting,
    /// Stopped for a reason the user must act on.
    Stopped(String),
}

impl NetworkStatus {
    /// Whether another tab of this browser holds the identity (this one only shows what is
    /// stored).
    pub fn is_other_tab(&self) -> bool {
        matches!(self, Self::OtherTab | Self::TakenOver)
    }

    /// Whether this tab is cut off from the signaling server (not merely registering, and not
    /// handing over to another tab): nobody can reach it, and it can reach nobody.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            Self::Unreachable | Self::Reconnecting | Self::Stopped(_)
        )
    }

    /// The `data-state` value the UI shows.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Starting | Self::Connecting => "connecting",
            Self::OtherTab | Self::TakenOver => "other-tab",
            Self::Online => "online",
            Self::Reconnecting => "reconnecting",
            Self::Unreachable => "unreachable",
            Self::Stopped(_) => "stopped",
        }
    }
}

/// Whether the latest edit of a stored value has reached IndexedDB.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveState {
    /// Nothing edited since load.
    Unchanged,
    /// Edit number `.0` is being written.
    Saving(u64),
    /// Edit number `.0` is committed.
    Saved(u64),
    /// Writing failed.
    Failed(StorageError),
}

/// The app's top-level state.
#[derive(Clone, Default, PartialEq)]
pub enum AppState {
    /// Opening the database and loading the identity.
    #[default]
    Starting,
    /// Start-up failed; the page explains why.
    Failed(AppError),
    /// Running.
    Ready(Ready),
}

/// What can happen to the app state.
pub enum Action {
    /// Start-up finished.
    Started(Result<Ready, AppError>),
    /// The user edited the display name; this is edit number `.1`.
    NameEdited(String, u64),
    /// Writing edit number `.0` finished.
    NameSaved(u64, Result<(), StorageError>),
    /// The network runtime reported something.
    Network(NetworkEvent),
    /// A followed poll changed.
    Follow(Rc<FollowSnapshot>),
    /// This browser left a poll it followed.
    Left(FollowKey),
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match (self.as_ref(), action) {
            (AppState::Starting, Action::Started(Ok(ready))) => Rc::new(AppState::Ready(ready)),
            (AppState::Starting, Action::Started(Err(e))) => Rc::new(AppState::Failed(e)),
            (AppState::Ready(ready), Action::NameEdited(name, edit)) => {
                let mut next = ready.clone();
                next.profile.display_name = name;
                next.name_save = SaveState::Saving(edit);
                Rc::new(AppState::Ready(next))
            }
            (AppState::Ready(ready), Action::NameSaved(edit, result)) => {
                // Only the latest edit's outcome matters; an older write finishing late is stale.
                if ready.name_save != SaveState::Saving(edit) {
                    return self;
                }
                let mut next = ready.clone();
                next.name_save = match result {
                    Ok(()) => SaveState::Saved(edit),
                    Err(e) => SaveState::Failed(e),
                };
                Rc::new(AppState::Ready(next))
            }
            (AppState::Ready(ready), Action::Network(NetworkEvent::Status(status))) => {
                if ready.network == status {
                    return self;
                }
                let mut next = ready.clone();
                next.network = status;
                Rc::new(AppState::Ready(next))
            }
            (AppState::Ready(ready), Action::Follow(snapshot)) => {
                let key = (snapshot.owner.clone(), snapshot.poll_id);
                if ready.follows.get(&key) == Some(&snapshot) {
                    return self;
                }
                let mut next = ready.clone();
                next.follows.insert(key, snapshot);
                Rc::new(AppState::Ready(next))
            }
            (AppState::Ready(ready), Action::Left(poll)) => {
                if !ready.follows.contains_key(&poll) {
                    return self;
                }
                let mut next = ready.clone();
                next.follows.remove(&poll);
                Rc::new(AppState::Ready(next))
            }
            (AppState::Ready(ready), Action::Network(NetworkEvent::Hub(hub))) => {
                let mut next = ready.clone();
                next.hub = hub;
                Rc::new(AppState::Ready(next))
            }
            _ => self,
        }
    }
}
