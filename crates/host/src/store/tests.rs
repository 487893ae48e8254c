//! The SQLite store against the real hub's writes: round trips, deletion order, reopening, and a
//! crash before commit.

use super::*;
use starpoll_core::hub::{Hub, Limits, Step};
use starpoll_core::poll::{Command, CommandId, PollDraft, PollKind, Settings};
use starpoll_core::{Identity, PeerToken};

const NOW: u64 = 1_700_000_000_000;

fn owner() -> Identity {
    Identity::from_seed([7; 32], PeerToken::from_random([7; PeerToken::LEN]))
}

fn draft(title: &str) -> PollDraft {
    PollDraft {
        title: title.into(),
        description: String::new(),
        options: vec!["Pizza".into(), "Sushi".into()],
        kind: PollKind::Single,
        deadline: None,
        settings: Settings::default(),
        owner_name: "Olga".into(),
    }
}

fn cid(n: u8) -> CommandId {
    CommandId::from_random_bytes([n; 16])
}

fn pid(n: u8) -> PollId {
    PollId::from_random_bytes([n; 16])
}

/// A hub with one poll on which the owner voted (an applied record) and tried an invalid vote
/// (a refused record): every kind of `Write` but deletion.
fn hub_with_votes(id: PollId) -> (Hub, Vec<Write>) {
    let mut hub = Hub::new(owner(), Limits::default());
    let mut step = hub.create(id, draft("Lunch?"), NOW).expect("valid draft");
    let option = hub.poll(&id).expect("created").options[0].id;
    let (voted, _) = hub.local(
        id,
        cid(1),
        &Command::CastVote {
            option_ids: vec![option],
            answers: Default::default(),
        },
        NOW + 1,
    );
    step.extend(voted);
    let (refused, _) = hub.local(
        id,
        cid(2),
        &Command::CastVote {
            option_ids: vec![option, option],
            answers: Default::default(),
        },
        NOW + 2,
    );
    step.extend(refused);
    let Step { writes, .. } = step;
    (hub, writes)
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("host.sqlite3")).expect("open")
}

fn sorted(mut loaded: Vec<Hosted>) -> Vec<Hosted> {
    loaded.sort_by_key(|(poll, _)| poll.id);
    for (_, records) in &mut loaded {
        records.sort_by_key(|r| r.command_id);
    }
    loaded
}

#[test]
fn a_fresh_file_gets_the_current_schema_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert!(store.load().expect("load").is_empty());
}

#[test]
fn every_write_round_trips_and_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hub, writes) = hub_with_votes(pid(1));
    assert!(writes.iter().any(|w| matches!(w, Write::Poll(_))));
    let records: Vec<&ProcessedRecord> = writes
        .iter()
        .filter_map(|w| match w {
            Write::Record(_, r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(records.len(), 2, "one applied and one refused record");
    {
        let mut store = open(&dir);
        store.commit(&writes).expect("commit");
    }
    let loaded = sorted(open(&dir).load().expect("load"));
    assert_eq!(loaded.len(), 1);
    let (poll, stored) = &loaded[0];
    assert_eq!(poll, hub.poll(&pid(1)).expect("hosted"));
    let mut expected: Vec<ProcessedRecord> = records.into_iter().cloned().collect();
    expected.sort_by_key(|r| r.command_id);
    assert_eq!(stored, &expected);
    assert!(
        stored[0].frame.is_some() || stored[1].frame.is_some(),
        "the applied vote keeps its signed frame"
    );
}

#[test]
fn a_restored_hub_answers_a_resend_from_its_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hub, writes) = hub_with_votes(pid(1));
    open(&dir).commit(&writes).expect("commit");
    let mut restored = Hub::new(owner(), Limits::default());
    for (poll, records) in open(&dir).load().expect("load") {
        restored.restore(poll, records).expect("own poll");
    }
    let option = hub.poll(&pid(1)).expect("hosted").options[1].id;
    // The same command id again, even with another choice, is answered from the record.
    let (step, outcome) = restored.local(
        pid(1),
        cid(1),
        &Command::CastVote {
            option_ids: vec![option],
            answers: Default::default(),
        },
        NOW + 10,
    );
    assert!(step.writes.is_empty(), "a replay writes nothing");
    let first = writes
        .iter()
        .find_map(|w| match w {
            Write::Record(_, r) if r.command_id == cid(1) => Some(r.outcome.clone()),
            _ => None,
        })
        .expect("the first vote's record");
    assert!(matches!(first, starpoll_core::poll::Outcome::Acked { .. }));
    assert_eq!(outcome, Some(first), "the resend gets the first answer");
    assert_eq!(restored.poll(&pid(1)), hub.poll(&pid(1)));
}

