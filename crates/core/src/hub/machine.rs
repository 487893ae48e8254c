//! The hub as one sans-IO machine, the shape every driver runs (str0m's run loop, as the
//! participant machine and the PeerJS session have it): [`HubMachine::handle_input`] with the
//! current time, [`HubMachine::poll_output`] until `None`, one timer at
//! [`HubMachine::poll_timeout`] that calls [`HubMachine::handle_timeout`].
//!
//! It joins the two pure parts the shells used to wire together themselves: the [`Hub`] (what
//! an input means: validate, sequence, relay) and the commit [`Pipeline`] (when its effects may
//! happen: writes committed before the sends they allow). So a driver only performs outputs —
//! commit a batch of writes and report [`Input::Committed`] or [`Input::Failed`], send, close,
//! dial, refresh the owner's screen — and never sees a [`Step`].
//!
//! Batching ("commit early, commit big"): a commit starts when the driver asks for output and
//! none is under way; it holds the writes of every input fed before that. A driver that feeds a
//! burst of frames before draining commits them in one transaction; the first frame of a burst
//! still starts a commit at once if the driver drains after it.
//!
//! The owner's own actions are methods that answer at once (a refused draft, the outcome of the
//! owner's command, a refused move); their effects come out of [`HubMachine::poll_output`]
//! like any other. Reads go through [`HubMachine::hub`].

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use super::pipeline::{self, Pipeline};
use super::{ConnId, Hub, Incoming, MoveError, Step, Write};
use crate::delegation::SignedDelegation;
use crate::poll::{Command, CommandId, Outcome, PollDraft, PollId, Refusal, Revision};
use crate::protocol::{batch, ChannelFingerprints};
use crate::PeerId;

pub use pipeline::Output;

/// What the driver reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// A participant's data connection opened from `remote` (a PeerJS peer ID). `channel` is
    /// the connection's pair of DTLS fingerprints when the driver can read them from its SDP
    /// (PROTOCOL.md §2.7); without them the connection's frames stay signed one by one.
    Opened {
        /// The driver's id for the connection.
        conn: ConnId,
        /// The peer at the other end.
        remote: &'a str,
        /// Local and remote DTLS fingerprints, if known.
        channel: Option<ChannelFingerprints>,
    },
    /// A connection the machine asked for ([`Output::Dial`]) opened to `remote`.
    Dialed {
        /// The driver's id for the connection.
        conn: ConnId,
        /// The peer dialed.
        remote: &'a str,
    },
    /// Something arrived on a connection.
    Received(ConnId, Incoming<'a>),
    /// A connection closed (by the remote or the network).
    Closed(ConnId),
    /// The last [`Output::Commit`] committed.
    Committed,
    /// The last [`Output::Commit`] failed: the machine stops.
    Failed,
}

/// The hub and its commit pipeline (see the module docs).
pub struct HubMachine {
    hub: Hub,
    pipeline: Pipeline,
    /// Outputs taken from the pipeline, sends joined into batches, not yet polled.
    out: VecDeque<Output>,
}

impl HubMachine {
    /// Runs `hub` (built and restored from storage by the driver).
    pub fn new(hub: Hub) -> Self {
        Self {
            hub,
            pipeline: Pipeline::new(),
            out: VecDeque::new(),
        }
    }

    /// The hub, to read.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Whether a commit failed: nothing more comes out but [`Output::Stopped`].
    pub fn is_stopped(&self) -> bool {
        self.pipeline.is_stopped()
    }

    /// Whether nothing waits: no input unperformed, no commit under way, no output undrained.
    pub fn is_idle(&self) -> bool {
        self.out.is_empty() && self.pipeline.is_idle()
    }

    /// Something the driver reports, at `now_ms` (Unix ms).
    pub fn handle_input(&mut self, input: Input<'_>, now_ms: u64) {
        if self.is_stopped() {
            return;
        }
        let step = match input {
            Input::Opened {
                conn,
                remote,
                channel,
            } => {
                let step = self.hub.opened(conn, remote, now_ms);
                if let Some(channel) = channel {
                    self.hub.set_channel(conn, channel);
                }
                step
            }
            Input::Dialed { conn, remote } => self.hub.dialed(conn, remote, now_ms),
            Input::Received(conn, incoming) => self.hub.receive(conn, incoming, now_ms),
            Input::Closed(conn) => self.hub.closed(conn),
            Input::Committed => return self.pipeline.handle_input(pipeline::Input::Committed),
            Input::Failed => return self.pipeline.handle_input(pipeline::Input::Failed),
        };
        self.feed(step);
    }

