//! One tab per identity on the network, with the Web Locks API.
//!
//! The PeerJS server silently hands an ID's traffic to the newest socket that presents the same
//! ID and token, so two tabs of the same browser profile would steal each other's connections
//! without anyone noticing. Each tab therefore asks for an exclusive lock named after its peer ID
//! before it registers: the first tab gets it, a later tab is told the identity is busy and may
//! *take over* (`steal: true`), which makes the browser revoke the first tab's lock — that tab
//! then stops its peer and says so.
//!
//! The lock is held by a promise that never settles while this tab keeps it; dropping the
//! [`TabLock`] releases it. Browsers without `navigator.locks` (insecure contexts, old engines)
//! get the lock at once: there is nothing to coordinate with.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::JsError;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (bound here because web-sys marks it unstable).
    type LockManager;

    #[wasm_bindgen(method, js_name = request)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &JsValue,
        callback: &js_sys::Function,
    ) -> js_sys::Promise;
}

/// What asking for the lock gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// This tab holds the identity.
    Acquired,
    /// Another tab holds it.
    Busy,
    /// Another tab took it over from this one.
    Lost,
}

/// A held (or pending) lock; dropping it releases the lock.
pub struct TabLock {
    release: Rc<RefCell<Option<js_sys::Function>>>,
    _granted: Closure<dyn FnMut(JsValue) -> js_sys::Promise>,
    _settled: Closure<dyn FnMut(JsValue)>,
}

impl Drop for TabLock {
    fn drop(&mut self) {
        if let Some(resolve) = self.release.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

/// Asks for the lock called `name`; `steal` takes it from another tab. `report` is called with
/// [`LockOutcome::Acquired`] or [`LockOutcome::Busy`], and later with [`LockOutcome::Lost`] if
/// another tab takes it over.
pub fn request(
    name: &str,
    steal: bool,
    report: impl Fn(LockOutcome) + 'static,
) -> Result<TabLock, JsError> {
    let report = Rc::new(report);
    let release: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
    let locks = web_sys::window()
        .map(|w| js_sys::Reflect::get(&w.navigator(), &"locks".into()))
        .transpose()?
        .filter(|l| !l.is_undefined() && !l.is_null());
    let granted = {
        let report = report.clone();
        let release = release.clone();
        Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |lock: JsValue| {
            if lock.is_null() {
                report(LockOutcome::Busy);
                return js_sys::Promise::resolve(&JsValue::UNDEFINED);
            }
            report(LockOutcome::Acquired);
            // Hold the lock until `release` is called.
            let mut keep = |resolve: js_sys::Function, _reject: js_sys::Function| {
                *release.borrow_mut() = Some(resolve);
            };
            js_sys::Promise::new(&mut keep)
        })
    };
    let settled = {
        let report = report.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |error: JsValue| {
            // The request's promise rejects with AbortError when another tab steals the lock.
            if JsError::from(error).name == "AbortError" {
                report(LockOutcome::Lost);
            }
        })
    };
    match locks {
        Some(locks) => {
            let options = js_sys::Object::new();
            let flag = if steal { "steal" } else { "ifAvailable" };
            js_sys::Reflect::set(&options, &flag.into(), &JsValue::TRUE)?;
            let promise = locks.unchecked_into::<LockManager>().request(
                name,
                &options,
                granted.as_ref().unchecked_ref(),
            );
            let _ = promise.catch(&settled);
        }
        None => report(LockOutcome::Acquired),
    }
    Ok(TabLock {
        release,
        _granted: granted,
        _settled: settled,
    })
}
