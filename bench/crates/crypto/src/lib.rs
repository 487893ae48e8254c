//! B7 baseline: ed25519 sign/verify with `starpoll_core`, the same code the app uses, timed the
//! same way natively (`src/main.rs`) and in the browser (`run`, exported with wasm-bindgen).
//!
//! Metrics, each a list with one mean per repetition, in microseconds per operation:
//! - `sign_us`: [`Identity::sign`] of a fixed 200-byte message (primary metric);
//! - `verify_us`: [`PeerId::verify`] of that message and signature (strict verification, as the
//!   app does for every frame; includes decoding the public key, as the app does);
//! - `seal_us` / `open_us`: [`protocol::seal`] / [`protocol::open_from`] of a `poll:vote`
//!   command frame (JSON encode/decode + sign/verify: the per-frame cost on the wire).
//!
//! Inputs are fixed (seed, token, ids, message), so both runs do the same work.

use std::hint::black_box;

use starpoll_core::poll::{Command, CommandId, OptionId, PollId};
use starpoll_core::protocol::{self, CommandFrame, Message};
use starpoll_core::{Identity, PeerToken};

/// Length of the signed message for `sign_us` / `verify_us`.
pub const MESSAGE_BYTES: usize = 200;

/// The fixed identity every run signs with.
pub fn identity() -> Identity {
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    Identity::from_seed(seed, PeerToken::from_random([7; PeerToken::LEN]))
}

/// The fixed 200-byte message: a vote-shaped JSON body, padded with spaces.
pub fn message() -> Vec<u8> {
    let body = br#"{"v":1,"type":"poll:vote","optionIds":[1,3],"pollId":"0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b","commandId":"abababab-abab-4bab-abab-abababababab","#;
    let mut out = body.to_vec();
    out.resize(MESSAGE_BYTES - 1, b' ');
    out.push(b'}');
    out
}

/// The fixed `poll:vote` command frame for `seal_us` / `open_us`.
pub fn vote() -> Message {
    Message::Command(CommandFrame {
        command: Command::CastVote {
            option_ids: vec![OptionId(1), OptionId(3)],
            answers: Default::default(),
        },
        poll_id: PollId::from_random_bytes([0x0b; 16]),
        command_id: CommandId::from_random_bytes([0xab; 16]),
    })
}

/// Runs `reps` timed repetitions of `iterations` operations per metric (after one untimed
/// warm-up), reading the clock with `now_ms` (milliseconds), and returns the JSON report.
///
/// Panics if a signature fails to verify or a frame fails to open (the benchmark would be wrong).
pub fn run_with(iterations: u32, reps: u32, mut now_ms: impl FnMut() -> f64) -> String {
    let iterations = iterations.max(1);
    let identity = identity();
    let peer = identity.peer_id().clone();
    let msg = message();
    let sig = identity.sign(&msg);
    let vote = vote();
    let frame = match protocol::seal(&identity, &vote) {
        Ok(frame) => frame,
        Err(err) => panic!("seal failed: {err}"),
    };

    let mut sign_us = Vec::new();
    let mut verify_us = Vec::new();
    let mut seal_us = Vec::new();
    let mut open_us = Vec::new();
    // Rep 0 is the warm-up (lets the browser tier the wasm up), not reported.
    for rep in 0..=reps {
        let n = if rep == 0 {
            iterations.min(200)
        } else {
            iterations
        };
        let mean = |start: f64, end: f64| (end - start) * 1000.0 / f64::from(n);

        let start = now_ms();
        for _ in 0..n {
            black_box(identity.sign(black_box(&msg)));
        }
        let sign = mean(start, now_ms());

        let start = now_ms();
        for _ in 0..n {
            let ok = black_box(&peer).verify(black_box(&msg), black_box(&sig));
            assert!(ok.is_ok(), "signature did not verify");
        }
        let verify = mean(start, now_ms());

        let start = now_ms();
        for _ in 0..n {
            let sealed = black_box(protocol::seal(black_box(&identity), black_box(&vote)));
            assert!(sealed.is_ok(), "seal failed");
        }
        let seal = mean(start, now_ms());

        let start = now_ms();
        for _ in 0..n {
            let opened = black_box(protocol::open_from(black_box(&frame), black_box(&peer)));
            assert!(opened.is_ok(), "frame did not open");
        }
        let open = mean(start, now_ms());

        if rep > 0 {
            sign_us.push(sign);
            verify_us.push(verify);
            seal_us.push(seal);
            open_us.push(open);
        }
    }

    format!(
        "{{\"sign_us\":{},\"verify_us\":{},\"seal_us\":{},\"open_us\":{},\
         \"iterations\":{iterations},\"reps\":{reps},\"message_bytes\":{},\"frame_bytes\":{}}}",
        list(&sign_us),
        list(&verify_us),
        list(&seal_us),
        list(&open_us),
        msg.len(),
        frame.len(),
    )
}

fn list(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
    format!("[{}]", items.join(","))
}

/// Browser entry point: `run(iterations, reps)` returns the JSON report, timed with
/// `performance.now()` (or `Date.now()` where there is no `window`).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn run(iterations: u32, reps: u32) -> String {
    let performance = web_sys::window().and_then(|w| w.performance());
    run_with(iterations, reps, move || match &performance {
        Some(p) => p.now(),
        None => js_sys::Date::now(),
    })
}

pub mod nacl;

/// `nacl.sign.keyPair.fromSeed(seed).publicKey` for the light clients (see [`nacl`]).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn nacl_public_key(seed: &[u8]) -> Vec<u8> {
    nacl::public_key(seed)
}

/// `nacl.sign.detached(message, secretKey)` for the light clients (see [`nacl`]).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn nacl_sign(message: &[u8], secret_key: &[u8]) -> Vec<u8> {
    nacl::sign(message, secret_key)
}

/// `nacl.sign.detached.verify(message, signature, publicKey)` for the light clients.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn nacl_verify(message: &[u8], signature: &[u8], public_key: &[u8]) -> bool {
    nacl::verify(message, signature, public_key)
}
