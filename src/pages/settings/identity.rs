//! The identity section of the settings page: show the peer ID, export the identity file,
//! import one, or reset to a new identity.
//!
//! Importing and resetting replace the identity and clear everything this browser holds for the
//! old one, after an explicit in-page confirmation that says what is lost. Both go through the
//! [`AppContext::replace_identity`] intent: it stops this tab's peer and followers first,
//! replaces the identity and its data in one transaction, then reloads, so nothing of the old
//! identity keeps running in this tab.

use std::rc::Rc;

use starpoll_core::identity_file;
use starpoll_core::Identity;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::context::{AppContext, DataSummary, IntentError};
use crate::files;
use crate::state::AppState;

/// Larger files are refused unread: an identity file is a few hundred bytes.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// What the import controls hold.
#[derive(Clone)]
enum Import {
    /// Nothing chosen.
    Empty,
    /// A file that is not a usable identity file.
    Invalid(String),
    /// A valid file holding this browser's own identity.
    Same,
    /// A valid file holding another identity, waiting for confirmation.
    Ready(Rc<Identity>),
}

/// Where a replacement (import or reset) stands.
#[derive(Clone, PartialEq)]
enum Switch {
    Idle,
    Working,
    Failed(String),
}

/// Checks an identity file's text against the current identity.
fn check(text: &str, current: &Identity) -> Import {
    if text.trim().is_empty() {
        return Import::Empty;
    }
    match identity_file::decode(text) {
        Ok(identity) if identity.peer_id() == current.peer_id() => Import::Same,
        Ok(identity) => Import::Ready(Rc::new(identity)),
        Err(e) => Import::Invalid(crate::messages::identity_file_problem(&e)),
    }
}

/// What replacing the identity clears, in words.
fn loss_text(summary: Option<DataSummary>) -> String {
    let plural = |n: u32, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    match summary {
        Some(s) => format!(
            "This browser's data is cleared: {} you own here (with all their votes), {} you \
             joined, and {} not yet delivered. Your display name is cleared too; the network \
             settings stay.",
            plural(s.owned_polls, "poll", "polls"),
            plural(s.joined_polls, "poll", "polls"),
            plural(s.unsent_commands, "vote or change", "votes or changes"),
        ),
        None => "This browser's data is cleared: the polls you own here (with all their votes), \
                 the polls you joined, and votes not yet delivered. Your display name is cleared \
                 too; the network settings stay."
            .to_owned(),
    }
}

