//! Tests of the shared owner link against the real hub machine, in simulated time: one
//! connection for many polls, routing, liveness, redial, impostors and the poll list.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;
use crate::follower::Link;
use crate::hub::{ConnId, Hub, Incoming, Limits};
use crate::poll::OptionId;
use crate::testing::{identity, listed_lunch_draft, poll_n as poll, vote, NOW};

fn olga() -> Identity {
    identity(1)
}
fn ann() -> Identity {
    identity(2)
}

fn command_id(n: u32) -> CommandId {
    let mut bytes = [0x77; 16];
    bytes[..4].copy_from_slice(&n.to_le_bytes());
    CommandId::from_random_bytes(bytes)
}

fn join() -> Command {
    Command::Join {
        display_name: "Ann".into(),
    }
}

/// The owner's hub, one participant's link to it, and the wire between them, in simulated
/// time. Frames are delivered one at a time, in order, like a data channel.
struct World {
    hub: Hub,
    link: OwnerLink,
    conn: Option<ConnId>,
    next_conn: u64,
    now: u64,
    /// Whether the owner's peer answers dials.
    owner_online: bool,
    to_hub: VecDeque<String>,
    to_link: VecDeque<String>,
    notices: Vec<(PollId, Notice)>,
    lists: Vec<Vec<PollSummary>>,
    dials: usize,
    closes: usize,
    dialing: bool,
    next_command: u32,
    /// DTLS fingerprints of every connection, as (the hub reads them, the link reads them).
    channel: Option<(ChannelFingerprints, ChannelFingerprints)>,
}

impl World {
    fn new(polls: u8) -> Self {
        let mut hub = Hub::new(olga(), Limits::default());
        for n in 1..=polls {
            hub.create(poll(n), listed_lunch_draft(), NOW).unwrap();
        }
        Self {
            hub,
            link: OwnerLink::new(ann(), olga().peer_id().clone()),
            conn: None,
            next_conn: 1,
            now: NOW,
            owner_online: true,
            to_hub: VecDeque::new(),
            to_link: VecDeque::new(),
            notices: Vec::new(),
            lists: Vec::new(),
            dials: 0,
            closes: 0,
            dialing: false,
            next_command: 0,
            channel: None,
        }
    }

    fn follow(&mut self, p: PollId) {
        let follower = Follower::new(ann(), olga().peer_id().clone(), p, None);
        self.link.follow(follower, self.now);
    }

    /// Stages and saves a command for `p` (the shell's outbox write succeeding at once).
    fn submit(&mut self, p: PollId, command: Command) -> CommandId {
        self.next_command += 1;
        let id = command_id(self.next_command);
        let record = self.link.stage(&p, id, command).unwrap();
        assert!(record.is_some());
        self.link.saved(&p, id, self.now);
        id
    }

