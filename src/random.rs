//! The browser's CSPRNG, as the random inputs the pure core asks for (ids, seeds).

use starpoll_core::poll::{CommandId, PollId};

use crate::error::AppError;

/// `N` bytes from `crypto.getRandomValues`.
pub fn bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(out)
}

/// A fresh command id (a random UUID v4).
pub fn command_id() -> Result<CommandId, AppError> {
    bytes().map(CommandId::from_random_bytes)
}

/// A fresh poll id (a random UUID v4).
pub fn poll_id() -> Result<PollId, AppError> {
    bytes().map(PollId::from_random_bytes)
}

/// The current time in Unix milliseconds (the clock input of the core's machines).
pub fn now_ms() -> u64 {
    // Date.now() is a non-negative integral f64 well below 2^53.
    js_sys::Date::now().max(0.0) as u64
}
