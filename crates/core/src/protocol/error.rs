//! Why a frame was refused ([`ProtocolError`]) and the stable machine codes sent in `error`
//! messages ([`ErrorCode`]).
//!
//! Invariants: every [`Refusal`] and every [`ProtocolError`] maps to exactly one [`ErrorCode`];
//! codes are kebab-case strings that never change meaning within a protocol version.

use serde::{Deserialize, Serialize};

use crate::poll::Refusal;
use crate::{IdentityError, PeerId};

/// Why an incoming frame could not be accepted (or an outgoing one built).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The frame is longer than the limit, in bytes.
    #[error("frame of {got} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// The limit.
        limit: usize,
        /// The frame's length.
        got: usize,
    },
    /// The frame or its body is not the expected JSON (or lacks `v` / `type`).
    #[error("malformed JSON: {0}")]
    BadJson(#[source] serde_json::Error),
    /// The frame speaks another protocol version.
    #[error(
        "unsupported protocol version {got} (this peer speaks {})",
        super::PROTOCOL_VERSION
    )]
    UnsupportedVersion {
        /// The version found.
        got: u32,
    },
    /// An envelope field is missing.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// The `signer` is not a valid peer id.
    #[error("invalid signer: {0}")]
    BadSigner(#[source] IdentityError),
    /// The signature is malformed or does not verify over the body.
    #[error("bad signature")]
    BadSignature(#[source] IdentityError),
    /// The frame is signed by someone other than the peer it came from (or was expected from).
    #[error("signed by {got}, expected {expected}")]
    SignerMismatch {
        /// Who should have signed.
        expected: PeerId,
        /// Who signed.
        got: PeerId,
    },
    /// The body's `type` is not a message of this protocol version.
    #[error("unknown message type {got:?}")]
    UnknownType {
        /// The type found.
        got: String,
    },
    /// The body has a known `type` but its fields are wrong.
    #[error("invalid message: {0}")]
    InvalidField(#[source] serde_json::Error),
    /// A message could not be encoded (not expected with this crate's types).
    #[error("could not encode message: {0}")]
    Encode(#[source] serde_json::Error),
}

/// A stable machine-readable reason, sent as `code` in an `error` message next to the human
/// `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// [`Refusal::NotAMember`]
    NotAMember,
    /// [`Refusal::NotPermitted`]
    NotPermitted,
    /// [`Refusal::PollClosed`]
    PollClosed,
    /// [`Refusal::DeadlinePassed`]
    DeadlinePassed,
    /// [`Refusal::DeadlineInPast`]
    DeadlineInPast,
    /// [`Refusal::UnknownOption`]
    UnknownOption,
    /// [`Refusal::DuplicateChoice`]
    DuplicateChoice,
    /// [`Refusal::TooManyChoices`]
    TooManyChoices,
    /// [`Refusal::WrongBallotForm`]
    WrongBallotForm,
    /// [`Refusal::EmptyText`]
    EmptyText,
    /// [`Refusal::TextTooLong`]
    TextTooLong,
    /// [`Refusal::InvalidCharacter`]
    InvalidCharacter,
    /// [`Refusal::DuplicateOption`]
    DuplicateOption,
    /// [`Refusal::OptionHasVotes`]
    OptionHasVotes,
    /// [`Refusal::TooFewOptions`]
    TooFewOptions,
    /// [`Refusal::TooManyOptions`]
    TooManyOptions,
    /// [`Refusal::TooManyMembers`]
    TooManyMembers,
    /// [`Refusal::InvalidMaxChoices`]
    InvalidMaxChoices,
    /// [`Refusal::UnknownMember`]
    UnknownMember,
    /// [`Refusal::CannotChangeOwnerRole`]
    CannotChangeOwnerRole,
    /// [`Refusal::CannotMakeOwner`]
    CannotMakeOwner,
    /// [`Refusal::AlreadyClosed`]
    AlreadyClosed,
    /// [`Refusal::AlreadyOpen`]
    AlreadyOpen,
    /// [`Refusal::CommandIdReused`]
    CommandIdReused,
    /// The owner has no poll with the command's `pollId` (it never had one).
    UnknownPoll,
    /// The owner had a poll with that `pollId` and deleted it (it keeps the ids of the polls it
    /// deleted). Final for the participant, like [`ErrorCode::UnknownPoll`].
    PollDeleted,
    /// [`ProtocolError::TooLarge`]
    TooLarge,
    /// [`ProtocolError::BadJson`] and [`ProtocolError::MissingField`]
    BadJson,
    /// [`ProtocolError::UnsupportedVersion`]
    UnsupportedVersion,
    /// [`ProtocolError::BadSigner`] and [`ProtocolError::BadSignature`]
    BadSignature,
    /// [`ProtocolError::SignerMismatch`]
    SignerMismatch,
    /// [`ProtocolError::UnknownType`]
    UnknownType,
    /// [`ProtocolError::InvalidField`]
    InvalidField,
    /// [`ProtocolError::Encode`] (the owner's own fault).
    Internal,
    /// The sender sent more frames than the hub accepts per second; the frame was dropped
    /// unread (so this error never names a command: resend it later).
    RateLimited,
    /// A `hub:move` or `hub:prepare` whose delegation is not valid for the poll, or not newer
    /// than the hub's current one (PROTOCOL.md §8.1).
    BadDelegation,
    /// A move did not complete: the target did not prepare in time; the poll stays where it was
    /// (§8.4).
    MoveFailed,
}

impl From<&Refusal> for ErrorCode {
    fn from(refusal: &Refusal) -> Self {
        match refusal {
            Refusal::NotAMember => Self::NotAMember,
            Refusal::NotPermitted { .. } => Self::NotPermitted,
            Refusal::PollClosed => Self::PollClosed,
            Refusal::DeadlinePassed => Self::DeadlinePassed,
            Refusal::DeadlineInPast => Self::DeadlineInPast,
            Refusal::UnknownOption { .. } => Self::UnknownOption,
            Refusal::DuplicateChoice { .. } => Self::DuplicateChoice,
            Refusal::TooManyChoices { .. } => Self::TooManyChoices,
            Refusal::WrongBallotForm { .. } => Self::WrongBallotForm,
            Refusal::EmptyText { .. } => Self::EmptyText,
            Refusal::TextTooLong { .. } => Self::TextTooLong,
            Refusal::InvalidCharacter { .. } => Self::InvalidCharacter,
            Refusal::DuplicateOption => Self::DuplicateOption,
            Refusal::OptionHasVotes { .. } => Self::OptionHasVotes,
            Refusal::TooFewOptions { .. } => Self::TooFewOptions,
            Refusal::TooManyOptions { .. } => Self::TooManyOptions,
            Refusal::TooManyMembers { .. } => Self::TooManyMembers,
            Refusal::InvalidMaxChoices { .. } => Self::InvalidMaxChoices,
            Refusal::UnknownMember { .. } => Self::UnknownMember,
            Refusal::CannotChangeOwnerRole => Self::CannotChangeOwnerRole,
            Refusal::CannotMakeOwner => Self::CannotMakeOwner,
            Refusal::AlreadyClosed => Self::AlreadyClosed,
            Refusal::AlreadyOpen => Self::AlreadyOpen,
            Refusal::CommandIdReused => Self::CommandIdReused,
        }
    }
}

impl From<&ProtocolError> for ErrorCode {
    fn from(error: &ProtocolError) -> Self {
        match error {
            ProtocolError::TooLarge { .. } => Self::TooLarge,
            ProtocolError::BadJson(_) | ProtocolError::MissingField(_) => Self::BadJson,
            ProtocolError::UnsupportedVersion { .. } => Self::UnsupportedVersion,
            ProtocolError::BadSigner(_) | ProtocolError::BadSignature(_) => Self::BadSignature,
            ProtocolError::SignerMismatch { .. } => Self::SignerMismatch,
            ProtocolError::UnknownType { .. } => Self::UnknownType,
            ProtocolError::InvalidField(_) => Self::InvalidField,
            ProtocolError::Encode(_) => Self::Internal,
        }
    }
}
