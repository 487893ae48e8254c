//! The options of a poll with their results, and the controls to vote: single choice votes on
//! click; multiple choice toggles, then "Vote" casts the selection. Date/time and ranked polls
//! have their own ballots ([`ScheduleBallot`], [`RankedBallot`]); [`Ballot`] picks by kind.
//!
//! Results show, per option, a bar with the count and the percentage of ballots (the core's
//! `PollView::share_tenths`, the same figure as the CSV; none when the view does not say how
//! many ballots were cast), who chose it (unless the poll is anonymous) and a "your vote" mark;
//! when the poll's visibility setting hides the results from this viewer, the page says when
//! they will show. Counts use tabular figures in
//! fixed-width slots, so a changing tally never moves the layout.

use std::collections::BTreeSet;

use starpoll_core::poll::{
    self, Answers, Command, OptionId, PollKind, PollStatus, PollView, ResultsVisibility,
};
use yew::prelude::*;

use super::ranked_ballot::RankedBallot;
use super::schedule_ballot::ScheduleBallot;

/// Props of [`Ballot`].
#[derive(Properties, PartialEq)]
pub struct BallotProps {
    /// What this browser sees of the poll (its own ballot included).
    pub view: std::rc::Rc<PollView>,
    /// Whether this browser may vote now (role, open, not waiting for a join).
    pub can_vote: bool,
    /// Called with the `poll:vote` that casts the whole new ballot.
    pub on_vote: Callback<Command>,
    /// Options whose vote is not confirmed by the owner yet (shown with a pending mark).
    #[prop_or_default]
    pub pending: bool,
    /// Why this browser may not vote, shown under the options (e.g. a viewer's role).
    #[prop_or_default]
    pub cannot_vote_because: Option<AttrValue>,
}

/// The ballot for the poll's kind.
#[component]
pub fn Ballot(props: &BallotProps) -> Html {
    let BallotProps {
        view,
        can_vote,
        on_vote,
        pending,
        cannot_vote_because,
    } = props;
    let (view, can_vote, on_vote, pending, cannot_vote_because) = (
        view.clone(),
        *can_vote,
        on_vote.clone(),
        *pending,
        cannot_vote_because.clone(),
    );
    match view.kind {
        PollKind::Schedule => {
            html! { <ScheduleBallot {view} {can_vote} {on_vote} {pending} {cannot_vote_because} /> }
        }
        PollKind::Ranked => {
            html! { <RankedBallot {view} {can_vote} {on_vote} {pending} {cannot_vote_because} /> }
        }
        PollKind::Single | PollKind::Multiple { .. } => {
            html! { <ChoiceBallot {view} {can_vote} {on_vote} {pending} {cannot_vote_because} /> }
        }
    }
}

