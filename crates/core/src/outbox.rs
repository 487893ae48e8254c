//! A participant's outbox for one poll: the commands it made that the owner has not answered yet,
//! in the order they were made, with when each was sent and when to send it again.
//!
//! An entry moves through (PROTOCOL.md §4.2, §5):
//!
//! ```text
//!  stage ──► Unsaved ──saved──► Waiting ──flush──► Sent(attempt n, at t) ──settle──► gone
//!              │                   ▲                   │  │                  (ack or refusal)
//!              └──discard──► gone  └────link_lost──────┘  └─due (t + timeout)──► Sent(n+1, now)
//! ```
//!
//! Invariants:
//! - Order is the order of [`Outbox::stage`] (a restored entry keeps its stored `seq`), and
//!   [`Outbox::flush`] sends in that order. It stops at the first entry that is not durable yet,
//!   so nothing overtakes a command that is still being written.
//! - Nothing is sent before [`Outbox::saved`] says it is durable: a command the user saw as
//!   "pending" survives a reload.
//! - An id is in the outbox at most once; staging or restoring it again does nothing.
//! - [`Outbox::settle`] removes exactly the entry with that id; an unknown id (a second ack, or an
//!   ack for a command this tab never made) changes nothing.
//! - A sent entry is sent again after [`resend_delay`] (5 s doubling per attempt, capped at 30 s)
//!   while the link stays up; the owner's dedup record turns a resend into the original answer.
//! - Pure: time comes in as `now_ms`, randomness as `random` arguments.
//! - The resend schedule is indexed: `resends` holds `(resend at, id)` for exactly the entries
//!   that are [`Delivery::Sent`], so [`Outbox::next_resend_at`] (asked after every frame) is its
//!   first key, and [`Outbox::due`] with nothing due costs one look-up, whatever the length.
//!
//! [`Redial`] schedules reconnection attempts to the owner: exponential backoff with full jitter,
//! 0.5 s doubling to a 30 s cap, reset after a verified link. There is no retry limit.

use std::collections::{BTreeSet, VecDeque};

use peerjs_client::backoff::Backoff;
use serde::{Deserialize, Serialize};

use crate::poll::{Command, CommandId, PollId};

/// The first resend timeout for a command sent on a live link that got no answer.
pub const RESEND_BASE_MS: u64 = 5_000;
/// No resend timeout is longer than this.
pub const RESEND_CAP_MS: u64 = 30_000;
/// The ceiling of the first reconnection delay.
pub const REDIAL_BASE_MS: u64 = 500;
/// No reconnection delay is longer than this.
pub const REDIAL_CAP_MS: u64 = 30_000;

/// One outbox entry as stored (IndexedDB `outbox` store): enough to rebuild it after a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxRecord {
    /// The poll the command is for.
    pub poll_id: PollId,
    /// Position in the poll's outbox: later commands have larger numbers.
    pub seq: u64,
    /// The command's id, which the owner deduplicates by.
    pub command_id: CommandId,
    /// The command.
    pub command: Command,
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Shown to the user, but not durable yet: never sent.
    Unsaved,
    /// Durable; not sent on the current link.
    Waiting,
    /// Sent on the current link at `at_ms`.
    Sent {
        /// When it was last sent.
        at_ms: u64,
    },
}

/// A command waiting for the owner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the outbox.
    pub seq: u64,
    /// The command's id.
    pub command_id: CommandId,
    /// The command.
    pub command: Command,
    /// The frame to send; every send of this entry is exactly this text.
    pub frame: String,
    /// Where it stands.
    pub delivery: Delivery,
    /// How many times it was sent, over all links.
    pub attempts: u32,
}

/// The timeout after the `attempts`-th send of an entry: `min(30 s, 5 s · 2^(attempts-1))`.
pub fn resend_delay(attempts: u32) -> u64 {
    let factor = 1u64
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u64::MAX);
    RESEND_BASE_MS.saturating_mul(factor).min(RESEND_CAP_MS)
}

/// The pending commands of one poll, oldest first. See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    entries: VecDeque<Entry>,
    next_seq: u64,
    /// `(when to resend, id)` of every sent entry, earliest first (see the module docs).
    resends: BTreeSet<(u64, CommandId)>,
}

