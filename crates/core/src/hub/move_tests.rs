//! Tests of moving a poll between hubs (PROTOCOL.md §8) against the real machines, in simulated
//! time: several [`Hub`]s (each with a store that keeps exactly its committed writes, so a
//! crash is "drop the hub, restore a new one from its store"), participants driving real
//! [`OwnerLink`]s and [`Follower`]s, on the shared simulated network of `testkit.rs`
//! ([`Hubs`]), which delivers frames one at a time.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::testkit::{peer, Hubs, Node, ToClient, HOST, HOST2, MALLORY, OLGA, PEOPLE};
use super::*;
use crate::delegation::SignedDelegation;
use crate::follower::{Follower, Link, Notice};
use crate::outbox::OutboxRecord;
use crate::owner_link::{Input, Output, OwnerLink};
use crate::testing::{identity, lunch_draft, poll_id, vote, NOW};

/// The client number of a test's hand-made frames on the [`Hubs`] network (frames to it are
/// kept in `World::raw`); participants are clients `0..`.
const RAW: usize = usize::MAX;

/// A participant: its owner links (one per hub peer) and what it keeps durably.
struct Person {
    me: Identity,
    links: BTreeMap<PeerId, OwnerLink>,
    conns: BTreeMap<PeerId, ConnId>,
    /// Durable outbox records.
    outbox: Vec<OutboxRecord>,
    /// Durable: the delegation saved with the view.
    saved: Option<SignedDelegation>,
    acked: BTreeMap<CommandId, Revision>,
    answered: BTreeSet<CommandId>,
    /// The options of each vote, by command id.
    votes: BTreeMap<CommandId, u32>,
    next: u32,
}

impl Person {
    /// A participant who has stored nothing yet.
    fn new(me: Identity) -> Self {
        Self {
            me,
            links: BTreeMap::new(),
            conns: BTreeMap::new(),
            outbox: Vec::new(),
            saved: None,
            acked: BTreeMap::new(),
            answered: BTreeSet::new(),
            votes: BTreeMap::new(),
            next: 0,
        }
    }
}

/// The participants, driving real [`OwnerLink`]s, on the hubs' network ([`Hubs`]).
struct World {
    hubs: Hubs,
    people: Vec<Person>,
    /// Dials waiting to be attempted: (person, hub peer).
    dials: Vec<(usize, PeerId)>,
    raw: Vec<String>,
    /// Snapshot files participants received.
    snapshots: Vec<String>,
    /// Olga's own votes so far (for their command ids).
    owner_votes: u32,
}

impl World {
    /// Olga's hub with the poll, two hosts, and the participants following it at Olga.
    fn new() -> Self {
        let mut world = Self {
            hubs: Hubs::with_poll(&[HOST, HOST2, MALLORY]),
            people: Vec::new(),
            dials: Vec::new(),
            raw: Vec::new(),
            snapshots: Vec::new(),
            owner_votes: 0,
        };
        for n in PEOPLE {
            world.people.push(Person::new(identity(n)));
            let who = world.people.len() - 1;
            world.start(who, None);
        }
        world.settle();
        for who in 0..world.people.len() {
            world.submit(
                who,
                Command::Join {
                    display_name: format!("P{who}"),
                },
            );
        }
        world.settle();
        world
    }

    /// [`World::new`], then the poll moved to hub `target`, settled.
    fn moved_to(target: u8) -> Self {
        let mut world = Self::new();
        assert!(world.move_to(target));
        world.settle();
        assert_eq!(world.serving(), [peer(target)]);
        world
    }

    fn node(&mut self, n: u8) -> &mut Node {
        self.hubs.node(n)
    }

    /// (Re)starts person `who`'s follower from what it stored, at the hub its saved delegation
    /// names (or `via`, or the owner).
    fn start(&mut self, who: usize, via: Option<PeerId>) {
        let now = self.hubs.now;
        let person = &mut self.people[who];
        let mut follower = Follower::new(person.me.clone(), peer(OLGA), poll_id(), None);
        follower.restore(&person.outbox).unwrap();
        if let Some(saved) = person.saved.clone() {
            follower.restore_delegation(saved).unwrap();
        } else if let Some(via) = via {
            follower.set_hub(via);
        }
        let hub = follower.hub().clone();
        person
            .links
            .entry(hub.clone())
            .or_insert_with(|| OwnerLink::new(person.me.clone(), hub))
            .follow(follower, now);
    }

    /// The person's tab reloads: every link and connection is gone; it starts again from its
    /// stored outbox and delegation.
    fn reload(&mut self, who: usize) {
        let conns: Vec<ConnId> = self.people[who].conns.values().copied().collect();
        self.people[who].links.clear();
        self.people[who].conns.clear();
        for conn in conns {
            self.close_wire(conn, None);
        }
        self.dials.retain(|(w, _)| *w != who);
        self.start(who, None);
    }

    /// Stages and saves a command of person `who`.
    fn submit(&mut self, who: usize, command: Command) -> Option<CommandId> {
        let now = self.hubs.now;
        let person = &mut self.people[who];
        person.next += 1;
        let mut bytes = [0x55; 16];
        bytes[0] = who as u8;
        bytes[1..5].copy_from_slice(&person.next.to_le_bytes());
        let id = CommandId::from_random_bytes(bytes);
        let link = person
            .links
            .values_mut()
            .find(|l| l.follower(&poll_id()).is_some())?;
        let record = link.stage(&poll_id(), id, command.clone()).ok()??;
        person.outbox.push(record);
        link.saved(&poll_id(), id, now);
        if let Command::CastVote { option_ids, .. } = &command {
            person.votes.insert(id, option_ids[0].0);
        }
        Some(id)
    }

    /// Commits a hub's step, then performs its sends, closes and dials.
    fn take(&mut self, at: &PeerId, step: Step) {
        self.hubs.take(at, step);
        self.hand_over();
    }

    /// Closes a connection; both ends hear of it except `by` (the hub that closed it; `None`:
    /// the participant or hand-made client did).
    fn close_wire(&mut self, conn: ConnId, by: Option<PeerId>) {
        match by {
            Some(by) => self.hubs.close_by(conn, &by),
            None => self.hubs.disconnect(conn),
        }
        self.hand_over();
    }

