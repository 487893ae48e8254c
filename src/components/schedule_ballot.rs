//! The ballot of a date/time poll: every slot with its yes / if need be / no counts and three
//! answer buttons, "Save my answers" to cast them all, and the best slot (most yes + if need be,
//! then most yes, then earliest: `starpoll_core::poll::best_slot`).
//!
//! Answers are chosen locally and sent together, so a slot's buttons only mark the choice until
//! the vote is saved; the viewer's saved answers come back in the view (`myAnswers`).

use std::collections::BTreeMap;

use starpoll_core::poll::{self, best_slot, Answer, Answers, Command, OptionId, PollStatus};
use yew::prelude::*;

use super::BallotProps;

/// The slots, their counts, the answer buttons and the best slot.
#[component]
pub fn ScheduleBallot(props: &BallotProps) -> Html {
    let view = &props.view;
    let selection = use_state(|| None::<Answers>);
    let chosen: Answers = selection.as_ref().unwrap_or(&view.my_answers).clone();
    let slots = view.results.as_ref().and_then(|r| r.slots.as_ref());
    let best = slots.and_then(|s| best_slot(s));
    let text_of = |id: OptionId| {
        view.options
            .iter()
            .find(|o| o.id == id)
            .map_or_else(|| id.to_string(), |o| o.text.clone())
    };
    let rows = view.options.iter().enumerate().map(|(i, option)| {
        let tally = slots.and_then(|s| s.iter().find(|t| t.option_id == option.id));
        let mine = view.my_answers.get(&option.id);
        let buttons = Answer::ALL.iter().map(|&answer| {
            let picked = chosen.get(&option.id) == Some(&answer);
            let onclick = {
                let selection = selection.clone();
                let chosen = chosen.clone();
                let id = option.id;
                Callback::from(move |_: MouseEvent| {
                    let mut next = chosen.clone();
                    next.insert(id, answer);
                    selection.set(Some(next));
                })
            };
            html! {
                <button type="button" class={classes!("answer", answer.key(), picked.then_some("picked"))}
                    data-testid={format!("slot-{i}-{}", answer.key())} aria-pressed={picked.to_string()}
                    aria-label={format!("{} for {}", answer.label(), option.text)}
                    disabled={!props.can_vote} {onclick}>
                    { answer.label() }
                </button>
            }
        });
        let (yes, maybe, answered) = tally.map_or((0, 0, 0), |t| (t.yes, t.maybe, t.answered()));
        // A bar's width: `n` of the answers in tenths of a percent, as text (integer arithmetic).
        let share = |n: u32| poll::tenths_text(poll::tenths(u64::from(n), u64::from(answered)));
        let is_best = best == Some(option.id);
        html! {
            <li class={classes!("slot", is_best.then_some("best"))} data-testid={format!("slot-{i}")}>
                <div class="slot-head">
                    <span class="text">{ option.text.clone() }</span>
                    if is_best { <span class="badge ok small">{ "best" }</span> }
                    if let Some(answer) = mine {
                        <span class="badge mine small" data-testid={format!("my-answer-{i}")}>{ format!("you: {}", answer.label().to_lowercase()) }</span>
                    }
                    <span class="slot-counts" data-testid={format!("slot-{i}-counts")}
                        aria-label={tally.map(|t| format!("{} yes, {} if need be, {} no", t.yes, t.maybe, t.no))}>
                        { match tally {
                            Some(t) => html! { <>
                                <span class="count yes" title="yes">{ format!("✓ {}", t.yes) }</span>
                                <span class="count maybe" title="if need be">{ format!("~ {}", t.maybe) }</span>
                                <span class="count no" title="no">{ format!("✗ {}", t.no) }</span>
                            </> },
                            None => html! { <span class="hint">{ "hidden" }</span> },
                        } }
                    </span>
                </div>
                <div class="answers" role="group" aria-label={format!("Your answer for {}", option.text)}>
                    { for buttons }
                </div>
                <span class="bar split" aria-hidden="true">
                    <span class="yes" style={format!("width:{}%", share(yes))}></span>
                    <span class="maybe" style={format!("width:{}%", share(maybe))}></span>
                </span>
            </li>
        }
    });
    let save = {
        let on_vote = props.on_vote.clone();
        let selection = selection.clone();
        let answers = chosen.clone();
        Callback::from(move |_: MouseEvent| {
            on_vote.emit(Command::CastVote {
                option_ids: Vec::new(),
                answers: answers.clone(),
            });
            selection.set(None);
        })
    };
    let withdraw = {
        let on_vote = props.on_vote.clone();
        let selection = selection.clone();
        Callback::from(move |_: MouseEvent| {
            selection.set(None);
            on_vote.emit(Command::CastVote {
                option_ids: Vec::new(),
                answers: Answers::new(),
            });
        })
    };
    let unanswered = view
        .options
        .iter()
        .filter(|o| !chosen.contains_key(&o.id))
        .count();
    let changed = selection.is_some() && chosen != view.my_answers;
    let best_line = slots.map(|slots| match best {
        Some(id) => {
            let t = slots.iter().find(|t| t.option_id == id);
            let (yes, maybe) = t.map_or((0, 0), |t| (t.yes, t.maybe));
            html! {
                <p class="best-slot" data-testid="best-slot">
                    { "Best slot: " }<strong data-testid="best-slot-text">{ text_of(id) }</strong>
                    { format!(" — {yes} yes, {maybe} if need be") }
                </p>
            }
        }
        None => html! {
            <p class="best-slot hint" data-testid="best-slot">{ "No slot suits anyone yet." }</p>
        },
    });
    let voters = view
        .results
        .as_ref()
        .and_then(|r| r.answers.as_ref())
        .filter(|all| !all.is_empty())
        .map(|all| {
            let rows = view.options.iter().enumerate().map(|(i, option)| {
                let mut by: BTreeMap<Answer, Vec<String>> = BTreeMap::new();
                for (peer, answers) in all {
                    if let Some(answer) = answers.get(&option.id) {
                        let name = view
                            .members
                            .get(peer)
                            .map_or_else(|| peer.to_string(), |m| m.display_name.clone());
                        by.entry(*answer).or_default().push(name);
                    }
                }
                for names in by.values_mut() {
                    names.sort();
                }
                let parts: Vec<String> = Answer::ALL
                    .iter()
                    .filter_map(|a| {
                        by.get(a)
                            .map(|names| format!("{}: {}", a.label(), names.join(", ")))
                    })
                    .collect();
                html! {
                    <li>
                        <span class="label">{ option.text.clone() }{ " — " }</span>
                        <span data-testid={format!("slot-voters-{i}")}>{ if parts.is_empty() { "no answers".to_owned() } else { parts.join(" · ") } }</span>
                    </li>
                }
            });
            html! {
                <details class="voters" data-testid="voters">
                    <summary>{ format!("Who answered what ({})", all.len()) }</summary>
                    <ul>{ for rows }</ul>
                </details>
            }
        });
    html! {
        <div class={classes!("ballot", "schedule", (view.status != PollStatus::Open).then_some("closed"))}>
            if view.status != PollStatus::Open && view.results.is_some() {
                <p class="final-results" data-testid="final-results">{ "Final results" }</p>
            }
            { best_line.unwrap_or_default() }
            <ul class="slots" aria-label="Dates and times">{ for rows }</ul>
            <div class="row">
                <button type="button" data-testid="vote-submit" disabled={!props.can_vote || chosen.is_empty()} onclick={save}>
                    { "Save my answers" }
                </button>
                <span class="hint" data-testid="vote-hint">{ if changed {
                    "Not saved yet.".to_owned()
                } else if props.pending {
                    "Sending…".to_owned()
                } else if unanswered > 0 && props.can_vote {
                    format!("{unanswered} slot{} not answered.", if unanswered == 1 { "" } else { "s" })
                } else {
                    String::new()
                } }</span>
            </div>
            if let Some(all) = view.results.as_ref().and_then(|r| r.answers.as_ref()) {
                <p class="hint" data-testid="results-summary">{ match all.len() {
                    1 => "1 ballot".to_owned(),
                    n => format!("{n} ballots"),
                } }</p>
            }
            if !view.my_answers.is_empty() && props.can_vote {
                <button type="button" class="secondary small" data-testid="vote-withdraw" onclick={withdraw}>
                    { "Withdraw my answers" }
                </button>
            }
            if view.status != PollStatus::Open { <p class="hint" data-testid="poll-closed">{ "This poll is closed: these results are final unless the owner reopens it." }</p> }
            if let (true, Some(why)) = (view.status == PollStatus::Open, &props.cannot_vote_because) {
                <p class="hint" data-testid="vote-disabled-reason">{ why.clone() }</p>
            }
            if view.results.is_none() {
                <p class="hint" data-testid="results-hidden">{ "The counts are hidden for now." }</p>
            }
            { voters.unwrap_or_default() }
        </div>
    }
}
