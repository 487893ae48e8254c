//! Sealing a message into a signed frame and opening one.
//!
//! A frame is `{"v":1,"signer":"<peer id>","sig":"<128 hex>","body":"<message JSON>"}`. The
//! signature is over the UTF-8 bytes of the `body` string exactly as transmitted, so checking it
//! never depends on how anyone re-serializes the message. The body itself carries `"v":1` too,
//! so the version is covered by the signature.
//!
//! [`open`] checks, in order: size, envelope JSON (one object, no repeated key), envelope
//! version, signer, expected signer, signature, body JSON (the same) and version, `type`,
//! fields. No input panics.
//!
//! On a *bound* data connection (PROTOCOL.md §2.7) the hub sends frames without `sig`
//! ([`frame_unsigned`]); [`open_bound`] accepts them, and only the caller knows whether the
//! connection is bound: a frame without `sig` opened with [`open`] is refused.

use serde::{Deserialize, Serialize};

use super::strict::check_object;
use super::{CommandFrame, Control, Message, ProtocolError, COMMAND_TYPES, CONTROL_TYPES};
use super::{MAX_FRAME_BYTES, PROTOCOL_VERSION};
use crate::{Identity, PeerId, Signature};

#[derive(Serialize)]
struct Body<'a> {
    v: u32,
    #[serde(flatten)]
    message: &'a Message,
}

#[derive(Deserialize)]
struct Head {
    v: u32,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct SealedFrame<'a> {
    v: u32,
    signer: &'a PeerId,
    sig: Signature,
    body: &'a str,
}

#[derive(Serialize)]
struct UnsignedFrame<'a> {
    v: u32,
    signer: &'a PeerId,
    body: &'a str,
}

#[derive(Deserialize)]
struct RawFrame {
    v: u32,
    signer: Option<String>,
    sig: Option<String>,
    body: Option<String>,
}

/// Signs an arbitrary `body` text as `identity` and returns the envelope text (for documents
/// that are not messages, [`crate::delegation`]).
pub fn seal_body(identity: &Identity, body: &str) -> Result<String, ProtocolError> {
    let frame = serde_json::to_string(&SealedFrame {
        v: PROTOCOL_VERSION,
        signer: identity.peer_id(),
        sig: identity.sign(body.as_bytes()),
        body,
    })
    .map_err(ProtocolError::Encode)?;
    check_size(&frame)?;
    Ok(frame)
}

/// Signs `message` as `identity` and returns the frame text to send.
pub fn seal(identity: &Identity, message: &Message) -> Result<String, ProtocolError> {
    let body = serde_json::to_string(&Body {
        v: PROTOCOL_VERSION,
        message,
    })
    .map_err(ProtocolError::Encode)?;
    let frame = serde_json::to_string(&SealedFrame {
        v: PROTOCOL_VERSION,
        signer: identity.peer_id(),
        sig: identity.sign(body.as_bytes()),
        body: &body,
    })
    .map_err(ProtocolError::Encode)?;
    check_size(&frame)?;
    Ok(frame)
}

/// The frame text of `message` from `signer` **without a signature**, for a bound data
/// connection only (PROTOCOL.md §2.7): `{"v":1,"signer":"…","body":"…"}`.
pub fn frame_unsigned(signer: &PeerId, message: &Message) -> Result<String, ProtocolError> {
    let body = serde_json::to_string(&Body {
        v: PROTOCOL_VERSION,
        message,
    })
    .map_err(ProtocolError::Encode)?;
    let frame = serde_json::to_string(&UnsignedFrame {
        v: PROTOCOL_VERSION,
        signer,
        body: &body,
    })
    .map_err(ProtocolError::Encode)?;
    check_size(&frame)?;
    Ok(frame)
}

