//! What members ask of a poll ([`Command`]) and why the owner may say no ([`Refusal`]).
//!
//! A command carries only what its author chose; who the author is comes from the signature, and
//! which poll and which resend from the protocol frame around it. Commands serialize with the
//! spec's message `type` names (`poll:vote`, …) and camelCase fields, so the protocol embeds them
//! as they are.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::limits::{Field, MAX_OPTIONS};
use super::{Answers, CommandId, OptionId, PollId, Role};
use crate::wire::{out_of_range, required, unknown, WireError};
use crate::PeerId;

/// A change a member asks the poll's owner to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all_fields = "camelCase",
    try_from = "CommandFields"
)]
pub enum Command {
    /// Become a member with the poll's newcomer role. A member joining again changes nothing.
    #[serde(rename = "poll:join")]
    Join {
        /// The name others will see.
        display_name: String,
    },
    /// Replace the author's whole ballot; a ballot naming no option withdraws it.
    #[serde(rename = "poll:vote")]
    CastVote {
        /// The chosen options, each at most once; in a ranked poll, the ranking, best first. Empty
        /// in a date/time poll.
        option_ids: Vec<OptionId>,
        /// Date/time polls only: the answer per slot (absent from JSON when empty).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        answers: Answers,
    },
    /// Add an option at the end of the list.
    #[serde(rename = "poll:option:add")]
    AddOption {
        /// The option's text.
        text: String,
    },
    /// Change the text of an option nobody has voted for (owner only).
    #[serde(rename = "poll:option:rename")]
    RenameOption {
        /// Which option.
        option_id: OptionId,
        /// Its new text.
        text: String,
    },
    /// Remove an option nobody has voted for (owner only; a poll keeps at least
    /// [`MIN_OPTIONS`](super::MIN_OPTIONS) options).
    #[serde(rename = "poll:option:remove")]
    RemoveOption {
        /// Which option.
        option_id: OptionId,
    },
    /// Give a member another role (owner only; the owner's own role is fixed).
    #[serde(rename = "poll:role:update")]
    SetRole {
        /// Whose role changes.
        member: PeerId,
        /// The new role (not [`Role::Owner`]).
        role: Role,
    },
    /// Change the author's display name.
    #[serde(rename = "user:profile")]
    UpdateProfile {
        /// The new name.
        display_name: String,
    },
    /// Stop accepting votes (owner only).
    #[serde(rename = "poll:close")]
    Close,
    /// Accept votes again (owner only; the deadline, if any, must still be ahead).
    #[serde(rename = "poll:reopen")]
    Reopen,
    /// Change the title, description or deadline (owner only). Absent fields stay as they are.
    #[serde(rename = "poll:edit")]
    EditPoll {
        /// New title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// New description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// New deadline: absent = unchanged, `null` = no deadline, a number = Unix ms.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "present"
        )]
        deadline: Option<Option<u64>>,
    },
}

/// A [`Command`] as JSON has it: `type` and every variant's fields (see [`crate::wire`]), plus
/// the fields of the protocol frame that carries a command at its top level
/// ([`CommandFrame`](crate::protocol::CommandFrame)).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommandFields {
    #[serde(rename = "type")]
    kind: String,
    display_name: Option<String>,
    option_ids: Option<Vec<OptionId>>,
    answers: Option<Answers>,
    option_id: Option<OptionId>,
    text: Option<String>,
    member: Option<PeerId>,
    role: Option<Role>,
    title: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    deadline: Option<Option<u64>>,
    /// The frame's poll.
    pub(crate) poll_id: Option<PollId>,
    /// The frame's command id.
    pub(crate) command_id: Option<CommandId>,
}

impl TryFrom<CommandFields> for Command {
    type Error = WireError;

    fn try_from(f: CommandFields) -> Result<Self, WireError> {
        Ok(match f.kind.as_str() {
            "poll:join" => Self::Join {
                display_name: required(f.display_name, "displayName")?,
            },
            // A date/time ballot may leave `optionIds` out; every other ballot needs it.
            "poll:vote" => Self::CastVote {
                option_ids: match f.answers {
                    Some(_) => f.option_ids.unwrap_or_default(),
                    None => required(f.option_ids, "optionIds")?,
                },
                answers: f.answers.unwrap_or_default(),
            },
            "poll:option:add" => Self::AddOption {
                text: required(f.text, "text")?,
            },
            "poll:option:rename" => Self::RenameOption {
                option_id: required(f.option_id, "optionId")?,
                text: required(f.text, "text")?,
            },
            "poll:option:remove" => Self::RemoveOption {
                option_id: required(f.option_id, "optionId")?,
            },
            "poll:role:update" => Self::SetRole {
                member: required(f.member, "member")?,
                role: required(f.role, "role")?,
            },
            "user:profile" => Self::UpdateProfile {
                display_name: required(f.display_name, "displayName")?,
            },
            "poll:close" => Self::Close,
            "poll:reopen" => Self::Reopen,
            "poll:edit" => Self::EditPoll {
                title: f.title,
                description: f.description,
                deadline: f.deadline,
            },
            other => return Err(unknown("type", other)),
        })
    }
}

