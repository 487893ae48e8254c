//! Browser tests (wasm-bindgen-test, headless Chromium): the hub's signature checker, a real
//! Web Worker checking with the browser's own WebCrypto Ed25519.
#![cfg(target_arch = "wasm32")]
// Test code: a failed expectation is the test failing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use starpoll::hub::checker::{Answer, Checker};
use starpoll_core::hub::checks::BatchId;
use starpoll_core::protocol::{seal, Control, ErrorCode, Message, SignatureJob};
use starpoll_core::{Identity, PeerToken};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn identity(n: u8) -> Identity {
    Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN]))
}

fn message(text: &str) -> Message {
    Control::Error {
        command_id: None,
        poll_id: None,
        code: ErrorCode::BadJson,
        message: text.into(),
    }
    .into()
}

/// What a checker answered so far, and the way to wait for more.
#[derive(Default, Clone)]
struct Answers {
    got: Rc<RefCell<Vec<Answer>>>,
    wake: Rc<RefCell<Option<Function>>>,
}

impl Answers {
    /// Waits until the checker has answered `n` times; all its answers.
    async fn until(&self, n: usize) -> Vec<Answer> {
        while self.got.borrow().len() < n {
            let waker = self.wake.clone();
            JsFuture::from(Promise::new(&mut |resolve, _| {
                *waker.borrow_mut() = Some(resolve);
            }))
            .await
            .unwrap();
        }
        self.got.borrow().clone()
    }
}

/// Starts a checker whose answers are collected.
fn start() -> (Checker, Answers) {
    let answers = Answers::default();
    let into = answers.clone();
    let checker = Checker::start(move |answer| {
        into.got.borrow_mut().push(answer);
        if let Some(wake) = into.wake.borrow_mut().take() {
            wake.call0(&JsValue::NULL).unwrap();
        }
    })
    .expect("a worker starts");
    (checker, answers)
}

#[wasm_bindgen_test]
async fn the_worker_passes_good_signatures_and_nothing_else() {
    let (alice, bob) = (identity(2), identity(3));
    let good = seal(&alice, &message("one")).unwrap();
    let also_good = seal(&bob, &message("two")).unwrap();
    // The same signature over another body: the gate cannot tell, the check must.
    let tampered = good.replace("one", "eno");
    let jobs = [
        SignatureJob::of(&good, alice.peer_id()).unwrap(),
        SignatureJob::of(&tampered, alice.peer_id()).unwrap(),
        SignatureJob::of(&also_good, bob.peer_id()).unwrap(),
    ];
    let (checker, answers) = start();
    checker
        .send(BatchId(7), &jobs.iter().collect::<Vec<_>>())
        .unwrap();
    // A second batch from the same signer (its imported key is reused).
    let again = seal(&alice, &message("three")).unwrap();
    let job = SignatureJob::of(&again, alice.peer_id()).unwrap();
    checker.send(BatchId(8), &[&job]).unwrap();
    let mut got = answers.until(2).await;
    got.sort_by_key(|a| match a {
        Answer::Checked(b, _) => b.0,
        Answer::Gone(_) => u64::MAX,
    });
    assert_eq!(
        got,
        [
            Answer::Checked(BatchId(7), vec![true, false, true]),
            Answer::Checked(BatchId(8), vec![true]),
        ]
    );
}

#[wasm_bindgen_test]
async fn a_burst_of_a_thousand_is_answered_in_order() {
    let alice = identity(4);
    let frames: Vec<String> = (0..1000)
        .map(|n| seal(&alice, &message(&format!("vote {n}"))).unwrap())
        .collect();
    let jobs: Vec<SignatureJob> = frames
        .iter()
        .enumerate()
        .map(|(n, frame)| {
            // Every seventh frame's body altered after signing.
            let frame = if n % 7 == 3 {
                frame.replace("vote", "VOTE")
            } else {
                frame.clone()
            };
            SignatureJob::of(&frame, alice.peer_id()).unwrap()
        })
        .collect();
    let (checker, answers) = start();
    checker
        .send(BatchId(1), &jobs.iter().collect::<Vec<_>>())
        .unwrap();
    let got = answers.until(1).await;
    let expected: Vec<bool> = (0..1000).map(|n| n % 7 != 3).collect();
    assert_eq!(got, [Answer::Checked(BatchId(1), expected)]);
}
