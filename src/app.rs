//! The root component: starts the app (database, identity, profile), provides the app context
//! ([`crate::context`]), and routes between pages.

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::StartupError;
use crate::config;
use crate::context::{use_app_context, AppContext};
use crate::error::AppError;
use crate::pages::{Home, NewPoll, OwnerPolls, PollPage, SettingsPage, Verify};
use crate::router::{Link, Router};
use crate::state::{AppState, NetworkStatus, Ready, SaveState};
use crate::storage::{Repository, DB_NAME};

pub use crate::router::Route;

async fn start() -> Result<(Ready, Repository), AppError> {
    let repo = Repository::open(DB_NAME).await?;
    let identity = crate::identity::load_or_create(&repo).await?;
    let profile = repo.profile().await?;
    let (server, ice_servers) = config::load(&repo).await;
    let ready = Ready {
        identity: Rc::new(identity),
        profile,
        name_save: SaveState::Unchanged,
        server,
        ice_servers,
        network: NetworkStatus::Starting,
        hub: None,
        follows: Default::default(),
    };
    Ok((ready, repo))
}

/// The root component.
#[component]
pub fn App() -> Html {
    let state = use_reducer(AppState::default);
    let context = use_app_context(state.clone());
    {
        let context = context.clone();
        use_effect_with((), move |_| {
            spawn_local(async move { context.started(start().await) });
        });
    }
    // Go online once started (this tab asks for the identity lock first).
    {
        let context = context.clone();
        let ready = matches!(&*state, AppState::Ready(_));
        use_effect_with(ready, move |ready| {
            if *ready {
                context.start_network(false);
            }
        });
    }
    // Followers run only while this tab holds the identity (it runs the hub then).
    {
        let context = context.clone();
        let active = matches!(&*state, AppState::Ready(r) if r.hub.is_some());
        use_effect_with(active, move |active| {
            if *active {
                context.follow_joined();
            } else {
                context.stop_following();
            }
        });
    }
    // The router wraps the whole app, top bar included, from the first render, so every link
    // changes the page in place: a reload would drop this tab's PeerJS peer and every
    // participant connected to it.
    let render = {
        let state = state.clone();
        Callback::from(move |route: Route| {
            let page = match &*state {
                AppState::Starting => {
                    html! { <p class="starting" aria-live="polite">{ "Starting…" }</p> }
                }
                AppState::Failed(error) => html! { <StartupError error={error.clone()} /> },
                AppState::Ready(_) => switch(route),
            };
            html! {
                <>
                    <TopBar />
                    <TabBanner />
                    <main class="page">{ page }</main>
                </>
            }
        })
    };
    html! {
        <ContextProvider<AppContext> context={context}>
            <Router {render} />
        </ContextProvider<AppContext>>
    }
}

/// The top bar: the brand (home) and the Verify and Settings links, routed in place (it is
/// rendered inside the [`Router`]).
#[component]
fn TopBar() -> Html {
    html! {
        <header class="topbar">
            <Link to={Route::Home} classes="brand">{ "starpoll" }</Link>
            <nav class="topbar-nav" aria-label="Main">
                <Link to={Route::Verify} classes="topbar-link" testid="verify-link">{ "Verify" }</Link>
                <Link to={Route::Settings} classes="topbar-link" testid="settings-link">{ "Settings" }</Link>
            </nav>
        </header>
    }
}

/// At the top of every page of a tab that does not hold this browser's identity: what that
/// means, and "Use this tab".
#[component]
fn TabBanner() -> Html {
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    let text = match ready.network {
        NetworkStatus::OtherTab => {
            "starpoll is open in another tab of this browser. That tab serves your polls and \
             sends your votes; this one only shows what is saved."
        }
        NetworkStatus::TakenOver => {
            "Another tab of this browser took over: it serves your polls and sends your votes \
             now. This tab only shows what is saved."
        }
        _ => return html! {},
    };
    let take_over = Callback::from(move |_: MouseEvent| context.start_network(true));
    html! {
        <div class="tab-banner" role="region" aria-label="Another tab is active" data-testid="tab-banner">
            <p>{ text }</p>
            <button type="button" data-testid="tab-takeover" onclick={take_over}>{ "Use this tab" }</button>
        </div>
    }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::NewPoll => html! { <NewPoll /> },
        Route::Poll { owner, poll } => html! { <PollPage {owner} {poll} /> },
        Route::OwnerPolls { owner } => html! { <OwnerPolls {owner} /> },
        Route::Settings => html! { <SettingsPage /> },
        Route::Verify => html! { <Verify /> },
        Route::NotFound => html! {
            <section class="card">
                <h1>{ "Page not found" }</h1>
                <p><Link to={Route::Home}>{ "Go to the home page" }</Link></p>
            </section>
        },
    }
}
