//! Signatures checked outside the hub machine, in arrival order: the driver's queue between
//! its connections' events and [`HubMachine::handle_input`](super::machine::HubMachine).
//!
//! Checking a vote's signature is most of what the hub does per frame (~150 µs of the owner's
//! page thread in the browser's wasm). A driver that can check elsewhere — a worker with the
//! browser's own Ed25519 — takes each frame's [`SignatureJob`] out, sends the jobs in batches,
//! and feeds the machine each frame with its [`Checked`] token once its batch is answered. The
//! machine then skips that one check and does everything else as always.
//!
//! Invariants:
//! - Entries leave ([`CheckQueue::pop`]) in the order they came, across all connections: an
//!   entry whose check is under way holds back every entry after it.
//! - Only a passed check gives a token. A failed check, an entry with no job, an abandoned
//!   batch ([`CheckQueue::abandon`]) or an expired one ([`CheckQueue::expire`]) leaves without
//!   one, and the machine checks that frame itself: the outside check can save work, never let
//!   a frame through that the machine would refuse (given an honest checker).
//! - A lone job, with no batch under way, is not sent: checking it at home costs less than the
//!   round trip to the worker, so a single vote is not slowed down.

use std::collections::VecDeque;

use crate::protocol::{Checked, SignatureJob};

/// Jobs are sent once at least this many wait, or while a batch is under way.
pub const MIN_BATCH: usize = 2;

/// The driver's id for a batch of jobs sent together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub u64);

enum State {
    /// Nothing to check outside (or no longer).
    Home,
    /// A job not sent yet.
    Unsent(SignatureJob),
    /// Sent in this batch; its answer has not come.
    Waiting(BatchId, SignatureJob),
    /// Checked outside: the token.
    Passed(Checked),
}

struct Entry<T> {
    item: T,
    state: State,
}

/// The queue (see the module docs). `T` is whatever the driver keeps per event.
pub struct CheckQueue<T> {
    entries: VecDeque<Entry<T>>,
    next_batch: u64,
    /// Batches sent and not answered, expired or abandoned.
    under_way: Vec<BatchId>,
}

impl<T> Default for CheckQueue<T> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            next_batch: 0,
            under_way: Vec::new(),
        }
    }
}

