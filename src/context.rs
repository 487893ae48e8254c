//! The app context: what every page and component gets from the root — the app state and
//! the intents that change it. Pages call intents and render the state; the intents start the
//! effects (the hub, the followers, storage) and report back through the reducer or a callback.
//!
//! Invariants: the context, not the reducer state, holds the open database (set once, when
//! start-up succeeded) and the runtimes, so no page reaches storage or the transport; an intent
//! that fails returns an [`IntentError`] that keeps its cause, and whose `Display` is the
//! sentence `src/messages.rs` words for a person (the technical text goes to the console).

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use starpoll_core::participant::ParticipantError;
use starpoll_core::poll::{Command, Outcome, Poll, PollDraft, PollId, PollView, Refusal};
use starpoll_core::settings::Settings;
use starpoll_core::snapshot::ExportError;
use starpoll_core::{Identity, PeerId, ServerConfig};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::error::{AppError, JsError, StorageError};
use crate::follow::{FollowHandle, FollowKey, FollowStart, Follows, ListWatch, OwnerList};
use crate::hub::{CreateError, MoveError};
use crate::network::NetworkHandle;
use crate::state::{Action, AppState, Ready};
use crate::storage::Repository;

/// What replacing the identity would clear (counts of this browser's records), for the
/// settings page's warning. A plain record, re-exported so pages never name the storage layer.
pub use crate::storage::DataSummary;

/// Why an intent did not do what a page asked. Its `Display` is the plain sentence for the
/// page (implemented in `src/messages.rs`); `source()` keeps the technical cause.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum IntentError {
    /// The app has not finished starting (no database yet).
    NotStarted,
    /// This tab does not run the hub: another tab of this browser holds the identity.
    OtherTab,
    /// This browser does not (or no longer) host the poll.
    NotHosted(PollId),
    /// The owner's hub refused the owner's own command.
    Refused {
        /// Why.
        refusal: Refusal,
        /// The command refused.
        command: Box<Command>,
    },
    /// A new poll was not created.
    Create(CreateError),
    /// The owner's command could not be committed, so it was not made.
    NotSaved(AppError),
    /// The signed snapshot could not be made.
    Export(Rc<ExportError>),
    /// The followed poll has not loaded yet.
    Loading,
    /// A participant's command could not be prepared.
    NotPrepared(AppError),
    /// The text given as a hub names no peer.
    NotAHub,
    /// A move did not start.
    Move(Rc<MoveError>),
    /// The owner's link to the hub serving its poll is not open (`None`: no link at all).
    HubNotConnected(Option<Rc<ParticipantError>>),
    /// This browser's storage failed.
    Storage(StorageError),
    /// The storage failed while forgetting a left poll.
    NotForgotten(StorageError),
    /// The identity was not replaced (nothing changed).
    IdentityNotReplaced(StorageError),
    /// The identity was replaced but the page did not reload.
    Reload(JsError),
}

impl std::error::Error for IntentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Create(e) => Some(e),
            Self::NotSaved(e) | Self::NotPrepared(e) => Some(e),
            Self::Export(e) => Some(e.as_ref()),
            Self::Move(e) => Some(e.as_ref()),
            Self::Storage(e) | Self::NotForgotten(e) | Self::IdentityNotReplaced(e) => Some(e),
            Self::Reload(e) => Some(e),
            Self::HubNotConnected(Some(e)) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// Reloads the page (after the identity changed, so nothing of the old one keeps running).
fn reload() -> Result<(), JsError> {
    let window = web_sys::window().ok_or_else(|| JsError {
        name: "Error".into(),
        message: "no window".into(),
    })?;
    window.location().reload()?;
    Ok(())
}

/// The open database, once start-up opened it. Equal when it is the same slot.
#[derive(Clone, Default)]
struct Store(Rc<OnceCell<Rc<Repository>>>);

impl PartialEq for Store {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// What components get from the app: the state and the intents that change it.
#[derive(Clone, PartialEq)]
pub struct AppContext {
    state: UseReducerHandle<AppState>,
    store: Store,
    edits: Rc<Cell<u64>>,
    network: NetworkHandle,
    follows: Follows,
    starting: Rc<RefCell<BTreeSet<FollowKey>>>,
    /// Debounces telling poll owners about a new display name.
    name_timer: Debounce,
}

/// A pending timer that a newer one replaces (dropping a `Timeout` cancels it). Equal when it
/// is the same slot.
#[derive(Clone, Default)]
struct Debounce(Rc<RefCell<Option<gloo::timers::callback::Timeout>>>);

impl PartialEq for Debounce {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl AppContext {
    /// The current app state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Start-up finished: keeps the database (the state never holds it) and reports the
    /// outcome to the reducer.
    pub fn started(&self, result: Result<(Ready, Repository), AppError>) {
        let result = result.map(|(ready, repo)| {
            if self.store.0.set(Rc::new(repo)).is_err() {
                gloo::console::warn!("start-up finished twice; keeping the first database");
            }
            ready
        });
        self.state.dispatch(Action::Started(result));
    }

