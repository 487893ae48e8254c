//! The hub runtime with a real SQLite store and simulated time: answers leave only after their
//! commit, a crash before the flush loses nothing acked, and a restart answers resends from the
//! records.

use super::*;
use starpoll_core::poll::{Command, CommandId, PollDraft, PollId, PollKind, Settings};
use starpoll_core::protocol::{open_from, seal, CommandFrame, Control, Message};
use starpoll_core::PeerToken;

const NOW: u64 = 1_700_000_000_000;

fn identity(n: u8) -> Identity {
    Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN]))
}

fn host() -> Identity {
    identity(1)
}

fn poll_id() -> PollId {
    PollId::from_random_bytes([0x11; 16])
}

fn draft() -> PollDraft {
    PollDraft {
        title: "Lunch?".into(),
        description: String::new(),
        options: vec!["Pizza".into(), "Sushi".into()],
        kind: PollKind::Single,
        deadline: None,
        settings: Settings {
            listed: true,
            ..Settings::default()
        },
        owner_name: "Host".into(),
    }
}

/// A data directory whose store holds one listed poll of the host.
fn seeded(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("host.sqlite3");
    let mut hub = Hub::new(host(), Limits::default());
    let step = hub.create(poll_id(), draft(), NOW).expect("valid draft");
    Store::open(&path)
        .expect("open")
        .commit(&step.writes)
        .expect("commit");
    path
}

fn start(path: &std::path::Path) -> HubRuntime {
    HubRuntime::start(host(), Store::open(path).expect("open")).expect("start")
}

fn join_frame(voter: &Identity, n: u8) -> String {
    let frame = CommandFrame {
        command: Command::Join {
            display_name: "Vera".into(),
        },
        poll_id: poll_id(),
        command_id: CommandId::from_random_bytes([n; 16]),
    };
    seal(voter, &frame.into()).expect("seal")
}

fn opened_messages(sends: &[(ConnId, Rc<str>)], conn: ConnId) -> Vec<Message> {
    sends
        .iter()
        .filter(|(to, _)| *to == conn)
        .map(|(_, text)| {
            open_from(text, host().peer_id())
                .expect("signed by the host")
                .1
        })
        .collect()
}

#[test]
fn a_list_request_is_answered_with_the_listed_polls_signed_by_the_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut runtime = start(&seeded(&dir));
    let voter = identity(2);
    runtime.opened(ConnId(1), voter.peer_id().as_str(), NOW);
    let request = seal(&voter, &Control::ListRequest.into()).expect("seal");
    runtime.receive(ConnId(1), Incoming::Text(&request), NOW + 1);
    let perform = runtime.flush().expect("flush");
    let messages = opened_messages(&perform.sends, ConnId(1));
    let Some(Message::Control(Control::List { polls })) = messages.last() else {
        panic!("no list in {messages:?}");
    };
    assert_eq!(polls.len(), 1);
    assert_eq!(polls[0].poll_id, poll_id());
}

#[test]
fn the_ack_leaves_only_with_a_flush_that_committed_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = seeded(&dir);
    let voter = identity(2);
    let mut runtime = start(&path);
    runtime.opened(ConnId(1), voter.peer_id().as_str(), NOW);
    runtime.receive(ConnId(1), Incoming::Text(&join_frame(&voter, 9)), NOW + 1);
    assert!(runtime.pending(), "the ack waits in the queue");
    // Before the flush nothing is in the database.
    let stored = Store::open(&path).expect("open").load().expect("load");
    assert!(stored[0].1.is_empty(), "no record before the flush");
    let perform = runtime.flush().expect("flush");
    let acked = opened_messages(&perform.sends, ConnId(1))
        .into_iter()
        .any(|m| matches!(m, Message::Control(Control::Ack { .. })));
    assert!(acked, "the join is acked by the flush");
    let stored = Store::open(&path).expect("open").load().expect("load");
    assert_eq!(stored[0].1.len(), 1, "and its record is committed");
    assert_eq!(runtime.committed_records(), 1);
}

