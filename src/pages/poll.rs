//! A poll's page (the invite link `/p/<owner>/<poll>`): the owner's view in the owner's browser
//! (share link, tallies, participants and roles, close/reopen), the participant's view
//! everywhere else (live tallies, voting, sync state, pending commands, the owner's refusals).

use std::rc::Rc;

use starpoll_core::poll::{view_for, Command, PollId, PollStatus, PollView, Role};
use starpoll_core::protocol::PeerInfo;
use starpoll_core::PeerId;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::components::{
    short_peer, Ballot, ConfirmButton, EditPoll, HubMove, HubStatus, OptionsEditor, Share, Viewer,
};
use crate::context::{AppContext, IntentError};
use crate::files;
use crate::follow::{DialProblem, SyncState};
use crate::messages;
use crate::router::{use_navigator, Link, Route};
use crate::state::{AppState, NetworkStatus, Ready};
use crate::time::{clock_time, date_time};

/// Props of [`PollPage`].
#[derive(Properties, PartialEq)]
pub struct PollPageProps {
    /// The owner's peer ID, from the URL.
    pub owner: AttrValue,
    /// The poll ID, from the URL.
    pub poll: AttrValue,
}

/// The poll page.
#[component]
pub fn PollPage(props: &PollPageProps) -> Html {
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    let parsed = props
        .owner
        .parse::<PeerId>()
        .ok()
        .zip(props.poll.parse::<PollId>().ok());
    let Some((owner, poll)) = parsed else {
        return html! {
            <section class="card error-card" data-testid="bad-link">
                <h1>{ "This link is not a poll" }</h1>
                <p>{ "An invite link looks like …/p/<owner peer ID>/<poll ID>. Check that it was copied whole." }</p>
                <p><Link to={Route::Home} testid="go-home">{ "Go to the home page" }</Link></p>
            </section>
        };
    };
    if owner == *ready.identity.peer_id() {
        html! { <OwnerView {poll} /> }
    } else {
        html! { <ParticipantView {owner} {poll} /> }
    }
}

#[derive(Properties, PartialEq)]
struct OwnerViewProps {
    poll: PollId,
}

/// The owner's page of one of its polls.
#[component]
fn OwnerView(props: &OwnerViewProps) -> Html {
    // The last refused command and why (a close or reopen shows next to its button).
    let error = use_state(|| None::<(Command, String)>);
    let move_state = use_state(|| MoveState::Idle);
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    let Some(hub) = &ready.hub else {
        return not_serving(ready, ready.identity.peer_id().clone(), props.poll, true);
    };
    let Some(hosted) = hub.polls.get(&props.poll) else {
        if let Some(delegation) = hub.moved.get(&props.poll) {
            // Served by another hub now: the owner follows it there as a client (a browser
            // cannot dial itself), its commands signed by the owner's key.
            let owner = ready.identity.peer_id().clone();
            return html! {
                <ParticipantView {owner} poll={props.poll} via={Some(delegation.hub().clone())} />
            };
        }
        let deleted = context.was_deleted(&props.poll);
        return html! {
            <section class="card" data-testid="poll-missing" data-reason={if deleted { "deleted" } else { "not-found" }}>
                <h1>{ if deleted { "Poll deleted" } else { "No such poll" } }</h1>
                <p>{ if deleted {
                    "You deleted this poll. Its participants see that it is gone."
                } else {
                    "This browser hosts no poll with this ID. Check that the link was copied whole."
                } }</p>
                <p><Link to={Route::Home} testid="go-home">{ "Go to the home page" }</Link></p>
            </section>
        };
    };
    let me = ready.identity.peer_id();
    let poll_id = props.poll;
    let view = Rc::new(view_for(&hosted.poll, me));
    let command = {
        let context = context.clone();
        let error = error.clone();
        Callback::from(move |command: Command| {
            let refused = context
                .owner_command(poll_id, &command)
                .err()
                .map(|e| e.to_string());
            error.set(refused.map(|why| (command, why)));
        })
    };
    let on_vote = command.clone();
    let open = hosted.poll.status == PollStatus::Open;
    let toggle = {
        let command = command.clone();
        Callback::from(move |_: MouseEvent| {
            command.emit(if open {
                Command::Close
            } else {
                Command::Reopen
            })
        })
    };
    let link = context.invite_link(me, poll_id, None);
    let on_move = move_callback(&context, &move_state, poll_id);
    let (move_note, move_error) = match &*move_state {
        MoveState::Idle => (None, false),
        MoveState::Started(hub) if hosted.moving => (Some(messages::moving(hub)), false),
        MoveState::Started(hub) => (Some(messages::move_aborted(hub)), true),
        MoveState::Failed(why) => (Some(why.clone()), true),
    };
    let connected = u64::try_from(hosted.present.len()).unwrap_or(u64::MAX);
    let participants = participants_connected(&hosted.poll.owner, &hosted.present, connected);
    let unreachable = messages::unreachable(&ready.network, &ready.server.server.to_url());
    // A refused close or reopen is explained next to its button; anything else at the top.
    let (toggle_error, top_error) = match &*error {
        Some((Command::Close | Command::Reopen, why)) => (Some(why.clone()), None),
        Some((_, why)) => (None, Some(why.clone())),
        None => (None, None),
    };
    html! {
        <section class="card poll" data-testid="poll-page" data-poll-id={poll_id.to_string()} data-role="owner">
            <Header view={view.clone()} />
            <HubStatus hub={me.clone()} owner={me.clone()} owner_name={AttrValue::from(owner_name(&view))} viewer={Viewer::OwnerHere} />
            <p class="status-line">
                <span class={classes!("badge", unreachable.is_none().then_some("ok"))} data-testid="sync-status" data-state="owner"
                    data-reachable={unreachable.is_none().to_string()}>
                    { if unreachable.is_none() { "You host this poll" } else { "You host this poll · offline" } }
                </span>
                <span class="hint">{ "revision " }<span data-testid="revision">{ hosted.poll.revision.0 }</span></span>
            </p>
            if let Some(why) = &unreachable {
                <p class="notice warn" role="status" data-testid="owner-unreachable">
                    <strong>{ "Participants can't reach this browser now. " }</strong>{ why.clone() }
                    { " Votes they cast meanwhile wait in their browsers and arrive once it is reachable again." }
                </p>
            }
            if let Some(why) = top_error {
                <p class="notice error" role="alert" data-testid="command-error">{ why }</p>
            }
            <Ballot view={view.clone()} can_vote={open} {on_vote} />
            <OptionsEditor view={view.clone()} may_add=true owner=true on_command={command.clone()} />
            <Share link={AttrValue::from(link)} title={AttrValue::from(hosted.poll.title.clone())}
                listed={hosted.poll.settings.listed} unreachable={unreachable.clone().map(AttrValue::from)} />
            <div class="row">
                <button type="button" class="secondary" data-testid={if open { "poll-close" } else { "poll-reopen" }} onclick={toggle}
                    aria-describedby={toggle_error.is_some().then_some("poll-toggle-error")}>
                    { if open { "Close the poll" } else { "Reopen the poll" } }
                </button>
            </div>
            if let Some(why) = toggle_error {
                <p class="notice error" role="alert" id="poll-toggle-error" data-testid="command-error">{ why }</p>
            }
            <EditPoll view={view.clone()} on_edit={command.clone()} />
            <Export view={view.clone()} owner=true />
            <HubMove {on_move} note={move_note.map(AttrValue::from)} error={move_error} busy={hosted.moving} />
            <Members view={view} present={hosted.present.clone()} participants={participants}
                on_role={command.reform(|(member, role)| Command::SetRole { member, role })} />
            <Delete poll={poll_id} />
        </section>
    }
}