/// Opens a frame that arrived on a **bound** data connection from `expected` (PROTOCOL.md
/// §2.7): the same checks as [`open`], except that a frame without `sig` is accepted (the
/// channel authenticates it). A frame with `sig` must still verify. Call it only for a
/// connection whose binding was checked; everywhere else use [`open_from`].
pub fn open_bound(text: &str, expected: &PeerId) -> Result<(PeerId, Message), ProtocolError> {
    check_size(text)?;
    check_object(text).map_err(ProtocolError::BadJson)?;
    let raw: RawFrame = serde_json::from_str(text).map_err(ProtocolError::BadJson)?;
    check_version(raw.v)?;
    let signer_text = raw.signer.ok_or(ProtocolError::MissingField("signer"))?;
    // The expected peer's ID is already parsed: reuse it rather than decoding the key again.
    let signer = if signer_text == expected.as_str() {
        expected.clone()
    } else {
        let signer: PeerId = signer_text.parse().map_err(ProtocolError::BadSigner)?;
        check_sender(&signer, expected)?;
        signer
    };
    let sig: Option<Signature> = raw
        .sig
        .map(|sig| sig.parse().map_err(ProtocolError::BadSignature))
        .transpose()?;
    let body = raw.body.ok_or(ProtocolError::MissingField("body"))?;
    if let Some(sig) = sig {
        signer
            .verify(body.as_bytes(), &sig)
            .map_err(ProtocolError::BadSignature)?;
    }
    let message = parse_body(&body)?;
    Ok((signer, message))
}

/// Opens a frame: checks it and returns its signer and message. With `expected_signer`, a frame
/// signed by anyone else is refused before its signature is checked.
pub fn open(
    text: &str,
    expected_signer: Option<&PeerId>,
) -> Result<(PeerId, Message), ProtocolError> {
    let (signer, body) = open_body_checked(text, expected_signer, None)?;
    let message = parse_body(&body)?;
    Ok((signer, message))
}

/// A frame's signature taken out of it, for the driver to have checked elsewhere (a worker,
/// with the browser's own Ed25519) while the machine does other work; the answer comes back as
/// [`Checked`]. Only a signature that such a plain check answers exactly as
/// [`PeerId::verify`] does is taken out ([`PeerId::plain_check_agrees`]); any other frame is
/// checked by the machine itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureJob {
    signer: PeerId,
    signature: Signature,
    body: String,
}

impl SignatureJob {
    /// The signature of `text`, a frame from `expected`, when it can be checked outside the
    /// machine; `None` for anything else (not a frame, another signer, no signature, a
    /// signature a plain check could answer differently): the machine checks those itself.
    pub fn of(text: &str, expected: &PeerId) -> Option<Self> {
        if text.len() > MAX_FRAME_BYTES {
            return None;
        }
        let raw: RawFrame = serde_json::from_str(text).ok()?;
        if raw.signer.as_deref() != Some(expected.as_str()) {
            return None;
        }
        let signature: Signature = raw.sig?.parse().ok()?;
        if !expected.plain_check_agrees(&signature) {
            return None;
        }
        Some(Self {
            signer: expected.clone(),
            signature,
            body: raw.body?,
        })
    }

    /// The signer, whose public key checks the signature.
    pub fn signer(&self) -> &PeerId {
        &self.signer
    }

    /// The 64 signature bytes.
    pub fn signature(&self) -> [u8; 64] {
        self.signature.to_bytes()
    }

    /// The signed bytes: the frame's `body`, as UTF-8.
    pub fn message(&self) -> &[u8] {
        self.body.as_bytes()
    }

    /// The check passed: the token that lets the machine skip it for this frame. The driver
    /// vouches for it; a driver that cannot check gives the frame without a token.
    pub fn passed(self) -> Checked {
        Checked(self)
    }
}

/// A frame's signature, checked by the driver outside the machine ([`SignatureJob::passed`]).
/// It stands for exactly one signer, signature and body: opening a frame with a token for any
/// other one checks the signature as usual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked(SignatureJob);

/// [`open_from`] for a frame whose signature the driver checked: the same checks, except that
/// the signature is not checked again when `checked` is the token for this very frame.
pub fn open_from_checked(
    text: &str,
    remote: &PeerId,
    checked: &Checked,
) -> Result<(PeerId, Message), ProtocolError> {
    let (signer, body) = open_body_checked(text, Some(remote), Some(checked))?;
    let message = parse_body(&body)?;
    Ok((signer, message))
}

