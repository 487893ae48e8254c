//! Simulated participants of one poll on one hub: each node runs the core's
//! [`OwnerLink`] (dial, verify every frame against the hub's key, heartbeats, resends) with one
//! [`Follower`] of the poll, exactly as the browser's `follow.rs` drives them — minus the
//! IndexedDB outbox: a staged command counts as stored at once.
//!
//! What it records, per participant: each revision its verified view reached, with the instant
//! the frame carrying it arrived (the transport delivered it) and the instant it was applied
//! (opened, verified and applied by the follower); every ack and refusal of its own commands.

use std::time::{Duration, Instant};

use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::signal::PeerName;
use starpoll_core::follower::{Follower, Notice};
use starpoll_core::hub::ConnId;
use starpoll_core::owner_link::{Input, LinkState, Output, OwnerLink};
use starpoll_core::poll::{Command, CommandId, PollId, Revision};
use starpoll_core::{Identity, PeerId};
use starpoll_host::rtc::Event;
use starpoll_host::run::unix_ms;

use crate::swarm::{Node, NodeEvent, Peers};

/// A revision a participant's view reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    /// The revision.
    pub revision: Revision,
    /// When the frame that carried it arrived.
    pub arrived: Instant,
    /// When the follower had verified and applied it.
    pub applied: Instant,
}

/// An answer to one of a participant's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The command.
    pub command_id: CommandId,
    /// The revision it produced (`None`: refused).
    pub revision: Option<Revision>,
    /// When it was handled.
    pub at: Instant,
}

/// One simulated participant.
pub struct Participant {
    link: OwnerLink,
    poll: PollId,
    hub: PeerName,
    conn: Option<ConnId>,
    random: u64,
    /// When its data channel last opened.
    pub opened_at: Option<Instant>,
    /// Revisions its view reached, in order.
    pub reached: Vec<Reached>,
    /// Answers to its commands, in arrival order.
    pub answers: Vec<Answer>,
}

impl Participant {
    /// The current verified revision, if any view arrived.
    pub fn revision(&self) -> Option<Revision> {
        self.reached.last().map(|r| r.revision)
    }

    /// Whether the link to the hub is verified (a hub-signed frame arrived on it).
    pub fn verified(&self) -> bool {
        self.link.state() == LinkState::Verified
    }

    /// The first time its view reached `revision` or later.
    pub fn reached_at(&self, revision: Revision) -> Option<Reached> {
        self.reached
            .iter()
            .find(|r| r.revision >= revision)
            .copied()
    }

    fn next_random(&mut self) -> u32 {
        // splitmix64: the jitter only needs to differ between participants.
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u32
    }
}

/// Every participant of the run, following `poll` on `hub`.
pub struct Followers {
    /// The participants, by node index.
    pub participants: Vec<Participant>,
    /// One instant and the Unix time then: the links' timers (Unix ms) become instants through
    /// this fixed pair, so a timer that is due compares as due (converting with a fresh
    /// `Instant::now()` each time would put it always just ahead of the loop's `now`).
    origin: (Instant, u64),
}

impl Followers {
    /// No participants yet.
    pub fn new() -> Self {
        Self {
            participants: Vec::new(),
            origin: (Instant::now(), unix_ms()),
        }
    }

    /// Adds the participant of the next node: `me` following `poll` on `hub`.
    pub fn add(&mut self, me: Identity, hub: &PeerId, poll: PollId, seed: u64) {
        let mut link = OwnerLink::new(me.clone(), hub.clone());
        link.follow(Follower::new(me, hub.clone(), poll, None), unix_ms());
        self.participants.push(Participant {
            link,
            poll,
            hub: PeerName::new(hub.as_str()),
            conn: None,
            random: seed,
            opened_at: None,
            reached: Vec::new(),
            answers: Vec::new(),
        });
    }

