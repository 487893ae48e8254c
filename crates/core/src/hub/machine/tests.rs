//! Tests of the hub machine: its outputs keep the commit-then-send order, batch what was fed
//! before a drain, stop after a failed commit, and carry the timer's and the owner's work.

use super::*;
use crate::poll::{Command, CommandId, OptionId, PollStatus};
use crate::protocol::{open, seal, CommandFrame, Control, Message};
use crate::testing::{cid, identity, lunch_draft, poll_id, NOW};
use crate::Identity;

const GUEST: ConnId = ConnId(7);

/// A machine serving the lunch poll, its creation committed.
fn machine() -> HubMachine {
    let mut m = HubMachine::new(Hub::new(identity(1), super::super::Limits::default()));
    m.create(poll_id(), lunch_draft(), NOW).unwrap();
    commit_all(&mut m);
    m
}

/// Drains, reporting every commit as committed; returns the outputs but the commits.
fn commit_all(m: &mut HubMachine) -> Vec<Output> {
    let mut out = Vec::new();
    while let Some(output) = m.poll_output() {
        match output {
            Output::Commit(_) => m.handle_input(Input::Committed, NOW),
            other => out.push(other),
        }
    }
    out
}

fn drain(m: &mut HubMachine) -> Vec<Output> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

fn guest() -> Identity {
    identity(2)
}

fn frame(message: Message) -> String {
    seal(&guest(), &message).unwrap()
}

fn command(id: CommandId, command: Command) -> String {
    frame(Message::Command(CommandFrame {
        command,
        poll_id: poll_id(),
        command_id: id,
    }))
}

fn vote(id: CommandId, option: u32) -> String {
    command(
        id,
        Command::CastVote {
            option_ids: vec![OptionId(option)],
            answers: Default::default(),
        },
    )
}

/// The guest connected and joined, everything committed and drained.
fn joined() -> HubMachine {
    let mut m = machine();
    let remote = guest().peer_id().as_str().to_owned();
    m.handle_input(
        Input::Opened {
            conn: GUEST,
            remote: &remote,
            channel: None,
        },
        NOW,
    );
    let join = command(
        cid(1),
        Command::Join {
            display_name: "Ann".into(),
        },
    );
    m.handle_input(Input::Received(GUEST, Incoming::Text(&join)), NOW);
    commit_all(&mut m);
    m
}

/// The controls sent to the guest among `outputs`, in order.
fn sent(outputs: &[Output]) -> Vec<Control> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send(conn, text) if *conn == GUEST => {
                match open(text, Some(identity(1).peer_id())) {
                    Ok((_, Message::Control(control))) => Some(control),
                    other => panic!("not a control from the hub: {other:?}"),
                }
            }
            _ => None,
        })
        .collect()
}

fn acked(outputs: &[Output]) -> Vec<CommandId> {
    sent(outputs)
        .into_iter()
        .filter_map(|c| match c {
            Control::Ack { command_id, .. } => Some(command_id),
            _ => None,
        })
        .collect()
}

fn records(writes: &[Write]) -> usize {
    writes
        .iter()
        .filter(|w| matches!(w, Write::Record(..)))
        .count()
}

#[test]
fn an_ack_leaves_only_after_its_commit() {
    let mut m = joined();
    m.handle_input(
        Input::Received(GUEST, Incoming::Text(&vote(cid(2), 1))),
        NOW,
    );
    let before = drain(&mut m);
    assert!(
        matches!(before.as_slice(), [Output::Commit(w)] if records(w) == 1),
        "only the commit comes out first: {before:?}"
    );
    assert!(drain(&mut m).is_empty(), "nothing leaves while it commits");
    m.handle_input(Input::Committed, NOW);
    let after = drain(&mut m);
    assert_eq!(acked(&after), [cid(2)]);
    assert!(after.contains(&Output::Changed));
}

