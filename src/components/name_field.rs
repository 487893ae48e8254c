//! The display-name input, with a live "saved" indicator.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::state::SaveState;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// Props of [`NameField`].
#[derive(Properties, PartialEq)]
pub struct NameFieldProps {
    /// The current name.
    pub name: AttrValue,
    /// Whether the latest edit is stored.
    pub save: SaveState,
    /// Called with the new name on every edit.
    pub on_change: Callback<String>,
}

/// An input for this browser's display name (`data-testid="participant-name"`).
#[component]
pub fn NameField(props: &NameFieldProps) -> Html {
    let oninput = props.on_change.reform(|e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        input.value()
    });
    let (state, text) = match &props.save {
        SaveState::Unchanged => ("unchanged", String::new()),
        SaveState::Saving(_) => ("saving", "Saving…".to_owned()),
        SaveState::Saved(_) => ("saved", "Saved".to_owned()),
        SaveState::Failed(e) => (
            "failed",
            format!("Not saved: {}.", crate::messages::storage(e)),
        ),
    };
    html! {
        <div class="field">
            <label for="participant-name">{ "Your display name" }</label>
            <input id="participant-name" data-testid="participant-name" type="text"
                autocomplete="nickname" maxlength={MAX_NAME_CHARS.to_string()}
                placeholder="How others see you in polls"
                value={props.name.clone()} {oninput} />
            <span class="hint" data-testid="name-save-state" data-state={state} aria-live="polite">{ text }</span>
        </div>
    }
}