#[test]
fn a_crash_before_the_flush_loses_the_command_and_a_restart_applies_its_resend_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = seeded(&dir);
    let voter = identity(2);
    let frame = join_frame(&voter, 9);
    {
        let mut runtime = start(&path);
        runtime.opened(ConnId(1), voter.peer_id().as_str(), NOW);
        runtime.receive(ConnId(1), Incoming::Text(&frame), NOW + 1);
        // The process dies here: never flushed, never acked.
    }
    let mut runtime = start(&path);
    assert!(
        runtime
            .hub()
            .poll(&poll_id())
            .expect("restored")
            .members
            .len()
            == 1
    );
    runtime.opened(ConnId(1), voter.peer_id().as_str(), NOW + 10);
    runtime.receive(ConnId(1), Incoming::Text(&frame), NOW + 11);
    runtime.flush().expect("flush");
    let members = runtime
        .hub()
        .poll(&poll_id())
        .expect("hosted")
        .members
        .len();
    assert_eq!(members, 2, "owner and the new member");
    // After another restart, the same resend is answered from the record: nothing changes.
    drop(runtime);
    let mut runtime = start(&path);
    let before = runtime.hub().poll(&poll_id()).expect("hosted").revision;
    runtime.opened(ConnId(1), voter.peer_id().as_str(), NOW + 20);
    runtime.receive(ConnId(1), Incoming::Text(&frame), NOW + 21);
    let perform = runtime.flush().expect("flush");
    assert_eq!(
        runtime.hub().poll(&poll_id()).expect("hosted").revision,
        before
    );
    assert_eq!(runtime.committed_records(), 0, "a replay writes no record");
    let acked = opened_messages(&perform.sends, ConnId(1))
        .into_iter()
        .any(|m| matches!(m, Message::Control(Control::Ack { .. })));
    assert!(acked, "the replay is acked again");
}

#[test]
fn a_silent_connection_is_closed_when_the_simulated_time_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut runtime = start(&seeded(&dir));
    let voter = identity(2);
    runtime.opened(ConnId(1), voter.peer_id().as_str(), NOW);
    runtime.flush().expect("flush");
    let at = runtime.poll_timeout().expect("a heartbeat is due");
    runtime.wake(at, || None);
    let perform = runtime.flush().expect("flush");
    assert!(
        opened_messages(&perform.sends, ConnId(1))
            .iter()
            .any(|m| matches!(m, Message::Control(Control::Heartbeat))),
        "a heartbeat on the quiet connection"
    );
    runtime.wake(NOW + Limits::default().silence_close_ms, || None);
    let perform = runtime.flush().expect("flush");
    assert_eq!(perform.closes, vec![ConnId(1)]);
    assert_eq!(runtime.hub().connections(), 0);
}