/// The options, tallies and vote controls of a single- or multiple-choice poll.
#[component]
fn ChoiceBallot(props: &BallotProps) -> Html {
    let on_vote = props
        .on_vote
        .reform(|option_ids: Vec<OptionId>| Command::CastVote {
            option_ids,
            answers: Answers::new(),
        });
    let view = &props.view;
    let selection = use_state(|| None::<BTreeSet<OptionId>>);
    let multiple = matches!(view.kind, PollKind::Multiple { .. });
    let max = view.kind.max_choices();
    let mine = &view.my_ballot;
    let chosen = selection.as_ref().unwrap_or(mine).clone();
    let tallies = view.results.as_ref().map(|r| &r.tally);
    let total: u32 = tallies.map_or(0, |t| t.iter().map(|e| e.votes).sum());
    // The bar of an option whose share of ballots is unknown (anonymous multiple choice) is
    // relative to the option with the most votes, and no percentage is shown.
    let most_votes = tallies
        .and_then(|t| t.iter().map(|e| e.votes).max())
        .unwrap_or(0);
    let named = view.results.as_ref().and_then(|r| r.ballots.as_ref());
    let open = view.status == PollStatus::Open;
    // A closed poll's result: the option(s) with the most votes, if anyone voted.
    let most = tallies
        .and_then(|t| t.iter().map(|e| e.votes).max())
        .unwrap_or(0);
    let winner = |id: OptionId| {
        !open
            && most > 0
            && tallies.is_some_and(|t| t.iter().any(|e| e.option_id == id && e.votes == most))
    };
    let rows = view.options.iter().enumerate().map(|(i, option)| {
        let votes = tallies.and_then(|t| t.iter().find(|e| e.option_id == option.id).map(|e| e.votes));
        let picked = chosen.contains(&option.id);
        let onclick = {
            let on_vote = on_vote.clone();
            let selection = selection.clone();
            let chosen = chosen.clone();
            let id = option.id;
            Callback::from(move |_: MouseEvent| {
                if multiple {
                    let mut next = chosen.clone();
                    if !next.remove(&id) {
                        next.insert(id);
                    }
                    selection.set(Some(next));
                } else {
                    on_vote.emit(vec![id]);
                }
            })
        };
        // The share of ballots, as the core computes it for every screen and the CSV.
        let share = view.share_tenths(option.id);
        // The bar's width in tenths of a percent (integer arithmetic: no float formatting code).
        let bar = match (share, votes) {
            (Some(tenths), _) => tenths.min(1_000),
            (None, Some(v)) => poll::tenths(u64::from(v), u64::from(most_votes)),
            _ => 0,
        };
        let is_mine = mine.contains(&option.id);
        // The accessible name is the visible text with a hidden verb before it, so speech input
        // ("click Sushi") and screen readers agree; `aria-pressed` tells whether it is chosen.
        let verb = if multiple { "Choose " } else { "Vote for " };
        let won = winner(option.id);
        html! {
            <li class={classes!("option", picked.then_some("picked"), won.then_some("winner"))}>
                <button type="button" class="choice" data-testid={format!("vote-option-{i}")}
                    aria-pressed={picked.to_string()}
                    disabled={!props.can_vote} {onclick}>
                    <span class="mark" aria-hidden="true">{ if picked { "✓" } else { "" } }</span>
                    <span class="sr-only">{ verb }</span>
                    <span class="text" dir="auto">{ option.text.clone() }</span>
                    if is_mine { <span class="badge mine small" data-testid={format!("my-vote-{i}")}>{ "your vote" }</span> }
                    if won { <span class="badge ok small" data-testid={format!("winner-{i}")}>{ "most votes" }</span> }
                    if picked && mine.contains(&option.id) && props.pending {
                        <span class="hint pending-mark" data-testid={format!("vote-pending-{i}")}>{ "sending…" }</span>
                    }
                </button>
                <span class="tally" aria-label={format!("votes for {}", option.text)}>
                    <span data-testid={format!("tally-{i}")}>{ votes.map(|v| v.to_string()).unwrap_or_default() }</span>
                    { match (votes, share) {
                        // Whole percents, rounded half up from the core's tenths.
                        (Some(_), Some(tenths)) => html! {
                            <span class="percent" data-testid={format!("percent-{i}")}>{ format!("{}%", (tenths + 5) / 10) }</span>
                        },
                        // Anonymous multiple choice: how many ballots there were is not known.
                        (Some(_), None) => html! { <span class="percent"></span> },
                        (None, _) => html! { <span class="hint">{ "hidden" }</span> },
                    } }
                </span>
                <span class="bar" aria-hidden="true"><span style={format!("width:{}%", poll::tenths_text(bar))}></span></span>
            </li>
        }
    });
    let submit = if multiple {
        let on_vote = on_vote.clone();
        let selection_handle = selection.clone();
        let chosen_now = chosen.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            on_vote.emit(chosen_now.iter().copied().collect());
            selection_handle.set(None);
        });
        let too_many = u32::try_from(chosen.len()).unwrap_or(u32::MAX) > max;
        html! {
            <div class="row">
                <button type="button" data-testid="vote-submit" disabled={!props.can_vote || too_many} {onclick}>
                    { "Vote" }
                </button>
                <span class="hint">{ format!("Choose up to {max}.") }</span>
            </div>
        }
    } else {
        html! {}
    };
    // Who chose what, below the options (so the option rows never change height as votes come).
    let voters = named.filter(|ballots| !ballots.is_empty()).map(|ballots| {
        let rows = view.options.iter().enumerate().map(|(i, option)| {
            let names: Vec<String> = ballots
                .iter()
                .filter(|(_, chosen)| chosen.contains(&option.id))
                .map(|(peer, _)| {
                    view.members
                        .get(peer)
                        .map_or_else(|| peer.to_string(), |m| m.display_name.clone())
                })
                .collect();
            html! {
                <li>
                    <span class="label">{ option.text.clone() }{ ": " }</span>
                    <span data-testid={format!("voters-{i}")}>{ if names.is_empty() { "nobody".to_owned() } else { names.join(", ") } }</span>
                </li>
            }
        });
        html! {
            <details class="voters" data-testid="voters">
                <summary>{ format!("Who voted for what ({})", ballots.len()) }</summary>
                <ul>{ for rows }</ul>
            </details>
        }
    });
    let withdraw = {
        let on_vote = on_vote.clone();
        let selection = selection.clone();
        Callback::from(move |_: MouseEvent| {
            selection.set(None);
            on_vote.emit(Vec::new());
        })
    };
    html! {
        <div class={classes!("ballot", (!open).then_some("closed"))}>
            if !open && view.results.is_some() {
                <p class="final-results" data-testid="final-results">{ "Final results" }</p>
            }
            <ul class="options" aria-label={if open { "Options" } else { "Final results" }}>{ for rows }</ul>
            { submit }
            if let Some(results) = &view.results {
                <p class="hint" data-testid="results-summary">{ {
                    let ballots = results.ballots.as_ref().map_or(total, |b| u32::try_from(b.len()).unwrap_or(u32::MAX));
                    match (results.ballots.is_some(), ballots) {
                        (true, 1) => "1 ballot".to_owned(),
                        (true, n) => format!("{n} ballots"),
                        (false, n) => format!("{n} vote{}", if n == 1 { "" } else { "s" }),
                    }
                } }</p>
            }
            if !mine.is_empty() && props.can_vote {
                <button type="button" class="secondary small" data-testid="vote-withdraw" onclick={withdraw}>
                    { "Withdraw my vote" }
                </button>
            }
            if !open { <p class="hint" data-testid="poll-closed">{ "This poll is closed: these results are final unless the owner reopens it." }</p> }
            if let (true, Some(why)) = (open, &props.cannot_vote_because) {
                <p class="hint" data-testid="vote-disabled-reason">{ why.clone() }</p>
            }
            if view.results.is_none() {
                <p class="hint" data-testid="results-hidden">{ match view.settings.results {
                    ResultsVisibility::AfterVoting => "Results show once you have voted.",
                    ResultsVisibility::AfterClose | ResultsVisibility::Always => "Results show once the poll closes.",
                } }</p>
            }
            { voters.unwrap_or_default() }
        </div>
    }
}
