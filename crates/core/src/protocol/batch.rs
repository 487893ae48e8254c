//! Batches: several frames in one data-channel message (PROTOCOL.md §2.8).
//!
//! A participant that asks for a binding with `batches: true` takes, on that connection, a
//! message that is a JSON array of frames, `[frame,frame,…]`, and opens each element in order as
//! if it had arrived alone. The hub joins the frames it sends one connection at one time
//! ([`join`]) so a burst of 1,000 acks and events costs a few dozen messages instead of 2,000:
//! each message has a fixed cost on both sides (the browser's send, the data channel, the
//! receiver's event and its call into WebAssembly).

use std::rc::Rc;

use serde_json::value::RawValue;

use super::{envelope, ProtocolError};

/// The largest batch [`join`] makes, in bytes (a frame larger than this goes alone).
pub const BATCH_BYTES_MAX: usize = 64 * 1024;

/// Whether a message is a batch rather than a single frame (a frame is a JSON object).
pub fn is_batch(text: &str) -> bool {
    text.trim_start().starts_with('[')
}

/// Joins `frames` (each a frame's JSON text, in sending order) into as few messages as
/// [`BATCH_BYTES_MAX`] allows, keeping their order. A lone frame stays as it is.
pub fn join(frames: Vec<Rc<str>>) -> Vec<Rc<str>> {
    if frames.len() < 2 {
        return frames;
    }
    let mut out = Vec::new();
    let mut group: Vec<Rc<str>> = Vec::new();
    let mut size = 0;
    for frame in frames {
        // `[`, `]` and one `,` per frame.
        if !group.is_empty() && size + frame.len() + 2 > BATCH_BYTES_MAX {
            out.push(message(std::mem::take(&mut group)));
            size = 0;
        }
        size += frame.len() + 1;
        group.push(frame);
    }
    out.push(message(group));
    out
}

fn message(group: Vec<Rc<str>>) -> Rc<str> {
    if let [one] = group.as_slice() {
        return Rc::clone(one);
    }
    let mut text = String::with_capacity(group.iter().map(|f| f.len() + 1).sum::<usize>() + 1);
    text.push('[');
    for (i, frame) in group.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(frame);
    }
    text.push(']');
    text.into()
}

/// The frames of a batch, each as the exact text it has in the message, in order. Checks the
/// size and that the message is a non-empty JSON array; each element is checked when it is
/// opened (it must be a frame: a JSON object).
pub fn split(text: &str) -> Result<Vec<&str>, ProtocolError> {
    envelope::check_size(text)?;
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(ProtocolError::BadJson)?;
    if items.is_empty() {
        return Err(ProtocolError::MissingField("frames"));
    }
    Ok(items.into_iter().map(RawValue::get).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MAX_FRAME_BYTES;

    fn frames(n: usize, size: usize) -> Vec<Rc<str>> {
        (0..n)
            .map(|i| format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(size)).into())
            .collect()
    }

    #[test]
    fn joined_frames_split_back_in_order_and_exactly() {
        let sent = frames(5, 10);
        let joined = join(sent.clone());
        assert_eq!(joined.len(), 1);
        assert!(is_batch(&joined[0]));
        let got = split(&joined[0]).unwrap();
        let want: Vec<&str> = sent.iter().map(|f| &**f).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_lone_frame_is_not_wrapped_and_batches_stay_under_the_cap() {
        let one = frames(1, 10);
        assert_eq!(join(one.clone()), one);
        assert!(!is_batch(&one[0]));
        // 100 frames of ~1 KB: several batches, each under the cap, nothing lost or reordered.
        let sent = frames(100, 1_000);
        let joined = join(sent.clone());
        assert!(joined.len() > 1);
        assert!(joined.iter().all(|m| m.len() <= BATCH_BYTES_MAX));
        let back: Vec<String> = joined
            .iter()
            .flat_map(|m| {
                split(m)
                    .unwrap()
                    .into_iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let want: Vec<String> = sent.iter().map(|f| f.to_string()).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn bad_batches_are_refused() {
        for bad in ["[]", "[1,", "{}", "[1] x"] {
            assert!(split(bad).is_err(), "{bad}");
        }
        let huge = format!("[{}]", "1,".repeat(MAX_FRAME_BYTES));
        assert!(matches!(split(&huge), Err(ProtocolError::TooLarge { .. })));
    }
}
