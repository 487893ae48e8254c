//! A poll's results as CSV, from what one member sees ([`PollView`]), for a spreadsheet.
//!
//! The table is `Option,Votes,Percent`, plus `Voters` (the display names of the members who
//! chose the option, sorted, joined with `"; "`) when the view shows who voted for what; one row
//! per option, in the poll's option order.
//!
//! Invariants:
//! - RFC 4180: fields holding a comma, a double quote, CR or LF are quoted, with quotes doubled;
//!   every line ends with CRLF.
//! - No cell can start a spreadsheet formula: a text cell starting with `=`, `+`, `-`, `@`, a tab
//!   or CR gets a leading `'` (OWASP's advice against CSV injection), before quoting.
//! - Percent is of the ballots cast, rounded half up to one decimal (`0.0` with no ballots). The
//!   number of ballots is known from the named ballots, or in a single-choice poll from the
//!   tally (one option per ballot). An anonymous multiple-choice view does not say how many
//!   ballots were cast, so its Percent cells are left empty rather than filled with a share of
//!   choices that would read like a share of voters.
//! - The CSV shows exactly what the view shows: with results hidden it is an error, never an
//!   empty table that would read as "no votes".
//! - The downloaded file ([`results_file`]) starts with a UTF-8 byte order mark (so spreadsheet
//!   apps read accented and non-Latin names as UTF-8) and two rows that name the poll and the
//!   export time (UTC, ISO 8601), then an empty row, then the table.
//!
//! Date/time and ranked polls have their own tables ([`results_csv`] picks by kind):
//! - date/time: `Slot,Yes,If need be,No,Best` per slot (`best` marks the best slot), then, when
//!   the view names the voters, a blank line and `Voter,<slot>,<slot>,…` with one row per voter
//!   (sorted by name) and their answer per slot (`yes`, `if need be`, `no`, or empty if they did
//!   not answer that slot);
//! - ranked: `Round,<option>,<option>,…,Exhausted,Eliminated` with one row per instant-runoff
//!   round (an option's cell is empty once it is eliminated), then `Winner,<option>`, then, when
//!   the view names the voters, a blank line and `Voter,Rank 1,Rank 2,…` with one row per voter
//!   (sorted by name) and the options they ranked, best first.

use std::collections::{BTreeMap, BTreeSet};

use crate::poll::{best_slot, OptionId, PollKind, PollView, ResultsView};
use crate::PeerId;

/// Why no CSV can be made from a view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// The results are not visible to this viewer (yet).
    #[error("the results of this poll are hidden from you, so there is nothing to export")]
    ResultsHidden,
}

/// The results table of `view` as CSV text (see the module docs).
pub fn results_csv(view: &PollView) -> Result<String, CsvError> {
    let results = view.results.as_ref().ok_or(CsvError::ResultsHidden)?;
    match view.kind {
        PollKind::Schedule => return Ok(schedule_csv(view, results)),
        PollKind::Ranked => return Ok(ranked_csv(view, results)),
        PollKind::Single | PollKind::Multiple { .. } => {}
    }
    let named = results.ballots.is_some();
    let mut csv = String::from(if named {
        "Option,Votes,Percent,Voters\r\n"
    } else {
        "Option,Votes,Percent\r\n"
    });
    for option in &view.options {
        let votes = results
            .tally
            .iter()
            .find(|entry| entry.option_id == option.id)
            .map_or(0, |entry| entry.votes);
        let mut row = vec![
            text_cell(&option.text),
            votes.to_string(),
            view.ballots_cast()
                .map_or_else(String::new, |cast| percent(votes, cast)),
        ];
        if named {
            row.push(text_cell(&voters(view, results, option.id).join("; ")));
        }
        csv.push_str(&row.join(","));
        csv.push_str("\r\n");
    }
    Ok(csv)
}

/// The CSV file to download: BOM, `Poll,<title>`, `Exported,<time>`, an empty row, then
/// [`results_csv`]. `exported_at_ms` is the Unix time of the export (an input: the core reads no
/// clock).
pub fn results_file(view: &PollView, exported_at_ms: u64) -> Result<String, CsvError> {
    let table = results_csv(view)?;
    Ok(format!(
        "\u{feff}Poll,{}\r\nExported,{}\r\n\r\n{table}",
        text_cell(&view.title),
        iso_utc(exported_at_ms)
    ))
}

/// Unix ms as `YYYY-MM-DDTHH:MM:SSZ` (UTC; the proleptic Gregorian calendar).
pub fn iso_utc(at_ms: u64) -> String {
    let secs = at_ms / 1_000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm, for days >= 0).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

/// One CSV line of cells (already escaped), ending in CRLF.
fn line(csv: &mut String, cells: &[String]) {
    csv.push_str(&cells.join(","));
    csv.push_str("\r\n");
}

