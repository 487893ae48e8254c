//! The poll-creation form: title, description, options (two at first, more on demand), single or
//! multiple choice with a maximum, an optional deadline, anonymity, who sees results, newcomers'
//! role. Creating opens the poll's owner view.

use starpoll_core::poll::{
    NewcomerRole, OptionAdders, PollDraft, PollKind, ResultsVisibility, Settings,
};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::app::{AppContext, Route};
use crate::router::use_navigator;
use crate::state::AppState;
use crate::time;

#[derive(Clone, PartialEq)]
struct Form {
    title: String,
    description: String,
    options: Vec<String>,
    multi: bool,
    max: u32,
    results: ResultsVisibility,
    newcomer: NewcomerRole,
    adders: OptionAdders,
    anonymous: bool,
    /// The `datetime-local` value of the deadline ("" = none).
    deadline: String,
}

impl Default for Form {
    fn default() -> Self {
        Self {
            title: String::new(),
            description: String::new(),
            options: vec![String::new(), String::new()],
            multi: false,
            max: 2,
            results: ResultsVisibility::Always,
            newcomer: NewcomerRole::Voter,
            adders: OptionAdders::Owner,
            anonymous: false,
            deadline: String::new(),
        }
    }
}

impl Form {
    /// The draft to create: blank option rows are skipped. Refused with a message when the
    /// deadline is not a time.
    fn draft(&self, owner_name: &str) -> Result<PollDraft, String> {
        let deadline = match self.deadline.trim() {
            "" => None,
            text => Some(
                time::from_local_input(text)
                    .ok_or_else(|| "the closing time is not a date and time".to_owned())?,
            ),
        };
        let options: Vec<String> = self
            .options
            .iter()
            .filter(|o| !o.trim().is_empty())
            .cloned()
            .collect();
        let kind = if self.multi {
            PollKind::Multiple {
                max: self
                    .max
                    .clamp(1, u32::try_from(options.len().max(1)).unwrap_or(1)),
            }
        } else {
            PollKind::Single
        };
        let owner_name = if owner_name.trim().is_empty() {
            "Owner"
        } else {
            owner_name
        };
        Ok(PollDraft {
            title: self.title.clone(),
            description: self.description.clone(),
            options,
            kind,
            deadline,
            settings: Settings {
                option_adders: self.adders,
                results: self.results,
                newcomer_role: self.newcomer,
                anonymous: self.anonymous,
            },
            owner_name: owner_name.to_owned(),
        })
    }
}

fn input_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