#[test]
fn a_poll_of_another_owner_is_skipped_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = seeded(&dir);
    let runtime = HubRuntime::start(identity(3), Store::open(&path).expect("open")).expect("start");
    assert_eq!(runtime.hub().polls().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Moving polls to and from the host (PROTOCOL.md §8.4–8.5): the host's runtime with SQLite, the
// owner's hub as the core's machine in memory, one hub-to-hub wire between them (the same
// `ConnId` on both sides), simulated time. A crash is "drop the runtime, start a new one on the
// same file".

fn olga() -> Identity {
    identity(2)
}

fn vera() -> Identity {
    identity(3)
}

/// The hub-to-hub wire of a move to the host, and the one of a take-back.
const WIRE: ConnId = ConnId(50);
const BACK: ConnId = ConnId(51);
/// Olga's participant connection to the host, and Vera's.
const OLGA_AT_HOST: ConnId = ConnId(60);
const VERA_AT_HOST: ConnId = ConnId(61);

fn on(sends: &[(ConnId, Rc<str>)], conn: ConnId) -> Vec<Rc<str>> {
    sends
        .iter()
        .filter(|(to, _)| *to == conn)
        .map(|(_, text)| Rc::clone(text))
        .collect()
}

fn frame_type(text: &str, signer: &Identity) -> Message {
    open_from(text, signer.peer_id()).expect("signed").1
}

fn command(signer: &Identity, n: u8, command: Command) -> String {
    let frame = CommandFrame {
        command,
        poll_id: poll_id(),
        command_id: CommandId::from_random_bytes([n; 16]),
    };
    seal(signer, &frame.into()).expect("seal")
}

fn vote(option: starpoll_core::poll::OptionId) -> Command {
    Command::CastVote {
        option_ids: vec![option],
        answers: Default::default(),
    }
}

/// Delivers frames both ways on `wire` until neither side has anything more to say. The host
/// flushes (commits, then sends) after each round, as its loop does.
fn pump(
    olga: &mut Hub,
    host: &mut HubRuntime,
    wire: ConnId,
    mut to_host: Vec<Rc<str>>,
    mut to_olga: Vec<Rc<str>>,
    now: u64,
) {
    for _ in 0..100 {
        if to_host.is_empty() && to_olga.is_empty() {
            return;
        }
        for frame in to_olga.drain(..) {
            let step = olga.receive(wire, Incoming::Text(&frame), now);
            to_host.extend(on(&step.sends, wire));
        }
        for frame in to_host.drain(..) {
            host.receive(wire, Incoming::Text(&frame), now);
        }
        let perform = host.flush().expect("flush");
        to_olga.extend(on(&perform.sends, wire));
    }
    panic!("the hubs never went quiet");
}

/// Olga's hub with her poll, on which she voted (a record carrying her signed frame).
fn olga_with_poll() -> Hub {
    let mut hub = Hub::new(olga(), Limits::default());
    hub.create(poll_id(), draft(), NOW).expect("valid draft");
    let option = hub.poll(&poll_id()).expect("created").options[0].id;
    let (step, outcome) = hub.local(
        poll_id(),
        CommandId::from_random_bytes([1; 16]),
        &vote(option),
        NOW + 1,
    );
    assert!(
        !step.writes.is_empty() && outcome.is_some(),
        "the vote applied"
    );
    hub
}

/// Olga moves her poll to a host on a fresh store; returns her hub and the store's path once
/// the host serves the poll.
fn moved_to_host(dir: &tempfile::TempDir) -> (Hub, std::path::PathBuf) {
    let path = dir.path().join("host.sqlite3");
    let mut olga_hub = olga_with_poll();
    let mut runtime = start(&path);
    let step = olga_hub
        .move_poll(poll_id(), host().peer_id().clone(), NOW + 2)
        .expect("move");
    assert_eq!(step.dials, vec![host().peer_id().clone()]);
    runtime.opened(WIRE, olga().peer_id().as_str(), NOW + 3);
    let step = olga_hub.dialed(WIRE, host().peer_id().as_str(), NOW + 3);
    pump(
        &mut olga_hub,
        &mut runtime,
        WIRE,
        on(&step.sends, WIRE),
        Vec::new(),
        NOW + 4,
    );
    assert!(
        runtime.hub().poll(&poll_id()).is_some(),
        "the host serves it"
    );
    assert!(olga_hub.moved_to(&poll_id()).is_some());
    (olga_hub, path)
}

/// What the host answers Vera's `sync:request` with, in order.
fn sync_answer(runtime: &mut HubRuntime, now: u64) -> Vec<Message> {
    runtime.opened(VERA_AT_HOST, vera().peer_id().as_str(), now);
    let request = seal(
        &vera(),
        &Control::SyncRequest {
            poll_id: poll_id(),
            since_revision: None,
        }
        .into(),
    )
    .expect("seal");
    runtime.receive(VERA_AT_HOST, Incoming::Text(&request), now);
    let perform = runtime.flush().expect("flush");
    on(&perform.sends, VERA_AT_HOST)
        .iter()
        .map(|text| frame_type(text, &host()))
        .collect()
}

fn names(delegation_text: &str) -> starpoll_core::PeerId {
    starpoll_core::delegation::SignedDelegation::parse(delegation_text)
        .expect("a delegation")
        .hub()
        .clone()
}

#[test]
fn a_poll_prepared_at_the_host_survives_a_restart_and_is_served_once_activated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("host.sqlite3");
    let mut olga_hub = olga_with_poll();
    let revision = olga_hub.poll(&poll_id()).expect("served").revision;
    let mut runtime = start(&path);
    olga_hub
        .move_poll(poll_id(), host().peer_id().clone(), NOW + 2)
        .expect("move");
    runtime.opened(WIRE, olga().peer_id().as_str(), NOW + 3);
    let step = olga_hub.dialed(WIRE, host().peer_id().as_str(), NOW + 3);
    // Records and prepare reach the host; it commits the poll as prepared and answers; then it
    // is killed before `hub:activate` arrives.
    for frame in on(&step.sends, WIRE) {
        runtime.receive(WIRE, Incoming::Text(&frame), NOW + 4);
    }
    let perform = runtime.flush().expect("flush");
    let prepared = on(&perform.sends, WIRE);
    assert!(matches!(
        frame_type(&prepared[0], &host()),
        Message::Control(Control::Prepared { .. })
    ));
    drop(runtime);
    let step = olga_hub.receive(WIRE, Incoming::Text(&prepared[0]), NOW + 5);
    assert!(olga_hub.moved_to(&poll_id()).is_some(), "the commit point");
    assert!(!on(&step.sends, WIRE).is_empty(), "hub:activate, lost");
    olga_hub.closed(WIRE);

    // Restarted: the poll is held, not served; a newcomer is sent back to Olga.
    let mut runtime = start(&path);
    assert!(runtime.hub().is_prepared(&poll_id()));
    assert!(runtime.hub().poll(&poll_id()).is_none());
    let answer = sync_answer(&mut runtime, NOW + 6);
    assert!(
        matches!(
            &answer[..],
            [Message::Control(Control::Delegation { .. })] | []
        ),
        "no poll:state from a prepared copy: {answer:?}"
    );

    // Olga dials again on her timer and activates it.
    let retry = NOW + 5 + Limits::default().move_timeout_ms;
    let step = olga_hub.handle_timeout(retry, || None);
    assert_eq!(step.dials, vec![host().peer_id().clone()]);
    runtime.opened(WIRE, olga().peer_id().as_str(), retry);
    let step = olga_hub.dialed(WIRE, host().peer_id().as_str(), retry);
    pump(
        &mut olga_hub,
        &mut runtime,
        WIRE,
        on(&step.sends, WIRE),
        Vec::new(),
        retry,
    );
    assert!(runtime.hub().poll(&poll_id()).is_some(), "served");
    // Vera, subscribed while it was prepared, got the credential and the state on activation.

    // And served again after another restart, with Olga's vote record: her resend of it is
    // answered from the record with its first revision, and changes nothing.
    drop(runtime);
    let mut runtime = start(&path);
    let poll = runtime
        .hub()
        .poll(&poll_id())
        .expect("served after restart")
        .clone();
    assert_eq!(poll.revision, revision);
    let answer = sync_answer(&mut runtime, retry + 1);
    match &answer[..] {
        [Message::Control(Control::Delegation { delegation, .. }), Message::Control(Control::State { .. }), ..] =>
        {
            assert_eq!(names(delegation), *host().peer_id(), "its credential first")
        }
        other => panic!("expected the credential then the state: {other:?}"),
    }
    runtime.opened(OLGA_AT_HOST, olga().peer_id().as_str(), retry + 2);
    let option = poll.options[1].id;
    runtime.receive(
        OLGA_AT_HOST,
        Incoming::Text(&command(&olga(), 1, vote(option))),
        retry + 2,
    );
    let perform = runtime.flush().expect("flush");
    let acks: Vec<Message> = on(&perform.sends, OLGA_AT_HOST)
        .iter()
        .map(|t| frame_type(t, &host()))
        .filter(|m| matches!(m, Message::Control(Control::Ack { .. })))
        .collect();
    assert!(
        matches!(&acks[..], [Message::Control(Control::Ack { revision: r, .. })] if *r == revision),
        "answered from the moved record: {acks:?}"
    );
    assert_eq!(runtime.committed_records(), 0, "nothing applied twice");
    assert_eq!(
        runtime.hub().poll(&poll_id()).expect("served").revision,
        revision
    );
}

