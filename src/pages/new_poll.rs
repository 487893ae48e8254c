//! The poll-creation form: title, description, the kind of poll (single or multiple choice with
//! a maximum, date/time, ranked choice), options (two at first, more on demand; a date/time poll's
//! options are slots picked with date and time inputs and listed in time order), whether the poll stays unlisted (the default: only its invite
//! link leads to it), and under "More options" an optional deadline, anonymity, who sees results,
//! newcomers' role and who may add options. Creating opens the poll's owner view.
//!
//! The rules are the core's ([`PollDraft::problems`]): after the first attempt to create, each
//! problem is shown in plain words next to its field (and the first one gets the focus); long
//! texts show a character counter instead of being cut silently.

use starpoll_core::poll::{
    limits::{MAX_DESCRIPTION_CHARS, MAX_OPTION_CHARS, MAX_TITLE_CHARS},
    DraftField, DraftProblem, NewcomerRole, OptionAdders, PollDraft, PollKind, Refusal,
    ResultsVisibility, Settings, SlotInput,
};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::context::AppContext;
use crate::router::{use_navigator, Route};
use crate::state::AppState;
use crate::time;

#[derive(Clone, PartialEq)]
struct Form {
    title: String,
    description: String,
    options: Vec<String>,
    /// The kind chosen in the "Kind of poll" select.
    kind: KindChoice,
    /// A date/time poll's slots (its options), as the date and time inputs give them.
    slots: Vec<SlotInput>,
    max: u32,
    results: ResultsVisibility,
    newcomer: NewcomerRole,
    adders: OptionAdders,
    anonymous: bool,
    /// Kept out of the owner's public poll list (`Settings::listed` is its negation).
    unlisted: bool,
    /// The `datetime-local` value of the deadline ("" = none).
    deadline: String,
}

impl Default for Form {
    fn default() -> Self {
        Self {
            title: String::new(),
            description: String::new(),
            options: vec![String::new(), String::new()],
            kind: KindChoice::Single,
            slots: vec![SlotInput::default(), SlotInput::default()],
            max: 2,
            results: ResultsVisibility::Always,
            newcomer: NewcomerRole::Voter,
            adders: OptionAdders::Owner,
            anonymous: false,
            unlisted: !Settings::default().listed,
            deadline: String::new(),
        }
    }
}

/// The kinds of poll the form offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KindChoice {
    Single,
    Multiple,
    Schedule,
    Ranked,
}

impl KindChoice {
    const ALL: [(Self, &'static str, &'static str); 4] = [
        (Self::Single, "single", "Single choice"),
        (Self::Multiple, "multiple", "Multiple choice"),
        (Self::Schedule, "schedule", "Date / time (find a slot)"),
        (Self::Ranked, "ranked", "Ranked choice (instant runoff)"),
    ];

    fn from_value(value: &str) -> Self {
        Self::ALL
            .iter()
            .find(|(_, v, _)| *v == value)
            .map_or(Self::Single, |(k, _, _)| *k)
    }
}

/// What is wrong with the form, field by field, in plain words.
#[derive(Clone, Debug, Default, PartialEq)]
struct Problems(Vec<(DraftField, String)>);

impl Problems {
    fn of(&self, field: DraftField) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, why)| why.as_str())
    }

    /// The element to focus for the first problem.
    fn first_element(&self) -> Option<String> {
        self.0.first().map(|(field, _)| match field {
            DraftField::Title => "poll-title".to_owned(),
            DraftField::Description => "poll-description".to_owned(),
            DraftField::Option(i) => format!("poll-option-{i}"),
            DraftField::Options | DraftField::OwnerName => "poll-option-0".to_owned(),
            DraftField::Kind => "poll-max".to_owned(),
            DraftField::Deadline => "poll-deadline".to_owned(),
        })
    }
}