    /// The started app's state and its database.
    fn ready(&self) -> Option<(&Ready, Rc<Repository>)> {
        let AppState::Ready(ready) = &*self.state else {
            return None;
        };
        Some((ready, self.store.0.get()?.clone()))
    }

    /// Starts (or, with `steal`, takes over from another tab) this tab's network identity.
    pub fn start_network(&self, steal: bool) {
        let Some((ready, repo)) = self.ready() else {
            return;
        };
        let state = self.state.clone();
        self.network.start(
            ready.identity.clone(),
            ready.server.server.clone(),
            ready.ice_servers.clone(),
            repo,
            steal,
            Callback::from(move |event| state.dispatch(Action::Network(event))),
        );
    }

    /// The running hub, or why this tab has none.
    fn hub(&self) -> Result<crate::hub::HubHandle, IntentError> {
        self.network.hub().ok_or(IntentError::OtherTab)
    }

    /// Creates a poll owned by this browser; its ID, or why not.
    pub fn create_poll(&self, draft: PollDraft) -> Result<PollId, IntentError> {
        self.hub()?.create(draft).map_err(IntentError::Create)
    }

    /// The owner's own command on one of its polls: `Err` with the reason if refused.
    pub fn owner_command(&self, poll: PollId, command: &Command) -> Result<(), IntentError> {
        match self.hub()?.local(poll, command) {
            Ok(Some(Outcome::Acked { .. })) => Ok(()),
            Ok(Some(Outcome::Refused { refusal })) => Err(IntentError::Refused {
                refusal,
                command: Box::new(command.clone()),
            }),
            Ok(None) => Err(IntentError::NotHosted(poll)),
            Err(e) => {
                gloo::console::error!(format!("the owner's command on {poll}: {e}"));
                Err(IntentError::NotSaved(e))
            }
        }
    }

    /// Deletes one of this browser's polls, for good: its participants see it as gone.
    pub fn delete_poll(&self, poll: PollId) -> Result<(), IntentError> {
        if self.hub()?.delete(poll) {
            Ok(())
        } else {
            Err(IntentError::NotHosted(poll))
        }
    }

    /// Whether this browser's hub deleted `poll` (so its page says "deleted", not "no such
    /// poll").
    pub fn was_deleted(&self, poll: &PollId) -> bool {
        self.network.hub().is_some_and(|hub| hub.was_deleted(poll))
    }

    /// The signed snapshot file of one of this browser's polls, exported now.
    pub fn snapshot(&self, poll: PollId) -> Result<String, IntentError> {
        self.hub()?.signed_export(&poll).map_err(|e| {
            gloo::console::error!(format!("export of {poll}: {e}"));
            IntentError::Export(Rc::new(e))
        })
    }

    /// Whether this tab holds the identity (runs the hub and the followers).
    pub fn is_active(&self) -> bool {
        self.network.hub().is_some()
    }

    /// Starts following `poll` of `owner` as a participant (once per poll per session), if this
    /// tab is the active one: only that tab sends outbox commands.
    /// `via`: the hub to dial first (an invite's `?via=`, or the hub an own poll moved to).
    pub fn follow(&self, owner: PeerId, poll: PollId, via: Option<PeerId>) {
        let Some((ready, repo)) = self.ready() else {
            return;
        };
        let key: FollowKey = (owner.clone(), poll);
        if !self.is_active()
            || self.follows.get(&key).is_some()
            || !self.starting.borrow_mut().insert(key.clone())
        {
            return;
        }
        let name = ready.profile.display_name.trim().to_owned();
        let name = if name.is_empty() {
            format!(
                "Guest {}",
                ready
                    .identity
                    .peer_id()
                    .as_str()
                    .get(..4)
                    .unwrap_or_default()
            )
        } else {
            name
        };
        let state = self.state.clone();
        let on_change = Callback::from(move |snapshot| state.dispatch(Action::Follow(snapshot)));
        let start = FollowStart {
            me: (*ready.identity).clone(),
            owner,
            poll,
            display_name: name,
            network: self.network.clone(),
            repo,
            on_change,
            via,
        };
        let (follows, starting) = (self.follows.clone(), self.starting.clone());
        spawn_local(async move {
            match FollowHandle::start(start, &follows).await {
                Ok(_) => {}
                Err(e) => gloo::console::error!(format!("could not follow poll {poll}: {e}")),
            }
            starting.borrow_mut().remove(&key);
        });
    }