/// The host serves Olga's poll; Vera joined and voted there (acked). Returns Vera's vote
/// frame and the revision it was acked with.
fn vera_voted(runtime: &mut HubRuntime, now: u64) -> (String, starpoll_core::poll::Revision) {
    runtime.opened(VERA_AT_HOST, vera().peer_id().as_str(), now);
    let join = command(
        &vera(),
        20,
        Command::Join {
            display_name: "Vera".into(),
        },
    );
    let option = runtime.hub().poll(&poll_id()).expect("served").options[1].id;
    let ballot = command(&vera(), 21, vote(option));
    runtime.receive(VERA_AT_HOST, Incoming::Text(&join), now);
    runtime.receive(VERA_AT_HOST, Incoming::Text(&ballot), now);
    let perform = runtime.flush().expect("flush");
    let revision = on(&perform.sends, VERA_AT_HOST)
        .iter()
        .find_map(|t| match frame_type(t, &host()) {
            Message::Control(Control::Ack {
                command_id,
                revision,
            }) if command_id == CommandId::from_random_bytes([21; 16]) => Some(revision),
            _ => None,
        })
        .expect("the vote is acked");
    runtime.closed(VERA_AT_HOST);
    runtime.flush().expect("flush");
    (ballot, revision)
}

/// Olga asks the host for her poll back: the host freezes it and asks to dial her.
fn take_back(olga_hub: &mut Hub, runtime: &mut HubRuntime, now: u64) {
    let revision = runtime.hub().poll(&poll_id()).expect("served").revision;
    let (step, delegation) = olga_hub
        .sign_move(poll_id(), olga().peer_id().clone(), revision)
        .expect("signed");
    assert!(step.sends.is_empty());
    runtime.opened(OLGA_AT_HOST, olga().peer_id().as_str(), now);
    let request = seal(
        &olga(),
        &Control::Move {
            poll_id: poll_id(),
            delegation: delegation.text().to_owned(),
        }
        .into(),
    )
    .expect("seal");
    runtime.receive(OLGA_AT_HOST, Incoming::Text(&request), now);
    let perform = runtime.flush().expect("flush");
    assert_eq!(
        perform.dials,
        vec![olga().peer_id().clone()],
        "the host dials the owner's browser to hand the poll back"
    );
    assert!(runtime.hub().is_moving(&poll_id()));
}

