//! The settings page: the signaling server and ICE servers (validated by the core, saved in
//! IndexedDB, used from the next page load on) and this browser's identity (export, import,
//! reset; see [`identity`]).
//!
//! The form edits a copy of the saved settings; Save is disabled while the core reports a
//! problem, and each problem is shown next to its field. "Restore default" and "Use the
//! defaults" save their section at once. The running peer keeps the settings it started with
//! until the page is reloaded ("Reload now" drops any `?peerjs=` from the address, so the saved
//! server is the one that applies).

mod identity;

use std::rc::Rc;

use starpoll_core::settings::{
    default_ice_servers, Field, IceServer, IceServerForm, Problems, ServerForm, ServerSource,
    Settings, SettingsError, SettingsForm,
};
use starpoll_core::ServerConfig;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::config;
use crate::context::{AppContext, IntentError};
use crate::state::AppState;

use identity::IdentitySettings;

/// The settings page.
#[component]
pub fn SettingsPage() -> Html {
    html! {
        <>
            <NetworkSettings />
            <IdentitySettings />
        </>
    }
}

/// Where saving stands.
#[derive(Clone, PartialEq)]
enum Status {
    /// Reading the saved settings.
    Loading,
    /// Nothing saved since the last edit.
    Editing,
    /// Writing.
    Saving,
    /// Saved; the text says what.
    Saved(&'static str),
    /// Reading or writing failed.
    Failed(String),
}

/// Which part of the form a save replaced with the stored values.
#[derive(Clone, Copy, PartialEq)]
enum Saved {
    /// The whole form.
    All,
    /// The server section, back to the default.
    ServerDefault,
    /// The ICE section, back to the defaults.
    IceDefault,
}

/// The network form and its saved counterpart.
#[derive(Clone, PartialEq)]
struct Editor {
    /// What is stored.
    saved: Settings,
    /// What is typed.
    form: SettingsForm,
    /// The default server for this page (shown when none is saved).
    default_server: ServerConfig,
    status: Status,
    /// Something was saved during this visit: offer a reload.
    saved_once: bool,
}

/// An edit of one form field.
enum Edit {
    Host(String),
    Port(String),
    Path(String),
    Key(String),
    Secure(bool),
    IceUrls(usize, String),
    IceUsername(usize, String),
    IceCredential(usize, String),
    IceAdd,
    IceRemove(usize),
}

enum EditorAction {
    Loaded(Result<Settings, String>),
    Edit(Edit),
    Saving,
    Saved(Settings, Saved),
    Failed(String),
}

impl Editor {
    fn ice_row(&mut self, n: usize) -> Option<&mut IceServerForm> {
        self.form
            .ice_servers
            .as_mut()
            .and_then(|rows| rows.get_mut(n))
    }

    fn new(default_server: ServerConfig) -> Self {
        Self {
            form: SettingsForm::new(&Settings::default(), &default_server),
            saved: Settings::default(),
            default_server,
            status: Status::Loading,
            saved_once: false,
        }
    }

    fn edit(&mut self, edit: Edit) {
        let server = &mut self.form.server;
        match edit {
            Edit::Host(v) => server.host = v,
            Edit::Port(v) => server.port = v,
            Edit::Path(v) => server.path = v,
            Edit::Key(v) => server.key = v,
            Edit::Secure(v) => server.secure = v,
            Edit::IceUrls(n, v) => {
                if let Some(r) = self.ice_row(n) {
                    r.urls = v;
                }
            }
            Edit::IceUsername(n, v) => {
                if let Some(r) = self.ice_row(n) {
                    r.username = v;
                }
            }
            Edit::IceCredential(n, v) => {
                if let Some(r) = self.ice_row(n) {
                    r.credential = v;
                }
            }
            Edit::IceAdd => {
                // Leaving the defaults starts from them, so adding a TURN server keeps STUN.
                let rows = self.form.ice_servers.get_or_insert_with(|| {
                    let server = self
                        .form
                        .server
                        .parse()
                        .unwrap_or_else(|_| self.default_server.clone());
                    default_ice_servers(&server)
                        .iter()
                        .map(IceServerForm::from_server)
                        .collect()
                });
                rows.push(IceServerForm::default());
            }
            Edit::IceRemove(n) => {
                if let Some(rows) = self.form.ice_servers.as_mut() {
                    if n < rows.len() {
                        rows.remove(n);
                    }
                }
            }
        }
    }
}

impl Reducible for Editor {
    type Action = EditorAction;

