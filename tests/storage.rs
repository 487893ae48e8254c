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