/// Resends Vera's acked vote to a restarted host; returns what it answered.
fn resend(runtime: &mut HubRuntime, ballot: &str, now: u64) -> Vec<Message> {
    runtime.opened(VERA_AT_HOST, vera().peer_id().as_str(), now);
    runtime.receive(VERA_AT_HOST, Incoming::Text(ballot), now);
    let perform = runtime.flush().expect("flush");
    on(&perform.sends, VERA_AT_HOST)
        .iter()
        .map(|t| frame_type(t, &host()))
        .collect()
}

#[test]
fn a_host_killed_before_the_commit_point_of_a_take_back_still_serves_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut olga_hub, path) = moved_to_host(&dir);
    let mut runtime = start(&path);
    let (ballot, acked_at) = vera_voted(&mut runtime, NOW + 10);
    let before = runtime.hub().poll(&poll_id()).expect("served").clone();
    take_back(&mut olga_hub, &mut runtime, NOW + 11);
    // The dial to Olga opens; the host sends records and prepare; Olga prepares and answers,
    // but the host dies before it hears `hub:prepared`.
    olga_hub.opened(BACK, host().peer_id().as_str(), NOW + 12);
    runtime.dialed(BACK, olga().peer_id().as_str(), NOW + 12);
    let perform = runtime.flush().expect("flush");
    let transfer = on(&perform.sends, BACK);
    assert!(transfer.len() >= 2, "records, then prepare");
    for frame in &transfer {
        olga_hub.receive(BACK, Incoming::Text(frame), NOW + 13);
    }
    assert!(olga_hub.is_prepared(&poll_id()));
    drop(runtime);

    let mut runtime = start(&path);
    assert!(
        !runtime.hub().is_moving(&poll_id()),
        "the freeze was not kept"
    );
    assert_eq!(runtime.hub().moved_to(&poll_id()), None);
    assert_eq!(runtime.hub().poll(&poll_id()), Some(&before), "everything");
    let answer = resend(&mut runtime, &ballot, NOW + 20);
    assert!(
        answer.iter().any(|m| matches!(m,
            Message::Control(Control::Ack { revision, .. }) if *revision == acked_at)),
        "Vera's acked vote is answered from its record: {answer:?}"
    );
    assert_eq!(runtime.committed_records(), 0, "and not counted twice");
    assert_eq!(runtime.hub().poll(&poll_id()), Some(&before));
}