    /// Stages `command` for participant `index` and sends it (stored at once). Returns false if
    /// the follower refused to stage it.
    pub fn submit(
        &mut self,
        index: usize,
        node: &mut Node,
        command_id: CommandId,
        command: Command,
    ) -> bool {
        let Some(p) = self.participants.get_mut(index) else {
            return false;
        };
        match p.link.stage(&p.poll, command_id, command) {
            Ok(_) => {
                p.link.saved(&p.poll, command_id, unix_ms());
                self.drive(index, node, Instant::now());
                true
            }
            Err(_) => false,
        }
    }

    /// Acts on participant `index`'s link outputs.
    fn drive(&mut self, index: usize, node: &mut Node, now: Instant) {
        let Some(p) = self.participants.get_mut(index) else {
            return;
        };
        while let Some(output) = p.link.poll_output() {
            match output {
                Output::Dial => {
                    if !node.registered() {
                        p.link.handle_input(Input::NotReady, unix_ms());
                        continue;
                    }
                    match node.dial(&p.hub, now) {
                        Ok(conn) => p.conn = Some(conn),
                        Err(_) => {
                            let random = p.next_random();
                            p.link.handle_input(Input::Closed { random }, unix_ms());
                        }
                    }
                }
                Output::Send(text) => {
                    if let Some(conn) = p.conn {
                        node.send(conn, &text, now);
                    }
                }
                Output::Close => {
                    if let Some(conn) = p.conn.take() {
                        node.close(conn, now);
                    }
                }
                Output::Poll(
                    _,
                    Notice::Acked {
                        command_id,
                        revision,
                    },
                ) => p.answers.push(Answer {
                    command_id,
                    revision: Some(revision),
                    at: Instant::now(),
                }),
                Output::Poll(_, Notice::Refused { command_id, .. }) => p.answers.push(Answer {
                    command_id,
                    revision: None,
                    at: Instant::now(),
                }),
                Output::Poll(..)
                | Output::List(_)
                | Output::StateChanged
                | Output::Dropped(_)
                | Output::Moved { .. } => {}
            }
        }
    }
}

impl Default for Followers {
    fn default() -> Self {
        Self::new()
    }
}

impl Peers for Followers {
    fn event(&mut self, index: usize, node: &mut Node, event: NodeEvent, at: Instant) {
        let Some(p) = self.participants.get_mut(index) else {
            return;
        };
        match event {
            NodeEvent::Registered => {}
            NodeEvent::Rtc(Event::Opened { conn, .. }) if p.conn == Some(conn) => {
                p.opened_at = Some(at);
                p.link.handle_input(Input::Opened, unix_ms());
            }
            NodeEvent::Rtc(Event::Message(conn, Data::Packed(Value::Str(text))))
                if p.conn == Some(conn) =>
            {
                p.link.handle_input(Input::Frame(&text), unix_ms());
                let revision = p
                    .link
                    .follower(&p.poll)
                    .and_then(Follower::view)
                    .map(|v| v.revision);
                if let Some(revision) = revision {
                    if p.revision().is_none_or(|last| revision > last) {
                        p.reached.push(Reached {
                            revision,
                            arrived: at,
                            applied: Instant::now(),
                        });
                    }
                }
            }
            NodeEvent::Rtc(Event::Closed { conn, .. }) if p.conn == Some(conn) => {
                p.conn = None;
                let random = p.next_random();
                p.link.handle_input(Input::Closed { random }, unix_ms());
            }
            NodeEvent::Rtc(_) => {}
        }
        self.drive(index, node, Instant::now());
    }

    fn timeout(&mut self, index: usize, node: &mut Node, now: Instant) {
        if let Some(p) = self.participants.get_mut(index) {
            let random = p.next_random();
            p.link.handle_timeout(unix_ms(), random);
        }
        self.drive(index, node, now);
    }

    fn next_timeout(&self, index: usize) -> Option<Instant> {
        let at = self.participants.get(index)?.link.poll_timeout()?;
        let (instant, unix) = self.origin;
        Some(instant + Duration::from_millis(at.saturating_sub(unix)))
    }
}