/// The display name of `voter` in `view` (their peer ID if not a member).
fn name_of(view: &PollView, voter: &PeerId) -> String {
    view.members
        .get(voter)
        .map_or_else(|| voter.to_string(), |m| m.display_name.clone())
}

/// The text of option `id` in `view` (its id if gone).
fn option_text(view: &PollView, id: OptionId) -> String {
    view.options
        .iter()
        .find(|o| o.id == id)
        .map_or_else(|| id.to_string(), |o| o.text.clone())
}

/// The per-voter rows' owners, sorted by name then peer ID.
fn sorted_voters<'a, T>(view: &PollView, ballots: &'a BTreeMap<PeerId, T>) -> Vec<(String, &'a T)> {
    let mut rows: Vec<(String, &PeerId, &T)> = ballots
        .iter()
        .map(|(voter, ballot)| (name_of(view, voter), voter, ballot))
        .collect();
    rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    rows.into_iter()
        .map(|(name, _, ballot)| (name, ballot))
        .collect()
}

fn schedule_csv(view: &PollView, results: &ResultsView) -> String {
    let slots = results.slots.clone().unwrap_or_default();
    let best = best_slot(&slots);
    let mut csv = String::from("Slot,Yes,If need be,No,Best\r\n");
    for slot in &slots {
        line(
            &mut csv,
            &[
                text_cell(&option_text(view, slot.option_id)),
                slot.yes.to_string(),
                slot.maybe.to_string(),
                slot.no.to_string(),
                if best == Some(slot.option_id) {
                    "best".into()
                } else {
                    String::new()
                },
            ],
        );
    }
    if let Some(answers) = &results.answers {
        csv.push_str("\r\n");
        let mut header = vec!["Voter".to_owned()];
        header.extend(view.options.iter().map(|o| text_cell(&o.text)));
        line(&mut csv, &header);
        for (name, ballot) in sorted_voters(view, answers) {
            let mut row = vec![text_cell(&name)];
            row.extend(view.options.iter().map(|o| {
                ballot
                    .get(&o.id)
                    .map_or_else(String::new, |a| a.label().to_lowercase())
            }));
            line(&mut csv, &row);
        }
    }
    csv
}

fn ranked_csv(view: &PollView, results: &ResultsView) -> String {
    let mut csv = String::new();
    let mut header = vec!["Round".to_owned()];
    header.extend(view.options.iter().map(|o| text_cell(&o.text)));
    header.extend(["Exhausted".to_owned(), "Eliminated".to_owned()]);
    line(&mut csv, &header);
    let runoff = results.runoff.as_ref();
    for (number, round) in runoff.map_or(&[][..], |r| &r.rounds).iter().enumerate() {
        let mut row = vec![(number + 1).to_string()];
        row.extend(view.options.iter().map(|o| {
            round
                .votes_of(o.id)
                .map_or_else(String::new, |v| v.to_string())
        }));
        row.push(round.exhausted.to_string());
        let eliminated: Vec<String> = round
            .eliminated
            .iter()
            .map(|id| option_text(view, *id))
            .collect();
        row.push(text_cell(&eliminated.join("; ")));
        line(&mut csv, &row);
    }
    let winner = runoff
        .and_then(|r| r.winner)
        .map_or_else(String::new, |id| text_cell(&option_text(view, id)));
    line(&mut csv, &["Winner".to_owned(), winner]);
    if let Some(rankings) = &results.rankings {
        csv.push_str("\r\n");
        let mut header = vec!["Voter".to_owned()];
        header.extend((1..=view.options.len()).map(|n| format!("Rank {n}")));
        line(&mut csv, &header);
        for (name, ranking) in sorted_voters(view, rankings) {
            let mut row = vec![text_cell(&name)];
            row.extend(ranking.iter().map(|id| text_cell(&option_text(view, *id))));
            row.resize(header.len(), String::new());
            line(&mut csv, &row);
        }
    }
    csv
}

/// `votes` out of `cast` as a percentage with one decimal, rounded half up.
fn percent(votes: u32, cast: u64) -> String {
    crate::poll::tenths_text(crate::poll::tenths(u64::from(votes), cast))
}

/// The display names of the voters who chose `option`, sorted (peer ID for a non-member).
fn voters(view: &PollView, results: &ResultsView, option: OptionId) -> Vec<String> {
    let Some(ballots) = &results.ballots else {
        return Vec::new();
    };
    let chose: BTreeSet<(String, &PeerId)> = ballots
        .iter()
        .filter(|(_, choices)| choices.contains(&option))
        .map(|(voter, _)| {
            let name = view
                .members
                .get(voter)
                .map_or_else(|| voter.to_string(), |m| m.display_name.clone());
            (name, voter)
        })
        .collect();
    chose.into_iter().map(|(name, _)| name).collect()
}

/// A text field, neutralised against formula injection, then quoted if RFC 4180 needs it.
fn text_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