    /// Hands what reached the clients to the participants' links (or to `raw`).
    fn hand_over(&mut self) {
        let now = self.hubs.now;
        while let Some(event) = self.hubs.to_clients.pop_front() {
            match event {
                ToClient::Frame {
                    client: RAW, frame, ..
                } => self.raw.push(frame),
                ToClient::Frame {
                    client, hub, frame, ..
                } => {
                    if let Some(link) = self.people[client].links.get_mut(&hub) {
                        link.handle_input(Input::Frame(&frame), now);
                    }
                }
                ToClient::Closed { client: RAW, .. } => {}
                ToClient::Closed { client, conn, hub } => {
                    let person = &mut self.people[client];
                    if person.conns.get(&hub) == Some(&conn) {
                        person.conns.remove(&hub);
                        if let Some(link) = person.links.get_mut(&hub) {
                            link.handle_input(
                                Input::Closed {
                                    random: u32::MAX / 2,
                                },
                                now,
                            );
                        }
                    }
                }
            }
        }
    }

    /// Acts on every output of every link; returns whether there was any.
    fn pump_links(&mut self) -> bool {
        let mut busy = false;
        for who in 0..self.people.len() {
            loop {
                let mut outputs = Vec::new();
                for (hub, link) in &mut self.people[who].links {
                    while let Some(output) = link.poll_output() {
                        outputs.push((hub.clone(), output));
                    }
                }
                if outputs.is_empty() {
                    break;
                }
                busy = true;
                for (hub, output) in outputs {
                    self.act(who, &hub, output);
                }
            }
            // Save the highest delegation any of its followers holds (with the view).
            let person = &mut self.people[who];
            let best = person
                .links
                .values()
                .filter_map(|l| l.follower(&poll_id()))
                .filter_map(Follower::delegation)
                .max_by_key(|d| d.seq())
                .cloned();
            if let Some(best) = best {
                if person.saved.as_ref().is_none_or(|s| s.seq() < best.seq()) {
                    person.saved = Some(best);
                }
            }
        }
        busy
    }

    fn act(&mut self, who: usize, hub: &PeerId, output: Output) {
        let now = self.hubs.now;
        match output {
            Output::Dial => self.dials.push((who, hub.clone())),
            Output::Send(frame) => {
                if let Some(conn) = self.people[who].conns.get(hub) {
                    self.hubs.send(*conn, frame);
                }
            }
            Output::Close => {
                if let Some(conn) = self.people[who].conns.remove(hub) {
                    self.close_wire(conn, None);
                }
            }
            Output::Poll(_, Notice::Snapshot { file }) => self.snapshots.push(file),
            Output::Poll(_, notice) => {
                let person = &mut self.people[who];
                let mut settle = |id: CommandId| {
                    person.outbox.retain(|r| r.command_id != id);
                    person.answered.insert(id);
                };
                match notice {
                    Notice::Acked {
                        command_id,
                        revision,
                    } => {
                        settle(command_id);
                        person.acked.insert(command_id, revision);
                    }
                    Notice::Refused { command_id, .. } => settle(command_id),
                    Notice::Gone { dropped, .. } => dropped.into_iter().for_each(settle),
                    _ => {}
                }
            }
            Output::Moved { poll, hub: to } => {
                let person = &mut self.people[who];
                let follower = person
                    .links
                    .get_mut(hub)
                    .unwrap()
                    .take_moved(&poll)
                    .unwrap();
                let me = person.me.clone();
                person
                    .links
                    .entry(to.clone())
                    .or_insert_with(|| OwnerLink::new(me, to))
                    .follow(follower, now);
            }
            Output::List(_) | Output::StateChanged | Output::Dropped(_) => {}
        }
    }

    /// Attempts the dials asked for.
    fn run_dials(&mut self) -> bool {
        let dials = std::mem::take(&mut self.dials);
        let busy = !dials.is_empty();
        let now = self.hubs.now;
        for (who, hub) in dials {
            let me = self.people[who].me.peer_id().clone();
            let input = match self.hubs.connect(who, &me, &hub) {
                Some(conn) => {
                    self.people[who].conns.insert(hub.clone(), conn);
                    Input::Opened
                }
                None => Input::Closed {
                    random: u32::MAX / 2,
                },
            };
            if let Some(link) = self.people[who].links.get_mut(&hub) {
                link.handle_input(input, now);
            }
            self.hand_over();
        }
        busy
    }

    /// Delivers one frame; returns whether there was one.
    fn deliver_one(&mut self) -> bool {
        let delivered = self.hubs.deliver_one();
        self.hand_over();
        delivered
    }

    /// Delivers at most `n` frames (and acts on what they cause).
    fn deliver(&mut self, n: usize) {
        for _ in 0..n {
            self.pump_links();
            self.run_dials();
            if !self.deliver_one() {
                break;
            }
        }
        self.pump_links();
    }

    /// Runs until nothing more happens at this instant.
    fn settle(&mut self) {
        for _ in 0..100_000 {
            let a = self.pump_links();
            let b = self.run_dials();
            let c = self.deliver_one();
            if !(a || b || c) {
                return;
            }
        }
        panic!("the world did not settle");
    }

    /// Lets `ms` pass, firing every timer when due.
    fn advance(&mut self, ms: u64) {
        let end = self.hubs.now + ms;
        loop {
            self.settle();
            let links = self
                .people
                .iter()
                .flat_map(|p| p.links.values())
                .filter_map(OwnerLink::poll_timeout);
            let next = links
                .chain(self.hubs.poll_timeout())
                .min()
                .unwrap_or(end)
                .clamp(self.hubs.now, end);
            self.hubs.now = next;
            let now = next;
            self.hubs.wake();
            self.hand_over();
            for person in &mut self.people {
                for link in person.links.values_mut() {
                    if link.poll_timeout().is_some_and(|t| t <= now) {
                        link.handle_timeout(now, u32::MAX / 2);
                    }
                }
            }
            self.settle();
            if self.hubs.now >= end {
                return;
            }
        }
    }

    /// Hub `n` crashes: its connections drop, and it restarts from its store (online or not).
    fn crash(&mut self, n: u8, online: bool) {
        self.hubs.crash(n, online);
        self.hand_over();
    }

    fn set_online(&mut self, n: u8, online: bool) {
        self.hubs.set_online(n, online);
        self.hand_over();
    }

    /// Who serves the poll now (not frozen, not only prepared).
    fn serving(&self) -> Vec<PeerId> {
        self.hubs.serving(&poll_id())
    }

    fn served_poll(&self) -> &Poll {
        self.hubs.served(&poll_id())
    }

