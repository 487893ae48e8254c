//! What each participant may see of a poll, and how the owner keeps every participant's copy
//! current with small events.
//!
//! Invariants:
//! - Tallies are derived from ballots ([`tally`]; per slot and by instant runoff in
//!   [`count`](super::count)); they are never stored in a [`Poll`].
//! - [`view_for`] is the only place visibility is decided. Results (tally) are visible to the
//!   owner always, to others per [`ResultsVisibility`]; who voted for what is visible only with
//!   the results and only in non-anonymous polls. A viewer always sees their own ballot.
//! - [`update_for`] sends a participant an event only if applying it to their previous view
//!   ([`PollView::apply`]) gives exactly their new view, and the event never carries more than
//!   that new view shows; otherwise it sends the new view whole. So a participant following the
//!   updates always holds `view_for(poll, participant)`, whatever the visibility rules do. In
//!   date/time and ranked polls, steps that change ballots or options always go out whole.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    runoff, slot_tallies, Answer, Answers, Change, Event, Member, OptionId, Poll, PollId, PollKind,
    PollOption, PollStatus, ResultsVisibility, Revision, Runoff, Settings, SlotTally,
};
use crate::PeerId;

/// Votes for one option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TallyEntry {
    /// The option.
    pub option_id: OptionId,
    /// How many ballots choose it.
    pub votes: u32,
}

/// Votes per option, in the poll's option order: how many ballots choose it; in a ranked poll,
/// how many rank it first (its first-round count); in a date/time poll, how many answer yes.
pub fn tally(poll: &Poll) -> Vec<TallyEntry> {
    tally_of(
        poll.kind,
        &poll.options,
        &poll.ballots,
        &poll.rankings,
        &poll.answers,
    )
}

fn tally_of(
    kind: PollKind,
    options: &[PollOption],
    ballots: &BTreeMap<PeerId, BTreeSet<OptionId>>,
    rankings: &BTreeMap<PeerId, Vec<OptionId>>,
    answers: &BTreeMap<PeerId, Answers>,
) -> Vec<TallyEntry> {
    let mut counts: BTreeMap<OptionId, u32> = BTreeMap::new();
    let mut count = |id: &OptionId| *counts.entry(*id).or_default() += 1;
    match kind {
        PollKind::Single | PollKind::Multiple { .. } => ballots.values().flatten().for_each(count),
        PollKind::Ranked => rankings.values().filter_map(|r| r.first()).for_each(count),
        PollKind::Schedule => answers
            .values()
            .flatten()
            .filter(|(_, answer)| **answer == Answer::Yes)
            .for_each(|(id, _)| count(id)),
    }
    options
        .iter()
        .map(|o| TallyEntry {
            option_id: o.id,
            votes: counts.get(&o.id).copied().unwrap_or(0),
        })
        .collect()
}

/// The results of a poll of `kind` with these ballots, every ballot named.
fn results_of(
    kind: PollKind,
    options: &[PollOption],
    ballots: BTreeMap<PeerId, BTreeSet<OptionId>>,
    rankings: BTreeMap<PeerId, Vec<OptionId>>,
    answers: BTreeMap<PeerId, Answers>,
) -> ResultsView {
    let ranked = kind == PollKind::Ranked;
    let schedule = kind.answers_slots();
    let ids: Vec<OptionId> = options.iter().map(|o| o.id).collect();
    ResultsView {
        tally: tally_of(kind, options, &ballots, &rankings, &answers),
        slots: schedule.then(|| slot_tallies(options, answers.values())),
        runoff: ranked.then(|| runoff(&ids, rankings.values().map(Vec::as_slice))),
        rankings: ranked.then_some(rankings),
        answers: schedule.then_some(answers),
        ballots: Some(ballots),
    }
}

/// `votes` out of `cast` in tenths of a percent, rounded half up (0 when `cast` is 0).
pub fn tenths(votes: u64, cast: u64) -> u64 {
    if cast == 0 {
        0
    } else {
        (votes.saturating_mul(2_000) + cast) / (2 * cast)
    }
}

