//! Date/time and ranked-choice polls end to end through the core's public API: ballots checked
//! per kind with typed refusals, the wire form of the new `poll:vote` fields, what each member
//! sees (anonymous polls show only counts), the CSV tables, and signed snapshots through a hub.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use starpoll_core::export::results_csv;
use starpoll_core::hub::{ConnId, Hub, Incoming, Limits};
use starpoll_core::poll::{
    apply, view_for, Answer, Answers, BallotForm, Command, CommandId, OptionId, Poll, PollDraft,
    PollId, PollKind, Refusal, Settings,
};
use starpoll_core::protocol::{seal, CommandFrame, Message};
use starpoll_core::snapshot::{verify, SnapshotError};
use starpoll_core::{Identity, PeerId, PeerToken};

const NOW: u64 = 1_700_000_000_000;

fn identity(n: u8) -> Identity {
    Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN]))
}

fn peer(n: u8) -> PeerId {
    identity(n).peer_id().clone()
}

fn draft(kind: PollKind, anonymous: bool) -> PollDraft {
    PollDraft {
        title: "When and what?".into(),
        description: String::new(),
        options: vec![
            "2026-12-10 18:00".into(),
            "2026-12-11 18:00".into(),
            "2026-12-12".into(),
        ],
        kind,
        deadline: None,
        settings: Settings {
            anonymous,
            ..Settings::default()
        },
        owner_name: "Olga".into(),
    }
}

fn ranked(ids: &[u32]) -> Command {
    Command::CastVote {
        option_ids: ids.iter().copied().map(OptionId).collect(),
        answers: Answers::new(),
    }
}

fn answering(answers: &[(u32, Answer)]) -> Command {
    Command::CastVote {
        option_ids: Vec::new(),
        answers: answers.iter().map(|(id, a)| (OptionId(*id), *a)).collect(),
    }
}

/// A poll of `kind` owned by peer 1, joined by peers 2 and 3.
fn poll(kind: PollKind, anonymous: bool) -> Poll {
    let mut poll = Poll::new(
        PollId::from_random_bytes([5; 16]),
        peer(1),
        draft(kind, anonymous),
        NOW,
    )
    .unwrap();
    for n in [2, 3] {
        let join = Command::Join {
            display_name: format!("Guest {n}"),
        };
        poll = apply(&poll, &peer(n), &join, NOW).unwrap().0;
    }
    poll
}

fn cast(poll: &Poll, n: u8, command: &Command) -> Result<Poll, Refusal> {
    apply(poll, &peer(n), command, NOW).map(|(next, _)| next)
}

#[test]
fn ballots_in_the_wrong_form_or_naming_bad_options_are_refused_with_a_reason() {
    let schedule = poll(PollKind::Schedule, false);
    let wrong = cast(&schedule, 2, &ranked(&[1])).unwrap_err();
    assert_eq!(
        wrong,
        Refusal::WrongBallotForm {
            expected: BallotForm::Answers
        }
    );
    assert_eq!(
        wrong.to_string(),
        "a date/time poll is answered slot by slot (yes, if need be or no)"
    );
    assert_eq!(
        cast(&schedule, 2, &answering(&[(9, Answer::Yes)])).unwrap_err(),
        Refusal::UnknownOption {
            option: OptionId(9)
        }
    );
    let ranked_poll = poll(PollKind::Ranked, false);
    assert_eq!(
        cast(&ranked_poll, 2, &answering(&[(1, Answer::Yes)])).unwrap_err(),
        Refusal::WrongBallotForm {
            expected: BallotForm::OptionIds
        }
    );
    assert_eq!(
        cast(&ranked_poll, 2, &ranked(&[2, 1, 2])).unwrap_err(),
        Refusal::DuplicateChoice {
            option: OptionId(2)
        }
    );
    assert_eq!(
        cast(&ranked_poll, 2, &ranked(&[4])).unwrap_err(),
        Refusal::UnknownOption {
            option: OptionId(4)
        }
    );
    // The single-choice poll refuses answers too.
    let single = poll(PollKind::Single, false);
    assert!(matches!(
        cast(&single, 2, &answering(&[(1, Answer::No)])),
        Err(Refusal::WrongBallotForm { .. })
    ));
}