    /// The owner moves the poll to hub `target`: locally when her hub serves it, else by
    /// signing the next delegation and sending `hub:move` to the hub serving it.
    fn move_to(&mut self, target: u8) -> bool {
        let now = self.hubs.now;
        let olga = peer(OLGA);
        if self.node(OLGA).hub.poll(&poll_id()).is_some() {
            return match self.node(OLGA).hub.move_poll(poll_id(), peer(target), now) {
                Ok(step) => {
                    self.take(&olga, step);
                    true
                }
                Err(_) => false,
            };
        }
        let serving: Vec<PeerId> = self
            .serving()
            .into_iter()
            .filter(|p| !self.hubs.at(p).hub.is_moving(&poll_id()))
            .collect();
        let [current] = &serving[..] else {
            return false;
        };
        if *current == peer(target) || !self.hubs.is_online(current) {
            return false;
        }
        let current = current.clone();
        let Ok((step, delegation)) =
            self.node(OLGA)
                .hub
                .sign_move(poll_id(), peer(target), Revision(0))
        else {
            return false;
        };
        self.take(&olga, step);
        self.send_raw(
            &current,
            &identity(OLGA),
            Control::Move {
                poll_id: poll_id(),
                delegation: delegation.text().to_owned(),
            }
            .into(),
        );
        true
    }

    /// Opens a connection from `signer` to hub `to` by hand and sends one frame on it.
    fn send_raw(&mut self, to: &PeerId, signer: &Identity, message: Message) -> ConnId {
        let conn = self
            .hubs
            .connect(RAW, signer.peer_id(), to)
            .expect("the hub is online and keeps the connection");
        self.hand_over();
        self.hubs.send(conn, seal(signer, &message).unwrap());
        conn
    }

    fn follower(&self, who: usize) -> &Follower {
        self.people[who]
            .links
            .values()
            .find_map(|l| l.follower(&poll_id()))
            .expect("the person follows the poll")
    }

    /// The end of every scenario: every acked command counted once at the hub serving the
    /// poll, with the revision its author was told; every vote's latest acked options are the
    /// ballot; nothing pending; every participant at the serving hub with its view.
    fn check_converged(&self) {
        let serving = self.serving();
        assert_eq!(
            serving.len(),
            1,
            "exactly one hub serves the poll: {serving:?}"
        );
        let node = self.hubs.at(&serving[0]);
        let poll = node.hub.poll(&poll_id()).unwrap();
        let hosted = &node.hub.polls[&poll_id()];
        let applied = hosted
            .processed
            .records()
            .filter(|r| matches!(r.outcome, Outcome::Acked { .. }))
            .count();
        assert_eq!(
            poll.revision,
            Revision(applied as u64),
            "one revision per applied command"
        );
        for person in &self.people {
            assert_eq!(person.outbox, Vec::new(), "nothing left pending");
            for (id, revision) in &person.acked {
                let record = hosted
                    .processed
                    .record(id)
                    .unwrap_or_else(|| panic!("acked command {id} is in the records"));
                assert_eq!(
                    record.outcome,
                    Outcome::Acked {
                        revision: *revision
                    }
                );
                assert_eq!(record.author, *person.me.peer_id());
            }
            let last_vote = person
                .acked
                .iter()
                .filter(|(id, _)| person.votes.contains_key(id))
                .max_by_key(|(_, revision)| **revision)
                .map(|(id, _)| person.votes[id]);
            let ballot = poll
                .ballots
                .get(person.me.peer_id())
                .map(|b| b.iter().next().unwrap().0);
            assert_eq!(ballot, last_vote, "the ballot is the last acked vote");
            let follower = self
                .people
                .iter()
                .find(|p| p.me.peer_id() == person.me.peer_id())
                .unwrap()
                .links
                .values()
                .find_map(|l| l.follower(&poll_id()))
                .unwrap();
            assert_eq!(follower.hub(), &serving[0], "follows the poll at its hub");
            assert_eq!(follower.link(), Link::Verified);
            assert_eq!(
                follower.view().map(|v| v.revision),
                Some(poll.revision),
                "the view converged"
            );
        }
        // The serving hub's snapshot verifies: every ballot's signed frame moved with the
        // poll, and the chain names who served it, ending at this hub.
        let file = node.hub.snapshot(&poll_id(), self.hubs.now).unwrap();
        let verified = crate::snapshot::verify(&file).unwrap();
        assert_eq!(verified.signatures, poll.ballots.len());
        assert_eq!(verified.served_by.first(), Some(&peer(OLGA)));
        assert_eq!(verified.served_by.last(), Some(&serving[0]));
    }
}

#[test]
fn a_moved_poll_is_served_by_the_new_hub_and_participants_follow_the_redirect() {
    let mut w = World::new();
    assert!(w.move_to(HOST));
    assert!(w.node(OLGA).hub.is_moving(&poll_id()));
    w.settle();
    assert_eq!(w.serving(), [peer(HOST)]);
    assert_eq!(
        w.node(OLGA)
            .hub
            .moved_to(&poll_id())
            .map(|d| d.hub().clone()),
        Some(peer(HOST))
    );
    // The hub-to-hub connection closed once the target acknowledged activation.
    assert!(
        w.hubs.hub_wires(None).is_empty(),
        "no hub-to-hub connection left open"
    );
    // Every participant was redirected and is verified at the host.
    for who in 0..PEOPLE.len() {
        assert_eq!(w.follower(who).hub(), &peer(HOST));
        assert_eq!(w.follower(who).link(), Link::Verified);
        assert_eq!(w.follower(who).delegation().map(|d| d.seq()), Some(1));
    }
    // Olga is not connected to the host: every peer it lists is a participant.
    let present = w.node(HOST).hub.present(&poll_id());
    assert_eq!(present.len(), PEOPLE.len());
    let count = crate::protocol::PeerInfo::participants_connected(
        &peer(OLGA),
        &present,
        present.len() as u64,
    );
    assert_eq!(count, PEOPLE.len() as u64);
    // Votes now go to the host, which serves with the moved records and members.
    w.submit(0, vote(1));
    w.submit(1, vote(2));
    w.settle();
    assert_eq!(w.served_poll().ballots.len(), 2);
    // Olga's hub no longer has the poll; the host's store does, with its chain.
    assert!(w.node(OLGA).store.polls.is_empty());
    assert!(matches!(
        w.node(OLGA).store.hosting[&poll_id()].state,
        HostingState::Moved { activated: true }
    ));
    assert_eq!(
        w.node(HOST).store.hosting[&poll_id()].state,
        HostingState::Serving
    );
    w.advance(20_000);
    w.check_converged();
}