/// Tenths of a percent as a number with one decimal (`667` → `"66.7"`), in integer arithmetic:
/// the screens and the CSV share it, and the browser bundle carries no float formatting code.
pub fn tenths_text(tenths: u64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// The results part of a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsView {
    /// Votes per option, in option order.
    pub tally: Vec<TallyEntry>,
    /// Who chose what; `None` in anonymous polls.
    pub ballots: Option<BTreeMap<PeerId, BTreeSet<OptionId>>>,
    /// Ranked polls that are not anonymous: each voter's ranking, best first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rankings: Option<BTreeMap<PeerId, Vec<OptionId>>>,
    /// Date/time polls that are not anonymous: each voter's answer per slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<BTreeMap<PeerId, Answers>>,
    /// Date/time polls: yes / if need be / no per slot, in option order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<Vec<SlotTally>>,
    /// Ranked polls: the instant-runoff count, round by round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runoff: Option<Runoff>,
}

impl ResultsView {
    /// Recounts the tally, the slots and the runoff from the named ballots; does nothing in an
    /// anonymous view, which has only the counts.
    fn recount(&mut self, kind: PollKind, options: &[PollOption]) {
        if let Some(ballots) = self.ballots.take() {
            *self = results_of(
                kind,
                options,
                ballots,
                self.rankings.take().unwrap_or_default(),
                self.answers.take().unwrap_or_default(),
            );
        }
    }
}

/// A poll as one participant may see it: the `poll:state` snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollView {
    /// The poll's id.
    pub id: PollId,
    /// Its owner.
    pub owner: PeerId,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Options in display order.
    pub options: Vec<PollOption>,
    /// Single or multiple choice.
    pub kind: PollKind,
    /// Open or closed.
    pub status: PollStatus,
    /// Deadline, Unix ms.
    pub deadline: Option<u64>,
    /// Settings.
    pub settings: Settings,
    /// Members with roles and names.
    pub members: BTreeMap<PeerId, Member>,
    /// The revision this view shows.
    pub revision: Revision,
    /// Creation time, Unix ms.
    pub created_at: u64,
    /// Whom this view is for.
    pub viewer: PeerId,
    /// The viewer's own choices (empty: no ballot).
    pub my_ballot: BTreeSet<OptionId>,
    /// Ranked polls: the viewer's own ranking, best first (absent from JSON when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub my_ranking: Vec<OptionId>,
    /// Date/time polls: the viewer's own answers (absent from JSON when empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub my_answers: Answers,
    /// Results, when the viewer may see them.
    pub results: Option<ResultsView>,
}

/// Whether `viewer` may see the results of `poll` now.
pub fn results_visible(poll: &Poll, viewer: &PeerId) -> bool {
    *viewer == poll.owner
        || match poll.settings.results {
            ResultsVisibility::Always => true,
            ResultsVisibility::AfterVoting => {
                poll.status == PollStatus::Closed || poll.ballots.contains_key(viewer)
            }
            ResultsVisibility::AfterClose => poll.status == PollStatus::Closed,
        }
}

/// The poll as `viewer` may see it (anyone: member, owner, or a visitor who has not joined).
pub fn view_for(poll: &Poll, viewer: &PeerId) -> PollView {
    let results = results_visible(poll, viewer).then(|| {
        let mut results = results_of(
            poll.kind,
            &poll.options,
            poll.ballots.clone(),
            poll.rankings.clone(),
            poll.answers.clone(),
        );
        if poll.settings.anonymous {
            results.ballots = None;
            results.rankings = None;
            results.answers = None;
        }
        results
    });
    PollView {
        id: poll.id,
        owner: poll.owner.clone(),
        title: poll.title.clone(),
        description: poll.description.clone(),
        options: poll.options.clone(),
        kind: poll.kind,
        status: poll.status,
        deadline: poll.deadline,
        settings: poll.settings,
        members: poll.members.clone(),
        revision: poll.revision,
        created_at: poll.created_at,
        viewer: viewer.clone(),
        my_ballot: poll.ballots.get(viewer).cloned().unwrap_or_default(),
        my_ranking: poll.rankings.get(viewer).cloned().unwrap_or_default(),
        my_answers: poll.answers.get(viewer).cloned().unwrap_or_default(),
        results,
    }
}

/// What the owner sends one participant after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// A `poll:event` the participant applies to their view.
    Event(Event),
    /// A `poll:state` that replaces their view.
    Snapshot(Box<PollView>),
}

