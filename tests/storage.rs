//! Browser tests (wasm-bindgen-test, headless Chromium): the IndexedDB repository against the
//! browser's real IndexedDB.
#![cfg(target_arch = "wasm32")]
// Test code: a failed expectation is the test failing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use starpoll::identity;
use starpoll::storage::{Profile, Repository};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A database name of its own per test, deleted first so reruns start clean.
async fn fresh(name: &str) -> Repository {
    Repository::delete(name)
        .await
        .expect("delete test database");
    Repository::open(name).await.expect("open test database")
}

/// A database called `name` (deleted first) as an older version of the app created it: `version`
/// with just `stores`, for the upgrade tests.
async fn old_database(name: &str, version: u32, stores: &[&str]) -> rexie::Rexie {
    Repository::delete(name).await.expect("delete");
    stores
        .iter()
        .fold(rexie::Rexie::builder(name).version(version), |b, store| {
            b.add_object_store(rexie::ObjectStore::new(store))
        })
        .build()
        .await
        .expect("open the old version")
}

/// Poll number `n` of `owner`: "Lunch?", single choice between Pizza and Sushi.
fn lunch_poll(owner: &starpoll_core::Identity, n: u8) -> starpoll_core::poll::Poll {
    use starpoll_core::poll::{Poll, PollDraft, PollId, PollKind, Settings};
    let draft = PollDraft {
        title: "Lunch?".into(),
        description: String::new(),
        options: vec!["Pizza".into(), "Sushi".into()],
        kind: PollKind::Single,
        deadline: None,
        settings: Settings::default(),
        owner_name: "Olga".into(),
    };
    Poll::new(
        PollId::from_random_bytes([n; 16]),
        owner.peer_id().clone(),
        draft,
        1_700_000_000_000,
    )
    .expect("poll")
}

/// The record of `owner`'s command number `n`, acked at revision `n`.
fn acked_record(owner: &starpoll_core::Identity, n: u8) -> starpoll_core::poll::ProcessedRecord {
    use starpoll_core::poll::{CommandId, Outcome, ProcessedRecord, Revision};
    ProcessedRecord {
        command_id: CommandId::from_random_bytes([n; 16]),
        author: owner.peer_id().clone(),
        outcome: Outcome::Acked {
            revision: Revision(u64::from(n)),
        },
        frame: None,
    }
}

#[wasm_bindgen_test]
async fn identity_survives_closing_and_reopening_the_database() {
    let name = "test-identity-reopen";
    let repo = fresh(name).await;
    let created = identity::load_or_create(&repo)
        .await
        .expect("create identity");
    repo.close();

    let repo = Repository::open(name).await.expect("reopen");
    let stored = repo
        .identity()
        .await
        .expect("read identity")
        .expect("identity present");
    assert_eq!(stored.seed(), created.seed());
    assert_eq!(stored.token(), created.token());
    assert_eq!(stored.peer_id(), created.peer_id());

    // A second load reuses the stored identity instead of making a new one.
    let again = identity::load_or_create(&repo)
        .await
        .expect("load identity");
    assert_eq!(again.peer_id(), created.peer_id());
    repo.close();
}

#[wasm_bindgen_test]
async fn profile_round_trips() {
    let name = "test-profile";
    let repo = fresh(name).await;
    assert_eq!(repo.profile().await.expect("read"), Profile::default());
    let profile = Profile {
        display_name: "Grace <b>Hopper</b>".into(),
    };
    repo.save_profile(&profile).await.expect("save");
    repo.close();
    let repo = Repository::open(name).await.expect("reopen");
    assert_eq!(repo.profile().await.expect("read"), profile);
    repo.close();
}

#[wasm_bindgen_test]
async fn two_browsers_get_different_identities() {
    let a = fresh("test-identity-a").await;
    let b = fresh("test-identity-b").await;
    let ida = identity::load_or_create(&a).await.expect("a");
    let idb = identity::load_or_create(&b).await.expect("b");
    assert_ne!(ida.peer_id(), idb.peer_id());
    assert_ne!(ida.token(), idb.token());
}