#[test]
fn a_vote_pending_during_the_move_lands_exactly_once_at_the_new_hub() {
    let mut w = World::new();
    // One vote applied before, one in flight when the poll freezes.
    w.submit(0, vote(1));
    w.settle();
    assert!(w.move_to(HOST));
    let in_flight = w.submit(1, vote(2)).unwrap();
    // The old hub answers a resend of an applied vote from its record while frozen…
    w.deliver(3);
    w.settle();
    assert_eq!(w.serving(), [peer(HOST)]);
    // …and the frozen-time vote was applied once, at the host, after the redirect.
    w.advance(30_000);
    assert!(w.people[1].acked.contains_key(&in_flight));
    w.check_converged();
    assert_eq!(w.served_poll().ballots.len(), 2);
}

#[test]
fn a_participant_offline_during_the_move_reaches_the_new_hub_through_the_old_one() {
    let mut w = World::new();
    // Person 2 drops off and votes offline.
    w.reload(2);
    let conn = w.people[2].conns.values().copied().collect::<Vec<_>>();
    for c in conn {
        w.close_wire(c, Some(peer(OLGA)));
    }
    w.people[2].links.clear();
    let mut follower = Follower::new(identity(PEOPLE[2]), peer(OLGA), poll_id(), None);
    follower.restore(&w.people[2].outbox).unwrap();
    assert!(w.move_to(HOST));
    w.settle();
    assert_eq!(w.serving(), [peer(HOST)]);
    // Back online with its stale knowledge (no delegation): dials Olga, who redirects.
    w.start(2, None);
    w.settle();
    let id = w.submit(2, vote(1)).unwrap();
    w.advance(20_000);
    assert!(w.people[2].acked.contains_key(&id));
    assert_eq!(w.follower(2).hub(), &peer(HOST));
    w.check_converged();
}

#[test]
fn the_owner_takes_the_poll_back_and_moves_it_on() {
    let mut w = World::moved_to(HOST);
    w.submit(0, vote(2));
    w.settle();
    // Olga, now a client of the host, moves it on to a second host…
    assert!(w.move_to(HOST2));
    w.settle();
    assert_eq!(w.serving(), [peer(HOST2)]);
    w.submit(1, vote(1));
    w.settle();
    // …and takes it back.
    assert!(w.move_to(OLGA));
    w.settle();
    assert_eq!(w.serving(), [peer(OLGA)]);
    let chain = w.node(OLGA).hub.delegation(&poll_id()).unwrap().clone();
    assert_eq!(chain.seq(), 3);
    assert_eq!(chain.hub(), &peer(OLGA));
    w.submit(2, vote(2));
    w.advance(20_000);
    w.check_converged();
    assert_eq!(w.served_poll().ballots.len(), 3);
    // The owner closes it as the owner again, and its snapshot shows who served it.
    let (step, outcome) =
        w.node(OLGA)
            .hub
            .local(poll_id(), crate::testing::cid(0xC0), &Command::Close, NOW);
    assert!(matches!(outcome, Some(Outcome::Acked { .. })));
    w.take(&peer(OLGA), step);
    let file = w.node(OLGA).hub.snapshot(&poll_id(), NOW).unwrap();
    let verified = crate::snapshot::verify(&file).unwrap();
    assert_eq!(
        verified.served_by,
        [peer(OLGA), peer(HOST), peer(HOST2), peer(OLGA)]
    );
    assert_eq!(verified.signatures, 3);
}

#[test]
fn the_owner_has_owner_rights_at_the_hub_and_a_snapshot_there_verifies() {
    let mut w = World::new();
    w.submit(0, vote(1));
    assert!(w.move_to(HOST));
    w.settle();
    // Olga closes the poll through the host with a command signed by her key.
    let close = Message::Command(CommandFrame {
        command: Command::Close,
        poll_id: poll_id(),
        command_id: crate::testing::cid(0xC1),
    });
    w.send_raw(&peer(HOST), &identity(OLGA), close);
    w.settle();
    assert_eq!(w.served_poll().status, crate::poll::PollStatus::Closed);
    // A participant may not.
    let reopen = Message::Command(CommandFrame {
        command: Command::Reopen,
        poll_id: poll_id(),
        command_id: crate::testing::cid(0xC2),
    });
    w.send_raw(&peer(HOST), &identity(PEOPLE[0]), reopen);
    w.settle();
    assert_eq!(w.served_poll().status, crate::poll::PollStatus::Closed);
    // The host's snapshot is signed by the host and carries the chain.
    let file = w.node(HOST).hub.snapshot(&poll_id(), NOW).unwrap();
    let verified = crate::snapshot::verify(&file).unwrap();
    assert_eq!(verified.served_by, [peer(OLGA), peer(HOST)]);
    assert_eq!(verified.signatures, 1);
}

#[test]
fn a_move_to_a_target_that_never_answers_is_aborted_and_nothing_is_lost() {
    let mut w = World::new();
    w.set_online(HOST, false);
    assert!(w.move_to(HOST));
    let held = w.submit(0, vote(1)).unwrap();
    w.settle();
    assert!(w.node(OLGA).hub.is_moving(&poll_id()));
    assert!(
        !w.people[0].acked.contains_key(&held),
        "frozen: not applied"
    );
    w.advance(11_000);
    assert!(!w.node(OLGA).hub.is_moving(&poll_id()));
    assert_eq!(w.serving(), [peer(OLGA)]);
    w.advance(20_000);
    assert!(w.people[0].acked.contains_key(&held));
    // The host comes back later: it never serves the poll.
    w.set_online(HOST, true);
    w.advance(20_000);
    assert_eq!(w.serving(), [peer(OLGA)]);
    w.check_converged();
    // A later move uses a higher seq and succeeds.
    assert!(w.move_to(HOST));
    w.advance(20_000);
    assert_eq!(w.serving(), [peer(HOST)]);
    assert_eq!(w.follower(0).delegation().map(|d| d.seq()), Some(2));
    w.check_converged();
}

#[test]
fn a_target_that_prepared_but_was_never_activated_serves_nothing() {
    let mut w = World::new();
    assert!(w.move_to(HOST));
    // Deliver until the host has prepared, then kill Olga before she reads `hub:prepared`.
    while !w.node(HOST).hub.is_prepared(&poll_id()) {
        assert!(w.deliver_one());
    }
    w.crash(OLGA, true);
    w.advance(30_000);
    // Olga's freeze was not stored: she serves it; the host holds an unserved copy.
    assert_eq!(w.serving(), [peer(OLGA)]);
    assert!(w.node(HOST).hub.is_prepared(&poll_id()));
    w.check_converged();
}

