//! The polls of an owner known only by peer ID (`/o/<owner>`): asks the owner's browser for
//! `poll:list` through an intent (over the same connection as the polls followed there) and
//! lists what it answers, verified against the owner's key. The owner answers with its *listed*
//! polls only; the page says so, since an unlisted poll needs its invite link.

use starpoll_core::poll::PollStatus;
use starpoll_core::protocol::PollSummary;
use starpoll_core::PeerId;
use yew::prelude::*;

use crate::context::AppContext;
use crate::follow::OwnerList;
use crate::router::{Link, Route};
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
            AppState::Ready(r) => Some(r.network == crate::state::NetworkStatus::Online),
            _ => None,
        })
        .unwrap_or(false);
    let self_offline = context
        .as_ref()
        .is_some_and(|c| matches!(c.state(), AppState::Ready(r) if r.network.is_offline()));
    {
        let (listing, context, owner) = (listing.clone(), context.clone(), owner.clone());
        use_effect_with((owner, online, *attempt), move |(owner, online, _)| {
            let on_list = Callback::from(move |list: OwnerList| {
                listing.set(match list {
                    OwnerList::Listed(polls) => Listing::Listed(polls),
                    OwnerList::Unreachable(why) => {
                        Listing::Waiting(Some(crate::messages::dial_problem(&why).to_owned()))
                    }
                    OwnerList::Impostor(why) => Listing::Impostor(why),
                });
            });
            let watch = match (&context, owner, *online) {
                (Some(context), Some(owner), true) => context.list_owner_polls(owner, on_list),
                _ => None,
            };
            // Dropping the watch ends the request (and the connection, if nothing else of
            // this owner needs it).
            move || drop(watch)
        });
    }
    let Some(owner) = owner else {
        return html! {
            <section class="card error-card" data-testid="bad-link">
                <h1>{ "Not a peer ID" }</h1>
                <p>{ "An owner's peer ID is the long code shown on their home page." }</p>
                <p><Link to={Route::Home} testid="go-home">{ "Go to the home page" }</Link></p>
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
                    { if self_offline {
                        crate::messages::dial_problem(&crate::follow::DialProblem::SelfOffline).to_owned()
                    } else {
                        error.clone().unwrap_or_else(|| "Asking the owner's browser for its polls…".to_owned())
                    } }
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
            <p class="hint" data-testid="owner-polls-status">
                { "This owner has no listed polls. Ask them for the invite link of the poll you want to join." }
            </p>
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
        <section class="card owner-polls" aria-labelledby="owner-heading">
            <h1 id="owner-heading">{ "Polls of this owner" }</h1>
            <p class="hint"><code class="peer-id">{ owner.to_string() }</code></p>
            <p class="hint" data-testid="owner-polls-note">
                { "Only the polls the owner listed appear here; an unlisted poll opens from its invite link." }
            </p>
            { body }
        </section>
    }
}