    fn reduce(self: Rc<Self>, action: EditorAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            EditorAction::Loaded(Ok(saved)) => {
                next.form = SettingsForm::new(&saved, &next.default_server);
                next.saved = saved;
                next.status = Status::Editing;
            }
            EditorAction::Loaded(Err(why)) => {
                next.status = Status::Failed(format!("Could not read the saved settings: {why}"))
            }
            EditorAction::Edit(edit) => {
                next.edit(edit);
                if next.status != Status::Saving {
                    next.status = Status::Editing;
                }
            }
            EditorAction::Saving => next.status = Status::Saving,
            EditorAction::Saved(saved, what) => {
                match what {
                    Saved::All => next.form = SettingsForm::new(&saved, &next.default_server),
                    Saved::ServerDefault => {
                        next.form.server = ServerForm::from_config(&next.default_server)
                    }
                    Saved::IceDefault => next.form.ice_servers = None,
                }
                next.saved = saved;
                next.saved_once = true;
                next.status = Status::Saved(match what {
                    Saved::All => "Saved.",
                    Saved::ServerDefault => "The default signaling server is saved.",
                    Saved::IceDefault => "The default ICE servers are saved.",
                });
            }
            EditorAction::Failed(why) => next.status = Status::Failed(why),
        }
        Rc::new(next)
    }
}

/// Writes `settings`, then reports `what` was saved (or why not).
fn save(
    context: &AppContext,
    editor: UseReducerDispatcher<Editor>,
    settings: Settings,
    what: Saved,
) {
    editor.dispatch(EditorAction::Saving);
    let saved = settings.clone();
    context.save_settings(
        settings,
        Callback::from(move |result: Result<(), IntentError>| {
            editor.dispatch(match result {
                Ok(()) => EditorAction::Saved(saved.clone(), what),
                Err(e) => EditorAction::Failed(format!("Not saved: {e}.")),
            })
        }),
    );
}

/// Reloads the page at its path, without `?peerjs=` (which would override the saved server).
fn reload_without_link() {
    if let Some(location) = web_sys::window().map(|w| w.location()) {
        let path = location.pathname().unwrap_or_else(|_| "/settings".into());
        if let Err(e) = location.replace(&path) {
            gloo::console::error!(format!("could not reload: {e:?}"));
        }
    }
}