#[wasm_bindgen_test]
async fn the_outbox_survives_closing_and_reopening_the_database() {
    use starpoll_core::outbox::OutboxRecord;
    use starpoll_core::poll::{Command, CommandId, OptionId, PollId};

    let name = "test-outbox-reopen";
    let repo = fresh(name).await;
    let poll = PollId::from_random_bytes([1; 16]);
    let other = PollId::from_random_bytes([2; 16]);
    let record = |poll_id, seq: u64, n: u8| OutboxRecord {
        poll_id,
        seq,
        command_id: CommandId::from_random_bytes([n; 16]),
        command: Command::CastVote {
            option_ids: [OptionId(u32::from(n))].into_iter().collect(),
            answers: Default::default(),
        },
    };
    // Written out of order, with another poll's record in between.
    for r in [
        record(poll, 2, 3),
        record(other, 0, 9),
        record(poll, 0, 1),
        record(poll, 1, 2),
    ] {
        repo.save_outbox(&r, &[]).await.expect("save");
    }
    repo.close();

    let repo = Repository::open(name).await.expect("reopen");
    let stored = repo.outbox(poll).await.expect("read");
    assert_eq!(
        stored,
        [record(poll, 0, 1), record(poll, 1, 2), record(poll, 2, 3)]
    );
    // Answered commands leave; deleting twice is harmless.
    let answered = CommandId::from_random_bytes([2; 16]);
    repo.delete_outbox(poll, &[answered]).await.expect("delete");
    repo.delete_outbox(poll, &[answered])
        .await
        .expect("delete again");
    repo.close();

    let repo = Repository::open(name).await.expect("reopen again");
    assert_eq!(
        repo.outbox(poll).await.expect("read"),
        [record(poll, 0, 1), record(poll, 2, 3)]
    );
    // A new command's record and the deletion of answered ones share one transaction.
    repo.save_outbox(
        &record(poll, 3, 4),
        &[
            CommandId::from_random_bytes([1; 16]),
            CommandId::from_random_bytes([3; 16]),
        ],
    )
    .await
    .expect("save and delete");
    repo.delete_outbox(poll, &[]).await.expect("delete nothing");
    assert_eq!(repo.outbox(poll).await.expect("read"), [record(poll, 3, 4)]);
    assert_eq!(
        repo.outbox(other).await.expect("read other"),
        [record(other, 0, 9)]
    );
    repo.close();
}

#[wasm_bindgen_test]
async fn settings_default_until_saved_then_survive_reopening() {
    use starpoll_core::settings::{IceServerForm, Settings};
    use starpoll_core::ServerConfig;

    let name = "test-settings";
    let repo = fresh(name).await;
    assert_eq!(repo.settings().await.expect("read"), Settings::default());
    let turn = IceServerForm {
        urls: "turn:turn.example.org:3478".into(),
        username: "u".into(),
        credential: "p".into(),
    }
    .parse(0)
    .expect("valid entry");
    let settings = Settings {
        server: Some(ServerConfig {
            port: 9312,
            ..ServerConfig::local()
        }),
        ice_servers: Some(vec![turn]),
    };
    repo.save_settings(&settings).await.expect("save");
    repo.close();
    let repo = Repository::open(name).await.expect("reopen");
    assert_eq!(repo.settings().await.expect("read"), settings);
    repo.close();
}

#[wasm_bindgen_test]
async fn upgrading_from_version_3_keeps_the_data() {
    use rexie::TransactionMode;
    use wasm_bindgen::JsValue;

    let name = "test-upgrade-v3";
    let v3 = old_database(
        name,
        3,
        &[
            "identity",
            "profile",
            "owned_polls",
            "processed",
            "joined",
            "outbox",
        ],
    )
    .await;
    let tx = v3
        .transaction(&["profile"], TransactionMode::ReadWrite)
        .expect("tx");
    let profile = js_sys::JSON::parse(
        &serde_json::to_string(&Profile {
            display_name: "Old".into(),
        })
        .expect("to json"),
    )
    .expect("to js");
    tx.store("profile")
        .expect("store")
        .put(&profile, Some(&JsValue::from_str("self")))
        .await
        .expect("put");
    tx.done().await.expect("commit");
    v3.close();

    let repo = Repository::open(name).await.expect("upgrade to v4");
    assert_eq!(repo.profile().await.expect("read").display_name, "Old");
    assert_eq!(
        repo.settings().await.expect("read"),
        starpoll_core::settings::Settings::default()
    );
    repo.close();
}