/// The identity card.
#[component]
pub fn IdentitySettings() -> Html {
    let context = use_context::<AppContext>();
    let summary = use_state(|| None::<DataSummary>);
    let import = use_state(|| Import::Empty);
    let confirm_reset = use_state(|| false);
    let switch = use_state(|| Switch::Idle);
    let export_error = use_state(|| None::<String>);
    let me = match context.as_ref().map(AppContext::state) {
        Some(AppState::Ready(ready)) => Some(ready.identity.clone()),
        _ => None,
    };
    {
        let (summary, context) = (summary.clone(), context.clone());
        use_effect_with((), move |_| {
            if let Some(context) = context {
                context.read_data_summary(Callback::from(move |s| summary.set(Some(s))));
            }
        });
    }
    let (Some(context), Some(me)) = (context, me) else {
        return html! {};
    };
    let peer_id = me.peer_id().to_string();

    let onexport = {
        let (me, export_error) = (me.clone(), export_error.clone());
        Callback::from(move |_| {
            let name = identity_file::file_name(me.peer_id());
            let result = files::download(&name, "application/json", &identity_file::encode(&me));
            export_error.set(result.err().map(|e| format!("Could not download: {e}")));
        })
    };
    let onfile = {
        let (import, me) = (import.clone(), me.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let (import, me) = (import.clone(), me.clone());
            spawn_local(async move {
                let Some(file) = files::picked(&input) else {
                    import.set(Import::Empty);
                    return;
                };
                import.set(match files::read_text(&file, MAX_FILE_BYTES).await {
                    Ok(text) => check(&text, &me),
                    Err(e) => Import::Invalid(format!("Could not read the file: {e}")),
                });
            });
        })
    };
    let onpaste = {
        let (import, me) = (import.clone(), me.clone());
        Callback::from(move |e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            import.set(check(&area.value(), &me));
        })
    };
    let start_switch = {
        let (context, switch) = (context.clone(), switch.clone());
        Callback::from(move |identity: Identity| {
            let switch = switch.clone();
            switch.set(Switch::Working);
            let failed =
                Callback::from(move |why: IntentError| switch.set(Switch::Failed(why.to_string())));
            context.replace_identity(identity, failed);
        })
    };
    let onimport = {
        let (import, start_switch) = (import.clone(), start_switch.clone());
        Callback::from(move |_| {
            if let Import::Ready(identity) = &*import {
                start_switch.emit((**identity).clone());
            }
        })
    };
    let cancel_import = {
        let import = import.clone();
        Callback::from(move |_| import.set(Import::Empty))
    };
    let onreset = {
        let confirm_reset = confirm_reset.clone();
        Callback::from(move |_| confirm_reset.set(true))
    };
    let cancel_reset = {
        let confirm_reset = confirm_reset.clone();
        Callback::from(move |_| confirm_reset.set(false))
    };
    let confirm_reset_click = {
        let (start_switch, switch) = (start_switch.clone(), switch.clone());
        Callback::from(move |_| match crate::identity::generate() {
            Ok(identity) => start_switch.emit(identity),
            Err(e) => switch.set(Switch::Failed(format!("No new identity: {e}"))),
        })
    };
    let working = *switch == Switch::Working;
    let loss = loss_text(*summary);
    let other_tabs = "Close starpoll in this browser's other tabs first: they keep the old \
                      identity until they are reloaded.";

    let import_result = match &*import {
        Import::Empty => html! {},
        Import::Invalid(why) => html! {
            <p class="notice error" role="alert" data-testid="identity-import-error">{ why.clone() }</p>
        },
        Import::Same => html! {
            <p class="hint" data-testid="identity-import-same">
                { "This file holds the identity this browser already has; nothing to import." }
            </p>
        },
        Import::Ready(identity) => html! {
            <div class="notice warning" role="group" aria-labelledby="import-heading"
                data-testid="identity-import-preview">
                <h3 id="import-heading">{ "Switch to this identity?" }</h3>
                <p>
                    { "This browser will become " }
                    <code class="peer-id" data-testid="identity-import-peer-id">{ identity.peer_id().to_string() }</code>
                </p>
                <p>{ format!("Your current identity ({peer_id}) is replaced and lost unless you exported it.") }</p>
                <p>{ loss.clone() }</p>
                <p>{ other_tabs }</p>
                <div class="row">
                    <button type="button" class="danger" data-testid="identity-import-confirm"
                        disabled={working} onclick={onimport}>
                        { "Replace my identity and reload" }
                    </button>
                    <button type="button" class="secondary" data-testid="identity-import-cancel"
                        disabled={working} onclick={cancel_import}>
                        { "Cancel" }
                    </button>
                </div>
            </div>
        },
    };
    let switch_status = match &*switch {
        Switch::Idle => html! {},
        Switch::Working => html! { <p class="hint" role="status">{ "Switching identity…" }</p> },
        Switch::Failed(why) => html! {
            <p class="notice error" role="alert" data-testid="identity-switch-error">{ why.clone() }</p>
        },
    };
    html! {
        <section class="card settings" aria-labelledby="identity-heading">
            <h1 id="identity-heading">{ "Identity" }</h1>
            <div class="field">
                <span class="label" id="settings-peer-id-label">{ "Your peer ID" }</span>
                <code class="peer-id" data-testid="identity-peer-id" aria-labelledby="settings-peer-id-label">
                    { peer_id.clone() }
                </code>
            </div>

            <h2>{ "Export" }</h2>
            <p class="notice warning" id="export-warning">
                <strong>{ "The identity file is your key. " }</strong>
                { "Whoever has it can act as you: vote in your name and run your polls. Keep it \
                   private, and use it in one browser at a time." }
            </p>
            <button type="button" data-testid="identity-export" aria-describedby="export-warning"
                onclick={onexport}>
                { "Download my identity file" }
            </button>
            if let Some(why) = &*export_error {
                <p class="hint error" role="alert">{ why.clone() }</p>
            }

            <h2>{ "Import" }</h2>
            <p class="hint">{ "Use an identity exported from another browser. You confirm before anything changes." }</p>
            <div class="field">
                <label for="identity-import-file">{ "Identity file" }</label>
                <input id="identity-import-file" data-testid="identity-import-file" type="file"
                    accept=".json,application/json" onchange={onfile} />
            </div>
            <div class="field">
                <label for="identity-import-text">{ "…or paste its contents" }</label>
                <textarea id="identity-import-text" data-testid="identity-import-text" rows="3"
                    spellcheck="false" oninput={onpaste} />
            </div>
            { import_result }

            <h2>{ "Reset" }</h2>
            <p class="hint">{ "Make a new identity with a new peer ID, as if starpoll were opened here for the first time." }</p>
            if *confirm_reset {
                <div class="notice warning" role="group" aria-labelledby="reset-heading"
                    data-testid="identity-reset-dialog">
                    <h3 id="reset-heading">{ "Reset your identity?" }</h3>
                    <p>{ format!("Your current identity ({peer_id}) is lost unless you exported it.") }</p>
                    <p>{ loss }</p>
                    <p>{ other_tabs }</p>
                    <div class="row">
                        <button type="button" class="danger" data-testid="identity-reset-confirm"
                            disabled={working} onclick={confirm_reset_click}>
                            { "Reset and reload" }
                        </button>
                        <button type="button" class="secondary" data-testid="identity-reset-cancel"
                            disabled={working} onclick={cancel_reset}>
                            { "Cancel" }
                        </button>
                    </div>
                </div>
            } else {
                <button type="button" class="secondary danger-outline" data-testid="identity-reset"
                    onclick={onreset}>
                    { "Reset identity…" }
                </button>
            }
            { switch_status }
        </section>
    }
}
