//! A PeerJS-protocol client in Rust: talk to a stock PeerJS server (npm `peer`) and to stock
//! `peerjs` browser clients from Rust compiled to WebAssembly.
//!
//! The crate is two layers:
//!
//! - **Pure, sans-IO machines** (always built, no browser crates, never read the clock or a
//!   random source — time and randomness are inputs, so everything is tested natively):
//!   - [`signal`]: every signaling frame (`OPEN`, `ID-TAKEN`, `ERROR`, `HEARTBEAT`, `OFFER`,
//!     `ANSWER`, `CANDIDATE`, `LEAVE`, `EXPIRE`) as typed serde values;
//!   - [`session`]: the signaling session (register, heartbeat, same-token re-attach, queued
//!     outbound frames, early ANSWER/CANDIDATE buffering, EXPIRE and connect timeouts, reconnect
//!     with jittered exponential [`backoff`]);
//!   - [`binarypack`] and [`chunker`]: PeerJS's `binary` serialization, byte-compatible with
//!     `peerjs-js-binarypack` 2.1.0 including the 16,300-byte chunking;
//!   - [`data`]: per-connection framing for `json`, `raw` and `binary`, and the liveness check;
//!   - [`server`]: where the signaling server and the ICE servers are ([`server::ServerConfig`],
//!     [`server::IceServer`]), the one definition every user of the crate shares.
//! - **The browser transport** (feature `web`, wasm32): [`web::Peer`] and
//!   [`web::DataConnection`] on web-sys `WebSocket` and `RTCPeerConnection`.
//!
//! # Example (feature `web`, in a browser)
//!
//! ```no_run
//! # #[cfg(feature = "web")]
//! # async fn demo() {
//! use futures_util::StreamExt;
//! use peerjs_client::data::Data;
//! use peerjs_client::signal::Serialization;
//! use peerjs_client::server::ServerConfig;
//! use peerjs_client::web::{ConnectOptions, ConnectionEvent, Peer, PeerEvent, PeerOptions};
//!
//! let options = PeerOptions {
//!     server: ServerConfig::local(),
//!     ice_servers: vec![],
//!     ..PeerOptions::default()
//! };
//! // Keep the token with the ID (e.g. in IndexedDB) and reuse it after a reload.
//! let token = Peer::random_token();
//! let (peer, mut peer_events) = Peer::new("alice", &token, options);
//! while let Some(event) = peer_events.next().await {
//!     if let PeerEvent::Open = event {
//!         break;
//!     }
//! }
//! let options = ConnectOptions { serialization: Serialization::Json, ..Default::default() };
//! let conn = peer.connect("bob", options).expect("RTCPeerConnection");
//! let mut events = conn.events().expect("first call");
//! while let Some(event) = events.next().await {
//!     match event {
//!         ConnectionEvent::Open => {
//!             conn.send(&Data::Json(serde_json::json!({"hello": "bob"}))).ok();
//!         }
//!         ConnectionEvent::Data(data) => println!("bob says {data:?}"),
//!         ConnectionEvent::Error(e) => println!("{e}"), // e.g. peer-unavailable
//!         ConnectionEvent::Close => break,
//!     }
//! }
//! # }
//! ```
//!
//! See the crate's `README.md` for what is and is not supported compared with PeerJS.

pub mod backoff;
pub mod binarypack;
pub mod chunker;
pub mod data;
pub mod sdp;
pub mod server;
pub mod session;
pub mod signal;

#[cfg(feature = "web")]
pub mod web;