#[wasm_bindgen_test]
async fn replacing_the_identity_clears_its_data_and_keeps_the_settings() {
    use starpoll::storage::{DataSummary, JoinedPoll};
    use starpoll_core::outbox::OutboxRecord;
    use starpoll_core::poll::{Command, CommandId, OptionId, PollId};
    use starpoll_core::settings::Settings;
    use starpoll_core::ServerConfig;

    let name = "test-replace-identity";
    let repo = fresh(name).await;
    let old = identity::load_or_create(&repo).await.expect("create");
    repo.save_profile(&Profile {
        display_name: "Old me".into(),
    })
    .await
    .expect("profile");
    let poll = PollId::from_random_bytes([5; 16]);
    repo.save_joined(&JoinedPoll {
        owner: identity::generate().expect("owner").peer_id().clone(),
        poll_id: poll,
        view: None,
        saved_at: 1,
        delegation: None,
    })
    .await
    .expect("joined");
    repo.save_outbox(
        &OutboxRecord {
            poll_id: poll,
            seq: 0,
            command_id: CommandId::from_random_bytes([1; 16]),
            command: Command::CastVote {
                option_ids: [OptionId(0)].into_iter().collect(),
                answers: Default::default(),
            },
        },
        &[],
    )
    .await
    .expect("outbox");
    let settings = Settings {
        server: Some(ServerConfig::public_cloud()),
        ice_servers: Some(Vec::new()),
    };
    repo.save_settings(&settings).await.expect("settings");
    assert_eq!(
        repo.data_summary().await.expect("count"),
        DataSummary {
            owned_polls: 0,
            joined_polls: 1,
            unsent_commands: 1
        }
    );

    let new = identity::generate().expect("new identity");
    repo.replace_identity(&new).await.expect("replace");
    repo.close();

    let repo = Repository::open(name).await.expect("reopen");
    let stored = repo.identity().await.expect("read").expect("present");
    assert_eq!(stored.peer_id(), new.peer_id());
    assert_ne!(stored.peer_id(), old.peer_id());
    assert_eq!(stored.token(), new.token());
    assert_eq!(repo.profile().await.expect("profile"), Profile::default());
    assert!(repo.joined_polls().await.expect("joined").is_empty());
    assert!(repo.outbox(poll).await.expect("outbox").is_empty());
    assert_eq!(
        repo.data_summary().await.expect("count"),
        DataSummary::default()
    );
    assert_eq!(repo.settings().await.expect("settings"), settings);
    // Loading the identity now returns the new one rather than making another.
    let loaded = identity::load_or_create(&repo).await.expect("load");
    assert_eq!(loaded.peer_id(), new.peer_id());
    repo.close();
}

#[wasm_bindgen_test]
async fn deleting_a_poll_removes_it_and_only_its_records_in_one_commit() {
    use starpoll_core::hub::Write;
    use starpoll_core::{Identity, PeerToken};

    let name = "test-delete-poll";
    let repo = fresh(name).await;
    let owner = Identity::from_seed([1; 32], PeerToken::from_random([1; PeerToken::LEN]));
    let record = |n: u8| acked_record(&owner, n);
    let (doomed, kept) = (lunch_poll(&owner, 1), lunch_poll(&owner, 2));
    repo.commit(&[
        Write::Poll(Box::new(doomed.clone())),
        Write::Record(doomed.id, record(1)),
        Write::Record(doomed.id, record(2)),
        Write::Poll(Box::new(kept.clone())),
        Write::Record(kept.id, record(3)),
    ])
    .await
    .expect("commit");
    // A record written in the same batch before the deletion goes too.
    repo.commit(&[
        Write::Record(doomed.id, record(4)),
        Write::DeletePoll(doomed.id),
        Write::Tombstone(doomed.id),
    ])
    .await
    .expect("commit the deletion");
    repo.close();

    let repo = Repository::open(name).await.expect("reopen");
    let hosted = repo.hosted_polls().await.expect("read");
    assert_eq!(hosted, [(kept, vec![record(3)])]);
    // The deleted poll's id is kept (its participants hear `poll-deleted`), the other's not.
    assert_eq!(repo.deleted_polls().await.expect("tombstones"), [doomed.id]);
    repo.close();
}

