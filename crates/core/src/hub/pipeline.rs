//! The hub's commit pipeline: what a shell does with the [`Step`]s the hub returns, as a small
//! sans-IO machine ("commit early, commit big").
//!
//! The driving loop: feed each step with [`Pipeline::handle_input`] (`Input::Step`), drain
//! [`Pipeline::poll_output`] and act on each [`Output`] in order; when a [`Output::Commit`] ends,
//! feed [`Input::Committed`] (or [`Input::Failed`]) and drain again. A commit starts when the
//! shell asks for output, so a shell that feeds a round of steps before draining (the native
//! host) commits the whole round at once, and one that drains after each step (the browser)
//! commits at once what arrived while the last commit was under way.
//!
//! Invariants:
//! - At most one commit is under way. Its writes are those of **every** step queued when it
//!   started (one transaction for a burst); steps arriving meanwhile wait for the next one.
//! - A step's sends, closes and dials come out only after its writes committed, and in the
//!   order the steps came in, so an ack never leaves before its commit and no frame overtakes
//!   an earlier one. A step with nothing to write waits behind a commit under way like any.
//! - After a failed commit the pipeline stops: the queued steps are dropped, nothing more comes
//!   out but [`Output::Stopped`] (the hub's state is ahead of the database).
//! - A commit that never ends (the shell died between commit and sends) holds every later
//!   output back.

use std::collections::VecDeque;
use std::rc::Rc;

use super::{ConnId, Step, Write};
use crate::PeerId;

/// What the shell reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A step the hub returned.
    Step(Step),
    /// The last [`Output::Commit`] committed.
    Committed,
    /// The last [`Output::Commit`] failed.
    Failed,
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Commit these writes (never none) in one transaction; then
    /// report [`Input::Committed`] or [`Input::Failed`].
    Commit(Vec<Write>),
    /// Send this frame on the connection.
    Send(ConnId, Rc<str>),
    /// Close the connection.
    Close(ConnId),
    /// Open a hub-to-hub connection to this peer.
    Dial(PeerId),
    /// A hosted poll changed: show the owner's screen a new snapshot.
    Changed,
    /// For the console.
    Log(String),
    /// A commit failed: the hub stopped (close every connection, say so).
    Stopped,
}

/// The pipeline (see the module docs).
#[derive(Debug, Default)]
pub struct Pipeline {
    queue: Vec<Step>,
    committing: Option<Vec<Step>>,
    stopped: bool,
    out: VecDeque<Output>,
}

