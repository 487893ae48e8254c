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

/// How a hub holds a poll it moved away to `hub` under a delegation of seq 1 (as the core writes
/// it at the commit point of a move).
fn moved_away(id: PollId, hub: u8, activated: bool) -> Hosting {
    let target = Identity::from_seed([hub; 32], PeerToken::from_random([hub; PeerToken::LEN]));
    let delegation = starpoll_core::delegation::SignedDelegation::sign(
        &owner(),
        id,
        target.peer_id().clone(),
        1,
        starpoll_core::poll::Revision(1),
    )
    .expect("signed");
    Hosting {
        state: starpoll_core::hub::HostingState::Moved { activated },
        chain: vec![delegation],
        highest_seq: 1,
    }
}

#[test]
fn hosting_rows_round_trip_and_the_last_one_of_a_poll_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut store = open(&dir);
        store
            .commit(&[
                Write::Hosting(pid(1), Box::new(moved_away(pid(1), 4, false))),
                Write::Hosting(pid(2), Box::new(moved_away(pid(2), 5, false))),
            ])
            .expect("commit");
        // The target acknowledged activation of poll 1 later.
        store
            .commit(&[Write::Hosting(
                pid(1),
                Box::new(moved_away(pid(1), 4, true)),
            )])
            .expect("commit");
    }
    let loaded = open(&dir).load_hosting().expect("load");
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[&pid(1)], moved_away(pid(1), 4, true));
    assert_eq!(loaded[&pid(2)], moved_away(pid(2), 5, false));
    assert_eq!(
        loaded[&pid(1)].chain[0].text(),
        moved_away(pid(1), 4, true).chain[0].text(),
        "the delegation is kept byte for byte"
    );
}

#[test]
fn deleting_a_poll_removes_its_hosting_row_and_only_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    store
        .commit(&[
            Write::Hosting(pid(1), Box::new(moved_away(pid(1), 4, true))),
            Write::Hosting(pid(2), Box::new(moved_away(pid(2), 4, true))),
        ])
        .expect("commit");
    store.commit(&[Write::DeletePoll(pid(1))]).expect("commit");
    let loaded = store.load_hosting().expect("load");
    assert_eq!(loaded.keys().copied().collect::<Vec<_>>(), vec![pid(2)]);
}

#[test]
fn a_deleted_poll_stays_deleted_after_reopening_and_a_restored_hub_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut hub, writes) = hub_with_votes(pid(1));
    let (_, other) = hub_with_votes(pid(2));
    {
        let mut store = open(&dir);
        store.commit(&writes).expect("commit");
        store.commit(&other).expect("commit");
        let deleted = hub.delete(pid(1));
        assert!(
            deleted
                .writes
                .iter()
                .any(|w| matches!(w, Write::Tombstone(id) if *id == pid(1))),
            "the core keeps the id of a deleted poll"
        );
        store.commit(&deleted.writes).expect("commit");
    }
    let store = open(&dir);
    assert_eq!(store.load_deleted().expect("deleted"), vec![pid(1)]);
    let loaded = store.load().expect("load");
    assert_eq!(loaded.len(), 1, "the deleted poll and its records are gone");
    assert_eq!(loaded[0].0.id, pid(2));
    let mut restored = Hub::new(owner(), Limits::default());
    restored.restore_deleted(store.load_deleted().expect("deleted"));
    assert!(restored.was_deleted(&pid(1)));
    assert!(!restored.was_deleted(&pid(2)));
}

#[test]
fn a_version_1_file_is_migrated_to_version_2_keeping_its_polls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("host.sqlite3");
    let (hub, writes) = hub_with_votes(pid(1));
    {
        // The schema the first host build wrote, with one poll and its records in it.
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(
            "CREATE TABLE polls (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
             CREATE TABLE records (
                 poll_id TEXT NOT NULL,
                 command_id TEXT NOT NULL,
                 body TEXT NOT NULL,
                 PRIMARY KEY (poll_id, command_id)
             ) WITHOUT ROWID;
             PRAGMA user_version = 1;",
        )
        .expect("v1 schema");
        let mut conn = conn;
        let tx = conn.transaction().expect("transaction");
        apply_v1(&tx, &writes);
        tx.commit().expect("commit");
    }
    let mut store = Store::open(&path).expect("migrated");
    assert_eq!(store.schema_version().expect("version"), 2);
    let loaded = store.load().expect("load");
    assert_eq!(&loaded[0].0, hub.poll(&pid(1)).expect("hosted"));
    assert_eq!(loaded[0].1.len(), 2);
    assert!(store.load_hosting().expect("hosting").is_empty());
    assert!(store.load_deleted().expect("deleted").is_empty());
    store
        .commit(&[
            Write::Hosting(pid(3), Box::new(moved_away(pid(3), 4, false))),
            Write::Tombstone(pid(4)),
        ])
        .expect("the new tables take writes");
    drop(store);
    let store = Store::open(&path).expect("reopened");
    assert_eq!(store.schema_version().expect("version"), 2);
    assert_eq!(store.load_hosting().expect("hosting").len(), 1);
    assert_eq!(store.load_deleted().expect("deleted"), vec![pid(4)]);
}

/// Writes polls and records the way a v1 build did (v1 had no hosting or deleted tables).
fn apply_v1(tx: &Transaction<'_>, writes: &[Write]) {
    for write in writes {
        match write {
            Write::Poll(poll) => {
                tx.execute(
                    "INSERT OR REPLACE INTO polls (id, body) VALUES (?1, ?2)",
                    params![
                        poll.id.to_string(),
                        serde_json::to_string(poll).expect("json")
                    ],
                )
                .expect("poll");
            }
            Write::Record(id, record) => {
                tx.execute(
                    "INSERT OR REPLACE INTO records (poll_id, command_id, body) VALUES (?1, ?2, ?3)",
                    params![
                        id.to_string(),
                        record.command_id.to_string(),
                        serde_json::to_string(record).expect("json")
                    ],
                )
                .expect("record");
            }
            other => panic!("not a v1 write: {other:?}"),
        }
    }
}

#[test]
fn a_damaged_hosting_row_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    store
        .conn
        .execute(
            "INSERT INTO hosting (poll_id, body) VALUES (?1, '{\"state\":\"nowhere\"}')",
            params![pid(1).to_string()],
        )
        .expect("insert");
    let error = store.load_hosting().expect_err("damaged");
    assert!(
        matches!(&error, StoreError::Corrupt { what: "hosting row", key, .. } if *key == pid(1).to_string()),
        "{error}"
    );
}