/// A problem as the person filling the form should read it.
fn plain(problem: &DraftProblem, form: &Form) -> String {
    let chars = |text: &str| text.trim().chars().count();
    match (&problem.field, &problem.refusal) {
        (DraftField::Title, Refusal::EmptyText { .. }) => "Write the question.".into(),
        (DraftField::Title, Refusal::TextTooLong { max, .. }) => format!(
            "The question is {} characters long; it may have at most {max}.",
            chars(&form.title)
        ),
        (DraftField::Title | DraftField::Option(_), Refusal::InvalidCharacter { .. }) => {
            "Keep it to one line, without special characters.".into()
        }
        (DraftField::Option(_) | DraftField::Options, Refusal::EmptyText { .. })
            if form.kind == KindChoice::Schedule =>
        {
            "Give at least two different dates or times.".into()
        }
        (DraftField::Option(_) | DraftField::Options, Refusal::EmptyText { .. }) => {
            "Give at least two different options.".into()
        }
        (DraftField::Option(_), Refusal::DuplicateOption) if form.kind == KindChoice::Schedule => {
            "That date and time is already a slot.".into()
        }
        (DraftField::Option(i), Refusal::TextTooLong { max, .. }) => format!(
            "This option is {} characters long; it may have at most {max}.",
            form.options.get(*i).map_or(0, |t| chars(t))
        ),
        (DraftField::Option(i), Refusal::DuplicateOption) => format!(
            "“{}” is already an option.",
            form.options.get(*i).map_or("", |t| t.trim())
        ),
        (DraftField::Options, Refusal::TooManyOptions { max }) => {
            format!("A poll can have at most {max} options.")
        }
        (DraftField::Kind, Refusal::InvalidMaxChoices { .. }) => {
            "Choose a number from 1 to the number of options.".into()
        }
        (DraftField::Deadline, _) => {
            "That time has already passed: pick a later one, or no closing time.".into()
        }
        (DraftField::Description, Refusal::InvalidCharacter { .. }) => {
            "Remove the special characters (line breaks and tabs are fine).".into()
        }
        (DraftField::Description, Refusal::TextTooLong { max, .. }) => format!(
            "The details are {} characters long; they may have at most {max}.",
            chars(&form.description)
        ),
        (_, refusal) => refusal.to_string(),
    }
}

impl Form {
    /// Every problem of the form now, in plain words (empty when a poll can be created).
    fn problems(&self, owner_name: &str) -> Problems {
        let mut problems = Problems::default();
        let draft = match self.draft(owner_name) {
            Ok(draft) => draft,
            Err(why) => {
                problems.0.push((DraftField::Deadline, why));
                PollDraft {
                    deadline: None,
                    ..self.draft_with(owner_name, None)
                }
            }
        };
        if self.kind == KindChoice::Schedule {
            for (i, slot) in self.slots.iter().enumerate() {
                if let (false, Err(why)) = (slot.is_blank(), slot.label()) {
                    let why = why.sentence().to_owned();
                    problems.0.push((DraftField::Option(i), why));
                }
            }
        }
        for problem in draft.problems(crate::random::now_ms()) {
            if problems.of(problem.field).is_none() {
                problems.0.push((problem.field, plain(&problem, self)));
            }
        }
        let order = |f: &DraftField| match f {
            DraftField::Title => 0,
            DraftField::Description => 1,
            DraftField::Option(i) => 2 + i,
            DraftField::Options => 100,
            DraftField::Kind => 101,
            DraftField::Deadline => 102,
            DraftField::OwnerName => 103,
        };
        problems.0.sort_by_key(|(f, _)| order(f));
        problems
    }

    /// The draft to create: every option row (the core skips blank ones). Refused with a message
    /// when the deadline is not a time.
    fn draft(&self, owner_name: &str) -> Result<PollDraft, String> {
        let deadline = match self.deadline.trim() {
            "" => None,
            text => Some(
                time::from_local_input(text)
                    .ok_or_else(|| "That is not a date and time.".to_owned())?,
            ),
        };
        Ok(self.draft_with(owner_name, deadline))
    }

    /// Puts the date/time slots in time order (before creating, so the poll lists them so).
    fn sort_slots(&mut self) {
        self.slots.retain(|slot| !slot.is_blank());
        self.slots.sort_by_key(SlotInput::sort_key);
    }