/// Deserializes a field that is present (possibly `null`) as `Some`, so that `#[serde(default)]`
/// can tell an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// An action that depends on the author's role, named in [`Refusal::NotPermitted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Cast or withdraw a ballot.
    Vote,
    /// Add an option.
    AddOption,
    /// Rename or remove an option.
    EditOptions,
    /// Change a member's role.
    SetRole,
    /// Close the poll.
    Close,
    /// Reopen the poll.
    Reopen,
    /// Edit title, description or deadline.
    EditPoll,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vote => "vote",
            Self::AddOption => "add options",
            Self::EditOptions => "rename or remove options",
            Self::SetRole => "change roles",
            Self::Close => "close the poll",
            Self::Reopen => "reopen the poll",
            Self::EditPoll => "edit the poll",
        })
    }
}

/// The form of a `poll:vote` ballot, named in [`Refusal::WrongBallotForm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BallotForm {
    /// A list of option ids (`optionIds`): single, multiple and ranked polls.
    OptionIds,
    /// An answer per slot (`answers`): date/time polls.
    Answers,
}

/// Why the owner refused a command. `Display` is the human message sent to the author, who rolls
/// its optimistic change back. A refusal is final for its command id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(
    tag = "reason",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    try_from = "RefusalFields"
)]
#[non_exhaustive]
pub enum Refusal {
    /// The author has not joined the poll.
    #[error("join the poll first")]
    NotAMember,
    /// The author's role does not allow the action.
    #[error("{} {role} may not {action}", .role.article())]
    NotPermitted {
        /// The author's role.
        role: Role,
        /// What was attempted.
        action: Action,
    },
    /// The poll is closed.
    #[error("the poll is closed")]
    PollClosed,
    /// The poll's deadline has passed.
    #[error("the poll's deadline has passed")]
    DeadlinePassed,
    /// A deadline was set at or before the current time.
    #[error("the deadline must be in the future")]
    DeadlineInPast,
    /// A ballot names an option the poll does not have.
    #[error("option {option} does not exist")]
    UnknownOption {
        /// The unknown id.
        option: OptionId,
    },
    /// A ballot names the same option twice.
    #[error("option {option} is chosen twice")]
    DuplicateChoice {
        /// The repeated id.
        option: OptionId,
    },
    /// A ballot chooses more options than the poll allows.
    #[error("choose at most {max} option(s)")]
    TooManyChoices {
        /// The most choices allowed.
        max: u32,
    },
    /// A ballot in the wrong form for the poll's kind: option ids for a date/time poll, or
    /// answers per slot for any other poll.
    #[error("{}", match .expected {
        BallotForm::Answers => "a date/time poll is answered slot by slot (yes, if need be or no)",
        BallotForm::OptionIds => "this poll is answered by choosing options, not slot by slot",
    })]
    WrongBallotForm {
        /// The form this poll's ballots take.
        expected: BallotForm,
    },
    /// A required text is empty after trimming.
    #[error("the {field} must not be empty")]
    EmptyText {
        /// Which text.
        field: Field,
    },
    /// A text is too long.
    #[error("the {field} must be at most {max} characters")]
    TextTooLong {
        /// Which text.
        field: Field,
        /// Its limit in characters.
        max: usize,
    },
    /// A text contains a control character (or a line break where one line is expected).
    #[error("the {field} contains a character that is not allowed")]
    InvalidCharacter {
        /// Which text.
        field: Field,
    },
    /// Renaming or removing an option someone has voted for (their ballot would change meaning
    /// or vanish).
    #[error("option {option} already has votes, so it cannot change")]
    OptionHasVotes {
        /// The option.
        option: OptionId,
    },
    /// Removing an option would leave the poll with fewer than `min` options.
    #[error("a poll needs at least {min} options")]
    TooFewOptions {
        /// The least number of options.
        min: usize,
    },
    /// An option with the same text (ignoring case and surrounding spaces) exists.
    #[error("that option already exists")]
    DuplicateOption,
    /// The poll has as many options as it may.
    #[error("a poll can have at most {max} options")]
    TooManyOptions {
        /// The limit.
        max: usize,
    },
    /// The poll has as many members as it may.
    #[error("the poll is full ({max} members)")]
    TooManyMembers {
        /// The limit.
        max: usize,
    },
    /// A multiple-choice poll's maximum is outside 1..=MAX_OPTIONS.
    #[error(
        "the number of choices allowed must be from 1 to {}, not {max}",
        MAX_OPTIONS
    )]
    InvalidMaxChoices {
        /// The refused maximum.
        max: u32,
    },
    /// A role change names someone who is not a member.
    #[error("{member} is not a member of this poll")]
    UnknownMember {
        /// Who was named.
        member: PeerId,
    },
    /// A role change targets the owner.
    #[error("the owner's role cannot change")]
    CannotChangeOwnerRole,
    /// A role change tries to make someone else owner.
    #[error("a poll has exactly one owner")]
    CannotMakeOwner,
    /// Close on a closed poll.
    #[error("the poll is already closed")]
    AlreadyClosed,
    /// Reopen on an open poll.
    #[error("the poll is already open")]
    AlreadyOpen,
    /// The command id was already used by another author.
    #[error("this command id was already used by someone else")]
    CommandIdReused,
}

