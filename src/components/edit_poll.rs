//! The owner's form to change a poll's title, description and deadline. It sends only what
//! changed, as one `poll:edit` command; the owner's hub checks it like any other command.

use starpoll_core::poll::{Command, PollView};
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::time;

/// Props of [`EditPoll`].
#[derive(Properties, PartialEq)]
pub struct EditPollProps {
    /// The poll as it is now.
    pub view: std::rc::Rc<PollView>,
    /// Called with the `poll:edit` command (only when something changed).
    pub on_edit: Callback<Command>,
}

#[derive(Clone, PartialEq)]
struct Draft {
    title: String,
    description: String,
    /// `datetime-local` text; empty means no deadline.
    deadline: String,
}

impl Draft {
    fn of(view: &PollView) -> Self {
        Self {
            title: view.title.clone(),
            description: view.description.clone(),
            deadline: view.deadline.map(time::to_local_input).unwrap_or_default(),
        }
    }

    /// The command for what changed, `Ok(None)` if nothing did.
    fn command(&self, view: &PollView) -> Result<Option<Command>, String> {
        let before = Self::of(view);
        let deadline = if self.deadline == before.deadline {
            None
        } else if self.deadline.trim().is_empty() {
            Some(None)
        } else {
            let at = time::from_local_input(&self.deadline).ok_or_else(|| {
                "The closing time is not a date and time: pick one, or press “No deadline”."
                    .to_owned()
            })?;
            Some(Some(at))
        };
        let title = (self.title != before.title).then(|| self.title.clone());
        let description =
            (self.description != before.description).then(|| self.description.clone());
        if title.is_none() && description.is_none() && deadline.is_none() {
            return Ok(None);
        }
        Ok(Some(Command::EditPoll {
            title,
            description,
            deadline,
        }))
    }
}

/// The edit form, folded away until opened.
#[component]
pub fn EditPoll(props: &EditPollProps) -> Html {
    let draft = use_state(|| Draft::of(&props.view));
    let note = use_state(|| None::<String>);
    let field = |apply: fn(&mut Draft, String)| {
        let draft = draft.clone();
        Callback::from(move |value: String| {
            let mut next = (*draft).clone();
            apply(&mut next, value);
            draft.set(next);
        })
    };
    let input = |e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value();
    let on_title = field(|d, v| d.title = v).reform(input);
    let on_description = field(|d, v| d.description = v)
        .reform(|e: InputEvent| e.target_unchecked_into::<HtmlTextAreaElement>().value());
    let on_deadline = field(|d, v| d.deadline = v).reform(input);
    let clear_deadline = field(|d, _| d.deadline.clear()).reform(|_: MouseEvent| String::new());
    let onsubmit = {
        let (draft, note, view, on_edit) = (
            draft.clone(),
            note.clone(),
            props.view.clone(),
            props.on_edit.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match draft.command(&view) {
                Ok(Some(command)) => {
                    note.set(None);
                    on_edit.emit(command);
                }
                Ok(None) => note.set(Some("Nothing changed.".into())),
                Err(why) => note.set(Some(why)),
            }
        })
    };
    html! {
        <details class="edit-poll" data-testid="edit-poll">
            <summary data-testid="edit-open">{ "Edit title, details or deadline" }</summary>
            <form {onsubmit} novalidate=true>
                <div class="field">
                    <label for="edit-title">{ "Question" }</label>
                    <input id="edit-title" data-testid="edit-title" type="text" maxlength="200"
                        value={draft.title.clone()} oninput={on_title} />
                </div>
                <div class="field">
                    <label for="edit-description">{ "Details" }</label>
                    <textarea id="edit-description" data-testid="edit-description" rows="2" maxlength="2000"
                        value={draft.description.clone()} oninput={on_description} />
                </div>
                <div class="field">
                    <label for="edit-deadline">{ "Closes by itself at" }</label>
                    <div class="row">
                        <input id="edit-deadline" data-testid="edit-deadline" type="datetime-local" step="1"
                            value={draft.deadline.clone()} oninput={on_deadline} />
                        if !draft.deadline.is_empty() {
                            <button type="button" class="secondary small" data-testid="edit-clear-deadline"
                                onclick={clear_deadline}>{ "No deadline" }</button>
                        }
                    </div>
                </div>
                if let Some(text) = &*note {
                    <p class="hint" role="status" data-testid="edit-note">{ text.clone() }</p>
                }
                <button type="submit" data-testid="edit-save">{ "Save changes" }</button>
            </form>
        </details>
    }
}
