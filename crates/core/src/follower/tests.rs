//! Tests of the follower against a real owner built from the core (`Poll`, `ProcessedCommands`,
//! `view_for`, `update_for`, `seal`, `Control::answer`), running the hub rules of PROTOCOL.md
//! §4.10 for one participant connection.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;
use crate::outbox::OutboxRecord;
use crate::poll::{
    update_for, view_for, OptionId, Outcome, Poll, PollDraft, PollKind, Processed,
    ProcessedCommands, ResultsVisibility, Role, Settings, Update,
};
use crate::protocol::{open_from, seal, PollSummary};
use crate::testing::{cid, identity, poll_id, NOW};

fn olga() -> Identity {
    identity(1)
}
fn alice() -> Identity {
    identity(2)
}
fn bob() -> Identity {
    identity(3)
}
fn mallory() -> Identity {
    identity(4)
}

/// Stages a command and reports it saved at once (the shell stores it first): the frames to send.
fn submit(f: &mut Follower, id: CommandId, command: Command) -> Result<Vec<String>, FollowError> {
    Ok(match f.stage(id, command)? {
        Some(_) => f.saved(id, NOW),
        None => Vec::new(),
    })
}

fn join(name: &str) -> Command {
    Command::Join {
        display_name: name.into(),
    }
}

fn vote(ids: &[u32]) -> Command {
    Command::CastVote {
        option_ids: ids.iter().copied().map(OptionId).collect(),
        answers: Default::default(),
    }
}

fn settings(results: ResultsVisibility, anonymous: bool) -> Settings {
    Settings {
        results,
        anonymous,
        ..Settings::default()
    }
}

/// The owner's side of one participant's connection, as the hub runs it (§4.10).
struct Owner {
    id: Identity,
    poll: Poll,
    record: ProcessedCommands,
    participant: PeerId,
    subscribed: bool,
    next_id: u32,
}

impl Owner {
    fn new(settings: Settings) -> Self {
        let id = olga();
        let draft = PollDraft {
            title: "Lunch?".into(),
            description: String::new(),
            options: vec!["Pizza".into(), "Sushi".into(), "Tacos".into()],
            kind: PollKind::Multiple { max: 2 },
            deadline: None,
            settings,
            owner_name: "Olga".into(),
        };
        let poll = Poll::new(poll_id(), id.peer_id().clone(), draft, NOW).unwrap();
        Self {
            id,
            poll,
            record: ProcessedCommands::new(),
            participant: alice().peer_id().clone(),
            subscribed: false,
            next_id: 0,
        }
    }

    fn peer(&self) -> &PeerId {
        self.id.peer_id()
    }

    fn seal(&self, control: Control) -> String {
        seal(&self.id, &Message::Control(control)).unwrap()
    }

    fn view(&self) -> PollView {
        view_for(&self.poll, &self.participant)
    }

    fn state(&self) -> String {
        self.seal(Control::State {
            poll: Box::new(self.view()),
        })
    }

    fn event(&self, event: Event) -> String {
        self.seal(Control::Event {
            poll_id: self.poll.id,
            event,
        })
    }

    /// Subscribes the connection; a new subscription sends `peer:discovery` (§4.9).
    fn subscribe(&mut self) -> Vec<String> {
        if self.subscribed {
            return Vec::new();
        }
        self.subscribed = true;
        let peers = PeerInfo::list(&self.poll, [self.id.peer_id(), &self.participant]);
        vec![self.seal(Control::Discovery {
            poll_id: self.poll.id,
            connected: peers.len() as u64,
            peers,
        })]
    }

    /// The connection closed.
    fn disconnected(&mut self) {
        self.subscribed = false;
    }

    /// A frame from the participant: the frames sent back to them.
    fn receive(&mut self, text: &str) -> Vec<String> {
        let (author, message) = open_from(text, &self.participant).unwrap();
        match message {
            Message::Command(frame) => {
                assert_eq!(frame.poll_id, self.poll.id);
                self.process(&author, frame.command_id, &frame.command)
            }
            Message::Control(Control::SyncRequest {
                poll_id,
                since_revision,
            }) => {
                assert_eq!(poll_id, self.poll.id);
                let mut out = Vec::new();
                if since_revision.is_none_or(|since| since < self.poll.revision) {
                    out.push(self.state());
                }
                out.extend(self.subscribe());
                out
            }
            Message::Control(Control::ListRequest) => {
                vec![self.seal(Control::List {
                    polls: vec![PollSummary::from(&self.poll)],
                })]
            }
            Message::Control(Control::Heartbeat) => Vec::new(),
            other => panic!("the owner got {other:?}"),
        }
    }

    /// Processes a command by anyone (§4.10 rule 4): the frames the participant receives.
    fn process(&mut self, author: &PeerId, id: CommandId, command: &Command) -> Vec<String> {
        let processed = self.record.process(&self.poll, author, id, command, NOW);
        let mut out = Vec::new();
        if let Processed::Applied {
            poll: next, event, ..
        } = &processed
        {
            let update = self
                .subscribed
                .then(|| update_for(&self.poll, next, event, &self.participant));
            self.poll = (**next).clone();
            match update {
                Some(Update::Event(event)) => out.push(self.event(event)),
                Some(Update::Snapshot(view)) => out.push(self.seal(Control::State { poll: view })),
                None => {}
            }
        }
        if *author == self.participant {
            out.push(self.seal(Control::answer(self.poll.id, id, processed.outcome())));
            let acked = matches!(processed.outcome(), Outcome::Acked { .. });
            if acked && matches!(command, Command::Join { .. }) {
                out.push(self.state());
                out.extend(self.subscribe());
            }
        }
        out
    }

    /// Someone other than the participant acts (with a fresh command id).
    fn act(&mut self, author: &PeerId, command: Command) -> Vec<String> {
        self.next_id += 1;
        let mut bytes = [0xee; 16];
        bytes[..4].copy_from_slice(&self.next_id.to_be_bytes());
        self.process(author, CommandId::from_random_bytes(bytes), &command)
    }
}

fn follower() -> Follower {
    Follower::new(alice(), olga().peer_id().clone(), poll_id(), None)
}

/// Feeds `frames` to the follower, merging the reactions.
#[track_caller]
fn deliver(follower: &mut Follower, frames: Vec<String>) -> Reaction {
    let mut all = Reaction::default();
    for frame in frames {
        let mut reaction = follower.receive(&frame, NOW).unwrap();
        all.send.append(&mut reaction.send);
        all.notices.append(&mut reaction.notices);
    }
    all
}

/// Runs the exchange until neither side has anything left to send; returns every notice.
#[track_caller]
fn run(follower: &mut Follower, owner: &mut Owner, to_owner: Vec<String>) -> Vec<Notice> {
    let mut notices = Vec::new();
    let mut to_owner = to_owner;
    while !to_owner.is_empty() {
        let to_follower: Vec<String> = to_owner.iter().flat_map(|f| owner.receive(f)).collect();
        let mut reaction = deliver(follower, to_follower);
        notices.append(&mut reaction.notices);
        to_owner = reaction.send;
    }
    notices
}

