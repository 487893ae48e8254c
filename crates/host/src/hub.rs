//! The hub runtime: runs the core's [`Hub`] for the host's polls against the real world —
//! WebRTC connections, SQLite, the clock. The native mirror of the app's `src/hub.rs`.
//!
//! The loop: every input (a connection opening, a frame, a close, the timer) goes into the pure
//! hub with the current time and yields a [`Step`], which goes into the core's commit
//! [`Pipeline`] — the rule the browser hub (`src/hub.rs`) follows too. [`HubRuntime::flush`]
//! performs the pipeline's outputs: it commits **all** steps queued since the last flush in one
//! SQLite transaction and only then hands back their sends, closes and dials, in order, for the
//! transport to perform. So an ack never leaves before its commit (PROTOCOL.md §4.2), and a
//! burst of commands costs one transaction per flush, not one per command.
//!
//! Moves (PROTOCOL.md §8): the hub's [`Write::Hosting`] and [`Write::Tombstone`] are stored like
//! its other writes and restored here ([`Hub::restore_hosting`], [`Hub::restore_deleted`]), so
//! a restarted host serves a poll prepared then activated, keeps redirecting for a poll it moved
//! away (and re-sends an unacknowledged `hub:activate`), and serves as before a poll whose move
//! out had not reached its commit point. [`Step::dials`] come out in [`Perform::dials`]; the
//! loop reports an opened dial with [`HubRuntime::dialed`].
//!
//! If a commit fails, the runtime stops: its in-memory state is ahead of the database, so it
//! performs nothing more and the host exits; participants keep their commands and resend them
//! when it is back (restored from what was committed).
//!
//! All use of [`Hub`]'s constructor and restore is in [`HubRuntime::start`], so the hand-off
//! work on the core (a hub serving delegated polls) changes this file in one place.

use std::rc::Rc;

use starpoll_core::hub::pipeline::{self, Pipeline};
use starpoll_core::hub::{ConnId, Hub, Incoming, Limits, Step, Write};
use starpoll_core::poll::CommandId;
use starpoll_core::{Identity, PeerId};

use crate::log;
use crate::store::{Store, StoreError};

/// What a flush asks the transport to do, in order, after the commit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Perform {
    /// Frames to send.
    pub sends: Vec<(ConnId, Rc<str>)>,
    /// Connections to close.
    pub closes: Vec<ConnId>,
    /// Peers to dial (hub-to-hub connections, PROTOCOL.md §8.4); each one that opens is
    /// reported with [`HubRuntime::dialed`], one that fails is not reported at all.
    pub dials: Vec<PeerId>,
}

/// The hub, its store and its commit pipeline.
pub struct HubRuntime {
    hub: Hub,
    store: Store,
    /// Steps waiting for their commit (`core::hub::pipeline`).
    pipeline: Pipeline,
    /// Command records committed so far (for the health line).
    committed_records: u64,
}

impl HubRuntime {
    /// Loads the stored polls into a hub for `identity`. A stored poll the hub refuses (another
    /// owner's) is skipped with a log line.
    pub fn start(identity: Identity, store: Store) -> Result<Self, StoreError> {
        // Hundreds of subscribers (issue 18): `peer:discovery` coalesced (PROTOCOL.md §4.9).
        let mut hub = Hub::new(identity, Limits::default().coalesced_discovery());
        hub.restore_deleted(store.load_deleted()?);
        let mut hosting = store.load_hosting()?;
        for (poll, records) in store.load()? {
            let count = records.len();
            let restored = match hosting.remove(&poll.id) {
                Some(held) => hub
                    .restore_hosting(poll.id, held, Some(poll), records)
                    .map_err(|e| e.to_string()),
                None => hub.restore(poll, records).map_err(|e| e.to_string()),
            };
            if let Err(error) = restored {
                log!(Warn, "store.poll_skipped", error = error, records = count);
            }
        }
        // Polls moved away: only how they left is kept (to redirect and finish the move).
        for (id, held) in hosting {
            if let Err(error) = hub.restore_hosting(id, held, None, Vec::new()) {
                log!(Warn, "store.hosting_skipped", error = error.to_string());
            }
        }
        Ok(Self {
            hub,
            store,
            pipeline: Pipeline::new(),
            committed_records: 0,
        })
    }

    /// The hub (read only).
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Command records committed since start.
    pub fn committed_records(&self) -> u64 {
        self.committed_records
    }

    /// A participant's data channel opened.
    pub fn opened(&mut self, conn: ConnId, remote: &str, now_ms: u64) {
        let step = self.hub.opened(conn, remote, now_ms);
        self.enqueue(step);
    }

    /// A connection the hub asked for ([`Perform::dials`]) opened to `remote`.
    pub fn dialed(&mut self, conn: ConnId, remote: &str, now_ms: u64) {
        let step = self.hub.dialed(conn, remote, now_ms);
        self.enqueue(step);
    }

    /// A message arrived: a string is a frame; anything else is answered as not one.
    pub fn receive(&mut self, conn: ConnId, incoming: Incoming<'_>, now_ms: u64) {
        let step = self.hub.receive(conn, incoming, now_ms);
        self.enqueue(step);
    }

    /// A connection closed.
    pub fn closed(&mut self, conn: ConnId) {
        let step = self.hub.closed(conn);
        self.enqueue(step);
    }

    /// The timer fired (or the host starts): heartbeats, silent connections, poll deadlines.
    pub fn wake(&mut self, now_ms: u64, fresh_id: impl FnMut() -> Option<CommandId>) {
        let step = self.hub.handle_timeout(now_ms, fresh_id);
        self.enqueue(step);
    }

    /// When [`HubRuntime::wake`] has something to do (Unix ms).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.hub.poll_timeout()
    }

    /// Whether steps wait for a flush.
    pub fn pending(&self) -> bool {
        !self.pipeline.is_idle()
    }

    fn enqueue(&mut self, step: Step) {
        self.pipeline.handle_input(pipeline::Input::Step(step));
    }

    /// Commits every queued step's writes in one transaction, then returns their sends, closes
    /// and dials, in order. On error nothing is returned and the steps are dropped: the caller
    /// must stop.
    pub fn flush(&mut self) -> Result<Perform, StoreError> {
        let mut perform = Perform::default();
        while let Some(output) = self.pipeline.poll_output() {
            match output {
                pipeline::Output::Commit(writes) => {
                    if let Err(error) = self.store.commit(&writes) {
                        // The pipeline drops every step and lets nothing more out.
                        self.pipeline.handle_input(pipeline::Input::Failed);
                        while self.pipeline.poll_output().is_some() {}
                        return Err(error);
                    }
                    self.pipeline.handle_input(pipeline::Input::Committed);
                    self.committed_records += writes
                        .iter()
                        .filter(|w| matches!(w, Write::Record(..)))
                        .count() as u64;
                }
                pipeline::Output::Send(conn, frame) => perform.sends.push((conn, frame)),
                pipeline::Output::Close(conn) => perform.closes.push(conn),
                pipeline::Output::Dial(peer) => {
                    if !perform.dials.contains(&peer) {
                        perform.dials.push(peer);
                    }
                }
                pipeline::Output::Log(line) => log!(Info, "hub.note", message = line),
                // The host has no owner's screen to refresh.
                pipeline::Output::Changed => {}
                // Only after a failed commit, which returned above.
                pipeline::Output::Stopped => {}
            }
        }
        Ok(perform)
    }
}

#[cfg(test)]
mod tests;
