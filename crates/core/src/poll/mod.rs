//! The poll domain: state, commands, the reducer, visibility, and command dedup — pure data and
//! functions, free of wire details (signatures, frames, versions live in
//! [`protocol`](crate::protocol)).
//!
//! The owner's loop, per incoming command `(author, id, command)` at time `now_ms`:
//! 1. `processed.process(&poll, author, id, &command, now_ms)` ([`ProcessedCommands`]) — applies
//!    via [`apply`] unless `id` was seen, and says what to answer;
//! 2. on [`Processed::Applied`], persist the new poll and the record together, then send every
//!    connected participant [`update_for`]`(old, new, event, participant)`;
//! 3. answer the author with the [`Outcome`] (`ack` or `error`).
//!
//! Separately, whenever [`due_to_close`] holds, the owner applies [`Command::Close`] as itself.
//!
//! Membership is explicit: a participant sends [`Command::Join`] (idempotent) before anything
//! else; every other command from a non-member is refused with [`Refusal::NotAMember`]. This
//! keeps "who is in the poll" visible state that the owner can assign roles in, and it is the one
//! place a newcomer's display name and default role are set.

mod apply;
mod command;
mod count;
mod dedup;
mod draft;
mod ids;
pub mod limits;
mod model;
mod slot;
mod view;

#[cfg(test)]
mod tests;

pub use apply::{apply, due_to_close, Change, Event};
pub(crate) use command::CommandFields;
pub use command::{Action, BallotForm, Command, Refusal};
pub use count::{best_slot, runoff, slot_tallies, Answer, Answers, Round, Runoff, SlotTally};
pub use dedup::{Outcome, Processed, ProcessedCommands, ProcessedRecord};
pub use draft::{DraftField, DraftProblem, MIN_OPTIONS};
pub use ids::{CommandId, IdError, OptionId, PollId, Revision};
pub use limits::Field;
pub use model::{
    InvalidPoll, Member, NewcomerRole, OptionAdders, Poll, PollData, PollDraft, PollKind,
    PollOption, PollStatus, ResultsVisibility, Role, Settings,
};
pub use slot::{slot_label, SlotError, SlotInput};
pub use view::{
    results_visible, tally, tenths, tenths_text, update_for, view_for, PollView, ResultsView,
    TallyEntry, Update, ViewError,
};
