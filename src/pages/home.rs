//! The home page: my polls and the polls I joined, create and join, and who I am on the
//! network (peer ID, display name, signaling server).

use starpoll_core::poll::{Poll, PollId, PollStatus, PollView};
use starpoll_core::PeerId;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::{CopyButton, NameField};
use crate::context::AppContext;
use std::collections::BTreeMap;
use std::rc::Rc;

use starpoll_core::follower::GoneReason;

use crate::follow::{DialProblem, FollowKey, FollowSnapshot, SyncState};
use crate::messages;
use crate::router::{use_navigator, Link, Route};
use crate::state::{AppState, NetworkStatus};

/// What the join box was given.
fn parse_join(text: &str) -> Option<Route> {
    let text = text.trim();
    if let Ok(owner) = text.parse::<PeerId>() {
        return Some(Route::OwnerPolls {
            owner: owner.to_string(),
        });
    }
    // An invite link: …/p/<owner>/<poll>[?…]
    let path = text.split(['?', '#']).next()?;
    let mut parts = path.rsplit('/');
    let poll = parts.next()?.parse::<PollId>().ok()?;
    let owner = parts.next()?.parse::<PeerId>().ok()?;
    (parts.next()? == "p").then(|| Route::Poll {
        owner: owner.to_string(),
        poll: poll.to_string(),
    })
}

/// The join box: an invite link or an owner's peer ID.
#[component]
fn JoinForm() -> Html {
    let text = use_state(String::new);
    let error = use_state(|| false);
    let navigator = use_navigator();
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            text.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let onsubmit = {
        let (text, error) = (text.clone(), error.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match (parse_join(&text), &navigator) {
                (Some(route), Some(navigator)) => navigator.push(&route),
                _ => error.set(true),
            }
        })
    };
    html! {
        <form class="join" {onsubmit}>
            <label for="join-input">{ "Join a poll" }</label>
            <div class="peer-id-row">
                <input id="join-input" data-testid="join-input" type="text" value={(*text).clone()}
                    placeholder="Invite link or the owner's peer ID" {oninput} />
                <button type="submit" data-testid="join-submit">{ "Join" }</button>
            </div>
            if *error {
                <p class="hint error" role="alert" data-testid="join-error">
                    { "That is neither an invite link (…/p/<owner>/<poll>) nor a peer ID." }
                </p>
            }
        </form>
    }
}

/// One of my polls in the list; `connected` is how many participants are connected now
/// (`None` in a tab that does not run the hub, which knows only what is stored).
fn my_poll_item(me: &str, poll: &Poll, connected: Option<usize>, voted: bool) -> Html {
    let members = poll.members.len().saturating_sub(1);
    let plural = if members == 1 { "" } else { "s" };
    let connected = connected.map_or_else(String::new, |n| format!(" · {n} connected now"));
    let ballots = poll.ballots.len();
    let votes = format!("{ballots} vote{}", if ballots == 1 { "" } else { "s" });
    let created = crate::time::date_time(poll.created_at);
    html! {
        <li>
            <Link to={Route::Poll { owner: me.to_owned(), poll: poll.id.to_string() }} classes="poll-list-item-link">
                <span data-testid="poll-list-item" data-poll-id={poll.id.to_string()} class="poll-list-item">
                    <span class="title" dir="auto">{ poll.title.clone() }</span>
                    <span class={classes!("badge", (poll.status == PollStatus::Open).then_some("ok"))} data-testid="poll-list-status">
                        { if poll.status == PollStatus::Open { "open" } else { "closed" } }
                    </span>
                    <span class="badge" data-testid="poll-list-vote">{ if voted { "you voted" } else { "not voted" } }</span>
                    <span class="hint" data-testid="poll-list-votes">{ votes }</span>
                    <span class="hint">
                        { format!("you host it · created {created} · {members} participant{plural}{connected}") }
                    </span>
                </span>
            </Link>
        </li>
    }
}