/// Opens an envelope up to its signature (2.4 steps 1–6) and returns the signer and the signed
/// body text, unread: for documents that use the envelope but are not messages (a delegation,
/// [`crate::delegation`]).
pub fn open_body(
    text: &str,
    expected_signer: Option<&PeerId>,
) -> Result<(PeerId, String), ProtocolError> {
    open_body_checked(text, expected_signer, None)
}

/// [`open_body`], skipping the signature check when `checked` is the token for this frame's
/// signer, signature and body.
fn open_body_checked(
    text: &str,
    expected_signer: Option<&PeerId>,
    checked: Option<&Checked>,
) -> Result<(PeerId, String), ProtocolError> {
    check_size(text)?;
    check_object(text).map_err(ProtocolError::BadJson)?;
    let raw: RawFrame = serde_json::from_str(text).map_err(ProtocolError::BadJson)?;
    check_version(raw.v)?;
    let signer_text = raw.signer.ok_or(ProtocolError::MissingField("signer"))?;
    // The expected signer's ID is already parsed: reuse it rather than decoding the key again.
    let signer: PeerId = match expected_signer {
        Some(expected) if signer_text == expected.as_str() => expected.clone(),
        _ => signer_text.parse().map_err(ProtocolError::BadSigner)?,
    };
    if let Some(expected) = expected_signer {
        check_sender(&signer, expected)?;
    }
    let sig: Signature = raw
        .sig
        .ok_or(ProtocolError::MissingField("sig"))?
        .parse()
        .map_err(ProtocolError::BadSignature)?;
    let body = raw.body.ok_or(ProtocolError::MissingField("body"))?;
    let vouched = checked.is_some_and(|Checked(job)| {
        job.signer == signer && job.signature == sig && job.body == body
    });
    if !vouched {
        signer
            .verify(body.as_bytes(), &sig)
            .map_err(ProtocolError::BadSignature)?;
    }
    Ok((signer, body))
}

/// Opens a frame that arrived on the data connection from `remote`: it must be signed by
/// `remote` (a command's author is its signer, so this is also "author = sender").
pub fn open_from(text: &str, remote: &PeerId) -> Result<(PeerId, Message), ProtocolError> {
    open(text, Some(remote))
}

/// Checks that a frame's signer is the peer it came from (or was expected from).
pub fn check_sender(signer: &PeerId, remote: &PeerId) -> Result<(), ProtocolError> {
    if signer == remote {
        Ok(())
    } else {
        Err(ProtocolError::SignerMismatch {
            expected: remote.clone(),
            got: signer.clone(),
        })
    }
}

/// Refuses a frame, or a batch of frames (§2.8), longer than [`MAX_FRAME_BYTES`].
pub(super) fn check_size(text: &str) -> Result<(), ProtocolError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(ProtocolError::TooLarge {
            limit: MAX_FRAME_BYTES,
            got: text.len(),
        });
    }
    Ok(())
}

fn check_version(got: u32) -> Result<(), ProtocolError> {
    if got == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(ProtocolError::UnsupportedVersion { got })
    }
}

fn parse_body(body: &str) -> Result<Message, ProtocolError> {
    check_object(body).map_err(ProtocolError::BadJson)?;
    let head: Head = serde_json::from_str(body).map_err(ProtocolError::BadJson)?;
    check_version(head.v)?;
    if COMMAND_TYPES.contains(&head.kind.as_str()) {
        let frame: CommandFrame =
            serde_json::from_str(body).map_err(ProtocolError::InvalidField)?;
        Ok(Message::Command(frame))
    } else if CONTROL_TYPES.contains(&head.kind.as_str()) {
        let control: Control = serde_json::from_str(body).map_err(ProtocolError::InvalidField)?;
        Ok(Message::Control(control))
    } else {
        Err(ProtocolError::UnknownType { got: head.kind })
    }
}
