//! Signed snapshots of a poll: a file the owner exports and anyone can check offline, without
//! trusting the owner's screen or the person who passes the file on.
//!
//! The file is one JSON object (PROTOCOL.md, "Signed snapshot file"):
//!
//! ```text
//! {"format":"starpoll-snapshot","v":1,"signer":"<owner peer ID>","sig":"<128 hex>","body":"<JSON text>"}
//! body = {"format":"starpoll-snapshot","v":1,"exportedAt":<ms>,"poll":<the poll>,
//!         "ballots":[{"voter":"<peer ID>","frame":"<the voter's signed poll:vote frame>"}, …]}
//! ```
//!
//! `sig` is the owner's ed25519 signature over the UTF-8 bytes of `body` exactly, as for protocol
//! envelopes; `poll` is the whole poll as the owner stores it (members, options, every ballot,
//! revision, settings); `ballots` holds, for each ballot in the poll, the frame of the voter's
//! `poll:vote` that produced it, exactly as the voter signed it ([`export`] takes it from the
//! owner's command records, which keep it: see [`ProcessedRecord::frame`]).
//!
//! # What a verified snapshot proves
//! [`verify`] accepting a file proves that:
//! - every ballot in it was signed by its voter's key, for this poll, choosing exactly these
//!   options (a `poll:vote` frame signed by the voter, naming this poll id and this option set;
//!   in a ranked poll this ranking, in a date/time poll these answers per slot);
//! - the owner (the key named by `signer`, which must be the poll's owner) vouches that this was
//!   the poll's state — options, members, ballots, status — at `exportedAt`, and nobody changed
//!   the file after it was signed.
//!
//! It does **not** prove that the owner left no ballot out (a voter's vote the owner dropped
//! simply does not appear), nor that a ballot is the voter's *latest* vote (the owner could keep
//! an older frame of the same voter, signed earlier for the same poll), nor when a vote was cast
//! (frames carry no time), nor that `exportedAt` is true (it is the owner's clock). The tally is
//! recomputed from the ballots, so it cannot disagree with them.
//!
//! # Anonymous polls
//! A snapshot necessarily names every voter and their choices, even for an anonymous poll: a
//! ballot's signature can be checked only with its voter's key, which is their peer ID. Sharing
//! a snapshot of an anonymous poll reveals who voted for what; the shell must say so before it
//! exports one.
//!
//! # Delegated polls
//! A poll served by another hub (PROTOCOL.md §8) is exported by that hub ([`export_served`]):
//! the file is signed by the hub, and the body carries `delegations`, the owner-signed chain
//! under which the poll reached it. [`verify`] then checks the chain instead of "signer = owner":
//! every delegation is the owner's for this poll, in ascending `seq`, and the last names the
//! signer; [`VerifiedSnapshot::served_by`] lists the peers that served the poll.
//!
//! Invariants: [`export`] never produces a file that [`verify`] refuses (it checks each frame it
//! includes the same way); both are pure (time comes in as `exported_at`), and no input makes
//! [`verify`] panic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::delegation::{check_chain, ChainError, SignedDelegation};
use crate::poll::{
    tally, Command, InvalidPoll, Outcome, Poll, PollData, PollId, ProcessedRecord, Revision,
    TallyEntry,
};
use crate::protocol::{self, CommandFrame, Message, ProtocolError};
use crate::{Identity, IdentityError, PeerId, Signature};

/// The `format` of a snapshot file.
pub const FORMAT: &str = "starpoll-snapshot";
/// The version of the snapshot format this crate writes and reads.
pub const VERSION: u32 = 1;
/// The largest snapshot file [`verify`] reads, in bytes of UTF-8 (5 MiB; a poll at every limit
/// with every member's ballot is well under 1 MiB).
pub const MAX_SNAPSHOT_BYTES: usize = 5 * 1024 * 1024;

/// One ballot's proof: the voter and the `poll:vote` frame they signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedBallot {
    /// Whose ballot.
    pub voter: PeerId,
    /// The voter's signed frame text, as sent to the owner.
    pub frame: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    format: &'a str,
    v: u32,
    exported_at: u64,
    poll: &'a Poll,
    ballots: &'a [SignedBallot],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    delegations: &'a [SignedDelegation],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBody {
    format: String,
    v: u32,
    exported_at: u64,
    poll: PollData,
    ballots: Vec<SignedBallot>,
    #[serde(default)]
    delegations: Vec<String>,
}

#[derive(Serialize)]
struct SealedFile<'a> {
    format: &'a str,
    v: u32,
    signer: &'a PeerId,
    sig: Signature,
    body: &'a str,
}

