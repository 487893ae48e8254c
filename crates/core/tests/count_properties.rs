//! Property tests of the date/time and ranked-choice counts (`poll::count`): per-slot tallies,
//! the best slot, and instant runoff, over random ballots.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use starpoll_core::poll::{
    best_slot, runoff, slot_tallies, Answer, Answers, OptionId, PollOption, Runoff,
};
use starpoll_core::{Identity, PeerToken};

/// Option ids 1..=n.
fn ids(n: u32) -> Vec<OptionId> {
    (1..=n).map(OptionId).collect()
}

fn options(n: u32) -> Vec<PollOption> {
    let owner = Identity::from_seed([3; 32], PeerToken::from_random([3; PeerToken::LEN]))
        .peer_id()
        .clone();
    ids(n)
        .into_iter()
        .map(|id| PollOption {
            id,
            text: format!("Slot {}", id.0),
            added_by: owner.clone(),
        })
        .collect()
}

/// Up to 7 options and up to 25 rankings of distinct ids among them (some possibly empty).
fn rankings() -> impl Strategy<Value = (u32, Vec<Vec<OptionId>>)> {
    (1u32..=7).prop_flat_map(|n| {
        let ranking = Just(ids(n))
            .prop_shuffle()
            .prop_flat_map(move |all| (Just(all), 1..=n as usize))
            .prop_map(|(all, len)| all[..len].to_vec());
        (Just(n), prop::collection::vec(ranking, 0..25))
    })
}

fn answers() -> impl Strategy<Value = (u32, Vec<Answers>)> {
    (1u32..=7).prop_flat_map(|n| {
        let answer = prop::sample::select(Answer::ALL.to_vec());
        let ballot =
            prop::collection::btree_map((1..=n).prop_map(OptionId), answer, 1..=n as usize);
        (Just(n), prop::collection::vec(ballot, 0..25))
    })
}

fn count(n: u32, ballots: &[Vec<OptionId>]) -> Runoff {
    runoff(&ids(n), ballots.iter().map(Vec::as_slice))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_round_accounts_for_every_ballot((n, ballots) in rankings()) {
        let result = count(n, &ballots);
        prop_assert_eq!(result.rounds.is_empty(), ballots.is_empty());
        prop_assert_eq!(result.winner.is_none(), ballots.is_empty());
        let total = u32::try_from(ballots.len()).unwrap();
        for round in &result.rounds {
            prop_assert_eq!(round.continuing() + round.exhausted, total);
        }
        prop_assert!(result.rounds.len() <= n as usize);
    }

    #[test]
    fn eliminated_options_are_gone_and_continuing_counts_never_fall((n, ballots) in rankings()) {
        let result = count(n, &ballots);
        let mut gone = BTreeSet::new();
        for pair in result.rounds.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            prop_assert!(!before.eliminated.is_empty(), "a round that is not the last eliminates");
            gone.extend(before.eliminated.iter().copied());
            for entry in &after.counts {
                prop_assert!(!gone.contains(&entry.option_id));
                let earlier = before.votes_of(entry.option_id).unwrap();
                prop_assert!(entry.votes >= earlier, "a continuing option lost votes");
            }
            prop_assert!(after.exhausted >= before.exhausted);
            prop_assert_eq!(after.counts.len() + before.eliminated.len(), before.counts.len());
        }
        if let Some(last) = result.rounds.last() {
            prop_assert!(last.eliminated.is_empty());
            let winner = result.winner.unwrap();
            prop_assert!(!gone.contains(&winner));
            // The winner holds a strict majority of the last round's continuing ballots.
            prop_assert!(last.votes_of(winner).unwrap() * 2 > last.continuing());
        }
    }

    #[test]
    fn a_first_round_majority_wins_in_round_one((n, ballots) in rankings()) {
        let mut first: BTreeMap<OptionId, usize> = BTreeMap::new();
        for ballot in &ballots {
            *first.entry(ballot[0]).or_default() += 1;
        }
        let result = count(n, &ballots);
        if let Some((&leader, _)) = first.iter().find(|(_, &v)| v * 2 > ballots.len()) {
            prop_assert_eq!(result.rounds.len(), 1);
            prop_assert_eq!(result.winner, Some(leader));
        }
        // Round 1 counts first preferences.
        if let Some(round) = result.rounds.first() {
            for entry in &round.counts {
                let expected = first.get(&entry.option_id).copied().unwrap_or(0);
                prop_assert_eq!(entry.votes as usize, expected);
            }
        }
    }

    #[test]
    fn the_count_ignores_ballot_order((n, ballots) in rankings(), seed in any::<u64>()) {
        let mut shuffled = ballots.clone();
        // A deterministic shuffle from the seed (a rotation and a reversal).
        if !shuffled.is_empty() {
            let at = usize::try_from(seed % shuffled.len() as u64).unwrap();
            shuffled.rotate_left(at);
            if seed % 2 == 0 {
                shuffled.reverse();
            }
        }
        prop_assert_eq!(count(n, &ballots), count(n, &shuffled));
    }

    #[test]
    fn a_candidate_ranked_first_by_everyone_wins_at_once((n, ballots) in rankings()) {
        let favourite = OptionId(n);
        let ballots: Vec<Vec<OptionId>> = ballots
            .into_iter()
            .map(|b| {
                let mut b: Vec<OptionId> = b.into_iter().filter(|id| *id != favourite).collect();
                b.insert(0, favourite);
                b
            })
            .collect();
        let result = count(n, &ballots);
        if !ballots.is_empty() {
            prop_assert_eq!(result.winner, Some(favourite));
            prop_assert_eq!(result.rounds.len(), 1);
        }
    }

    #[test]
    fn slot_counts_add_up_to_the_ballots_that_answer((n, ballots) in answers()) {
        let slots = slot_tallies(&options(n), &ballots);
        prop_assert_eq!(slots.len(), n as usize);
        for slot in &slots {
            let answered = ballots.iter().filter(|b| b.contains_key(&slot.option_id)).count();
            prop_assert_eq!(slot.answered() as usize, answered);
            let yes = ballots.iter().filter(|b| b.get(&slot.option_id) == Some(&Answer::Yes)).count();
            prop_assert_eq!(slot.yes as usize, yes);
        }
        let mut reversed = ballots.clone();
        reversed.reverse();
        prop_assert_eq!(slot_tallies(&options(n), &reversed), slots);
    }

    #[test]
    fn the_best_slot_beats_or_ties_every_other_and_comes_first_among_equals(
        (n, ballots) in answers(),
    ) {
        let slots = slot_tallies(&options(n), &ballots);
        match best_slot(&slots) {
            None => prop_assert!(slots.iter().all(|s| s.available() == 0)),
            Some(best) => {
                let at = slots.iter().position(|s| s.option_id == best).unwrap();
                let key = |s: &starpoll_core::poll::SlotTally| (s.available(), s.yes);
                for (i, slot) in slots.iter().enumerate() {
                    prop_assert!(key(slot) <= key(&slots[at]));
                    if i < at {
                        prop_assert!(key(slot) < key(&slots[at]));
                    }
                }
            }
        }
    }
}