/// When a sent entry is due again, if it is sent.
fn resend_at(entry: &Entry) -> Option<u64> {
    match entry.delivery {
        Delivery::Sent { at_ms } => Some(at_ms.saturating_add(resend_delay(entry.attempts))),
        _ => None,
    }
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a new command at the end, not durable yet. Returns its `seq`, or `None` if the id
    /// is already in the outbox (then nothing changes).
    pub fn stage(&mut self, command_id: CommandId, command: Command, frame: String) -> Option<u64> {
        if self.contains(command_id) {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq = seq.saturating_add(1);
        self.entries.push_back(Entry {
            seq,
            command_id,
            command,
            frame,
            delivery: Delivery::Unsaved,
            attempts: 0,
        });
        Some(seq)
    }

    /// Puts back a stored entry (durable, not sent), in `seq` order among the others. Returns
    /// `false` if the id is already in the outbox (then nothing changes).
    pub fn restore(
        &mut self,
        seq: u64,
        command_id: CommandId,
        command: Command,
        frame: String,
    ) -> bool {
        if self.contains(command_id) {
            return false;
        }
        let at = self.entries.partition_point(|e| e.seq <= seq);
        self.entries.insert(
            at,
            Entry {
                seq,
                command_id,
                command,
                frame,
                delivery: Delivery::Waiting,
                attempts: 0,
            },
        );
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
        true
    }

    /// The entry was written durably: it may be sent from now on. Returns whether it was an
    /// unsaved entry.
    pub fn saved(&mut self, command_id: CommandId) -> bool {
        match self.entry_mut(command_id) {
            Some(entry) if entry.delivery == Delivery::Unsaved => {
                entry.delivery = Delivery::Waiting;
                true
            }
            _ => false,
        }
    }

    /// Removes an entry that could not be saved (or that the user withdrew before it was).
    pub fn discard(&mut self, command_id: CommandId) -> Option<Entry> {
        self.settle(command_id)
    }

    /// The owner answered `command_id` (ack or refusal): removes exactly that entry. `None` for an
    /// id not in the outbox.
    pub fn settle(&mut self, command_id: CommandId) -> Option<Entry> {
        let index = self
            .entries
            .iter()
            .position(|e| e.command_id == command_id)?;
        let entry = self.entries.remove(index)?;
        if let Some(at) = resend_at(&entry) {
            self.resends.remove(&(at, command_id));
        }
        Some(entry)
    }

    /// Marks `entry` sent at `now_ms` (once more) and schedules its resend; returns its frame.
    fn send(resends: &mut BTreeSet<(u64, CommandId)>, entry: &mut Entry, now_ms: u64) -> String {
        if let Some(at) = resend_at(entry) {
            resends.remove(&(at, entry.command_id));
        }
        entry.delivery = Delivery::Sent { at_ms: now_ms };
        entry.attempts = entry.attempts.saturating_add(1);
        if let Some(at) = resend_at(entry) {
            resends.insert((at, entry.command_id));
        }
        entry.frame.clone()
    }

    /// Sends every durable entry not sent on the current link, in order, stopping at the first
    /// unsaved one. Returns their frames and marks them sent at `now_ms`.
    pub fn flush(&mut self, now_ms: u64) -> Vec<String> {
        let mut frames = Vec::new();
        for entry in &mut self.entries {
            match entry.delivery {
                Delivery::Unsaved => break,
                Delivery::Sent { .. } => {}
                Delivery::Waiting => frames.push(Self::send(&mut self.resends, entry, now_ms)),
            }
        }
        frames
    }

    /// Sends again, in order, every entry whose resend timeout has passed at `now_ms`.
    pub fn due(&mut self, now_ms: u64) -> Vec<String> {
        if self.next_resend_at().is_none_or(|at| at > now_ms) {
            return Vec::new();
        }
        let mut frames = Vec::new();
        for entry in &mut self.entries {
            if resend_at(entry).is_some_and(|at| at <= now_ms) {
                frames.push(Self::send(&mut self.resends, entry, now_ms));
            }
        }
        frames
    }

    /// The link closed: whatever was sent on it is sent again on the next one.
    pub fn link_lost(&mut self) {
        for entry in &mut self.entries {
            if let Delivery::Sent { .. } = entry.delivery {
                entry.delivery = Delivery::Waiting;
            }
        }
        self.resends.clear();
    }

    /// When [`Outbox::due`] will next have something to resend.
    pub fn next_resend_at(&self) -> Option<u64> {
        self.resends.first().map(|(at, _)| *at)
    }

    /// Whether `command_id` is in the outbox.
    pub fn contains(&self, command_id: CommandId) -> bool {
        self.entries.iter().any(|e| e.command_id == command_id)
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.entries.iter()
    }

    /// How many commands wait for an answer.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no command waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn entry_mut(&mut self, command_id: CommandId) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.command_id == command_id)
    }
}

/// When to dial the owner again: full-jitter exponential backoff (0.5 s doubling to a 30 s cap),
/// reset by a verified link, no limit on attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redial {
    backoff: Backoff,
    next_at_ms: Option<u64>,
}

impl Default for Redial {
    fn default() -> Self {
        Self::new()
    }
}

impl Redial {
    /// No attempt scheduled, at the first backoff step.
    pub const fn new() -> Self {
        Self {
            backoff: Backoff::new(REDIAL_BASE_MS, REDIAL_CAP_MS),
            next_at_ms: None,
        }
    }

    /// A dial failed or a link closed at `now_ms`: schedules the next attempt, `random` being
    /// a uniformly random `u32`. Returns the delay in milliseconds.
    pub fn failed(&mut self, now_ms: u64, random: u32) -> u64 {
        let delay = self.backoff.next_delay(random);
        self.next_at_ms = Some(now_ms.saturating_add(delay));
        delay
    }

    /// A dial is starting now: nothing is scheduled any more.
    pub fn dialing(&mut self) {
        self.next_at_ms = None;
    }

    /// The owner proved itself on a link: the next failure starts from the first step again.
    pub fn verified(&mut self) {
        self.backoff.reset();
        self.next_at_ms = None;
    }

    /// When the next attempt is scheduled (Unix ms), if one is.
    pub fn next_at(&self) -> Option<u64> {
        self.next_at_ms
    }

    /// How many attempts failed since the last verified link.
    pub fn failures(&self) -> u32 {
        self.backoff.attempt
    }
}

#[cfg(test)]
mod tests;
