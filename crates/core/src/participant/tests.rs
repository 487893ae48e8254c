//! Tests of the whole participant against the real hub machine, in simulated time, with a
//! simulated IndexedDB whose writes finish when the test says: outbox writes before sends,
//! coalesced deletes and view saves after the page saw them, joining only loaded polls,
//! heartbeats and silence, redial, reloads, and a property test of it all.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;

use super::*;
use crate::hub::testkit::{peer, Hubs, ToClient, HOST, OLGA, PEOPLE};
use crate::hub::{ConnId, Hub, Incoming, Limits};
use crate::poll::OptionId;
use crate::protocol::{HEARTBEAT_AFTER_MS, SILENCE_CLOSE_MS};
use crate::testing::{cid, identity, listed_lunch_draft, poll_id, poll_n as poll, vote, NOW};

fn olga() -> Identity {
    identity(1)
}
fn ann() -> Identity {
    identity(2)
}
fn key(n: u8) -> FollowKey {
    (olga().peer_id().clone(), poll(n))
}

/// Counting randomness: fresh command ids, and a fixed jitter.
struct Counter(u32);

impl Entropy for Counter {
    fn command_id(&mut self) -> Option<CommandId> {
        self.0 += 1;
        let mut bytes = [0x55; 16];
        bytes[..4].copy_from_slice(&self.0.to_le_bytes());
        Some(CommandId::from_random_bytes(bytes))
    }
    fn next_u32(&mut self) -> u32 {
        u32::MAX / 2
    }
}

/// A storage operation under way.
#[derive(Debug)]
enum Op {
    Write(FollowKey, OutboxRecord, Vec<CommandId>),
    Delete(FollowKey, Vec<CommandId>),
    Save(Box<SavedView>),
}

/// The owner's hub, the participant, the wire and the storage, in simulated time.
struct World {
    hub: Hub,
    me: Participant,
    rng: Counter,
    now: u64,
    conn: Option<ConnId>,
    next_conn: u64,
    dialing: bool,
    owner_online: bool,
    to_hub: VecDeque<String>,
    to_me: VecDeque<String>,
    /// Storage finishes operations only when told (`finish_storage`) while this is set.
    slow_storage: bool,
    /// The next outbox write fails.
    fail_write: bool,
    ops: VecDeque<Op>,
    outbox: BTreeMap<CommandId, OutboxRecord>,
    joined: BTreeMap<FollowKey, SavedView>,
    /// Every output, in order, for the ordering checks.
    log: Vec<Output>,
    /// Commands written but not reported stored yet: none of them may be sent.
    unstored: BTreeSet<CommandId>,
    /// Commands the hub answered (acked or refused), as seen on the wire.
    answered: BTreeSet<CommandId>,
    saves: usize,
    /// Each poll's last vote whose record was stored.
    last_stored: BTreeMap<PollId, Vec<OptionId>>,
}

impl World {
    fn new(polls: u8) -> Self {
        let mut hub = Hub::new(olga(), Limits::default());
        for n in 1..=polls {
            hub.create(poll(n), listed_lunch_draft(), NOW).unwrap();
        }
        Self {
            hub,
            me: Participant::new(ann()),
            rng: Counter(0),
            now: NOW,
            conn: None,
            next_conn: 1,
            dialing: false,
            owner_online: true,
            to_hub: VecDeque::new(),
            to_me: VecDeque::new(),
            slow_storage: false,
            fail_write: false,
            ops: VecDeque::new(),
            outbox: BTreeMap::new(),
            joined: BTreeMap::new(),
            log: Vec::new(),
            unstored: BTreeSet::new(),
            answered: BTreeSet::new(),
            saves: 0,
            last_stored: BTreeMap::new(),
        }
    }

    /// Starts following poll `n` the way the shell does: from what storage holds.
    fn follow(&mut self, n: u8) {
        let k = key(n);
        let records: Vec<OutboxRecord> = self
            .outbox
            .values()
            .filter(|r| r.poll_id == poll(n))
            .cloned()
            .collect();
        let saved = self.joined.get(&k).cloned();
        let (start, problems) = Start::restore(ann(), &k, saved, None, &records, "Ann".into());
        assert!(problems.is_empty());
        self.me.follow(start, self.now, &mut self.rng);
        self.settle();
    }

    fn submit(&mut self, n: u8, command: Command) {
        self.me
            .submit(&key(n), command, self.now, &mut self.rng)
            .unwrap();
        self.settle();
    }