/// The poll-creation page.
#[component]
pub fn NewPoll() -> Html {
    let form = use_state(Form::default);
    let error = use_state(|| None::<String>);
    let navigator = use_navigator();
    let Some(context) = use_context::<AppContext>() else {
        return html! {};
    };
    let AppState::Ready(ready) = context.state() else {
        return html! {};
    };
    let edit = |apply: fn(&mut Form, String)| {
        let form = form.clone();
        Callback::from(move |value: String| {
            let mut next = (*form).clone();
            apply(&mut next, value);
            form.set(next);
        })
    };
    let on_title = edit(|f, v| f.title = v).reform(|e: InputEvent| input_value(&e));
    let on_description = edit(|f, v| f.description = v)
        .reform(|e: InputEvent| e.target_unchecked_into::<HtmlTextAreaElement>().value());
    let add_option = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*form).clone();
            next.options.push(String::new());
            form.set(next);
        })
    };
    let on_multi = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            next.multi = e.target_unchecked_into::<HtmlInputElement>().checked();
            form.set(next);
        })
    };
    let on_anonymous = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            next.anonymous = e.target_unchecked_into::<HtmlInputElement>().checked();
            form.set(next);
        })
    };
    let on_deadline = edit(|f, v| f.deadline = v).reform(|e: InputEvent| input_value(&e));
    let clear_deadline = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*form).clone();
            next.deadline.clear();
            form.set(next);
        })
    };
    let remove_option = {
        let form = form.clone();
        Callback::from(move |i: usize| {
            let mut next = (*form).clone();
            if next.options.len() > 2 && i < next.options.len() {
                next.options.remove(i);
            }
            form.set(next);
        })
    };
    let on_max =
        edit(|f, v| f.max = v.parse().unwrap_or(1)).reform(|e: InputEvent| input_value(&e));
    let select = |apply: fn(&mut Form, &str)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            let mut next = (*form).clone();
            apply(&mut next, &value);
            form.set(next);
        })
    };
    let on_results = select(|f, v| {
        f.results = match v {
            "afterVoting" => ResultsVisibility::AfterVoting,
            "afterClose" => ResultsVisibility::AfterClose,
            _ => ResultsVisibility::Always,
        }
    });
    let on_newcomer = select(|f, v| {
        f.newcomer = if v == "viewer" {
            NewcomerRole::Viewer
        } else {
            NewcomerRole::Voter
        }
    });
    let on_adders = select(|f, v| {
        f.adders = match v {
            "editors" => OptionAdders::Editors,
            "voters" => OptionAdders::Voters,
            _ => OptionAdders::Owner,
        }
    });
    let onsubmit = {
        let form = form.clone();
        let error = error.clone();
        let context = context.clone();
        let owner_name = ready.profile.display_name.clone();
        let owner = ready.identity.peer_id().to_string();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match form
                .draft(&owner_name)
                .and_then(|draft| context.create_poll(draft))
            {
                Ok(id) => {
                    if let Some(navigator) = &navigator {
                        navigator.push(&Route::Poll {
                            owner: owner.clone(),
                            poll: id.to_string(),
                        });
                    }
                }
                Err(why) => error.set(Some(why)),
            }
        })
    };
    let can_create = ready.hub.is_some();
    let removable = form.options.len() > 2;
    let options = form.options.iter().enumerate().map(|(i, text)| {
        let form = form.clone();
        let remove = remove_option.reform(move |_: MouseEvent| i);
        let oninput = Callback::from(move |e: InputEvent| {
            let mut next = (*form).clone();
            if let Some(slot) = next.options.get_mut(i) {
                *slot = input_value(&e);
            }
            form.set(next);
        });
        html! {
            <li>
                <input type="text" data-testid={format!("poll-option-{i}")}
                    aria-label={format!("Option {}", i + 1)} maxlength="200"
                    placeholder={format!("Option {}", i + 1)} value={text.clone()} {oninput} />
                if removable {
                    <button type="button" class="secondary small" data-testid={format!("poll-remove-option-{i}")}
                        aria-label={format!("Remove option {}", i + 1)} onclick={remove}>{ "Remove" }</button>
                }
            </li>
        }
    });
    html! {
        <section class="card" aria-labelledby="new-heading">
            <h1 id="new-heading">{ "New poll" }</h1>
            <form {onsubmit} novalidate=true>
                <div class="field">
                    <label for="poll-title">{ "Question" }</label>
                    <input id="poll-title" data-testid="poll-title" type="text" maxlength="200"
                        placeholder="Where shall we have lunch?" value={form.title.clone()} oninput={on_title} />
                </div>
                <div class="field">
                    <label for="poll-description">{ "Details (optional)" }</label>
                    <textarea id="poll-description" data-testid="poll-description" rows="2" maxlength="2000"
                        value={form.description.clone()} oninput={on_description} />
                </div>
                <fieldset class="field">
                    <legend>{ "Options" }</legend>
                    <ol class="option-inputs">{ for options }</ol>
                    <button type="button" class="secondary" data-testid="poll-add-option" onclick={add_option}>
                        { "Add an option" }
                    </button>
                </fieldset>
                <div class="field row">
                    <label>
                        <input type="checkbox" data-testid="poll-multi" checked={form.multi} onchange={on_multi} />
                        { " Allow several choices" }
                    </label>
                    if form.multi {
                        <label>{ "at most " }
                            <input type="number" class="narrow" data-testid="poll-max" min="1" max="50"
                                value={form.max.to_string()} oninput={on_max} />
                        </label>
                    }
                </div>
                <div class="field">
                    <label for="poll-deadline">{ "Closes by itself at (optional)" }</label>
                    <div class="row">
                        <input id="poll-deadline" data-testid="poll-deadline" type="datetime-local" step="1"
                            value={form.deadline.clone()} oninput={on_deadline} aria-describedby="poll-deadline-hint" />
                        if !form.deadline.is_empty() {
                            <button type="button" class="secondary small" onclick={clear_deadline}>{ "No deadline" }</button>
                        }
                    </div>
                    <p class="hint" id="poll-deadline-hint">{ "Your browser closes the poll at that time, if starpoll is open then; otherwise as soon as it opens again. Votes after the deadline are refused." }</p>
                </div>
                <div class="field">
                    <label>
                        <input type="checkbox" data-testid="poll-anonymous" checked={form.anonymous} onchange={on_anonymous} />
                        { " Anonymous: hide who voted for what" }
                    </label>
                    <p class="hint">{ "Everyone sees the tallies only. Your browser still receives every ballot (it checks and counts them), so anonymity is towards the other participants, not towards you." }</p>
                </div>
                <div class="field">
                    <label for="poll-results">{ "Results are visible" }</label>
                    <select id="poll-results" data-testid="poll-results" onchange={on_results}>
                        <option value="always" selected={form.results == ResultsVisibility::Always}>{ "to everyone, always" }</option>
                        <option value="afterVoting" selected={form.results == ResultsVisibility::AfterVoting}>{ "after voting" }</option>
                        <option value="afterClose" selected={form.results == ResultsVisibility::AfterClose}>{ "after the poll closes" }</option>
                    </select>
                </div>
                <div class="field">
                    <label for="poll-newcomer">{ "People who join can" }</label>
                    <select id="poll-newcomer" data-testid="poll-newcomer" onchange={on_newcomer}>
                        <option value="voter" selected={form.newcomer == NewcomerRole::Voter}>{ "vote" }</option>
                        <option value="viewer" selected={form.newcomer == NewcomerRole::Viewer}>{ "only watch (you can let them vote later)" }</option>
                    </select>
                </div>
                <div class="field">
                    <label for="poll-adders">{ "Who may add options" }</label>
                    <select id="poll-adders" data-testid="poll-adders" onchange={on_adders}>
                        <option value="owner" selected={form.adders == OptionAdders::Owner}>{ "only me" }</option>
                        <option value="editors" selected={form.adders == OptionAdders::Editors}>{ "me and editors" }</option>
                        <option value="voters" selected={form.adders == OptionAdders::Voters}>{ "everyone who votes" }</option>
                    </select>
                </div>
                if let Some(why) = &*error {
                    <p class="hint error" role="alert" data-testid="poll-create-error">{ why.clone() }</p>
                }
                if !can_create {
                    <p class="hint">{ "Your polls are served from another tab of this browser; create polls there." }</p>
                }
                <button type="submit" data-testid="poll-create" disabled={!can_create}>{ "Create poll" }</button>
            </form>
        </section>
    }
}