/// A text input with its label, hint and error, identified by `field`'s name.
fn text_field(
    field: Field,
    label: &str,
    value: &str,
    hint: Option<&str>,
    problems: &Problems,
    oninput: Callback<String>,
) -> Html {
    let name = field.to_string();
    let (input_id, error_id, hint_id) = (
        testid_of(field),
        format!("settings-error-{name}"),
        format!("settings-hint-{name}"),
    );
    let error = problems.get(field);
    let described = [
        hint.map(|_| hint_id.clone()),
        error.map(|_| error_id.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let oninput =
        oninput.reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value());
    let kind = if matches!(field, Field::IceCredential(_)) {
        "password"
    } else {
        "text"
    };
    html! {
        <div class="field">
            <label for={input_id.clone()}>{ label }</label>
            <input id={input_id.clone()} data-testid={input_id} type={kind} value={value.to_owned()}
                autocomplete="off" spellcheck="false" aria-invalid={error.is_some().to_string()}
                aria-describedby={(!described.is_empty()).then_some(described)} {oninput} />
            if let Some(hint) = hint {
                <p class="hint" id={hint_id}>{ hint }</p>
            }
            { error_message(error, &error_id) }
        </div>
    }
}

/// The error under a field (`data-testid` = `id`).
fn error_message(error: Option<&SettingsError>, id: &str) -> Html {
    match error {
        Some(e) => html! {
            <p class="hint error" id={id.to_owned()} data-testid={id.to_owned()} role="alert">
                { e.to_string() }
            </p>
        },
        None => html! {},
    }
}

/// The `data-testid` (and element id) of a field's input.
fn testid_of(field: Field) -> String {
    match field {
        Field::Host | Field::Port | Field::Path | Field::Key => format!("settings-{field}"),
        ice => ice.to_string(),
    }
}

/// Describes ICE servers for the user.
fn describe_ice(list: &[IceServer]) -> String {
    if list.is_empty() {
        "none (direct connections only, e.g. on the same network)".to_owned()
    } else {
        list.iter()
            .map(|s| s.urls().join(" "))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The signaling and ICE server form.
#[component]
fn NetworkSettings() -> Html {
    let editor = use_reducer(|| Editor::new(config::default_server()));
    let context = use_context::<AppContext>();
    {
        let (dispatcher, context) = (editor.dispatcher(), context.clone());
        use_effect_with((), move |_| {
            if let Some(context) = context {
                context.read_settings(Callback::from(move |loaded: Result<_, IntentError>| {
                    dispatcher.dispatch(EditorAction::Loaded(loaded.map_err(|e| e.to_string())))
                }));
            }
        });
    }
    let Some(context) = context else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    let parsed = editor.form.parse(&editor.default_server);
    let problems = parsed.clone().err().unwrap_or_default();
    let busy = matches!(editor.status, Status::Loading | Status::Saving);
    let actions = editor.dispatcher().to_callback();
    let edit =
        |make: fn(String) -> Edit| actions.reform(move |v: String| EditorAction::Edit(make(v)));
    let edit_row = |n: usize, make: fn(usize, String) -> Edit| {
        actions.reform(move |v: String| EditorAction::Edit(make(n, v)))
    };
    let onsecure = actions.reform(|e: Event| {
        EditorAction::Edit(Edit::Secure(
            e.target_unchecked_into::<HtmlInputElement>().checked(),
        ))
    });
    let onsubmit = {
        let (context, dispatcher, parsed) = (context.clone(), editor.dispatcher(), parsed.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // Refused while invalid (the button is disabled too).
            if let Ok(settings) = parsed.clone() {
                save(&context, dispatcher.clone(), settings, Saved::All);
            }
        })
    };
    let restore_server = {
        let (context, dispatcher, saved) =
            (context.clone(), editor.dispatcher(), editor.saved.clone());
        Callback::from(move |_| {
            let settings = Settings {
                server: None,
                ..saved.clone()
            };
            save(&context, dispatcher.clone(), settings, Saved::ServerDefault);
        })
    };
    let restore_ice = {
        let (context, dispatcher, saved) =
            (context.clone(), editor.dispatcher(), editor.saved.clone());
        Callback::from(move |_| {
            let settings = Settings {
                ice_servers: None,
                ..saved.clone()
            };
            save(&context, dispatcher.clone(), settings, Saved::IceDefault);
        })
    };
    let add_ice = actions.reform(|_| EditorAction::Edit(Edit::IceAdd));
    let reload = Callback::from(|_| reload_without_link());

    let server = &editor.form.server;
    let in_use = match ready.server.source {
        ServerSource::Link => "from this page's address (peerjs=…), which is now also saved",
        ServerSource::Saved => "from your settings",
        ServerSource::Default => "the default",
    };
    let ice_in_use = describe_ice(&starpoll_core::settings::ice_servers_for(
        ready.ice_servers.as_deref(),
        &ready.server.server,
    ));
    let ice_rows: Html = match &editor.form.ice_servers {
        None => {
            let server = server
                .parse()
                .unwrap_or_else(|_| editor.default_server.clone());
            html! {
                <p class="hint" data-testid="ice-default">
                    { format!("Using the defaults for this server: {}.", describe_ice(&default_ice_servers(&server))) }
                </p>
            }
        }
        Some(rows) if rows.is_empty() => html! {
            <p class="hint" data-testid="ice-none">
                { "No ICE servers: only direct connections (for example on the same network) will work." }
            </p>
        },
        Some(rows) => rows
            .iter()
            .enumerate()
            .map(|(n, row)| {
                let remove = actions.reform(move |_| EditorAction::Edit(Edit::IceRemove(n)));
                html! {
                    <li class="ice-row" role="group" aria-label={format!("ICE server {}", n + 1)}>
                        { text_field(Field::IceUrls(n), "URLs", &row.urls,
                            Some("One or more stun:, turn: or turns: URLs, separated by spaces."),
                            &problems, edit_row(n, Edit::IceUrls)) }
                        <div class="ice-credentials">
                            { text_field(Field::IceUsername(n), "Username", &row.username, None,
                                &problems, edit_row(n, Edit::IceUsername)) }
                            { text_field(Field::IceCredential(n), "Credential", &row.credential, None,
                                &problems, edit_row(n, Edit::IceCredential)) }
                        </div>
                        <button type="button" class="secondary small" data-testid={format!("ice-remove-{n}")}
                            aria-label={format!("Remove ICE server {}", n + 1)} onclick={remove}>
                            { "Remove" }
                        </button>
                    </li>
                }
            })
            .collect::<Html>(),
    };
    let ice_list = match &editor.form.ice_servers {
        Some(rows) if !rows.is_empty() => html! { <ol class="ice-list">{ ice_rows }</ol> },
        _ => ice_rows,
    };
    let status = match &editor.status {
        Status::Loading => html! { <span class="hint">{ "Loading…" }</span> },
        Status::Editing => html! {},
        Status::Saving => html! { <span class="hint">{ "Saving…" }</span> },
        Status::Saved(what) => html! {
            <span class="hint ok" data-testid="settings-saved">
                { format!("{what} It takes effect when the page is reloaded.") }
            </span>
        },
        Status::Failed(why) => html! {
            <span class="hint error" role="alert" data-testid="settings-save-error">{ why.clone() }</span>
        },
    };
    html! {
        <section class="card settings" aria-labelledby="network-heading">
            <h1 id="network-heading">{ "Settings" }</h1>
            <form onsubmit={onsubmit} novalidate=true>
                <fieldset>
                    <legend>{ "Signaling server" }</legend>
                    <p class="hint">
                        { "The PeerJS server that introduces browsers to each other. Everyone in a \
                           poll must use the same one." }
                    </p>
                    <p class="hint" data-testid="settings-active-server">
                        { "In use now: " }<code>{ ready.server.server.to_url() }</code>{ format!(" ({in_use})") }
                    </p>
                    <div class="settings-grid">
                        { text_field(Field::Host, "Host", &server.host, None, &problems, edit(Edit::Host)) }
                        { text_field(Field::Port, "Port", &server.port, None, &problems, edit(Edit::Port)) }
                        { text_field(Field::Path, "Path", &server.path, None, &problems, edit(Edit::Path)) }
                        { text_field(Field::Key, "Key", &server.key, None, &problems, edit(Edit::Key)) }
                    </div>
                    <div class="field checkbox">
                        <label>
                            <input type="checkbox" data-testid="settings-secure" checked={server.secure}
                                onchange={onsecure} />
                            { " Secure connection (wss://)" }
                        </label>
                    </div>
                    <button type="button" class="secondary" data-testid="settings-reset-server"
                        disabled={busy} onclick={restore_server}>
                        { "Restore default" }
                    </button>
                    <span class="hint">{ format!(" Default: {}", editor.default_server.to_url()) }</span>
                </fieldset>
                <fieldset>
                    <legend>{ "ICE servers (STUN/TURN)" }</legend>
                    <p class="hint">
                        { "STUN servers help browsers find a direct path to each other; a TURN server \
                           relays the traffic when no direct path exists (it needs a username and a \
                           credential)." }
                    </p>
                    <p class="hint" data-testid="settings-active-ice">{ format!("In use now: {ice_in_use}.") }</p>
                    { ice_list }
                    <div class="row">
                        <button type="button" class="secondary" data-testid="ice-add" onclick={add_ice}>
                            { "Add ICE server" }
                        </button>
                        if editor.form.ice_servers.is_some() || editor.saved.ice_servers.is_some() {
                            <button type="button" class="secondary" data-testid="ice-reset"
                                disabled={busy} onclick={restore_ice}>
                                { "Use the defaults" }
                            </button>
                        }
                    </div>
                </fieldset>
                <div class="row save-row">
                    <button type="submit" data-testid="settings-save" disabled={busy || parsed.is_err()}>
                        { "Save" }
                    </button>
                    <span class="hint">{ "Changes take effect after a reload." }</span>
                    if editor.saved_once {
                        <button type="button" class="secondary" data-testid="settings-reload" onclick={reload}>
                            { "Reload now" }
                        </button>
                    }
                </div>
                <p aria-live="polite">{ status }</p>
            </form>
        </section>
    }
}