    /// Acts on every output of the link, and delivers frames both ways, until all is quiet.
    fn settle(&mut self) {
        loop {
            let mut busy = false;
            while let Some(output) = self.link.poll_output() {
                busy = true;
                self.act(output);
            }
            if self.dialing {
                self.dialing = false;
                busy = true;
                if self.owner_online {
                    let conn = ConnId(self.next_conn);
                    self.next_conn += 1;
                    self.conn = Some(conn);
                    let step = self.hub.opened(conn, ann().peer_id().as_str(), self.now);
                    self.take(&step);
                    match &self.channel {
                        Some((hub_side, link_side)) => {
                            self.hub.set_channel(conn, hub_side.clone());
                            let link_side = link_side.clone();
                            self.link
                                .handle_input(Input::OpenedWith(&link_side), self.now);
                        }
                        None => self.link.handle_input(Input::Opened, self.now),
                    }
                } else {
                    self.link.handle_input(
                        Input::Closed {
                            random: u32::MAX / 2,
                        },
                        self.now,
                    );
                }
            }
            if let Some(frame) = self.to_hub.pop_front() {
                busy = true;
                if let Some(conn) = self.conn {
                    let step = self.hub.receive(conn, Incoming::Text(&frame), self.now);
                    self.take(&step);
                }
            } else if let Some(frame) = self.to_link.pop_front() {
                busy = true;
                if self.conn.is_some() {
                    self.link.handle_input(Input::Frame(&frame), self.now);
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn act(&mut self, output: Output) {
        match output {
            Output::Dial => {
                assert!(self.conn.is_none() && !self.dialing, "a second connection");
                self.dials += 1;
                self.dialing = true;
            }
            Output::Send(frame) => {
                assert!(self.conn.is_some(), "a send with no connection");
                self.to_hub.push_back(frame);
            }
            Output::Close => {
                self.closes += 1;
                self.drop_conn();
            }
            Output::Poll(p, notice) => self.notices.push((p, notice)),
            Output::List(polls) => self.lists.push(polls),
            Output::StateChanged | Output::Dropped(_) => {}
            Output::Moved { .. } => panic!("no poll moves in these tests"),
        }
    }

    fn take(&mut self, step: &crate::hub::Step) {
        for (conn, frame) in &step.sends {
            if Some(*conn) == self.conn {
                self.to_link.push_back(frame.to_string());
            }
        }
        if step.closes.iter().any(|c| Some(*c) == self.conn) {
            self.drop_conn();
            self.link.handle_input(
                Input::Closed {
                    random: u32::MAX / 2,
                },
                self.now,
            );
        }
    }

    fn drop_conn(&mut self) {
        if let Some(conn) = self.conn.take() {
            let step = self.hub.closed(conn);
            assert!(step.sends.iter().all(|(c, _)| *c != conn));
        }
        self.to_hub.clear();
        self.to_link.clear();
    }

    /// The network drops the connection (both sides see it close).
    fn cut(&mut self) {
        if self.conn.is_some() {
            self.drop_conn();
            self.link.handle_input(
                Input::Closed {
                    random: u32::MAX / 2,
                },
                self.now,
            );
        }
    }

    /// Lets `ms` pass, firing the link's timer (and the hub's tick) whenever due.
    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        loop {
            let next = self.link.poll_timeout().unwrap_or(u64::MAX).min(end);
            let next = next.max(self.now);
            self.now = next;
            let (step, _) = self.hub.tick(self.now);
            self.take(&step);
            self.link.handle_timeout(self.now, u32::MAX / 2);
            self.settle();
            if self.now >= end {
                return;
            }
            if self.link.poll_timeout().is_none_or(|t| t > end) {
                self.now = end;
                let (step, _) = self.hub.tick(self.now);
                self.take(&step);
                self.link.handle_timeout(self.now, u32::MAX / 2);
                self.settle();
                return;
            }
        }
    }

    fn acked(&self, p: PollId) -> usize {
        self.notices
            .iter()
            .filter(|(q, n)| *q == p && matches!(n, Notice::Acked { .. }))
            .count()
    }

    fn ballot(&self, p: PollId) -> Option<Vec<OptionId>> {
        self.hub
            .poll(&p)?
            .ballots
            .get(ann().peer_id())
            .map(|b| b.iter().copied().collect())
    }
}

#[test]
fn many_polls_of_one_owner_share_one_connection_for_a_minute() {
    let mut w = World::new(8);
    for n in 1..=8 {
        w.follow(poll(n));
        w.submit(poll(n), join());
    }
    w.settle();
    assert_eq!(w.dials, 1);
    assert_eq!(w.hub.connections(), 1);
    assert_eq!(w.link.state(), LinkState::Verified);
    for n in 1..=8 {
        w.submit(poll(n), vote(u32::from(n % 2) + 1));
    }
    w.settle();
    // A minute of heartbeats and silence checks on both sides: nothing closes.
    w.advance(60_000);
    assert_eq!((w.dials, w.closes), (1, 0));
    assert_eq!(w.hub.connections(), 1);
    for n in 1..=8 {
        let p = poll(n);
        assert_eq!(w.acked(p), 2, "join and vote of poll {n} acked once each");
        assert_eq!(
            w.link.follower(&p).map(Follower::link),
            Some(Link::Verified)
        );
        assert_eq!(w.ballot(p), Some(vec![OptionId(u32::from(n % 2) + 1)]));
        assert!(w
            .hub
            .present(&p)
            .iter()
            .any(|i| i.peer_id == *ann().peer_id()));
    }
}

#[test]
fn a_poll_added_to_an_open_link_syncs_without_a_new_connection() {
    let mut w = World::new(2);
    w.follow(poll(1));
    w.settle();
    assert_eq!(w.link.state(), LinkState::Verified);
    w.follow(poll(2));
    w.submit(poll(2), join());
    w.settle();
    assert_eq!(w.dials, 1);
    assert_eq!(w.acked(poll(2)), 1);
    assert!(w.link.follower(&poll(2)).unwrap().view().is_some());
}

#[test]
fn commands_wait_for_the_owner_and_go_once_it_is_back() {
    let mut w = World::new(2);
    w.owner_online = false;
    w.follow(poll(1));
    w.follow(poll(2));
    w.settle();
    let a = w.submit(poll(1), join());
    let b = w.submit(poll(2), join());
    assert!(matches!(w.link.state(), LinkState::Waiting(_)));
    w.advance(3_000);
    assert!(w.dials >= 2, "redials while the owner is away");
    w.owner_online = true;
    w.advance(40_000);
    assert_eq!(w.link.state(), LinkState::Verified);
    for (p, id) in [(poll(1), a), (poll(2), b)] {
        let acks: Vec<_> = w
            .notices
            .iter()
            .filter(|(q, n)| {
                *q == p && matches!(n, Notice::Acked { command_id, .. } if *command_id == id)
            })
            .collect();
        assert_eq!(acks.len(), 1);
    }
}

#[test]
fn the_owner_deleting_one_poll_marks_only_that_poll_gone() {
    let mut w = World::new(3);
    for n in 1..=3 {
        w.follow(poll(n));
        w.submit(poll(n), join());
    }
    w.settle();
    let step = w.hub.delete(poll(2));
    w.take(&step);
    w.settle();
    assert!(w.link.follower(&poll(2)).unwrap().is_gone());
    assert!(!w.link.follower(&poll(1)).unwrap().is_gone());
    assert!(!w.link.follower(&poll(3)).unwrap().is_gone());
    // The others still work on the same connection.
    w.submit(poll(3), vote(1));
    w.settle();
    assert_eq!(w.acked(poll(3)), 2);
    assert_eq!(w.dials, 1);
}

#[test]
fn a_poll_the_owner_never_had_is_gone_and_the_others_are_not() {
    let mut w = World::new(1);
    w.follow(poll(1));
    w.follow(poll(9)); // not at this owner
    w.settle();
    assert!(w.link.follower(&poll(9)).unwrap().is_gone());
    assert!(!w.link.follower(&poll(1)).unwrap().is_gone());
    assert_eq!(w.link.state(), LinkState::Verified);
}

#[test]
fn an_unknown_poll_error_naming_no_poll_is_blamed_only_when_unambiguous() {
    let owner = olga();
    let legacy = |p: Option<PollId>| {
        protocol::seal(
            &owner,
            &Message::Control(Control::Error {
                command_id: None,
                poll_id: p,
                code: ErrorCode::UnknownPoll,
                message: "no poll here".into(),
            }),
        )
        .unwrap()
    };
    // Two polls await their sync answer: an older owner's bare `unknown-poll` could be about
    // either, so neither is marked gone.
    let mut link = OwnerLink::new(ann(), owner.peer_id().clone());
    link.follow(
        Follower::new(ann(), owner.peer_id().clone(), poll(1), None),
        NOW,
    );
    link.follow(
        Follower::new(ann(), owner.peer_id().clone(), poll(2), None),
        NOW,
    );
    link.handle_input(Input::Opened, NOW);
    link.handle_input(Input::Frame(&legacy(None)), NOW);
    assert!(!link.follower(&poll(1)).unwrap().is_gone());
    assert!(!link.follower(&poll(2)).unwrap().is_gone());
    // With one poll waiting, it is that one.
    let mut link = OwnerLink::new(ann(), owner.peer_id().clone());
    link.follow(
        Follower::new(ann(), owner.peer_id().clone(), poll(1), None),
        NOW,
    );
    link.handle_input(Input::Opened, NOW);
    link.handle_input(Input::Frame(&legacy(None)), NOW);
    assert!(link.follower(&poll(1)).unwrap().is_gone());
}

#[test]
fn an_impostor_at_the_owners_id_is_refused_for_every_poll() {
    let mallory = identity(4);
    let mut link = OwnerLink::new(ann(), olga().peer_id().clone());
    link.follow(
        Follower::new(ann(), olga().peer_id().clone(), poll(1), None),
        NOW,
    );
    link.follow(
        Follower::new(ann(), olga().peer_id().clone(), poll(2), None),
        NOW,
    );
    link.handle_input(Input::Opened, NOW);
    while link.poll_output().is_some() {}
    let forged = protocol::seal(&mallory, &Message::Control(Control::Heartbeat)).unwrap();
    // Signed by Mallory but claiming nothing: the owner's ID is what was dialed.
    link.handle_input(Input::Frame(&forged), NOW);
    let outputs: Vec<Output> = std::iter::from_fn(|| link.poll_output()).collect();
    assert!(outputs.contains(&Output::Close));
    assert!(!outputs.iter().any(|o| matches!(o, Output::Send(_))));
    assert!(matches!(link.state(), LinkState::Waiting(_)));
    assert!(link.impostor().is_some());
    for n in [1, 2] {
        assert_eq!(link.follower(&poll(n)).unwrap().link(), Link::Down);
        assert!(link.follower(&poll(n)).unwrap().impostor().is_some());
    }
}

#[test]
fn a_silent_owner_is_dropped_and_redialed_and_a_quiet_link_sends_heartbeats() {
    let mut link = OwnerLink::new(ann(), olga().peer_id().clone());
    link.follow(
        Follower::new(ann(), olga().peer_id().clone(), poll(1), None),
        NOW,
    );
    link.handle_input(Input::Opened, NOW);
    while link.poll_output().is_some() {}
    // Quiet on our side for 5 s: a heartbeat.
    assert_eq!(link.poll_timeout(), Some(NOW + HEARTBEAT_AFTER_MS));
    link.handle_timeout(NOW + HEARTBEAT_AFTER_MS, 1);
    let outputs: Vec<Output> = std::iter::from_fn(|| link.poll_output()).collect();
    assert_eq!(outputs.len(), 1);
    let Output::Send(frame) = &outputs[0] else {
        panic!("{outputs:?}")
    };
    let (_, message) = protocol::open_from(frame, ann().peer_id()).unwrap();
    assert_eq!(message, Message::Control(Control::Heartbeat));
    // Nothing heard for 15 s: closed, and a redial is scheduled.
    link.handle_timeout(NOW + SILENCE_CLOSE_MS, 1);
    let outputs: Vec<Output> = std::iter::from_fn(|| link.poll_output()).collect();
    assert!(outputs.contains(&Output::Close));
    let LinkState::Waiting(at) = link.state() else {
        panic!("{:?}", link.state())
    };
    assert_eq!(link.poll_timeout(), Some(at));
    link.handle_timeout(at, 1);
    assert_eq!(link.poll_output(), Some(Output::Dial));
}

#[test]
fn the_poll_list_uses_the_same_connection_and_an_idle_link_closes_after_it() {
    let mut w = World::new(3);
    w.link.want_list(w.now);
    w.settle();
    assert_eq!(w.lists.len(), 1);
    assert_eq!(w.lists[0].len(), 3);
    // Nobody else needed the connection: it closed after the answer.
    assert_eq!((w.dials, w.closes), (1, 1));
    assert_eq!(w.link.state(), LinkState::Idle);
    // With polls followed, the list goes over their connection.
    w.follow(poll(1));
    w.settle();
    w.link.want_list(w.now);
    w.settle();
    assert_eq!(w.lists.len(), 2);
    assert_eq!(w.dials, 2);
    assert_eq!(w.link.state(), LinkState::Verified);
}

#[test]
fn leaving_the_last_poll_closes_the_connection() {
    let mut w = World::new(2);
    w.follow(poll(1));
    w.follow(poll(2));
    w.settle();
    w.link.unfollow(&poll(1));
    w.settle();
    assert_eq!(w.closes, 0);
    w.link.unfollow(&poll(2));
    w.settle();
    assert_eq!(w.closes, 1);
    assert_eq!(w.link.state(), LinkState::Idle);
    assert_eq!(w.link.poll_timeout(), None);
}

#[derive(Debug, Clone)]
enum Step {
    Vote { poll: u8, option: u32 },
    Cut,
    OwnerAway,
    OwnerBack,
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1u8..=4, 1u32..=2).prop_map(|(poll, option)| Step::Vote { poll, option }),
        1 => Just(Step::Cut),
        1 => Just(Step::OwnerAway),
        1 => Just(Step::OwnerBack),
        2 => (0u64..20_000).prop_map(Step::Wait),
    ]
}

proptest! {
    /// Votes in four polls of one owner, with the connection cut and the owner away at random
    /// moments: there is never more than one connection, and once the owner stays reachable
    /// every command is acked exactly once and each poll holds the last vote.
    #[test]
    fn every_vote_lands_once_over_one_connection(steps in proptest::collection::vec(step(), 1..40)) {
        let mut w = World::new(4);
        let mut last = [None; 5];
        let mut made = Vec::new();
        for n in 1..=4 {
            w.follow(poll(n));
            made.push((poll(n), w.submit(poll(n), join())));
        }
        for s in steps {
            match s {
                Step::Vote { poll: n, option } => {
                    made.push((poll(n), w.submit(poll(n), vote(option))));
                    last[usize::from(n)] = Some(option);
                }
                Step::Cut => w.cut(),
                Step::OwnerAway => {
                    w.owner_online = false;
                    w.cut();
                }
                Step::OwnerBack => w.owner_online = true,
                Step::Wait(ms) => w.advance(ms),
            }
            w.settle();
            prop_assert!(w.hub.connections() <= 1);
        }
        w.owner_online = true;
        w.advance(120_000);
        prop_assert_eq!(w.hub.connections(), 1);
        for (p, id) in &made {
            let answers = w.notices.iter().filter(|(q, n)| q == p && matches!(n,
                Notice::Acked { command_id, .. } if command_id == id)).count();
            prop_assert_eq!(answers, 1, "command {} of poll {}", id, p);
        }
        for n in 1..=4u8 {
            let expected = last[usize::from(n)].map(|o| vec![OptionId(o)]);
            prop_assert_eq!(w.ballot(poll(n)), expected);
            prop_assert_eq!(w.link.follower(&poll(n)).unwrap().pending_len(), 0);
        }
    }
}

/// What the user does between two looks at the outcome, for the naming test.
#[derive(Debug, Clone, Copy)]
enum Act {
    Rename(&'static str),
    Reload,
    OwnerAway,
    OwnerBack,
    Wait,
}

/// The shell's side of naming, as `src/follow.rs` runs it: a stored outbox, the user's chosen
/// name, and `name_command` asked on start, on every rename and after every answer.
struct Naming {
    w: World,
    desired: &'static str,
    store: std::collections::BTreeMap<CommandId, OutboxRecord>,
    seen: usize,
}

impl Naming {
    const POLL: u8 = 1;

