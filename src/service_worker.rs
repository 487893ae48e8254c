//! Registers the service worker (`static/sw.js`) that keeps the app shell cached, so the app
//! opens and shows its stored polls with no network. Browsers without service workers (insecure
//! contexts) simply run without it.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::error::JsError;

/// Registers `/sw.js` for the whole origin (in the background; failures are logged).
pub fn register() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    let supported =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false);
    if !supported {
        return;
    }
    let registering = navigator.service_worker().register("/sw.js");
    spawn_local(async move {
        if let Err(e) = JsFuture::from(registering).await {
            let e = JsError::from(e);
            gloo::console::warn!(format!("offline use unavailable: {e}"));
        }
    });
}