#[test]
fn a_burst_fed_before_a_drain_is_one_commit_and_acks_in_order() {
    let mut m = joined();
    let votes: Vec<String> = (2..6).map(|n| vote(cid(n), 1 + u32::from(n % 2))).collect();
    for v in &votes {
        m.handle_input(Input::Received(GUEST, Incoming::Text(v)), NOW);
    }
    let out = drain(&mut m);
    let [Output::Commit(writes)] = out.as_slice() else {
        panic!("one commit for the burst: {out:?}");
    };
    assert_eq!(records(writes), 4);
    m.handle_input(Input::Committed, NOW);
    assert_eq!(acked(&drain(&mut m)), [cid(2), cid(3), cid(4), cid(5)]);
    assert!(m.is_idle());
}

#[test]
fn frames_arriving_during_a_commit_join_the_next_one() {
    let mut m = joined();
    m.handle_input(
        Input::Received(GUEST, Incoming::Text(&vote(cid(2), 1))),
        NOW,
    );
    assert!(matches!(drain(&mut m).as_slice(), [Output::Commit(w)] if records(w) == 1));
    for n in 3..6 {
        m.handle_input(
            Input::Received(GUEST, Incoming::Text(&vote(cid(n), 2))),
            NOW,
        );
        assert!(drain(&mut m).is_empty(), "waits for the commit under way");
    }
    m.handle_input(Input::Committed, NOW);
    let out = drain(&mut m);
    assert_eq!(acked(&out), [cid(2)]);
    assert!(matches!(out.last(), Some(Output::Commit(w)) if records(w) == 3));
    m.handle_input(Input::Committed, NOW);
    assert_eq!(acked(&drain(&mut m)), [cid(3), cid(4), cid(5)]);
}

#[test]
fn a_failed_commit_stops_the_machine() {
    let mut m = joined();
    m.handle_input(
        Input::Received(GUEST, Incoming::Text(&vote(cid(2), 1))),
        NOW,
    );
    drain(&mut m);
    m.handle_input(Input::Failed, NOW);
    assert_eq!(drain(&mut m), [Output::Stopped]);
    assert!(m.is_stopped());
    assert_eq!(m.poll_timeout(), None, "a stopped hub arms no timer");
    m.handle_input(
        Input::Received(GUEST, Incoming::Text(&vote(cid(3), 2))),
        NOW,
    );
    m.handle_timeout(NOW + 60_000, || Some(cid(9)));
    assert!(drain(&mut m).is_empty(), "nothing after the failure");
}

#[test]
fn the_timer_closes_a_due_poll_through_a_commit() {
    let mut m = HubMachine::new(Hub::new(identity(1), super::super::Limits::default()));
    let mut draft = lunch_draft();
    draft.deadline = Some(NOW + 1_000);
    m.create(poll_id(), draft, NOW).unwrap();
    commit_all(&mut m);
    assert_eq!(m.poll_timeout(), Some(NOW + 1_000));
    m.handle_timeout(NOW + 1_000, || Some(cid(9)));
    let out = drain(&mut m);
    assert!(
        matches!(out.as_slice(), [Output::Commit(w)] if !w.is_empty()),
        "the close is committed first: {out:?}"
    );
    m.handle_input(Input::Committed, NOW + 1_000);
    assert_eq!(drain(&mut m), [Output::Changed]);
    let poll = m.hub().poll(&poll_id()).unwrap();
    assert_eq!(poll.status, PollStatus::Closed);
}

#[test]
fn the_owners_own_vote_answers_at_once_and_is_committed_before_it_is_relayed() {
    let mut m = joined();
    let vote = Command::CastVote {
        option_ids: vec![OptionId(2)],
        answers: Default::default(),
    };
    let outcome = m.local(poll_id(), cid(30), &vote, NOW);
    assert!(
        matches!(outcome, Some(Outcome::Acked { .. })),
        "{outcome:?}"
    );
    assert!(matches!(drain(&mut m).as_slice(), [Output::Commit(w)] if records(w) == 1));
    m.handle_input(Input::Committed, NOW);
    assert!(
        sent(&drain(&mut m))
            .iter()
            .any(|c| matches!(c, Control::Event { .. })),
        "the guest hears of the owner's vote after the commit"
    );
}

