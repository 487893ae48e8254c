//! The owner's memory of commands it has answered, so a resent command is answered again the same
//! way and never applied twice.
//!
//! Invariants:
//! - A command id maps to the author who first used it and the outcome they got; the entry never
//!   changes afterwards. A resend (same author, same id) gets that outcome back, whatever the
//!   resent command says, and the poll is not touched.
//! - Refusals are remembered too: a refusal is final for its command id (the participant makes a
//!   new command to try again).
//! - The owner persists [`ProcessedCommands`] in the same transaction as the poll it belongs to,
//!   so after a crash both reflect the same commands.
//! - An applied `poll:vote` keeps the signed frame it arrived in (when the caller passes it to
//!   [`ProcessedCommands::process_signed`]), so a signed snapshot can prove each ballot
//!   ([`crate::snapshot`]); no other command keeps its frame.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{apply, Command, CommandId, Event, Poll, Refusal, Revision};
use crate::wire::{required, unknown, WireError};
use crate::PeerId;

/// How the owner answered a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase", try_from = "OutcomeFields")]
pub enum Outcome {
    /// Applied; the poll reached `revision`.
    Acked {
        /// The revision the command produced.
        revision: Revision,
    },
    /// Refused, with the reason.
    Refused {
        /// Why.
        refusal: Refusal,
    },
}

/// An [`Outcome`] as JSON has it: `outcome` and every variant's fields (see [`crate::wire`]).
#[derive(Deserialize)]
struct OutcomeFields {
    outcome: String,
    revision: Option<Revision>,
    refusal: Option<Refusal>,
}

impl TryFrom<OutcomeFields> for Outcome {
    type Error = WireError;

    fn try_from(f: OutcomeFields) -> Result<Self, WireError> {
        match f.outcome.as_str() {
            "acked" => Ok(Self::Acked {
                revision: required(f.revision, "revision")?,
            }),
            "refused" => Ok(Self::Refused {
                refusal: required(f.refusal, "refusal")?,
            }),
            other => Err(unknown("outcome", other)),
        }
    }
}

/// The result of [`ProcessedCommands::process`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// First time seen and accepted: store `poll` (with the updated record), ack the author, and
    /// send each participant its [`update_for`](super::update_for) of `event`.
    Applied {
        /// The next poll.
        poll: Box<Poll>,
        /// The step, for broadcasting.
        event: Event,
        /// `Acked` with the event's revision.
        outcome: Outcome,
    },
    /// First time seen and refused (or an id reused by another author): answer with the error.
    Refused {
        /// `Refused` with the reason.
        outcome: Outcome,
    },
    /// Seen before: answer with the stored outcome; nothing else happens.
    Replayed {
        /// The outcome the first copy got.
        outcome: Outcome,
    },
}

impl Processed {
    /// The answer owed to the author.
    pub fn outcome(&self) -> &Outcome {
        match self {
            Self::Applied { outcome, .. }
            | Self::Refused { outcome }
            | Self::Replayed { outcome } => outcome,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    author: PeerId,
    #[serde(flatten)]
    outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    frame: Option<String>,
}

/// One entry of a [`ProcessedCommands`], as the owner stores it (one row per command, written in
/// the same transaction as the poll state it produced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessedRecord {
    /// The command.
    pub command_id: CommandId,
    /// Who sent it first.
    pub author: PeerId,
    /// How it was answered.
    pub outcome: Outcome,
    /// The signed frame text of an applied `poll:vote` (the owner's own votes are sealed by the
    /// hub), so a snapshot can show the voter's signature. `None` for every other command, and
    /// for records stored by builds that did not keep frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<String>,
}

/// Command id → (author, outcome), for one poll.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProcessedCommands(BTreeMap<CommandId, Entry>);

impl ProcessedCommands {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// The outcome recorded for `id`, if any.
    pub fn outcome(&self, id: &CommandId) -> Option<&Outcome> {
        self.0.get(id).map(|entry| &entry.outcome)
    }

    /// The stored form of the entry for `id`, if any.
    pub fn record(&self, id: &CommandId) -> Option<ProcessedRecord> {
        self.0.get(id).map(|entry| ProcessedRecord {
            command_id: *id,
            author: entry.author.clone(),
            outcome: entry.outcome.clone(),
            frame: entry.frame.clone(),
        })
    }

    /// Every stored record, by command id.
    pub fn records(&self) -> impl Iterator<Item = ProcessedRecord> + '_ {
        self.0.keys().filter_map(|id| self.record(id))
    }

    /// How many commands are recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Answers command `id` from `author`: replays the recorded outcome if `id` was seen, else
    /// applies `command` to `poll` at `now_ms` and records the outcome.
    pub fn process(
        &mut self,
        poll: &Poll,
        author: &PeerId,
        id: CommandId,
        command: &Command,
        now_ms: u64,
    ) -> Processed {
        self.process_signed(poll, author, id, command, now_ms, None)
    }

    /// [`ProcessedCommands::process`], given the signed frame text the command arrived in: if
    /// the command is a `poll:vote` and it is applied, the record keeps `frame`.
    pub fn process_signed(
        &mut self,
        poll: &Poll,
        author: &PeerId,
        id: CommandId,
        command: &Command,
        now_ms: u64,
        frame: Option<&str>,
    ) -> Processed {
        if let Some(entry) = self.0.get(&id) {
            return if entry.author == *author {
                Processed::Replayed {
                    outcome: entry.outcome.clone(),
                }
            } else {
                Processed::Refused {
                    outcome: Outcome::Refused {
                        refusal: Refusal::CommandIdReused,
                    },
                }
            };
        }
        let (processed, outcome) = match apply(poll, author, command, now_ms) {
            Ok((poll, event)) => {
                let outcome = Outcome::Acked {
                    revision: event.revision,
                };
                let processed = Processed::Applied {
                    poll: Box::new(poll),
                    event,
                    outcome: outcome.clone(),
                };
                (processed, outcome)
            }
            Err(refusal) => {
                let outcome = Outcome::Refused { refusal };
                let processed = Processed::Refused {
                    outcome: outcome.clone(),
                };
                (processed, outcome)
            }
        };
        let applied_vote = matches!(command, Command::CastVote { .. })
            && matches!(processed, Processed::Applied { .. });
        self.0.insert(
            id,
            Entry {
                author: author.clone(),
                outcome,
                frame: frame.filter(|_| applied_vote).map(str::to_owned),
            },
        );
        processed
    }
}

impl FromIterator<ProcessedRecord> for ProcessedCommands {
    /// Rebuilds the record from stored rows (a later row for the same id replaces an earlier one).
    fn from_iter<I: IntoIterator<Item = ProcessedRecord>>(rows: I) -> Self {
        Self(
            rows.into_iter()
                .map(|row| {
                    let entry = Entry {
                        author: row.author,
                        outcome: row.outcome,
                        frame: row.frame,
                    };
                    (row.command_id, entry)
                })
                .collect(),
        )
    }
}
