//! Where a poll is served (`hub-status`, on every poll page) and the owner's "Keep this poll
//! online" form (`hub-move-input`, `hub-move-submit`, `hub-take-back`), PROTOCOL.md §8.

use starpoll_core::PeerId;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// A short form of a peer ID for people (the full one is in `data-hub` and the title).
pub fn short_peer(peer: &PeerId) -> String {
    let text = peer.as_str();
    text.get(..8).unwrap_or(text).to_owned()
}

/// Whose page it is, and so how the serving hub is described.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The owner, serving the poll from this browser.
    OwnerHere,
    /// The owner, whose poll another hub keeps online.
    OwnerAway,
    /// A participant.
    Participant,
}

#[derive(Properties, PartialEq)]
pub struct HubStatusProps {
    /// The peer serving the poll (the owner's own ID when not moved).
    pub hub: PeerId,
    /// The poll's owner.
    pub owner: PeerId,
    /// The owner's display name.
    pub owner_name: AttrValue,
    /// Whose page this is.
    pub viewer: Viewer,
}

/// One line saying which peer serves the poll, on whose behalf.
#[component]
pub fn HubStatus(props: &HubStatusProps) -> Html {
    let short = short_peer(&props.hub);
    let owner = if props.owner_name.is_empty() {
        short_peer(&props.owner)
    } else {
        props.owner_name.to_string()
    };
    let text = match props.viewer {
        Viewer::OwnerHere => "Served from this browser".to_owned(),
        Viewer::OwnerAway => format!("Kept online by {short}"),
        Viewer::Participant if props.hub == props.owner => {
            format!("Served by the owner's browser ({owner})")
        }
        Viewer::Participant => format!("Served by {short}, on behalf of {owner}"),
    };
    html! {
        <p class="hint" data-testid="hub-status" data-hub={props.hub.to_string()}
            title={props.hub.to_string()}>{ text }</p>
    }
}

#[derive(Properties, PartialEq)]
pub struct HubMoveProps {
    /// Called with what the owner typed (a peer ID, or a link containing one).
    pub on_move: Callback<String>,
    /// Set when the poll is served elsewhere: show "Serve it from this browser again".
    #[prop_or_default]
    pub on_take_back: Option<Callback<()>>,
    /// What is happening or went wrong, in plain words.
    #[prop_or_default]
    pub note: Option<AttrValue>,
    /// Whether `note` is an error.
    #[prop_or_default]
    pub error: bool,
    /// A move is in flight: the form waits.
    #[prop_or_default]
    pub busy: bool,
}

/// The owner's "Keep this poll online" form.
#[component]
pub fn HubMove(props: &HubMoveProps) -> Html {
    let input = use_node_ref();
    let onsubmit = {
        let (input, on_move) = (input.clone(), props.on_move.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(field) = input.cast::<HtmlInputElement>() {
                on_move.emit(field.value());
            }
        })
    };
    let take_back = props.on_take_back.clone().map(|cb| {
        let onclick = Callback::from(move |_: MouseEvent| cb.emit(()));
        html! {
            <button type="button" class="secondary" data-testid="hub-take-back" {onclick} disabled={props.busy}>
                { "Serve it from this browser again" }
            </button>
        }
    });
    html! {
        <section class="hub-move" aria-labelledby="hub-move-title">
            <h2 id="hub-move-title">{ "Keep this poll online" }</h2>
            <p class="hint">{ "Hand this poll to a browser or host that stays online (paste its peer ID or a link to it). It serves the poll on your behalf, so participants can vote while this browser is closed. You keep the poll: you can take it back at any time." }</p>
            <label for="hub-move-input">{ "Peer ID or link of the hub" }</label>
            <form class="hub-move-form" {onsubmit}>
                <input id="hub-move-input" data-testid="hub-move-input" ref={input} type="text"
                    placeholder="Peer ID or link" autocomplete="off" spellcheck="false" />
                <button type="submit" data-testid="hub-move-submit" disabled={props.busy}>{ "Move the poll" }</button>
            </form>
            { take_back.unwrap_or_default() }
            if let Some(note) = &props.note {
                <p class={classes!("notice", if props.error { "error" } else { "info" })}
                    role={if props.error { "alert" } else { "status" }} data-testid="hub-move-note">{ note.clone() }</p>
            }
        </section>
    }
}
