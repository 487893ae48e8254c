//! Fixtures shared by the crate's unit tests: deterministic identities and ids, and a fixed clock.

use crate::poll::{Command, CommandId, OptionId, PollDraft, PollId, PollKind, Settings};
use crate::{Identity, PeerToken};

/// The tests' "now" (Unix ms).
pub const NOW: u64 = 1_700_000_000_000;

/// Identity number `n` (seed and token filled with `n`).
pub fn identity(n: u8) -> Identity {
    Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN]))
}

/// The poll most tests use.
pub fn poll_id() -> PollId {
    PollId::from_random_bytes([0x11; 16])
}

/// Poll number `n`, for tests of several polls of one owner.
pub fn poll_n(n: u8) -> PollId {
    PollId::from_random_bytes([n; 16])
}

/// A vote for the one option `option`.
pub fn vote(option: u32) -> Command {
    Command::CastVote {
        option_ids: std::iter::once(OptionId(option)).collect(),
        answers: Default::default(),
    }
}

/// Command id number `n`.
pub fn cid(n: u8) -> CommandId {
    CommandId::from_random_bytes([n; 16])
}

/// The draft most tests create: "Lunch?" by Olga, single choice between Pizza and Sushi.
pub fn lunch_draft() -> PollDraft {
    PollDraft {
        title: "Lunch?".into(),
        description: String::new(),
        options: vec!["Pizza".into(), "Sushi".into()],
        kind: PollKind::Single,
        deadline: None,
        settings: Settings::default(),
        owner_name: "Olga".into(),
    }
}

/// [`lunch_draft`] with the poll in the owner's public `poll:list`.
pub fn listed_lunch_draft() -> PollDraft {
    let mut draft = lunch_draft();
    draft.settings.listed = true;
    draft
}