#[test]
fn a_poll_taken_back_from_the_host_restarts_as_moved_and_keeps_redirecting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut olga_hub, path) = moved_to_host(&dir);
    let mut runtime = start(&path);
    let (ballot, acked_at) = vera_voted(&mut runtime, NOW + 10);
    take_back(&mut olga_hub, &mut runtime, NOW + 11);
    olga_hub.opened(BACK, host().peer_id().as_str(), NOW + 12);
    runtime.dialed(BACK, olga().peer_id().as_str(), NOW + 12);
    let perform = runtime.flush().expect("flush");
    pump(
        &mut olga_hub,
        &mut runtime,
        BACK,
        Vec::new(),
        on(&perform.sends, BACK),
        NOW + 13,
    );
    let served = olga_hub.poll(&poll_id()).expect("Olga serves it again");
    assert!(
        served.members.contains_key(vera().peer_id()),
        "with Vera's membership and vote"
    );
    assert!(runtime.hub().poll(&poll_id()).is_none());
    assert!(runtime.hub().moved_to(&poll_id()).is_some());
    // Olga answers Vera's resend from the moved record.
    olga_hub.opened(ConnId(70), vera().peer_id().as_str(), NOW + 14);
    let step = olga_hub.receive(ConnId(70), Incoming::Text(&ballot), NOW + 14);
    assert!(
        on(&step.sends, ConnId(70)).iter().any(|t| matches!(
            frame_type(t, &olga()),
            Message::Control(Control::Ack { revision, .. }) if revision == acked_at)),
        "acked with its first revision at Olga's"
    );

    drop(runtime);
    let mut runtime = start(&path);
    assert!(runtime.hub().poll(&poll_id()).is_none(), "not served here");
    let redirect = |answer: &[Message]| {
        answer.iter().any(|m| {
            matches!(m,
            Message::Control(Control::Delegation { delegation, .. })
                if names(delegation) == *olga().peer_id())
        })
    };
    let answer = sync_answer(&mut runtime, NOW + 20);
    assert!(redirect(&answer), "a newcomer is sent to Olga: {answer:?}");
    runtime.closed(VERA_AT_HOST);
    let answer = resend(&mut runtime, &ballot, NOW + 21);
    assert!(redirect(&answer), "a resend too: {answer:?}");
    assert!(
        !answer
            .iter()
            .any(|m| matches!(m, Message::Control(Control::Ack { .. }))),
        "never answered here any more"
    );
    // Activation was acknowledged: nothing is dialed after the restart.
    runtime.wake(NOW + 30 + Limits::default().move_timeout_ms, || None);
    assert!(runtime.flush().expect("flush").dials.is_empty());
}

#[test]
fn a_host_killed_after_the_commit_point_dials_the_owner_again_to_activate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut olga_hub, path) = moved_to_host(&dir);
    let mut runtime = start(&path);
    take_back(&mut olga_hub, &mut runtime, NOW + 11);
    olga_hub.opened(BACK, host().peer_id().as_str(), NOW + 12);
    runtime.dialed(BACK, olga().peer_id().as_str(), NOW + 12);
    let perform = runtime.flush().expect("flush");
    let mut prepared = Vec::new();
    for frame in on(&perform.sends, BACK) {
        let step = olga_hub.receive(BACK, Incoming::Text(&frame), NOW + 13);
        prepared.extend(on(&step.sends, BACK));
    }
    for frame in &prepared {
        runtime.receive(BACK, Incoming::Text(frame), NOW + 14);
    }
    // The commit point is written; the host dies before `hub:activate` leaves.
    runtime.flush().expect("flush");
    drop(runtime);
    olga_hub.closed(BACK);
    assert!(olga_hub.poll(&poll_id()).is_none(), "prepared, not served");

    let mut runtime = start(&path);
    assert!(runtime.hub().moved_to(&poll_id()).is_some());
    runtime.wake(NOW + 20, || None);
    let perform = runtime.flush().expect("flush");
    assert_eq!(perform.dials, vec![olga().peer_id().clone()]);
    olga_hub.opened(BACK, host().peer_id().as_str(), NOW + 21);
    runtime.dialed(BACK, olga().peer_id().as_str(), NOW + 21);
    let perform = runtime.flush().expect("flush");
    pump(
        &mut olga_hub,
        &mut runtime,
        BACK,
        Vec::new(),
        on(&perform.sends, BACK),
        NOW + 22,
    );
    assert!(olga_hub.poll(&poll_id()).is_some(), "activated at Olga's");
    runtime.wake(NOW + 40 + Limits::default().move_timeout_ms, || None);
    assert!(
        runtime.flush().expect("flush").dials.is_empty(),
        "acknowledged: no more dials"
    );
}