impl<T> CheckQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An event, with the job to check its signature outside (`None`: nothing to check
    /// outside, or no checker).
    pub fn push(&mut self, item: T, job: Option<SignatureJob>) {
        let state = job.map_or(State::Home, State::Unsent);
        self.entries.push_back(Entry { item, state });
    }

    /// The jobs to send now, as one batch: every job not sent yet, when at least
    /// [`MIN_BATCH`] wait or a batch is under way; `None` when there is nothing to send.
    pub fn take_batch(&mut self) -> Option<(BatchId, Vec<&SignatureJob>)> {
        let unsent = self
            .entries
            .iter()
            .filter(|e| matches!(e.state, State::Unsent(_)))
            .count();
        if unsent == 0 || (unsent < MIN_BATCH && self.under_way.is_empty()) {
            return None;
        }
        let id = BatchId(self.next_batch);
        self.next_batch += 1;
        self.under_way.push(id);
        for entry in &mut self.entries {
            if matches!(entry.state, State::Unsent(_)) {
                let State::Unsent(job) = std::mem::replace(&mut entry.state, State::Home) else {
                    continue;
                };
                entry.state = State::Waiting(id, job);
            }
        }
        let jobs = self
            .entries
            .iter()
            .filter_map(|e| match &e.state {
                State::Waiting(batch, job) if *batch == id => Some(job),
                _ => None,
            })
            .collect();
        Some((id, jobs))
    }

    /// A batch's answer: `passed[i]` for its `i`-th job, in the order [`CheckQueue::take_batch`]
    /// gave them (a missing answer counts as not passed). An unknown or finished batch is
    /// ignored.
    pub fn answered(&mut self, batch: BatchId, passed: &[bool]) {
        if !self.finish(batch) {
            return;
        }
        let mut answers = passed.iter().copied();
        for entry in &mut self.entries {
            if matches!(&entry.state, State::Waiting(b, _) if *b == batch) {
                let State::Waiting(_, job) = std::mem::replace(&mut entry.state, State::Home)
                else {
                    continue;
                };
                if answers.next() == Some(true) {
                    entry.state = State::Passed(job.passed());
                }
            }
        }
    }

    /// A batch took too long: its entries are checked at home. Whether it was still under way.
    pub fn expire(&mut self, batch: BatchId) -> bool {
        if !self.finish(batch) {
            return false;
        }
        for entry in &mut self.entries {
            if matches!(&entry.state, State::Waiting(b, _) if *b == batch) {
                entry.state = State::Home;
            }
        }
        true
    }

    /// The checker is gone: every entry not checked yet is checked at home.
    pub fn abandon(&mut self) {
        self.under_way.clear();
        for entry in &mut self.entries {
            if matches!(entry.state, State::Unsent(_) | State::Waiting(..)) {
                entry.state = State::Home;
            }
        }
    }

    /// The next entry, with its token if its check passed outside; `None` when the queue is
    /// empty or its first entry's check is under way. A first entry whose job was never sent
    /// is given out without a token (checked at home).
    pub fn pop(&mut self) -> Option<(T, Option<Checked>)> {
        if matches!(self.entries.front()?.state, State::Waiting(..)) {
            return None;
        }
        let entry = self.entries.pop_front()?;
        let checked = match entry.state {
            State::Passed(checked) => Some(checked),
            _ => None,
        };
        Some((entry.item, checked))
    }

    fn finish(&mut self, batch: BatchId) -> bool {
        let before = self.under_way.len();
        self.under_way.retain(|b| *b != batch);
        self.under_way.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::seal;
    use crate::testing::identity;
    use crate::Identity;

    fn job(signer: &Identity, n: u8) -> SignatureJob {
        let frame = seal(
            signer,
            &crate::protocol::Control::Error {
                command_id: None,
                poll_id: None,
                code: crate::protocol::ErrorCode::BadJson,
                message: format!("frame {n}"),
            }
            .into(),
        )
        .unwrap();
        SignatureJob::of(&frame, signer.peer_id()).unwrap()
    }

    fn drain(q: &mut CheckQueue<u8>) -> Vec<(u8, bool)> {
        std::iter::from_fn(|| q.pop())
            .map(|(n, c)| (n, c.is_some()))
            .collect()
    }

    #[test]
    fn a_lone_job_is_checked_at_home_and_a_burst_goes_out_as_one_batch() {
        let alice = identity(2);
        let mut q = CheckQueue::new();
        q.push(1, Some(job(&alice, 1)));
        assert!(q.take_batch().is_none());
        assert_eq!(drain(&mut q), [(1, false)]);
        for n in 2..6 {
            q.push(n, Some(job(&alice, n)));
        }
        let (batch, jobs) = q.take_batch().unwrap();
        assert_eq!(jobs.len(), 4);
        assert!(q.take_batch().is_none());
        // Everything waits for the answer, in order.
        assert!(q.pop().is_none());
        q.answered(batch, &[true, true, false, true]);
        assert_eq!(drain(&mut q), [(2, true), (3, true), (4, false), (5, true)]);
    }

    #[test]
    fn entries_leave_in_arrival_order_behind_a_check_under_way() {
        let alice = identity(2);
        let mut q = CheckQueue::new();
        q.push(1, Some(job(&alice, 1)));
        q.push(2, Some(job(&alice, 2)));
        let (first, _) = q.take_batch().unwrap();
        // An event with nothing to check, and a lone job: both wait behind the batch, and the
        // lone job goes out at once because a batch is under way.
        q.push(3, None);
        q.push(4, Some(job(&alice, 4)));
        let (second, jobs) = q.take_batch().unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(q.pop().is_none());
        q.answered(second, &[true]);
        assert!(
            q.pop().is_none(),
            "the first batch still holds everything back"
        );
        q.answered(first, &[true, true]);
        assert_eq!(drain(&mut q), [(1, true), (2, true), (3, false), (4, true)]);
    }

    #[test]
    fn expired_abandoned_and_unknown_batches_give_no_token() {
        let alice = identity(2);
        let mut q = CheckQueue::new();
        for n in 1..=2 {
            q.push(n, Some(job(&alice, n)));
        }
        let (batch, _) = q.take_batch().unwrap();
        assert!(q.expire(batch));
        assert!(!q.expire(batch));
        // A late answer changes nothing.
        q.answered(batch, &[true, true]);
        q.answered(BatchId(99), &[true, true]);
        assert_eq!(drain(&mut q), [(1, false), (2, false)]);

        for n in 3..=5 {
            q.push(n, Some(job(&alice, n)));
        }
        let (batch, _) = q.take_batch().unwrap();
        q.push(6, Some(job(&alice, 6)));
        q.abandon();
        q.answered(batch, &[true, true, true]);
        assert_eq!(
            drain(&mut q),
            [(3, false), (4, false), (5, false), (6, false)]
        );
    }

    #[test]
    fn a_short_answer_leaves_the_rest_unchecked() {
        let alice = identity(2);
        let mut q = CheckQueue::new();
        for n in 1..=3 {
            q.push(n, Some(job(&alice, n)));
        }
        let (batch, _) = q.take_batch().unwrap();
        q.answered(batch, &[true]);
        assert_eq!(drain(&mut q), [(1, true), (2, false), (3, false)]);
        assert!(q.is_empty());
    }
}
