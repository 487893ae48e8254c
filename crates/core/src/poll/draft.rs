//! Checking a new poll's draft field by field, so the creation form can show each problem next
//! to its field and the hub refuses exactly the same drafts ([`Poll::new`] uses the first
//! problem). A poll needs a title and at least [`MIN_OPTIONS`] different, non-empty options;
//! blank option rows are not options (the form skips them).

use super::limits::{clean, option_key, Field, MAX_OPTIONS};
use super::{PollDraft, Refusal};

/// The fewest options a new poll may have.
pub const MIN_OPTIONS: usize = 2;

/// Where in the draft a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftField {
    /// The title (the form's "Question").
    Title,
    /// The description.
    Description,
    /// The option row at this index of [`PollDraft::options`] (blank rows count).
    Option(usize),
    /// The options as a whole (too many).
    Options,
    /// Single or multiple choice and its maximum.
    Kind,
    /// The closing time.
    Deadline,
    /// The owner's display name.
    OwnerName,
}

/// One problem of a draft: where, and the refusal [`Poll::new`](super::Poll::new) would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftProblem {
    /// Where.
    pub field: DraftField,
    /// Why.
    pub refusal: Refusal,
}

impl PollDraft {
    /// Every problem of this draft at `now_ms`, in the order of the form's fields; empty when a
    /// poll can be created from it. Blank option rows are skipped, and "fewer than
    /// [`MIN_OPTIONS`] different options" is reported on the first blank row (or on the
    /// options as a whole when there is none) as an empty option text.
    pub fn problems(&self, now_ms: u64) -> Vec<DraftProblem> {
        let mut problems = Vec::new();
        let mut add = |field, refusal| problems.push(DraftProblem { field, refusal });
        if let Err(refusal) = clean(Field::Title, &self.title) {
            add(DraftField::Title, refusal);
        }
        if let Err(refusal) = clean(Field::Description, &self.description) {
            add(DraftField::Description, refusal);
        }
        let mut keys: Vec<String> = Vec::new();
        let mut first_blank = None;
        let mut given = 0;
        for (i, text) in self.options.iter().enumerate() {
            if text.trim().is_empty() {
                first_blank.get_or_insert(i);
                continue;
            }
            given += 1;
            match clean(Field::OptionText, text) {
                Err(refusal) => add(DraftField::Option(i), refusal),
                Ok(text) if keys.contains(&option_key(&text)) => {
                    add(DraftField::Option(i), Refusal::DuplicateOption);
                }
                Ok(text) => keys.push(option_key(&text)),
            }
        }
        if given > MAX_OPTIONS {
            add(
                DraftField::Options,
                Refusal::TooManyOptions { max: MAX_OPTIONS },
            );
        }
        if given < MIN_OPTIONS {
            let field = first_blank.map_or(DraftField::Options, DraftField::Option);
            add(
                field,
                Refusal::EmptyText {
                    field: Field::OptionText,
                },
            );
        }
        if let Err(refusal) = self.kind.check() {
            add(DraftField::Kind, refusal);
        }
        if self.deadline.is_some_and(|deadline| deadline <= now_ms) {
            add(DraftField::Deadline, Refusal::DeadlineInPast);
        }
        if let Err(refusal) = clean(Field::DisplayName, &self.owner_name) {
            add(DraftField::OwnerName, refusal);
        }
        problems
    }
}
