//! `starpoll-load`: the load side of the host's scale benchmarks (`./scripts/bench --only
//! B9,B10`). Many simulated participants in one process — each a real PeerJS peer with its own
//! ed25519 identity, signaling WebSocket, UDP socket and the host's str0m transport, following
//! a poll through the core's `OwnerLink`/`Follower` — timed on one monotonic clock; and the
//! baseline, a raw str0m broadcaster with raw clients on the same stack.
//!
//! Modules:
//! - [`swarm`]: the nodes (session + socket + transport) and the one driving loop;
//! - [`followers`]: participants of a poll on a hub (the starpoll protocol);
//! - [`raw`]: the baseline broadcaster and its clients (no starpoll on top);
//! - [`stats`]: quantiles, the drain check, `/proc` memory figures (pure);
//! - [`identity`]: deterministic identities from an index (randomness is an input).

pub mod followers;
pub mod identity;
pub mod raw;
pub mod stats;
pub mod swarm;