    fn new() -> Self {
        let mut n = Self {
            w: World::new(1),
            desired: "Ann",
            store: Default::default(),
            seen: 0,
        };
        n.w.follow(poll(Self::POLL));
        n.tell();
        n.settle();
        n
    }

    fn follower(&self) -> &Follower {
        self.w.link.follower(&poll(Self::POLL)).unwrap()
    }

    /// Queues what the core says the owner must be told (stored, then saved).
    fn tell(&mut self) {
        let Some(command) = self.follower().name_command(self.desired) else {
            return;
        };
        self.w.next_command += 1;
        let id = command_id(self.w.next_command);
        let p = poll(Self::POLL);
        let record = self.w.link.stage(&p, id, command).unwrap().unwrap();
        self.store.insert(id, record);
        self.w.link.saved(&p, id, self.w.now);
    }

    /// Delivers everything; answered records leave the store and the name is looked at again.
    fn settle(&mut self) {
        loop {
            self.w.settle();
            let fresh: Vec<Notice> = self.w.notices[self.seen..]
                .iter()
                .map(|(_, n)| n.clone())
                .collect();
            self.seen = self.w.notices.len();
            if fresh.is_empty() {
                return;
            }
            for notice in fresh {
                if let Notice::Acked { command_id, .. } | Notice::Refused { command_id, .. } =
                    notice
                {
                    self.store.remove(&command_id);
                    self.tell();
                }
            }
        }
    }

