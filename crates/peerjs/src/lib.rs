//! A PeerJS-protocol client (work in progress; see the module list).
//!
//! The pure part (this crate's default build) has no browser dependencies and never reads the
//! clock or a random source; time and randomness are inputs.

pub mod backoff;
pub mod binarypack;
pub mod chunker;
pub mod data;
pub mod session;
pub mod signal;

#[cfg(feature = "web")]
pub mod web;
