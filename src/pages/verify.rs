//! Checking a signed snapshot file, offline: the user picks a file, the core verifies the owner's
//! signature and every ballot's signature ([`starpoll_core::snapshot::verify`]), and the page shows
//! the verified poll and tallies, or the first check that failed. Nothing is sent anywhere.

use std::rc::Rc;

use starpoll_core::poll::{best_slot, view_for, OptionId, PollKind, PollStatus};
use starpoll_core::snapshot::{verify, VerifiedSnapshot, MAX_SNAPSHOT_BYTES};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::files;
use crate::time::date_time;

#[derive(Clone, PartialEq)]
enum Outcome {
    /// Nothing picked yet.
    Idle,
    /// Reading the file.
    Reading,
    /// Every check passed.
    Valid(Rc<VerifiedSnapshot>),
    /// A check failed (or the file could not be read): why.
    Invalid(String),
}

/// The verify page.
#[component]
pub fn Verify() -> Html {
    let outcome = use_state(|| Outcome::Idle);
    let file_name = use_state(String::new);
    let onchange = {
        let (outcome, file_name) = (outcome.clone(), file_name.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = files::picked(&input) else {
                return;
            };
            file_name.set(file.name());
            outcome.set(Outcome::Reading);
            let outcome = outcome.clone();
            spawn_local(async move {
                outcome.set(
                    match files::read_text(&file, MAX_SNAPSHOT_BYTES as u64).await {
                        Ok(text) => match verify(&text) {
                            Ok(verified) => Outcome::Valid(Rc::new(verified)),
                            Err(why) => {
                                gloo::console::warn!(format!("snapshot check: {why}"));
                                Outcome::Invalid(crate::messages::snapshot_problem(&why))
                            }
                        },
                        Err(why) => {
                            gloo::console::warn!(format!("reading the file: {why}"));
                            Outcome::Invalid(
                                "This file could not be read (it may be too large, or not a \
                                 text file)."
                                    .into(),
                            )
                        }
                    },
                );
            });
        })
    };
    let result = match &*outcome {
        Outcome::Idle => html! {},
        Outcome::Reading => html! { <p class="hint" role="status">{ "Checking…" }</p> },
        Outcome::Invalid(why) => html! {
            <div class="notice error" role="alert" data-testid="verify-result" data-state="invalid">
                <p><strong>{ "Not verified. " }</strong>{ format!("{} does not pass: ", *file_name) }
                    <span data-testid="verify-error">{ why.clone() }</span></p>
                <p>{ "Do not trust the results in this file." }</p>
            </div>
        },
        Outcome::Valid(verified) => valid(verified),
    };
    html! {
        <section class="card" aria-labelledby="verify-heading">
            <h1 id="verify-heading">{ "Verify a signed snapshot" }</h1>
            <p class="hint intro">
                { "A snapshot file holds a poll, every ballot with its voter's signature, and the owner's signature over it all. \
                   Checking it needs no network and no trust in the owner's screen." }
            </p>
            <div class="field">
                <label for="verify-file">{ "Snapshot file (.json)" }</label>
                <input id="verify-file" data-testid="verify-file" type="file" accept=".json,application/json" {onchange} />
            </div>
            <div aria-live="polite">{ result }</div>
        </section>
    }
}

fn valid(verified: &VerifiedSnapshot) -> Html {
    let poll = &verified.poll;
    let owner_name = poll
        .members
        .get(&poll.owner)
        .map(|m| m.display_name.clone())
        .unwrap_or_default();
    let total: u32 = verified.tally.iter().map(|t| t.votes).sum();
    let rows = poll.options.iter().enumerate().map(|(i, option)| {
        let votes = verified
            .tally
            .iter()
            .find(|t| t.option_id == option.id)
            .map_or(0, |t| t.votes);
        html! {
            <tr>
                <th scope="row">{ option.text.clone() }</th>
                <td data-testid={format!("verified-tally-{i}")}>{ votes }</td>
            </tr>
        }
    });
    // Date/time and ranked polls: the tally counts yes answers or first choices; their own
    // summary (best slot, runoff winner) is recounted here from the verified ballots.
    let results = view_for(poll, &poll.owner).results;
    let text_of = |id: OptionId| {
        poll.option(id)
            .map_or_else(|| id.to_string(), |o| o.text.clone())
    };
    let votes_header = match poll.kind {
        PollKind::Schedule => "Yes",
        PollKind::Ranked => "First choices",
        PollKind::Single | PollKind::Multiple { .. } => "Votes",
    };
    let summary = match poll.kind {
        PollKind::Schedule => {
            let best = results
                .as_ref()
                .and_then(|r| r.slots.as_deref())
                .and_then(best_slot);
            html! { <p data-testid="verified-summary">{ match best {
                Some(id) => format!("Best slot (most yes + if need be): {}", text_of(id)),
                None => "No slot has a yes or if need be.".to_owned(),
            } }</p> }
        }
        PollKind::Ranked => {
            let runoff = results.as_ref().and_then(|r| r.runoff.as_ref());
            html! { <p data-testid="verified-summary">{ match runoff.and_then(|r| r.winner.map(|w| (w, r.rounds.len()))) {
                Some((id, rounds)) => format!("Instant-runoff winner: {} (round {rounds})", text_of(id)),
                None => "No ballots.".to_owned(),
            } }</p> }
        }
        PollKind::Single | PollKind::Multiple { .. } => html! {},
    };
    html! {
        <div class="notice ok-notice" data-testid="verify-result" data-state="valid">
            <p><strong>{ "Verified." }</strong>{ format!(
                " Signed by the poll's owner, {owner_name}, and all {} ballot signature(s) check out.",
                verified.signatures
            ) }</p>
            <h2 data-testid="verified-title">{ poll.title.clone() }</h2>
            <p class="hint">
                { format!("Owner peer ID {} · revision {} · {} · exported {}",
                    poll.owner, poll.revision.0,
                    if poll.status == PollStatus::Open { "open" } else { "closed" },
                    date_time(verified.exported_at)) }
            </p>
            <table class="verified">
                <thead><tr><th scope="col">{ "Option" }</th><th scope="col">{ votes_header }</th></tr></thead>
                <tbody>{ for rows }</tbody>
                <tfoot><tr><th scope="row">{ "Total" }</th><td>{ total }</td></tr></tfoot>
            </table>
            { summary }
            <p class="hint">
                { "What this proves: each ballot was signed by its voter for this poll and these options, and the owner signed this state. \
                   It cannot prove that the owner left no ballot out." }
            </p>
        </div>
    }
}