/// The update that takes `viewer` from `view_for(before)` to `view_for(after)`, where `after`
/// and `event` came from [`apply`](super::apply) on `before`.
pub fn update_for(before: &Poll, after: &Poll, event: &Event, viewer: &PeerId) -> Update {
    let old = view_for(before, viewer);
    let new = view_for(after, viewer);
    // Date/time and ranked results (slots, runoff rounds) are not patched by events: a step that
    // changes ballots or options reaches everyone as a whole view, so a participant never has to
    // recount a runoff (PROTOCOL.md 3.7).
    let detailed = matches!(after.kind, PollKind::Schedule | PollKind::Ranked);
    let recounts = matches!(
        event.change,
        Change::BallotCast { .. } | Change::OptionAdded { .. } | Change::OptionRemoved { .. }
    );
    if detailed && recounts {
        return Update::Snapshot(Box::new(new));
    }
    let candidate = Event {
        revision: event.revision,
        change: redact(&event.change, &new),
    };
    match old.apply(&candidate) {
        Ok(applied) if applied == new => Update::Event(candidate),
        _ => Update::Snapshot(Box::new(new)),
    }
}

/// `change` as the owner of `view` may learn it.
fn redact(change: &Change, view: &PollView) -> Change {
    match change {
        Change::BallotCast { voter, .. } if *voter != view.viewer => match &view.results {
            Some(ResultsView {
                ballots: Some(_), ..
            }) => change.clone(),
            Some(ResultsView { tally, .. }) => Change::TallyChanged {
                tally: tally.clone(),
            },
            None => Change::BallotHidden,
        },
        _ => change.clone(),
    }
}

/// Why a participant could not apply an event to their view; either way they send
/// `sync:request` and wait for a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The event is not the next one.
    #[error("expected revision {expected}, got {got}")]
    Gap {
        /// The revision the view expected.
        expected: Revision,
        /// The event's revision.
        got: Revision,
    },
    /// The event does not fit the view (it names an unknown member, say).
    #[error("event {0} does not fit this view")]
    Mismatch(Revision),
}

impl PollView {
    /// How many ballots were cast, when this view lets one know: from the named ballots, or in
    /// a single-choice poll from the tally (one option per ballot). An anonymous
    /// multiple-choice (or date/time, or ranked) view does not say; `None` then, and with the
    /// results hidden.
    pub fn ballots_cast(&self) -> Option<u64> {
        let results = self.results.as_ref()?;
        match (&results.ballots, self.kind) {
            (Some(ballots), _) => Some(ballots.len() as u64),
            (None, PollKind::Single) => {
                Some(results.tally.iter().map(|e| u64::from(e.votes)).sum())
            }
            (None, PollKind::Multiple { .. } | PollKind::Schedule | PollKind::Ranked) => None,
        }
    }

    /// The share of the ballots cast that chose `option`, in tenths of a percent rounded half
    /// up (0 with no ballots), when [`PollView::ballots_cast`] is known: the one percentage
    /// every screen and the CSV show. In multiple choice the shares add up to more than 100 %.
    pub fn share_tenths(&self, option: OptionId) -> Option<u64> {
        let cast = self.ballots_cast()?;
        let votes = self
            .results
            .as_ref()?
            .tally
            .iter()
            .find(|e| e.option_id == option)
            .map_or(0, |e| u64::from(e.votes));
        Some(tenths(votes, cast))
    }