/// "Keep this poll online": asks the app to move `poll` to the hub the typed text names, and
/// records in `move_state` that the move started (with the hub's short ID) or why it did not.
fn move_callback(
    context: &AppContext,
    move_state: &UseStateHandle<MoveState>,
    poll: PollId,
) -> Callback<String> {
    let (context, move_state) = (context.clone(), move_state.clone());
    Callback::from(move |target: String| {
        let hub = starpoll_core::delegation::hub_in(&target).map(|h| short_peer(&h));
        let move_state = move_state.clone();
        context.move_poll(
            poll,
            &target,
            Callback::from(move |result: Result<(), IntentError>| {
                move_state.set(match result {
                    Ok(()) => MoveState::Started(hub.clone().unwrap_or_default()),
                    Err(why) => MoveState::Failed(why.to_string()),
                })
            }),
        );
    })
}

/// Shown on a poll's page when this tab does not run the network: in a tab that does not hold
/// the identity, the poll as last stored (read-only; the banner above offers "Use this tab").
fn not_serving(ready: &Ready, owner: PeerId, poll: PollId, owned: bool) -> Html {
    match &ready.network {
        status if status.is_other_tab() => html! { <StoredPoll {owner} {poll} {owned} /> },
        NetworkStatus::Stopped(why) => html! {
            <section class="card error-card"><h1>{ "Offline" }</h1><p>{ why.clone() }</p></section>
        },
        _ => html! { <p class="starting" aria-live="polite">{ "Loading…" }</p> },
    }
}

#[derive(Properties, PartialEq)]
struct StoredPollProps {
    owner: PeerId,
    poll: PollId,
    /// Whether this browser owns the poll (else: a poll it joined).
    owned: bool,
}

