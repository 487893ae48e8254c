//! Counting the ballots of the two kinds whose ballots are more than a set of options: date/time
//! polls ([`PollKind::Schedule`](super::PollKind::Schedule), every slot answered yes / if need
//! be / no) and ranked-choice polls ([`PollKind::Ranked`](super::PollKind::Ranked), counted by
//! instant runoff).
//!
//! Both counts are pure functions of the options and the ballots; they never look at who cast a
//! ballot or in which order ballots arrived, so the result is the same for any order (a property
//! test checks it).
//!
//! # Best slot
//! [`best_slot`] picks the slot with the most *yes + if need be* answers; among those, the most
//! *yes*; among those, the earliest in the poll's option order (the creation form lists slots in
//! time order). A poll where no slot has a yes or if-need-be answer has no best slot.
//!
//! # Instant runoff
//! [`runoff`] counts rounds. In each round every ballot counts for its highest-ranked option that
//! is still *continuing*; a ballot whose ranked options are all eliminated is *exhausted*. An
//! option with more than half of the round's continuing (not exhausted) ballots wins. Otherwise
//! options are eliminated: every option with no votes, if there are any (eliminating them moves
//! no ballot, so they go together); else the one option with the fewest votes, ties broken
//! against the option latest in the poll's option order. Then the next round is counted.
//! Invariants (property-tested): each round's counts plus its exhausted ballots equal the number
//! of ballots; a continuing option's count never falls from one round to the next; every round
//! but the last eliminates at least one option, so there are at most as many rounds as options;
//! the winner, when there is one, holds a strict majority of the last round's continuing ballots;
//! an option with a first-round majority wins in round 1. With no ballots there are no rounds and
//! no winner.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{OptionId, PollOption, TallyEntry};

/// One voter's answer for one slot of a date/time poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Answer {
    /// The slot suits them.
    Yes,
    /// The slot suits them if need be.
    Maybe,
    /// The slot does not suit them.
    No,
}

impl Answer {
    /// Every answer, in display order.
    pub const ALL: [Self; 3] = [Self::Yes, Self::Maybe, Self::No];

    /// The answer as the UI labels it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Yes => "Yes",
            Self::Maybe => "If need be",
            Self::No => "No",
        }
    }

    /// The answer's wire name (`yes`, `maybe`, `no`), also used in test ids and CSV cells.
    pub fn key(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::Maybe => "maybe",
            Self::No => "no",
        }
    }
}

/// A date/time ballot: each answered slot's answer.
pub type Answers = BTreeMap<OptionId, Answer>;

/// The answers for one slot of a date/time poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotTally {
    /// The slot (an option).
    pub option_id: OptionId,
    /// How many answered yes.
    pub yes: u32,
    /// How many answered if need be.
    pub maybe: u32,
    /// How many answered no.
    pub no: u32,
}

impl SlotTally {
    /// How many ballots answered this slot.
    pub fn answered(&self) -> u32 {
        self.yes.saturating_add(self.maybe).saturating_add(self.no)
    }

    /// The slot's score: yes plus if-need-be.
    pub fn available(&self) -> u32 {
        self.yes.saturating_add(self.maybe)
    }
}

/// Yes / if need be / no per slot, in the poll's option order.
pub fn slot_tallies<'a>(
    options: &[PollOption],
    ballots: impl IntoIterator<Item = &'a Answers>,
) -> Vec<SlotTally> {
    let mut slots: Vec<SlotTally> = options
        .iter()
        .map(|o| SlotTally {
            option_id: o.id,
            yes: 0,
            maybe: 0,
            no: 0,
        })
        .collect();
    for ballot in ballots {
        for (id, answer) in ballot {
            if let Some(slot) = slots.iter_mut().find(|s| s.option_id == *id) {
                let count = match answer {
                    Answer::Yes => &mut slot.yes,
                    Answer::Maybe => &mut slot.maybe,
                    Answer::No => &mut slot.no,
                };
                *count = count.saturating_add(1);
            }
        }
    }
    slots
}

