//! The page shown when the app cannot start, most often because IndexedDB is blocked.

use yew::prelude::*;

use crate::error::{AppError, StorageError};

/// Props of [`StartupError`].
#[derive(Properties, PartialEq)]
pub struct StartupErrorProps {
    /// What went wrong.
    pub error: AppError,
}

/// Explains a start-up failure in plain words, with the technical detail below.
#[component]
pub fn StartupError(props: &StartupErrorProps) -> Html {
    let storage = matches!(
        props.error,
        AppError::Storage(StorageError::Unavailable | StorageError::Idb { .. })
    );
    let advice = if storage {
        "starpoll keeps your identity and your polls in this browser's storage (IndexedDB), and \
         this browser refused to open it. This happens in some private-browsing modes, when site \
         data is blocked for this site, or when the disk is full. Allow site data for this page \
         (or leave private mode) and reload."
    } else {
        "Something in the browser failed while starting. Reloading the page may help."
    };
    let detail = detail_chain(&props.error);
    html! {
        <section class="card error-card" role="alert" data-testid="storage-error">
            <h1>{ if storage { "Storage is not available" } else { "starpoll could not start" } }</h1>
            <p>{ advice }</p>
            <details>
                <summary>{ "Technical detail" }</summary>
                <pre>{ detail }</pre>
            </details>
        </section>
    }
}

/// The error and each of its causes, one per line.
fn detail_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str("\ncaused by: ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