    /// Follows every poll this browser joined, so their outboxes drain and the dashboard knows
    /// whether each owner is reachable (called when this tab becomes the active one).
    pub fn follow_joined(&self) {
        let Some((_, repo)) = self.ready() else {
            return;
        };
        let context = self.clone();
        spawn_local(async move {
            match repo.joined_polls().await {
                Ok(joined) => {
                    for j in joined {
                        if j.view.is_some() {
                            context.follow(j.owner, j.poll_id, None);
                        } else if let Err(e) = repo.leave(&j.owner, j.poll_id).await {
                            // Saved by an older version before it ever loaded (a wrong link,
                            // or an owner never reached): nothing in it is worth keeping.
                            gloo::console::warn!(format!(
                                "could not drop a never-loaded poll: {e}"
                            ));
                        }
                    }
                }
                Err(e) => gloo::console::error!(format!("could not list joined polls: {e}")),
            }
        });
    }

    /// Stops every follower (another tab took the identity and now sends the outboxes).
    pub fn stop_following(&self) {
        self.follows.clear();
    }

    /// A participant's command on a followed poll.
    pub fn participant_command(
        &self,
        poll: &FollowKey,
        command: Command,
    ) -> Result<(), IntentError> {
        let handle = self.follows.get(poll).ok_or(IntentError::Loading)?;
        handle.submit(command).map_err(|e| match e {
            ParticipantError::NoCommandId => {
                gloo::console::error!(format!("could not make a command id: {e}"));
                IntentError::NotPrepared(AppError::Random(e.to_string()))
            }
            _ => IntentError::Loading,
        })
    }

    /// Moves an own poll to the hub named in `target` (a peer ID, or a link containing one;
    /// this browser's own ID takes a moved poll back), PROTOCOL.md §8.4: from this browser's
    /// hub when it serves the poll, else by asking the hub serving it now (a delegation signed
    /// here, sent over the owner's link to that hub). `done` hears whether the move started;
    /// its progress shows in the hub and follow snapshots.
    pub fn move_poll(&self, poll: PollId, target: &str, done: Callback<Result<(), IntentError>>) {
        let AppState::Ready(ready) = &*self.state else {
            return;
        };
        let Some(target) = starpoll_core::delegation::hub_in(target) else {
            done.emit(Err(IntentError::NotAHub));
            return;
        };
        let hub = match self.hub() {
            Ok(hub) => hub,
            Err(e) => {
                done.emit(Err(e));
                return;
            }
        };
        let me = ready.identity.peer_id().clone();
        if ready
            .hub
            .as_ref()
            .is_some_and(|h| h.polls.contains_key(&poll))
        {
            done.emit(hub.move_poll(poll, target).map_err(|e| {
                gloo::console::warn!(format!("move: {e}"));
                IntentError::Move(Rc::new(e))
            }));
            return;
        }
        let key: FollowKey = (me, poll);
        let revision = ready
            .follows
            .get(&key)
            .and_then(|s| s.view.as_ref().map(|v| v.revision))
            .unwrap_or_default();
        let Some(handle) = self.follows.get(&key) else {
            done.emit(Err(IntentError::HubNotConnected(None)));
            return;
        };
        spawn_local(async move {
            let result = match hub.sign_move(poll, target, revision).await {
                Ok(delegation) => handle.request_move(&delegation).map_err(|e| {
                    gloo::console::warn!(format!("move: {e}"));
                    IntentError::HubNotConnected(Some(Rc::new(e)))
                }),
                Err(e) => {
                    gloo::console::warn!(format!("move: {e}"));
                    Err(IntentError::Move(Rc::new(e)))
                }
            };
            done.emit(result);
        });
    }

    /// Asks the hub serving an own moved poll for its signed snapshot file (the export); it
    /// arrives in the poll's follow snapshot.
    pub fn request_snapshot(&self, poll: FollowKey) -> Result<(), IntentError> {
        let handle = self
            .follows
            .get(&poll)
            .ok_or(IntentError::HubNotConnected(None))?;
        handle.request_snapshot().map_err(|e| {
            gloo::console::warn!(format!("snapshot: {e}"));
            IntentError::HubNotConnected(Some(Rc::new(e)))
        })
    }