/// What a frame the follower sent says (checking it is sealed by Alice).
#[track_caller]
fn said(frame: &str) -> Message {
    open_from(frame, alice().peer_id()).unwrap().1
}

fn command_ids(frames: &[String]) -> Vec<CommandId> {
    frames
        .iter()
        .map(|f| match said(f) {
            Message::Command(frame) => frame.command_id,
            other => panic!("not a command: {other:?}"),
        })
        .collect()
}

fn pending_ids(follower: &Follower) -> Vec<CommandId> {
    follower.pending().map(|(id, _)| id).collect()
}

/// A follower that joined, holds the owner's view, and has nothing pending.
fn joined(settings: Settings) -> (Follower, Owner) {
    let mut owner = Owner::new(settings);
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    let sync = f.connected().unwrap();
    run(&mut f, &mut owner, sync);
    assert_eq!(f.view(), Some(&owner.view()));
    assert_eq!(f.pending_len(), 0);
    (f, owner)
}

fn sync_of(frame: &str) -> (PollId, Option<Revision>) {
    match said(frame) {
        Message::Control(Control::SyncRequest {
            poll_id,
            since_revision,
        }) => (poll_id, since_revision),
        other => panic!("not a sync:request: {other:?}"),
    }
}

// ---- connecting and verification ----

#[test]
fn connected_sends_only_a_sync_request() {
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    let sent = f.connected().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sync_of(&sent[0]), (poll_id(), None));
    assert_eq!(f.link(), Link::Unverified);
    assert!(!f.is_verified());
    assert_eq!(f.pending_len(), 1);
}

#[test]
fn connected_with_a_cached_view_asks_only_for_newer_states() {
    let (f, owner) = joined(Settings::default());
    let cached = f.view().cloned();
    let mut f = Follower::new(alice(), owner.peer().clone(), poll_id(), cached);
    assert_eq!(f.view(), Some(&owner.view()));
    let sent = f.connected().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sync_of(&sent[0]), (poll_id(), Some(owner.poll.revision)));
}

#[test]
fn a_cached_view_of_another_poll_owner_or_viewer_is_ignored() {
    let owner = Owner::new(Settings::default());
    let good = owner.view();
    let mut other_viewer = good.clone();
    other_viewer.viewer = bob().peer_id().clone();
    let mut other_owner = good.clone();
    other_owner.owner = mallory().peer_id().clone();
    let mut other_poll = good.clone();
    other_poll.id = PollId::from_random_bytes([0x99; 16]);
    for cached in [other_viewer, other_owner, other_poll] {
        let f = Follower::new(alice(), owner.peer().clone(), poll_id(), Some(cached));
        assert_eq!(f.view(), None);
    }
    let f = Follower::new(alice(), owner.peer().clone(), poll_id(), Some(good.clone()));
    assert_eq!(f.view(), Some(&good));
}

#[test]
fn commands_wait_for_verification_and_are_flushed_in_order() {
    let mut owner = Owner::new(Settings::default());
    let mut f = follower();
    assert_eq!(
        submit(&mut f, cid(1), join("Alice")).unwrap(),
        Vec::<String>::new()
    );
    let sync = f.connected().unwrap();
    assert_eq!(
        submit(&mut f, cid(2), vote(&[2])).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        submit(
            &mut f,
            cid(3),
            Command::AddOption {
                text: "Soup".into()
            }
        )
        .unwrap(),
        Vec::<String>::new()
    );
    // The owner answers the sync request: a state and a discovery. The state verifies the link.
    let answer = owner.receive(&sync[0]);
    assert_eq!(answer.len(), 2);
    let reaction = f.receive(&answer[0], NOW).unwrap();
    assert!(f.is_verified());
    assert_eq!(command_ids(&reaction.send), [cid(1), cid(2), cid(3)]);
    assert_eq!(reaction.notices, [Notice::ViewChanged]);
    // Nothing is sent twice; later commands go out at once.
    let reaction = f.receive(&answer[1], NOW).unwrap();
    assert_eq!(reaction.send, Vec::<String>::new());
    assert_eq!(reaction.notices, [Notice::PeersChanged]);
    assert_eq!(
        command_ids(&submit(&mut f, cid(4), vote(&[1])).unwrap()),
        [cid(4)]
    );
    assert_eq!(pending_ids(&f), [cid(1), cid(2), cid(3), cid(4)]);
}

#[test]
fn an_up_to_date_owner_verifies_the_link_with_discovery() {
    let (f, mut owner) = joined(Settings::default());
    let mut f = Follower::new(alice(), owner.peer().clone(), poll_id(), f.view().cloned());
    owner.disconnected();
    submit(&mut f, cid(2), vote(&[3])).unwrap();
    let sync = f.connected().unwrap();
    let answer = owner.receive(&sync[0]);
    assert_eq!(answer.len(), 1, "no state for an up-to-date participant");
    let reaction = f.receive(&answer[0], NOW).unwrap();
    assert!(f.is_verified());
    assert_eq!(command_ids(&reaction.send), [cid(2)]);
    assert_eq!(f.peers().len(), 2);
    assert_eq!(&f.peers()[0].peer_id, owner.peer());
    assert_eq!(f.peers()[1].role, Some(Role::Voter));
}