#[wasm_bindgen_test]
async fn joined_polls_are_keyed_by_owner_and_poll() {
    use starpoll::storage::JoinedPoll;
    use starpoll_core::poll::PollId;

    let name = "test-joined-keys";
    let repo = fresh(name).await;
    let poll = PollId::from_random_bytes([7; 16]);
    let ann = identity::generate().expect("ann").peer_id().clone();
    let bob = identity::generate().expect("bob").peer_id().clone();
    let joined = |owner: &starpoll_core::PeerId, saved_at| JoinedPoll {
        owner: owner.clone(),
        poll_id: poll,
        view: None,
        saved_at,
        delegation: None,
    };
    // The same poll ID at two owners: two joined polls, neither replacing the other.
    repo.save_joined(&joined(&ann, 1)).await.expect("ann's");
    repo.save_joined(&joined(&bob, 2)).await.expect("bob's");
    let mut owners: Vec<_> = repo
        .joined_polls()
        .await
        .expect("read")
        .into_iter()
        .map(|j| j.owner)
        .collect();
    owners.sort();
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(owners, expected);
    assert_eq!(
        repo.joined(&bob, poll).await.expect("read"),
        Some(joined(&bob, 2))
    );
    // Leaving one keeps the other.
    repo.leave(&ann, poll).await.expect("leave");
    assert_eq!(repo.joined(&ann, poll).await.expect("read"), None);
    assert_eq!(
        repo.joined_polls().await.expect("read"),
        vec![joined(&bob, 2)]
    );
    repo.close();
}

#[wasm_bindgen_test]
async fn hostings_round_trip_and_go_with_their_poll() {
    use starpoll_core::delegation::SignedDelegation;
    use starpoll_core::hub::{Hosting, HostingState, Write};
    use starpoll_core::poll::{PollId, Revision};
    use starpoll_core::{Identity, PeerToken};

    let name = "test-hostings";
    let repo = fresh(name).await;
    let owner = Identity::from_seed([1; 32], PeerToken::from_random([1; PeerToken::LEN]));
    let hub = Identity::from_seed([2; 32], PeerToken::from_random([2; PeerToken::LEN]));
    let hosting = |n: u8, state: HostingState| {
        let id = PollId::from_random_bytes([n; 16]);
        let d = SignedDelegation::sign(&owner, id, hub.peer_id().clone(), 1, Revision(3))
            .expect("sign");
        (
            id,
            Hosting {
                state,
                chain: vec![d],
                highest_seq: 1,
            },
        )
    };
    let (served, served_h) = hosting(1, HostingState::Serving);
    let (moved, moved_h) = hosting(2, HostingState::Moved { activated: false });
    let (later, later_h) = hosting(3, HostingState::Moved { activated: true });
    repo.commit(&[
        Write::Hosting(served, Box::new(served_h.clone())),
        Write::Hosting(moved, Box::new(moved_h.clone())),
        // A poll that moves away: deleted, then its hosting written in the same batch (stands).
        Write::DeletePoll(later),
        Write::Hosting(later, Box::new(later_h.clone())),
    ])
    .await
    .expect("commit");
    repo.close();

    let repo = Repository::open(name).await.expect("reopen");
    let stored = repo.hostings().await.expect("read");
    assert_eq!(stored.get(&served), Some(&served_h));
    assert_eq!(stored.get(&moved), Some(&moved_h));
    assert_eq!(stored.get(&later), Some(&later_h));
    // Deleting a poll deletes its hosting in the same transaction.
    repo.commit(&[Write::DeletePoll(served)])
        .await
        .expect("delete");
    let stored = repo.hostings().await.expect("read again");
    assert_eq!(stored.len(), 2);
    assert!(!stored.contains_key(&served));
    repo.close();
}

