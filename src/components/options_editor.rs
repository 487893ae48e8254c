//! Changing a poll's options after it was created: the "Add option" box (for whoever the poll's
//! settings let add options) and, for the owner, renaming or removing an option nobody has voted
//! for yet. A date/time poll adds a slot with date and time inputs (its text written as the
//! creation form writes it, `starpoll_core::poll::slot_label`).
//!
//! Each control only builds a command (`poll:option:add`, `poll:option:rename`,
//! `poll:option:remove`) and hands it to `on_command`; the poll's hub decides, so a refusal shows
//! where every refusal of this page shows, and a participant's command waits in the outbox with
//! its pending badge like a vote.

use std::rc::Rc;

use starpoll_core::poll::limits::MAX_OPTION_CHARS;
use starpoll_core::poll::{
    Command, OptionId, PollKind, PollStatus, PollView, SlotInput, MIN_OPTIONS,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`OptionsEditor`].
#[derive(Properties, PartialEq)]
pub struct OptionsEditorProps {
    /// The poll as this browser sees it.
    pub view: Rc<PollView>,
    /// Whether this browser may add options (its role and the poll's settings).
    pub may_add: bool,
    /// Whether this browser is the owner (who may rename and remove unvoted options).
    #[prop_or_default]
    pub owner: bool,
    /// Called with each command the user asks for.
    pub on_command: Callback<Command>,
}

/// The add box, and the owner's rename/remove list.
#[component]
pub fn OptionsEditor(props: &OptionsEditorProps) -> Html {
    let text = use_state(String::new);
    let slot = use_state(SlotInput::default);
    let view = &props.view;
    let open = view.status == PollStatus::Open;
    let schedule = view.kind == PollKind::Schedule;
    let add_slot = (props.may_add && open && schedule).then(|| {
        let set = |apply: fn(&mut SlotInput, String)| {
            let slot = slot.clone();
            Callback::from(move |e: InputEvent| {
                let mut next = (*slot).clone();
                apply(&mut next, e.target_unchecked_into::<HtmlInputElement>().value());
                slot.set(next);
            })
        };
        let label = slot.label();
        let onsubmit = {
            let (slot, on_command) = (slot.clone(), props.on_command.clone());
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                if let Ok(text) = slot.label() {
                    on_command.emit(Command::AddOption { text });
                    slot.set(SlotInput::default());
                }
            })
        };
        html! {
            <form class="add-option" {onsubmit}>
                <fieldset class="plain">
                    <legend>{ "Add a date or time" }</legend>
                    <div class="slot-row slot-inputs">
                        <input type="date" data-testid="add-slot-date" aria-label="Date"
                            value={slot.date.clone()} oninput={set(|s, v| s.date = v)} />
                        <input type="time" data-testid="add-slot-start" aria-label="From (optional)"
                            value={slot.start.clone()} oninput={set(|s, v| s.start = v)} />
                        <input type="time" data-testid="add-slot-end" aria-label="Until (optional)"
                            value={slot.end.clone()} oninput={set(|s, v| s.end = v)} />
                        <button type="submit" data-testid="add-option-submit" disabled={label.is_err()}>
                            { "Add slot" }
                        </button>
                    </div>
                    <p class="hint" data-testid="add-slot-preview">{ match (&label, slot.is_blank()) {
                        (_, true) => String::new(),
                        (Ok(text), false) => format!("Adds “{text}” (at the end of the list)."),
                        (Err(why), false) => why.sentence().to_owned(),
                    } }</p>
                </fieldset>
            </form>
        }
    });
    let add = (props.may_add && open && !schedule).then(|| {
        let oninput = {
            let text = text.clone();
            Callback::from(move |e: InputEvent| {
                text.set(e.target_unchecked_into::<HtmlInputElement>().value())
            })
        };
        let onsubmit = {
            let (text, on_command) = (text.clone(), props.on_command.clone());
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                if text.trim().is_empty() {
                    return;
                }
                on_command.emit(Command::AddOption {
                    text: (*text).clone(),
                });
                text.set(String::new());
            })
        };
        let length = text.chars().count();
        html! {
            <form class="add-option" {onsubmit}>
                <label for="add-option-input">{ "Add an option" }</label>
                <div class="peer-id-row">
                    <input id="add-option-input" data-testid="add-option-input" type="text" dir="auto"
                        value={(*text).clone()} maxlength={MAX_OPTION_CHARS.to_string()}
                        placeholder="Another answer people can choose" {oninput} />
                    <button type="submit" data-testid="add-option-submit" disabled={text.trim().is_empty()}>
                        { "Add option" }
                    </button>
                </div>
                if length * 10 >= MAX_OPTION_CHARS * 8 {
                    <p class="hint counter" data-testid="add-option-counter">{ format!("{length}/{MAX_OPTION_CHARS}") }</p>
                }
            </form>
        }
    });
    let edit = props.owner.then(|| {
        let rows = view.options.iter().enumerate().map(|(i, option)| {
            // Any answer counts as a vote here (a "no" too), and so does any rank, as the hub
            // counts them: from the named ballots when shown, else from the counts.
            let named = view.results.as_ref().and_then(|r| r.ballots.as_ref()).map(|ballots| {
                let n = ballots.values().filter(|b| b.contains(&option.id)).count();
                u32::try_from(n).unwrap_or(u32::MAX)
            });
            let answered = view
                .results
                .as_ref()
                .and_then(|r| r.slots.as_ref())
                .and_then(|slots| slots.iter().find(|t| t.option_id == option.id))
                .map(|t| t.answered());
            let votes = named.or(answered).unwrap_or_else(|| {
                view.results
                    .as_ref()
                    .and_then(|r| r.tally.iter().find(|t| t.option_id == option.id))
                    .map_or(0, |t| t.votes)
            });
            html! {
                <OptionRow index={i} id={option.id} text={AttrValue::from(option.text.clone())}
                    {votes} removable={view.options.len() > MIN_OPTIONS}
                    on_command={props.on_command.clone()} />
            }
        });
        html! {
            <details class="edit-options" data-testid="edit-options">
                <summary>{ "Rename or remove options" }</summary>
                <p class="hint">{ "Only options nobody has voted for can change, so no vote changes its meaning." }</p>
                <ul class="option-edit-list">{ for rows }</ul>
            </details>
        }
    });
    html! { <>{ add.unwrap_or_default() }{ add_slot.unwrap_or_default() }{ edit.unwrap_or_default() }</> }
}