    /// The view after `event`, as a participant applies a `poll:event`.
    pub fn apply(&self, event: &Event) -> Result<Self, ViewError> {
        let expected = self.revision.next();
        if event.revision != expected {
            return Err(ViewError::Gap {
                expected,
                got: event.revision,
            });
        }
        let mismatch = ViewError::Mismatch(event.revision);
        let mut next = self.clone();
        next.revision = event.revision;
        match &event.change {
            Change::Joined {
                member,
                role,
                display_name,
            } => {
                next.members.insert(
                    member.clone(),
                    Member {
                        role: *role,
                        display_name: display_name.clone(),
                    },
                );
            }
            Change::RoleSet { member, role } => {
                next.members.get_mut(member).ok_or(mismatch)?.role = *role;
            }
            Change::ProfileUpdated {
                member,
                display_name,
            } => {
                let entry = next.members.get_mut(member).ok_or(mismatch)?;
                entry.display_name.clone_from(display_name);
            }
            Change::OptionAdded { option } => {
                next.options.push(option.clone());
                if let Some(results) = &mut next.results {
                    results.tally.push(TallyEntry {
                        option_id: option.id,
                        votes: 0,
                    });
                    if let Some(slots) = &mut results.slots {
                        slots.push(SlotTally {
                            option_id: option.id,
                            yes: 0,
                            maybe: 0,
                            no: 0,
                        });
                    }
                    results.recount(next.kind, &next.options);
                }
            }
            Change::OptionRenamed { option_id, text } => {
                let option = next.options.iter_mut().find(|o| o.id == *option_id);
                option.ok_or(mismatch)?.text.clone_from(text);
            }
            Change::OptionRemoved { option_id } => {
                let before = next.options.len();
                next.options.retain(|o| o.id != *option_id);
                if next.options.len() == before {
                    return Err(mismatch);
                }
                if let Some(results) = &mut next.results {
                    results.tally.retain(|t| t.option_id != *option_id);
                    if let Some(slots) = &mut results.slots {
                        slots.retain(|t| t.option_id != *option_id);
                    }
                    results.recount(next.kind, &next.options);
                }
            }
            Change::BallotCast {
                voter,
                option_ids,
                ranking,
                answers,
            } => {
                next.cast(voter, option_ids, ranking, answers)
                    .ok_or(mismatch)?;
            }
            Change::TallyChanged { tally } => {
                next.results
                    .as_mut()
                    .ok_or(mismatch)?
                    .tally
                    .clone_from(tally);
            }
            Change::BallotHidden => {}
            Change::Closed => next.status = PollStatus::Closed,
            Change::Reopened => next.status = PollStatus::Open,
            Change::Edited {
                title,
                description,
                deadline,
            } => {
                next.title.clone_from(title);
                next.description.clone_from(description);
                next.deadline = *deadline;
            }
        }
        Ok(next)
    }

    /// Records `voter`'s new ballot; `None` if the view lacks what it needs to do so. An
    /// anonymous ranked view cannot recount its runoff from one ballot: casting one's own ballot
    /// there leaves the results as they were, until the owner sends the new view.
    fn cast(
        &mut self,
        voter: &PeerId,
        choices: &BTreeSet<OptionId>,
        ranking: &[OptionId],
        answers: &Answers,
    ) -> Option<()> {
        let mine = *voter == self.viewer;
        let (previous, previous_answers) = if mine {
            self.my_ranking = ranking.to_vec();
            (
                std::mem::replace(&mut self.my_ballot, choices.clone()),
                std::mem::replace(&mut self.my_answers, answers.clone()),
            )
        } else {
            (BTreeSet::new(), Answers::new())
        };
        let kind = self.kind;
        let Some(results) = &mut self.results else {
            return mine.then_some(());
        };
        match &mut results.ballots {
            Some(ballots) => {
                ballots.remove(voter);
                if let Some(rankings) = &mut results.rankings {
                    rankings.remove(voter);
                }
                if let Some(all) = &mut results.answers {
                    all.remove(voter);
                }
                if !choices.is_empty() {
                    ballots.insert(voter.clone(), choices.clone());
                    if kind == PollKind::Ranked {
                        results
                            .rankings
                            .get_or_insert_with(BTreeMap::new)
                            .insert(voter.clone(), ranking.to_vec());
                    }
                    if kind.answers_slots() {
                        results
                            .answers
                            .get_or_insert_with(BTreeMap::new)
                            .insert(voter.clone(), answers.clone());
                    }
                }
                results.recount(kind, &self.options);
            }
            None if mine => match kind {
                PollKind::Single | PollKind::Multiple { .. } => {
                    for entry in &mut results.tally {
                        let id = &entry.option_id;
                        let delta =
                            i64::from(choices.contains(id)) - i64::from(previous.contains(id));
                        entry.votes = shift(entry.votes, delta)?;
                    }
                }
                PollKind::Schedule => {
                    let slots = results.slots.as_mut()?;
                    for (slot, entry) in slots.iter_mut().zip(&mut results.tally) {
                        let id = slot.option_id;
                        let (old, new) = (previous_answers.get(&id), answers.get(&id));
                        for answer in Answer::ALL {
                            let delta =
                                i64::from(new == Some(&answer)) - i64::from(old == Some(&answer));
                            let count = match answer {
                                Answer::Yes => &mut slot.yes,
                                Answer::Maybe => &mut slot.maybe,
                                Answer::No => &mut slot.no,
                            };
                            *count = shift(*count, delta)?;
                        }
                        entry.votes = slot.yes;
                    }
                }
                PollKind::Ranked => {}
            },
            None => return None,
        }
        Some(())
    }
}

/// `count` moved by `delta`, if it stays a `u32`.
fn shift(count: u32, delta: i64) -> Option<u32> {
    u32::try_from(i64::from(count) + delta).ok()
}
