//! The reducer: an accepted command turns a poll into the next poll plus the [`Event`] that
//! describes the step.
//!
//! Invariants:
//! - [`apply`] is pure: it reads the poll by reference, so a refusal leaves it untouched by
//!   construction, and the same inputs always give the same output.
//! - Every accepted command adds exactly 1 to the revision, including commands that change
//!   nothing else (a repeated identical ballot, a second `Join`, an empty edit). So the revision
//!   counts accepted commands, every ack names its own revision, and the events of a poll form a
//!   gap-free sequence: a participant that sees revision ≠ last + 1 knows it missed one.
//! - Rules: the owner may do everything; editors vote and add options if the settings let
//!   editors add them; voters vote (and add options if the settings let everyone who votes add
//!   them); viewers only update their own profile. Only the owner sets roles, closes, reopens
//!   and edits. Votes and new options are refused when the poll is closed or `now_ms >=
//!   deadline`. Everyone but the author of a `Join` must already be a member.
//! - A demoted member's ballot stays counted: it was cast while allowed, and dropping it would
//!   reveal it in anonymous polls (the tally would move by exactly that ballot).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::limits::{clean, option_key, Field, MAX_MEMBERS, MAX_OPTIONS};
use super::MIN_OPTIONS;
use super::{
    Action, Answers, BallotForm, Command, Member, OptionId, Poll, PollData, PollKind, PollOption,
    PollStatus, Refusal, Revision, Role, TallyEntry,
};
use crate::wire::{required, unknown, WireError};
use crate::PeerId;

/// One accepted step of a poll, numbered by the revision it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The poll's revision after this step.
    pub revision: Revision,
    /// What changed.
    pub change: Change,
}

/// What one step changed. [`apply`] produces every variant but the last two, which only appear
/// in per-participant events (see [`update_for`](super::update_for)) in place of a
/// [`Change::BallotCast`] the participant may not see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    try_from = "ChangeFields"
)]
pub enum Change {
    /// A member joined (or an existing member joined again, restating their entry).
    Joined {
        /// The member.
        member: PeerId,
        /// Their role.
        role: Role,
        /// Their display name.
        display_name: String,
    },
    /// A member's ballot is now `option_ids` (empty: withdrawn).
    BallotCast {
        /// Whose ballot.
        voter: PeerId,
        /// The choices (in ranked and date/time polls: the options ranked or answered).
        option_ids: BTreeSet<OptionId>,
        /// Ranked polls: the ranking, best first (absent from JSON when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ranking: Vec<OptionId>,
        /// Date/time polls: the answer per slot (absent from JSON when empty).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        answers: Answers,
    },
    /// An option was added at the end.
    OptionAdded {
        /// The new option with its assigned id.
        option: PollOption,
    },
    /// An option's text changed.
    OptionRenamed {
        /// The option.
        option_id: OptionId,
        /// Its new text.
        text: String,
    },
    /// An option was removed (nobody had voted for it).
    OptionRemoved {
        /// The option.
        option_id: OptionId,
    },
    /// A member's role changed.
    RoleSet {
        /// The member.
        member: PeerId,
        /// The new role.
        role: Role,
    },
    /// A member's display name changed.
    ProfileUpdated {
        /// The member.
        member: PeerId,
        /// The new name.
        display_name: String,
    },
    /// The poll was closed.
    Closed,
    /// The poll was reopened.
    Reopened,
    /// Title, description and deadline are now these.
    Edited {
        /// The title.
        title: String,
        /// The description.
        description: String,
        /// The deadline, Unix ms.
        deadline: Option<u64>,
    },
    /// Someone's ballot changed; the recipient sees only the new tally.
    TallyChanged {
        /// The new tally, in option order.
        tally: Vec<TallyEntry>,
    },
    /// Someone's ballot changed; the recipient may not see results yet.
    BallotHidden,
}