impl Pipeline {
    /// An idle pipeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a commit failed (nothing more is done).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Whether nothing waits: no step queued, no commit under way, no output undrained.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.committing.is_none() && self.out.is_empty()
    }

    /// Something the shell reports.
    pub fn handle_input(&mut self, input: Input) {
        if self.stopped {
            return;
        }
        match input {
            Input::Step(step) => {
                if !step.is_empty() {
                    self.queue.push(step);
                }
            }
            Input::Committed => {
                for step in self.committing.take().unwrap_or_default() {
                    self.perform(step);
                }
            }
            Input::Failed => {
                self.committing = None;
                self.queue.clear();
                self.stopped = true;
                self.out.push_back(Output::Stopped);
            }
        }
    }

    /// The next output, in order (starting the next commit when nothing else is left to do).
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.out.is_empty() && !self.stopped {
            self.start();
        }
        self.out.pop_front()
    }

    /// Starts the next commit if none is under way: every queued step's writes in one go.
    /// Steps with nothing to write are performed at once when nothing waits before them.
    fn start(&mut self) {
        while self.committing.is_none() && !self.queue.is_empty() {
            if self.queue[0].writes.is_empty() {
                let step = self.queue.remove(0);
                self.perform(step);
                continue;
            }
            let steps = std::mem::take(&mut self.queue);
            let writes = steps
                .iter()
                .flat_map(|s| s.writes.iter().cloned())
                .collect();
            self.committing = Some(steps);
            self.out.push_back(Output::Commit(writes));
        }
    }

    fn perform(&mut self, step: Step) {
        let Step {
            writes: _,
            sends,
            closes,
            dials,
            changed,
            log,
        } = step;
        self.out.extend(log.into_iter().map(Output::Log));
        self.out.extend(
            sends
                .into_iter()
                .map(|(conn, frame)| Output::Send(conn, frame)),
        );
        self.out.extend(closes.into_iter().map(Output::Close));
        self.out.extend(dials.into_iter().map(Output::Dial));
        if !changed.is_empty() {
            self.out.push_back(Output::Changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::PollId;

    fn send(conn: u64, text: &str) -> Step {
        Step {
            sends: vec![(ConnId(conn), text.into())],
            ..Step::default()
        }
    }

    fn ack(conn: u64, text: &str) -> Step {
        let mut step = send(conn, text);
        step.writes
            .push(Write::DeletePoll(PollId::from_random_bytes([7; 16])));
        step.changed.insert(PollId::from_random_bytes([7; 16]));
        step
    }

    fn drain(p: &mut Pipeline) -> Vec<Output> {
        std::iter::from_fn(|| p.poll_output()).collect()
    }

    fn sent(outputs: &[Output]) -> Vec<String> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send(_, f) => Some(f.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_ack_leaves_only_after_its_commit_and_a_burst_is_one_commit() {
        let mut p = Pipeline::new();
        p.handle_input(Input::Step(ack(1, "a1")));
        let first = drain(&mut p);
        assert!(matches!(first.as_slice(), [Output::Commit(w)] if w.len() == 1));
        // A burst while the commit is under way: nothing goes out, not even a bare send.
        p.handle_input(Input::Step(ack(1, "a2")));
        p.handle_input(Input::Step(send(2, "beat")));
        p.handle_input(Input::Step(ack(1, "a3")));
        assert!(drain(&mut p).is_empty());
        p.handle_input(Input::Committed);
        let out = drain(&mut p);
        assert_eq!(sent(&out), ["a1"]);
        // The waiting steps' writes are one commit, started at once.
        assert!(matches!(out.last(), Some(Output::Commit(w)) if w.len() == 2));
        p.handle_input(Input::Committed);
        let out = drain(&mut p);
        assert_eq!(sent(&out), ["a2", "beat", "a3"]);
        assert_eq!(out.iter().filter(|o| **o == Output::Changed).count(), 2);
    }

    #[test]
    fn a_step_with_nothing_to_write_goes_at_once_when_nothing_waits() {
        let mut p = Pipeline::new();
        p.handle_input(Input::Step(send(1, "beat")));
        assert_eq!(sent(&drain(&mut p)), ["beat"]);
        p.handle_input(Input::Step(Step::default()));
        assert!(drain(&mut p).is_empty());
    }

    #[test]
    fn a_failed_commit_stops_everything() {
        let mut p = Pipeline::new();
        p.handle_input(Input::Step(ack(1, "a1")));
        drain(&mut p);
        p.handle_input(Input::Step(ack(1, "a2")));
        p.handle_input(Input::Failed);
        assert_eq!(drain(&mut p), [Output::Stopped]);
        assert!(p.is_stopped());
        p.handle_input(Input::Step(send(1, "late")));
        p.handle_input(Input::Committed);
        assert!(drain(&mut p).is_empty());
    }

    #[test]
    fn steps_fed_before_draining_are_one_commit_and_leave_in_order() {
        let mut p = Pipeline::new();
        p.handle_input(Input::Step(send(2, "beat")));
        p.handle_input(Input::Step(ack(1, "a1")));
        p.handle_input(Input::Step(ack(1, "a2")));
        let out = drain(&mut p);
        // The bare send waits for nothing; the two acks' writes are one transaction.
        assert_eq!(sent(&out), ["beat"]);
        assert!(matches!(out.last(), Some(Output::Commit(w)) if w.len() == 2));
        assert!(!p.is_idle());
        p.handle_input(Input::Committed);
        assert_eq!(sent(&drain(&mut p)), ["a1", "a2"]);
        assert!(p.is_idle());
    }

    #[test]
    fn a_commit_that_never_ends_holds_everything_back() {
        let mut p = Pipeline::new();
        p.handle_input(Input::Step(ack(1, "a1")));
        drain(&mut p);
        for n in 0..10 {
            p.handle_input(Input::Step(send(1, &format!("s{n}"))));
        }
        assert!(drain(&mut p).is_empty());
    }
}
