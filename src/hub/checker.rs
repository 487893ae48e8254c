//! Checks frames' signatures in a Web Worker with the browser's own Ed25519 (WebCrypto), off
//! the page's thread: the hub runtime's checker for [`starpoll_core::hub::checks`].
//!
//! The worker's script is `checker.js` (next to this file), started from a `blob:` URL made
//! from its text, so it needs no file of its own on the server or in the offline cache. A
//! batch of [`SignatureJob`]s goes out as one message of packed bytes; the answer is one byte
//! per job. What the checker answers only ever saves the hub a check: a job it did not pass is
//! checked by the hub machine itself, and so is every job of a batch it never answers (the
//! runtime expires those) or of a checker that failed ([`Answer::Gone`]).

use js_sys::{Array, Object, Reflect, Uint32Array, Uint8Array};
use starpoll_core::hub::checks::BatchId;
use starpoll_core::protocol::SignatureJob;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, MessageEvent, Url, Worker};

use crate::error::JsError;

/// The worker's script.
const SCRIPT: &str = include_str!("checker.js");

/// What the worker reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A batch's answers, one per job in the order sent (`true`: the signature verifies).
    Checked(BatchId, Vec<bool>),
    /// The worker cannot check (no Ed25519 in this browser's WebCrypto, or it failed): stop
    /// using it; the hub checks everything itself.
    Gone(String),
}

/// A running worker (see the module docs). Dropping it stops the worker.
pub struct Checker {
    worker: Worker,
    url: String,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Checker {
    /// Starts the worker; its answers go to `on_answer`.
    pub fn start(on_answer: impl Fn(Answer) + 'static) -> Result<Self, JsError> {
        let parts = Array::of1(&JsValue::from_str(SCRIPT));
        let options = BlobPropertyBag::new();
        options.set_type("text/javascript");
        let blob = Blob::new_with_str_sequence_and_options(&parts, &options)?;
        let url = Url::create_object_url_with_blob(&blob)?;
        let worker = match Worker::new(&url) {
            Ok(worker) => worker,
            Err(e) => {
                // Nothing else holds the URL.
                let _ = Url::revoke_object_url(&url);
                return Err(e.into());
            }
        };
        let on_answer = std::rc::Rc::new(on_answer);
        let answer = on_answer.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            answer(read_answer(&event.data()));
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let why = event
                .dyn_ref::<web_sys::ErrorEvent>()
                .map_or_else(|| "the worker failed".to_string(), |e| e.message());
            on_answer(Answer::Gone(why));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            worker,
            url,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Sends a batch of jobs (packed: see `checker.js`).
    pub fn send(&self, batch: BatchId, jobs: &[&SignatureJob]) -> Result<(), JsError> {
        let signers = Array::new();
        let mut keys = Vec::with_capacity(32 * jobs.len());
        let mut sigs = Vec::with_capacity(64 * jobs.len());
        let mut bodies = Vec::new();
        let mut ends = Vec::with_capacity(jobs.len());
        for job in jobs {
            signers.push(&JsValue::from_str(job.signer().as_str()));
            keys.extend_from_slice(&job.signer().public_key());
            sigs.extend_from_slice(&job.signature());
            bodies.extend_from_slice(job.message());
            // Frames are at most 256 KiB and a batch is one burst: far below u32::MAX.
            ends.push(u32::try_from(bodies.len()).unwrap_or(u32::MAX));
        }
        let message = Object::new();
        // Batch ids count up from 0 in one tab: exact as an f64 for any realistic run.
        #[allow(clippy::cast_precision_loss)]
        let id = JsValue::from_f64(batch.0 as f64);
        let bodies = Uint8Array::from(bodies.as_slice());
        let transfer = Array::of1(&bodies.buffer());
        for (name, value) in [
            ("id", id),
            ("signers", signers.into()),
            ("keys", Uint8Array::from(keys.as_slice()).into()),
            ("sigs", Uint8Array::from(sigs.as_slice()).into()),
            ("bodies", bodies.into()),
            ("ends", Uint32Array::from(ends.as_slice()).into()),
        ] {
            Reflect::set(&message, &JsValue::from_str(name), &value)?;
        }
        self.worker
            .post_message_with_transfer(&message, &transfer)?;
        Ok(())
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.worker.terminate();
        // Nothing to do if the URL is already gone.
        let _ = Url::revoke_object_url(&self.url);
    }
}

/// Reads one message from the worker (anything malformed means the worker cannot be trusted
/// to answer: [`Answer::Gone`]).
fn read_answer(data: &JsValue) -> Answer {
    let field = |name: &str| Reflect::get(data, &JsValue::from_str(name)).ok();
    if let Some(why) = field("unsupported").and_then(|v| v.as_string()) {
        return Answer::Gone(format!("no Ed25519 in this browser's WebCrypto: {why}"));
    }
    let id = field("id").and_then(|v| v.as_f64());
    let ok = field("ok").and_then(|v| v.dyn_into::<Uint8Array>().ok());
    match (id, ok) {
        // Ids are whole numbers this side sent.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        (Some(id), Some(ok)) if id >= 0.0 && id.fract() == 0.0 => Answer::Checked(
            BatchId(id as u64),
            ok.to_vec().into_iter().map(|b| b == 1).collect(),
        ),
        _ => Answer::Gone("the worker answered something unreadable".into()),
    }
}