#[test]
fn a_ranked_poll_keeps_the_order_and_counts_by_runoff() {
    let mut p = poll(PollKind::Ranked, false);
    p = cast(&p, 1, &ranked(&[1, 3])).unwrap();
    p = cast(&p, 2, &ranked(&[2, 3])).unwrap();
    p = cast(&p, 3, &ranked(&[3, 2, 1])).unwrap();
    assert_eq!(
        p.rankings[&peer(3)],
        vec![OptionId(3), OptionId(2), OptionId(1)]
    );
    let view = view_for(&p, &peer(2));
    assert_eq!(view.my_ranking, vec![OptionId(2), OptionId(3)]);
    let results = view.results.unwrap();
    let runoff = results.runoff.unwrap();
    // Round 1 is a three-way tie: the latest option (3) goes, its ballot moves to 2.
    assert_eq!(runoff.rounds[0].eliminated, vec![OptionId(3)]);
    assert_eq!(runoff.rounds[1].votes_of(OptionId(2)), Some(2));
    assert_eq!(runoff.winner, Some(OptionId(2)));
    assert_eq!(results.rankings.unwrap().len(), 3);
    // Withdrawing removes the ranking too.
    p = cast(&p, 3, &ranked(&[])).unwrap();
    assert!(!p.rankings.contains_key(&peer(3)));
    assert!(!p.ballots.contains_key(&peer(3)));
}

#[test]
fn an_anonymous_poll_shows_only_the_counts() {
    let mut p = poll(PollKind::Schedule, true);
    p = cast(&p, 2, &answering(&[(1, Answer::Yes), (2, Answer::Maybe)])).unwrap();
    p = cast(
        &p,
        3,
        &answering(&[(1, Answer::No), (2, Answer::Yes), (3, Answer::No)]),
    )
    .unwrap();
    let view = view_for(&p, &peer(2));
    let results = view.results.as_ref().unwrap();
    assert!(results.ballots.is_none() && results.answers.is_none());
    let slots = results.slots.as_ref().unwrap();
    assert_eq!((slots[0].yes, slots[0].maybe, slots[0].no), (1, 0, 1));
    assert_eq!((slots[1].yes, slots[1].maybe, slots[1].no), (1, 1, 0));
    assert_eq!(
        starpoll_core::poll::best_slot(slots),
        Some(OptionId(2)),
        "two available beats one"
    );
    assert_eq!(view.my_answers[&OptionId(2)], Answer::Maybe);
    let json = serde_json::to_string(&view).unwrap();
    assert!(
        !json.contains("\"answers\""),
        "no voter's answers in {json}"
    );
    // The CSV has the per-slot table but no voter rows.
    let csv = results_csv(&view).unwrap();
    assert_eq!(
        csv,
        "Slot,Yes,If need be,No,Best\r\n\
         2026-12-10 18:00,1,0,1,\r\n\
         2026-12-11 18:00,1,1,0,best\r\n\
         2026-12-12,0,0,1,\r\n"
    );
    let ranked_view = view_for(&poll(PollKind::Ranked, true), &peer(2));
    assert!(ranked_view.results.unwrap().rankings.is_none());
}

#[test]
fn csv_of_named_ballots_has_one_row_per_voter() {
    let mut p = poll(PollKind::Schedule, false);
    p = cast(&p, 2, &answering(&[(1, Answer::Yes), (2, Answer::Maybe)])).unwrap();
    let csv = results_csv(&view_for(&p, &peer(1))).unwrap();
    assert!(csv.ends_with(
        "\r\nVoter,2026-12-10 18:00,2026-12-11 18:00,2026-12-12\r\nGuest 2,yes,if need be,\r\n"
    ));
    let mut p = poll(PollKind::Ranked, false);
    p = cast(&p, 2, &ranked(&[3, 1])).unwrap();
    p = cast(&p, 3, &ranked(&[2])).unwrap();
    p = cast(&p, 1, &ranked(&[2, 3])).unwrap();
    let csv = results_csv(&view_for(&p, &peer(1))).unwrap();
    assert_eq!(
        csv,
        "Round,2026-12-10 18:00,2026-12-11 18:00,2026-12-12,Exhausted,Eliminated\r\n\
         1,0,2,1,0,\r\n\
         Winner,2026-12-11 18:00\r\n\
         \r\n\
         Voter,Rank 1,Rank 2,Rank 3\r\n\
         Guest 2,2026-12-12,2026-12-10 18:00,\r\n\
         Guest 3,2026-12-11 18:00,,\r\n\
         Olga,2026-12-11 18:00,2026-12-12,\r\n"
    );
}

