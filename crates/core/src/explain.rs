//! Plain-language messages for the errors a person can meet, in one place.
//!
//! Typed errors keep their precise `Display` text for logs and the wire (PROTOCOL.md §4.7, §4.8
//! pins the refusal patterns); the screen shows these sentences instead: they say what happened
//! in the words of the page (the poll's title is labelled "Question" there), name the thing
//! involved (the option that already exists), and say what to do next when something can be
//! done (change the deadline before reopening).
//!
//! Pure: the sentences depend only on the error and the command it answers.

use crate::identity_file::IdentityFileError;
use crate::poll::limits::{MAX_MEMBERS, MAX_OPTIONS};
use crate::poll::{Command, Field, Refusal};
use crate::protocol::ErrorCode;
use crate::snapshot::{ExportError, SnapshotError};
use crate::PeerId;

/// What the page calls a text field (the wire calls the question `title`).
pub fn field_label(field: Field) -> &'static str {
    match field {
        Field::Title => "question",
        Field::Description => "details",
        Field::OptionText => "option",
        Field::DisplayName => "name",
    }
}

/// The field of `command` a text refusal (empty, too long, bad character) is about, when the
/// refusal itself does not say: an option's text, a name, or the part of an edit that breaks
/// the rule (`broken` says whether a text breaks it).
fn text_field(command: &Command, broken: impl Fn(&str, Field) -> bool) -> Field {
    match command {
        Command::AddOption { .. } | Command::RenameOption { .. } => Field::OptionText,
        Command::Join { .. } | Command::UpdateProfile { .. } => Field::DisplayName,
        Command::EditPoll {
            title, description, ..
        } => {
            let title_broken = title.as_deref().is_some_and(|t| broken(t, Field::Title));
            let description_broken = description
                .as_deref()
                .is_some_and(|d| broken(d, Field::Description));
            if description_broken && !title_broken {
                Field::Description
            } else {
                Field::Title
            }
        }
        _ => Field::Title,
    }
}

/// The text of `command` in `field`, if it carries one.
fn text_of(command: &Command, field: Field) -> Option<&str> {
    match (command, field) {
        (Command::AddOption { text } | Command::RenameOption { text, .. }, Field::OptionText) => {
            Some(text)
        }
        (Command::Join { display_name } | Command::UpdateProfile { display_name }, _) => {
            Some(display_name)
        }
        (Command::EditPoll { title, .. }, Field::Title) => title.as_deref(),
        (Command::EditPoll { description, .. }, Field::Description) => description.as_deref(),
        _ => None,
    }
}

