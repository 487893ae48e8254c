//! Which PeerJS signaling server this page uses: the `?peerjs=ws://HOST:PORT/PATH` query parameter
//! when present and valid (remembered in `localStorage`, so in-app navigation and reloads keep
//! it), else the remembered choice, otherwise the default for the page's host (the local server on
//! localhost/127.0.0.1, PeerJS's public server elsewhere).

use starpoll_core::{ServerConfig, ServerUrlError};

/// The server choice and, when the query parameter was present but invalid, why it was ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerChoice {
    /// The server to use.
    pub server: ServerConfig,
    /// Set when `?peerjs=` was given but could not be used.
    pub rejected_override: Option<ServerUrlError>,
}

/// Reads the page location and picks the server.
pub fn server_from_location() -> ServerChoice {
    let location = web_sys::window().map(|w| w.location());
    let host = location
        .as_ref()
        .and_then(|l| l.hostname().ok())
        .unwrap_or_default();
    let search = location
        .as_ref()
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    let param = web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("peerjs"));
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let remembered = storage
        .as_ref()
        .and_then(|s| s.get_item(REMEMBERED_KEY).ok().flatten());
    let choice = choose(&host, param.as_deref().or(remembered.as_deref()));
    if let (Some(storage), Some(_), None) = (&storage, &param, &choice.rejected_override) {
        // Best effort: without localStorage the choice lasts for this page load only.
        let _ = storage.set_item(REMEMBERED_KEY, &choice.server.to_url());
    }
    choice
}

/// Where the last valid `?peerjs=` is remembered.
const REMEMBERED_KEY: &str = "starpoll.peerjs";

/// The pure choice, separated for clarity.
fn choose(page_host: &str, param: Option<&str>) -> ServerChoice {
    let default = ServerConfig::default_for_page_host(page_host);
    match param.map(ServerConfig::from_url) {
        Some(Ok(server)) => ServerChoice {
            server,
            rejected_override: None,
        },
        Some(Err(e)) => ServerChoice {
            server: default,
            rejected_override: Some(e),
        },
        None => ServerChoice {
            server: default,
            rejected_override: None,
        },
    }
}
