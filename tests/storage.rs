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
        },
    };
    // Written out of order, with another poll's record in between.
    for r in [
        record(poll, 2, 3),
        record(other, 0, 9),
        record(poll, 0, 1),
        record(poll, 1, 2),
    ] {
        repo.save_outbox(&r).await.expect("save");
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
    repo.delete_outbox(poll, answered).await.expect("delete");
    repo.delete_outbox(poll, answered)
        .await
        .expect("delete again");
    repo.close();

    let repo = Repository::open(name).await.expect("reopen again");
    assert_eq!(
        repo.outbox(poll).await.expect("read"),
        [record(poll, 0, 1), record(poll, 2, 3)]
    );
    assert_eq!(
        repo.outbox(other).await.expect("read other"),
        [record(other, 0, 9)]
    );
    repo.close();
}

#[wasm_bindgen_test]
async fn deleting_a_poll_removes_it_and_only_its_records_in_one_commit() {
    use starpoll_core::hub::Write;
    use starpoll_core::poll::{
        CommandId, Outcome, Poll, PollDraft, PollId, PollKind, ProcessedRecord, Revision, Settings,
    };
    use starpoll_core::{Identity, PeerToken};

    let name = "test-delete-poll";
    let repo = fresh(name).await;
    let owner = Identity::from_seed([1; 32], PeerToken::from_random([1; PeerToken::LEN]));
    let draft = PollDraft {
        title: "Lunch?".into(),
        description: String::new(),
        options: vec!["Pizza".into(), "Sushi".into()],
        kind: PollKind::Single,
        deadline: None,
        settings: Settings::default(),
        owner_name: "Olga".into(),
    };
    let make = |n: u8| {
        Poll::new(
            PollId::from_random_bytes([n; 16]),
            owner.peer_id().clone(),
            draft.clone(),
            1_700_000_000_000,
        )
        .expect("poll")
    };
    let record = |n: u8| ProcessedRecord {
        command_id: CommandId::from_random_bytes([n; 16]),
        author: owner.peer_id().clone(),
        outcome: Outcome::Acked {
            revision: Revision(u64::from(n)),
        },
        frame: None,
    };
    let (doomed, kept) = (make(1), make(2));
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
    ])
    .await
    .expect("commit the deletion");
    repo.close();

    let repo = Repository::open(name).await.expect("reopen");
    let hosted = repo.hosted_polls().await.expect("read");
    assert_eq!(hosted, [(kept, vec![record(3)])]);
    repo.close();
}