#[wasm_bindgen_test]
async fn upgrading_from_version_5_keeps_joined_polls_and_tombstones() {
    use rexie::TransactionMode;
    use starpoll::storage::JoinedPoll;
    use starpoll_core::poll::PollId;
    use wasm_bindgen::JsValue;

    let name = "test-upgrade-v5";
    // The v5 schema: every store but `hosting`.
    let v5 = old_database(
        name,
        5,
        &[
            "identity",
            "profile",
            "owned_polls",
            "processed",
            "joined",
            "outbox",
            "settings",
            "deleted_polls",
        ],
    )
    .await;
    let owner = identity::generate().expect("owner").peer_id().clone();
    let joined_id = PollId::from_random_bytes([5; 16]);
    let deleted_id = PollId::from_random_bytes([6; 16]);
    let joined = JoinedPoll {
        owner: owner.clone(),
        poll_id: joined_id,
        view: None,
        saved_at: 42,
        delegation: None,
    };
    // A v5 record has no `delegation` field; the check below proves the JSON is of that shape.
    let record = serde_json::to_string(&joined).expect("json");
    assert!(!record.contains("delegation"));
    let tx = v5
        .transaction(&["joined", "deleted_polls"], TransactionMode::ReadWrite)
        .expect("tx");
    tx.store("joined")
        .expect("store")
        .put(
            &JsValue::from_str(&record),
            Some(&JsValue::from_str(&format!("{owner}/{joined_id}"))),
        )
        .await
        .expect("put joined");
    let deleted = JsValue::from_str(&deleted_id.to_string());
    tx.store("deleted_polls")
        .expect("store")
        .put(&deleted, Some(&deleted))
        .await
        .expect("put tombstone");
    tx.done().await.expect("commit");
    v5.close();

    let repo = Repository::open(name).await.expect("upgrade to v6");
    assert_eq!(repo.joined_polls().await.expect("read"), vec![joined]);
    assert_eq!(repo.deleted_polls().await.expect("read"), vec![deleted_id]);
    // The new store exists and starts empty.
    assert!(repo.hostings().await.expect("read").is_empty());
    repo.close();
}

#[wasm_bindgen_test]
async fn command_records_in_the_old_one_per_row_shape_load_with_the_new_rows() {
    use rexie::TransactionMode;
    use starpoll_core::hub::Write;
    use starpoll_core::{Identity, PeerToken};
    use wasm_bindgen::JsValue;

    let name = "test-record-rows";
    let owner = Identity::from_seed([3; 32], PeerToken::from_random([3; PeerToken::LEN]));
    let poll = lunch_poll(&owner, 8);
    let record = |n: u8| acked_record(&owner, n);
    // A poll and one record as a build before session 10 stored them: one row per record.
    let repo = fresh(name).await;
    repo.commit(&[Write::Poll(Box::new(poll.clone()))])
        .await
        .expect("commit the poll");
    repo.close();
    let raw = rexie::Rexie::builder(name).build().await.expect("open raw");
    let tx = raw
        .transaction(&["processed"], TransactionMode::ReadWrite)
        .expect("tx");
    let old_row = format!(
        r#"{{"pollId":"{}","record":{{"commandId":"{}","author":"{}","outcome":{{"outcome":"acked","revision":1}}}}}}"#,
        poll.id,
        record(1).command_id,
        owner.peer_id()
    );
    tx.store("processed")
        .expect("store")
        .put(
            &JsValue::from_str(&old_row),
            Some(&JsValue::from_str(&format!(
                "{}/{}",
                poll.id,
                record(1).command_id
            ))),
        )
        .await
        .expect("put old row");
    tx.done().await.expect("commit");
    raw.close();

    // Two commits now: each one's records of the poll are one row.
    let repo = Repository::open(name).await.expect("reopen");
    repo.commit(&[
        Write::Record(poll.id, record(2)),
        Write::Record(poll.id, record(3)),
    ])
    .await
    .expect("commit two records");
    repo.commit(&[Write::Record(poll.id, record(4))])
        .await
        .expect("commit one record");
    let mut hosted = repo.hosted_polls().await.expect("read");
    assert_eq!(hosted.len(), 1);
    let (loaded, mut records) = hosted.remove(0);
    assert_eq!(loaded, poll);
    records.sort_by_key(|r| r.command_id);
    let mut expected = vec![record(1), record(2), record(3), record(4)];
    expected.sort_by_key(|r| r.command_id);
    assert_eq!(records, expected);
    repo.close();
}
