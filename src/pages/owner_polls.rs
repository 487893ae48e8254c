//! The polls of an owner known only by peer ID (`/o/<owner>`): dials the owner, asks for
//! `poll:list`, and lists what the owner's browser answers (verified against the owner's key).

use futures_util::StreamExt;
use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::web::ConnectionEvent;
use starpoll_core::follower::{list_request, read_list, FollowError};
use starpoll_core::poll::PollStatus;
use starpoll_core::protocol::PollSummary;
use starpoll_core::PeerId;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::app::{AppContext, Route};
use crate::router::Link;
use crate::state::AppState;

/// Props of [`OwnerPolls`].
#[derive(Properties, PartialEq)]
pub struct OwnerPollsProps {
    /// The owner's peer ID, from the URL.
    pub owner: AttrValue,
}

#[derive(Clone, PartialEq)]
enum Listing {
    Waiting(Option<String>),
    Listed(Vec<PollSummary>),
    Impostor(String),
}

/// The owner's polls.
#[component]
pub fn OwnerPolls(props: &OwnerPollsProps) -> Html {
    let listing = use_state(|| Listing::Waiting(None));
    let attempt = use_state(|| 0u32);
    let context = use_context::<AppContext>();
    let owner = props.owner.parse::<PeerId>().ok();
    let online = context
        .as_ref()
        .and_then(|c| match c.state() {
            AppState::Ready(r) => Some(r.network == crate::network::NetworkStatus::Online),
            _ => None,
        })
        .unwrap_or(false);
    {
        let (listing, context, owner) = (listing.clone(), context.clone(), owner.clone());
        use_effect_with((owner.clone(), online, *attempt), move |_| {
            let conn = match (&context, &owner, online) {
                (Some(context), Some(owner), true) => context.network().connect(owner),
                _ => None,
            };
            let me = context.as_ref().and_then(|c| match c.state() {
                AppState::Ready(r) => Some((*r.identity).clone()),
                _ => None,
            });
            if let (Some(conn), Some(owner), Some(me)) = (conn.clone(), owner, me) {
                if let Some(mut events) = conn.events() {
                    spawn_local(async move {
                        while let Some(event) = events.next().await {
                            match event {
                                ConnectionEvent::Open => {
                                    if let Ok(frame) = list_request(&me) {
                                        let _ = conn.send(&Data::Text(frame));
                                    }
                                }
                                ConnectionEvent::Data(Data::Packed(Value::Str(text))) => {
                                    match read_list(&text, &owner) {
                                        Ok(Some(polls)) => listing.set(Listing::Listed(polls)),
                                        Ok(None) => {}
                                        Err(FollowError::Impostor(e)) => {
                                            listing.set(Listing::Impostor(e.to_string()));
                                            conn.close();
                                        }
                                        Err(e) => gloo::console::warn!(e.to_string()),
                                    }
                                }
                                ConnectionEvent::Data(_) => {}
                                ConnectionEvent::Error(e) => {
                                    listing.set(Listing::Waiting(Some(e.to_string())));
                                }
                                ConnectionEvent::Close => break,
                            }
                        }
                    });
                }
            }
            move || {
                if let Some(conn) = conn {
                    conn.close();
                }
            }
        });
    }
    let Some(owner) = owner else {
        return html! {
            <section class="card error-card" data-testid="bad-link">
                <h1>{ "Not a peer ID" }</h1>
                <p>{ "An owner's peer ID is the long code shown on their home page." }</p>
            </section>
        };
    };
    let retry = {
        let attempt = attempt.clone();
        Callback::from(move |_: MouseEvent| attempt.set(*attempt + 1))
    };
    let body = match &*listing {
        Listing::Waiting(error) => html! {
            <>
                <p class="hint" data-testid="owner-polls-status" role="status">
                    { error.clone().unwrap_or_else(|| "Asking the owner's browser for its polls…".to_owned()) }
                </p>
                <button type="button" class="secondary" onclick={retry}>{ "Try again" }</button>
            </>
        },
        Listing::Impostor(why) => html! {
            <p class="notice error" role="alert" data-testid="impostor-warning">
                { format!("The peer answering at this ID does not hold its key: {why}") }
            </p>
        },
        Listing::Listed(polls) if polls.is_empty() => html! {
            <p class="hint" data-testid="owner-polls-status">{ "This owner has no polls." }</p>
        },
        Listing::Listed(polls) => html! {
            <ul class="poll-list">
                { for polls.iter().map(|p| html! {
                    <li>
                        <Link to={Route::Poll { owner: owner.to_string(), poll: p.poll_id.to_string() }}
                            classes="poll-list-item">
                            <span data-testid="poll-list-item" data-poll-id={p.poll_id.to_string()}>
                                <span class="title">{ p.title.clone() }</span>
                                <span class="hint">{ if p.status == PollStatus::Open { " · open" } else { " · closed" } }</span>
                            </span>
                        </Link>
                    </li>
                }) }
            </ul>
        },
    };
    html! {
        <section class="card" aria-labelledby="owner-heading">
            <h1 id="owner-heading">{ "Polls of this owner" }</h1>
            <p class="hint"><code class="peer-id">{ owner.to_string() }</code></p>
            { body }
        </section>
    }
}