    /// Time passed (the timer armed at [`HubMachine::poll_timeout`] fired, or any time):
    /// heartbeats, silent connections, moves and activations, coalesced discovery lists, and
    /// every own open poll whose deadline came closed with a command id from `fresh_id`
    /// (randomness is an input).
    pub fn handle_timeout(&mut self, now_ms: u64, fresh_id: impl FnMut() -> Option<CommandId>) {
        if self.is_stopped() {
            return;
        }
        let step = self.hub.handle_timeout(now_ms, fresh_id);
        self.feed(step);
    }

    /// When [`HubMachine::handle_timeout`] has something to do (Unix ms); `None` when nothing
    /// is to be waited for, or the machine stopped.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.is_stopped() {
            return None;
        }
        self.hub.poll_timeout()
    }

    /// The next thing to do, in order; `None` when there is nothing until the next input.
    ///
    /// Sends that come out together to a connection that takes batches (PROTOCOL.md §2.8)
    /// come out as one message per [`batch::BATCH_BYTES_MAX`]: all its sends between two
    /// commits, closes, dials or the stop (a screen refresh or a log line does not separate
    /// them, and may come out before them). The order of the frames to each connection is kept.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.out.is_empty() {
            let mut sends = Vec::new();
            while let Some(output) = self.pipeline.poll_output() {
                match output {
                    Output::Send(conn, frame) => sends.push((conn, frame)),
                    Output::Changed | Output::Log(_) => self.out.push_back(output),
                    other => {
                        self.push_sends(&mut sends);
                        self.out.push_back(other);
                    }
                }
            }
            self.push_sends(&mut sends);
        }
        self.out.pop_front()
    }

    /// Queues a run of sends, those to each batch-taking connection joined.
    fn push_sends(&mut self, sends: &mut Vec<(ConnId, Rc<str>)>) {
        // Each connection's frames, in the order its first frame came.
        let mut groups: Vec<(ConnId, Vec<Rc<str>>)> = Vec::new();
        let mut batched: BTreeMap<ConnId, usize> = BTreeMap::new();
        for (conn, frame) in sends.drain(..) {
            if !self.hub.takes_batches(conn) {
                groups.push((conn, vec![frame]));
                continue;
            }
            match batched.get(&conn) {
                Some(&at) => groups[at].1.push(frame),
                None => {
                    batched.insert(conn, groups.len());
                    groups.push((conn, vec![frame]));
                }
            }
        }
        for (conn, frames) in groups {
            for message in batch::join(frames) {
                self.out.push_back(Output::Send(conn, message));
            }
        }
    }

    /// Creates a poll owned by this hub's owner (served once committed).
    pub fn create(&mut self, id: PollId, draft: PollDraft, now_ms: u64) -> Result<(), Refusal> {
        let step = self.hub.create(id, draft, now_ms)?;
        self.feed(step);
        Ok(())
    }

    /// The owner's own command on one of its polls: its outcome at once (committed and
    /// broadcast through the outputs); `None` for a poll not served here now.
    pub fn local(
        &mut self,
        poll: PollId,
        id: CommandId,
        command: &Command,
        now_ms: u64,
    ) -> Option<Outcome> {
        let (step, outcome) = self.hub.local(poll, id, command, now_ms);
        self.feed(step);
        outcome
    }

    /// Deletes one of the owner's polls (see [`Hub::delete`]); whether there was one to delete.
    pub fn delete(&mut self, poll: PollId) -> bool {
        let step = self.hub.delete(poll);
        let existed = !step.writes.is_empty();
        self.feed(step);
        existed
    }

    /// Starts moving an own poll served here to the hub `target` (PROTOCOL.md §8.4).
    pub fn move_poll(
        &mut self,
        poll: PollId,
        target: PeerId,
        now_ms: u64,
    ) -> Result<(), MoveError> {
        let step = self.hub.move_poll(poll, target, now_ms)?;
        self.feed(step);
        Ok(())
    }

    /// For an own poll served elsewhere: signs the delegation moving it to `target`. The
    /// returned writes (the new highest seq) must be committed before the delegation is handed
    /// to anyone; they touch only this poll's hosting record, not the pipeline's batches.
    pub fn sign_move(
        &mut self,
        poll: PollId,
        target: PeerId,
        from_revision: Revision,
    ) -> Result<(Vec<Write>, SignedDelegation), MoveError> {
        let (step, delegation) = self.hub.sign_move(poll, target, from_revision)?;
        Ok((step.writes, delegation))
    }

    fn feed(&mut self, step: Step) {
        self.pipeline.handle_input(pipeline::Input::Step(step));
    }
}

#[cfg(test)]
mod tests;