/// My polls and the polls I joined.
#[component]
fn PollLists() -> Html {
    // The last verified view of every joined poll, as saved.
    let joined = use_state(Vec::<(FollowKey, PollView)>::new);
    // What storage holds, for a tab that does not run the hub (shown read-only).
    let stored = use_state(Vec::<Poll>::new);
    let context = use_context::<AppContext>();
    {
        let (stored, context) = (stored.clone(), context.clone());
        let other_tab = matches!(
            context.as_ref().map(AppContext::state),
            Some(AppState::Ready(r)) if r.network.is_other_tab()
        );
        use_effect_with(other_tab, move |other_tab| {
            if let (true, Some(context)) = (*other_tab, context) {
                context.read_stored_polls(Callback::from(move |polls| stored.set(polls)));
            }
        });
    }
    {
        let (joined, context) = (joined.clone(), context.clone());
        use_effect_with((), move |_| {
            if let Some(context) = context {
                context.read_joined_views(Callback::from(move |list| joined.set(list)));
            }
        });
    }
    let Some(AppState::Ready(ready)) = context.as_ref().map(AppContext::state) else {
        return html! {};
    };
    let me = ready.identity.peer_id().to_string();
    let me_id = ready.identity.peer_id();
    // Open polls first, then the newest.
    let order = |a: &&Poll, b: &&Poll| {
        (
            a.status != PollStatus::Open,
            std::cmp::Reverse(a.created_at),
        )
            .cmp(&(
                b.status != PollStatus::Open,
                std::cmp::Reverse(b.created_at),
            ))
    };
    let mut hosted: Vec<(&Poll, Option<usize>)> = match &ready.hub {
        Some(hub) => hub
            .polls
            .values()
            .map(|h| (&h.poll, Some(h.present.len().saturating_sub(1))))
            .collect(),
        None if ready.network.is_other_tab() => stored.iter().map(|p| (p, None)).collect(),
        None => Vec::new(),
    };
    // Polls other owners delegated to this browser are served here on their behalf, not
    // "mine": they are counted, not listed (their pages belong to their owners).
    let kept_for_others = hosted.iter().filter(|(p, _)| p.owner != *me_id).count();
    hosted.retain(|(p, _)| p.owner == *me_id);
    hosted.sort_by(|a, b| order(&a.0, &b.0));
    let mine: Vec<Html> = hosted
        .into_iter()
        .map(|(poll, connected)| {
            my_poll_item(&me, poll, connected, poll.ballots.contains_key(me_id))
        })
        .collect();
    // Joined polls, by owner and poll ID: those stored (saved once loaded) and those that loaded
    // in this session since the list was read. A link that never loaded is not listed.
    let mut listed: BTreeMap<FollowKey, (Option<&PollView>, Option<&Rc<FollowSnapshot>>)> =
        BTreeMap::new();
    for (key, view) in joined.iter() {
        listed.entry(key.clone()).or_default().0 = Some(view);
    }
    for (key, live) in ready.follows.iter().filter(|(_, s)| s.view.is_some()) {
        listed.entry(key.clone()).or_default().1 = Some(live);
    }
    let others: Vec<Html> = listed
        .iter()
        .filter_map(|((owner, poll_id), (stored, live))| {
            let live = *live;
            let view = live.and_then(|s| s.view.as_deref()).or(*stored)?;
            Some((owner, *poll_id, live, view))
        })
        .map(|(owner, poll_id, live, view)| {
            let title = view.title.clone();
            let pending = live.map_or(0, |s| s.pending_count);
            let sync = live.map(|s| s.sync);
            let open = Some(view.status == PollStatus::Open);
            let voted = Some(!view.my_ballot.is_empty());
            let vote_pending = live.is_some_and(|s| s.vote_pending);
            html! {
                <li>
                    <Link to={Route::Poll { owner: owner.to_string(), poll: poll_id.to_string() }} classes="poll-list-item-link">
                        <span data-testid="poll-list-item" data-poll-id={poll_id.to_string()} data-owner={owner.to_string()} class="poll-list-item">
                            <span class="title" dir="auto">{ title }</span>
                            if let Some(open) = open {
                                <span class={classes!("badge", open.then_some("ok"))} data-testid="poll-list-status">
                                    { if open { "open" } else { "closed" } }
                                </span>
                            }
                            if let Some(voted) = voted {
                                <span class="badge" data-testid="poll-list-vote">{ match (voted, vote_pending) {
                                    (_, true) => "vote not sent yet",
                                    (true, false) => "you voted",
                                    (false, false) => "not voted",
                                } }</span>
                            }
                            if let Some(gone) = live.filter(|s| s.gone) {
                                <span class="badge" data-testid="poll-list-gone">{
                                    if gone.gone_reason == Some(GoneReason::NotFound) { "no such poll" } else { "deleted by its owner" }
                                }</span>
                            }
                            <span class="hint" data-testid="poll-list-owner">{ match (sync, live.and_then(|s| s.last_error.as_ref())) {
                                (Some(_), _) if live.is_some_and(|s| s.gone) => "",
                                (Some(SyncState::Connected), _) => "owner online",
                                (_, _) if ready.network.is_offline() => "you are offline",
                                (Some(_), Some(DialProblem::OwnerOffline)) => "owner not online",
                                (Some(SyncState::Connecting), _) => "connecting…",
                                (Some(SyncState::Offline), _) => "owner not reachable",
                                (None, _) => "",
                            } }</span>
                            if pending > 0 {
                                <span class="badge warn" data-testid="poll-list-pending">{ format!("{pending} pending") }</span>
                            }
                        </span>
                    </Link>
                </li>
            }
        })
        .collect();
    html! {
        <section class="card" aria-labelledby="polls-heading">
            <div class="row spread">
                <h1 id="polls-heading">{ "Polls" }</h1>
                <Link to={Route::NewPoll} classes="button">
                    <span data-testid="new-poll">{ "New poll" }</span>
                </Link>
            </div>
            <JoinForm />
            <h2>{ "Yours" }</h2>
            if mine.is_empty() {
                <p class="hint" data-testid="my-polls-empty">{ "You have no polls yet. Press “New poll”, then send its invite link or QR code: people join and vote while this browser has starpoll open, and their votes wait in their browsers while it is not." }</p>
            } else {
                <ul class="poll-list" data-testid="my-polls">{ for mine }</ul>
            }
            if kept_for_others > 0 {
                <p class="hint" data-testid="kept-for-others">{ format!(
                    "This browser also keeps {kept_for_others} poll{} online for {}: keep it open so their participants can vote.",
                    if kept_for_others == 1 { "" } else { "s" },
                    if kept_for_others == 1 { "its owner" } else { "their owners" },
                ) }</p>
            }
            <h2>{ "Joined" }</h2>
            if others.is_empty() {
                <p class="hint" data-testid="joined-polls-empty">{ "Polls you join show up here. Open an invite link someone sent you, or paste it (or the owner's peer ID) above." }</p>
            } else {
                <ul class="poll-list" data-testid="joined-polls">{ for others }</ul>
            }
        </section>
    }
}

