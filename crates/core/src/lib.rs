//! starpoll's pure core.
//!
//! Everything in this crate is deterministic Rust with no browser dependencies: it never reads the
//! clock or a random source (callers pass time and random bytes in), so it is tested natively with
//! plain `cargo test`. The browser shell (the `starpoll` app crate) owns I/O and calls into it.
//!
//! Modules:
//! - [`identity`]: ed25519 identities, the [`PeerId`] derived from a public key, signatures, and
//!   the PeerJS session token; [`identity_file`]: the identity as a file to export and import.
//! - [`poll`]: the poll domain — state, commands, the reducer ([`poll::apply`]), what each
//!   participant may see ([`poll::view_for`]), and the owner's command dedup record.
//! - [`outbox`]: a participant's pending commands for one poll, and when to resend and redial.
//! - [`follower`]: a participant's session with one poll's owner (uses the outbox).
//! - [`hub`]: a hub: every connection to every poll it serves (its own, and polls other owners
//!   delegated to it), and moving a poll to another hub.
//! - [`delegation`]: the owner's signed statement that another peer serves one of its polls.
//! - [`protocol`]: the signed JSON wire protocol between a poll's owner and its participants.
//! - [`qr`]: the QR code of an invite link as SVG path data.
//! - [`server`]: which PeerJS signaling server to use.
//! - [`settings`]: the user's signaling and ICE server settings, their validation, and which
//!   server a page load uses.
//! - [`snapshot`]: a poll's signed snapshot file — export (owner) and offline verification.
//! - [`export`]: a poll's results as CSV, from a member's view.

pub mod delegation;
pub mod explain;
pub mod export;
pub mod follower;
pub mod hex;
pub mod hub;
pub mod identity;
pub mod identity_file;
pub mod outbox;
pub mod owner_link;
pub mod participant;
pub mod poll;
pub mod protocol;
pub mod qr;
pub mod settings;
pub mod snapshot;
mod wire;

#[cfg(test)]
mod testing;

pub use identity::{Identity, IdentityError, PeerId, PeerToken, Signature};
/// The signaling server's definition is the PeerJS client's (one type for every crate).
pub use peerjs_client::server::{ServerConfig, ServerUrlError};