#[test]
fn the_new_vote_fields_read_and_write_as_the_protocol_says() {
    let vote = answering(&[(1, Answer::Yes), (3, Answer::Maybe)]);
    let json = serde_json::to_string(&vote).unwrap();
    assert_eq!(
        json,
        r#"{"type":"poll:vote","optionIds":[],"answers":{"1":"yes","3":"maybe"}}"#
    );
    let short: Command =
        serde_json::from_str(r#"{"type":"poll:vote","answers":{"1":"yes","3":"maybe"}}"#).unwrap();
    assert_eq!(short, vote);
    // Without answers, optionIds stays required, and a vote without them is written as before.
    assert!(serde_json::from_str::<Command>(r#"{"type":"poll:vote"}"#).is_err());
    assert_eq!(
        serde_json::to_string(&ranked(&[2, 1])).unwrap(),
        r#"{"type":"poll:vote","optionIds":[2,1]}"#
    );
    assert!(
        serde_json::from_str::<Command>(r#"{"type":"poll:vote","answers":{"1":"perhaps"}}"#)
            .is_err()
    );
    let kind: PollKind = serde_json::from_str(r#"{"type":"ranked"}"#).unwrap();
    assert_eq!(kind, PollKind::Ranked);
    assert_eq!(
        serde_json::to_string(&PollKind::Schedule).unwrap(),
        r#"{"type":"schedule"}"#
    );
}

/// Peer `n` sends `command` to `hub` over its own connection; returns the signed frame.
fn send(hub: &mut Hub, n: u8, poll: PollId, id: u8, command: Command) -> String {
    let me = identity(n);
    let conn = ConnId(u64::from(n));
    hub.opened(conn, me.peer_id().as_str(), NOW);
    let frame = seal(
        &me,
        &Message::Command(CommandFrame {
            command,
            poll_id: poll,
            command_id: CommandId::from_random_bytes([id; 16]),
        }),
    )
    .unwrap();
    hub.receive(conn, Incoming::Text(&frame), NOW);
    frame
}

#[test]
fn snapshots_prove_rankings_and_answers_and_catch_a_reordered_ranking() {
    for kind in [PollKind::Ranked, PollKind::Schedule] {
        let id = PollId::from_random_bytes([9; 16]);
        let mut hub = Hub::new(identity(1), Limits::default());
        hub.create(id, draft(kind, false), NOW).unwrap();
        let vote = |ids: &[u32]| match kind {
            PollKind::Schedule => answering(
                &ids.iter()
                    .map(|i| (*i, Answer::Yes))
                    .chain([(2, Answer::No)])
                    .collect::<Vec<_>>(),
            ),
            _ => ranked(ids),
        };
        for n in [2u8, 3] {
            let join = Command::Join {
                display_name: format!("Guest {n}"),
            };
            send(&mut hub, n, id, n, join);
        }
        send(&mut hub, 2, id, 20, vote(&[3, 1]));
        send(&mut hub, 3, id, 30, vote(&[1]));
        hub.local(id, CommandId::from_random_bytes([40; 16]), &vote(&[3]), NOW);
        let file = hub.snapshot(&id, NOW + 1).unwrap();
        let verified = verify(&file).unwrap();
        assert_eq!(verified.signatures, 3);
        assert_eq!(verified.poll.kind, kind);

        // The owner swaps a ranking (or an answer): the voter's signature no longer matches.
        let outer: serde_json::Value = serde_json::from_str(&file).unwrap();
        let mut body: serde_json::Value =
            serde_json::from_str(outer["body"].as_str().unwrap()).unwrap();
        let voter = peer(2).to_string();
        match kind {
            PollKind::Ranked => body["poll"]["rankings"][&voter] = serde_json::json!([1, 3]),
            _ => body["poll"]["answers"][&voter]["1"] = serde_json::json!("maybe"),
        }
        let body = serde_json::to_string(&body).unwrap();
        let owner = identity(1);
        let forged = serde_json::json!({
            "format": "starpoll-snapshot", "v": 1, "signer": owner.peer_id(),
            "sig": owner.sign(body.as_bytes()), "body": body,
        })
        .to_string();
        assert!(matches!(
            verify(&forged),
            Err(SnapshotError::BallotMismatch { .. })
        ));
    }
}

#[test]
fn votes_in_the_new_kinds_reach_participants_as_whole_views() {
    use starpoll_core::poll::{update_for, Update};
    for kind in [PollKind::Schedule, PollKind::Ranked] {
        let before = poll(kind, false);
        let vote = match kind {
            PollKind::Schedule => answering(&[(1, Answer::Yes)]),
            _ => ranked(&[1]),
        };
        let (after, event) = apply(&before, &peer(2), &vote, NOW).unwrap();
        for n in [1, 2, 3] {
            match update_for(&before, &after, &event, &peer(n)) {
                Update::Snapshot(view) => assert_eq!(*view, view_for(&after, &peer(n))),
                Update::Event(event) => panic!("{kind:?}: an event for peer {n}: {event:?}"),
            }
        }
    }
}

#[test]
fn the_protocol_example_of_a_date_time_vote_parses() {
    let doc = include_str!("../../../PROTOCOL.md");
    let section = &doc[doc.find("### 3.7").unwrap()..];
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let end = start + section[start..].find("```").unwrap();
    let command: Command = serde_json::from_str(&section[start..end]).unwrap();
    assert_eq!(
        command,
        answering(&[(1, Answer::Yes), (2, Answer::Maybe), (3, Answer::No)])
    );
}
