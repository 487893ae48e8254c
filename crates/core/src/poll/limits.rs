//! Size limits of a poll and the one place user text is cleaned and checked.
//!
//! Invariants: every text stored in a [`Poll`](super::Poll) is the output of [`clean`] for its
//! [`Field`]: trimmed, within the field's length in characters (Unicode scalar values), non-empty
//! where required, and free of control characters (a description may contain line breaks and
//! tabs). The limits also bound the size of a full snapshot, so it fits in one protocol frame.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Refusal;

/// Longest poll title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest poll description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest option text, in characters.
pub const MAX_OPTION_CHARS: usize = 200;
/// Most options a poll can have.
pub const MAX_OPTIONS: usize = 50;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;
/// Most members (the owner included) a poll can have.
pub const MAX_MEMBERS: usize = 256;

/// A user-supplied text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    /// The poll's title (required, one line).
    Title,
    /// The poll's description (optional, may span lines).
    Description,
    /// An option's text (required, one line).
    OptionText,
    /// A member's display name (required, one line).
    DisplayName,
}

impl Field {
    /// The field's maximum length in characters.
    pub fn max_chars(self) -> usize {
        match self {
            Self::Title => MAX_TITLE_CHARS,
            Self::Description => MAX_DESCRIPTION_CHARS,
            Self::OptionText => MAX_OPTION_CHARS,
            Self::DisplayName => MAX_DISPLAY_NAME_CHARS,
        }
    }

    fn required(self) -> bool {
        !matches!(self, Self::Description)
    }

    fn allows(self, c: char) -> bool {
        !c.is_control() || (self == Self::Description && (c == '\n' || c == '\t'))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Title => "title",
            Self::Description => "description",
            Self::OptionText => "option text",
            Self::DisplayName => "display name",
        })
    }
}

/// Trims `text` and checks it against `field`'s rules.
pub fn clean(field: Field, text: &str) -> Result<String, Refusal> {
    let text = text.trim();
    if text.is_empty() && field.required() {
        return Err(Refusal::EmptyText { field });
    }
    let max = field.max_chars();
    if text.chars().count() > max {
        return Err(Refusal::TextTooLong { field, max });
    }
    if !text.chars().all(|c| field.allows(c)) {
        return Err(Refusal::InvalidCharacter { field });
    }
    Ok(text.to_owned())
}

/// The form in which two option texts are compared for duplicates.
pub(crate) fn option_key(text: &str) -> String {
    text.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_checked() {
        assert_eq!(clean(Field::Title, "  Lunch? \n"), Ok("Lunch?".into()));
        assert_eq!(
            clean(Field::Title, "   "),
            Err(Refusal::EmptyText {
                field: Field::Title
            })
        );
        assert_eq!(clean(Field::Description, "  "), Ok(String::new()));
        assert_eq!(
            clean(Field::DisplayName, &"é".repeat(41)),
            Err(Refusal::TextTooLong {
                field: Field::DisplayName,
                max: 40
            })
        );
        // Length counts characters, not bytes.
        assert!(clean(Field::DisplayName, &"é".repeat(40)).is_ok());
        assert_eq!(
            clean(Field::OptionText, "a\nb"),
            Err(Refusal::InvalidCharacter {
                field: Field::OptionText
            })
        );
        assert_eq!(clean(Field::Description, "a\n\tb"), Ok("a\n\tb".into()));
        assert!(clean(Field::Description, "a\u{7}b").is_err());
    }

    #[test]
    fn option_keys_ignore_case_and_spaces() {
        assert_eq!(option_key(" Pizza "), option_key("pIZZA"));
    }
}