/// The guest's connection opens with both DTLS fingerprints known to the hub.
fn open_with_fingerprints(m: &mut HubMachine) {
    let remote = guest().peer_id().as_str().to_owned();
    let channel = ChannelFingerprints {
        local: "sha-256 AA".into(),
        remote: "sha-256 BB".into(),
    };
    m.handle_input(
        Input::Opened {
            conn: GUEST,
            remote: &remote,
            channel: Some(channel),
        },
        NOW,
    );
}

#[test]
fn fingerprints_given_at_open_let_the_hub_bind_the_channel() {
    let mut m = machine();
    open_with_fingerprints(&mut m);
    let request = frame(Message::Control(Control::BindRequest { batches: false }));
    m.handle_input(Input::Received(GUEST, Incoming::Text(&request)), NOW);
    let binds: Vec<Control> = sent(&commit_all(&mut m))
        .into_iter()
        .filter(|c| matches!(c, Control::Bind { .. }))
        .collect();
    assert_eq!(
        binds,
        [Control::Bind {
            hub_fingerprint: "sha-256 AA".into(),
            participant_fingerprint: "sha-256 BB".into(),
        }]
    );
    assert!(m.hub().is_bound(GUEST));
}

/// §2.8: once a participant that asked for batches is bound, what one commit lets out to it is
/// one message — its frames in order — while a bound participant that did not ask gets one
/// message per frame. (`channel:bind` needs no commit, so it leaves before the commit, alone.)
#[test]
fn a_bound_participant_that_asked_gets_a_commits_frames_in_one_batch() {
    for batches in [true, false] {
        let mut m = machine();
        open_with_fingerprints(&mut m);
        let request = frame(Message::Control(Control::BindRequest { batches }));
        let join = command(
            cid(1),
            Command::Join {
                display_name: "Ann".into(),
            },
        );
        let votes = [vote(cid(2), 1), vote(cid(3), 2)];
        for text in [&request, &join, &votes[0], &votes[1]] {
            m.handle_input(Input::Received(GUEST, Incoming::Text(text)), NOW);
        }
        let sends: Vec<String> = commit_all(&mut m)
            .into_iter()
            .filter_map(|o| match o {
                Output::Send(conn, text) if conn == GUEST => Some(text.to_string()),
                _ => None,
            })
            .collect();
        // Each frame of a batch is exactly what the hub would have sent alone.
        let frames: Vec<String> = sends
            .iter()
            .flat_map(|s| match batch::is_batch(s) {
                true => batch::split(s)
                    .unwrap()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                false => vec![s.clone()],
            })
            .collect();
        if batches {
            assert_eq!(sends.len(), 2, "{sends:?}");
            assert!(batch::is_batch(&sends[1]));
        } else {
            assert_eq!(sends.len(), frames.len(), "{sends:?}");
        }
        let hub = identity(1).peer_id().clone();
        let kinds: Vec<&str> = frames
            .iter()
            .map(|f| {
                let (_, message) = crate::protocol::open_bound(f, &hub).unwrap();
                match message {
                    Message::Control(Control::Bind { .. }) => "bind",
                    Message::Control(Control::Ack { .. }) => "ack",
                    Message::Control(Control::Event { .. }) => "event",
                    Message::Control(Control::State { .. }) => "state",
                    Message::Control(Control::Discovery { .. }) => "discovery",
                    other => panic!("unexpected {other:?}"),
                }
            })
            .collect();
        assert_eq!(kinds[0], "bind");
        // The join: ack, state, discovery; each vote: event, ack.
        assert_eq!(kinds.iter().filter(|k| **k == "ack").count(), 3);
        assert_eq!(kinds.iter().filter(|k| **k == "event").count(), 2);
        assert_eq!(kinds.iter().filter(|k| **k == "state").count(), 1);
        assert_eq!(m.hub().takes_batches(GUEST), batches);
    }
}