#[test]
fn only_the_last_state_of_a_poll_in_a_batch_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hub, writes) = hub_with_votes(pid(1));
    let states = writes
        .iter()
        .filter(|w| matches!(w, Write::Poll(_)))
        .count();
    assert!(states >= 2, "creation and the vote both wrote the poll");
    let mut store = open(&dir);
    store.commit(&writes).expect("commit");
    let loaded = store.load().expect("load");
    assert_eq!(&loaded[0].0, hub.poll(&pid(1)).expect("hosted"));
}

#[test]
fn delete_removes_the_poll_and_its_records_written_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, first) = hub_with_votes(pid(1));
    let (_, other) = hub_with_votes(pid(2));
    let mut store = open(&dir);
    // Poll 1 committed earlier; in the next batch more of it, then its deletion.
    store.commit(&first).expect("commit");
    let mut batch = other.clone();
    batch.extend(first.iter().cloned());
    batch.push(Write::DeletePoll(pid(1)));
    store.commit(&batch).expect("commit");
    let loaded = sorted(store.load().expect("load"));
    assert_eq!(loaded.len(), 1, "poll 1 is gone");
    assert_eq!(loaded[0].0.id, pid(2), "other polls stay");
    assert_eq!(loaded[0].1.len(), 2, "with their records");
    let orphans: i64 = store
        .conn
        .query_row(
            "SELECT COUNT(*) FROM records WHERE poll_id = ?1",
            params![pid(1).to_string()],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(orphans, 0, "no record of the deleted poll is left");
}

#[test]
fn writes_after_a_delete_in_the_same_batch_stand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hub, writes) = hub_with_votes(pid(1));
    let mut batch = vec![Write::DeletePoll(pid(1))];
    batch.extend(writes);
    let mut store = open(&dir);
    store.commit(&batch).expect("commit");
    let loaded = store.load().expect("load");
    assert_eq!(loaded.len(), 1);
    assert_eq!(&loaded[0].0, hub.poll(&pid(1)).expect("hosted"));
    assert_eq!(loaded[0].1.len(), 2);
}

#[test]
fn a_crash_before_commit_loses_nothing_committed_and_keeps_nothing_uncommitted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, first) = hub_with_votes(pid(1));
    let (_, second) = hub_with_votes(pid(2));
    {
        let mut store = open(&dir);
        store.commit(&first).expect("commit");
        // The next batch is written into a transaction that never commits: the process dies.
        let tx = store.conn.transaction().expect("transaction");
        apply(&tx, &second).expect("writes");
        apply(&tx, &[Write::DeletePoll(pid(1))]).expect("delete");
        std::mem::forget(tx);
        // Dropping the connection (the process ending) without a commit.
    }
    let loaded = sorted(open(&dir).load().expect("load"));
    assert_eq!(loaded.len(), 1, "only the committed poll");
    assert_eq!(loaded[0].0.id, pid(1));
    assert_eq!(loaded[0].1.len(), 2, "with every committed record");
}

#[test]
fn a_damaged_row_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    store
        .conn
        .execute(
            "INSERT INTO polls (id, body) VALUES ('x', '{\"not\":\"a poll\"}')",
            [],
        )
        .expect("insert");
    let error = store.load().expect_err("damaged");
    assert!(
        matches!(&error, StoreError::Corrupt { key, .. } if key == "x"),
        "{error}"
    );
    let _ = store.commit(&[]);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("host.sqlite3");
    {
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("set version");
    }
    let error = Store::open(&path).err().expect("refused");
    assert!(matches!(error, StoreError::TooNew { found } if found == SCHEMA_VERSION + 1));
}
