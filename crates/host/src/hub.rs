//! The hub runtime: runs the core's [`Hub`] for the host's polls against the real world —
//! WebRTC connections, SQLite, the clock. The native mirror of the app's `src/hub/`.
//!
//! The loop: every input (a connection opening, a frame, a close, the timer) goes into the core's
//! [`HubMachine`] with the current time — the machine the browser hub (`src/hub/`) drives
//! too. [`HubRuntime::flush`] performs its outputs: it commits **all** inputs fed since the last
//! flush in one SQLite transaction and only then hands back their sends, closes and dials, in
//! order, for the transport to perform. So an ack never leaves before its commit (PROTOCOL.md
//! §4.2), and a burst of commands costs one transaction per flush, not one per command.
//!
//! Moves (PROTOCOL.md §8): the hub's [`Write::Hosting`] and [`Write::Tombstone`] are stored like
//! its other writes and restored here ([`Hub::restore_hosting`], [`Hub::restore_deleted`]), so
//! a restarted host serves a poll prepared then activated, keeps redirecting for a poll it moved
//! away (and re-sends an unacknowledged `hub:activate`), and serves as before a poll whose move
//! out had not reached its commit point. [`Output::Dial`]s come out in [`Perform::dials`]; the
//! loop reports an opened dial with [`HubRuntime::dialed`].
//!
//! If a commit fails, the runtime stops: its in-memory state is ahead of the database, so it
//! performs nothing more and the host exits; participants keep their commands and resend them
//! when it is back (restored from what was committed).
//!
//! All use of [`Hub`]'s constructor and restore is in [`HubRuntime::start`], so the hand-off
//! work on the core (a hub serving delegated polls) changes this file in one place.

use std::rc::Rc;

use starpoll_core::hub::machine::{HubMachine, Input, Output};
use starpoll_core::hub::{ConnId, Hub, Incoming, Limits, Write};
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

/// The hub machine and its store.
pub struct HubRuntime {
    machine: HubMachine,
    store: Store,
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
            machine: HubMachine::new(hub),
            store,
            committed_records: 0,
        })
    }

    /// The hub (read only).
    pub fn hub(&self) -> &Hub {
        self.machine.hub()
    }

    /// Command records committed since start.
    pub fn committed_records(&self) -> u64 {
        self.committed_records
    }

    /// A participant's data channel opened (the host reads no DTLS fingerprints yet, so its
    /// frames stay signed one by one, PROTOCOL.md §2.7).
    pub fn opened(&mut self, conn: ConnId, remote: &str, now_ms: u64) {
        let channel = None;
        let opened = Input::Opened {
            conn,
            remote,
            channel,
        };
        self.machine.handle_input(opened, now_ms);
    }

    /// A connection the hub asked for ([`Perform::dials`]) opened to `remote`.
    pub fn dialed(&mut self, conn: ConnId, remote: &str, now_ms: u64) {
        self.machine
            .handle_input(Input::Dialed { conn, remote }, now_ms);
    }

    /// A message arrived: a string is a frame; anything else is answered as not one.
    pub fn receive(&mut self, conn: ConnId, incoming: Incoming<'_>, now_ms: u64) {
        self.machine
            .handle_input(Input::Received(conn, incoming), now_ms);
    }

    /// A connection closed.
    pub fn closed(&mut self, conn: ConnId) {
        // A close needs no clock (the hub only forgets the connection).
        self.machine.handle_input(Input::Closed(conn), 0);
    }

    /// The timer fired (or the host starts): heartbeats, silent connections, poll deadlines.
    pub fn wake(&mut self, now_ms: u64, fresh_id: impl FnMut() -> Option<CommandId>) {
        self.machine.handle_timeout(now_ms, fresh_id);
    }

    /// When [`HubRuntime::wake`] has something to do (Unix ms).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.machine.poll_timeout()
    }

    /// Whether inputs wait for a flush.
    pub fn pending(&self) -> bool {
        !self.machine.is_idle()
    }

    /// Commits every queued step's writes in one transaction, then returns their sends, closes
    /// and dials, in order. On error nothing is returned and the steps are dropped: the caller
    /// must stop.
    pub fn flush(&mut self) -> Result<Perform, StoreError> {
        let mut perform = Perform::default();
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Commit(writes) => {
                    if let Err(error) = self.store.commit(&writes) {
                        // The machine drops every input and lets nothing more out.
                        // The end of a commit reads no clock.
                        self.machine.handle_input(Input::Failed, 0);
                        while self.machine.poll_output().is_some() {}
                        return Err(error);
                    }
                    self.machine.handle_input(Input::Committed, 0);
                    self.committed_records += writes
                        .iter()
                        .filter(|w| matches!(w, Write::Record(..)))
                        .count() as u64;
                }
                Output::Send(conn, frame) => perform.sends.push((conn, frame)),
                Output::Close(conn) => perform.closes.push(conn),
                Output::Dial(peer) => {
                    if !perform.dials.contains(&peer) {
                        perform.dials.push(peer);
                    }
                }
                Output::Log(line) => log!(Info, "hub.note", message = line),
                // The host has no owner's screen to refresh.
                Output::Changed => {}
                // Only after a failed commit, which returned above.
                Output::Stopped => {}
            }
        }
        Ok(perform)
    }
}

#[cfg(test)]
mod tests;
