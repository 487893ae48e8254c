//! The ballot of a ranked-choice poll: the options in the viewer's order, moved with "up" and
//! "down" buttons (keyboard-friendly: the focus follows the moved option), "Vote with this
//! ranking" to cast it, and the instant-runoff count round by round with the winner
//! (`starpoll_core::poll::runoff`).

use starpoll_core::poll::{Command, OptionId, PollStatus};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::BallotProps;

/// The id of the button that moves `option` in `direction` (`up`/`down`).
fn move_button_id(option: OptionId, direction: &str) -> String {
    format!("rank-move-{}-{direction}", option.0)
}

/// The ranking, its controls, and the rounds.
#[component]
pub fn RankedBallot(props: &BallotProps) -> Html {
    let view = &props.view;
    let order = use_state(|| None::<Vec<OptionId>>);
    // The button to focus after the next render, with a counter so a repeat still refocuses.
    let focus = use_state(|| None::<(u32, String)>);
    use_effect_with((*focus).clone(), |target| {
        let element = target.as_ref().and_then(|(_, id)| {
            web_sys::window()?
                .document()?
                .get_element_by_id(id)?
                .dyn_into::<web_sys::HtmlElement>()
                .ok()
        });
        if let Some(element) = element {
            let _ = element.focus();
        }
    });
    // The saved ranking first, then the options it leaves out, in option order.
    let saved = &view.my_ranking;
    let current: Vec<OptionId> = order.as_ref().cloned().unwrap_or_else(|| {
        let mut all = saved.clone();
        all.extend(
            view.options
                .iter()
                .map(|o| o.id)
                .filter(|id| !saved.contains(id)),
        );
        all
    });
    // Options removed since (or never known) drop out; new ones join at the end.
    let mut current: Vec<OptionId> = current
        .into_iter()
        .filter(|id| view.options.iter().any(|o| o.id == *id))
        .collect();
    for option in &view.options {
        if !current.contains(&option.id) {
            current.push(option.id);
        }
    }
    let text_of = |id: OptionId| {
        view.options
            .iter()
            .find(|o| o.id == id)
            .map_or_else(|| id.to_string(), |o| o.text.clone())
    };
    let last = current.len().saturating_sub(1);
    let rows = current.iter().enumerate().map(|(n, &id)| {
        let shift = |to: usize, direction: &'static str| {
            let order = order.clone();
            let focus = focus.clone();
            let current = current.clone();
            Callback::from(move |_: MouseEvent| {
                let mut next = current.clone();
                next.swap(n, to);
                order.set(Some(next.clone()));
                // Keep the focus on the option that moved, unless it reached the end.
                let edge = (direction == "up" && to == 0) || (direction == "down" && to == last);
                let keep = if edge { if direction == "up" { "down" } else { "up" } } else { direction };
                let count = focus.as_ref().map_or(0, |(n, _)| n.wrapping_add(1));
                focus.set(Some((count, move_button_id(id, keep))));
            })
        };
        let text = text_of(id);
        let in_saved = saved.get(n) == Some(&id);
        html! {
            <li class="rank-row" data-testid={format!("rank-{n}")}>
                <span class="rank-number" aria-hidden="true">{ n + 1 }</span>
                <span class="text" data-testid={format!("rank-{n}-text")}>{ text.clone() }</span>
                if in_saved && !saved.is_empty() { <span class="sr-only">{ " (as saved)" }</span> }
                <span class="rank-moves">
                    <button type="button" class="secondary small" id={move_button_id(id, "up")}
                        data-testid={format!("rank-{n}-up")} aria-label={format!("Move {text} up (now {})", n + 1)}
                        disabled={!props.can_vote || n == 0} onclick={shift(n.saturating_sub(1), "up")}>{ "↑" }</button>
                    <button type="button" class="secondary small" id={move_button_id(id, "down")}
                        data-testid={format!("rank-{n}-down")} aria-label={format!("Move {text} down (now {})", n + 1)}
                        disabled={!props.can_vote || n == last} onclick={shift((n + 1).min(last), "down")}>{ "↓" }</button>
                </span>
            </li>
        }
    });
    let submit = {
        let on_vote = props.on_vote.clone();
        let order = order.clone();
        let ranking = current.clone();
        Callback::from(move |_: MouseEvent| {
            on_vote.emit(Command::CastVote {
                option_ids: ranking.clone(),
                answers: Default::default(),
            });
            order.set(None);
        })
    };
    let withdraw = {
        let on_vote = props.on_vote.clone();
        let order = order.clone();
        Callback::from(move |_: MouseEvent| {
            order.set(None);
            on_vote.emit(Command::CastVote {
                option_ids: Vec::new(),
                answers: Default::default(),
            });
        })
    };
    let runoff = view.results.as_ref().and_then(|r| r.runoff.as_ref());
    let rounds = runoff.map(|runoff| {
        let items = runoff.rounds.iter().enumerate().map(|(k, round)| {
            let counts: Vec<String> = round
                .counts
                .iter()
                .map(|e| format!("{} {}", text_of(e.option_id), e.votes))
                .collect();
            let eliminated: Vec<String> = round.eliminated.iter().map(|id| text_of(*id)).collect();
            html! {
                <li class="round" data-testid={format!("irv-round-{}", k + 1)}>
                    <strong>{ format!("Round {}", k + 1) }</strong>
                    <span class="round-counts">{ counts.join(" · ") }</span>
                    if round.exhausted > 0 {
                        <span class="hint">{ format!("{} exhausted", round.exhausted) }</span>
                    }
                    if !eliminated.is_empty() {
                        <span class="eliminated">{ format!("out: {}", eliminated.join(", ")) }</span>
                    }
                </li>
            }
        });
        let winner = runoff.winner.map(|id| {
            let last = runoff.rounds.last();
            let (votes, of) = last.map_or((0, 0), |r| (r.votes_of(id).unwrap_or(0), r.continuing()));
            html! {
                <p class="irv-winner" data-testid="irv-winner">
                    { "Winner: " }<strong data-testid="irv-winner-text">{ text_of(id) }</strong>
                    { format!(" — {votes} of {of} ballots in round {}", runoff.rounds.len()) }
                </p>
            }
        });
        html! {
            <section class="runoff" aria-labelledby="runoff-heading">
                <h2 id="runoff-heading">{ "Result: instant runoff" }</h2>
                { winner.unwrap_or_else(|| html! {
                    <p class="irv-winner hint" data-testid="irv-winner">{ "No ballots yet." }</p>
                }) }
                <ol class="rounds">{ for items }</ol>
            </section>
        }
    });
    let voters = view
        .results
        .as_ref()
        .and_then(|r| r.rankings.as_ref())
        .filter(|all| !all.is_empty())
        .map(|all| {
            let rows = all.iter().map(|(peer, ranking)| {
                let name = view
                    .members
                    .get(peer)
                    .map_or_else(|| peer.to_string(), |m| m.display_name.clone());
                let list: Vec<String> = ranking
                    .iter()
                    .enumerate()
                    .map(|(n, id)| format!("{}. {}", n + 1, text_of(*id)))
                    .collect();
                html! { <li><span class="label">{ name }{ ": " }</span>{ list.join(", ") }</li> }
            });
            html! {
                <details class="voters" data-testid="voters">
                    <summary>{ format!("Who ranked what ({})", all.len()) }</summary>
                    <ul>{ for rows }</ul>
                </details>
            }
        });
    // Unsaved: a reordered list, or (once saved) any difference, such as an option added since.
    let changed = if saved.is_empty() {
        order.is_some()
    } else {
        current != *saved
    };
    html! {
        <div class={classes!("ballot", "ranked", (view.status != PollStatus::Open).then_some("closed"))}>
            if view.status != PollStatus::Open && view.results.is_some() {
                <p class="final-results" data-testid="final-results">{ "Final results" }</p>
            }
            if view.status == PollStatus::Open {
                <p class="hint">{ "Put the options in your order of preference, best first." }</p>
            }
            <ol class="ranking" aria-label="Your ranking">{ for rows }</ol>
            <div class="row">
                <button type="button" data-testid="vote-submit" disabled={!props.can_vote} onclick={submit}>
                    { "Vote with this ranking" }
                </button>
                <span class="hint" data-testid="vote-hint">{ if changed {
                    "Not saved yet."
                } else if props.pending {
                    "Sending…"
                } else if !saved.is_empty() {
                    "Your ranking is saved."
                } else {
                    ""
                } }</span>
            </div>
            if !saved.is_empty() && props.can_vote {
                <button type="button" class="secondary small" data-testid="vote-withdraw" onclick={withdraw}>
                    { "Withdraw my vote" }
                </button>
            }
            if view.status != PollStatus::Open { <p class="hint" data-testid="poll-closed">{ "This poll is closed: these results are final unless the owner reopens it." }</p> }
            if let (true, Some(why)) = (view.status == PollStatus::Open, &props.cannot_vote_because) {
                <p class="hint" data-testid="vote-disabled-reason">{ why.clone() }</p>
            }
            { rounds.unwrap_or_default() }
            if view.results.is_none() {
                <p class="hint" data-testid="results-hidden">{ "The count is hidden for now." }</p>
            }
            { voters.unwrap_or_default() }
        </div>
    }
}