    /// Leaves a followed poll: stops following it and forgets its saved view and unsent
    /// commands. `done` gets the outcome once the forgetting is durable.
    pub fn leave(&self, poll: FollowKey, done: Callback<Result<(), IntentError>>) {
        let Some((_, repo)) = self.ready() else {
            done.emit(Err(IntentError::NotStarted));
            return;
        };
        self.follows.remove(&poll);
        let state = self.state.clone();
        spawn_local(async move {
            let result = repo.leave(&poll.0, poll.1).await.map_err(|e| {
                gloo::console::error!(format!("could not forget the poll: {e}"));
                IntentError::NotForgotten(e)
            });
            state.dispatch(Action::Left(poll));
            done.emit(result);
        });
    }

    /// Asks `owner` for the polls it lists, over the same connection as the polls followed
    /// there; `on_list` hears the answer (or why the owner cannot be reached) while the returned
    /// watch lives. `None` unless this tab holds the identity.
    pub fn list_owner_polls(
        &self,
        owner: &PeerId,
        on_list: Callback<OwnerList>,
    ) -> Option<ListWatch> {
        let AppState::Ready(ready) = &*self.state else {
            return None;
        };
        if !self.is_active() {
            return None;
        }
        Some(
            self.follows
                .list(&ready.identity, owner, &self.network, on_list),
        )
    }

    /// Reads the polls this browser hosts from storage (for a tab that does not run the hub,
    /// which shows them read-only). `done` gets them, oldest first; nothing on a storage error,
    /// which is logged.
    pub fn read_stored_polls(&self, done: Callback<Vec<Poll>>) {
        let Some((_, repo)) = self.ready() else {
            return;
        };
        spawn_local(async move {
            match repo.stored_polls().await {
                Ok(polls) => done.emit(polls),
                Err(e) => gloo::console::error!(format!("could not read the stored polls: {e}")),
            }
        });
    }

    /// Reads the last view of a joined poll this browser saved (for a tab that does not run the
    /// network). `done` gets it, or `None` if none was saved.
    pub fn read_saved_view(&self, owner: PeerId, poll: PollId, done: Callback<Option<PollView>>) {
        let Some((_, repo)) = self.ready() else {
            return;
        };
        spawn_local(async move {
            match repo.joined(&owner, poll).await {
                Ok(joined) => done.emit(joined.and_then(|j| j.view)),
                Err(e) => gloo::console::error!(format!("could not read the saved poll: {e}")),
            }
        });
    }

    /// Reads the last verified view of every poll this browser joined (the dashboard's
    /// *Joined* list; a poll never loaded has none and is left out). `done` gets them; nothing
    /// on a storage error, which is logged.
    pub fn read_joined_views(&self, done: Callback<Vec<(FollowKey, PollView)>>) {
        let Some((_, repo)) = self.ready() else {
            return;
        };
        spawn_local(async move {
            match repo.joined_polls().await {
                Ok(list) => done.emit(
                    list.into_iter()
                        .filter_map(|j| Some(((j.owner, j.poll_id), j.view?)))
                        .collect(),
                ),
                Err(e) => gloo::console::error!(format!("could not list joined polls: {e}")),
            }
        });
    }

    /// Reads the saved settings (signaling server, ICE servers).
    pub fn read_settings(&self, done: Callback<Result<Settings, IntentError>>) {
        let Some((_, repo)) = self.ready() else {
            return;
        };
        spawn_local(async move {
            done.emit(repo.settings().await.map_err(IntentError::Storage));
        });
    }

    /// Saves the settings; they apply from the next page load. `done` gets the outcome once
    /// the write committed.
    pub fn save_settings(&self, settings: Settings, done: Callback<Result<(), IntentError>>) {
        let Some((_, repo)) = self.ready() else {
            done.emit(Err(IntentError::NotStarted));
            return;
        };
        spawn_local(async move {
            done.emit(
                repo.save_settings(&settings)
                    .await
                    .map_err(IntentError::Storage),
            );
        });
    }

    /// Counts what replacing the identity would clear. `done` gets the counts; nothing on a
    /// storage error, which is logged.
    pub fn read_data_summary(&self, done: Callback<DataSummary>) {
        let Some((_, repo)) = self.ready() else {
            return;
        };
        spawn_local(async move {
            match repo.data_summary().await {
                Ok(summary) => done.emit(summary),
                Err(e) => gloo::console::warn!(format!("could not count the data: {e}")),
            }
        });
    }