#[test]
fn an_old_hub_killed_after_the_commit_point_activates_the_target_when_it_restarts() {
    let mut w = World::new();
    w.submit(0, vote(2));
    w.settle();
    assert!(w.move_to(HOST));
    // Deliver until Olga committed "moved", then kill her before `hub:activate` leaves.
    while w.node(OLGA).hub.moved_to(&poll_id()).is_none() {
        assert!(w.deliver_one());
    }
    w.crash(OLGA, false);
    w.settle();
    assert!(w.serving().is_empty(), "nobody serves it until activation");
    w.set_online(OLGA, true);
    w.advance(30_000);
    assert_eq!(w.serving(), [peer(HOST)]);
    w.check_converged();
}

#[test]
fn a_participant_reloading_after_the_move_dials_the_hub_directly() {
    let mut w = World::moved_to(HOST);
    w.set_online(OLGA, false);
    w.reload(1);
    w.settle();
    assert_eq!(w.follower(1).hub(), &peer(HOST));
    w.submit(1, vote(1));
    w.advance(10_000);
    assert_eq!(w.served_poll().ballots.len(), 1);
    w.set_online(OLGA, true);
    w.advance(20_000);
    w.check_converged();
}

#[test]
fn a_new_participant_with_a_via_link_reaches_the_hub_while_the_owner_is_offline() {
    let mut w = World::moved_to(HOST);
    w.set_online(OLGA, false);
    w.people.push(Person::new(identity(7)));
    w.start(3, Some(peer(HOST)));
    w.settle();
    w.submit(
        3,
        Command::Join {
            display_name: "Newcomer".into(),
        },
    );
    w.settle();
    w.submit(3, vote(2));
    w.advance(10_000);
    assert_eq!(w.served_poll().ballots.len(), 1);
    w.set_online(OLGA, true);
    w.advance(20_000);
    w.check_converged();
}

/// A single follower at a peer that claims to serve the poll, fed by hand.
fn follower_at(hub: u8, cached: Option<SignedDelegation>) -> Follower {
    let mut f = Follower::new(identity(2), peer(OLGA), poll_id(), None);
    if let Some(d) = cached {
        f.restore_delegation(d).unwrap();
    }
    f.set_hub(peer(hub));
    f.connected().unwrap();
    f
}

fn delegation(seq: u64, hub: u8) -> SignedDelegation {
    SignedDelegation::sign(&identity(OLGA), poll_id(), peer(hub), seq, Revision(0)).unwrap()
}

fn sealed_by(n: u8, control: Control) -> String {
    seal(&identity(n), &control.into()).unwrap()
}

fn state_from(n: u8) -> String {
    let poll = Poll::new(poll_id(), peer(OLGA), lunch_draft(), NOW).unwrap();
    sealed_by(
        n,
        Control::State {
            poll: Box::new(view_for(&poll, &peer(2))),
        },
    )
}

#[test]
fn an_impostor_hub_without_a_delegation_is_refused() {
    let mut f = follower_at(MALLORY, None);
    assert!(matches!(
        f.receive(&state_from(MALLORY), NOW),
        Err(crate::follower::FollowError::NotServingHub { .. })
    ));
    assert_eq!(f.link(), Link::Impostor);
    assert!(f.view().is_none());
    // Its serving hub is still the owner: the shell (or owner link) goes back there.
    assert_eq!(f.serving_hub(), &peer(OLGA));
}

#[test]
fn an_impostor_hub_with_a_delegation_for_another_poll_or_forged_is_refused() {
    let other = crate::poll::PollId::from_random_bytes([0x42; 16]);
    let for_other =
        SignedDelegation::sign(&identity(OLGA), other, peer(MALLORY), 1, Revision(0)).unwrap();
    let forged_body = format!(
        r#"{{"v":1,"type":"poll:delegation","pollId":"{}","owner":"{}","hub":"{}","seq":9,"fromRevision":0}}"#,
        poll_id(),
        peer(MALLORY),
        peer(MALLORY)
    );
    let by_mallory = crate::protocol::seal_body(&identity(MALLORY), &forged_body).unwrap();
    for text in [for_other.text().to_owned(), by_mallory] {
        let mut f = follower_at(MALLORY, None);
        let frame = sealed_by(
            MALLORY,
            Control::Delegation {
                poll_id: poll_id(),
                delegation: text,
            },
        );
        assert!(matches!(
            f.receive(&frame, NOW),
            Err(crate::follower::FollowError::BadDelegation(_))
        ));
        assert_eq!(f.link(), Link::Impostor);
        assert!(f.delegation().is_none());
        // And its state is not used either.
        assert!(f.receive(&state_from(MALLORY), NOW).is_err());
        assert!(f.view().is_none());
    }
}

#[test]
fn an_older_delegation_after_a_newer_one_is_refused() {
    // Mallory once served the poll (seq 1); the owner has since moved it on (seq 2).
    let mut f = follower_at(MALLORY, Some(delegation(2, HOST)));
    let frame = sealed_by(
        MALLORY,
        Control::Delegation {
            poll_id: poll_id(),
            delegation: delegation(1, MALLORY).text().to_owned(),
        },
    );
    assert!(matches!(
        f.receive(&frame, NOW),
        Err(crate::follower::FollowError::StaleDelegation { got: 1, current: 2 })
    ));
    assert_eq!(f.link(), Link::Impostor);
    assert_eq!(f.serving_hub(), &peer(HOST));
}

#[test]
fn a_valid_credential_then_state_is_accepted_and_verifies_the_link() {
    let mut f = follower_at(HOST, None);
    let credential = sealed_by(
        HOST,
        Control::Delegation {
            poll_id: poll_id(),
            delegation: delegation(1, HOST).text().to_owned(),
        },
    );
    let reaction = f.receive(&credential, NOW).unwrap();
    assert_eq!(reaction.notices, [Notice::Delegated]);
    f.receive(&state_from(HOST), NOW).unwrap();
    assert_eq!(f.link(), Link::Verified);
    assert!(f.view().is_some());
    // A redirect from the host to the next hub re-homes the follower.
    let redirect = sealed_by(
        HOST,
        Control::Delegation {
            poll_id: poll_id(),
            delegation: delegation(2, HOST2).text().to_owned(),
        },
    );
    let reaction = f.receive(&redirect, NOW).unwrap();
    assert_eq!(
        reaction.notices,
        [Notice::Delegated, Notice::Moved { hub: peer(HOST2) }]
    );
    assert_eq!(f.serving_hub(), &peer(HOST2));
}