    fn draft_with(&self, owner_name: &str, deadline: Option<u64>) -> PollDraft {
        let options: Vec<String> = if self.kind == KindChoice::Schedule {
            // A slot that is not a date and time yet is left blank here; `problems` says why.
            self.slots
                .iter()
                .map(|slot| slot.label().unwrap_or_default())
                .collect()
        } else {
            self.options.clone()
        };
        let given = options.iter().filter(|o| !o.trim().is_empty()).count();
        let kind = match self.kind {
            KindChoice::Single => PollKind::Single,
            KindChoice::Multiple => PollKind::Multiple {
                max: self.max.clamp(1, u32::try_from(given.max(1)).unwrap_or(1)),
            },
            KindChoice::Schedule => PollKind::Schedule,
            KindChoice::Ranked => PollKind::Ranked,
        };
        let owner_name = if owner_name.trim().is_empty() {
            "Owner"
        } else {
            owner_name
        };
        PollDraft {
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
                listed: !self.unlisted,
            },
            owner_name: owner_name.to_owned(),
        }
    }
}

/// A counter of characters, shown once a text nears its limit.
fn counter(text: &str, max: usize, testid: String) -> Html {
    let n = text.trim().chars().count();
    if n * 5 < max * 4 {
        return html! {};
    }
    let class = if n > max { "counter over" } else { "counter" };
    html! { <span {class} data-testid={testid} aria-live="polite">{ format!("{n} / {max}") }</span> }
}

/// A field's problem, if shown.
fn field_error(why: Option<&str>, id: &str) -> Html {
    match why {
        Some(why) => html! {
            <p class="field-error" id={id.to_owned()} data-testid={id.to_owned()} role="alert">{ why.to_owned() }</p>
        },
        None => html! {},
    }
}

