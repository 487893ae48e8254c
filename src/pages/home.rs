//! The home page: who I am on the network (peer ID, display name) and which server I use.

use yew::prelude::*;

use crate::app::AppContext;
use crate::components::{CopyButton, NameField};
use crate::network::NetworkStatus;
use crate::state::AppState;

/// The home page.
#[component]
pub fn Home() -> Html {
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    let peer_id = AttrValue::from(ready.identity.peer_id().to_string());
    let on_name = {
        let context = context.clone();
        Callback::from(move |name: String| context.set_display_name(name))
    };
    let take_over = {
        let context = context.clone();
        Callback::from(move |_| context.start_network(true))
    };
    let (status_text, offer_take_over) = match &ready.network {
        NetworkStatus::Starting | NetworkStatus::Connecting => {
            ("Connecting to the signaling server…".to_owned(), false)
        }
        NetworkStatus::Online => ("Online: others can reach you.".to_owned(), false),
        NetworkStatus::Reconnecting => {
            ("Lost the signaling server; reconnecting by itself…".to_owned(), false)
        }
        NetworkStatus::OtherTab => (
            "starpoll is already open in another tab of this browser, which is the one others              reach. Keep using that tab, or use this one instead."
                .to_owned(),
            true,
        ),
        NetworkStatus::TakenOver => (
            "Another tab took over: others now reach you there. This tab is offline.".to_owned(),
            true,
        ),
        NetworkStatus::Stopped(why) => (format!("Offline: {why}"), false),
    };
    let server_note = match &ready.server.rejected_override {
        Some(e) => html! {
            <p class="hint error" data-testid="server-warning">
                { format!("The peerjs= address in the page link was ignored: {e}.") }
            </p>
        },
        None => html! {},
    };
    html! {
        <>
            <section class="card" aria-labelledby="me-heading">
                <h1 id="me-heading">{ "You" }</h1>
                <NameField name={AttrValue::from(ready.profile.display_name.clone())}
                    save={ready.name_save.clone()} on_change={on_name} />
                <div class="field">
                    <span class="label" id="peer-id-label">{ "Your peer ID" }</span>
                    <div class="peer-id-row">
                        <code class="peer-id" data-testid="my-peer-id" aria-labelledby="peer-id-label">
                            { peer_id.clone() }
                        </code>
                        <CopyButton text={peer_id} label="Copy my peer ID" testid={AttrValue::from("copy-peer-id")} />
                    </div>
                    <p class="hint">
                        { "Others join your polls with this ID. It is your public key, so it stays \
                           the same every time you open starpoll in this browser." }
                    </p>
                </div>
            </section>
            <section class="card muted" aria-label="Connection">
                <p class="hint" role="status" data-testid="network-status" data-state={ready.network.key()}>
                    { status_text }
                </p>
                if offer_take_over {
                    <button type="button" data-testid="take-over" onclick={take_over}>
                        { "Use starpoll in this tab" }
                    </button>
                }
                <p class="hint" data-testid="signaling-server">
                    { "Signaling server: " }<code>{ ready.server.server.to_url() }</code>
                </p>
                { server_note }
            </section>
        </>
    }
}