/// A [`Change`] as JSON has it: `kind` and every variant's fields (see [`crate::wire`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeFields {
    kind: String,
    member: Option<PeerId>,
    role: Option<Role>,
    display_name: Option<String>,
    voter: Option<PeerId>,
    option_ids: Option<BTreeSet<OptionId>>,
    ranking: Option<Vec<OptionId>>,
    answers: Option<Answers>,
    option: Option<PollOption>,
    option_id: Option<OptionId>,
    text: Option<String>,
    title: Option<String>,
    description: Option<String>,
    deadline: Option<u64>,
    tally: Option<Vec<TallyEntry>>,
}

impl TryFrom<ChangeFields> for Change {
    type Error = WireError;

    fn try_from(f: ChangeFields) -> Result<Self, WireError> {
        Ok(match f.kind.as_str() {
            "joined" => Self::Joined {
                member: required(f.member, "member")?,
                role: required(f.role, "role")?,
                display_name: required(f.display_name, "displayName")?,
            },
            "ballotCast" => Self::BallotCast {
                voter: required(f.voter, "voter")?,
                option_ids: required(f.option_ids, "optionIds")?,
                ranking: f.ranking.unwrap_or_default(),
                answers: f.answers.unwrap_or_default(),
            },
            "optionAdded" => Self::OptionAdded {
                option: required(f.option, "option")?,
            },
            "optionRenamed" => Self::OptionRenamed {
                option_id: required(f.option_id, "optionId")?,
                text: required(f.text, "text")?,
            },
            "optionRemoved" => Self::OptionRemoved {
                option_id: required(f.option_id, "optionId")?,
            },
            "roleSet" => Self::RoleSet {
                member: required(f.member, "member")?,
                role: required(f.role, "role")?,
            },
            "profileUpdated" => Self::ProfileUpdated {
                member: required(f.member, "member")?,
                display_name: required(f.display_name, "displayName")?,
            },
            "closed" => Self::Closed,
            "reopened" => Self::Reopened,
            "edited" => Self::Edited {
                title: required(f.title, "title")?,
                description: required(f.description, "description")?,
                deadline: f.deadline,
            },
            "tallyChanged" => Self::TallyChanged {
                tally: required(f.tally, "tally")?,
            },
            "ballotHidden" => Self::BallotHidden,
            other => return Err(unknown("kind", other)),
        })
    }
}

/// Applies `command` by `author` at `now_ms` to `poll`: the next poll and its event, or why not.
pub fn apply(
    poll: &Poll,
    author: &PeerId,
    command: &Command,
    now_ms: u64,
) -> Result<(Poll, Event), Refusal> {
    let mut next: PollData = poll.clone().into();
    let change = step(poll, &mut next, author, command, now_ms)?;
    next.revision = poll.revision.next();
    let event = Event {
        revision: next.revision,
        change,
    };
    Ok((Poll::from_valid_step(next), event))
}

/// Whether the owner should close the poll now because its deadline has come. The owner then
/// applies [`Command::Close`] as its own command.
pub fn due_to_close(poll: &Poll, now_ms: u64) -> bool {
    poll.status == PollStatus::Open && poll.deadline_passed(now_ms)
}