#[test]
fn submitting_a_pending_id_again_does_nothing() {
    let (mut f, _owner) = joined(Settings::default());
    assert_eq!(submit(&mut f, cid(2), vote(&[1])).unwrap().len(), 1);
    assert_eq!(
        submit(&mut f, cid(2), vote(&[2])).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(f.pending_len(), 1);
    assert_eq!(f.pending().next(), Some((cid(2), &vote(&[1]))));
}

#[test]
fn a_command_too_large_to_seal_is_refused_and_not_queued() {
    let mut f = follower();
    let huge = Command::AddOption {
        text: "x".repeat(crate::protocol::MAX_FRAME_BYTES),
    };
    assert!(matches!(
        submit(&mut f, cid(1), huge),
        Err(FollowError::Seal(ProtocolError::TooLarge { .. }))
    ));
    assert_eq!(f.pending_len(), 0);
}

#[test]
fn frames_while_disconnected_are_refused() {
    let owner = Owner::new(Settings::default());
    let mut f = follower();
    assert!(matches!(
        f.receive(&owner.state(), NOW),
        Err(FollowError::NotConnected)
    ));
    assert_eq!(f.view(), None);
}

#[test]
fn heartbeats_are_sealed_and_ignored() {
    let (mut f, owner) = joined(Settings::default());
    let before = f.clone();
    let reaction = f.receive(&owner.seal(Control::Heartbeat), NOW).unwrap();
    assert_eq!(reaction, Reaction::default());
    assert_eq!(f.view(), before.view());
}

// ---- views and events ----

#[test]
fn a_state_replaces_the_view() {
    let (mut f, mut owner) = joined(Settings::default());
    owner.act(&bob().peer_id().clone(), join("Bob"));
    let reaction = f.receive(&owner.state(), NOW).unwrap();
    assert_eq!(reaction.notices, [Notice::ViewChanged]);
    assert_eq!(f.view(), Some(&owner.view()));
    assert_eq!(f.view().map(|v| v.members.len()), Some(3));
}

#[test]
fn events_apply_in_order_and_old_ones_are_ignored() {
    let (mut f, mut owner) = joined(Settings::default());
    let bob = bob().peer_id().clone();
    let mut events = Vec::new();
    events.extend(owner.act(&bob, join("Bob")));
    events.extend(owner.act(&bob, vote(&[1, 3])));
    events.extend(owner.act(
        &owner.peer().clone(),
        Command::AddOption {
            text: "Soup".into(),
        },
    ));
    assert_eq!(events.len(), 3);
    let reaction = deliver(&mut f, events.clone());
    assert_eq!(reaction.notices, vec![Notice::ViewChanged; 3]);
    assert_eq!(reaction.send, Vec::<String>::new());
    assert_eq!(f.view(), Some(&owner.view()));
    // Replayed (already included) events change nothing and ask for nothing.
    let reaction = deliver(&mut f, events);
    assert_eq!(reaction, Reaction::default());
    assert_eq!(f.view(), Some(&owner.view()));
}

#[test]
fn a_gap_sends_exactly_one_sync_request() {
    let (mut f, mut owner) = joined(Settings::default());
    let held = owner.poll.revision;
    let bob = bob().peer_id().clone();
    owner.act(&bob, join("Bob"));
    let second = owner.act(&bob, vote(&[2]));
    let third = owner.act(&bob, vote(&[1]));
    let reaction = deliver(&mut f, second);
    assert_eq!(reaction.notices, Vec::<Notice>::new());
    assert_eq!(reaction.send.len(), 1);
    assert_eq!(sync_of(&reaction.send[0]), (poll_id(), Some(held)));
    assert_eq!(f.view().map(|v| v.revision), Some(held));
    // More gaps before the state arrives ask for nothing more.
    assert_eq!(deliver(&mut f, third), Reaction::default());
    // The owner answers; the view catches up; a later gap asks again, once.
    let answer = owner.receive(&reaction.send[0]);
    deliver(&mut f, answer);
    assert_eq!(f.view(), Some(&owner.view()));
    owner.act(&bob, vote(&[3]));
    let skipped = owner.act(&bob, vote(&[]));
    assert_eq!(deliver(&mut f, skipped.clone()).send.len(), 1);
    assert_eq!(deliver(&mut f, skipped).send.len(), 0);
}

#[test]
fn a_sync_request_answered_by_no_state_does_not_block_later_resyncs() {
    let (f, mut owner) = joined(Settings::default());
    let mut f = Follower::new(alice(), owner.peer().clone(), poll_id(), f.view().cloned());
    owner.disconnected();
    let sync = f.connected().unwrap();
    // Up to date: the owner sends no state, only the discovery of the new subscription.
    deliver(&mut f, owner.receive(&sync[0]));
    let bob = bob().peer_id().clone();
    let next = owner.act(&bob, join("Bob"));
    owner.act(&bob, vote(&[1]));
    let after_a_gap = owner.act(&bob, vote(&[2]));
    assert_eq!(deliver(&mut f, next).notices, [Notice::ViewChanged]);
    let reaction = deliver(&mut f, after_a_gap);
    assert_eq!(reaction.send.len(), 1);
    let held = f.view().map(|v| v.revision);
    assert_eq!(sync_of(&reaction.send[0]), (poll_id(), held));
    deliver(&mut f, owner.receive(&reaction.send[0]));
    assert_eq!(f.view(), Some(&owner.view()));
}

#[test]
fn an_event_that_does_not_fit_sends_a_sync_request() {
    let (mut f, owner) = joined(Settings::default());
    let revision = owner.poll.revision;
    let misfit = owner.event(Event {
        revision: revision.next(),
        change: Change::RoleSet {
            member: mallory().peer_id().clone(),
            role: Role::Editor,
        },
    });
    let reaction = f.receive(&misfit, NOW).unwrap();
    assert_eq!(reaction.send.len(), 1);
    assert_eq!(sync_of(&reaction.send[0]), (poll_id(), Some(revision)));
    assert_eq!(f.view(), Some(&owner.view()));
}

#[test]
fn events_without_a_view_wait_for_the_state() {
    let mut owner = Owner::new(Settings::default());
    owner.subscribed = true;
    let mut f = follower();
    let sync = f.connected().unwrap();
    let event = owner.act(&bob().peer_id().clone(), join("Bob"));
    // The sync request of `connected` is outstanding: the event is dropped silently.
    let reaction = f.receive(&event[0], NOW).unwrap();
    assert_eq!(reaction, Reaction::default());
    assert_eq!(f.view(), None);
    assert!(f.is_verified());
    deliver(&mut f, owner.receive(&sync[0]));
    assert_eq!(f.view(), Some(&owner.view()));
}

#[test]
fn discovery_replaces_peers_and_a_disconnect_forgets_them() {
    let (mut f, owner) = joined(Settings::default());
    assert_eq!(f.peers().len(), 2);
    let only_owner = PeerInfo::list(&owner.poll, [owner.peer()]);
    let reaction = f
        .receive(
            &owner.seal(Control::Discovery {
                poll_id: poll_id(),
                peers: only_owner.clone(),
                connected: 1,
            }),
            NOW,
        )
        .unwrap();
    assert_eq!(reaction.notices, [Notice::PeersChanged]);
    assert_eq!(f.peers(), only_owner.as_slice());
    assert_eq!(f.connected_count(), 1);
    // A cut list (PROTOCOL.md §3.4): the count says how many are connected.
    f.receive(
        &owner.seal(Control::Discovery {
            poll_id: poll_id(),
            peers: only_owner.clone(),
            connected: 120,
        }),
        NOW,
    )
    .unwrap();
    assert_eq!(f.peers(), only_owner.as_slice());
    assert_eq!(f.connected_count(), 120);
    f.disconnected();
    assert!(f.peers().is_empty());
    assert_eq!(f.connected_count(), 0);
    assert_eq!(f.link(), Link::Down);
}

// ---- answers ----

#[test]
fn an_ack_removes_exactly_its_command_and_repeats_are_harmless() {
    let (mut f, owner) = joined(Settings::default());
    for n in 2..=4 {
        submit(&mut f, cid(n), vote(&[u32::from(n) - 1])).unwrap();
    }
    let ack = |id, revision| {
        owner.seal(Control::Ack {
            command_id: id,
            revision: Revision(revision),
        })
    };
    let reaction = f.receive(&ack(cid(3), 9), NOW).unwrap();
    assert_eq!(
        reaction.notices,
        [Notice::Acked {
            command_id: cid(3),
            revision: Revision(9)
        }]
    );
    assert_eq!(pending_ids(&f), [cid(2), cid(4)]);
    // Again, and an id that was never pending: nothing happens.
    assert_eq!(
        f.receive(&ack(cid(3), 9), NOW).unwrap(),
        Reaction::default()
    );
    assert_eq!(
        f.receive(&ack(cid(77), 1), NOW).unwrap(),
        Reaction::default()
    );
    assert_eq!(pending_ids(&f), [cid(2), cid(4)]);
}

#[test]
fn a_refusal_removes_exactly_its_command_and_reports_why() {
    let (mut f, mut owner) = joined(Settings::default());
    let sent: Vec<String> = [(2, vote(&[1])), (3, vote(&[9])), (4, vote(&[2]))]
        .into_iter()
        .flat_map(|(n, command)| submit(&mut f, cid(n), command).unwrap())
        .collect();
    assert_eq!(sent.len(), 3);
    let answers = owner.receive(&sent[1]);
    assert_eq!(answers.len(), 1, "a refusal sends no event");
    let reaction = f.receive(&answers[0], NOW).unwrap();
    assert_eq!(
        reaction.notices,
        [Notice::Refused {
            command_id: cid(3),
            command: vote(&[9]),
            code: ErrorCode::UnknownOption,
            message: "option #9 does not exist".into(),
        }]
    );
    assert_eq!(pending_ids(&f), [cid(2), cid(4)]);
    // A repeated refusal is harmless.
    assert_eq!(f.receive(&answers[0], NOW).unwrap(), Reaction::default());
    assert_eq!(pending_ids(&f), [cid(2), cid(4)]);
}

#[test]
fn an_error_without_a_command_id_keeps_every_command() {
    let (mut f, owner) = joined(Settings::default());
    submit(&mut f, cid(2), vote(&[1])).unwrap();
    let error = owner.seal(Control::Error {
        command_id: None,
        poll_id: None,
        code: ErrorCode::BadSignature,
        message: "bad signature".into(),
    });
    let reaction = f.receive(&error, NOW).unwrap();
    assert_eq!(
        reaction.notices,
        [Notice::OwnerError {
            code: ErrorCode::BadSignature,
            message: "bad signature".into()
        }]
    );
    assert_eq!(pending_ids(&f), [cid(2)]);
}

#[test]
fn a_reconnect_resends_every_unanswered_command_in_order_after_verification() {
    let (mut f, mut owner) = joined(Settings::default());
    let sent: Vec<String> = [(2, vote(&[1])), (3, vote(&[2])), (4, vote(&[3]))]
        .into_iter()
        .flat_map(|(n, command)| submit(&mut f, cid(n), command).unwrap())
        .collect();
    // The owner gets the first one; its answer and the others are lost with the connection.
    owner.receive(&sent[0]);
    f.disconnected();
    owner.disconnected();
    assert_eq!(
        submit(&mut f, cid(5), vote(&[1, 2])).unwrap(),
        Vec::<String>::new()
    );
    let sync = f.connected().unwrap();
    assert_eq!(sync.len(), 1);
    let answer = owner.receive(&sync[0]);
    let reaction = f.receive(&answer[0], NOW).unwrap();
    assert_eq!(
        command_ids(&reaction.send),
        [cid(2), cid(3), cid(4), cid(5)]
    );
    // Resends are the very same frames.
    assert_eq!(reaction.send[..3], sent[..]);
    let mut to_owner = reaction.send;
    to_owner.extend(deliver(&mut f, answer[1..].to_vec()).send);
    let notices = run(&mut f, &mut owner, to_owner);
    let acked: Vec<(CommandId, Revision)> = notices
        .iter()
        .filter_map(|n| match n {
            Notice::Acked {
                command_id,
                revision,
            } => Some((*command_id, *revision)),
            _ => None,
        })
        .collect();
    let r = owner.poll.revision.0;
    assert_eq!(
        acked,
        [
            (cid(2), Revision(r - 3)),
            (cid(3), Revision(r - 2)),
            (cid(4), Revision(r - 1)),
            (cid(5), Revision(r)),
        ]
    );
    assert_eq!(f.pending_len(), 0);
    assert_eq!(f.view(), Some(&owner.view()));
}

// ---- impostors and unexpected frames ----

// ---- the outbox: durability, reloads, resends ----

#[test]
fn a_staged_command_is_pending_and_shown_but_sent_only_once_saved() {
    let (mut f, mut owner) = joined(Settings::default());
    let record = f.stage(cid(2), vote(&[2])).unwrap().unwrap();
    assert_eq!(
        record,
        OutboxRecord {
            poll_id: poll_id(),
            seq: 1,
            command_id: cid(2),
            command: vote(&[2]),
        }
    );
    assert_eq!(pending_ids(&f), [cid(2)]);
    let shown = f.optimistic_view().unwrap();
    assert_eq!(
        shown.my_ballot.into_iter().collect::<Vec<_>>(),
        [OptionId(2)]
    );
    assert_eq!(
        f.tick(NOW + 60_000),
        Vec::<String>::new(),
        "unsaved: never sent"
    );
    assert_eq!(
        f.stage(cid(2), vote(&[3])).unwrap(),
        None,
        "the same id again"
    );
    let sent = f.saved(cid(2), NOW);
    assert_eq!(command_ids(&sent), [cid(2)]);
    let notices = run(&mut f, &mut owner, sent);
    assert!(notices.contains(&Notice::Acked {
        command_id: cid(2),
        revision: owner.poll.revision
    }));
    assert_eq!(f.pending_len(), 0);
}

#[test]
fn a_discarded_command_rolls_back_and_lets_the_next_one_go() {
    let (mut f, _owner) = joined(Settings::default());
    f.stage(cid(2), vote(&[2])).unwrap();
    f.stage(cid(3), vote(&[3])).unwrap();
    assert_eq!(
        f.saved(cid(3), NOW),
        Vec::<String>::new(),
        "3 waits behind unsaved 2"
    );
    let sent = f.discard(cid(2), NOW);
    assert_eq!(command_ids(&sent), [cid(3)]);
    assert_eq!(pending_ids(&f), [cid(3)]);
}

#[test]
fn restored_records_are_resent_in_order_on_the_first_verified_link() {
    // Session 1: two votes staged and saved while the owner is away, then the tab closes.
    let mut owner = Owner::new(Settings::default());
    let mut before = follower();
    let mut stored = Vec::new();
    for (n, command) in [(1, join("Alice")), (2, vote(&[1])), (3, vote(&[2]))] {
        stored.push(before.stage(cid(n), command).unwrap().unwrap());
        assert_eq!(before.saved(cid(n), NOW), Vec::<String>::new());
    }
    // Session 2: a new follower restores them (in any order, plus another poll's record).
    let mut other = stored[0].clone();
    other.poll_id = PollId::from_random_bytes([9; 16]);
    other.command_id = cid(9);
    let mut f = follower();
    f.restore(&[
        stored[2].clone(),
        other,
        stored[0].clone(),
        stored[1].clone(),
    ])
    .unwrap();
    f.restore(&stored).unwrap();
    assert_eq!(pending_ids(&f), [cid(1), cid(2), cid(3)]);
    let sync = f.connected().unwrap();
    assert_eq!(
        sync.len(),
        1,
        "nothing but the sync:request before verification"
    );
    let notices = run(&mut f, &mut owner, sync);
    let acked: Vec<CommandId> = notices
        .iter()
        .filter_map(|n| match n {
            Notice::Acked { command_id, .. } => Some(*command_id),
            _ => None,
        })
        .collect();
    assert_eq!(acked, [cid(1), cid(2), cid(3)]);
    assert_eq!(f.pending_len(), 0);
    assert_eq!(
        owner
            .poll
            .ballots
            .get(alice().peer_id())
            .map(|b| b.iter().copied().collect::<Vec<_>>()),
        Some(vec![OptionId(2)])
    );
    // A new command after the restore comes after them.
    assert_eq!(f.stage(cid(4), vote(&[3])).unwrap().map(|r| r.seq), Some(3));
}

#[test]
fn an_unanswered_command_is_resent_on_tick_and_answered_once() {
    let (mut f, mut owner) = joined(Settings::default());
    let sent = submit(&mut f, cid(2), vote(&[1])).unwrap();
    assert_eq!(
        f.next_resend_at(),
        Some(NOW + crate::outbox::RESEND_BASE_MS)
    );
    // The owner applies it but the answer is lost.
    let _lost = owner.receive(&sent[0]);
    let revision = owner.poll.revision;
    assert_eq!(f.tick(NOW + 4_999), Vec::<String>::new());
    let resent = f.tick(NOW + 5_000);
    assert_eq!(resent, sent, "the same frame");
    let notices = run(&mut f, &mut owner, resent);
    assert_eq!(
        notices,
        [Notice::Acked {
            command_id: cid(2),
            revision
        }]
    );
    assert_eq!(owner.poll.revision, revision, "applied once");
    assert_eq!(f.next_resend_at(), None);
    // No resends while down.
    submit(&mut f, cid(3), vote(&[2])).unwrap();
    f.disconnected();
    assert_eq!(f.tick(NOW + 1_000_000), Vec::<String>::new());
}

fn assert_impostor(f: &Follower, error: &FollowError) {
    assert!(matches!(error, FollowError::Impostor(_)), "{error:?}");
    assert_eq!(f.link(), Link::Impostor);
    let reason = f.impostor().unwrap();
    assert!(reason.contains(olga().peer_id().as_str()), "{reason}");
    assert!(reason.contains("does not hold the owner's key"), "{reason}");
}

#[test]
fn an_impostor_signing_as_itself_gets_no_commands() {
    let owner = Owner::new(Settings::default());
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    f.connected().unwrap();
    // Mallory answers at Olga's ID with a well-formed state of the poll, signed by herself.
    let mut fake = owner.view();
    fake.title = "Free money".into();
    let frame = seal(
        &mallory(),
        &Message::Control(Control::State {
            poll: Box::new(fake),
        }),
    )
    .unwrap();
    let error = f.receive(&frame, NOW).unwrap_err();
    assert_impostor(&f, &error);
    assert!(matches!(
        error,
        FollowError::Impostor(ProtocolError::SignerMismatch { .. })
    ));
    assert_eq!(f.view(), None);
    // Nothing goes to this link, and nothing from it is used, even replayed owner frames.
    assert_eq!(
        submit(&mut f, cid(2), vote(&[1])).unwrap(),
        Vec::<String>::new()
    );
    assert!(matches!(
        f.receive(&owner.state(), NOW),
        Err(FollowError::Untrusted)
    ));
    assert_eq!(f.view(), None);
    assert_eq!(f.pending_len(), 2);
}

#[test]
fn a_frame_claiming_the_owner_but_signed_by_another_key_is_an_impostor() {
    let (mut f, owner) = joined(Settings::default());
    let before = f.view().cloned();
    submit(&mut f, cid(2), vote(&[1])).unwrap();
    let mut fake = owner.view();
    fake.title = "Free money".into();
    let frame = seal(
        &mallory(),
        &Message::Control(Control::State {
            poll: Box::new(fake),
        }),
    )
    .unwrap()
    .replace(mallory().peer_id().as_str(), owner.peer().as_str());
    let error = f.receive(&frame, NOW).unwrap_err();
    assert!(matches!(
        error,
        FollowError::Impostor(ProtocolError::BadSignature(_))
    ));
    assert_impostor(&f, &error);
    assert_eq!(f.view().cloned(), before);
    // What was sent on that link is sent again on the next verified one.
    assert_eq!(
        submit(&mut f, cid(3), vote(&[2])).unwrap(),
        Vec::<String>::new()
    );
    f.disconnected();
    f.connected().unwrap();
    assert_eq!(f.impostor().map(|_| ()), Some(()), "kept until verified");
    let reaction = f.receive(&owner.state(), NOW).unwrap();
    assert_eq!(command_ids(&reaction.send), [cid(2), cid(3)]);
    assert_eq!(f.impostor(), None);
}

#[test]
fn malformed_frames_are_dropped_without_verifying_the_link() {
    let owner = Owner::new(Settings::default());
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    f.connected().unwrap();
    let state = owner.state();
    for bad in [
        "not json".to_owned(),
        state.replacen("\"v\":1", "\"v\":2", 1),
        state.replacen(",\"sig\"", ",\"gis\"", 1),
    ] {
        let error = f.receive(&bad, NOW).unwrap_err();
        assert!(matches!(error, FollowError::BadFrame(_)), "{error:?}");
    }
    assert_eq!(f.link(), Link::Unverified);
    assert_eq!(f.impostor(), None);
    assert_eq!(f.view(), None);
    let reaction = f.receive(&state, NOW).unwrap();
    assert_eq!(command_ids(&reaction.send), [cid(1)]);
}

#[test]
fn owner_frames_that_do_not_fit_are_unexpected_and_change_nothing() {
    let mut owner = Owner::new(Settings::default());
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    f.connected().unwrap();
    let for_bob = owner.seal(Control::State {
        poll: Box::new(view_for(&owner.poll, bob().peer_id())),
    });
    let mut other = owner.view();
    other.id = PollId::from_random_bytes([0x99; 16]);
    let other_poll = owner.seal(Control::State {
        poll: Box::new(other),
    });
    let discovery_elsewhere = owner.seal(Control::Discovery {
        poll_id: PollId::from_random_bytes([0x99; 16]),
        peers: Vec::new(),
        connected: 0,
    });
    let sync = owner.seal(Control::SyncRequest {
        poll_id: poll_id(),
        since_revision: None,
    });
    let command = seal(
        &owner.id,
        &Message::Command(CommandFrame {
            command: vote(&[1]),
            poll_id: poll_id(),
            command_id: cid(9),
        }),
    )
    .unwrap();
    let expected = [
        Unexpected::OtherViewer {
            got: bob().peer_id().clone(),
        },
        Unexpected::OtherPoll {
            expected: poll_id(),
            got: PollId::from_random_bytes([0x99; 16]),
        },
        Unexpected::OtherPoll {
            expected: poll_id(),
            got: PollId::from_random_bytes([0x99; 16]),
        },
        Unexpected::ParticipantMessage {
            kind: "sync:request",
        },
        Unexpected::ParticipantMessage {
            kind: "poll command",
        },
    ];
    for (frame, want) in [for_bob, other_poll, discovery_elsewhere, sync, command]
        .iter()
        .zip(expected)
    {
        match f.receive(frame, NOW) {
            Err(FollowError::Unexpected(got)) => assert_eq!(got, want),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(f.view(), None);
    assert_eq!(f.link(), Link::Unverified);
    assert_eq!(f.pending_len(), 1);
    // The right state still works afterwards.
    owner.subscribed = true;
    let reaction = f.receive(&owner.state(), NOW).unwrap();
    assert_eq!(command_ids(&reaction.send), [cid(1)]);
}

#[test]
fn a_state_for_another_viewer_leaves_a_held_view_untouched() {
    let (mut f, owner) = joined(Settings::default());
    let before = f.view().cloned();
    let for_bob = owner.seal(Control::State {
        poll: Box::new(view_for(&owner.poll, bob().peer_id())),
    });
    assert!(matches!(
        f.receive(&for_bob, NOW),
        Err(FollowError::Unexpected(Unexpected::OtherViewer { .. }))
    ));
    assert_eq!(f.view().cloned(), before);
}

// ---- optimistic view ----

#[test]
fn the_optimistic_view_shows_the_latest_pending_ballot_and_its_tally() {
    let (mut f, mut owner) = joined(Settings::default());
    let bob = bob().peer_id().clone();
    let events: Vec<String> = [join("Bob"), vote(&[1])]
        .into_iter()
        .flat_map(|c| owner.act(&bob, c))
        .collect();
    deliver(&mut f, events);
    assert_eq!(f.optimistic_view().as_ref(), f.view());
    let sent: Vec<String> = [
        (2, vote(&[2])),
        (
            3,
            Command::AddOption {
                text: "Soup".into(),
            },
        ),
        (4, vote(&[1, 3])),
    ]
    .into_iter()
    .flat_map(|(n, c)| submit(&mut f, cid(n), c).unwrap())
    .collect();
    let optimistic = f.optimistic_view().unwrap();
    let me = alice().peer_id().clone();
    assert_eq!(optimistic.my_ballot, [OptionId(1), OptionId(3)].into());
    let results = optimistic.results.as_ref().unwrap();
    let votes: Vec<u32> = results.tally.iter().map(|t| t.votes).collect();
    assert_eq!(
        votes,
        [2, 0, 1],
        "only the latest ballot, no pending option"
    );
    assert_eq!(
        results.ballots.as_ref().unwrap().get(&me),
        Some(&[OptionId(1), OptionId(3)].into())
    );
    assert_eq!(optimistic.revision, f.view().unwrap().revision);
    assert_eq!(optimistic.options.len(), 3);
    // The verified view is untouched.
    assert_eq!(f.view(), Some(&owner.view()));
    // Once the owner applied everything, the optimistic ballot is what everyone sees.
    run(&mut f, &mut owner, sent);
    let view = f.view().unwrap();
    assert_eq!(view.my_ballot, optimistic.my_ballot);
    assert_eq!(f.optimistic_view().as_ref(), Some(view));
}

#[test]
fn the_optimistic_view_adjusts_an_anonymous_tally() {
    let (mut f, mut owner) = joined(settings(ResultsVisibility::Always, true));
    let bob = bob().peer_id().clone();
    let mut frames = Vec::new();
    for command in [join("Bob"), vote(&[1])] {
        frames.extend(owner.act(&bob, command));
    }
    frames.extend(owner.receive(&submit(&mut f, cid(2), vote(&[2])).unwrap()[0]));
    deliver(&mut f, frames);
    assert_eq!(f.pending_len(), 0);
    let tally = |v: &PollView| -> Vec<u32> {
        v.results
            .as_ref()
            .unwrap()
            .tally
            .iter()
            .map(|t| t.votes)
            .collect()
    };
    assert_eq!(tally(f.view().unwrap()), [1, 1, 0]);
    submit(&mut f, cid(3), vote(&[1, 3])).unwrap();
    let optimistic = f.optimistic_view().unwrap();
    assert_eq!(tally(&optimistic), [2, 0, 1]);
    assert_eq!(optimistic.results.as_ref().unwrap().ballots, None);
    assert_eq!(optimistic.my_ballot, [OptionId(1), OptionId(3)].into());
}

#[test]
fn the_optimistic_view_keeps_hidden_results_hidden_and_rolls_back_on_refusal() {
    let (mut f, mut owner) = joined(settings(ResultsVisibility::AfterClose, false));
    let sent = submit(&mut f, cid(2), vote(&[9])).unwrap();
    let optimistic = f.optimistic_view().unwrap();
    assert_eq!(optimistic.my_ballot, [OptionId(9)].into());
    assert_eq!(optimistic.results, None);
    run(&mut f, &mut owner, sent);
    assert_eq!(f.pending_len(), 0);
    assert_eq!(f.optimistic_view().as_ref(), f.view());
    assert_eq!(f.view().map(|v| v.my_ballot.len()), Some(0));
}

// ---- round trips ----

#[test]
fn a_full_session_ends_with_the_owners_view_of_the_participant() {
    for settings in [
        settings(ResultsVisibility::Always, false),
        settings(ResultsVisibility::AfterVoting, false),
        settings(ResultsVisibility::AfterClose, true),
    ] {
        let mut owner = Owner::new(settings);
        let mut f = follower();
        let bob = bob().peer_id().clone();
        let olga = owner.peer().clone();
        submit(&mut f, cid(1), join("Alice")).unwrap();
        let sync = f.connected().unwrap();
        let mut notices = run(&mut f, &mut owner, sync);
        for (n, command) in [
            (2, vote(&[2])),
            (
                3,
                Command::UpdateProfile {
                    display_name: "Alice B.".into(),
                },
            ),
            (4, Command::Close),
        ] {
            let sent = submit(&mut f, cid(n), command).unwrap();
            notices.extend(run(&mut f, &mut owner, sent));
        }
        for (author, command) in [
            (&bob, join("Bob")),
            (&bob, vote(&[1, 3])),
            (&olga, vote(&[3])),
            (
                &olga,
                Command::SetRole {
                    member: alice().peer_id().clone(),
                    role: Role::Editor,
                },
            ),
            (&olga, Command::Close),
        ] {
            let frames = owner.act(author, command);
            let reaction = deliver(&mut f, frames);
            notices.extend(run(&mut f, &mut owner, reaction.send));
        }
        assert_eq!(f.view(), Some(&view_for(&owner.poll, alice().peer_id())));
        assert_eq!(f.pending_len(), 0);
        let answered: Vec<CommandId> = notices
            .iter()
            .filter_map(|n| match n {
                Notice::Acked { command_id, .. } => Some(*command_id),
                Notice::Refused {
                    command_id, code, ..
                } => {
                    assert_eq!(*code, ErrorCode::NotPermitted);
                    Some(*command_id)
                }
                _ => None,
            })
            .collect();
        assert_eq!(answered, [cid(1), cid(2), cid(3), cid(4)]);
        let view = f.view().unwrap();
        assert_eq!(view.status, crate::poll::PollStatus::Closed);
        assert!(view.results.is_some());
    }
}

#[test]
fn a_participant_who_knows_only_the_owner_lists_the_polls() {
    let mut owner = Owner::new(Settings::default());
    let request = list_request(&alice()).unwrap();
    let answer = owner.receive(&request);
    let (_, message) = open_from(&answer[0], owner.peer()).unwrap();
    assert_eq!(
        message,
        Message::Control(Control::List {
            polls: vec![PollSummary::from(&owner.poll)]
        })
    );
}

// ---- random interleavings ----

#[derive(Debug, Clone)]
enum Step {
    /// Alice votes (option 9 does not exist: refused).
    Vote(Vec<u32>),
    /// Bob votes.
    BobVotes(Vec<u32>),
    /// The owner closes or reopens the poll.
    Toggle,
    /// The owner handles up to n frames from Alice.
    ToOwner(usize),
    /// Alice handles up to n frames from the owner.
    ToAlice(usize),
    /// The connection drops, losing every frame in flight.
    Drop,
    /// Alice dials again (if disconnected).
    Dial,
}

fn step() -> impl Strategy<Value = Step> {
    let ballot = proptest::sample::subsequence(vec![1, 2, 3, 9], 0..=2);
    prop_oneof![
        2 => ballot.clone().prop_map(Step::Vote),
        1 => ballot.prop_map(Step::BobVotes),
        1 => Just(Step::Toggle),
        3 => (1..4usize).prop_map(Step::ToOwner),
        3 => (1..4usize).prop_map(Step::ToAlice),
        1 => Just(Step::Drop),
        1 => Just(Step::Dial),
    ]
}

/// The network between Alice and the owner: ordered queues, emptied when the connection drops.
struct World {
    owner: Owner,
    alice: Follower,
    to_owner: VecDeque<String>,
    to_alice: VecDeque<String>,
    answered: Vec<CommandId>,
}

impl World {
    /// Queues frames Alice sends, checking that commands only leave on a verified link.
    fn alice_sends(&mut self, frames: Vec<String>) {
        for frame in frames {
            if matches!(said(&frame), Message::Command(_)) {
                assert!(self.alice.is_verified());
            }
            self.to_owner.push_back(frame);
        }
    }

    fn deliver_to_owner(&mut self, n: usize) {
        for _ in 0..n {
            let Some(frame) = self.to_owner.pop_front() else {
                return;
            };
            let answer = self.owner.receive(&frame);
            self.to_alice.extend(answer);
        }
    }

    fn deliver_to_alice(&mut self, n: usize) {
        for _ in 0..n {
            let Some(frame) = self.to_alice.pop_front() else {
                return;
            };
            let reaction = self.alice.receive(&frame, NOW).unwrap();
            for notice in &reaction.notices {
                match notice {
                    Notice::Acked { command_id, .. } | Notice::Refused { command_id, .. } => {
                        self.answered.push(*command_id)
                    }
                    _ => {}
                }
            }
            self.alice_sends(reaction.send);
        }
    }

    fn owner_acts(&mut self, command: Command) {
        let frames = self.owner.act(&bob().peer_id().clone(), command);
        if self.alice.link() != Link::Down {
            self.to_alice.extend(frames);
        }
    }

    fn drop_link(&mut self) {
        self.to_owner.clear();
        self.to_alice.clear();
        self.alice.disconnected();
        self.owner.disconnected();
    }

    fn dial(&mut self) {
        if self.alice.link() == Link::Down {
            let sync = self.alice.connected().unwrap();
            self.alice_sends(sync);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_interleaving_converges_to_the_owners_view(
        steps in proptest::collection::vec(step(), 0..40),
        anonymous in any::<bool>(),
        visibility in prop_oneof![
            Just(ResultsVisibility::Always),
            Just(ResultsVisibility::AfterVoting),
            Just(ResultsVisibility::AfterClose),
        ],
    ) {
        let mut world = World {
            owner: Owner::new(settings(visibility, anonymous)),
            alice: follower(),
            to_owner: VecDeque::new(),
            to_alice: VecDeque::new(),
            answered: Vec::new(),
        };
        world.owner.act(&bob().peer_id().clone(), join("Bob"));
        let mut submitted = vec![cid(0)];
        let sent = submit(&mut world.alice, cid(0), join("Alice")).unwrap();
        world.alice_sends(sent);
        for step in steps {
            match step {
                Step::Vote(ids) => {
                    let id = CommandId::from_random_bytes([submitted.len() as u8 + 1; 16]);
                    submitted.push(id);
                    let sent = submit(&mut world.alice, id, vote(&ids)).unwrap();
                    world.alice_sends(sent);
                }
                Step::BobVotes(ids) => world.owner_acts(vote(&ids)),
                Step::Toggle => {
                    let closed = world.owner.poll.status == crate::poll::PollStatus::Closed;
                    let olga = world.owner.peer().clone();
                    let frames = world
                        .owner
                        .act(&olga, if closed { Command::Reopen } else { Command::Close });
                    if world.alice.link() != Link::Down {
                        world.to_alice.extend(frames);
                    }
                }
                Step::ToOwner(n) => world.deliver_to_owner(n),
                Step::ToAlice(n) => world.deliver_to_alice(n),
                Step::Drop => world.drop_link(),
                Step::Dial => world.dial(),
            }
        }
        world.dial();
        while !world.to_owner.is_empty() || !world.to_alice.is_empty() {
            world.deliver_to_owner(usize::MAX);
            world.deliver_to_alice(usize::MAX);
        }
        prop_assert_eq!(world.alice.view(), Some(&world.owner.view()));
        prop_assert_eq!(world.alice.pending_len(), 0);
        let optimistic = world.alice.optimistic_view();
        prop_assert_eq!(optimistic.as_ref(), world.alice.view());
        // Every command was answered exactly once, and the owner recorded each of them.
        let mut answered = world.answered.clone();
        answered.sort();
        submitted.sort();
        prop_assert_eq!(&answered, &submitted);
        for id in &submitted {
            prop_assert!(world.owner.record.outcome(id).is_some());
        }
    }
}

// ---- the owner deleted the poll ----

#[test]
fn an_unknown_poll_error_means_gone_and_drops_every_pending_command() {
    let (mut f, owner) = joined(Settings::default());
    submit(&mut f, cid(2), vote(&[1])).unwrap();
    submit(&mut f, cid(3), vote(&[2])).unwrap();
    let view = f.view().cloned();
    let error = owner.seal(Control::Error {
        command_id: None,
        poll_id: None,
        code: ErrorCode::UnknownPoll,
        message: "the owner deleted poll x".into(),
    });
    let reaction = f.receive(&error, NOW).unwrap();
    assert!(reaction.send.is_empty());
    assert_eq!(
        reaction.notices,
        [Notice::Gone {
            dropped: vec![cid(2), cid(3)],
            message: "the owner deleted poll x".into()
        }]
    );
    assert!(f.is_gone());
    assert_eq!(f.pending_len(), 0);
    // The last view stays readable; nothing is sent any more.
    assert_eq!(f.view().cloned(), view);
    assert!(matches!(
        f.stage(cid(4), vote(&[1])),
        Err(FollowError::Gone)
    ));
    assert!(f.tick(NOW + 60_000).is_empty());
    assert!(matches!(f.receive(&error, NOW), Err(FollowError::Gone)));
    f.disconnected();
    assert_eq!(f.connected().unwrap(), Vec::<String>::new());
    let stored = OutboxRecord {
        poll_id: poll_id(),
        seq: 9,
        command_id: cid(5),
        command: vote(&[1]),
    };
    f.restore(&[stored]).unwrap();
    assert_eq!(f.pending_len(), 0);
}

#[test]
fn an_unknown_poll_answer_to_a_command_means_gone_too() {
    let (mut f, owner) = joined(Settings::default());
    submit(&mut f, cid(2), vote(&[1])).unwrap();
    let error = owner.seal(Control::Error {
        command_id: Some(cid(2)),
        poll_id: None,
        code: ErrorCode::UnknownPoll,
        message: "no poll here".into(),
    });
    let reaction = f.receive(&error, NOW).unwrap();
    assert!(
        matches!(&reaction.notices[..], [Notice::Gone { dropped, .. }] if *dropped == [cid(2)])
    );
    assert!(f.is_gone());
    assert_eq!(f.gone_reason(), Some(GoneReason::NotFound));
}

#[test]
fn a_poll_deleted_error_means_gone_because_deleted() {
    let (mut f, owner) = joined(Settings::default());
    assert_eq!(f.gone_reason(), None);
    submit(&mut f, cid(2), vote(&[1])).unwrap();
    let error = owner.seal(Control::poll_deleted(poll_id(), None));
    let reaction = f.receive(&error, NOW).unwrap();
    assert!(
        matches!(&reaction.notices[..], [Notice::Gone { dropped, .. }] if *dropped == [cid(2)])
    );
    assert!(f.is_gone());
    assert_eq!(f.gone_reason(), Some(GoneReason::Deleted));
    // A later error changes nothing: the first reason stands.
    assert!(matches!(f.receive(&error, NOW), Err(FollowError::Gone)));
    assert_eq!(f.gone_reason(), Some(GoneReason::Deleted));
}

/// A follower wired to a real hub over one connection: frames are pumped both ways until quiet.
struct Wire {
    hub: crate::hub::Hub,
    conn: crate::hub::ConnId,
    at: u64,
}

impl Wire {
    fn new() -> Self {
        let mut hub = crate::hub::Hub::new(olga(), crate::hub::Limits::default());
        let draft = crate::testing::lunch_draft();
        hub.create(poll_id(), draft, NOW).unwrap();
        Self {
            hub,
            conn: crate::hub::ConnId(1),
            at: NOW,
        }
    }

    /// Opens the connection and runs the follower's `connected` exchange.
    fn connect(&mut self, f: &mut Follower) -> Vec<Notice> {
        self.hub
            .opened(self.conn, alice().peer_id().as_str(), self.at);
        let sync = f.connected().unwrap();
        self.pump(f, sync)
    }

    fn disconnect(&mut self, f: &mut Follower) {
        self.hub.closed(self.conn);
        f.disconnected();
    }

    /// Delivers `to_hub`, then everything the hub answers, until neither side sends.
    fn pump(&mut self, f: &mut Follower, to_hub: Vec<String>) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut to_hub = to_hub;
        while !to_hub.is_empty() {
            let mut to_follower = Vec::new();
            for frame in &to_hub {
                let step = self
                    .hub
                    .receive(self.conn, crate::hub::Incoming::Text(frame), self.at);
                to_follower.extend(self.frames(&step));
            }
            to_hub = self.deliver(f, to_follower, &mut notices);
        }
        notices
    }

    fn frames(&self, step: &crate::hub::Step) -> Vec<String> {
        step.sends
            .iter()
            .filter(|(c, _)| *c == self.conn)
            .map(|(_, frame)| frame.to_string())
            .collect()
    }

    fn deliver(
        &self,
        f: &mut Follower,
        frames: Vec<String>,
        notices: &mut Vec<Notice>,
    ) -> Vec<String> {
        let mut send = Vec::new();
        for frame in frames {
            match f.receive(&frame, self.at) {
                Ok(mut reaction) => {
                    send.append(&mut reaction.send);
                    notices.append(&mut reaction.notices);
                }
                Err(FollowError::Gone) => {}
                Err(e) => panic!("{e}"),
            }
        }
        send
    }
}

fn gone_notice(notices: &[Notice]) -> Option<&Vec<CommandId>> {
    notices.iter().find_map(|n| match n {
        Notice::Gone { dropped, .. } => Some(dropped),
        _ => None,
    })
}

#[test]
fn a_subscribed_participant_sees_the_owner_delete_the_poll() {
    let mut wire = Wire::new();
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    wire.connect(&mut f);
    assert!(f.view().is_some());
    assert_eq!(f.pending_len(), 0);
    let step = wire.hub.delete(poll_id());
    let mut notices = Vec::new();
    let frames = wire.frames(&step);
    let send = wire.deliver(&mut f, frames, &mut notices);
    assert!(send.is_empty());
    assert_eq!(gone_notice(&notices), Some(&Vec::new()));
    assert!(f.is_gone());
    // A later vote cannot even be staged.
    assert!(matches!(
        f.stage(cid(2), vote(&[1])),
        Err(FollowError::Gone)
    ));
}

#[test]
fn a_participant_whose_outbox_resends_after_the_deletion_sees_gone_and_empties_it() {
    let mut wire = Wire::new();
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    wire.connect(&mut f);
    // Offline, Alice votes twice; meanwhile the owner deletes the poll.
    wire.disconnect(&mut f);
    submit(&mut f, cid(2), vote(&[1])).unwrap();
    submit(&mut f, cid(3), vote(&[2])).unwrap();
    assert!(wire.hub.delete(poll_id()).sends.is_empty());
    // Reconnecting: the sync request is answered with unknown-poll.
    let notices = wire.connect(&mut f);
    assert_eq!(gone_notice(&notices), Some(&vec![cid(2), cid(3)]));
    assert!(f.is_gone());
    assert_eq!(f.pending_len(), 0);
    assert!(f.tick(NOW + 60_000).is_empty());
}

#[test]
fn a_resend_on_a_live_link_after_the_deletion_sees_gone() {
    let mut wire = Wire::new();
    let mut f = follower();
    submit(&mut f, cid(1), join("Alice")).unwrap();
    wire.connect(&mut f);
    // The vote is sent, but its answer is lost (the hub never sees it); then the poll goes.
    let sent = submit(&mut f, cid(2), vote(&[1])).unwrap();
    assert_eq!(sent.len(), 1);
    let mut step = wire.hub.delete(poll_id());
    step.sends.clear(); // the subscriber's error is lost too
    let resend = f.tick(NOW + 5_000);
    assert_eq!(resend, sent);
    let notices = wire.pump(&mut f, resend);
    assert_eq!(gone_notice(&notices), Some(&vec![cid(2)]));
    assert_eq!(f.pending_len(), 0);
}
