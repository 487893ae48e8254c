//! Errors of the browser shell, and the single conversion from `JsValue` to a typed error.
//!
//! Every browser call that can fail returns a `JsValue`; [`JsError::from`] (shared with
//! `peerjs-client`) turns it into a name and message once, so the rest of the shell uses `?` and
//! typed errors. UI-facing errors are `Clone + PartialEq` so components can hold them in state.

use std::sync::Arc;

/// A JavaScript exception or rejection, reduced to its name and message. The conversion from
/// `JsValue` lives in `peerjs-client` (the app's other browser-facing crate) and is shared, so
/// there is one such conversion in the whole program.
pub use peerjs_client::web::JsError;

/// Why the IndexedDB repository failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The browser has no IndexedDB (blocked storage, some private modes, sandboxed frames).
    #[error("this browser does not let the page use IndexedDB")]
    Unavailable,
    /// IndexedDB refused an operation (open, transaction, read or write).
    #[error("IndexedDB failed while trying to {action}")]
    Idb {
        /// What we were doing, e.g. "open the database".
        action: &'static str,
        /// The underlying rexie error (shared so UI state can clone it).
        #[source]
        source: Arc<rexie::Error>,
    },
    /// A transaction was aborted (quota, a conflicting upgrade, the tab closing).
    #[error("IndexedDB aborted the transaction while trying to {action}")]
    Aborted {
        /// What we were doing.
        action: &'static str,
    },
    /// A stored record could not be (de)serialized.
    #[error("stored {record} is unreadable: {message}")]
    Corrupt {
        /// Which record.
        record: &'static str,
        /// What was wrong with it.
        message: String,
    },
}

impl StorageError {
    /// Wraps a rexie error with what we were doing.
    pub fn idb(action: &'static str) -> impl FnOnce(rexie::Error) -> Self {
        move |source| Self::Idb {
            action,
            source: Arc::new(source),
        }
    }
}

/// Anything that can go wrong while starting the app.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Local storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A browser API failed.
    #[error("browser error: {0}")]
    Js(#[from] JsError),
    /// The browser's random number generator failed.
    #[error("the browser's random number generator failed: {0}")]
    Random(String),
}

/// Why sharing through the Web Share API (`navigator.share`) did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// The user closed the share sheet (`AbortError`): not a failure to show.
    #[error("sharing was cancelled")]
    Cancelled,
    /// The browser refused to share or the share target failed.
    #[error("could not share: {0}")]
    Failed(#[source] JsError),
}

impl From<wasm_bindgen::JsValue> for ShareError {
    fn from(value: wasm_bindgen::JsValue) -> Self {
        let error = JsError::from(value);
        if error.name == "AbortError" {
            Self::Cancelled
        } else {
            Self::Failed(error)
        }
    }
}
