//! Which PeerJS signaling server and ICE servers this page load uses, read once at start-up.
//!
//! Precedence for the server (the rule is `starpoll_core::settings::choose_server`): a valid
//! `?peerjs=ws://HOST:PORT/PATH` query parameter, else the server saved in the settings, else the
//! default for the page's host (the local server on localhost/127.0.0.1, PeerJS's public server
//! elsewhere). A valid `?peerjs=` is saved as the settings' server, so in-app navigation and
//! reloads keep it: the settings store is the one place the choice lives. (Earlier versions kept
//! it in `localStorage`; such a value is moved into the settings once.)
//!
//! ICE servers: the saved list when there is one, else the defaults for the chosen server (see
//! `starpoll_core::settings::ice_servers_for`). Changes made on the settings page take effect on
//! the next page load.

use starpoll_core::settings::{self, IceServer, ServerForm, Settings};
pub use starpoll_core::settings::{ServerChoice, ServerSource};
use starpoll_core::ServerConfig;

use crate::storage::Repository;

/// Where earlier versions remembered the last valid `?peerjs=`.
const LEGACY_KEY: &str = "starpoll.peerjs";

/// Reads the saved settings and the page location, and picks this page load's signaling server
/// and saved ICE servers (`None`: the defaults). Saves a new `?peerjs=` choice into the settings;
/// a settings record that cannot be read or written is reported on the console and the defaults
/// are used, so bad settings never keep the app from starting.
pub async fn load(repo: &Repository) -> (ServerChoice, Option<Vec<IceServer>>) {
    let mut saved = repo.settings().await.unwrap_or_else(|e| {
        gloo::console::warn!(format!("ignoring the saved settings: {e}"));
        Settings::default()
    });
    let legacy = take_legacy();
    let choice = settings::choose_server(
        &page_host(),
        link_parameter().as_deref(),
        saved.server.as_ref().or(legacy.as_ref()),
    );
    let remember = match choice.source {
        ServerSource::Link => saved.server.as_ref() != Some(&choice.server),
        ServerSource::Saved => saved.server.is_none(), // the legacy value, moved over
        ServerSource::Default => false,
    };
    // Only a server the settings form accepts is saved (`?peerjs=` parsing is more lenient).
    if remember && ServerForm::from_config(&choice.server).parse().is_ok() {
        saved.server = Some(choice.server.clone());
        if let Err(e) = repo.save_settings(&saved).await {
            gloo::console::warn!(format!("could not save the signaling server: {e}"));
        }
    }
    (choice, saved.ice_servers)
}

/// The default signaling server for this page (what "Restore default" restores).
pub fn default_server() -> ServerConfig {
    ServerConfig::default_for_page_host(&page_host())
}

/// The page's `location.hostname`.
fn page_host() -> String {
    web_sys::window()
        .and_then(|w| w.location().hostname().ok())
        .unwrap_or_default()
}

/// The page's `?peerjs=` query parameter, if any.
pub fn link_parameter() -> Option<String> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("peerjs"))
}

/// The hub an invite link names (`?via=<peer ID>`: the poll is served by that hub on its
/// owner's behalf, PROTOCOL.md §8), if any and valid.
pub fn via_parameter() -> Option<starpoll_core::PeerId> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("via"))
        .and_then(|via| via.parse().ok())
}

/// Takes the server an earlier version remembered in `localStorage` (removing it), if valid.
fn take_legacy() -> Option<ServerConfig> {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten())?;
    let url = storage.get_item(LEGACY_KEY).ok().flatten()?;
    // Best effort: if removing fails, the saved settings still win over it next time.
    let _ = storage.remove_item(LEGACY_KEY);
    ServerConfig::from_url(&url).ok()
}