/// A [`Refusal`] as JSON has it: `reason` and every variant's fields (see [`crate::wire`]).
#[derive(Deserialize)]
struct RefusalFields {
    reason: String,
    role: Option<Role>,
    action: Option<Action>,
    option: Option<OptionId>,
    max: Option<u64>,
    min: Option<u64>,
    field: Option<Field>,
    member: Option<PeerId>,
    expected: Option<BallotForm>,
}

impl TryFrom<RefusalFields> for Refusal {
    type Error = WireError;

    fn try_from(f: RefusalFields) -> Result<Self, WireError> {
        let max32 = || {
            required(f.max, "max")?
                .try_into()
                .map_err(|_| out_of_range("max"))
        };
        let max = || {
            required(f.max, "max")?
                .try_into()
                .map_err(|_| out_of_range("max"))
        };
        Ok(match f.reason.as_str() {
            "notAMember" => Self::NotAMember,
            "notPermitted" => Self::NotPermitted {
                role: required(f.role, "role")?,
                action: required(f.action, "action")?,
            },
            "pollClosed" => Self::PollClosed,
            "deadlinePassed" => Self::DeadlinePassed,
            "deadlineInPast" => Self::DeadlineInPast,
            "unknownOption" => Self::UnknownOption {
                option: required(f.option, "option")?,
            },
            "duplicateChoice" => Self::DuplicateChoice {
                option: required(f.option, "option")?,
            },
            "tooManyChoices" => Self::TooManyChoices { max: max32()? },
            "wrongBallotForm" => Self::WrongBallotForm {
                expected: required(f.expected, "expected")?,
            },
            "emptyText" => Self::EmptyText {
                field: required(f.field, "field")?,
            },
            "textTooLong" => Self::TextTooLong {
                field: required(f.field, "field")?,
                max: max()?,
            },
            "invalidCharacter" => Self::InvalidCharacter {
                field: required(f.field, "field")?,
            },
            "optionHasVotes" => Self::OptionHasVotes {
                option: required(f.option, "option")?,
            },
            "tooFewOptions" => Self::TooFewOptions {
                min: required(f.min, "min")?
                    .try_into()
                    .map_err(|_| out_of_range("min"))?,
            },
            "duplicateOption" => Self::DuplicateOption,
            "tooManyOptions" => Self::TooManyOptions { max: max()? },
            "tooManyMembers" => Self::TooManyMembers { max: max()? },
            "invalidMaxChoices" => Self::InvalidMaxChoices { max: max32()? },
            "unknownMember" => Self::UnknownMember {
                member: required(f.member, "member")?,
            },
            "cannotChangeOwnerRole" => Self::CannotChangeOwnerRole,
            "cannotMakeOwner" => Self::CannotMakeOwner,
            "alreadyClosed" => Self::AlreadyClosed,
            "alreadyOpen" => Self::AlreadyOpen,
            "commandIdReused" => Self::CommandIdReused,
            other => return Err(unknown("reason", other)),
        })
    }
}