/// Checks `command` against `poll` and writes its effect into `next` (a copy of `poll`).
fn step(
    poll: &Poll,
    next: &mut PollData,
    author: &PeerId,
    command: &Command,
    now_ms: u64,
) -> Result<Change, Refusal> {
    let Some(role) = poll.role_of(author) else {
        return match command {
            Command::Join { display_name } => join(poll, next, author, display_name),
            _ => Err(Refusal::NotAMember),
        };
    };
    let require = |allowed: bool, action| {
        if allowed {
            Ok(())
        } else {
            Err(Refusal::NotPermitted { role, action })
        }
    };
    let is_owner = role == Role::Owner;
    match command {
        Command::Join { display_name } => join(poll, next, author, display_name),
        Command::CastVote {
            option_ids,
            answers,
        } => {
            require(role.may_vote(), Action::Vote)?;
            require_accepting(poll, now_ms)?;
            let change = check_ballot(poll, author, option_ids, answers)?;
            if let Change::BallotCast {
                option_ids: choices,
                ranking,
                answers,
                ..
            } = &change
            {
                next.ballots.remove(author);
                next.rankings.remove(author);
                next.answers.remove(author);
                if !choices.is_empty() {
                    next.ballots.insert(author.clone(), choices.clone());
                    if poll.kind == PollKind::Ranked {
                        next.rankings.insert(author.clone(), ranking.clone());
                    }
                    if poll.kind.answers_slots() {
                        next.answers.insert(author.clone(), answers.clone());
                    }
                }
            }
            Ok(change)
        }
        Command::AddOption { text } => {
            require(
                role.may_add_options(poll.settings.option_adders),
                Action::AddOption,
            )?;
            require_accepting(poll, now_ms)?;
            let text = clean(Field::OptionText, text)?;
            if poll.options.len() >= MAX_OPTIONS {
                return Err(Refusal::TooManyOptions { max: MAX_OPTIONS });
            }
            let key = option_key(&text);
            if poll.options.iter().any(|o| option_key(&o.text) == key) {
                return Err(Refusal::DuplicateOption);
            }
            let option = PollOption {
                id: poll.next_option_id,
                text,
                added_by: author.clone(),
            };
            next.next_option_id = OptionId(poll.next_option_id.0.saturating_add(1));
            next.options.push(option.clone());
            Ok(Change::OptionAdded { option })
        }
        Command::RenameOption { option_id, text } => {
            require(is_owner, Action::EditOptions)?;
            let index = unvoted_option(poll, *option_id)?;
            let text = clean(Field::OptionText, text)?;
            let key = option_key(&text);
            let taken = poll
                .options
                .iter()
                .any(|o| o.id != *option_id && option_key(&o.text) == key);
            if taken {
                return Err(Refusal::DuplicateOption);
            }
            if let Some(option) = next.options.get_mut(index) {
                option.text.clone_from(&text);
            }
            Ok(Change::OptionRenamed {
                option_id: *option_id,
                text,
            })
        }
        Command::RemoveOption { option_id } => {
            require(is_owner, Action::EditOptions)?;
            let index = unvoted_option(poll, *option_id)?;
            if poll.options.len() <= MIN_OPTIONS {
                return Err(Refusal::TooFewOptions { min: MIN_OPTIONS });
            }
            next.options.remove(index);
            Ok(Change::OptionRemoved {
                option_id: *option_id,
            })
        }
        Command::SetRole {
            member,
            role: new_role,
        } => {
            require(is_owner, Action::SetRole)?;
            if *member == poll.owner {
                return Err(Refusal::CannotChangeOwnerRole);
            }
            if *new_role == Role::Owner {
                return Err(Refusal::CannotMakeOwner);
            }
            let entry = next
                .members
                .get_mut(member)
                .ok_or_else(|| Refusal::UnknownMember {
                    member: member.clone(),
                })?;
            entry.role = *new_role;
            Ok(Change::RoleSet {
                member: member.clone(),
                role: *new_role,
            })
        }
        Command::UpdateProfile { display_name } => {
            let display_name = clean(Field::DisplayName, display_name)?;
            if let Some(entry) = next.members.get_mut(author) {
                entry.display_name.clone_from(&display_name);
            }
            Ok(Change::ProfileUpdated {
                member: author.clone(),
                display_name,
            })
        }
        Command::Close => {
            require(is_owner, Action::Close)?;
            if poll.status == PollStatus::Closed {
                return Err(Refusal::AlreadyClosed);
            }
            next.status = PollStatus::Closed;
            Ok(Change::Closed)
        }
        Command::Reopen => {
            require(is_owner, Action::Reopen)?;
            if poll.status == PollStatus::Open {
                return Err(Refusal::AlreadyOpen);
            }
            if poll.deadline_passed(now_ms) {
                return Err(Refusal::DeadlinePassed);
            }
            next.status = PollStatus::Open;
            Ok(Change::Reopened)
        }
        Command::EditPoll {
            title,
            description,
            deadline,
        } => {
            require(is_owner, Action::EditPoll)?;
            if let Some(title) = title {
                next.title = clean(Field::Title, title)?;
            }
            if let Some(description) = description {
                next.description = clean(Field::Description, description)?;
            }
            if let Some(deadline) = deadline {
                if deadline.is_some_and(|d| d <= now_ms) {
                    return Err(Refusal::DeadlineInPast);
                }
                next.deadline = *deadline;
            }
            Ok(Change::Edited {
                title: next.title.clone(),
                description: next.description.clone(),
                deadline: next.deadline,
            })
        }
    }
}

