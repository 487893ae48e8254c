//! Deterministic identities for simulated participants: participant `i` of a run is the same
//! ed25519 key and PeerJS token every time, so runs are repeatable and a participant that
//! registers again re-attaches instead of getting ID-TAKEN. Not secret, not for real use.

use starpoll_core::{Identity, PeerToken};

const SALT: &[u8; 24] = b"starpoll-load identity\0\0";

/// The identity of simulated participant `index`.
pub fn identity(index: u64) -> Identity {
    let mut seed = [0u8; 32];
    seed[..24].copy_from_slice(SALT);
    seed[24..].copy_from_slice(&index.to_le_bytes());
    let mut token = [0u8; PeerToken::LEN];
    for (i, byte) in token.iter_mut().enumerate() {
        // Digits of the index in base 36, padded: distinct per index, valid token characters.
        *byte = u8::try_from(index.checked_div(36u64.pow(i as u32 % 12)).unwrap_or(0) % 36)
            .unwrap_or(0);
    }
    Identity::from_seed(seed, PeerToken::from_random(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_repeatable_and_distinct() {
        assert_eq!(identity(7).peer_id(), identity(7).peer_id());
        assert_eq!(identity(7).token().as_str(), identity(7).token().as_str());
        assert_ne!(identity(7).peer_id(), identity(8).peer_id());
        let ids: std::collections::BTreeSet<_> =
            (0..2000).map(|i| identity(i).peer_id().clone()).collect();
        assert_eq!(ids.len(), 2000);
    }
}
