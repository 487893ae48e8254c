//! `starpoll-host`: the app's hub as a native, always-on process — the second shell around
//! `starpoll_core::hub::Hub` (the first is the browser's `src/hub/`). The binary is
//! `src/main.rs`; the modules are a library so tests, benchmarks and load clients can reuse the
//! transport and the store.
//!
//! Modules:
//! - [`config`]: flags and environment, checked;
//! - [`identity`]: the host's key and token, created once in the data directory;
//! - [`store`]: SQLite (WAL, versioned schema, one transaction per flush);
//! - [`hub`]: the hub runtime (queue, commit, then sends) — the mirror of `src/hub/`;
//! - [`rtc`]: str0m WebRTC connections carrying PeerJS `binary` data channels;
//! - [`net`]: UDP sockets and STUN-learnt candidates; [`signaling`]: the PeerJS WebSocket;
//! - [`run`]: the main loop; [`log`]: structured log lines on standard error; [`output`]: the
//!   subcommands' lines on standard output.

pub mod config;
pub mod hub;
pub mod identity;
pub mod log;
pub mod net;
pub mod output;
pub mod rtc;
pub mod run;
pub mod signaling;
pub mod store;
