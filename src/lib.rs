//! starpoll's browser shell: the Yew app and the thin layers that talk to the browser.
//!
//! Layers (see `ARCHITECTURE.md`):
//! - [`error`]: the one place a `JsValue` becomes a typed error.
//! - [`files`]: downloads and picked files.
//! - [`storage`]: the typed IndexedDB repository (rexie); the only module that knows the schema.
//! - [`identity`]: loads this browser's identity, or makes one from the CSPRNG on first run.
//! - [`config`]: which PeerJS server and ICE servers to use, from the page URL and the settings.
//! - [`network`]: this tab's PeerJS peer; [`tab_lock`]: one tab per identity (Web Locks).
//! - [`follow`]: a participant's side of polls (the core's participant machine driven against
//!   connections and its IndexedDB outbox); [`wakeup`]: one timer at a machine's deadline.
//! - [`hub`]: serves this browser's polls (the core's hub against connections and IndexedDB).
//! - [`service_worker`]: registers the worker that caches the app shell for offline use.
//! - [`random`]: the browser's CSPRNG and clock, as inputs for the core.
//! - [`router`]: the app's routes, and the router and links that show them (History API).
//! - [`state`]: the app state and its reducer (pure; effects start in the intents).
//! - [`context`]: the app context: the state and the intents pages call.
//! - [`test_hook`]: switches the end-to-end tests flip to freeze the hub at a chosen moment.
//! - [`time`]: Unix milliseconds to and from local wall-clock times.
//! - [`components`] and [`pages`]: what the user sees.
//!
//! Pure logic (ids, signatures, poll rules, protocols) lives in the `starpoll-core` and
//! `peerjs-client` crates, which have no browser dependencies.

pub mod app;
pub mod components;
pub mod config;
pub mod context;
pub mod error;
pub mod files;
pub mod follow;
pub mod hub;
pub mod identity;
pub mod link;
pub mod messages;
pub mod network;
pub mod next_task;
pub mod pages;
pub mod random;
pub mod router;
pub mod service_worker;
pub mod state;
pub mod storage;
pub mod tab_lock;
pub mod test_hook;
pub mod time;
pub mod wakeup;

/// Mounts the app on the document body.
pub fn start() {
    service_worker::register();
    yew::Renderer::<app::App>::new().render();
}
