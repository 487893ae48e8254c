//! Fixtures shared by the crate's unit tests: deterministic identities and ids, and a fixed clock.

use crate::poll::{CommandId, PollId};
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

/// Command id number `n`.
pub fn cid(n: u8) -> CommandId {
    CommandId::from_random_bytes([n; 16])
}