/// A poll as this browser stored it, read-only.
#[component]
fn StoredPoll(props: &StoredPollProps) -> Html {
    let view = use_state(|| None::<Rc<PollView>>);
    let loaded = use_state(|| false);
    let context = use_context::<AppContext>();
    {
        let (view, loaded, context) = (view.clone(), loaded.clone(), context.clone());
        let (owner, poll, owned) = (props.owner.clone(), props.poll, props.owned);
        use_effect_with((owner.clone(), poll, owned), move |_| {
            let Some(context) = context else { return };
            let AppState::Ready(ready) = context.state() else {
                return;
            };
            let me = ready.identity.peer_id().clone();
            if owned {
                context.read_stored_polls(Callback::from(
                    move |polls: Vec<starpoll_core::poll::Poll>| {
                        view.set(
                            polls
                                .iter()
                                .find(|p| p.id == poll)
                                .map(|p| Rc::new(view_for(p, &me))),
                        );
                        loaded.set(true);
                    },
                ));
            } else {
                context.read_saved_view(
                    owner,
                    poll,
                    Callback::from(move |saved: Option<PollView>| {
                        view.set(saved.map(Rc::new));
                        loaded.set(true);
                    }),
                );
            }
        });
    }
    let role = if props.owned { "owner" } else { "participant" };
    let body = match (&*view, *loaded) {
        (Some(view), _) => html! {
            <>
                <Header view={view.clone()} />
                <p class="hint" data-testid="read-only-note">{ if props.owned {
                    "Read-only here: this poll is served from your other tab. Use this tab to manage it."
                } else {
                    "Read-only here: your votes are sent from your other tab. Use this tab to vote."
                } }</p>
                <Ballot view={view.clone()} can_vote=false on_vote={Callback::noop()} />
            </>
        },
        (None, true) => html! {
            <>
                <h1>{ "Open in another tab" }</h1>
                <p>{ "This browser has nothing saved for this poll yet; open it in the tab that is active." }</p>
            </>
        },
        (None, false) => html! { <p class="starting" aria-live="polite">{ "Loading…" }</p> },
    };
    html! {
        <section class="card poll" data-testid="poll-other-tab" data-poll-id={props.poll.to_string()} data-role={role}>
            { body }
        </section>
    }
}

/// Where the owner's last move request stands (the page's own memory; the hub's snapshot says
/// whether the poll is still frozen by it).
#[derive(Clone, PartialEq)]
enum MoveState {
    Idle,
    /// Asked to move to this hub (short ID).
    Started(String),
    /// The move did not start, in plain words.
    Failed(String),
}

/// The owner's display name in a view (empty if unknown).
fn owner_name(view: &PollView) -> String {
    view.members
        .get(&view.owner)
        .map(|m| m.display_name.clone())
        .unwrap_or_default()
}

#[derive(Properties, PartialEq)]
struct ParticipantViewProps {
    owner: PeerId,
    poll: PollId,
    /// The hub to dial first: the hub an own poll moved to (else the invite's `?via=`).
    #[prop_or_default]
    via: Option<PeerId>,
}

