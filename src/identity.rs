//! This browser's identity: loaded from storage, or made from the browser's CSPRNG on first run.
//!
//! The pure rules (peer ID derivation, signing) live in `starpoll_core::identity`; this module only
//! supplies the randomness and the storage.

use starpoll_core::{Identity, PeerToken};

use crate::error::AppError;
use crate::storage::Repository;

/// Returns the stored identity, creating and storing a fresh one the first time.
pub async fn load_or_create(repo: &Repository) -> Result<Identity, AppError> {
    repo.identity_or_insert(generate).await
}

/// Makes a new identity from the browser's cryptographic random source.
pub fn generate() -> Result<Identity, AppError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| AppError::Random(e.to_string()))?;
    let mut token = [0u8; PeerToken::LEN];
    getrandom::fill(&mut token).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(Identity::from_seed(seed, PeerToken::from_random(token)))
}
