//! A button that copies a text to the clipboard and says whether it worked; "Copied" fades
//! out after a moment, so a second copy says it again.

use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::prelude::*;

use crate::error::JsError;

/// Props of [`CopyButton`].
#[derive(Properties, PartialEq)]
pub struct CopyButtonProps {
    /// The text to copy.
    pub text: AttrValue,
    /// Accessible label, e.g. "Copy my peer ID".
    pub label: AttrValue,
    /// `data-testid` of the button.
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

#[derive(Clone, PartialEq)]
enum Outcome {
    Idle,
    Copied,
    Failed(String),
}

async fn write_clipboard(text: &str) -> Result<(), JsError> {
    let window = web_sys::window().ok_or_else(|| JsError {
        name: "Error".into(),
        message: "no window".into(),
    })?;
    JsFuture::from(window.navigator().clipboard().write_text(text)).await?;
    Ok(())
}

/// Copies `text` on click; shows "Copied" or why it failed.
#[component]
pub fn CopyButton(props: &CopyButtonProps) -> Html {
    let outcome = use_state(|| Outcome::Idle);
    {
        // Dropping the timer (a newer outcome, or leaving the page) cancels it.
        let outcome = outcome.clone();
        use_effect_with((*outcome).clone(), move |now| {
            let timer = (*now == Outcome::Copied).then(|| {
                gloo::timers::callback::Timeout::new(2_500, move || outcome.set(Outcome::Idle))
            });
            move || drop(timer)
        });
    }
    let onclick = {
        let outcome = outcome.clone();
        let text = props.text.clone();
        Callback::from(move |_| {
            let outcome = outcome.clone();
            let text = text.clone();
            spawn_local(async move {
                outcome.set(match write_clipboard(&text).await {
                    Ok(()) => Outcome::Copied,
                    Err(e) => Outcome::Failed(e.message),
                });
            });
        })
    };
    let status = match &*outcome {
        Outcome::Idle => html! {},
        Outcome::Copied => {
            html! { <span class="hint ok fade-out" data-testid="copied">{ "Copied" }</span> }
        }
        Outcome::Failed(why) => {
            html! { <span class="hint error">{ format!("Could not copy: {why}") }</span> }
        }
    };
    html! {
        <span class="copy">
            <button type="button" class="secondary" aria-label={props.label.clone()}
                data-testid={props.testid.clone()} {onclick}>{ "Copy" }</button>
            <span aria-live="polite">{ status }</span>
        </span>
    }
}
