//! The browser transport (feature `web`): a PeerJS-shaped [`Peer`] and [`DataConnection`] on
//! web-sys `WebSocket` and `RTCPeerConnection`, driven by the pure [`crate::session::Session`]
//! and [`crate::data`] machines.
//!
//! This layer only moves bytes and events between the browser and the machines: every decision
//! (when to heartbeat, reconnect, time out, buffer, chunk, declare a peer dead) is made by the
//! pure modules. Events reach the application through unbounded channels ([`PeerEvents`],
//! [`ConnectionEvents`]) and never re-enter application code while the transport holds a borrow.
//!
//! Modules: [`Peer`] (`peer.rs`) owns the signaling socket and the connections; a
//! [`DataConnection`] (`connection.rs`) is one connection's lifecycle, made of a negotiator
//! (`negotiator.rs`: the `RTCPeerConnection`, offer/answer/candidates) and a channel
//! (`channel.rs`: the data channel's framing, send, receive and liveness); connections post
//! their session inputs to the peer through a `SessionInbox` (`inbox.rs`).
//!
//! Browser callbacks are owned by RAII guards (`gloo_events::EventListener`,
//! `gloo_timers::callback::{Timeout, Interval}`) stored next to the object they observe, so
//! closing a connection or dropping the peer removes them: there is no `Closure::forget`.
//! Every `RTCPeerConnection` is closed explicitly when its connection ends (Chrome allows only
//! about 500 per tab lifetime).

mod channel;
mod connection;
mod inbox;
mod negotiator;
mod peer;

pub use connection::{
    ConnectOptions, ConnectionError, ConnectionEvent, ConnectionEvents, DataConnection,
};
pub use peer::{LogLevel, Peer, PeerEvent, PeerEvents, PeerOptions};

use wasm_bindgen::{JsCast, JsValue};

/// A browser API failure, reduced once from its `JsValue` to a name and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct JsError {
    /// The exception's `name`, or `Error`.
    pub name: String,
    /// The exception's `message`, or the value as text.
    pub message: String,
}

impl From<JsValue> for JsError {
    fn from(value: JsValue) -> Self {
        match value.dyn_ref::<js_sys::Error>() {
            Some(err) => Self {
                name: String::from(err.name()),
                message: String::from(err.message()),
            },
            None => Self {
                name: "Error".into(),
                message: value.as_string().unwrap_or_else(|| format!("{value:?}")),
            },
        }
    }
}

/// Drops `value` after the current browser callback returns. Listener guards must not be dropped
/// from inside their own callback (that would free the closure that is running).
pub(crate) fn defer_drop<T: 'static>(value: T) {
    wasm_bindgen_futures::spawn_local(async move { drop(value) });
}

/// Milliseconds on the page's monotonic clock (`performance.now()`).
pub(crate) fn now_ms() -> u64 {
    let now = web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now);
    // Non-negative and far below 2^53 in practice; `as` saturates either way.
    now as u64
}

/// Random bytes from `crypto.getRandomValues`, falling back to `Math.random` when the page has
/// no `crypto` (the bytes seed jitter and connection IDs, not keys).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.get_random_values_with_u8_array(&mut out).is_ok())
        .unwrap_or(false);
    if !filled {
        for byte in &mut out {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    out
}