    /// The tab reloads: the participant is made again from storage (writes under way are lost
    /// with the tab, as IndexedDB loses an uncommitted transaction).
    fn reload(&mut self, polls: u8) {
        self.ops.clear();
        self.unstored.clear();
        if let Some(conn) = self.conn.take() {
            let step = self.hub.closed(conn);
            assert!(step.sends.is_empty());
        }
        self.dialing = false;
        self.to_hub.clear();
        self.to_me.clear();
        self.me = Participant::new(ann());
        for n in 1..=polls {
            if self.joined.contains_key(&key(n)) {
                self.follow(n);
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.me.handle_input(input, self.now, &mut self.rng);
    }

    fn finish(&mut self, op: Op) {
        match op {
            Op::Write(k, record, delete) => {
                let stored = !std::mem::take(&mut self.fail_write);
                let id = record.command_id;
                self.unstored.remove(&id);
                if stored {
                    if let Command::CastVote { option_ids, .. } = &record.command {
                        let ballot = option_ids.to_vec();
                        self.last_stored.insert(record.poll_id, ballot);
                    }
                    for d in &delete {
                        self.outbox.remove(d);
                    }
                    self.outbox.insert(id, record);
                }
                self.input(Input::OutboxWritten {
                    key: &k,
                    command_id: id,
                    stored,
                    deleted: delete,
                });
            }
            Op::Delete(k, ids) => {
                for id in &ids {
                    self.outbox.remove(id);
                }
                self.input(Input::OutboxDeleted(&k));
            }
            Op::Save(view) => {
                let view = *view;
                let k = (view.owner.clone(), view.poll_id);
                self.joined.insert(k.clone(), view);
                self.input(Input::ViewSaved(&k));
            }
        }
    }

    /// Finishes every storage operation under way (and whatever they start), in order.
    fn finish_storage(&mut self) {
        while let Some(op) = self.ops.pop_front() {
            self.finish(op);
            self.pump();
        }
        self.settle();
    }

    fn hub_peer() -> PeerId {
        olga().peer_id().clone()
    }

    /// Performs the participant's outputs (checking the invariants on the way).
    fn pump(&mut self) -> bool {
        let mut busy = false;
        while let Some(output) = self.me.poll_output() {
            busy = true;
            self.check(&output);
            self.log.push(output.clone());
            match output {
                Output::Dial(peer) => {
                    assert_eq!(peer, Self::hub_peer());
                    assert!(self.conn.is_none() && !self.dialing, "a second connection");
                    self.dialing = true;
                }
                Output::Send(_, frame) => {
                    assert!(self.conn.is_some(), "a send with no connection");
                    self.to_hub.push_back(frame);
                }
                Output::Close(_) => self.drop_conn(),
                Output::WriteOutbox {
                    key,
                    record,
                    delete,
                } => {
                    self.unstored.insert(record.command_id);
                    self.ops.push_back(Op::Write(key, record, delete));
                }
                Output::DeleteOutbox { key, ids } => self.ops.push_back(Op::Delete(key, ids)),
                Output::SaveView(view) => {
                    self.saves += 1;
                    self.ops.push_back(Op::Save(view));
                }
                Output::Leave(_) => panic!("no moves here"),
                Output::Notify(_) | Output::List(..) | Output::Log(_) => {}
            }
        }
        busy
    }

    /// The invariants every output must keep.
    fn check(&self, output: &Output) {
        match output {
            Output::Send(_, frame) => {
                for id in &self.unstored {
                    assert!(
                        !frame.contains(&id.to_string()),
                        "command {id} sent before its record was stored"
                    );
                }
            }
            Output::DeleteOutbox { key, ids } => {
                for id in ids {
                    assert!(self.answered.contains(id), "{id} deleted before its answer");
                }
                self.assert_notified_since_change(key);
            }
            Output::WriteOutbox { delete, .. } => {
                for id in delete {
                    assert!(self.answered.contains(id), "{id} deleted before its answer");
                }
            }
            Output::SaveView(view) => {
                self.assert_notified_since_change(&(view.owner.clone(), view.poll_id));
            }
            _ => {}
        }
    }

    /// The page of `key` was told since the last frame arrived (storage follows the screen).
    fn assert_notified_since_change(&self, key: &FollowKey) {
        let last_notify = self
            .log
            .iter()
            .rposition(|o| matches!(o, Output::Notify(k) if k == key));
        assert!(last_notify.is_some(), "stored before the page was told");
    }

    /// Acts on outputs, finishes storage (unless slow), delivers frames and dials, until quiet.
    fn settle(&mut self) {
        loop {
            let mut busy = self.pump();
            if !self.slow_storage {
                if let Some(op) = self.ops.pop_front() {
                    self.finish(op);
                    busy = true;
                }
            }
            if self.dialing {
                self.dialing = false;
                busy = true;
                let hub = Self::hub_peer();
                if self.owner_online {
                    let conn = ConnId(self.next_conn);
                    self.next_conn += 1;
                    self.conn = Some(conn);
                    let step = self.hub.opened(conn, ann().peer_id().as_str(), self.now);
                    self.take(&step);
                    self.input(Input::Opened(&hub, None));
                } else {
                    self.input(Input::Failed(&hub, DialProblem::OwnerOffline));
                    self.input(Input::Closed(&hub));
                }
            }
            if let Some(frame) = self.to_hub.pop_front() {
                busy = true;
                if let Some(conn) = self.conn {
                    let step = self.hub.receive(conn, Incoming::Text(&frame), self.now);
                    self.take(&step);
                }
            } else if let Some(frame) = self.to_me.pop_front() {
                busy = true;
                if self.conn.is_some() {
                    let hub = Self::hub_peer();
                    self.input(Input::Frame(&hub, &frame));
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn take(&mut self, step: &crate::hub::Step) {
        for (conn, frame) in &step.sends {
            if Some(*conn) == self.conn {
                let text = frame.to_string();
                let unescaped = text.replace('\\', "");
                let answer = ["\"type\":\"ack\"", "\"type\":\"error\""]
                    .iter()
                    .any(|t| unescaped.contains(t));
                for id in self.outbox.keys().chain(self.unstored.iter()) {
                    if answer && text.contains(&id.to_string()) {
                        self.answered.insert(*id);
                    }
                }
                self.to_me.push_back(text);
            }
        }
        if step.closes.iter().any(|c| Some(*c) == self.conn) {
            self.drop_conn();
            let hub = Self::hub_peer();
            self.input(Input::Closed(&hub));
        }
    }

    fn drop_conn(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.hub.closed(conn);
        }
        self.to_hub.clear();
        self.to_me.clear();
    }

    /// The network drops the connection (both sides see it close).
    fn cut(&mut self) {
        if self.conn.is_some() {
            self.drop_conn();
            let hub = Self::hub_peer();
            self.input(Input::Closed(&hub));
            self.settle();
        }
    }

    /// Lets `ms` pass, firing the participant's one timer (and the hub's) whenever due.
    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        loop {
            let next = self
                .me
                .poll_timeout()
                .into_iter()
                .chain(self.hub.poll_timeout())
                .min()
                .unwrap_or(u64::MAX)
                .clamp(self.now, end);
            self.now = next;
            let step = self.hub.handle_timeout(self.now, || None);
            self.take(&step);
            self.me.handle_timeout(self.now, &mut self.rng);
            self.settle();
            if self.now >= end {
                return;
            }
        }
    }

    fn snapshot(&self, n: u8) -> FollowSnapshot {
        self.me.snapshot(&key(n)).unwrap()
    }

    fn sends_since(&self, mark: usize) -> Vec<&str> {
        self.log[mark..]
            .iter()
            .filter_map(|o| match o {
                Output::Send(_, frame) => Some(frame.as_str()),
                _ => None,
            })
            .collect()
    }

    fn ballot(&self, n: u8) -> Option<Vec<OptionId>> {
        self.hub
            .poll(&poll(n))?
            .ballots
            .get(ann().peer_id())
            .map(|b| b.iter().copied().collect())
    }
}

#[test]
fn a_new_poll_is_joined_and_saved_only_once_its_first_view_arrived() {
    let mut w = World::new(1);
    w.slow_storage = true;
    w.owner_online = false;
    w.follow(1);
    // The owner is away: no view, so nothing is written and no join is queued.
    assert!(w.ops.is_empty());
    assert_eq!(w.snapshot(1).pending_count, 0);
    assert_eq!(w.snapshot(1).last_error, Some(DialProblem::OwnerOffline));
    w.owner_online = true;
    w.advance(31_000);
    // The view arrived: the page is told, then the view saved and the join written.
    assert!(w.snapshot(1).view.is_some());
    assert_eq!(w.snapshot(1).last_error, None);
    assert!(matches!(
        w.ops.front(),
        Some(Op::Save(_)) | Some(Op::Write(..))
    ));
    assert!(w.ops.iter().any(|op| matches!(op, Op::Write(_, r, _)
        if matches!(r.command, Command::Join { .. }))));
    assert!(w.ballot(1).is_none());
    w.slow_storage = false;
    w.finish_storage();
    assert!(w.joined.contains_key(&key(1)));
    assert!(w
        .hub
        .poll(&poll(1))
        .unwrap()
        .members
        .contains_key(ann().peer_id()));
}

#[test]
fn a_link_to_no_poll_leaves_nothing_behind() {
    let mut w = World::new(0);
    w.follow(9);
    w.advance(1_000);
    assert!(w.snapshot(9).gone);
    assert!(w.joined.is_empty() && w.outbox.is_empty() && w.saves == 0);
    // Nothing more is dialed for a gone poll.
    let mark = w.log.len();
    w.advance(120_000);
    assert!(!w.log[mark..].iter().any(|o| matches!(o, Output::Dial(_))));
}

#[test]
fn a_command_is_sent_only_after_its_record_is_stored() {
    let mut w = World::new(1);
    w.follow(1);
    w.slow_storage = true;
    let mark = w.log.len();
    w.submit(1, vote(1));
    assert!(
        w.sends_since(mark).is_empty(),
        "nothing sent before the write ends"
    );
    assert_eq!(w.snapshot(1).pending_count, 1);
    w.finish_storage();
    assert!(w.sends_since(mark).iter().any(|f| f.contains("poll:vote")));
}

#[test]
fn a_slow_write_shows_the_pending_command_after_fifty_ms() {
    let mut w = World::new(1);
    w.follow(1);
    w.advance(1_000);
    w.slow_storage = true;
    let mark = w.log.len();
    w.submit(1, vote(1));
    assert_eq!(w.me.poll_timeout(), Some(w.now + PENDING_SHOW_MS));
    assert!(!w.log[mark..].iter().any(|o| matches!(o, Output::Notify(_))));
    w.advance(PENDING_SHOW_MS);
    assert!(w.log[mark..].iter().any(|o| matches!(o, Output::Notify(_))));
}

#[test]
fn a_failed_write_drops_the_command_and_says_why() {
    let mut w = World::new(1);
    w.follow(1);
    w.fail_write = true;
    let mark = w.log.len();
    w.submit(1, vote(1));
    assert_eq!(w.snapshot(1).refusal, Some(CommandProblem::NotStored));
    assert_eq!(w.snapshot(1).pending_count, 0);
    assert!(!w.sends_since(mark).iter().any(|f| f.contains("poll:vote")));
    assert!(w.ballot(1).is_none());
}

#[test]
fn answers_are_deleted_after_the_page_saw_them_and_together_while_one_deletion_runs() {
    let mut w = World::new(1);
    w.follow(1);
    w.advance(1_000);
    let deletes = |w: &World, from: usize| {
        w.log[from..]
            .iter()
            .filter(|o| matches!(o, Output::DeleteOutbox { .. }))
            .count()
    };
    let mark = w.log.len();
    w.submit(1, vote(1));
    w.slow_storage = true;
    w.advance(1);
    // Acked: its deletion starts right after the page was told, and is held under way.
    assert_eq!(deletes(&w, mark), 1);
    let at = w.ops.iter().position(|op| matches!(op, Op::Delete(..)));
    let held = w.ops.remove(at.expect("a deletion under way")).unwrap();
    w.finish_storage();
    // Three more answers arrive while that deletion is under way.
    w.slow_storage = false;
    for option in [2, 1, 2] {
        w.submit(1, vote(option));
        w.advance(1);
    }
    let writes_deleting = w.log[mark..]
        .iter()
        .filter(|o| matches!(o, Output::WriteOutbox { delete, .. } if !delete.is_empty()))
        .count();
    assert_eq!(deletes(&w, mark), 1, "no second deletion while one runs");
    w.ops.push_front(held);
    w.finish_storage();
    w.advance(1);
    // What waited went out in one deletion (answers also rode along in the next writes).
    assert_eq!(deletes(&w, mark), 2);
    assert!(writes_deleting >= 1);
    assert!(w.outbox.is_empty(), "left: {:?}", w.outbox.keys());
    assert_eq!(w.ballot(1), Some(vec![OptionId(2)]));
}

#[test]
fn views_arriving_during_a_save_are_saved_once_afterwards_latest_wins() {
    let mut w = World::new(1);
    w.follow(1);
    w.advance(1_000);
    w.slow_storage = true;
    let saves = w.saves;
    // The owner changes the poll three times; the first change's save is held under way.
    for (n, text) in [(1, "A"), (2, "B"), (3, "C")] {
        let add = Command::AddOption { text: text.into() };
        let step = w.hub.local(poll(1), cid(n), &add, w.now).0;
        w.take(&step);
        w.settle();
        w.advance(1);
    }
    assert_eq!(w.saves, saves + 1, "no second save while one is under way");
    w.slow_storage = false;
    w.finish_storage();
    w.advance(1);
    assert_eq!(w.saves, saves + 2, "the waiting views are saved together");
    let saved = w.joined.get(&key(1)).unwrap().view.clone().unwrap();
    assert_eq!(saved.options.len(), 5);
}

#[test]
fn a_quiet_link_sends_heartbeats_and_a_silent_hub_is_dropped_and_redialed() {
    let mut w = World::new(1);
    w.follow(1);
    w.advance(1_000);
    let mark = w.log.len();
    // The participant's one timer is at the heartbeat.
    w.advance(HEARTBEAT_AFTER_MS);
    assert!(w.sends_since(mark).iter().any(|f| f.contains("heartbeat")));
    // The hub goes silent (frames to the participant are lost).
    let mark = w.log.len();
    let start = w.now;
    let closed = loop {
        if let Some(at) = w.log[mark..]
            .iter()
            .position(|o| matches!(o, Output::Close(_)))
        {
            break at;
        }
        assert!(w.now < start + SILENCE_CLOSE_MS, "not closed in time");
        w.to_me.clear();
        w.now =
            w.me.poll_timeout()
                .expect("a timer while open")
                .max(w.now + 1);
        w.me.handle_timeout(w.now, &mut w.rng);
        w.pump();
        w.to_hub.clear();
    };
    assert!(w.now >= start + SILENCE_CLOSE_MS - HEARTBEAT_AFTER_MS);
    w.settle();
    w.advance(31_000);
    assert!(w.log[mark + closed..]
        .iter()
        .any(|o| matches!(o, Output::Dial(_))));
    assert_eq!(w.snapshot(1).sync, SyncState::Connected);
}

#[test]
fn a_reload_resends_what_was_not_answered_and_the_hub_counts_it_once() {
    let mut w = World::new(1);
    w.follow(1);
    w.advance(1_000);
    w.finish_storage();
    w.owner_online = false;
    w.cut();
    w.submit(1, vote(2));
    assert_eq!(w.outbox.len(), 1);
    w.reload(1);
    assert_eq!(w.snapshot(1).pending_count, 1);
    w.owner_online = true;
    w.advance(31_000);
    assert_eq!(w.ballot(1), Some(vec![OptionId(2)]));
    w.advance(1);
    assert!(w.outbox.is_empty());
}

#[test]
fn many_polls_share_one_link_and_stopping_them_all_closes_it() {
    let mut w = World::new(3);
    for n in 1..=3 {
        w.follow(n);
    }
    w.advance(1_000);
    assert_eq!(w.hub.connections(), 1);
    assert!((1..=3).all(|n| w.snapshot(n).sync == SyncState::Connected));
    w.me.unfollow_all(w.now, &mut w.rng);
    w.settle();
    assert_eq!(w.hub.connections(), 0);
    assert_eq!(w.me.poll_timeout(), None);
}

#[derive(Debug, Clone)]
enum Step {
    Vote { poll: u8, option: u32 },
    Cut,
    OwnerAway,
    OwnerBack,
    SlowStorage(bool),
    FailWrite,
    Reload,
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (1u8..=3, 1u32..=2).prop_map(|(poll, option)| Step::Vote { poll, option }),
        1 => Just(Step::Cut),
        1 => Just(Step::OwnerAway),
        1 => Just(Step::OwnerBack),
        2 => any::<bool>().prop_map(Step::SlowStorage),
        1 => Just(Step::FailWrite),
        1 => Just(Step::Reload),
        3 => (0u64..20_000).prop_map(Step::Wait),
    ]
}

proptest! {
    /// The whole participant against the real hub, with cuts, an absent owner, slow and
    /// failing storage and reloads at random moments: no command is sent before it is stored,
    /// none is deleted before its answer, storage follows the screen (checked on every
    /// output); once all is calm the hub holds each poll's last stored vote, counted once, and
    /// the outbox is empty.
    #[test]
    fn the_participant_converges_with_the_hub(steps in proptest::collection::vec(step(), 1..40)) {
        let mut w = World::new(3);
        for n in 1..=3 {
            w.follow(n);
        }
        w.advance(1_000);
        for s in steps {
            match s {
                Step::Vote { poll: n, option } => {
                    if w.snapshot(n).view.is_some() {
                        w.submit(n, vote(option));
                    }
                }
                Step::Cut => w.cut(),
                Step::OwnerAway => {
                    w.owner_online = false;
                    w.cut();
                }
                Step::OwnerBack => w.owner_online = true,
                Step::SlowStorage(slow) => {
                    w.slow_storage = slow;
                    w.settle();
                }
                Step::FailWrite => w.fail_write = true,
                Step::Reload => w.reload(3),
                Step::Wait(ms) => w.advance(ms),
            }
            prop_assert!(w.hub.connections() <= 1);
        }
        w.owner_online = true;
        w.slow_storage = false;
        w.fail_write = false;
        w.finish_storage();
        w.advance(120_000);
        w.finish_storage();
        w.advance(1);
        prop_assert!(w.outbox.is_empty(), "left in the outbox: {:?}", w.outbox.keys());
        for n in 1..=3u8 {
            prop_assert_eq!(w.snapshot(n).pending_count, 0);
            // Each stored vote was counted once, in order: the last one stands.
            prop_assert_eq!(w.ballot(n), w.last_stored.get(&poll(n)).cloned());
        }
    }
}

#[test]
fn an_owners_list_shares_the_link_says_why_it_is_unreachable_and_ends_with_its_watch() {
    let mut w = World::new(2);
    let owner = World::hub_peer();
    let lists = |w: &World| -> Vec<OwnerList> {
        w.log
            .iter()
            .filter_map(|o| match o {
                Output::List(peer, list) if *peer == owner => Some(list.clone()),
                _ => None,
            })
            .collect()
    };
    w.owner_online = false;
    w.me.want_list(&owner, w.now, &mut w.rng);
    w.settle();
    assert_eq!(
        lists(&w),
        [OwnerList::Unreachable(DialProblem::OwnerOffline)]
    );
    w.owner_online = true;
    w.advance(31_000);
    let Some(OwnerList::Listed(polls)) = lists(&w).pop() else {
        panic!("no list: {:?}", lists(&w));
    };
    assert_eq!(polls.len(), 2);
    // A poll followed meanwhile uses the same connection.
    w.follow(1);
    w.advance(1_000);
    assert_eq!(w.hub.connections(), 1);
    assert_eq!(w.snapshot(1).sync, SyncState::Connected);
    // The page showing the list goes away: the poll keeps the link open.
    w.me.drop_list(&owner, w.now, &mut w.rng);
    w.settle();
    assert_eq!(w.hub.connections(), 1);
    // Its poll stops too: the link closes and nothing is scheduled any more.
    w.me.unfollow(&key(1), w.now, &mut w.rng);
    w.settle();
    assert_eq!(w.hub.connections(), 0);
    assert_eq!(w.me.poll_timeout(), None);
}

/// A participant on the [`Hubs`] network: its machine, its connections (one per hub) and its
/// storage, whose operations finish at once.
struct Client {
    me: Participant,
    id: Identity,
    conns: BTreeMap<PeerId, ConnId>,
    dialing: Vec<PeerId>,
    outbox: BTreeMap<CommandId, OutboxRecord>,
    joined: BTreeMap<FollowKey, SavedView>,
    /// The polls the participant was told to leave (its own hub serves them).
    left: Vec<FollowKey>,
}

/// Participants and real hubs (a poll moved between them), in simulated time.
struct Moves {
    hubs: Hubs,
    clients: Vec<Client>,
    rng: Counter,
}

/// The key of the moved poll (Olga's [`poll_id`]).
fn moved_key() -> FollowKey {
    (peer(OLGA), poll_id())
}

impl Moves {
    fn new(hubs: Hubs) -> Self {
        Self {
            hubs,
            clients: Vec::new(),
            rng: Counter(0),
        }
    }

    /// Identity `n` starts following the poll at the owner (or at `via`); returns its number.
    fn follow(&mut self, n: u8, via: Option<PeerId>) -> usize {
        let id = identity(n);
        let (start, problems) =
            Start::restore(id.clone(), &moved_key(), None, via, &[], format!("P{n}"));
        assert!(problems.is_empty());
        let mut me = Participant::new(id.clone());
        me.follow(start, self.hubs.now, &mut self.rng);
        self.clients.push(Client {
            me,
            id,
            conns: BTreeMap::new(),
            dialing: Vec::new(),
            outbox: BTreeMap::new(),
            joined: BTreeMap::new(),
            left: Vec::new(),
        });
        self.settle();
        self.clients.len() - 1
    }

    fn input(&mut self, c: usize, input: Input<'_>) {
        let now = self.hubs.now;
        self.clients[c].me.handle_input(input, now, &mut self.rng);
    }

    fn submit(&mut self, c: usize, command: Command) {
        let now = self.hubs.now;
        self.clients[c]
            .me
            .submit(&moved_key(), command, now, &mut self.rng)
            .unwrap();
        self.settle();
    }

    /// Performs client `c`'s outputs (storage finishes at once); `false` if there were none.
    fn pump(&mut self, c: usize) -> bool {
        let outputs: Vec<Output> =
            std::iter::from_fn(|| self.clients[c].me.poll_output()).collect();
        let busy = !outputs.is_empty();
        for output in outputs {
            let client = &mut self.clients[c];
            match output {
                Output::Dial(hub) => {
                    assert!(!client.conns.contains_key(&hub), "a second connection");
                    client.dialing.push(hub);
                }
                Output::Send(hub, frame) => {
                    let conn = client.conns[&hub];
                    self.hubs.send(conn, frame);
                }
                Output::Close(hub) => {
                    if let Some(conn) = client.conns.remove(&hub) {
                        self.hubs.disconnect(conn);
                    }
                }
                Output::WriteOutbox {
                    key,
                    record,
                    delete,
                } => {
                    for id in &delete {
                        client.outbox.remove(id);
                    }
                    let command_id = record.command_id;
                    client.outbox.insert(command_id, record);
                    self.input(
                        c,
                        Input::OutboxWritten {
                            key: &key,
                            command_id,
                            stored: true,
                            deleted: delete,
                        },
                    );
                }
                Output::DeleteOutbox { key, ids } => {
                    for id in &ids {
                        client.outbox.remove(id);
                    }
                    self.input(c, Input::OutboxDeleted(&key));
                }
                Output::SaveView(view) => {
                    let key = (view.owner.clone(), view.poll_id);
                    client.joined.insert(key.clone(), *view);
                    self.input(c, Input::ViewSaved(&key));
                }
                Output::Leave(key) => client.left.push(key),
                Output::Notify(_) | Output::List(..) | Output::Log(_) => {}
            }
        }
        busy
    }

    /// Acts on outputs, dials and delivers frames (one at a time), until quiet.
    fn settle(&mut self) {
        loop {
            let mut busy = false;
            for c in 0..self.clients.len() {
                busy |= self.pump(c);
                for hub in std::mem::take(&mut self.clients[c].dialing) {
                    busy = true;
                    let who = self.clients[c].id.peer_id().clone();
                    match self.hubs.connect(c, &who, &hub) {
                        Some(conn) => {
                            self.clients[c].conns.insert(hub.clone(), conn);
                            self.input(c, Input::Opened(&hub, None));
                        }
                        None => {
                            self.input(c, Input::Failed(&hub, DialProblem::OwnerOffline));
                            self.input(c, Input::Closed(&hub));
                        }
                    }
                }
            }
            busy |= self.hubs.deliver_one();
            while let Some(event) = self.hubs.to_clients.pop_front() {
                busy = true;
                match event {
                    ToClient::Frame {
                        client, hub, frame, ..
                    } => {
                        if self.clients[client].conns.contains_key(&hub) {
                            self.input(client, Input::Frame(&hub, &frame));
                        }
                    }
                    ToClient::Closed { client, hub, .. } => {
                        if self.clients[client].conns.remove(&hub).is_some() {
                            self.input(client, Input::Closed(&hub));
                        }
                    }
                }
            }
            // A page told "in a task": timers due now fire too.
            let now = self.hubs.now;
            for c in 0..self.clients.len() {
                if self.clients[c].me.poll_timeout().is_some_and(|t| t <= now) {
                    busy = true;
                    self.clients[c].me.handle_timeout(now, &mut self.rng);
                }
            }
            if !busy {
                return;
            }
        }
    }

    /// Lets `ms` pass, firing every machine's timer whenever due.
    fn advance(&mut self, ms: u64) {
        let end = self.hubs.now + ms;
        loop {
            let next = self
                .clients
                .iter()
                .filter_map(|c| c.me.poll_timeout())
                .chain(self.hubs.poll_timeout())
                .min()
                .unwrap_or(u64::MAX)
                .clamp(self.hubs.now, end);
            self.hubs.now = next;
            self.hubs.wake();
            for c in 0..self.clients.len() {
                self.clients[c].me.handle_timeout(next, &mut self.rng);
            }
            self.settle();
            if next >= end {
                return;
            }
        }
    }

    /// The hub client `c` follows the poll at.
    fn hub_of(&self, c: usize) -> &PeerId {
        self.clients[c].me.follower(&moved_key()).unwrap().hub()
    }

    /// The hub the delegation saved with client `c`'s view names (the owner if none).
    fn saved_hub(&self, c: usize) -> PeerId {
        let saved = &self.clients[c].joined[&moved_key()];
        saved
            .delegation
            .as_ref()
            .map_or(peer(OLGA), |d| d.hub().clone())
    }

    /// Client `c`'s ballot at the hub serving the poll.
    fn ballot(&self, c: usize) -> Option<Vec<OptionId>> {
        let who = self.clients[c].id.peer_id();
        let poll = self.hubs.served(&poll_id());
        poll.ballots.get(who).map(|b| b.iter().copied().collect())
    }
}

#[test]
fn a_poll_moved_to_a_host_and_taken_back_is_followed_there_and_back() {
    let mut w = Moves::new(Hubs::with_poll(&[HOST]));
    let ann = w.follow(PEOPLE[0], None);
    w.submit(ann, vote(1));
    assert_eq!(w.ballot(ann), Some(vec![OptionId(1)]));
    // Olga's hub moves the poll to the host: Ann's follower leaves for the host's link, and the
    // delegation is saved with her view (a reload dials the host directly).
    let now = w.hubs.now;
    let step = w
        .hubs
        .hub(OLGA)
        .move_poll(poll_id(), peer(HOST), now)
        .unwrap();
    w.hubs.take(&peer(OLGA), step);
    w.settle();
    assert_eq!(w.hubs.serving(&poll_id()), [peer(HOST)]);
    assert_eq!(w.hub_of(ann), &peer(HOST));
    assert_eq!(w.saved_hub(ann), peer(HOST));
    assert_eq!(
        w.clients[ann].conns.keys().collect::<Vec<_>>(),
        [&peer(HOST)],
        "the link to Olga went with its last poll"
    );
    w.submit(ann, vote(2));
    assert_eq!(w.ballot(ann), Some(vec![OptionId(2)]));
    // Olga's browser follows her poll at the host, and takes it back through that link.
    let olga = w.follow(OLGA, Some(peer(HOST)));
    assert_eq!(w.hub_of(olga), &peer(HOST));
    let revision = w.hubs.served(&poll_id()).revision;
    let (step, delegation) = w
        .hubs
        .hub(OLGA)
        .sign_move(poll_id(), peer(OLGA), revision)
        .unwrap();
    w.hubs.take(&peer(OLGA), step);
    let now = w.hubs.now;
    w.clients[olga]
        .me
        .request_move(&moved_key(), &delegation, now, &mut w.rng)
        .unwrap();
    w.settle();
    assert_eq!(w.hubs.serving(&poll_id()), [peer(OLGA)]);
    // Her own hub serves it: her participant leaves it and drops its link to the host.
    assert_eq!(w.clients[olga].left, [moved_key()]);
    assert!(!w.clients[olga].me.follows(&moved_key()));
    assert!(w.clients[olga].conns.is_empty());
    // Ann follows it back to Olga, and votes there.
    assert_eq!(w.hub_of(ann), &peer(OLGA));
    assert_eq!(w.saved_hub(ann), peer(OLGA));
    w.submit(ann, vote(1));
    assert_eq!(w.ballot(ann), Some(vec![OptionId(1)]));
    // Quiet afterwards: every command answered and deleted, one connection, to Olga.
    w.advance(60_000);
    assert!(w.clients[ann].outbox.is_empty());
    assert_eq!(
        w.clients[ann].conns.keys().collect::<Vec<_>>(),
        [&peer(OLGA)]
    );
    assert_eq!(w.ballot(ann), Some(vec![OptionId(1)]));
}

#[test]
fn a_newcomer_to_a_moved_poll_is_sent_from_the_owner_to_the_host_and_joins_there() {
    let mut w = Moves::new(Hubs::moved_to(HOST));
    let ann = w.follow(PEOPLE[0], None);
    assert_eq!(w.hub_of(ann), &peer(HOST));
    assert_eq!(w.saved_hub(ann), peer(HOST));
    let member = w.clients[ann].id.peer_id().clone();
    assert!(w.hubs.served(&poll_id()).members.contains_key(&member));
    w.submit(ann, vote(2));
    assert_eq!(w.ballot(ann), Some(vec![OptionId(2)]));
    assert!(w.clients[ann].outbox.is_empty());
}
