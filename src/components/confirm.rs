//! A button for an action that cannot be undone: the first press shows what will happen and asks
//! again, in the page (no `window.confirm`), so keyboard and screen-reader users get the same
//! warning as everyone else.

use yew::prelude::*;

/// Props of [`ConfirmButton`].
#[derive(Properties, PartialEq)]
pub struct ConfirmButtonProps {
    /// The first button's text, e.g. "Delete this poll".
    pub label: AttrValue,
    /// What will happen, shown when asking again.
    pub warning: AttrValue,
    /// The confirming button's text, e.g. "Delete it".
    pub confirm_label: AttrValue,
    /// `data-testid` of the first button; the confirm and cancel buttons get `-confirm`/`-cancel`.
    pub testid: AttrValue,
    /// Called when the user confirms.
    pub on_confirm: Callback<()>,
}

/// Asks before doing something final.
#[component]
pub fn ConfirmButton(props: &ConfirmButtonProps) -> Html {
    let asking = use_state(|| false);
    let ask = {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(true))
    };
    let cancel = {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(false))
    };
    let confirm = {
        let (asking, on_confirm) = (asking.clone(), props.on_confirm.clone());
        Callback::from(move |_: MouseEvent| {
            asking.set(false);
            on_confirm.emit(());
        })
    };
    if *asking {
        html! {
            <div class="confirm" role="alertdialog" aria-label={props.label.clone()}>
                <p class="notice warn">{ props.warning.clone() }</p>
                <div class="row">
                    <button type="button" class="danger" data-testid={format!("{}-confirm", props.testid)}
                        onclick={confirm}>{ props.confirm_label.clone() }</button>
                    <button type="button" class="secondary" data-testid={format!("{}-cancel", props.testid)}
                        onclick={cancel}>{ "Cancel" }</button>
                </div>
            </div>
        }
    } else {
        html! {
            <button type="button" class="secondary danger-outline" data-testid={props.testid.clone()}
                onclick={ask}>{ props.label.clone() }</button>
        }
    }
}