#[derive(Properties, PartialEq)]
struct OptionRowProps {
    index: usize,
    id: OptionId,
    text: AttrValue,
    votes: u32,
    removable: bool,
    on_command: Callback<Command>,
}

/// One option in the owner's edit list: its text in an input with Save, and Remove.
#[component]
fn OptionRow(props: &OptionRowProps) -> Html {
    let text = use_state(|| props.text.to_string());
    {
        // A rename confirmed by the hub (or made elsewhere) replaces what the input shows.
        let text = text.clone();
        use_effect_with(props.text.clone(), move |current| {
            text.set(current.to_string())
        });
    }
    let i = props.index;
    let locked = props.votes > 0;
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            text.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let onsubmit = {
        let (text, on_command, id) = (text.clone(), props.on_command.clone(), props.id);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            on_command.emit(Command::RenameOption {
                option_id: id,
                text: (*text).clone(),
            });
        })
    };
    let remove = {
        let (on_command, id) = (props.on_command.clone(), props.id);
        Callback::from(move |_: MouseEvent| {
            on_command.emit(Command::RemoveOption { option_id: id })
        })
    };
    let changed = text.trim() != props.text.trim();
    let label = format!("Text of option {}", i + 1);
    html! {
        <li>
            <form class="peer-id-row" {onsubmit}>
                <input type="text" dir="auto" aria-label={label} data-testid={format!("option-rename-input-{i}")}
                    value={(*text).clone()} maxlength={MAX_OPTION_CHARS.to_string()} disabled={locked} {oninput} />
                <button type="submit" class="secondary small" data-testid={format!("option-rename-submit-{i}")}
                    disabled={locked || !changed}>{ "Save" }</button>
                <button type="button" class="secondary small" data-testid={format!("option-remove-{i}")}
                    disabled={locked || !props.removable} onclick={remove}
                    aria-label={format!("Remove {}", props.text)}>{ "Remove" }</button>
            </form>
            if locked {
                <p class="hint" data-testid={format!("option-locked-{i}")}>{ format!(
                    "{} vote{} already, so it stays as it is.", props.votes, if props.votes == 1 { "" } else { "s" }
                ) }</p>
            }
        </li>
    }
}