#[derive(Deserialize)]
struct RawFile {
    format: String,
    v: u32,
    signer: Option<String>,
    sig: Option<String>,
    body: Option<String>,
}

/// Why a snapshot could not be exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The hub has no such poll.
    #[error("no poll {0} here")]
    UnknownPoll(PollId),
    /// The identity given is not the poll's owner (or, for a delegated poll, not the hub its
    /// last delegation names).
    #[error("only the poll's owner, or the hub serving it, can sign its snapshot")]
    NotOwner,
    /// A ballot has no signed vote frame on record (it was cast before this build kept them),
    /// so no verifiable snapshot can be made until the voter votes again.
    #[error("the ballot of {voter} has no signed vote on record (cast with an older version)")]
    UnsignedBallot {
        /// Whose ballot.
        voter: PeerId,
    },
    /// The file would exceed [`MAX_SNAPSHOT_BYTES`].
    #[error("the snapshot would be {got} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The limit.
        limit: usize,
        /// The file's size.
        got: usize,
    },
    /// Serializing failed (not expected with this crate's types).
    #[error("could not encode the snapshot: {0}")]
    Encode(#[source] serde_json::Error),
}

/// Why a snapshot file was refused: the first check that failed, in the order of [`verify`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The file is longer than [`MAX_SNAPSHOT_BYTES`].
    #[error("the file is {got} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The limit.
        limit: usize,
        /// The file's size.
        got: usize,
    },
    /// The file is not a JSON object with string `format`, integer `v` (and string `signer`,
    /// `sig`, `body` where present).
    #[error("not a snapshot file: {0}")]
    BadJson(#[source] serde_json::Error),
    /// The `format` is not [`FORMAT`].
    #[error("not a starpoll snapshot (format {got:?})")]
    UnknownFormat {
        /// The format found.
        got: String,
    },
    /// The version is not [`VERSION`].
    #[error("unsupported snapshot version {got} (this app reads {VERSION})")]
    UnsupportedVersion {
        /// The version found.
        got: u32,
    },
    /// `signer`, `sig` or `body` is missing.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// `signer` is not a valid peer ID.
    #[error("invalid signer: {0}")]
    BadSigner(#[source] IdentityError),
    /// `sig` is malformed or does not verify over `body` with the signer's key: the file was
    /// changed after it was signed, or not signed by `signer`.
    #[error("the owner's signature does not match the contents: {0}")]
    OwnerSignature(#[source] IdentityError),
    /// `body` is not the expected JSON.
    #[error("malformed snapshot body: {0}")]
    BadBody(#[source] serde_json::Error),
    /// The signed body names another format or version than the file.
    #[error("the signed body says format {format:?} version {v}, the file says otherwise")]
    HeaderMismatch {
        /// The body's format.
        format: String,
        /// The body's version.
        v: u32,
    },
    /// The poll breaks one of the poll's invariants.
    #[error("the poll in the snapshot is not valid: {0}")]
    InvalidPoll(#[source] InvalidPoll),
    /// The file is signed by someone other than the poll's owner.
    #[error("signed by {signer}, but the poll belongs to {owner}")]
    OwnerMismatch {
        /// Who signed the file.
        signer: PeerId,
        /// The poll's owner.
        owner: PeerId,
    },
    /// A ballot has no signed frame.
    #[error("the ballot of {voter} has no signed vote")]
    MissingBallotFrame {
        /// Whose ballot.
        voter: PeerId,
    },
    /// A ballot has more than one frame.
    #[error("the ballot of {voter} has more than one signed vote")]
    DuplicateBallotFrame {
        /// Whose ballot.
        voter: PeerId,
    },
    /// A ballot's frame does not open with the voter's key (bad signature, signed by someone
    /// else, malformed).
    #[error("the signed vote of {voter} does not check out: {source}")]
    BallotFrame {
        /// Whose ballot.
        voter: PeerId,
        /// Why the frame did not open.
        #[source]
        source: Box<ProtocolError>,
    },
    /// A ballot's frame is a valid frame but not a `poll:vote`.
    #[error("the signed frame of {voter} is not a vote")]
    NotAVote {
        /// Whose ballot.
        voter: PeerId,
    },
    /// A ballot's vote was cast in another poll.
    #[error("the signed vote of {voter} is for poll {got}, not this one")]
    OtherPoll {
        /// Whose ballot.
        voter: PeerId,
        /// The poll the vote names.
        got: PollId,
    },
    /// A ballot differs from the options its voter signed.
    #[error("the ballot of {voter} is not what they signed")]
    BallotMismatch {
        /// Whose ballot.
        voter: PeerId,
    },
    /// A frame is included for someone with no ballot in the poll.
    #[error("a signed vote of {voter} is included, but they have no ballot")]
    UnexpectedFrame {
        /// Whose frame.
        voter: PeerId,
    },
    /// The delegation chain of a poll served by another hub does not check out (§8.9).
    #[error("the delegation chain does not check out: {0}")]
    DelegationChain(#[source] Box<ChainError>),
    /// The chain is valid but does not end at the file's signer, or a delegation is from a
    /// revision the poll has not reached.
    #[error("the delegations do not entitle {signer} to serve this poll")]
    NotServedBy {
        /// Who signed the file.
        signer: PeerId,
    },
}

/// A snapshot that passed every check of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSnapshot {
    /// The poll as the owner signed it (its `owner` is the file's signer).
    pub poll: Poll,
    /// Votes per option, recomputed from the verified ballots, in option order.
    pub tally: Vec<TallyEntry>,
    /// When the owner says it exported the file (Unix ms, owner's clock).
    pub exported_at: u64,
    /// How many ballot signatures were verified (= the number of ballots).
    pub signatures: usize,
    /// Who served the poll, in order: the owner, then each delegation's hub (consecutive
    /// repeats folded). Just the owner for a poll never moved.
    pub served_by: Vec<PeerId>,
}

/// The snapshot file of `poll`, signed by its owner `owner`, at `exported_at`. `records` are the
/// poll's command records: for each ballot, the latest applied `poll:vote` of its voter whose
/// option set equals the ballot is included (each candidate is opened and checked as
/// [`verify`] will).
pub fn export(
    owner: &Identity,
    poll: &Poll,
    records: &[ProcessedRecord],
    exported_at: u64,
) -> Result<String, ExportError> {
    export_served(owner, poll, records, &[], exported_at)
}

/// [`export`] by the hub serving `poll` under `chain` (the delegations it reached the hub
/// under, oldest first; empty for a poll its owner serves and never moved): signed by `hub`,
/// which must be the poll's owner (empty chain) or the hub the chain's last delegation names.
pub fn export_served(
    hub: &Identity,
    poll: &Poll,
    records: &[ProcessedRecord],
    chain: &[SignedDelegation],
    exported_at: u64,
) -> Result<String, ExportError> {
    let entitled = chain.last().map_or(&poll.owner, SignedDelegation::hub);
    if entitled != hub.peer_id() {
        return Err(ExportError::NotOwner);
    }
    let owner = hub;
    // Applied votes with a frame, newest first.
    let mut votes: Vec<(Revision, &ProcessedRecord, &str)> = records
        .iter()
        .filter_map(|record| match (&record.outcome, &record.frame) {
            (Outcome::Acked { revision }, Some(frame)) => Some((*revision, record, frame.as_str())),
            _ => None,
        })
        .collect();
    votes.sort_by_key(|(revision, _, _)| std::cmp::Reverse(*revision));
    let mut ballots = Vec::with_capacity(poll.ballots.len());
    for voter in poll.ballots.keys() {
        let frame = votes
            .iter()
            .filter(|(_, record, _)| record.author == *voter)
            .find(|(_, _, frame)| check_frame(poll, voter, frame).is_ok())
            .map(|(_, _, frame)| (*frame).to_owned())
            .ok_or_else(|| ExportError::UnsignedBallot {
                voter: voter.clone(),
            })?;
        ballots.push(SignedBallot {
            voter: voter.clone(),
            frame,
        });
    }
    let body = serde_json::to_string(&Body {
        format: FORMAT,
        v: VERSION,
        exported_at,
        poll,
        ballots: &ballots,
        delegations: chain,
    })
    .map_err(ExportError::Encode)?;
    let file = serde_json::to_string(&SealedFile {
        format: FORMAT,
        v: VERSION,
        signer: owner.peer_id(),
        sig: owner.sign(body.as_bytes()),
        body: &body,
    })
    .map_err(ExportError::Encode)?;
    if file.len() > MAX_SNAPSHOT_BYTES {
        return Err(ExportError::TooLarge {
            limit: MAX_SNAPSHOT_BYTES,
            got: file.len(),
        });
    }
    Ok(file)
}

/// Checks a snapshot file, in this order, and stops at the first failure: size; JSON shape;
/// format and version; `signer` a valid peer ID; the owner's signature over `body`; the body's
/// JSON (and that it repeats the file's format and version); the poll's invariants; the poll's
/// owner is the signer; then for each ballot (by voter ID): exactly one frame entry, which opens
/// with the voter's key, is a `poll:vote` for this poll, and names exactly the ballot's options;
/// finally, no frame entry for anyone without a ballot.
pub fn verify(text: &str) -> Result<VerifiedSnapshot, SnapshotError> {
    if text.len() > MAX_SNAPSHOT_BYTES {
        return Err(SnapshotError::TooLarge {
            limit: MAX_SNAPSHOT_BYTES,
            got: text.len(),
        });
    }
    // A file and its body are JSON objects with unique keys, as a frame is (§7.3, §2.4).
    crate::protocol::check_object(text).map_err(SnapshotError::BadJson)?;
    let raw: RawFile = serde_json::from_str(text).map_err(SnapshotError::BadJson)?;
    if raw.format != FORMAT {
        return Err(SnapshotError::UnknownFormat { got: raw.format });
    }
    if raw.v != VERSION {
        return Err(SnapshotError::UnsupportedVersion { got: raw.v });
    }
    let signer: PeerId = raw
        .signer
        .ok_or(SnapshotError::MissingField("signer"))?
        .parse()
        .map_err(SnapshotError::BadSigner)?;
    let sig: Signature = raw
        .sig
        .ok_or(SnapshotError::MissingField("sig"))?
        .parse()
        .map_err(SnapshotError::OwnerSignature)?;
    let body = raw.body.ok_or(SnapshotError::MissingField("body"))?;
    signer
        .verify(body.as_bytes(), &sig)
        .map_err(SnapshotError::OwnerSignature)?;
    crate::protocol::check_object(&body).map_err(SnapshotError::BadBody)?;
    let body: RawBody = serde_json::from_str(&body).map_err(SnapshotError::BadBody)?;
    if body.format != FORMAT || body.v != VERSION {
        return Err(SnapshotError::HeaderMismatch {
            format: body.format,
            v: body.v,
        });
    }
    let poll = Poll::try_from(body.poll).map_err(SnapshotError::InvalidPoll)?;
    let mut served_by = vec![poll.owner.clone()];
    if body.delegations.is_empty() {
        if poll.owner != signer {
            return Err(SnapshotError::OwnerMismatch {
                signer,
                owner: poll.owner.clone(),
            });
        }
    } else {
        let chain = check_chain(&body.delegations, poll.id, &poll.owner)
            .map_err(|e| SnapshotError::DelegationChain(Box::new(e)))?;
        let ends_at_signer = chain.last().is_some_and(|d| *d.hub() == signer);
        let reached = chain
            .iter()
            .all(|d| d.delegation().from_revision <= poll.revision);
        if !ends_at_signer || !reached {
            return Err(SnapshotError::NotServedBy { signer });
        }
        for delegation in &chain {
            if served_by.last() != Some(delegation.hub()) {
                served_by.push(delegation.hub().clone());
            }
        }
    }
    let mut frames: BTreeMap<&PeerId, Vec<&str>> = BTreeMap::new();
    for entry in &body.ballots {
        frames.entry(&entry.voter).or_default().push(&entry.frame);
    }
    for voter in poll.ballots.keys() {
        let frame = match frames.remove(voter).as_deref() {
            None | Some([]) => {
                return Err(SnapshotError::MissingBallotFrame {
                    voter: voter.clone(),
                })
            }
            Some([frame]) => *frame,
            Some(_) => {
                return Err(SnapshotError::DuplicateBallotFrame {
                    voter: voter.clone(),
                })
            }
        };
        check_frame(&poll, voter, frame)?;
    }
    if let Some(voter) = frames.into_keys().next() {
        return Err(SnapshotError::UnexpectedFrame {
            voter: voter.clone(),
        });
    }
    Ok(VerifiedSnapshot {
        tally: tally(&poll),
        signatures: poll.ballots.len(),
        exported_at: body.exported_at,
        served_by,
        poll,
    })
}

/// Checks that `frame` is `voter`'s signed `poll:vote` for `poll` casting exactly their ballot
/// in it (the same options; in a ranked poll the same ranking, in a date/time poll the same
/// answers: [`Poll::holds_ballot`]).
fn check_frame(poll: &Poll, voter: &PeerId, frame: &str) -> Result<(), SnapshotError> {
    let message = match protocol::open(frame, Some(voter)) {
        Ok((_, message)) => message,
        Err(source) => {
            return Err(SnapshotError::BallotFrame {
                voter: voter.clone(),
                source: Box::new(source),
            })
        }
    };
    let Message::Command(CommandFrame {
        command: Command::CastVote {
            option_ids,
            answers,
        },
        poll_id,
        ..
    }) = message
    else {
        return Err(SnapshotError::NotAVote {
            voter: voter.clone(),
        });
    };
    if poll_id != poll.id {
        return Err(SnapshotError::OtherPoll {
            voter: voter.clone(),
            got: poll_id,
        });
    }
    if !poll.holds_ballot(voter, &option_ids, &answers) {
        return Err(SnapshotError::BallotMismatch {
            voter: voter.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