    /// Replaces this browser's identity with `identity` (import or reset): stops this tab's
    /// peer and followers, clears every store but the settings and writes the new identity in
    /// one transaction, then reloads the page. `done` hears only a failure: on a storage error
    /// nothing changed and the tab goes back online with the current identity.
    pub fn replace_identity(&self, identity: Identity, done: Callback<IntentError>) {
        let Some((_, repo)) = self.ready() else {
            done.emit(IntentError::NotStarted);
            return;
        };
        self.network.stop();
        self.stop_following();
        let context = self.clone();
        spawn_local(async move {
            if let Err(e) = repo.replace_identity(&identity).await {
                gloo::console::error!(format!("could not replace the identity: {e}"));
                context.start_network(false);
                done.emit(IntentError::IdentityNotReplaced(e));
                return;
            }
            if let Err(e) = reload() {
                done.emit(IntentError::Reload(e));
            }
        });
    }

    /// Dials the owner of a followed poll now, without waiting for the next scheduled attempt.
    pub fn retry_now(&self, poll: &FollowKey) {
        if let Some(handle) = self.follows.get(poll) {
            handle.dial();
        }
    }

    /// The invite link of a poll: this page's origin, the poll's path, and the signaling
    /// server when it is not the one the link's host would pick by default.
    /// For a poll served by another hub, `via` names it (`?via=`), so a new participant dials
    /// that hub directly.
    pub fn invite_link(&self, owner: &PeerId, poll: PollId, via: Option<&PeerId>) -> String {
        let location = web_sys::window().map(|w| w.location());
        let origin = location
            .as_ref()
            .and_then(|l| l.origin().ok())
            .unwrap_or_default();
        let host = location
            .as_ref()
            .and_then(|l| l.hostname().ok())
            .unwrap_or_default();
        let mut link = format!("{origin}/p/{owner}/{poll}");
        if let AppState::Ready(ready) = &*self.state {
            let server: &ServerConfig = &ready.server.server;
            if *server != ServerConfig::default_for_page_host(&host) {
                let url = server.to_url();
                let encoded = js_sys::encode_uri_component(&url);
                link.push_str(&format!("?peerjs={encoded}"));
            }
        }
        if let Some(via) = via {
            link.push(if link.contains('?') { '&' } else { '?' });
            link.push_str(&format!("via={via}"));
        }
        link
    }

    /// Sets this browser's display name and saves it.
    pub fn set_display_name(&self, name: String) {
        let Some((ready, repo)) = self.ready() else {
            return;
        };
        let edit = self.edits.get() + 1;
        self.edits.set(edit);
        let mut profile = ready.profile.clone();
        profile.display_name = name.clone();
        let state = self.state.clone();
        state.dispatch(Action::NameEdited(name.clone(), edit));
        spawn_local(async move {
            let result = repo.save_profile(&profile).await;
            state.dispatch(Action::NameSaved(edit, result));
        });
        // Once typing pauses for a second, tell the polls (`user:profile`).
        let context = self.clone();
        let timer = gloo::timers::callback::Timeout::new(1_000, move || {
            context.announce_name(&name);
        });
        *self.name_timer.0.borrow_mut() = Some(timer);
    }

    /// Tells every poll this browser is a member of that its name is now `name`.
    fn announce_name(&self, name: &str) {
        let name = name.trim();
        let AppState::Ready(ready) = &*self.state else {
            return;
        };
        if name.is_empty() {
            return;
        }
        let me = ready.identity.peer_id();
        let command = Command::UpdateProfile {
            display_name: name.to_owned(),
        };
        let stale = |members: &std::collections::BTreeMap<PeerId, starpoll_core::poll::Member>| {
            members.get(me).is_some_and(|m| m.display_name != name)
        };
        for hosted in ready.hub.iter().flat_map(|hub| hub.polls.values()) {
            if stale(&hosted.poll.members) {
                if let Err(e) = self.owner_command(hosted.poll.id, &command) {
                    gloo::console::warn!(format!("could not rename in {}: {e}", hosted.poll.id));
                }
            }
        }
        // Followed polls: the core compares with the last name queued, not the last confirmed,
        // and keeps at most one rename pending per poll.
        self.follows.announce_name(name);
    }
}

/// The app context of the root component, over its reducer `state`: the runtimes it starts
/// are made once per app.
#[hook]
pub fn use_app_context(state: UseReducerHandle<AppState>) -> AppContext {
    let edits = use_memo((), |_| Cell::new(0u64));
    let network = (*use_memo((), |_| NetworkHandle::default())).clone();
    let follows = (*use_memo((), |_| Follows::default())).clone();
    let starting = use_memo((), |_| RefCell::new(BTreeSet::new()));
    let name_timer = (*use_memo((), |_| Debounce::default())).clone();
    let store = (*use_memo((), |_| Store::default())).clone();
    AppContext {
        state,
        store,
        edits,
        network,
        follows,
        starting,
        name_timer,
    }
}