/// A participant's page of someone else's poll.
#[component]
fn ParticipantView(props: &ParticipantViewProps) -> Html {
    let context = use_context::<AppContext>();
    // A first vote by someone without a name waits here while the page asks for one.
    let asking_name = use_state(|| None::<Command>);
    // The owner's move request and export of its poll served elsewhere.
    let move_state = use_state(|| MoveState::Idle);
    let exporting = use_state(|| false);
    {
        // The hub's snapshot file arrives in the follow snapshot: download it once asked for.
        let file = context.as_ref().and_then(|c| match c.state() {
            AppState::Ready(r) => r
                .follows
                .get(&(props.owner.clone(), props.poll))
                .and_then(|s| s.snapshot_file.clone()),
            _ => None,
        });
        let exporting = exporting.clone();
        use_effect_with(file, move |file| {
            if let Some(text) = file.as_ref().filter(|_| *exporting) {
                if let Err(e) = files::download("poll-snapshot.json", "application/json", text) {
                    gloo::console::warn!(format!("download: {e}"));
                }
                exporting.set(false);
            }
        });
    }
    let active = context
        .as_ref()
        .is_some_and(|c| matches!(c.state(), AppState::Ready(r) if r.hub.is_some()));
    {
        let context = context.clone();
        let (owner, poll) = (props.owner.clone(), props.poll);
        let via = props.via.clone().or_else(crate::config::via_parameter);
        use_effect_with((owner.clone(), poll, active), move |_| {
            if let Some(context) = context {
                context.follow(owner, poll, via);
            }
        });
    }
    let Some(context) = context else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    if !active {
        return not_serving(ready, props.owner.clone(), props.poll, false);
    }
    let poll_id = props.poll;
    let key = (props.owner.clone(), poll_id);
    let me = ready.identity.peer_id();
    let snapshot = ready.follows.get(&key);
    let sync = snapshot.map_or(SyncState::Connecting, |s| s.sync);
    // Why the owner is not reachable: this browser offline (its own peer is not registered)
    // comes first, then what the last dial said.
    let self_offline = ready.network.is_offline();
    let problem = if sync == SyncState::Connected {
        None
    } else if self_offline {
        Some(DialProblem::SelfOffline)
    } else {
        // A dial made before this tab's peer registered says "self offline"; the status above
        // is what tells whether this browser is offline now.
        snapshot
            .and_then(|s| s.last_error.clone())
            .filter(|p| *p != DialProblem::SelfOffline)
    };
    let at_hub = snapshot.is_some_and(|s| s.hub != props.owner);
    let sync_text = match (sync, snapshot.and_then(|s| s.impostor.as_ref()), &problem) {
        (_, Some(_), _) => "The owner's ID is taken by someone else",
        (SyncState::Connected, _, _) if at_hub => "Connected to the hub",
        (SyncState::Connected, _, _) => "Connected to the owner",
        (_, _, Some(DialProblem::SelfOffline)) => "You are offline",
        (_, _, Some(DialProblem::OwnerOffline)) => "Owner not online",
        (SyncState::Offline, _, _) => "Owner not reachable",
        (SyncState::Connecting, _, _) => "Connecting to the owner…",
    };
    let reason = problem.as_ref().map(|p| {
        let (key, text) = match p {
            DialProblem::SelfOffline => (
                "self-offline",
                format!(
                    "This browser is offline: it can't reach the signaling server at {}, so it \
                     can't reach the owner either. Your vote and changes are kept here and sent \
                     once you are back online.",
                    ready.server.server.to_url()
                ),
            ),
            DialProblem::OwnerOffline => ("owner-offline", messages::dial_problem(p).to_owned()),
            DialProblem::NoAnswer => ("no-answer", messages::dial_problem(p).to_owned()),
            DialProblem::Lost => ("lost", messages::dial_problem(p).to_owned()),
            DialProblem::Other(_) => ("other", messages::dial_problem(p).to_owned()),
        };
        html! { <p class="hint" data-testid="sync-error" data-reason={key}>{ text }</p> }
    });
    let next_attempt = snapshot
        .and_then(|s| s.next_attempt_at)
        .filter(|_| sync == SyncState::Offline)
        .map(clock_time);
    let pending: &[Command] = snapshot.map_or(&[], |s| s.pending.as_slice());
    let pending_count = snapshot.map_or(0, |s| s.pending_count);
    let pending_vote = snapshot.is_some_and(|s| s.vote_pending);
    let retry = {
        let (context, key) = (context.clone(), key.clone());
        Callback::from(move |_: MouseEvent| context.retry_now(&key))
    };
    let status = html! {
        <p class="status-line">
            <span class={classes!("badge", (sync == SyncState::Connected).then_some("ok"))}
                data-testid="sync-status" data-state={sync.key()} role="status">{ sync_text }</span>
            if pending_count > 0 {
                <span class="badge warn" data-testid="pending-badge"
                    title="Changes saved in this browser, not confirmed by the owner yet">{ format!("{pending_count} pending") }</span>
            }
            if let Some(at) = next_attempt {
                <span class="hint" data-testid="next-attempt">{ format!("retrying by itself at {at}") }</span>
            }
            if sync == SyncState::Offline {
                <button type="button" class="secondary small" data-testid="sync-retry" onclick={retry}>{ "Retry now" }</button>
            }
        </p>
    };
    let more = pending_count.saturating_sub(pending.len());
    let pending_list = (pending_count > 0).then(|| html! {
        <div class="pending-list">
            <p class="hint">{ "Saved in this browser and sent when the owner is reachable:" }</p>
            <ul data-testid="pending-list">
                { for pending.iter().map(|c| html! {
                    <li data-testid="pending-item"><span class="badge warn small">{ "pending" }</span>{ " " }{ describe(c) }</li>
                }) }
                if more > 0 {
                    <li class="hint" data-testid="pending-more">{ format!("… and {more} more") }</li>
                }
            </ul>
        </div>
    });
    let impostor = snapshot.and_then(|s| s.impostor.clone()).map(|why| html! {
        <p class="notice error" role="alert" data-testid="impostor-warning">
            { "Someone is answering at the owner's peer ID without the owner's key, so nothing from them is shown and nothing is sent to them. " }
            <span class="hint">{ why }</span>
        </p>
    });
    let refusal = snapshot.and_then(|s| s.refusal.as_ref()).map(messages::command_problem).map(|why| html! {
        <p class="notice error" role="alert" data-testid="command-error"><strong>{ "Not accepted by the owner. " }</strong>{ why }</p>
    });
    if let Some(snapshot) = snapshot.filter(|s| s.gone) {
        let loaded = snapshot.view.as_ref();
        let reason = match snapshot.gone_reason {
            Some(starpoll_core::follower::GoneReason::NotFound) => "not-found",
            _ => "deleted",
        };
        let heading = match (loaded, reason) {
            (Some(view), _) => view.title.clone(),
            (None, "not-found") => "No such poll".to_owned(),
            (None, _) => "Poll deleted".to_owned(),
        };
        return html! {
            <section class="card poll" data-testid="poll-page" data-poll-id={poll_id.to_string()} data-role="participant">
                <h1>{ heading }</h1>
                <p class="notice warn" role="status" data-testid="poll-gone" data-reason={reason}>
                    { messages::gone(snapshot.gone_reason) }
                </p>
                if loaded.is_some() {
                    <Leave poll={key.clone()} pending={0} />
                }
                <p><Link to={Route::Home} testid="go-home">{ "Go to the home page" }</Link></p>
            </section>
        };
    }
    let Some(view) = snapshot.and_then(|s| s.view.clone()) else {
        return html! {
            <section class="card poll" data-testid="poll-page" data-poll-id={poll_id.to_string()} data-role="participant">
                <h1>{ "Opening the poll…" }</h1>
                { status }
                { impostor.unwrap_or_default() }
                { reason.unwrap_or_default() }
                <p class="hint">
                    { "The poll appears once its owner's browser answers, and you join it then. Owner: " }<code class="owner-id">{ props.owner.to_string() }</code>
                </p>
                <p><Link to={Route::Home} testid="go-home">{ "Go to the home page" }</Link></p>
            </section>
        };
    };
    let role = view.members.get(me).map(|m| m.role);
    // A viewer's buttons are disabled with the reason (the owner would refuse the vote anyway);
    // a participant still joining may vote: the vote waits in the outbox behind the join.
    let may_vote = role.is_none_or(|r| r.may_vote());
    let can_vote = view.status == PollStatus::Open && may_vote;
    let cannot_vote_because = (!may_vote).then(|| {
        AttrValue::from("You can watch this poll but not vote: the owner has not let you vote yet.")
    });
    let vote = {
        let (context, key) = (context.clone(), key.clone());
        Callback::from(move |vote: Command| {
            if let Err(e) = context.participant_command(&key, vote) {
                gloo::console::error!(e.to_string());
            }
        })
    };
    let nameless = ready.profile.display_name.trim().is_empty();
    let on_vote = {
        let (vote, asking_name) = (vote.clone(), asking_name.clone());
        Callback::from(move |ballot: Command| {
            if nameless {
                asking_name.set(Some(ballot));
            } else {
                vote.emit(ballot);
            }
        })
    };
    let name_prompt = (*asking_name).clone().map(|choices| {
        let on_name = {
            let (context, vote, asking_name) = (context.clone(), vote.clone(), asking_name.clone());
            let choices = choices.clone();
            Callback::from(move |name: Option<String>| {
                if let Some(name) = name {
                    context.set_display_name(name);
                }
                vote.emit(choices.clone());
                asking_name.set(None);
            })
        };
        html! { <NamePrompt {on_name} /> }
    });
    let may_add = role.is_some_and(|r| r.may_add_options(view.settings.option_adders));
    let on_command = {
        let (context, key) = (context.clone(), key.clone());
        Callback::from(move |command: Command| {
            if let Err(e) = context.participant_command(&key, command) {
                gloo::console::error!(e.to_string());
            }
        })
    };
    let stale = sync != SyncState::Connected;
    let peers = snapshot.map(|s| s.peers.clone()).unwrap_or_default();
    // The owner's count: the list may be cut at DISCOVERY_LISTED_MAX peers (PROTOCOL.md §3.4).
    let connected = snapshot.map_or(0, |s| s.connected);
    let participants = participants_connected(&props.owner, &peers, connected);
    let mine = props.owner == *me;
    let hub_peer = snapshot.map_or_else(|| props.owner.clone(), |s| s.hub.clone());
    let hub_status = html! {
        <HubStatus hub={hub_peer.clone()} owner={props.owner.clone()} owner_name={AttrValue::from(owner_name(&view))}
            viewer={if mine { Viewer::OwnerAway } else { Viewer::Participant }} />
    };
    let owner_tools = mine.then(|| {
        let open = view.status == PollStatus::Open;
        let toggle = {
            let on_command = on_command.clone();
            Callback::from(move |_: MouseEvent| {
                on_command.emit(if open { Command::Close } else { Command::Reopen })
            })
        };
        let start_move = move_callback(&context, &move_state, poll_id);
        let on_take_back = {
            let (start_move, me) = (start_move.clone(), me.to_string());
            Callback::from(move |()| start_move.emit(me.clone()))
        };
        let hub_error = snapshot.and_then(|s| s.hub_error.clone());
        let (note, error) = match (&*move_state, hub_error) {
            (_, Some(why)) => (Some(why), true),
            (MoveState::Started(hub), None) => (Some(messages::moving(hub)), false),
            (MoveState::Failed(why), None) => (Some(why.clone()), true),
            (MoveState::Idle, None) => (None, false),
        };
        let export = {
            let (context, exporting, key) = (context.clone(), exporting.clone(), key.clone());
            Callback::from(move |_: MouseEvent| match context.request_snapshot(key.clone()) {
                Ok(()) => exporting.set(true),
                Err(why) => gloo::console::warn!(why.to_string()),
            })
        };
        let link = context.invite_link(me, poll_id, Some(&hub_peer));
        html! {
            <>
                <Share link={AttrValue::from(link)} title={AttrValue::from(view.title.clone())} listed={view.settings.listed} kept_online=true />
                <div class="row">
                    <button type="button" class="secondary" data-testid={if open { "poll-close" } else { "poll-reopen" }} onclick={toggle}>
                        { if open { "Close the poll" } else { "Reopen the poll" } }
                    </button>
                    <button type="button" class="secondary" data-testid="export-snapshot" onclick={export}>{ "Signed snapshot (from the hub)" }</button>
                </div>
                <EditPoll view={view.clone()} on_edit={on_command.clone()} />
                <HubMove on_move={start_move} on_take_back={Some(on_take_back)} note={note.map(AttrValue::from)} {error} />
            </>
        }
    });
    let role_note = match role {
        None => "You are joining…".to_owned(),
        Some(Role::Viewer) => "You can watch this poll; the owner has not let you vote.".to_owned(),
        Some(Role::Owner) => "You own this poll.".to_owned(),
        Some(role) => format!("You are {} {role} in this poll.", role.article()),
    };
    html! {
        <section class="card poll" data-testid="poll-page" data-poll-id={poll_id.to_string()} data-role={if mine { "owner" } else { "participant" }} data-served-by={hub_peer.to_string()}>
            <Header view={view.clone()} />
            { hub_status }
            { status }
            { reason.unwrap_or_default() }
            { impostor.unwrap_or_default() }
            { refusal.unwrap_or_default() }
            if stale {
                <p class="hint" data-testid="stale-note">{ format!(
                    "Last known state (revision {}{}); it may have changed since.",
                    view.revision.0,
                    snapshot.and_then(|s| s.view_saved_at).map(|at| format!(", received at {}", clock_time(at))).unwrap_or_default(),
                ) }</p>
            }
            <p class="hint" data-testid="my-role">{ role_note }</p>
            <Ballot view={view.clone()} {can_vote} {on_vote} pending={pending_vote} {cannot_vote_because} />
            { name_prompt.unwrap_or_default() }
            <OptionsEditor view={view.clone()} {may_add} owner={mine} on_command={on_command.clone()} />
            { pending_list.unwrap_or_default() }
            { owner_tools.unwrap_or_default() }
            <Members view={view.clone()} present={peers} participants={participants}
                on_role={mine.then(|| on_command.reform(|(member, role)| Command::SetRole { member, role }))} />
            <Export view={view.clone()} />
            if !mine {
                <Leave poll={key} pending={pending_count} />
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NamePromptProps {
    /// Called with the name typed, or `None` to vote without one.
    on_name: Callback<Option<String>>,
}

/// Asks for a name the first time someone without one votes, so others see who voted rather
/// than a made-up "Guest".
#[component]
fn NamePrompt(props: &NamePromptProps) -> Html {
    let name = use_state(String::new);
    let input = use_node_ref();
    {
        let input = input.clone();
        use_effect_with((), move |_| {
            if let Some(input) = input.cast::<web_sys::HtmlInputElement>() {
                let _ = input.focus();
            }
        });
    }
    let oninput = {
        let name = name.clone();
        Callback::from(move |e: InputEvent| {
            name.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let onsubmit = {
        let (name, on_name) = (name.clone(), props.on_name.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let typed = name.trim().to_owned();
            on_name.emit((!typed.is_empty()).then_some(typed));
        })
    };
    let skip = {
        let on_name = props.on_name.clone();
        Callback::from(move |_: MouseEvent| on_name.emit(None))
    };
    html! {
        <form class="notice name-prompt" data-testid="name-prompt" {onsubmit}>
            <label for="name-prompt-input">{ "Your name, so others in this poll see who voted" }</label>
            <div class="peer-id-row">
                <input id="name-prompt-input" data-testid="name-prompt-input" type="text" dir="auto" ref={input}
                    maxlength={starpoll_core::poll::limits::MAX_DISPLAY_NAME_CHARS.to_string()}
                    value={(*name).clone()} {oninput} autocomplete="name" />
                <button type="submit" data-testid="name-prompt-submit" disabled={name.trim().is_empty()}>{ "Vote" }</button>
                <button type="button" class="secondary" data-testid="name-prompt-skip" onclick={skip}>{ "Vote without a name" }</button>
            </div>
        </form>
    }
}

/// A pending command, in words.
fn describe(command: &Command) -> String {
    match command {
        Command::Join { display_name } => format!("joining as {display_name}"),
        Command::CastVote {
            option_ids,
            answers,
        } if option_ids.is_empty() && answers.is_empty() => "withdrawing your vote".into(),
        Command::CastVote { .. } => "your vote".into(),
        Command::UpdateProfile { display_name } => format!("renaming yourself to {display_name}"),
        Command::AddOption { text } => format!("adding the option “{text}”"),
        Command::RenameOption { text, .. } => format!("renaming an option to “{text}”"),
        Command::RemoveOption { .. } => "removing an option".into(),
        Command::SetRole { role, .. } => format!("making someone {} {role}", role.article()),
        Command::Close => "closing the poll".into(),
        Command::Reopen => "reopening the poll".into(),
        Command::EditPoll { .. } => "editing the poll".into(),
    }
}

#[derive(Properties, PartialEq)]
struct HeaderProps {
    view: Rc<PollView>,
}

#[component]
fn Header(props: &HeaderProps) -> Html {
    let view = &props.view;
    {
        // The poll's title in the browser tab while its page is open.
        let title = view.title.clone();
        use_effect_with(title, |title| {
            let document = web_sys::window().and_then(|w| w.document());
            if let Some(document) = &document {
                document.set_title(&format!("{title} · starpoll"));
            }
            move || {
                if let Some(document) = document {
                    document.set_title("starpoll");
                }
            }
        });
    }
    let owner_name = view
        .members
        .get(&view.owner)
        .map(|m| m.display_name.clone())
        .unwrap_or_default();
    html! {
        <header class="poll-header">
            <h1 data-testid="poll-heading" dir="auto">{ view.title.clone() }</h1>
            if !view.description.is_empty() {
                <p class="description" data-testid="poll-description-text" dir="auto">{ view.description.clone() }</p>
            }
            <p class="hint">
                { "Hosted by " }<bdi>{ owner_name }</bdi>
                <span data-testid="poll-state">{ if view.status == PollStatus::Closed { " · closed" } else { " · open" } }</span>
                if let (Some(at), PollStatus::Open) = (view.deadline, view.status) {
                    <span data-testid="poll-deadline-text">{ format!(" · closes by itself at {}", date_time(at)) }</span>
                }
            </p>
            <p class="hint" data-testid="privacy-note">{
                if view.settings.anonymous {
                    "Anonymous towards other participants: they see only the tallies. Not towards the owner: the owner's browser receives your ballot under your name, and the owner can export a signed snapshot that names every voter and their choice."
                } else {
                    "Everyone in this poll sees who voted for what. The owner's browser receives every ballot."
                }
            }</p>
        </header>
    }
}

#[derive(Properties, PartialEq)]
struct MembersProps {
    view: Rc<PollView>,
    present: Vec<PeerInfo>,
    participants: usize,
    /// Set on the owner's page: change a member's role.
    #[prop_or_default]
    on_role: Option<Callback<(PeerId, Role)>>,
}

/// How many participants a discovery list and count say are connected (the owner not counted,
/// and not assumed connected: a poll kept online elsewhere may be served without it).
fn participants_connected(owner: &PeerId, peers: &[PeerInfo], connected: u64) -> usize {
    let n = PeerInfo::participants_connected(owner, peers, connected);
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Members with names, roles, and who is connected now.
#[component]
fn Members(props: &MembersProps) -> Html {
    // The owner's page: who joined as a viewer and waits to be let vote.
    let waiting: Vec<_> = props
        .view
        .members
        .iter()
        .filter(|(_, m)| m.role == Role::Viewer)
        .collect();
    let waiting = match (&props.on_role, waiting.is_empty()) {
        (Some(on_role), false) => html! {
            <div class="notice" data-testid="waiting-voters">
                <p>{ format!("Waiting for your permission to vote ({}):", waiting.len()) }</p>
                <ul class="waiting-list">
                    { for waiting.into_iter().map(|(peer, member)| {
                        let on_role = on_role.clone();
                        let peer = peer.clone();
                        let allow = Callback::from(move |_: MouseEvent| on_role.emit((peer.clone(), Role::Voter)));
                        html! {
                            <li data-testid="waiting-voter">
                                <span dir="auto">{ member.display_name.clone() }</span>{ " " }
                                <button type="button" class="secondary small" data-testid="allow-vote" onclick={allow}
                                    aria-label={format!("Let {} vote", member.display_name)}>{ "Let vote" }</button>
                            </li>
                        }
                    }) }
                </ul>
            </div>
        },
        _ => html! {},
    };
    let rows = props.view.members.iter().map(|(peer, member)| {
        let online = props.present.iter().any(|p| p.peer_id == *peer);
        let role = match (&props.on_role, member.role) {
            (Some(on_role), role) if role != Role::Owner => {
                let on_role = on_role.clone();
                let peer_for = peer.clone();
                let onchange = Callback::from(move |e: Event| {
                    let value = e.target_unchecked_into::<HtmlSelectElement>().value();
                    let role = match value.as_str() {
                        "editor" => Role::Editor,
                        "viewer" => Role::Viewer,
                        _ => Role::Voter,
                    };
                    on_role.emit((peer_for.clone(), role));
                });
                html! {
                    <select aria-label={format!("Role of {}", member.display_name)} data-testid="member-role" {onchange}>
                        { for [Role::Editor, Role::Voter, Role::Viewer].into_iter().map(|r| html! {
                            <option value={r.to_string()} selected={r == role}>{ r.to_string() }</option>
                        }) }
                    </select>
                }
            }
            (_, role) => html! { <span class="role">{ role.to_string() }</span> },
        };
        html! {
            <li class="member" data-testid="member" data-peer-id={peer.to_string()}>
                <span class={classes!("dot", online.then_some("online"))} role="img" aria-label={if online { "connected" } else { "not connected" }}></span>
                <span class="name" dir="auto">{ member.display_name.clone() }</span>
                { role }
            </li>
        }
    });
    html! {
        <section class="members" aria-labelledby="members-heading">
            <h2 id="members-heading">
                { "Participants " }
                <span class="hint">{ "(" }<span data-testid="participant-count">{ props.participants }</span>{ " connected now)" }</span>
            </h2>
            { waiting }
            <ul data-testid="members-list">{ for rows }</ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ExportProps {
    view: Rc<PollView>,
    /// The owner's page: offers the signed snapshot too.
    #[prop_or_default]
    owner: bool,
}

/// Downloads of the results: CSV for spreadsheets (anyone who sees the results), and the owner's
/// signed snapshot that anyone can verify offline.
#[component]
fn Export(props: &ExportProps) -> Html {
    let error = use_state(|| None::<String>);
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let view = props.view.clone();
    let stem = file_stem(&view.title);
    let csv = {
        let (error, view, stem) = (error.clone(), view.clone(), stem.clone());
        Callback::from(move |_: MouseEvent| {
            let result = starpoll_core::export::results_file(&view, crate::random::now_ms())
                .map_err(|e| {
                    gloo::console::warn!(format!("CSV export: {e}"));
                    "The results are hidden from you for now, so there is nothing to export yet."
                        .to_owned()
                })
                .and_then(|text| {
                    files::download(&format!("{stem}-results.csv"), "text/csv", &text).map_err(
                        |e| {
                            gloo::console::warn!(format!("download: {e}"));
                            messages::download_failed()
                        },
                    )
                });
            error.set(result.err());
        })
    };
    let snapshot = {
        let (error, poll) = (error.clone(), view.id);
        Callback::from(move |_: MouseEvent| {
            let result = context
                .snapshot(poll)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    files::download(&format!("{stem}-snapshot.json"), "application/json", &text)
                        .map_err(|e| {
                            gloo::console::warn!(format!("download: {e}"));
                            messages::download_failed()
                        })
                });
            error.set(result.err());
        })
    };
    html! {
        <section class="export" aria-labelledby="export-heading">
            <h2 id="export-heading">{ "Export" }</h2>
            <div class="row">
                if view.results.is_some() {
                    <button type="button" class="secondary" data-testid="export-csv" onclick={csv}>{ "Results as CSV" }</button>
                }
                if props.owner {
                    <button type="button" class="secondary" data-testid="export-snapshot" onclick={snapshot}>{ "Signed snapshot" }</button>
                }
                <Link to={Route::Verify} classes="hint">{ "Verify a snapshot file" }</Link>
            </div>
            if props.owner {
                <p class="hint">{ "The signed snapshot holds every ballot with its voter's signature and yours, so anyone can check the result offline. It names every voter, even in an anonymous poll." }</p>
            }
            if let Some(why) = &*error {
                <p class="notice error" role="alert" data-testid="export-error">{ why.clone() }</p>
            }
        </section>
    }
}

/// A file name stem from a poll title: letters and digits, dashes between words, at most 40
/// characters; "poll" when nothing is left.
fn file_stem(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let stem: String = words.join("-").chars().take(40).collect();
    if stem.is_empty() {
        "poll".into()
    } else {
        stem
    }
}

#[derive(Properties, PartialEq)]
struct LeaveProps {
    poll: crate::follow::FollowKey,
    /// Unsent commands that leaving would drop.
    pending: usize,
}

/// Leaving a joined poll: this browser forgets it (and its unsent commands) and stops following
/// it. The owner is not told; a ballot already counted stays counted.
#[component]
fn Leave(props: &LeaveProps) -> Html {
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let poll = props.poll.clone();
    let mut warning = String::from(
        "This browser will forget the poll. Your vote, if the owner has counted it, stays counted: \
         withdraw it first if you want it gone.",
    );
    if props.pending > 0 {
        warning.push_str(&format!(
            " {} change(s) not yet delivered to the owner will be dropped.",
            props.pending
        ));
    }
    html! {
        <FinalStep label="Leave this poll" confirm_label="Leave" testid="poll-leave" warning={warning}
            run={Callback::from(move |done: Callback<Result<(), String>>| {
                context.leave(poll.clone(), done.reform(|r: Result<(), IntentError>| r.map_err(|e| e.to_string())))
            })} />
    }
}

#[derive(Properties, PartialEq)]
struct DeleteProps {
    poll: PollId,
}

/// Deleting one of the owner's polls, after asking: participants see it as gone.
#[component]
fn Delete(props: &DeleteProps) -> Html {
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let poll = props.poll;
    html! {
        <FinalStep label="Delete this poll" confirm_label="Delete it" testid="poll-delete"
            warning="The poll, its ballots and its history are deleted from this browser for good. Participants see that it is gone. Export a signed snapshot first if you want to keep the result."
            run={Callback::from(move |done: Callback<Result<(), String>>| done.emit(context.delete_poll(poll).map_err(|e| e.to_string())))} />
    }
}

#[derive(Properties, PartialEq)]
struct FinalStepProps {
    label: AttrValue,
    confirm_label: AttrValue,
    testid: AttrValue,
    warning: AttrValue,
    /// Does it, then reports the outcome to the callback it is given.
    run: Callback<Callback<Result<(), String>>>,
}

/// A final step for this poll (leave, delete), asked twice; once done, the home page opens, and
/// a failure is shown here.
#[component]
fn FinalStep(props: &FinalStepProps) -> Html {
    let error = use_state(|| None::<String>);
    let navigator = use_navigator();
    let on_confirm = {
        let (error, run) = (error.clone(), props.run.clone());
        Callback::from(move |()| {
            let (error, navigator) = (error.clone(), navigator.clone());
            run.emit(Callback::from(
                move |result: Result<(), String>| match result {
                    Ok(()) => {
                        if let Some(navigator) = &navigator {
                            navigator.push(&Route::Home);
                        }
                    }
                    Err(why) => error.set(Some(why)),
                },
            ));
        })
    };
    html! {
        <section class="danger-zone" aria-label={props.label.clone()}>
            <ConfirmButton label={props.label.clone()} confirm_label={props.confirm_label.clone()}
                testid={props.testid.clone()} warning={props.warning.clone()} {on_confirm} />
            if let Some(why) = &*error {
                <p class="notice error" role="alert">{ why.clone() }</p>
            }
        </section>
    }
}