#[test]
fn a_hub_refuses_a_transfer_from_someone_without_the_right_to_send_it() {
    let mut w = World::new();
    // Mallory holds a genuine delegation to the host (say, captured) but is not serving the
    // poll: the host refuses her `hub:prepare`.
    let d = delegation(1, HOST);
    let poll = w.node(OLGA).hub.poll(&poll_id()).unwrap().clone();
    let conn = w.send_raw(
        &peer(HOST),
        &identity(MALLORY),
        Control::Prepare {
            poll_id: poll_id(),
            delegation: d.text().to_owned(),
            chain: Vec::new(),
            poll_data: Box::new(poll),
            record_count: 0,
        }
        .into(),
    );
    w.settle();
    assert!(!w.node(HOST).hub.is_prepared(&poll_id()));
    let answers: Vec<Control> = w
        .raw
        .iter()
        .map(
            |f| match crate::protocol::open(f, Some(&peer(HOST))).unwrap().1 {
                Message::Control(c) => c,
                Message::Command(_) => unreachable!(),
            },
        )
        .collect();
    assert!(matches!(
        &answers[..],
        [Control::Error {
            code: ErrorCode::BadDelegation,
            ..
        }]
    ));
    let _ = conn;
    // Only the owner may ask for a move.
    w.raw.clear();
    w.send_raw(
        &peer(OLGA),
        &identity(MALLORY),
        Control::Move {
            poll_id: poll_id(),
            delegation: d.text().to_owned(),
        }
        .into(),
    );
    w.settle();
    assert!(!w.node(OLGA).hub.is_moving(&poll_id()));
}