/// Moves the focus to the element with this id (the first field with a problem).
fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
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
    // Problems show once the user tried to create (not while the form is still empty).
    let tried = use_state(|| false);
    // The field to focus after the render that shows the problems (a counter per attempt).
    let focus_target = use_state(|| None::<(u32, String)>);
    use_effect_with((*focus_target).clone(), |target| {
        if let Some((_, id)) = target {
            focus(id);
        }
    });
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
            if next.kind == KindChoice::Schedule {
                // A new slot starts on the last slot's date, the usual next step.
                let date = next
                    .slots
                    .last()
                    .map(|s| s.date.clone())
                    .unwrap_or_default();
                next.slots.push(SlotInput {
                    date,
                    ..SlotInput::default()
                });
            } else {
                next.options.push(String::new());
            }
            form.set(next);
        })
    };
    let check = |apply: fn(&mut Form, bool)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            apply(
                &mut next,
                e.target_unchecked_into::<HtmlInputElement>().checked(),
            );
            form.set(next);
        })
    };
    let on_multi = check(|f, v| {
        f.kind = if v {
            KindChoice::Multiple
        } else {
            KindChoice::Single
        }
    });
    let on_anonymous = check(|f, v| f.anonymous = v);
    let on_unlisted = check(|f, v| f.unlisted = v);
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
            if next.kind == KindChoice::Schedule {
                if next.slots.len() > 2 && i < next.slots.len() {
                    next.slots.remove(i);
                }
            } else if next.options.len() > 2 && i < next.options.len() {
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
    let on_kind = select(|f, v| f.kind = KindChoice::from_value(v));
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
    let owner_name = ready.profile.display_name.clone();
    let problems = if *tried {
        form.problems(&owner_name)
    } else {
        Problems::default()
    };
    let onsubmit = {
        let form = form.clone();
        let error = error.clone();
        let tried = tried.clone();
        let focus_target = focus_target.clone();
        let context = context.clone();
        let owner_name = owner_name.clone();
        let owner = ready.identity.peer_id().to_string();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            tried.set(true);
            let problems = form.problems(&owner_name);
            if let Some(id) = problems.first_element() {
                error.set(None);
                // Focused after the render, which may open "More options" for the deadline.
                let attempt = focus_target.as_ref().map_or(0, |(n, _)| n + 1);
                focus_target.set(Some((attempt, id)));
                return;
            }
            let mut ready_form = (*form).clone();
            ready_form.sort_slots();
            match ready_form
                .draft(&owner_name)
                .and_then(|draft| context.create_poll(draft).map_err(|e| e.to_string()))
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
    let other_tab = ready.network.is_other_tab();
    let schedule = form.kind == KindChoice::Schedule;
    let removable = if schedule {
        form.slots.len() > 2
    } else {
        form.options.len() > 2
    };
    let slots = form.slots.iter().enumerate().map(|(i, slot)| {
        let set = |apply: fn(&mut SlotInput, String)| {
            let form = form.clone();
            Callback::from(move |e: InputEvent| {
                let mut next = (*form).clone();
                if let Some(slot) = next.slots.get_mut(i) {
                    apply(slot, input_value(&e));
                }
                form.set(next);
            })
        };
        let remove = remove_option.reform(move |_: MouseEvent| i);
        let why = problems.of(DraftField::Option(i));
        let error_id = format!("poll-option-{i}-error");
        let n = i + 1;
        html! {
            <li>
                <div class="slot-row" role="group" aria-label={format!("Slot {n}")}>
                    <input type="date" id={format!("poll-option-{i}")} data-testid={format!("slot-date-{i}")}
                        aria-label={format!("Slot {n}: date")} aria-invalid={why.is_some().to_string()}
                        aria-describedby={why.map(|_| error_id.clone())}
                        value={slot.date.clone()} oninput={set(|s, v| s.date = v)} />
                    <input type="time" data-testid={format!("slot-start-{i}")} aria-label={format!("Slot {n}: from (optional)")}
                        value={slot.start.clone()} oninput={set(|s, v| s.start = v)} />
                    <span aria-hidden="true">{ "–" }</span>
                    <input type="time" data-testid={format!("slot-end-{i}")} aria-label={format!("Slot {n}: until (optional)")}
                        value={slot.end.clone()} oninput={set(|s, v| s.end = v)} />
                    if removable {
                        <button type="button" class="secondary small" data-testid={format!("poll-remove-option-{i}")}
                            aria-label={format!("Remove slot {n}")} onclick={remove}>{ "Remove" }</button>
                    }
                </div>
                { field_error(why, &error_id) }
            </li>
        }
    });
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
        let why = problems.of(DraftField::Option(i));
        let error_id = format!("poll-option-{i}-error");
        html! {
            <li>
                <div class="option-row">
                    <input type="text" id={format!("poll-option-{i}")} data-testid={format!("poll-option-{i}")}
                        aria-label={format!("Option {}", i + 1)} aria-invalid={why.is_some().to_string()}
                        aria-describedby={why.map(|_| error_id.clone())}
                        placeholder={format!("Option {}", i + 1)} value={text.clone()} {oninput} />
                    if removable {
                        <button type="button" class="secondary small" data-testid={format!("poll-remove-option-{i}")}
                            aria-label={format!("Remove option {}", i + 1)} onclick={remove}>{ "Remove" }</button>
                    }
                </div>
                { counter(text, MAX_OPTION_CHARS, format!("poll-option-{i}-counter")) }
                { field_error(why, &error_id) }
            </li>
        }
    });
    let title_problem = problems.of(DraftField::Title);
    let description_problem = problems.of(DraftField::Description);
    let deadline_problem = problems.of(DraftField::Deadline);
    html! {
        <section class="card" aria-labelledby="new-heading">
            <h1 id="new-heading">{ "New poll" }</h1>
            if other_tab {
                <p class="notice warn" role="status" data-testid="new-poll-other-tab">
                    { "Polls are created and served by the tab that is active. Press “Use this tab” above to create one here." }
                </p>
            }
            <form {onsubmit} novalidate=true>
            <fieldset class="plain" disabled={other_tab}>
                <div class="field">
                    <label for="poll-title">{ "Question" }</label>
                    <input id="poll-title" data-testid="poll-title" type="text"
                        aria-invalid={title_problem.is_some().to_string()}
                        aria-describedby={title_problem.map(|_| "poll-title-error")}
                        placeholder="Where shall we have lunch?" value={form.title.clone()} oninput={on_title} />
                    { counter(&form.title, MAX_TITLE_CHARS, "poll-title-counter".into()) }
                    { field_error(title_problem, "poll-title-error") }
                </div>
                <div class="field">
                    <label for="poll-description">{ "Details (optional)" }</label>
                    <textarea id="poll-description" data-testid="poll-description" rows="2"
                        aria-invalid={description_problem.is_some().to_string()}
                        aria-describedby={description_problem.map(|_| "poll-description-error")}
                        value={form.description.clone()} oninput={on_description} />
                    { counter(&form.description, MAX_DESCRIPTION_CHARS, "poll-description-counter".into()) }
                    { field_error(description_problem, "poll-description-error") }
                </div>
                <div class="field">
                    <label for="poll-kind">{ "Kind of poll" }</label>
                    <select id="poll-kind" data-testid="poll-kind" onchange={on_kind} aria-describedby="poll-kind-hint">
                        { for KindChoice::ALL.iter().map(|(kind, value, label)| html! {
                            <option value={*value} selected={form.kind == *kind}>{ *label }</option>
                        }) }
                    </select>
                    <p class="hint" id="poll-kind-hint">{ match form.kind {
                        KindChoice::Single => "Everyone picks one option.",
                        KindChoice::Multiple => "Everyone picks up to a number of options.",
                        KindChoice::Schedule => "The options are dates or time slots; everyone answers each with yes, if need be, or no, and the best slot shows.",
                        KindChoice::Ranked => "Everyone ranks the options; the winner is found by instant runoff, shown round by round.",
                    } }</p>
                </div>
                <fieldset class="field">
                    <legend>{ if schedule { "Dates and times" } else { "Options" } }</legend>
                    if schedule {
                        <ol class="option-inputs slot-inputs">{ for slots }</ol>
                        <p class="hint">{ "Leave the times empty for a whole day. Times are your local time; slots are listed in time order." }</p>
                    } else {
                        <ol class="option-inputs">{ for options }</ol>
                    }
                    { field_error(problems.of(DraftField::Options), "poll-options-error") }
                    <button type="button" class="secondary" data-testid="poll-add-option" onclick={add_option}>
                        { if schedule { "Add a date or time" } else { "Add an option" } }
                    </button>
                </fieldset>
                if matches!(form.kind, KindChoice::Single | KindChoice::Multiple) {
                <div class="field row">
                    <label>
                        <input type="checkbox" data-testid="poll-multi" checked={form.kind == KindChoice::Multiple} onchange={on_multi} />
                        { " Allow several choices" }
                    </label>
                    if form.kind == KindChoice::Multiple {
                        <label>{ "at most " }
                            <input type="number" class="narrow" id="poll-max" data-testid="poll-max" min="1" max="50"
                                value={form.max.to_string()} oninput={on_max} />
                        </label>
                    }
                    { field_error(problems.of(DraftField::Kind), "poll-max-error") }
                </div>
                }
                <div class="field">
                    <label>
                        <input type="checkbox" data-testid="poll-unlisted" checked={form.unlisted} onchange={on_unlisted}
                            aria-describedby="poll-unlisted-hint" />
                        { " Unlisted: only people with the invite link can find it" }
                    </label>
                    <p class="hint" id="poll-unlisted-hint">
                        { if form.unlisted {
                            "It stays out of the list of your polls that anyone with your peer ID can see."
                        } else {
                            "Anyone with your peer ID will see it in the list of your polls and can join."
                        } }
                    </p>
                </div>
                if let Some(why) = &*error {
                    <p class="hint error" role="alert" data-testid="poll-create-error">{ why.clone() }</p>
                }
                <button type="submit" data-testid="poll-create" disabled={!can_create}>{ "Create poll" }</button>
                <details class="more-options" data-testid="poll-more-options" open={deadline_problem.is_some()}>
                    <summary>{ "More options" }</summary>
                <div class="field">
                    <label for="poll-deadline">{ "Closes by itself at (optional)" }</label>
                    <div class="row">
                        <input id="poll-deadline" data-testid="poll-deadline" type="datetime-local" step="1"
                            aria-invalid={deadline_problem.is_some().to_string()}
                            value={form.deadline.clone()} oninput={on_deadline} aria-describedby="poll-deadline-hint" />
                        if !form.deadline.is_empty() {
                            <button type="button" class="secondary small" onclick={clear_deadline}>{ "No deadline" }</button>
                        }
                    </div>
                    { field_error(deadline_problem, "poll-deadline-error") }
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
                </details>
            </fieldset>
            </form>
        </section>
    }
}
