//! What each participant may see of a poll, and how the owner keeps every participant's copy
//! current with small events.
//!
//! Invariants:
//! - Tallies are derived from ballots ([`tally`]); they are never stored in a [`Poll`].
//! - [`view_for`] is the only place visibility is decided. Results (tally) are visible to the
//!   owner always, to others per [`ResultsVisibility`]; who voted for what is visible only with
//!   the results and only in non-anonymous polls. A viewer always sees their own ballot.
//! - [`update_for`] sends a participant an event only if applying it to their previous view
//!   ([`PollView::apply`]) gives exactly their new view, and the event never carries more than
//!   that new view shows; otherwise it sends the new view whole. So a participant following the
//!   updates always holds `view_for(poll, participant)`, whatever the visibility rules do.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    Change, Event, Member, OptionId, Poll, PollId, PollKind, PollOption, PollStatus,
    ResultsVisibility, Revision, Settings,
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

/// Votes per option, in the poll's option order.
pub fn tally(poll: &Poll) -> Vec<TallyEntry> {
    tally_of(&poll.options, &poll.ballots)
}

fn tally_of(
    options: &[PollOption],
    ballots: &BTreeMap<PeerId, BTreeSet<OptionId>>,
) -> Vec<TallyEntry> {
    let mut counts: BTreeMap<OptionId, u32> = BTreeMap::new();
    for id in ballots.values().flatten() {
        *counts.entry(*id).or_default() += 1;
    }
    options
        .iter()
        .map(|o| TallyEntry {
            option_id: o.id,
            votes: counts.get(&o.id).copied().unwrap_or(0),
        })
        .collect()
}

/// The results part of a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsView {
    /// Votes per option, in option order.
    pub tally: Vec<TallyEntry>,
    /// Who chose what; `None` in anonymous polls.
    pub ballots: Option<BTreeMap<PeerId, BTreeSet<OptionId>>>,
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
    let results = results_visible(poll, viewer).then(|| ResultsView {
        tally: tally(poll),
        ballots: (!poll.settings.anonymous).then(|| poll.ballots.clone()),
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
                }
            }
            Change::BallotCast { voter, option_ids } => {
                next.cast(voter, option_ids).ok_or(mismatch)?;
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

    /// Records `voter`'s new ballot; `None` if the view lacks what it needs to do so.
    fn cast(&mut self, voter: &PeerId, choices: &BTreeSet<OptionId>) -> Option<()> {
        let mine = *voter == self.viewer;
        let previous = if mine {
            std::mem::replace(&mut self.my_ballot, choices.clone())
        } else {
            BTreeSet::new()
        };
        let Some(results) = &mut self.results else {
            return mine.then_some(());
        };
        match &mut results.ballots {
            Some(ballots) => {
                if choices.is_empty() {
                    ballots.remove(voter);
                } else {
                    ballots.insert(voter.clone(), choices.clone());
                }
                results.tally = tally_of(&self.options, ballots);
            }
            None if mine => {
                for entry in &mut results.tally {
                    let id = &entry.option_id;
                    let delta = i64::from(choices.contains(id)) - i64::from(previous.contains(id));
                    entry.votes = u32::try_from(i64::from(entry.votes) + delta).ok()?;
                }
            }
            None => return None,
        }
        Some(())
    }
}