#[derive(Debug, Clone)]
enum Op {
    Vote(usize, u32),
    /// Olga votes on her own screen (when her hub serves the poll).
    OwnerVote(u32),
    Move(u8),
    Deliver(usize),
    Crash(u8),
    Offline(u8),
    Online(u8),
    Reload(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let hub = prop_oneof![Just(OLGA), Just(HOST), Just(HOST2)];
    prop_oneof![
        4 => (0..PEOPLE.len(), 1u32..3).prop_map(|(w, o)| Op::Vote(w, o)),
        1 => (1u32..3).prop_map(Op::OwnerVote),
        4 => hub.clone().prop_map(Op::Move),
        4 => (1usize..12).prop_map(Op::Deliver),
        1 => hub.clone().prop_map(Op::Crash),
        1 => hub.clone().prop_map(Op::Offline),
        1 => hub.prop_map(Op::Online),
        1 => (0..PEOPLE.len()).prop_map(Op::Reload),
        2 => (0u64..16_000).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random interleavings of votes, moves (local, remote, take-back), partial delivery,
    /// hub crashes (restored from their writes), hubs going offline and participants reloading:
    /// at the end exactly one hub serves the poll, every acked vote is counted once with the
    /// revision its author was told, and every participant converges on it.
    #[test]
    fn every_acked_vote_is_counted_once_whatever_the_moves_and_crashes(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let mut w = World::new();
        for op in ops {
            match op {
                Op::Vote(who, option) => { w.submit(who, vote(option)); }
                Op::OwnerVote(option) => {
                    w.owner_votes += 1;
                    let id = CommandId::from_random_bytes([0xA0, (w.owner_votes % 256) as u8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE]);
                    let now = w.hubs.now;
                    let (step, _) = w.node(OLGA).hub.local(poll_id(), id, &vote(option), now);
                    w.take(&peer(OLGA), step);
                }
                Op::Move(target) => { w.move_to(target); }
                Op::Deliver(n) => w.deliver(n),
                Op::Crash(n) => w.crash(n, true),
                Op::Offline(n) => w.set_online(n, false),
                Op::Online(n) => w.set_online(n, true),
                Op::Reload(who) => w.reload(who),
                Op::Advance(ms) => w.advance(ms),
            }
        }
        for n in [OLGA, HOST, HOST2] {
            w.set_online(n, true);
        }
        w.advance(120_000);
        w.check_converged();
    }
}

#[test]
fn the_owner_as_a_client_of_the_hub_closes_the_poll_and_moves_it_on_through_her_link() {
    let mut w = World::moved_to(HOST);
    // Olga's browser follows her own poll like a participant: her hub redirects her to the host.
    w.people.push(Person::new(identity(OLGA)));
    let olga = w.people.len() - 1;
    w.start(olga, None);
    w.settle();
    assert_eq!(w.follower(olga).hub(), &peer(HOST));
    assert_eq!(w.follower(olga).link(), Link::Verified);
    // The host lists her first though she subscribed last, and does not count her as a
    // participant.
    let present = w.node(HOST).hub.present(&poll_id());
    assert_eq!(present[0].peer_id, peer(OLGA));
    assert_eq!(present.len(), PEOPLE.len() + 1);
    let count = crate::protocol::PeerInfo::participants_connected(
        &peer(OLGA),
        &present,
        present.len() as u64,
    );
    assert_eq!(count, PEOPLE.len() as u64);
    // Her commands carry owner rights at the host.
    let close = w.submit(olga, Command::Close).unwrap();
    w.settle();
    assert!(w.people[olga].acked.contains_key(&close));
    assert_eq!(w.served_poll().status, crate::poll::PollStatus::Closed);
    // She moves it on through the same link.
    let revision = w.served_poll().revision;
    let (step, d) = w
        .node(OLGA)
        .hub
        .sign_move(poll_id(), peer(HOST2), revision)
        .unwrap();
    w.take(&peer(OLGA), step);
    let now = w.hubs.now;
    w.people[olga]
        .links
        .get_mut(&peer(HOST))
        .unwrap()
        .request_move(&poll_id(), &d, now)
        .unwrap();
    w.settle();
    assert_eq!(w.serving(), [peer(HOST2)]);
    assert_eq!(w.follower(olga).hub(), &peer(HOST2));
    // A stale request (the same seq again) is refused by the new hub.
    let refused = w.people[olga]
        .links
        .get_mut(&peer(HOST2))
        .unwrap()
        .request_move(&poll_id(), &d, now);
    assert!(refused.is_ok(), "sent");
    w.settle();
    assert_eq!(w.serving(), [peer(HOST2)]);
    w.advance(20_000);
    w.check_converged();
}

#[test]
fn a_via_hub_that_does_not_have_the_poll_sends_the_participant_to_the_owner() {
    let mut w = World::new();
    w.people.push(Person::new(identity(7)));
    // The invite names the host, but the poll was never moved there.
    w.start(3, Some(peer(HOST)));
    w.settle();
    let follower = w.follower(3);
    assert_eq!(follower.hub(), &peer(OLGA));
    assert_eq!(
        follower.impostor(),
        None,
        "an honest hub without the poll is no impostor"
    );
    assert!(!follower.is_gone());
    w.submit(
        3,
        Command::Join {
            display_name: "Via".into(),
        },
    );
    w.submit(3, vote(1));
    w.advance(10_000);
    w.check_converged();
}

/// The frames the test's hand-made connections received, opened against `signer`.
fn raw_answers(w: &mut World, signer: u8) -> Vec<Control> {
    std::mem::take(&mut w.raw)
        .iter()
        .map(
            |f| match crate::protocol::open(f, Some(&peer(signer))).unwrap().1 {
                Message::Control(c) => c,
                Message::Command(_) => unreachable!("hubs send no commands"),
            },
        )
        .collect()
}

#[test]
fn a_frozen_poll_answers_recorded_commands_from_their_records_and_holds_the_rest() {
    let mut w = World::new();
    w.set_online(HOST, false);
    let first = w.submit(0, vote(1)).unwrap();
    w.settle();
    let revision = w.served_poll().revision;
    assert!(w.move_to(HOST));
    let resend = Message::Command(CommandFrame {
        command: vote(1),
        poll_id: poll_id(),
        command_id: first,
    });
    // Person 0's resend (by hand, signed by them) gets its original ack…
    w.send_raw(&peer(OLGA), &identity(PEOPLE[0]), resend);
    // …a new command gets nothing at all, and the owner's own command is not applied.
    let new = Message::Command(CommandFrame {
        command: vote(2),
        poll_id: poll_id(),
        command_id: crate::testing::cid(0xD0),
    });
    w.send_raw(&peer(OLGA), &identity(PEOPLE[1]), new);
    w.settle();
    let answers = raw_answers(&mut w, OLGA);
    assert_eq!(
        answers,
        [Control::Ack {
            command_id: first,
            revision: w.people[0].acked[&first]
        }]
    );
    let now = w.hubs.now;
    let (_, outcome) =
        w.node(OLGA)
            .hub
            .local(poll_id(), crate::testing::cid(0xD1), &Command::Close, now);
    assert_eq!(outcome, None);
    assert_eq!(w.served_poll().revision, revision);
}

#[test]
fn a_hub_a_poll_moved_away_from_redirects_syncs_and_commands() {
    let mut w = World::moved_to(HOST);
    let sync = Control::SyncRequest {
        poll_id: poll_id(),
        since_revision: None,
    };
    w.send_raw(&peer(OLGA), &identity(7), sync.into());
    let command = Message::Command(CommandFrame {
        command: vote(1),
        poll_id: poll_id(),
        command_id: crate::testing::cid(0xD2),
    });
    w.send_raw(&peer(OLGA), &identity(7), command);
    w.settle();
    let answers = raw_answers(&mut w, OLGA);
    assert_eq!(answers.len(), 2);
    for answer in answers {
        let Control::Delegation {
            poll_id: p,
            delegation,
        } = answer
        else {
            panic!("a redirect, got {answer:?}");
        };
        assert_eq!(p, poll_id());
        let d = SignedDelegation::check(&delegation, poll_id(), &peer(OLGA)).unwrap();
        assert_eq!((d.seq(), d.hub()), (1, &peer(HOST)));
    }
}

#[test]
fn move_requests_need_the_owner_and_a_newer_delegation() {
    let mut w = World::moved_to(HOST);
    let current = w.node(HOST).hub.delegation(&poll_id()).unwrap().clone();
    // The same delegation again: not newer.
    w.send_raw(
        &peer(HOST),
        &identity(OLGA),
        Control::Move {
            poll_id: poll_id(),
            delegation: current.text().to_owned(),
        }
        .into(),
    );
    // A newer one, but sent by someone else.
    let newer = delegation(5, HOST2);
    w.send_raw(
        &peer(HOST),
        &identity(PEOPLE[0]),
        Control::Move {
            poll_id: poll_id(),
            delegation: newer.text().to_owned(),
        }
        .into(),
    );
    w.settle();
    let codes: Vec<ErrorCode> = raw_answers(&mut w, HOST)
        .into_iter()
        .filter_map(|c| match c {
            Control::Error { code, .. } => Some(code),
            _ => None,
        })
        .collect();
    assert_eq!(codes, [ErrorCode::BadDelegation, ErrorCode::NotPermitted]);
    assert!(!w.node(HOST).hub.is_moving(&poll_id()));
    assert_eq!(w.serving(), [peer(HOST)]);
}

#[test]
fn an_activation_repeated_after_the_poll_moved_on_is_still_acknowledged() {
    let mut w = World::moved_to(HOST);
    assert!(w.move_to(HOST2));
    w.settle();
    assert_eq!(w.serving(), [peer(HOST2)]);
    // (Olga's `hub:move` connection got the redirect to the second host.)
    assert!(matches!(
        &raw_answers(&mut w, HOST)[..],
        [Control::Delegation { .. }]
    ));
    // Olga restarted before she heard `hub:activated` for seq 1: she asks again.
    w.send_raw(
        &peer(HOST),
        &identity(OLGA),
        Control::Activate {
            poll_id: poll_id(),
            seq: 1,
        }
        .into(),
    );
    // Someone who never moved it gets nothing.
    w.send_raw(
        &peer(HOST),
        &identity(MALLORY),
        Control::Activate {
            poll_id: poll_id(),
            seq: 7,
        }
        .into(),
    );
    w.settle();
    assert_eq!(
        raw_answers(&mut w, HOST),
        [Control::Activated {
            poll_id: poll_id(),
            seq: 1
        }]
    );
    assert_eq!(w.serving(), [peer(HOST2)]);
}

#[test]
fn the_owner_exports_a_delegated_poll_through_her_link_and_others_may_not() {
    let mut w = World::new();
    w.submit(0, vote(2));
    assert!(w.move_to(HOST));
    w.settle();
    w.submit(1, vote(1));
    w.settle();
    // Olga follows her poll at the host and asks for its snapshot.
    w.people.push(Person::new(identity(OLGA)));
    let olga = w.people.len() - 1;
    w.start(olga, None);
    w.settle();
    let now = w.hubs.now;
    let link = w.people[olga].links.get_mut(&peer(HOST)).unwrap();
    link.request_snapshot(&poll_id(), now).unwrap();
    w.settle();
    let file = w.snapshots.pop();
    let verified = crate::snapshot::verify(&file.expect("the snapshot arrived")).unwrap();
    assert_eq!(verified.served_by, [peer(OLGA), peer(HOST)]);
    assert_eq!(verified.signatures, 2);
    // A participant may not have it.
    w.send_raw(
        &peer(HOST),
        &identity(PEOPLE[0]),
        Control::SnapshotRequest { poll_id: poll_id() }.into(),
    );
    w.settle();
    assert!(matches!(
        &raw_answers(&mut w, HOST)[..],
        [Control::Error {
            code: ErrorCode::NotPermitted,
            ..
        }]
    ));
}

#[test]
fn moving_one_poll_leaves_the_others_on_the_shared_link_alone() {
    let mut w = World::new();
    let other = crate::poll::PollId::from_random_bytes([0x33; 16]);
    let now = w.hubs.now;
    let step = w.node(OLGA).hub.create(other, lunch_draft(), now).unwrap();
    w.take(&peer(OLGA), step);
    let follower = Follower::new(identity(PEOPLE[0]), peer(OLGA), other, None);
    w.people[0]
        .links
        .get_mut(&peer(OLGA))
        .unwrap()
        .follow(follower, now);
    w.settle();
    assert!(w.move_to(HOST));
    w.settle();
    let person = &w.people[0];
    // The moved poll's follower went to the host's link; the other stayed, still verified.
    assert!(person.links[&peer(OLGA)].follower(&poll_id()).is_none());
    assert!(person.links[&peer(HOST)].follower(&poll_id()).is_some());
    let stayed = person.links[&peer(OLGA)].follower(&other).unwrap();
    assert_eq!(stayed.link(), Link::Verified);
    assert!(stayed.view().is_some());
    assert_eq!(stayed.delegation(), None);
    // A command for it still goes to Olga, on the same connection.
    let link = w.people[0].links.get_mut(&peer(OLGA)).unwrap();
    let id = crate::testing::cid(0xE0);
    let join = Command::Join {
        display_name: "Ann".into(),
    };
    link.stage(&other, id, join).unwrap().unwrap();
    link.saved(&other, id, now);
    w.settle();
    assert!(w.people[0].acked.contains_key(&id));
    assert_eq!(w.node(OLGA).hub.poll(&other).unwrap().members.len(), 2);
    // (The convergence check is about the moved poll.)
    w.people[0].acked.remove(&id);
    w.advance(20_000);
    w.check_converged();
}

#[test]
fn a_prepared_answer_after_the_abort_is_answered_with_abort_and_the_copy_is_dropped() {
    let mut w = World::new();
    assert!(w.move_to(HOST));
    // The host prepares, but its answer is lost with the connection.
    while !w.node(HOST).hub.is_prepared(&poll_id()) {
        assert!(w.deliver_one());
    }
    for conn in w.hubs.hub_wires(Some(&peer(OLGA))) {
        w.close_wire(conn, Some(peer(HOST)));
    }
    w.advance(11_000);
    assert!(!w.node(OLGA).hub.is_moving(&poll_id()), "aborted");
    assert_eq!(w.serving(), [peer(OLGA)]);
    // A late `hub:prepared` (from the host, on any connection) gets `hub:abort`…
    w.send_raw(
        &peer(OLGA),
        &identity(HOST),
        Control::Prepared {
            poll_id: poll_id(),
            seq: 1,
        }
        .into(),
    );
    w.settle();
    let answer = raw_answers(&mut w, OLGA);
    assert_eq!(
        answer,
        [Control::Abort {
            poll_id: poll_id(),
            seq: 1
        }]
    );
    assert_eq!(w.serving(), [peer(OLGA)]);
    // …which the host obeys when it comes from the hub it prepared from.
    w.send_raw(
        &peer(HOST),
        &identity(MALLORY),
        Control::Abort {
            poll_id: poll_id(),
            seq: 1,
        }
        .into(),
    );
    w.settle();
    assert!(w.node(HOST).hub.is_prepared(&poll_id()), "not from Mallory");
    w.send_raw(
        &peer(HOST),
        &identity(OLGA),
        Control::Abort {
            poll_id: poll_id(),
            seq: 1,
        }
        .into(),
    );
    w.settle();
    assert!(!w.node(HOST).hub.is_prepared(&poll_id()));
    assert!(
        w.node(HOST).store.polls.is_empty(),
        "the copy left its store too"
    );
    w.check_converged();
}

#[test]
fn a_stored_hosting_that_does_not_fit_is_refused_at_restore() {
    let poll = Poll::new(poll_id(), peer(OLGA), lunch_draft(), NOW).unwrap();
    let mut host = Hub::new(identity(HOST), Limits::default());
    let hosting = |state, chain: Vec<SignedDelegation>| Hosting {
        state,
        chain,
        highest_seq: 1,
    };
    // Moved away with no delegation to say where.
    assert_eq!(
        host.restore_hosting(
            poll_id(),
            hosting(HostingState::Moved { activated: true }, vec![]),
            None,
            []
        ),
        Err(RestoreError::Inconsistent(poll_id()))
    );
    // Served without the poll.
    assert_eq!(
        host.restore_hosting(
            poll_id(),
            hosting(HostingState::Serving, vec![delegation(1, HOST)]),
            None,
            []
        ),
        Err(RestoreError::MissingPoll(poll_id()))
    );
    // Served under a delegation naming someone else, or none (someone else's poll).
    for chain in [vec![delegation(1, HOST2)], vec![]] {
        assert_eq!(
            host.restore_hosting(
                poll_id(),
                hosting(HostingState::Serving, chain),
                Some(poll.clone()),
                []
            ),
            Err(RestoreError::Inconsistent(poll_id()))
        );
    }
    assert!(host.poll(&poll_id()).is_none());
    // The right one is served.
    host.restore_hosting(
        poll_id(),
        hosting(HostingState::Serving, vec![delegation(1, HOST)]),
        Some(poll),
        [],
    )
    .unwrap();
    assert!(host.poll(&poll_id()).is_some());
    assert_eq!(host.delegation(&poll_id()).map(|d| d.seq()), Some(1));
}
