//! The root component: starts the app (database, identity, profile), provides the app context,
//! and routes between pages.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::StartupError;
use crate::config;
use crate::error::AppError;
use crate::network::{NetworkHandle, NetworkStatus};
use crate::pages::Home;
use crate::state::{Action, AppState, Ready, SaveState};
use crate::storage::{Repository, DB_NAME};

/// The app's routes.
#[derive(Clone, Routable, PartialEq)]
pub enum Route {
    /// The home page: identity and (later) the dashboard.
    #[at("/")]
    Home,
    /// Anything else.
    #[not_found]
    #[at("/404")]
    NotFound,
}

/// What components get from the app: the state and the intents that change it.
#[derive(Clone, PartialEq)]
pub struct AppContext {
    state: UseReducerHandle<AppState>,
    edits: Rc<Cell<u64>>,
    network: NetworkHandle,
}

impl AppContext {
    /// The current app state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts (or, with `steal`, takes over from another tab) this tab's network identity.
    pub fn start_network(&self, steal: bool) {
        let AppState::Ready(ready) = &*self.state else {
            return;
        };
        let state = self.state.clone();
        self.network.start(
            ready.identity.clone(),
            ready.server.server.clone(),
            steal,
            Callback::from(move |status| state.dispatch(Action::Network(status))),
        );
    }

    /// Sets this browser's display name and saves it.
    pub fn set_display_name(&self, name: String) {
        let AppState::Ready(ready) = &*self.state else {
            return;
        };
        let edit = self.edits.get() + 1;
        self.edits.set(edit);
        let mut profile = ready.profile.clone();
        profile.display_name = name.clone();
        let repo = ready.repo.clone();
        let state = self.state.clone();
        state.dispatch(Action::NameEdited(name, edit));
        spawn_local(async move {
            let result = repo.save_profile(&profile).await;
            state.dispatch(Action::NameSaved(edit, result));
        });
    }
}

async fn start() -> Result<Ready, AppError> {
    let repo = Repository::open(DB_NAME).await?;
    let identity = crate::identity::load_or_create(&repo).await?;
    let profile = repo.profile().await?;
    Ok(Ready {
        repo: Rc::new(repo),
        identity: Rc::new(identity),
        profile,
        name_save: SaveState::Unchanged,
        server: config::server_from_location(),
        network: NetworkStatus::Starting,
    })
}

/// The root component.
#[component]
pub fn App() -> Html {
    let state = use_reducer(AppState::default);
    let edits = use_memo((), |_| Cell::new(0u64));
    let network = (*use_memo((), |_| NetworkHandle::default())).clone();
    {
        let state = state.clone();
        use_effect_with((), move |_| {
            spawn_local(async move { state.dispatch(Action::Started(start().await)) });
        });
    }
    let context = AppContext {
        state: state.clone(),
        edits,
        network,
    };
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
    let body = match &*state {
        AppState::Starting => html! {
            <p class="starting" aria-live="polite">{ "Starting…" }</p>
        },
        AppState::Failed(error) => html! { <StartupError error={error.clone()} /> },
        AppState::Ready(_) => html! {
            <BrowserRouter>
                <Switch<Route> render={switch} />
            </BrowserRouter>
        },
    };
    html! {
        <ContextProvider<AppContext> context={context}>
            <header class="topbar">
                <a class="brand" href="/">{ "starpoll" }</a>
            </header>
            <main class="page">{ body }</main>
        </ContextProvider<AppContext>>
    }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::NotFound => html! {
            <section class="card">
                <h1>{ "Page not found" }</h1>
                <p><Link<Route> to={Route::Home}>{ "Go to the home page" }</Link<Route>></p>
            </section>
        },
    }
}
