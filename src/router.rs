//! The app's routes and the small router that shows them.
//!
//! The app needs only paths with one-segment parameters, pushing a route, and the back and
//! forward buttons, so it does not use yew-router (which, with gloo-history and
//! route-recognizer, was about 20 KB of the WebAssembly). [`Router`] keeps the current
//! [`Route`] (read from `location.pathname`) in its state, follows `popstate`, and provides a
//! [`Navigator`] whose [`push`](Navigator::push) calls `history.pushState` and shows the new
//! route. [`Link`] is an `<a href>` whose plain left clicks navigate in place (clicks with a
//! modifier key keep the browser's behaviour, such as opening a new tab).
//!
//! Paths match as yew-router matched them: a trailing `/` is ignored, each parameter is one
//! non-empty, percent-decoded segment, and anything else is [`Route::NotFound`].

use gloo::events::EventListener;
use yew::prelude::*;

/// The app's routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The home page (`/`): identity, polls, create and join.
    Home,
    /// The poll-creation form (`/new`).
    NewPoll,
    /// One poll, the invite link (`/p/<owner>/<poll>`): the owner's view in the owner's
    /// browser, else the participant's.
    Poll {
        /// The owner's peer ID.
        owner: String,
        /// The poll ID.
        poll: String,
    },
    /// The polls of an owner known only by peer ID (`/o/<owner>`).
    OwnerPolls {
        /// The owner's peer ID.
        owner: String,
    },
    /// Signaling server, ICE servers, and identity export/import/reset (`/settings`).
    Settings,
    /// Checking a signed snapshot file, offline (`/verify`).
    Verify,
    /// Anything else (`/404`).
    NotFound,
}

impl Route {
    /// The route's path, parameters percent-encoded.
    pub fn path(&self) -> String {
        let encode = |segment: &str| String::from(js_sys::encode_uri_component(segment));
        match self {
            Self::Home => "/".into(),
            Self::NewPoll => "/new".into(),
            Self::Poll { owner, poll } => format!("/p/{}/{}", encode(owner), encode(poll)),
            Self::OwnerPolls { owner } => format!("/o/{}", encode(owner)),
            Self::Settings => "/settings".into(),
            Self::Verify => "/verify".into(),
            Self::NotFound => "/404".into(),
        }
    }

    /// The route a path (`location.pathname`) shows.
    pub fn recognize(path: &str) -> Self {
        let path = path.strip_suffix('/').unwrap_or(path);
        let Some(rest) = path.strip_prefix('/') else {
            return if path.is_empty() {
                Self::Home
            } else {
                Self::NotFound
            };
        };
        let param = |segment: &str| {
            (!segment.is_empty())
                .then(|| js_sys::decode_uri_component(segment).ok())
                .flatten()
                .map(String::from)
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let route = match segments.as_slice() {
            ["new"] => Some(Self::NewPoll),
            ["p", owner, poll] => param(owner)
                .zip(param(poll))
                .map(|(owner, poll)| Self::Poll { owner, poll }),
            ["o", owner] => param(owner).map(|owner| Self::OwnerPolls { owner }),
            ["settings"] => Some(Self::Settings),
            ["verify"] => Some(Self::Verify),
            _ => None,
        };
        route.unwrap_or(Self::NotFound)
    }
}

/// The route of the page's current URL.
fn current_route() -> Route {
    let path = gloo::utils::window()
        .location()
        .pathname()
        .unwrap_or_default();
    Route::recognize(&path)
}

/// Changes the route (from [`use_navigator`]).
#[derive(Clone, PartialEq)]
pub struct Navigator(UseStateSetter<Route>);

impl Navigator {
    /// Shows `route` and adds it to the session history (like following a link).
    pub fn push(&self, route: &Route) {
        if let Ok(history) = gloo::utils::window().history() {
            // Failing to change the URL (never expected) still shows the route.
            let _ =
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.path()));
        }
        self.0.set(route.clone());
    }
}

/// The [`Navigator`] of the enclosing [`Router`] (`None` outside one).
#[hook]
pub fn use_navigator() -> Option<Navigator> {
    use_context::<Navigator>()
}

/// Props of [`Router`].
#[derive(Properties, PartialEq)]
pub struct RouterProps {
    /// The page for a route.
    pub render: Callback<Route, Html>,
}

/// Shows the page of the current route, and another when the route changes.
#[component]
pub fn Router(props: &RouterProps) -> Html {
    let route = use_state(current_route);
    {
        let set = route.setter();
        use_effect_with((), move |()| {
            let listener = EventListener::new(&gloo::utils::window(), "popstate", move |_| {
                set.set(current_route());
            });
            move || drop(listener)
        });
    }
    let navigator = Navigator(route.setter());
    html! {
        <ContextProvider<Navigator> context={navigator}>
            { props.render.emit((*route).clone()) }
        </ContextProvider<Navigator>>
    }
}

/// Props of [`Link`].
#[derive(Properties, PartialEq)]
pub struct LinkProps {
    /// Where the link goes.
    pub to: Route,
    /// Classes of the `<a>`.
    #[prop_or_default]
    pub classes: Classes,
    /// The `<a>`'s `data-testid`, if any.
    #[prop_or_default]
    pub testid: Option<AttrValue>,
    /// The link's content.
    #[prop_or_default]
    pub children: Html,
}

/// A link to a route: navigates in place on a plain click.
#[component]
pub fn Link(props: &LinkProps) -> Html {
    let navigator = use_navigator();
    let onclick = {
        let to = props.to.clone();
        Callback::from(move |e: MouseEvent| {
            if e.meta_key() || e.ctrl_key() || e.shift_key() || e.alt_key() {
                return;
            }
            if let Some(navigator) = &navigator {
                e.prevent_default();
                navigator.push(&to);
            }
        })
    };
    html! {
        <a class={props.classes.clone()} href={props.to.path()} data-testid={props.testid.clone()} {onclick}>
            { props.children.clone() }
        </a>
    }
}