/// The best slot (see the module docs), if any slot has a yes or if-need-be answer.
pub fn best_slot(slots: &[SlotTally]) -> Option<OptionId> {
    let mut best: Option<&SlotTally> = None;
    for slot in slots.iter().filter(|s| s.available() > 0) {
        // Strictly better only, so the earliest wins a tie.
        if best.is_none_or(|b| (slot.available(), slot.yes) > (b.available(), b.yes)) {
            best = Some(slot);
        }
    }
    best.map(|s| s.option_id)
}

/// One round of an instant-runoff count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Round {
    /// Votes of each option still continuing in this round, in the poll's option order.
    pub counts: Vec<TallyEntry>,
    /// Ballots whose ranked options are all eliminated.
    pub exhausted: u32,
    /// The options eliminated after this round (empty in the last round).
    pub eliminated: Vec<OptionId>,
}

impl Round {
    /// The ballots still counting for an option in this round.
    pub fn continuing(&self) -> u32 {
        self.counts
            .iter()
            .fold(0u32, |sum, e| sum.saturating_add(e.votes))
    }

    /// The votes of `option` in this round, if it is still continuing.
    pub fn votes_of(&self, option: OptionId) -> Option<u32> {
        self.counts
            .iter()
            .find(|e| e.option_id == option)
            .map(|e| e.votes)
    }
}

/// An instant-runoff result: the rounds and the winner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Runoff {
    /// The rounds, first to last.
    pub rounds: Vec<Round>,
    /// The option with a majority in the last round; `None` when there are no ballots.
    pub winner: Option<OptionId>,
}

