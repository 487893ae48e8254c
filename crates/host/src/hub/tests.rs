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