/// The start of a peer ID, enough to tell people apart on screen.
fn short(peer: &PeerId) -> String {
    format!("{}…", peer.as_str().get(..8).unwrap_or(peer.as_str()))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A refusal of `command` by the poll's owner, in plain words. `refusal` is the typed refusal
/// when it is known (the owner's own commands); participants only get the wire `code`.
fn explain(code: ErrorCode, refusal: Option<&Refusal>, command: &Command) -> String {
    let field = |broken: fn(&str, Field) -> bool| match refusal {
        Some(
            Refusal::EmptyText { field }
            | Refusal::TextTooLong { field, .. }
            | Refusal::InvalidCharacter { field },
        ) => *field,
        _ => text_field(command, broken),
    };
    match code {
        ErrorCode::NotAMember => {
            "You have not joined this poll yet, so the owner did not take this. Reload the page \
             to join, then try again."
                .into()
        }
        ErrorCode::NotPermitted => match command {
            Command::CastVote { .. } => {
                "The owner has not let you vote in this poll: you can watch it only.".into()
            }
            Command::AddOption { .. } => {
                "Your role in this poll does not let you add options.".into()
            }
            Command::RenameOption { .. } | Command::RemoveOption { .. } => {
                "Only the poll's owner can rename or remove options.".into()
            }
            Command::SetRole { .. } => "Only the poll's owner can change roles.".into(),
            Command::Close => "Only the poll's owner can close it.".into(),
            Command::Reopen => "Only the poll's owner can reopen it.".into(),
            Command::EditPoll { .. } => "Only the poll's owner can edit it.".into(),
            Command::Join { .. } | Command::UpdateProfile { .. } => {
                "The owner did not let you do that.".into()
            }
        },
        ErrorCode::PollClosed => match command {
            Command::AddOption { .. } => "The poll is closed, so no options can be added.".into(),
            _ => "The poll is closed, so your vote was not counted.".into(),
        },
        ErrorCode::DeadlinePassed => match command {
            Command::Reopen => "The poll's deadline has passed. To reopen it, first change \
                                the deadline to a later time (or remove it) under “Edit title, \
                                details or deadline”."
                .into(),
            Command::AddOption { .. } => {
                "The poll's deadline has passed, so no options can be added.".into()
            }
            _ => "The poll's deadline has passed, so your vote was not counted.".into(),
        },
        ErrorCode::DeadlineInPast => {
            "That closing time has already passed: pick a later one, or no closing time.".into()
        }
        ErrorCode::UnknownOption => {
            "One of the options you chose no longer exists. Choose again.".into()
        }
        ErrorCode::DuplicateChoice => "You chose the same option twice. Choose again.".into(),
        ErrorCode::TooManyChoices => {
            match refusal {
                Some(Refusal::TooManyChoices { max }) => {
                    let plural = if *max == 1 { "" } else { "s" };
                    format!("You chose too many options: this poll allows at most {max} option{plural}.")
                }
                _ => "You chose more options than this poll allows.".into(),
            }
        }
        ErrorCode::EmptyText => {
            let label = field_label(field(|text, _| text.trim().is_empty()));
            format!("The {label} must not be empty.")
        }
        ErrorCode::TextTooLong => {
            let field = field(|text, field| text.chars().count() > field.max_chars());
            let max = field.max_chars();
            let label = field_label(field);
            let (is, it) = if field == Field::Description {
                ("are", "they")
            } else {
                ("is", "it")
            };
            match text_of(command, field) {
                Some(text) => format!(
                    "The {label} {is} {} characters long; {it} may have at most {max}.",
                    text.chars().count()
                ),
                None => format!("The {label} may have at most {max} characters."),
            }
        }
        ErrorCode::InvalidCharacter => {
            let field = field(|text, field| {
                text.chars().any(|c| {
                    c.is_control() && !(field == Field::Description && matches!(c, '\n' | '\t'))
                })
            });
            let (contains, it) = if field == Field::Description {
                ("contain", "it")
            } else {
                ("contains", "it")
            };
            format!(
                "{} {contains} a character that is not allowed (such as a line break). Remove \
                 {it} and try again.",
                capitalized(&format!("the {}", field_label(field)))
            )
        }
        ErrorCode::DuplicateOption => match command {
            Command::AddOption { text } | Command::RenameOption { text, .. } => {
                format!("“{}” is already an option.", text.trim())
            }
            _ => "That option is already in the poll.".into(),
        },
        ErrorCode::OptionHasVotes => {
            "Someone has voted for that option, so it can no longer be renamed or removed.".into()
        }
        ErrorCode::TooFewOptions => format!(
            "A poll needs at least {} options, so this one cannot be removed.",
            crate::poll::MIN_OPTIONS
        ),
        ErrorCode::TooManyOptions => {
            format!("The poll already has {MAX_OPTIONS} options, the most it can have.")
        }
        ErrorCode::TooManyMembers => format!(
            "The poll is full: it already has {MAX_MEMBERS} participants, the most it can have."
        ),
        ErrorCode::InvalidMaxChoices => {
            format!("Choose a number of choices from 1 to {MAX_OPTIONS}.")
        }
        ErrorCode::UnknownMember => "That person is not a member of this poll any more.".into(),
        ErrorCode::CannotChangeOwnerRole => "The owner's role cannot change.".into(),
        ErrorCode::CannotMakeOwner => {
            "A poll has exactly one owner: choose editor, voter or viewer.".into()
        }
        ErrorCode::AlreadyClosed => "The poll is already closed.".into(),
        ErrorCode::AlreadyOpen => "The poll is already open.".into(),
        ErrorCode::CommandIdReused => {
            "Your change could not be told apart from someone else's. Please do it again.".into()
        }
        ErrorCode::UnknownPoll => "The owner has no such poll.".into(),
        ErrorCode::PollDeleted => "The owner deleted this poll.".into(),
        ErrorCode::RateLimited => {
            "Too many changes at once: the owner's browser asked to slow down. They are sent \
             again by themselves."
                .into()
        }
        ErrorCode::Internal => {
            "The owner's browser ran into a problem of its own. Please try again later.".into()
        }
        ErrorCode::TooLarge
        | ErrorCode::BadJson
        | ErrorCode::UnsupportedVersion
        | ErrorCode::BadSignature
        | ErrorCode::SignerMismatch
        | ErrorCode::UnknownType
        | ErrorCode::InvalidField => {
            "The owner's browser could not read your change (it may run another version of \
             starpoll)."
                .into()
        }
        // `ErrorCode` is non-exhaustive: a code added later still gets a sentence.
        #[allow(unreachable_patterns)]
        _ => "The owner did not accept this change.".into(),
    }
}

/// The owner refused `command` with `code` (an `error` frame, PROTOCOL.md §4.7): what the
/// participant's page says.
pub fn refused(code: ErrorCode, command: &Command) -> String {
    explain(code, None, command)
}

/// The owner's own `command` was refused with `refusal`: what the owner's page says.
pub fn refusal(refusal: &Refusal, command: &Command) -> String {
    explain(ErrorCode::from(refusal), Some(refusal), command)
}

/// Why a text is not a usable identity file, without the parser's detail (the settings page).
pub fn identity_file_problem(error: &IdentityFileError) -> String {
    match error {
        IdentityFileError::NotJson(_) => "This is not a starpoll identity file (it is not the \
             text of one). Choose the “…-identity.json” file you saved, or paste its whole text."
            .into(),
        IdentityFileError::BadPeerId(_) => {
            "The identity file is damaged: its peer ID is invalid.".into()
        }
        // The other messages are written for people already and carry no parser detail.
        other => other.to_string(),
    }
}

/// Why the owner's signed snapshot could not be exported, in plain words.
pub fn export_problem(error: &ExportError) -> String {
    match error {
        ExportError::UnknownPoll(_) => "This browser no longer hosts this poll.".into(),
        ExportError::NotOwner => "Only the poll's owner can export its signed snapshot.".into(),
        ExportError::UnsignedBallot { voter } => format!(
            "The ballot of {} was cast with an older version of starpoll, which kept no \
             signature of it, so no verifiable snapshot can be made until they vote again.",
            short(voter)
        ),
        ExportError::TooLarge { limit, .. } => {
            format!("The poll is too large for a snapshot file (at most {limit} bytes).")
        }
        ExportError::Encode(_) => "The snapshot could not be written. Please try again.".into(),
    }
}

/// Why a file does not verify as a signed snapshot, in plain words (the verify page).
pub fn snapshot_problem(error: &SnapshotError) -> String {
    match error {
        SnapshotError::TooLarge { got, limit } => format!(
            "The file is too big to be a snapshot ({got} bytes; a snapshot has at most {limit})."
        ),
        SnapshotError::BadJson(_)
        | SnapshotError::UnknownFormat { .. }
        | SnapshotError::MissingField(_)
        | SnapshotError::BadBody(_) => {
            "This file is not a starpoll snapshot (or it is damaged). Choose the \
             “…-snapshot.json” file that the poll's owner exported."
                .into()
        }
        SnapshotError::UnsupportedVersion { got } => format!(
            "This snapshot was made by another version of starpoll (version {got}); this app \
             cannot read it."
        ),
        SnapshotError::BadSigner(_) => {
            "The file does not say validly who signed it, so its signature cannot be checked."
                .into()
        }
        SnapshotError::OwnerSignature(_) | SnapshotError::HeaderMismatch { .. } => {
            "The owner's signature does not match the contents: the file was changed after the \
             owner signed it."
                .into()
        }
        SnapshotError::InvalidPoll(_) => {
            "The poll in this file breaks starpoll's rules, so its results cannot be trusted."
                .into()
        }
        SnapshotError::OwnerMismatch { .. } => {
            "The file was signed by someone other than the poll's owner.".into()
        }
        SnapshotError::MissingBallotFrame { voter }
        | SnapshotError::DuplicateBallotFrame { voter }
        | SnapshotError::BallotFrame { voter, .. }
        | SnapshotError::NotAVote { voter }
        | SnapshotError::OtherPoll { voter, .. }
        | SnapshotError::BallotMismatch { voter } => format!(
            "The ballot of {} is not backed by a valid signed vote of theirs: its signature \
             does not check out.",
            short(voter)
        ),
        SnapshotError::UnexpectedFrame { voter } => format!(
            "The file holds a signed vote of {}, who has no ballot in the poll.",
            short(voter)
        ),
        SnapshotError::DelegationChain(_) => {
            "The poll was served by another hub, but the owner's delegations in the file do not \
             check out, so that hub's signature proves nothing."
                .into()
        }
        SnapshotError::NotServedBy { signer } => format!(
            "The file was signed by {}, whom the owner's delegations in it do not name as the \
             poll's hub.",
            short(signer)
        ),
    }
}

#[cfg(test)]
mod tests;