    /// The tab reloads: a new link, the follower rebuilt from the saved view and the store.
    fn reload(&mut self) {
        self.w.cut();
        let cached = self.follower().view().cloned();
        let mut follower = Follower::new(ann(), olga().peer_id().clone(), poll(Self::POLL), cached);
        let mut records: Vec<OutboxRecord> = self.store.values().cloned().collect();
        records.sort_by_key(|r| r.seq);
        follower.restore(&records).unwrap();
        self.w.link = OwnerLink::new(ann(), olga().peer_id().clone());
        self.w.link.follow(follower, self.w.now);
        self.tell();
    }

    fn pending_names(&self) -> usize {
        self.follower()
            .pending()
            .filter(|(_, c)| matches!(c, Command::Join { .. } | Command::UpdateProfile { .. }))
            .count()
    }

    fn owner_holds(&self) -> Option<String> {
        let poll = self.w.hub.poll(&poll(Self::POLL))?;
        poll.members
            .get(ann().peer_id())
            .map(|m| m.display_name.clone())
    }
}

/// Every interleaving of four acts among renames, reloads and the owner's absence ends with the
/// owner holding the user's last name, with at most one join or rename pending at any moment
/// (issue: Ann → Bea → Ann while the owner was away left the owner with "Bea"; every start
/// queued the name again).
#[test]
fn the_owner_ends_with_the_last_name_whatever_the_interleaving() {
    let acts = [
        Act::Rename("Ann"),
        Act::Rename("Bea"),
        Act::Reload,
        Act::OwnerAway,
        Act::OwnerBack,
        Act::Wait,
    ];
    let mut cases = 0;
    let mut sequence = [0usize; 4];
    loop {
        let mut n = Naming::new();
        assert_eq!(n.owner_holds().as_deref(), Some("Ann"));
        for &i in &sequence {
            match acts[i] {
                Act::Rename(name) => {
                    n.desired = name;
                    n.tell();
                }
                Act::Reload => n.reload(),
                Act::OwnerAway => {
                    n.w.owner_online = false;
                    n.w.cut();
                }
                Act::OwnerBack => n.w.owner_online = true,
                Act::Wait => n.w.advance(2_000),
            }
            n.settle();
            assert!(
                n.pending_names() <= 1,
                "{sequence:?}: {} pending",
                n.pending_names()
            );
            assert_eq!(n.store.len(), n.follower().pending_len(), "{sequence:?}");
        }
        n.w.owner_online = true;
        for _ in 0..12 {
            n.w.advance(10_000);
            n.settle();
        }
        assert_eq!(n.owner_holds().as_deref(), Some(n.desired), "{sequence:?}");
        assert_eq!(n.follower().pending_len(), 0, "{sequence:?}");
        assert!(n.store.is_empty(), "{sequence:?}");
        cases += 1;
        // The next sequence, in base acts.len().
        let mut k = 0;
        while k < sequence.len() {
            sequence[k] += 1;
            if sequence[k] < acts.len() {
                break;
            }
            sequence[k] = 0;
            k += 1;
        }
        if k == sequence.len() {
            break;
        }
    }
    assert_eq!(cases, 6usize.pow(4));
}

#[test]
fn a_start_with_the_same_rename_pending_queues_nothing_more() {
    let mut n = Naming::new();
    n.w.owner_online = false;
    n.w.cut();
    n.desired = "Bea";
    n.tell();
    n.settle();
    assert_eq!(n.pending_names(), 1);
    // Reload twice with the owner away: still one rename pending.
    n.reload();
    n.settle();
    n.reload();
    n.settle();
    assert_eq!(n.pending_names(), 1);
    let revision = n.w.hub.poll(&poll(1)).unwrap().revision;
    n.w.owner_online = true;
    n.w.advance(60_000);
    n.settle();
    assert_eq!(n.owner_holds().as_deref(), Some("Bea"));
    // One rename applied: one revision.
    assert_eq!(n.w.hub.poll(&poll(1)).unwrap().revision, revision.next());
}

// ---- channel binding (PROTOCOL.md §2.7) ----

fn hub_side() -> ChannelFingerprints {
    ChannelFingerprints {
        local: "sha-256 0A:0A".into(),
        remote: "sha-256 0B:0B".into(),
    }
}

/// What the participant reads when nobody is in the middle: the same two, swapped.
fn link_side() -> ChannelFingerprints {
    ChannelFingerprints {
        local: "sha-256 0B:0B".into(),
        remote: "sha-256 0A:0A".into(),
    }
}

/// An unsigned `ack` from the owner for `id`, as only a bound channel may carry.
fn unsigned_ack(id: CommandId) -> String {
    let ack = Control::Ack {
        command_id: id,
        revision: crate::poll::Revision(99),
    };
    protocol::frame_unsigned(olga().peer_id(), &Message::Control(ack)).unwrap()
}

/// Follows poll 1 over a verified connection, then stages a vote whose frame is never
/// delivered, and feeds the link an unsigned ack for it; returns whether the ack was taken.
fn unsigned_ack_taken(w: &mut World) -> bool {
    w.follow(poll(1));
    w.submit(poll(1), join());
    w.settle();
    assert_eq!(w.link.state(), LinkState::Verified);
    let id = w.submit(poll(1), vote(1));
    while w.link.poll_output().is_some() {} // the vote's frame is lost on the way
    w.link.handle_input(Input::Frame(&unsigned_ack(id)), w.now);
    let mut taken = false;
    while let Some(output) = w.link.poll_output() {
        taken |=
            matches!(output, Output::Poll(_, Notice::Acked { command_id, .. }) if command_id == id);
    }
    taken
}

#[test]
fn a_bound_channel_drains_a_burst_with_unsigned_owner_frames() {
    let mut w = World::new(1);
    w.channel = Some((hub_side(), link_side()));
    w.follow(poll(1));
    w.submit(poll(1), join());
    for n in 0..40 {
        w.submit(poll(1), vote(1 + n % 2));
    }
    w.settle();
    assert!(w.link.is_bound());
    assert!(w.hub.is_bound(w.conn.unwrap()));
    assert_eq!(w.acked(poll(1)), 41);
    assert_eq!(w.ballot(poll(1)), Some(vec![OptionId(2)]));
    let view = w.link.follower(&poll(1)).unwrap().view().unwrap();
    assert_eq!(view.revision, w.hub.poll(&poll(1)).unwrap().revision);
}

#[test]
fn an_unsigned_frame_is_refused_on_an_unbound_channel() {
    let mut w = World::new(1);
    assert!(!unsigned_ack_taken(&mut w));
    assert!(!w.link.is_bound());
}

#[test]
fn an_unsigned_frame_is_taken_on_a_bound_channel() {
    let mut w = World::new(1);
    w.channel = Some((hub_side(), link_side()));
    assert!(unsigned_ack_taken(&mut w));
}

#[test]
fn a_shell_without_fingerprints_never_binds() {
    let mut w = World::new(1);
    // The hub knows them, the participant's shell does not: no request, no binding.
    w.channel = None;
    w.follow(poll(1));
    w.submit(poll(1), join());
    w.settle();
    assert_eq!(w.acked(poll(1)), 1);
    assert!(!w.link.is_bound());
}

#[test]
fn a_bind_naming_other_fingerprints_closes_the_connection_and_sends_nothing() {
    let mut w = World::new(1);
    // Someone in the middle: each end sees the intruder's certificate as the remote one.
    let participant_sees = ChannelFingerprints {
        local: "sha-256 0B:0B".into(),
        remote: "sha-256 0C:0C".into(),
    };
    w.channel = Some((hub_side(), participant_sees));
    w.follow(poll(1));
    w.submit(poll(1), join());
    w.settle();
    assert!(!w.link.is_bound());
    assert!(w.link.impostor().is_some());
    assert_eq!(w.closes, 1);
    assert_eq!(w.acked(poll(1)), 0);
    assert_eq!(w.ballot(poll(1)), None);
}

// ---- batches (PROTOCOL.md §2.8) ----

/// Follows poll 1, stages two votes whose frames are lost, and feeds the link one message with
/// the owner's unsigned acks for both; returns how many acks were taken.
fn acks_taken_from_a_batch(w: &mut World) -> usize {
    w.follow(poll(1));
    w.submit(poll(1), join());
    w.settle();
    assert_eq!(w.link.state(), LinkState::Verified);
    let ids = [w.submit(poll(1), vote(1)), w.submit(poll(1), vote(2))];
    while w.link.poll_output().is_some() {} // the votes' frames are lost on the way
    let frames = ids.map(|id| std::rc::Rc::<str>::from(unsigned_ack(id)));
    let message = protocol::batch::join(frames.to_vec());
    assert_eq!(message.len(), 1);
    w.link.handle_input(Input::Frame(&message[0]), w.now);
    let mut taken = 0;
    while let Some(output) = w.link.poll_output() {
        if matches!(output, Output::Poll(_, Notice::Acked { command_id, .. }) if ids.contains(&command_id))
        {
            taken += 1;
        }
    }
    taken
}

#[test]
fn a_batch_is_opened_frame_by_frame_on_a_connection_that_asked_for_batches() {
    let mut w = World::new(1);
    w.channel = Some((hub_side(), link_side()));
    assert_eq!(acks_taken_from_a_batch(&mut w), 2);
}

#[test]
fn a_batch_is_not_a_frame_on_a_connection_that_did_not_ask() {
    let mut w = World::new(1);
    // No fingerprints: no binding asked, so no batches either; the message is one bad frame.
    w.channel = None;
    assert_eq!(acks_taken_from_a_batch(&mut w), 0);
}