/// Counts `ballots` (each a ranking of option ids, best first) by instant runoff over
/// `options` (ids in the poll's option order; see the module docs). Ids in a ballot that are not
/// among `options` are skipped.
pub fn runoff<'a>(
    options: &[OptionId],
    ballots: impl IntoIterator<Item = &'a [OptionId]>,
) -> Runoff {
    let ballots: Vec<&[OptionId]> = ballots.into_iter().collect();
    let mut continuing: Vec<OptionId> = options.to_vec();
    let mut rounds = Vec::new();
    if ballots.is_empty() {
        return Runoff {
            rounds,
            winner: None,
        };
    }
    loop {
        let live: BTreeSet<OptionId> = continuing.iter().copied().collect();
        let mut votes: BTreeMap<OptionId, u32> = BTreeMap::new();
        let mut exhausted = 0u32;
        for ballot in &ballots {
            match ballot.iter().find(|id| live.contains(id)) {
                Some(id) => *votes.entry(*id).or_default() += 1,
                None => exhausted = exhausted.saturating_add(1),
            }
        }
        let counts: Vec<TallyEntry> = continuing
            .iter()
            .map(|id| TallyEntry {
                option_id: *id,
                votes: votes.get(id).copied().unwrap_or(0),
            })
            .collect();
        let total = counts.iter().fold(0u64, |s, e| s + u64::from(e.votes));
        let majority = counts
            .iter()
            .find(|e| u64::from(e.votes) * 2 > total)
            .map(|e| e.option_id);
        if majority.is_some() || counts.len() <= 1 {
            let winner = majority.or_else(|| counts.first().map(|e| e.option_id));
            rounds.push(Round {
                counts,
                exhausted,
                eliminated: Vec::new(),
            });
            return Runoff { rounds, winner };
        }
        let zero: Vec<OptionId> = counts
            .iter()
            .filter(|e| e.votes == 0)
            .map(|e| e.option_id)
            .collect();
        let eliminated = if zero.is_empty() {
            // Fewest votes; `min_by_key` keeps the first minimum, so search from the end to
            // eliminate the latest option among the tied.
            counts
                .iter()
                .rev()
                .min_by_key(|e| e.votes)
                .map(|e| vec![e.option_id])
                .unwrap_or_default()
        } else {
            zero
        };
        continuing.retain(|id| !eliminated.contains(id));
        rounds.push(Round {
            counts,
            exhausted,
            eliminated,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[u32]) -> Vec<OptionId> {
        list.iter().copied().map(OptionId).collect()
    }

    #[test]
    fn a_first_round_majority_wins_at_once() {
        let ballots = [ids(&[1, 2]), ids(&[1]), ids(&[2, 1])];
        let result = runoff(&ids(&[1, 2, 3]), ballots.iter().map(Vec::as_slice));
        assert_eq!(result.rounds.len(), 1);
        assert_eq!(result.winner, Some(OptionId(1)));
        assert_eq!(result.rounds[0].votes_of(OptionId(3)), Some(0));
    }

    #[test]
    fn transfers_decide_the_winner() {
        // 1: 2 votes, 2: 2 votes, 3: 1 vote whose second choice is 2.
        let ballots = [
            ids(&[1]),
            ids(&[1, 3]),
            ids(&[2]),
            ids(&[2, 1]),
            ids(&[3, 2]),
        ];
        let result = runoff(&ids(&[1, 2, 3]), ballots.iter().map(Vec::as_slice));
        assert_eq!(result.rounds.len(), 2);
        assert_eq!(result.rounds[0].eliminated, ids(&[3]));
        assert_eq!(result.rounds[1].votes_of(OptionId(2)), Some(3));
        assert_eq!(result.winner, Some(OptionId(2)));
    }

    #[test]
    fn a_tie_for_last_eliminates_the_later_option_and_exhausted_ballots_are_counted() {
        let ballots = [ids(&[1]), ids(&[1]), ids(&[2]), ids(&[3]), ids(&[4])];
        let result = runoff(&ids(&[1, 2, 3, 4]), ballots.iter().map(Vec::as_slice));
        assert_eq!(result.rounds[0].eliminated, ids(&[4]));
        assert_eq!(result.rounds[1].exhausted, 1);
        assert_eq!(result.rounds[1].eliminated, ids(&[3]));
        assert_eq!(result.rounds[2].exhausted, 2);
        // 1 has 2 of the 3 continuing ballots.
        assert_eq!(result.winner, Some(OptionId(1)));
        assert_eq!(result.rounds.len(), 3);
    }

    #[test]
    fn options_without_votes_go_together() {
        let ballots = [ids(&[1]), ids(&[2]), ids(&[2, 1])];
        let result = runoff(&ids(&[1, 2, 3, 4]), ballots.iter().map(Vec::as_slice));
        assert_eq!(result.winner, Some(OptionId(2)));
        assert_eq!(result.rounds.len(), 1);
        let tied = [ids(&[1]), ids(&[2])];
        let result = runoff(&ids(&[1, 2, 3, 4]), tied.iter().map(Vec::as_slice));
        assert_eq!(result.rounds[0].eliminated, ids(&[3, 4]));
        assert_eq!(result.rounds[1].eliminated, ids(&[2]));
        assert_eq!(result.winner, Some(OptionId(1)));
    }

    #[test]
    fn no_ballots_no_rounds() {
        let result = runoff(&ids(&[1, 2]), std::iter::empty());
        assert_eq!(
            result,
            Runoff {
                rounds: vec![],
                winner: None
            }
        );
    }

    #[test]
    fn the_best_slot_has_most_yes_and_maybe_then_most_yes_then_comes_first() {
        let slot = |id, yes, maybe, no| SlotTally {
            option_id: OptionId(id),
            yes,
            maybe,
            no,
        };
        assert_eq!(
            best_slot(&[slot(1, 1, 0, 2), slot(2, 1, 1, 1), slot(3, 2, 0, 1)]),
            Some(OptionId(3))
        );
        assert_eq!(
            best_slot(&[slot(1, 1, 1, 0), slot(2, 2, 0, 0), slot(3, 2, 0, 0)]),
            Some(OptionId(2))
        );
        assert_eq!(best_slot(&[slot(1, 0, 0, 3), slot(2, 0, 0, 0)]), None);
    }

    #[test]
    fn answers_serialize_as_lowercase_words() {
        let ballot: Answers = [(OptionId(1), Answer::Yes), (OptionId(2), Answer::Maybe)].into();
        assert_eq!(
            serde_json::to_string(&ballot).unwrap(),
            r#"{"1":"yes","2":"maybe"}"#
        );
        let back: Answers = serde_json::from_str(r#"{"1":"yes","2":"maybe"}"#).unwrap();
        assert_eq!(back, ballot);
    }
}