/// The home page.
#[component]
pub fn Home() -> Html {
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    let peer_id = AttrValue::from(ready.identity.peer_id().to_string());
    let on_name = {
        let context = context.clone();
        Callback::from(move |name: String| context.set_display_name(name))
    };
    let server_url = ready.server.server.to_url();
    let status_text = match &ready.network {
        NetworkStatus::Starting | NetworkStatus::Connecting => {
            format!("Connecting to the signaling server at {server_url}…")
        }
        NetworkStatus::Online => "Online: others can reach you.".to_owned(),
        NetworkStatus::Reconnecting | NetworkStatus::Unreachable => format!(
            "Offline. {}",
            messages::unreachable(&ready.network, &server_url).unwrap_or_default()
        ),
        NetworkStatus::OtherTab => {
            "starpoll is already open in another tab of this browser, which is the one others \
             reach. Keep using that tab, or use this one instead (above)."
                .to_owned()
        }
        NetworkStatus::TakenOver => {
            "Another tab took over: others now reach you there. This tab is offline.".to_owned()
        }
        NetworkStatus::Stopped(why) => format!("Offline: {why}"),
    };
    let server_note = match &ready.server.rejected_override {
        Some(e) => html! {
            <p class="hint error" data-testid="server-warning">
                { format!("The peerjs= address in the page link was ignored: {e}.") }
            </p>
        },
        None => html! {},
    };
    let unreachable = ready.network.is_offline();
    html! {
        <>
            if unreachable {
                <p class="notice warn" data-testid="home-unreachable">
                    <strong>{ "You are offline: participants can't reach your polls now. " }</strong>
                    { "Votes wait in their browsers until this browser is back online (details below)." }
                </p>
            }
            <PollLists />
            <section class="card" aria-labelledby="me-heading">
                <h1 id="me-heading">{ "You" }</h1>
                <NameField name={AttrValue::from(ready.profile.display_name.clone())}
                    save={ready.name_save.clone()} on_change={on_name} />
                <div class="field">
                    <span class="label" id="peer-id-label">{ "Your peer ID" }</span>
                    <div class="peer-id-row">
                        <code class="peer-id" data-testid="my-peer-id" aria-labelledby="peer-id-label">
                            { peer_id.clone() }
                        </code>
                        <CopyButton text={peer_id} label="Copy my peer ID" testid={AttrValue::from("copy-peer-id")} />
                    </div>
                    <p class="hint">
                        { "Others join your polls with this ID. It is your public key, so it stays \
                           the same every time you open starpoll in this browser." }
                    </p>
                </div>
            </section>
            <section class="card muted" aria-label="Connection">
                <p class={if unreachable { "notice warn" } else { "hint" }} role="status" data-testid="network-status" data-state={ready.network.key()}>
                    { status_text }
                </p>
                <p class="hint" data-testid="signaling-server">
                    { "Signaling server: " }<code>{ ready.server.server.to_url() }</code>
                </p>
                { server_note }
            </section>
        </>
    }
}