/// The index of `option` in `poll`, if it exists and no ballot names it.
fn unvoted_option(poll: &Poll, option: OptionId) -> Result<usize, Refusal> {
    let index = poll
        .options
        .iter()
        .position(|o| o.id == option)
        .ok_or(Refusal::UnknownOption { option })?;
    if poll
        .ballots
        .values()
        .any(|choices| choices.contains(&option))
    {
        return Err(Refusal::OptionHasVotes { option });
    }
    Ok(index)
}

fn join(
    poll: &Poll,
    next: &mut PollData,
    author: &PeerId,
    display_name: &str,
) -> Result<Change, Refusal> {
    let display_name = clean(Field::DisplayName, display_name)?;
    if let Some(member) = poll.members.get(author) {
        return Ok(Change::Joined {
            member: author.clone(),
            role: member.role,
            display_name: member.display_name.clone(),
        });
    }
    if poll.members.len() >= MAX_MEMBERS {
        return Err(Refusal::TooManyMembers { max: MAX_MEMBERS });
    }
    let role = Role::from(poll.settings.newcomer_role);
    next.members.insert(
        author.clone(),
        Member {
            role,
            display_name: display_name.clone(),
        },
    );
    Ok(Change::Joined {
        member: author.clone(),
        role,
        display_name,
    })
}

/// Votes and new options need an open poll before its deadline.
fn require_accepting(poll: &Poll, now_ms: u64) -> Result<(), Refusal> {
    if poll.status == PollStatus::Closed {
        return Err(Refusal::PollClosed);
    }
    if poll.deadline_passed(now_ms) {
        return Err(Refusal::DeadlinePassed);
    }
    Ok(())
}

/// The [`Change::BallotCast`] of `voter`'s ballot, if it is valid for the poll's kind: a set of
/// existing options within the kind's maximum, a ranking of distinct existing options, or an
/// answer per existing slot; in the form the kind takes ([`BallotForm`]).
fn check_ballot(
    poll: &Poll,
    voter: &PeerId,
    option_ids: &[OptionId],
    answers: &Answers,
) -> Result<Change, Refusal> {
    let schedule = poll.kind.answers_slots();
    if schedule && !option_ids.is_empty() {
        return Err(Refusal::WrongBallotForm {
            expected: BallotForm::Answers,
        });
    }
    if !schedule && !answers.is_empty() {
        return Err(Refusal::WrongBallotForm {
            expected: BallotForm::OptionIds,
        });
    }
    let mut choices = BTreeSet::new();
    for &option in option_ids.iter().chain(answers.keys()) {
        if poll.option(option).is_none() {
            return Err(Refusal::UnknownOption { option });
        }
        if !choices.insert(option) {
            return Err(Refusal::DuplicateChoice { option });
        }
    }
    let max = poll.kind.max_choices();
    if choices.len() > max as usize {
        return Err(Refusal::TooManyChoices { max });
    }
    Ok(Change::ballot_cast(poll.kind, voter, option_ids, answers))
}

impl Change {
    /// The [`Change::BallotCast`] of a valid ballot in a poll of `kind`: a ranking only for a
    /// ranked poll, answers only for a date/time poll. A follower uses it to show its own
    /// pending vote before the owner's answer.
    pub fn ballot_cast(
        kind: PollKind,
        voter: &PeerId,
        option_ids: &[OptionId],
        answers: &Answers,
    ) -> Self {
        let schedule = kind.answers_slots();
        Self::BallotCast {
            voter: voter.clone(),
            option_ids: if schedule {
                answers.keys().copied().collect()
            } else {
                option_ids.iter().copied().collect()
            },
            ranking: if kind == PollKind::Ranked {
                option_ids.to_vec()
            } else {
                Vec::new()
            },
            answers: if schedule {
                answers.clone()
            } else {
                Answers::new()
            },
        }
    }
}
