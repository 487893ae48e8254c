//! Unit tests of the hub: the §4.10 rules, durability order, limits, and hostile input.

use proptest::prelude::*;

use super::*;
use crate::poll::{OptionId, PollDraft, PollStatus, PollView, Role};
use crate::protocol::open;
use crate::testing::{cid, identity, listed_lunch_draft, poll_id, NOW};

fn draft() -> PollDraft {
    crate::testing::lunch_draft()
}

fn hub() -> Hub {
    let mut hub = Hub::new(identity(1), Limits::default());
    hub.create(poll_id(), draft(), NOW).unwrap();
    hub
}

/// A participant with its own key on connection `conn`.
struct Guest {
    me: Identity,
    conn: ConnId,
}

impl Guest {
    fn new(n: u8) -> Self {
        Self {
            me: identity(n),
            conn: ConnId(u64::from(n)),
        }
    }

    fn open(&self, hub: &mut Hub) -> Step {
        hub.opened(self.conn, self.me.peer_id().as_str(), NOW)
    }

    fn send(&self, hub: &mut Hub, message: Message) -> Step {
        let frame = seal(&self.me, &message).unwrap();
        hub.receive(self.conn, Incoming::Text(&frame), NOW)
    }

    fn command(&self, hub: &mut Hub, id: CommandId, command: Command) -> Step {
        self.send(
            hub,
            Message::Command(CommandFrame {
                command,
                poll_id: poll_id(),
                command_id: id,
            }),
        )
    }

    fn join(&self, hub: &mut Hub, id: CommandId) -> Step {
        let name = format!("guest {}", self.conn.0);
        self.command(hub, id, Command::Join { display_name: name })
    }

    /// Votes for the `index`th option (option ids start at 1).
    fn vote(&self, hub: &mut Hub, id: CommandId, index: u32) -> Step {
        let command = Command::CastVote {
            option_ids: vec![OptionId(index + 1)],
            answers: Default::default(),
        };
        self.command(hub, id, command)
    }
}

/// The messages `step` sends on `conn`, opened as the owner's frames.
fn to(step: &Step, conn: ConnId) -> Vec<Control> {
    step.sends
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, frame)| {
            let (signer, message) = open(frame, Some(identity(1).peer_id())).unwrap();
            assert_eq!(signer, *identity(1).peer_id());
            match message {
                Message::Control(control) => control,
                Message::Command(c) => panic!("the hub sent a command: {c:?}"),
            }
        })
        .collect()
}

fn kinds(messages: &[Control]) -> Vec<&'static str> {
    messages
        .iter()
        .map(|m| match m {
            Control::State { .. } => "state",
            Control::Event { .. } => "event",
            Control::Discovery { .. } => "discovery",
            Control::Ack { .. } => "ack",
            Control::Error { .. } => "error",
            Control::SyncRequest { .. } => "sync",
            Control::ListRequest => "list-request",
            Control::List { .. } => "list",
            Control::Heartbeat => "heartbeat",
            Control::Delegation { .. } => "delegation",
            Control::Move { .. } => "move",
            Control::Records { .. } => "records",
            Control::Prepare { .. } => "prepare",
            Control::Prepared { .. } => "prepared",
            Control::Activate { .. } => "activate",
            Control::Activated { .. } => "activated",
            Control::Abort { .. } => "abort",
            Control::SnapshotRequest { .. } => "snapshot-request",
            Control::Snapshot { .. } => "snapshot",
            Control::BindRequest { .. } => "bind-request",
            Control::Bind { .. } => "bind",
        })
        .collect()
}

fn error_code(messages: &[Control]) -> (Option<CommandId>, ErrorCode) {
    match messages {
        [Control::Error {
            command_id, code, ..
        }] => (*command_id, *code),
        other => panic!("expected one error, got {other:?}"),
    }
}

fn revision(hub: &Hub) -> Revision {
    hub.poll(&poll_id()).unwrap().revision
}

fn stored_json(hub: &Hub) -> String {
    serde_json::to_string(hub.poll(&poll_id()).unwrap()).unwrap()
}

#[test]
fn create_writes_the_poll() {
    let mut hub = Hub::new(identity(1), Limits::default());
    let step = hub.create(poll_id(), draft(), NOW).unwrap();
    assert!(matches!(&step.writes[..], [Write::Poll(p)] if p.id == poll_id()));
    assert!(step.sends.is_empty());
    assert_eq!(hub.polls().count(), 1);
}

#[test]
fn join_is_committed_then_acked_then_state_and_discovery() {
    let mut hub = hub();
    let ann = Guest::new(2);
    assert!(ann.open(&mut hub).is_empty());
    let step = ann.join(&mut hub, cid(1));
    // The record and the poll are written in the same step as the ack.
    assert!(
        matches!(&step.writes[..], [Write::Record(_, r), Write::Poll(p)]
        if r.command_id == cid(1) && p.revision == Revision(1))
    );
    let got = to(&step, ann.conn);
    assert_eq!(kinds(&got), ["ack", "state", "discovery"]);
    assert_eq!(
        got[0],
        Control::Ack {
            command_id: cid(1),
            revision: Revision(1)
        }
    );
    let Control::State { poll } = &got[1] else {
        unreachable!()
    };
    assert_eq!(poll.viewer, *ann.me.peer_id());
    assert_eq!(poll.members[ann.me.peer_id()].role, Role::Voter);
    let Control::Discovery { peers, .. } = &got[2] else {
        unreachable!()
    };
    let ids: Vec<_> = peers.iter().map(|p| p.peer_id.clone()).collect();
    assert_eq!(
        ids,
        [identity(1).peer_id().clone(), ann.me.peer_id().clone()]
    );
    assert_eq!(peers[1].name.as_deref(), Some("guest 2"));
}

#[test]
fn a_vote_reaches_every_subscriber_and_the_author_gets_its_revision() {
    let mut hub = hub();
    let (ann, bob) = (Guest::new(2), Guest::new(3));
    for (g, id) in [(&ann, 1), (&bob, 2)] {
        g.open(&mut hub);
        g.join(&mut hub, cid(id));
    }
    let step = ann.vote(&mut hub, cid(3), 1);
    assert_eq!(kinds(&to(&step, ann.conn)), ["event", "ack"]);
    assert_eq!(
        to(&step, ann.conn)[1],
        Control::Ack {
            command_id: cid(3),
            revision: Revision(3)
        }
    );
    let bob_got = to(&step, bob.conn);
    assert!(
        matches!(&bob_got[..], [Control::Event { event, .. }] if event.revision == Revision(3))
    );
    assert_eq!(revision(&hub), Revision(3));
}

#[test]
fn a_resend_gets_the_original_ack_and_changes_nothing() {
    let mut hub = hub();
    let (ann, bob) = (Guest::new(2), Guest::new(3));
    for (g, id) in [(&ann, 1), (&bob, 2)] {
        g.open(&mut hub);
        g.join(&mut hub, cid(id));
    }
    ann.vote(&mut hub, cid(3), 1);
    bob.vote(&mut hub, cid(4), 0);
    let before = stored_json(&hub);
    // The resend even says something else: the record answers, not the command.
    let step = ann.vote(&mut hub, cid(3), 0);
    assert!(step.writes.is_empty());
    assert_eq!(
        to(&step, ann.conn),
        [Control::Ack {
            command_id: cid(3),
            revision: Revision(3)
        }]
    );
    assert!(to(&step, bob.conn).is_empty());
    assert_eq!(stored_json(&hub), before);
}

#[test]
fn a_restored_hub_answers_resends_from_its_records() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let mut writes = Vec::new();
    writes.extend(ann.join(&mut hub, cid(1)).writes);
    writes.extend(ann.vote(&mut hub, cid(2), 1).writes);
    // Replay the writes into a "database", then into a fresh hub (the owner reloaded).
    let mut stored_poll = None;
    let mut records = Vec::new();
    for write in writes {
        match write {
            Write::Poll(p) => stored_poll = Some(*p),
            Write::Record(_, r) => records.push(r),
            Write::DeletePoll(_) | Write::Tombstone(_) | Write::Hosting(..) => {
                unreachable!("nothing was deleted")
            }
        }
    }
    let mut reloaded = Hub::new(identity(1), Limits::default());
    reloaded.restore(stored_poll.unwrap(), records).unwrap();
    ann.open(&mut reloaded);
    let step = ann.vote(&mut reloaded, cid(2), 0);
    assert_eq!(
        to(&step, ann.conn),
        [Control::Ack {
            command_id: cid(2),
            revision: Revision(2)
        }]
    );
    assert_eq!(revision(&reloaded), Revision(2));
}

#[test]
fn restore_refuses_someone_elses_poll() {
    let poll = Poll::new(poll_id(), identity(9).peer_id().clone(), draft(), NOW).unwrap();
    let mut hub = Hub::new(identity(1), Limits::default());
    assert_eq!(hub.restore(poll, []), Err(NotMine(poll_id())));
}

#[test]
fn a_refusal_is_recorded_and_final() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let before = stored_json(&hub);
    // Not a member yet.
    let step = ann.vote(&mut hub, cid(5), 0);
    assert!(matches!(&step.writes[..], [Write::Record(_, r)] if r.command_id == cid(5)));
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (Some(cid(5)), ErrorCode::NotAMember)
    );
    assert_eq!(stored_json(&hub), before);
    // Joining does not revive the refused id.
    ann.join(&mut hub, cid(6));
    let step = ann.vote(&mut hub, cid(5), 0);
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (Some(cid(5)), ErrorCode::NotAMember)
    );
}

#[test]
fn another_authors_command_id_is_refused_and_not_recorded() {
    let mut hub = hub();
    let (ann, bob) = (Guest::new(2), Guest::new(3));
    for (g, id) in [(&ann, 1), (&bob, 2)] {
        g.open(&mut hub);
        g.join(&mut hub, cid(id));
    }
    ann.vote(&mut hub, cid(7), 1);
    let step = bob.vote(&mut hub, cid(7), 0);
    assert!(step.writes.is_empty());
    assert_eq!(
        error_code(&to(&step, bob.conn)),
        (Some(cid(7)), ErrorCode::CommandIdReused)
    );
}

#[test]
fn a_viewer_vote_is_refused_with_the_reason() {
    let mut hub = Hub::new(identity(1), Limits::default());
    let mut d = draft();
    d.settings.newcomer_role = crate::poll::NewcomerRole::Viewer;
    hub.create(poll_id(), d, NOW).unwrap();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    ann.join(&mut hub, cid(1));
    let step = ann.vote(&mut hub, cid(2), 0);
    let got = to(&step, ann.conn);
    assert!(
        matches!(&got[..], [Control::Error { code: ErrorCode::NotPermitted, message, .. }]
        if message == "a viewer may not vote")
    );
}

#[test]
fn unopenable_frames_get_an_error_and_change_nothing() {
    let mut hub = hub();
    let (ann, mallory) = (Guest::new(2), Guest::new(3));
    ann.open(&mut hub);
    ann.join(&mut hub, cid(1));
    let before = stored_json(&hub);
    // Not JSON, not a string, a frame signed by someone else (replayed on ann's connection).
    let step = hub.receive(ann.conn, Incoming::Text("{nope"), NOW);
    assert_eq!(error_code(&to(&step, ann.conn)), (None, ErrorCode::BadJson));
    let step = hub.receive(ann.conn, Incoming::NotText, NOW);
    assert_eq!(error_code(&to(&step, ann.conn)), (None, ErrorCode::BadJson));
    let foreign = seal(
        &mallory.me,
        &Message::Command(CommandFrame {
            command: Command::CastVote {
                option_ids: vec![OptionId(0)],
                answers: Default::default(),
            },
            poll_id: poll_id(),
            command_id: cid(9),
        }),
    )
    .unwrap();
    let step = hub.receive(ann.conn, Incoming::Text(&foreign), NOW);
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (None, ErrorCode::SignerMismatch)
    );
    // A tampered body.
    let honest = seal(&ann.me, &Message::Control(Control::ListRequest)).unwrap();
    let tampered = honest.replace("poll:list:request", "poll:list:requesx");
    let step = hub.receive(ann.conn, Incoming::Text(&tampered), NOW);
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (None, ErrorCode::BadSignature)
    );
    assert!(step.closes.is_empty());
    assert_eq!(stored_json(&hub), before);
    assert_eq!(hub.connections(), 1);
}

#[test]
fn unknown_polls_are_named_in_the_error() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let other = PollId::from_random_bytes([0x99; 16]);
    let step = ann.send(
        &mut hub,
        Message::Command(CommandFrame {
            command: Command::Close,
            poll_id: other,
            command_id: cid(3),
        }),
    );
    let got = to(&step, ann.conn);
    assert!(
        matches!(&got[..], [Control::Error { command_id: Some(id), poll_id: Some(about), code: ErrorCode::UnknownPoll, message }]
        if *id == cid(3) && *about == other && *message == format!("no poll {other} here"))
    );
    let step = ann.send(
        &mut hub,
        Control::SyncRequest {
            poll_id: other,
            since_revision: None,
        }
        .into(),
    );
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (None, ErrorCode::UnknownPoll)
    );
    // The error names the poll, so a participant following several polls over this
    // connection knows which one it is about.
    assert!(matches!(
        &to(&step, ann.conn)[..],
        [Control::Error { poll_id: Some(about), .. }] if *about == other
    ));
}

#[test]
fn sync_request_subscribes_and_sends_state_only_when_newer() {
    let mut hub = hub();
    let (ann, bob) = (Guest::new(2), Guest::new(3));
    ann.open(&mut hub);
    ann.join(&mut hub, cid(1));
    bob.open(&mut hub);
    let sync = |since| Control::SyncRequest {
        poll_id: poll_id(),
        since_revision: since,
    };
    // A visitor: state + discovery (to both subscribers).
    let step = bob.send(&mut hub, sync(None).into());
    assert_eq!(kinds(&to(&step, bob.conn)), ["state", "discovery"]);
    assert_eq!(kinds(&to(&step, ann.conn)), ["discovery"]);
    // Up to date: nothing (already subscribed, so no discovery either).
    let step = bob.send(&mut hub, sync(Some(Revision(1))).into());
    assert!(step.sends.is_empty());
    // Behind: the state.
    let step = bob.send(&mut hub, sync(Some(Revision(0))).into());
    assert_eq!(kinds(&to(&step, bob.conn)), ["state"]);
    // The visitor now gets events.
    let step = ann.vote(&mut hub, cid(2), 0);
    assert_eq!(kinds(&to(&step, bob.conn)), ["event"]);
}

/// The ids in the hub's answer to a `poll:list:request` from `guest`.
fn listed_ids(hub: &mut Hub, guest: &Guest) -> Vec<PollId> {
    let step = guest.send(hub, Control::ListRequest.into());
    let got = to(&step, guest.conn);
    let [Control::List { polls }] = &got[..] else {
        panic!("{got:?}")
    };
    polls.iter().map(|p| p.poll_id).collect()
}

#[test]
fn list_request_lists_only_listed_polls_and_an_unlisted_one_is_reached_by_its_id() {
    // The hub's poll (default settings) is unlisted; two more are listed.
    let mut hub = hub();
    assert!(!hub.poll(&poll_id()).unwrap().settings.listed);
    let second = PollId::from_random_bytes([0x12; 16]);
    let third = PollId::from_random_bytes([0x13; 16]);
    hub.create(second, listed_lunch_draft(), NOW).unwrap();
    hub.create(third, listed_lunch_draft(), NOW).unwrap();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    assert_eq!(listed_ids(&mut hub, &ann), [second, third]);
    // Knowing the unlisted poll's id (its invite link) is enough to follow and join it.
    let step = ann.send(
        &mut hub,
        Control::SyncRequest {
            poll_id: poll_id(),
            since_revision: None,
        }
        .into(),
    );
    assert_eq!(kinds(&to(&step, ann.conn)), ["state", "discovery"]);
    ann.join(&mut hub, cid(1));
    let role = hub.poll(&poll_id()).unwrap().role_of(ann.me.peer_id());
    assert_eq!(role, Some(Role::Voter));
    // Being a member does not list it either: the list is the same for everyone.
    assert_eq!(listed_ids(&mut hub, &ann), [second, third]);
}

#[test]
fn owner_to_participant_types_and_heartbeats_are_ignored() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let before = stored_json(&hub);
    for message in [
        Control::Heartbeat,
        Control::Ack {
            command_id: cid(1),
            revision: Revision(9),
        },
        Control::List { polls: vec![] },
    ] {
        let step = ann.send(&mut hub, message.into());
        assert!(step.sends.is_empty() && step.writes.is_empty());
    }
    assert_eq!(stored_json(&hub), before);
}

#[test]
fn closing_a_connection_updates_discovery_for_the_others() {
    let mut hub = hub();
    let (ann, bob) = (Guest::new(2), Guest::new(3));
    for (g, id) in [(&ann, 1), (&bob, 2)] {
        g.open(&mut hub);
        g.join(&mut hub, cid(id));
    }
    assert_eq!(hub.present(&poll_id()).len(), 3);
    let step = hub.closed(bob.conn);
    let got = to(&step, ann.conn);
    let [Control::Discovery { peers, .. }] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(peers.len(), 2);
    assert_eq!(hub.present(&poll_id()).len(), 2);
    // Closing again (the shell's late event) is harmless.
    assert!(hub.closed(bob.conn).is_empty());
}

/// §3.4: past [`DISCOVERY_LISTED_MAX`] subscribers the list is cut (the owner stays first)
/// and `connected` counts everyone.
#[test]
fn discovery_lists_at_most_its_maximum_and_counts_everyone() {
    let mut hub = hub();
    let guests: Vec<Guest> = (2..=61).map(Guest::new).collect();
    let mut last = Step::default();
    for g in &guests {
        g.open(&mut hub);
        last = g.send(
            &mut hub,
            Control::SyncRequest {
                poll_id: poll_id(),
                since_revision: None,
            }
            .into(),
        );
    }
    assert_eq!(hub.present(&poll_id()).len(), 61);
    let got = to(&last, guests[0].conn);
    let Some(Control::Discovery {
        peers, connected, ..
    }) = got.iter().find(|c| matches!(c, Control::Discovery { .. }))
    else {
        panic!("{got:?}")
    };
    assert_eq!(peers.len(), DISCOVERY_LISTED_MAX);
    assert_eq!(*connected, 61);
    assert_eq!(peers[0].peer_id, *hub.me());
}

#[test]
fn quiet_connections_get_heartbeats_and_silent_ones_are_closed() {
    let mut hub = hub();
    let (ann, bob) = (Guest::new(2), Guest::new(3));
    ann.open(&mut hub);
    bob.open(&mut hub);
    bob.send(
        &mut hub,
        Control::SyncRequest {
            poll_id: poll_id(),
            since_revision: None,
        }
        .into(),
    );
    let (step, _) = hub.tick(NOW + 4_999);
    assert!(step.sends.is_empty());
    let (step, _) = hub.tick(NOW + 5_000);
    assert_eq!(kinds(&to(&step, ann.conn)), ["heartbeat"]);
    assert_eq!(kinds(&to(&step, bob.conn)), ["heartbeat"]);
    // Ann keeps talking; Bob falls silent.
    let frame = seal(&ann.me, &Control::Heartbeat.into()).unwrap();
    hub.receive(ann.conn, Incoming::Text(&frame), NOW + 14_000);
    let (step, _) = hub.tick(NOW + 15_000);
    assert_eq!(step.closes, [bob.conn]);
    assert_eq!(hub.connections(), 1);
}

#[test]
fn a_burst_beyond_the_limit_is_dropped_with_one_warning_per_second() {
    let limits = Limits {
        burst: 3,
        per_second: 2,
        ..Limits::default()
    };
    let mut hub = Hub::new(identity(1), limits);
    hub.create(poll_id(), draft(), NOW).unwrap();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let frame = seal(&ann.me, &Control::ListRequest.into()).unwrap();
    let at = |hub: &mut Hub, t: u64| hub.receive(ann.conn, Incoming::Text(&frame), NOW + t);
    for _ in 0..3 {
        assert_eq!(kinds(&to(&at(&mut hub, 0), ann.conn)), ["list"]);
    }
    assert_eq!(
        error_code(&to(&at(&mut hub, 0), ann.conn)),
        (None, ErrorCode::RateLimited)
    );
    assert!(at(&mut hub, 10).sends.is_empty());
    // Half a second later one token is back.
    assert_eq!(kinds(&to(&at(&mut hub, 500), ann.conn)), ["list"]);
    assert!(at(&mut hub, 500).sends.is_empty());
}

#[test]
fn connections_are_limited_per_peer_and_odd_ids_closed() {
    let mut hub = hub();
    let ann = identity(2);
    for n in 0..4 {
        assert!(hub
            .opened(ConnId(n), ann.peer_id().as_str(), NOW + n)
            .closes
            .is_empty());
    }
    let step = hub.opened(ConnId(9), ann.peer_id().as_str(), NOW + 9);
    assert_eq!(step.closes, [ConnId(0)]);
    assert_eq!(hub.connections(), 4);
    let step = hub.opened(ConnId(10), "not-a-key", NOW);
    assert_eq!(step.closes, [ConnId(10)]);
    assert_eq!(hub.connections(), 4);
}

#[test]
fn local_commands_are_broadcast_like_anyone_elses() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    ann.join(&mut hub, cid(1));
    let (step, outcome) = hub.local(poll_id(), cid(2), &Command::Close, NOW);
    assert_eq!(
        outcome,
        Some(Outcome::Acked {
            revision: Revision(2)
        })
    );
    assert!(!step.writes.is_empty());
    // Closing reveals nothing new here (results always visible): an event.
    assert_eq!(kinds(&to(&step, ann.conn)), ["event"]);
    assert_eq!(hub.poll(&poll_id()).unwrap().status, PollStatus::Closed);
    let (_, outcome) = hub.local(
        PollId::from_random_bytes([0; 16]),
        cid(3),
        &Command::Close,
        NOW,
    );
    assert_eq!(outcome, None);
}

#[test]
fn deadlines_come_due_in_tick() {
    let mut hub = Hub::new(identity(1), Limits::default());
    let mut d = draft();
    d.deadline = Some(NOW + 60_000);
    hub.create(poll_id(), d, NOW).unwrap();
    assert_eq!(hub.next_deadline(), Some(NOW + 60_000));
    assert!(hub.tick(NOW + 59_999).1.is_empty());
    assert_eq!(hub.tick(NOW + 60_000).1, [poll_id()]);
    hub.local(poll_id(), cid(1), &Command::Close, NOW + 60_000);
    assert!(hub.tick(NOW + 60_001).1.is_empty());
    assert_eq!(hub.next_deadline(), None);
}

#[test]
fn the_hub_closes_a_poll_at_its_deadline_itself_and_says_when_to_wake_it() {
    let mut hub = Hub::new(identity(1), Limits::default());
    let mut d = draft();
    d.deadline = Some(NOW + 60_000);
    hub.create(poll_id(), d, NOW).unwrap();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    ann.join(&mut hub, cid(1));
    // Connected and quiet: the next thing to do is the heartbeat, 5 s after the last send.
    assert_eq!(hub.poll_timeout(), Some(NOW + 5_000));
    ann.send(&mut hub, Control::Heartbeat.into());
    let mut ids = (10..).map(cid);
    let mut at = NOW;
    // Waking only when asked, the hub keeps the link alive and closes the poll on time.
    while let Some(next) = hub.poll_timeout() {
        assert!(
            next > at,
            "a timeout in the past would spin the shell's timer"
        );
        if next > NOW + 60_000 {
            break;
        }
        at = next;
        // The participant answers every heartbeat, as the app does.
        let step = hub.handle_timeout(at, || ids.next());
        if step.sends.iter().any(|(c, _)| *c == ann.conn) {
            let frame = seal(&ann.me, &Control::Heartbeat.into()).unwrap();
            hub.receive(ann.conn, Incoming::Text(&frame), at);
        }
    }
    assert_eq!(at, NOW + 60_000);
    assert_eq!(hub.poll(&poll_id()).unwrap().status, PollStatus::Closed);
    assert_eq!(hub.connections(), 1);
    assert_eq!(hub.next_deadline(), None);
    // Nothing connected and no deadline: no timer at all.
    hub.closed(ann.conn);
    assert_eq!(hub.poll_timeout(), None);
}

/// Every participant's view, rebuilt from what the hub sent it, equals the owner's view for it.
#[test]
fn participants_converge_on_the_owners_view() {
    let mut hub = hub();
    let guests: Vec<Guest> = (2..6).map(Guest::new).collect();
    let mut views: Vec<Option<PollView>> = vec![None; guests.len()];
    let feed = |step: &Step, views: &mut Vec<Option<PollView>>| {
        for (i, g) in guests.iter().enumerate() {
            for message in to(step, g.conn) {
                match message {
                    Control::State { poll } => views[i] = Some(*poll),
                    Control::Event { event, .. } => {
                        let view = views[i].as_ref().unwrap();
                        views[i] = Some(view.apply(&event).unwrap());
                    }
                    _ => {}
                }
            }
        }
    };
    let mut n = 0u8;
    for g in &guests {
        g.open(&mut hub);
        n += 1;
        let step = g.join(&mut hub, cid(n));
        feed(&step, &mut views);
    }
    for round in 0..3u32 {
        for g in &guests {
            n += 1;
            let step = g.vote(&mut hub, cid(n), (round + u32::from(n)) % 2);
            feed(&step, &mut views);
        }
    }
    let poll = hub.poll(&poll_id()).unwrap();
    for (i, g) in guests.iter().enumerate() {
        assert_eq!(views[i].as_ref(), Some(&view_for(poll, g.me.peer_id())));
    }
}

// ---- signed frames in records ----

fn record_of(step: &Step, id: CommandId) -> ProcessedRecord {
    step.writes
        .iter()
        .find_map(|w| match w {
            Write::Record(_, r) if r.command_id == id => Some(r.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn an_applied_vote_keeps_its_signed_frame_and_nothing_else_does() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    // Refused (not a member yet): recorded, but without a frame.
    let refused = ann.vote(&mut hub, cid(1), 0);
    assert_eq!(record_of(&refused, cid(1)).frame, None);
    let join = ann.join(&mut hub, cid(2));
    assert_eq!(record_of(&join, cid(2)).frame, None);
    let command = Command::CastVote {
        option_ids: vec![OptionId(2)],
        answers: Default::default(),
    };
    let frame = seal(
        &ann.me,
        &Message::Command(CommandFrame {
            command,
            poll_id: poll_id(),
            command_id: cid(3),
        }),
    )
    .unwrap();
    let step = hub.receive(ann.conn, Incoming::Text(&frame), NOW);
    let record = record_of(&step, cid(3));
    assert_eq!(record.frame.as_deref(), Some(frame.as_str()));
    // Stored and reloaded, the frame is still there; records of older builds (no `frame`)
    // still load.
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(
        serde_json::from_str::<ProcessedRecord>(&json).unwrap(),
        record
    );
    let old = serde_json::to_string(&record_of(&join, cid(2))).unwrap();
    assert!(!old.contains("frame"), "{old}");
    assert_eq!(
        serde_json::from_str::<ProcessedRecord>(&old).unwrap().frame,
        None
    );
}

#[test]
fn the_owners_own_vote_is_sealed_by_the_owner() {
    let mut hub = hub();
    let command = Command::CastVote {
        option_ids: vec![OptionId(1)],
        answers: Default::default(),
    };
    let (step, outcome) = hub.local(poll_id(), cid(1), &command, NOW);
    assert!(matches!(outcome, Some(Outcome::Acked { .. })));
    let frame = record_of(&step, cid(1)).frame.unwrap();
    let (signer, message) = open(&frame, Some(identity(1).peer_id())).unwrap();
    assert_eq!(signer, *identity(1).peer_id());
    assert_eq!(
        message,
        Message::Command(CommandFrame {
            command,
            poll_id: poll_id(),
            command_id: cid(1),
        })
    );
    // Other local commands keep no frame.
    let (step, _) = hub.local(poll_id(), cid(2), &Command::Close, NOW);
    assert_eq!(record_of(&step, cid(2)).frame, None);
}

#[test]
fn a_hub_snapshot_verifies_and_a_restored_hub_can_still_export_it() {
    let mut hub = hub();
    let (ann, bob) = (Guest::new(2), Guest::new(3));
    let mut writes = Vec::new();
    for (g, id) in [(&ann, 1), (&bob, 2)] {
        g.open(&mut hub);
        writes.extend(g.join(&mut hub, cid(id)).writes);
    }
    writes.extend(ann.vote(&mut hub, cid(3), 0).writes);
    writes.extend(bob.vote(&mut hub, cid(4), 1).writes);
    writes.extend(ann.vote(&mut hub, cid(5), 1).writes);
    let owner_vote = Command::CastVote {
        option_ids: vec![OptionId(1)],
        answers: Default::default(),
    };
    writes.extend(hub.local(poll_id(), cid(6), &owner_vote, NOW).0.writes);
    let file = hub.snapshot(&poll_id(), NOW + 1).unwrap();
    let verified = crate::snapshot::verify(&file).unwrap();
    assert_eq!(verified.signatures, 3);
    assert_eq!(verified.exported_at, NOW + 1);
    assert_eq!(&verified.poll, hub.poll(&poll_id()).unwrap());
    let votes: Vec<u32> = verified.tally.iter().map(|t| t.votes).collect();
    assert_eq!(votes, [1, 2]);
    // The same from what was written (the owner reloaded).
    let mut poll = None;
    let mut records = Vec::new();
    for write in writes {
        match write {
            Write::Poll(p) => poll = Some(*p),
            Write::Record(_, r) => records.push(r),
            Write::DeletePoll(_) | Write::Tombstone(_) | Write::Hosting(..) => unreachable!(),
        }
    }
    let mut reloaded = Hub::new(identity(1), Limits::default());
    reloaded.restore(poll.unwrap(), records).unwrap();
    assert_eq!(reloaded.snapshot(&poll_id(), NOW + 1).unwrap(), file);
    assert!(matches!(
        hub.snapshot(&PollId::from_random_bytes([0x99; 16]), NOW),
        Err(ExportError::UnknownPoll(_))
    ));
}

// ---- deleting a poll ----

#[test]
fn deleting_a_poll_writes_the_deletion_and_tells_only_its_subscribers() {
    let mut hub = hub();
    let second = PollId::from_random_bytes([0x12; 16]);
    hub.create(second, listed_lunch_draft(), NOW).unwrap();
    let (ann, bob, cat) = (Guest::new(2), Guest::new(3), Guest::new(4));
    ann.open(&mut hub);
    ann.join(&mut hub, cid(1));
    ann.vote(&mut hub, cid(2), 0);
    // Bob follows the other poll; Cat is connected but follows nothing.
    bob.open(&mut hub);
    bob.send(
        &mut hub,
        Control::SyncRequest {
            poll_id: second,
            since_revision: None,
        }
        .into(),
    );
    cat.open(&mut hub);

    let step = hub.delete(poll_id());
    assert_eq!(
        step.writes,
        [Write::DeletePoll(poll_id()), Write::Tombstone(poll_id())]
    );
    assert!(step.changed.contains(&poll_id()));
    let got = to(&step, ann.conn);
    assert!(
        matches!(&got[..], [Control::Error { command_id: None, poll_id: Some(about), code: ErrorCode::PollDeleted, message }]
        if message.contains("deleted") && *about == poll_id()),
        "{got:?}"
    );
    assert!(to(&step, bob.conn).is_empty());
    assert!(to(&step, cat.conn).is_empty());
    assert!(step.closes.is_empty());
    assert!(hub.poll(&poll_id()).is_none());
    assert_eq!(hub.polls().count(), 1);
    assert_eq!(hub.connections(), 3);

    // Afterwards the poll is known as deleted: a resent command, a new one, a sync request.
    let step = ann.vote(&mut hub, cid(2), 0);
    assert!(step.writes.is_empty());
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (Some(cid(2)), ErrorCode::PollDeleted)
    );
    let step = ann.vote(&mut hub, cid(3), 1);
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (Some(cid(3)), ErrorCode::PollDeleted)
    );
    let step = ann.send(
        &mut hub,
        Control::SyncRequest {
            poll_id: poll_id(),
            since_revision: None,
        }
        .into(),
    );
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (None, ErrorCode::PollDeleted)
    );
    assert!(hub.present(&poll_id()).is_empty());
    assert!(hub.snapshot(&poll_id(), NOW).is_err());
    // The other poll is unaffected: listed, and Bob still gets its events.
    let step = ann.send(&mut hub, Control::ListRequest.into());
    let got = to(&step, ann.conn);
    let [Control::List { polls }] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(polls.len(), 1);
    assert_eq!(polls[0].poll_id, second);
    let (step, _) = hub.local(second, cid(9), &Command::Close, NOW);
    assert_eq!(kinds(&to(&step, bob.conn)), ["event"]);
    // Closing Ann's connection announces nothing for the deleted poll.
    let step = hub.closed(ann.conn);
    assert!(step.sends.is_empty());
    // Deleting again, or an unknown poll, does nothing.
    assert!(hub.delete(poll_id()).is_empty());
    assert!(hub.was_deleted(&poll_id()));
    assert!(!hub.was_deleted(&second));
}

#[test]
fn a_restarted_hub_tells_deleted_polls_from_polls_it_never_had() {
    // The ids of deleted polls come back from storage; a poll never had stays unknown.
    let mut hub = Hub::new(identity(1), Limits::default());
    hub.restore_deleted([poll_id()]);
    let never = PollId::from_random_bytes([0x77; 16]);
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let sync = |hub: &mut Hub, poll| {
        let step = ann.send(
            hub,
            Control::SyncRequest {
                poll_id: poll,
                since_revision: None,
            }
            .into(),
        );
        to(&step, ann.conn)
    };
    let got = sync(&mut hub, poll_id());
    assert!(
        matches!(&got[..], [Control::Error { command_id: None, poll_id: Some(about), code: ErrorCode::PollDeleted, message }]
        if *about == poll_id() && message.contains("deleted")),
        "{got:?}"
    );
    let got = sync(&mut hub, never);
    assert!(
        matches!(&got[..], [Control::Error { command_id: None, poll_id: Some(about), code: ErrorCode::UnknownPoll, .. }]
        if *about == never),
        "{got:?}"
    );
    let step = ann.join(&mut hub, cid(1));
    assert!(step.writes.is_empty());
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (Some(cid(1)), ErrorCode::PollDeleted)
    );
}

proptest! {
    /// Arbitrary input on a connection never panics the hub, never changes the poll, and never
    /// closes the connection.
    #[test]
    fn garbage_never_changes_state(text in ".{0,400}") {
        let mut hub = hub();
        let ann = Guest::new(2);
        ann.open(&mut hub);
        let before = stored_json(&hub);
        let step = hub.receive(ann.conn, Incoming::Text(&text), NOW);
        prop_assert!(step.writes.is_empty());
        prop_assert!(step.closes.is_empty());
        prop_assert_eq!(stored_json(&hub), before);
    }

    /// Random command sequences from several authors, each sent twice: the second copy always
    /// gets the first copy's answer and leaves the stored poll identical.
    #[test]
    fn resends_are_always_answered_alike(ops in proptest::collection::vec((0u8..3, 0u32..4), 1..30)) {
        let mut hub = hub();
        let guests: Vec<Guest> = (2..5).map(Guest::new).collect();
        for g in &guests {
            g.open(&mut hub);
        }
        for (i, (who, option)) in ops.into_iter().enumerate() {
            let g = &guests[usize::from(who)];
            let id = CommandId::from_random_bytes([u8::try_from(i).unwrap() + 1; 16]);
            let command = if option == 3 {
                Command::Join { display_name: "x".into() }
            } else {
                Command::CastVote { option_ids: vec![OptionId(option)],     answers: Default::default(), }
            };
            let first = to(&g.command(&mut hub, id, command.clone()), g.conn);
            let answer = first.into_iter().find(|m| matches!(m, Control::Ack { .. } | Control::Error { .. }));
            let before = stored_json(&hub);
            let again = g.command(&mut hub, id, command);
            prop_assert!(again.writes.is_empty());
            let answer_again = to(&again, g.conn).into_iter().find(|m| matches!(m, Control::Ack { .. } | Control::Error { .. }));
            prop_assert_eq!(answer_again, answer);
            prop_assert_eq!(stored_json(&hub), before);
        }
    }
}

/// The frames `step` sends on `conn`, as sent (not opened).
fn frames(step: &Step, conn: ConnId) -> Vec<&Rc<str>> {
    step.sends
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, frame)| frame)
        .collect()
}

#[test]
fn a_broadcast_is_sealed_once_per_distinct_message() {
    // Results after voting: once Ann has voted she sees results, Bob and Cid (no ballot) do not.
    let mut hub = Hub::new(identity(1), Limits::default());
    let mut draft = draft();
    draft.settings.results = crate::poll::ResultsVisibility::AfterVoting;
    hub.create(poll_id(), draft, NOW).unwrap();
    let (ann, bob, cid_) = (Guest::new(2), Guest::new(3), Guest::new(4));
    for (g, id) in [(&ann, 1), (&bob, 2), (&cid_, 3)] {
        g.open(&mut hub);
        g.join(&mut hub, cid(id));
    }
    // A join is announced: one discovery frame, sealed once and shared by all subscribers.
    let dave = Guest::new(5);
    dave.open(&mut hub);
    let step = dave.join(&mut hub, cid(4));
    let discovery: Vec<&Rc<str>> = [&ann, &bob, &cid_, &dave]
        .iter()
        .map(|g| *frames(&step, g.conn).last().unwrap())
        .collect();
    assert_eq!(kinds(&to(&step, ann.conn)).last(), Some(&"discovery"));
    assert!(discovery.iter().all(|f| Rc::ptr_eq(f, discovery[0])));

    // Ann's vote: Bob and Cid get the same hidden-results event (one frame); Ann's own update
    // differs (she now sees results), and each opens as the owner's frame.
    let step = ann.vote(&mut hub, cid(5), 0);
    let [bob_frame] = frames(&step, bob.conn)[..] else {
        panic!("{:?}", step.sends)
    };
    for other in [&cid_, &dave] {
        let [frame] = frames(&step, other.conn)[..] else {
            panic!("{:?}", step.sends)
        };
        assert!(Rc::ptr_eq(frame, bob_frame));
    }
    assert!(frames(&step, ann.conn)
        .iter()
        .all(|f| !Rc::ptr_eq(f, bob_frame)));
    assert_eq!(kinds(&to(&step, ann.conn)), ["state", "ack"]);
    assert_eq!(kinds(&to(&step, bob.conn)), ["event"]);
}

/// Option ids start at 1: a vote for option 0 is `unknown-option` (PROTOCOL.md §3.6).
#[test]
fn option_id_zero_is_an_unknown_option() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    ann.join(&mut hub, cid(1));
    let step = ann.command(
        &mut hub,
        cid(2),
        Command::CastVote {
            option_ids: vec![OptionId(0)],
            answers: Default::default(),
        },
    );
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (Some(cid(2)), ErrorCode::UnknownOption)
    );
}

/// A message the transport dropped for its size is answered `too-large` (commandId null), and
/// the connection keeps working (PROTOCOL.md §4.8).
#[test]
fn a_message_dropped_for_its_size_is_answered_too_large() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let step = hub.receive(ann.conn, Incoming::TooLarge, NOW);
    assert_eq!(
        error_code(&to(&step, ann.conn)),
        (None, ErrorCode::TooLarge)
    );
    assert!(step.closes.is_empty());
    let step = ann.join(&mut hub, cid(1));
    assert!(matches!(
        to(&step, ann.conn).first(),
        Some(Control::Ack { .. })
    ));
}

/// The exchange of PROTOCOL.md §5 run through the hub: every frame in it, Alice's and the
/// owner's, is in the document exactly (ed25519 signatures are deterministic).
#[test]
fn the_documented_exchange_is_exact() {
    let mut hub = Hub::new(identity(1), Limits::default());
    hub.create(poll_id(), listed_lunch_draft(), NOW).unwrap();
    let alice = Guest::new(2);
    alice.open(&mut hub);
    let mut frames = Vec::new();
    let mut exchange = |hub: &mut Hub, message: Option<Message>| {
        let step = match message {
            Some(message) => {
                let frame = seal(&alice.me, &message).unwrap();
                frames.push(frame.clone());
                hub.receive(alice.conn, Incoming::Text(&frame), NOW)
            }
            None => hub.local(poll_id(), cid(0x55), &Command::Close, NOW).0,
        };
        let sent = step.sends.iter().filter(|(conn, _)| *conn == alice.conn);
        frames.extend(sent.map(|(_, frame)| frame.to_string()));
    };
    let command = |id: u8, command| {
        Some(Message::Command(CommandFrame {
            command,
            poll_id: poll_id(),
            command_id: CommandId::from_random_bytes([id; 16]),
        }))
    };
    let vote = |id, option| {
        command(
            id,
            Command::CastVote {
                option_ids: vec![OptionId(option)],
                answers: Default::default(),
            },
        )
    };
    let join = Command::Join {
        display_name: "Alice".into(),
    };
    exchange(&mut hub, command(0x33, join));
    exchange(&mut hub, vote(0x44, 2));
    exchange(&mut hub, vote(0x44, 2));
    exchange(&mut hub, None);
    exchange(&mut hub, vote(0x66, 1));
    let sync = Control::SyncRequest {
        poll_id: poll_id(),
        since_revision: Some(Revision(1)),
    };
    exchange(&mut hub, Some(sync.into()));
    exchange(&mut hub, Some(Control::Heartbeat.into()));
    let doc = include_str!("../../../../PROTOCOL.md");
    let section = &doc[doc.find("## 5. Example exchange").unwrap()..];
    let section = &section[..section.find("## 6.").unwrap()];
    let missing: Vec<&String> = frames.iter().filter(|f| !section.contains(*f)).collect();
    if std::env::var_os("STARPOLL_PRINT_EXAMPLES").is_some() {
        frames.iter().for_each(|frame| println!("{frame}"));
    }
    assert!(missing.is_empty(), "not in PROTOCOL.md §5: {missing:#?}");
}

// ---- channel binding (PROTOCOL.md §2.7) ----

fn fingerprints() -> ChannelFingerprints {
    ChannelFingerprints {
        local: "sha-256 AA:01".into(),
        remote: "sha-256 BB:02".into(),
    }
}

#[test]
fn a_bind_request_is_answered_with_the_signed_fingerprints_then_frames_go_unsigned() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    hub.set_channel(ann.conn, fingerprints());
    let step = ann.send(&mut hub, Control::BindRequest { batches: false }.into());
    // The bind itself is signed (`to` opens with signature checks).
    assert_eq!(
        to(&step, ann.conn),
        vec![Control::Bind {
            hub_fingerprint: "sha-256 AA:01".into(),
            participant_fingerprint: "sha-256 BB:02".into(),
        }]
    );
    assert!(hub.is_bound(ann.conn));
    let step = ann.join(&mut hub, cid(1));
    let frames: Vec<&str> = step
        .sends
        .iter()
        .filter(|(c, _)| *c == ann.conn)
        .map(|(_, f)| &**f)
        .collect();
    assert!(!frames.is_empty());
    for frame in frames {
        assert!(
            !frame.contains("\"sig\""),
            "a frame on a bound channel is signed: {frame}"
        );
        // Refused where the channel is not bound, accepted where it is.
        assert_eq!(
            open(frame, Some(identity(1).peer_id()))
                .err()
                .map(|e| ErrorCode::from(&e)),
            Some(ErrorCode::BadJson)
        );
        let (signer, _) = crate::protocol::open_bound(frame, identity(1).peer_id()).unwrap();
        assert_eq!(signer, *identity(1).peer_id());
    }
}

#[test]
fn without_fingerprints_a_bind_request_is_ignored_and_frames_stay_signed() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    let step = ann.send(&mut hub, Control::BindRequest { batches: false }.into());
    assert_eq!(kinds(&to(&step, ann.conn)), Vec::<&str>::new());
    assert!(!hub.is_bound(ann.conn));
    // `to` checks every frame's signature.
    let step = ann.join(&mut hub, cid(1));
    assert!(kinds(&to(&step, ann.conn)).contains(&"ack"));
}

#[test]
fn a_broadcast_is_signed_for_unbound_subscribers_and_plain_for_bound_ones() {
    let mut hub = hub();
    let ann = Guest::new(2);
    let bob = Guest::new(3);
    for guest in [&ann, &bob] {
        guest.open(&mut hub);
        guest.join(&mut hub, cid(guest.conn.0 as u8));
    }
    hub.set_channel(ann.conn, fingerprints());
    ann.send(&mut hub, Control::BindRequest { batches: false }.into());
    let step = bob.vote(&mut hub, cid(10), 0);
    let ann_frames: Vec<&str> = step
        .sends
        .iter()
        .filter(|(c, _)| *c == ann.conn)
        .map(|(_, f)| &**f)
        .collect();
    assert!(!ann_frames.is_empty());
    assert!(ann_frames.iter().all(|f| !f.contains("\"sig\"")));
    // Bob's frames all verify (and so carry signatures).
    assert!(kinds(&to(&step, bob.conn)).contains(&"event"));
}

#[test]
fn a_participants_frames_stay_checked_on_a_bound_channel() {
    let mut hub = hub();
    let ann = Guest::new(2);
    ann.open(&mut hub);
    hub.set_channel(ann.conn, fingerprints());
    ann.send(&mut hub, Control::BindRequest { batches: false }.into());
    let unsigned = crate::protocol::frame_unsigned(
        ann.me.peer_id(),
        &Message::Command(CommandFrame {
            command: Command::Join {
                display_name: "ann".into(),
            },
            poll_id: poll_id(),
            command_id: cid(1),
        }),
    )
    .unwrap();
    let step = hub.receive(ann.conn, Incoming::Text(&unsigned), NOW);
    assert!(step.writes.is_empty());
    let sent: Vec<Control> = step
        .sends
        .iter()
        .map(|(_, f)| {
            crate::protocol::open_bound(f, identity(1).peer_id())
                .unwrap()
                .1
        })
        .map(|m| match m {
            Message::Control(c) => c,
            Message::Command(c) => panic!("{c:?}"),
        })
        .collect();
    assert_eq!(error_code(&sent).1, ErrorCode::BadJson);
}

/// The `peer:discovery` lists `step` sends on `conn`, as peer IDs.
fn discoveries(step: &Step, conn: ConnId) -> Vec<Vec<PeerId>> {
    to(step, conn)
        .into_iter()
        .filter_map(|m| match m {
            Control::Discovery { peers, .. } => {
                Some(peers.into_iter().map(|p| p.peer_id).collect())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn coalesced_discovery_announces_changes_within_the_interval_once_when_it_is_over() {
    let limits = Limits::default().coalesced_discovery();
    let mut hub = Hub::new(identity(1), limits);
    hub.create(poll_id(), draft(), NOW).unwrap();
    let (ann, bob, cy) = (Guest::new(2), Guest::new(3), Guest::new(4));
    let owner = identity(1).peer_id().clone();
    // The first change after a quiet interval is announced at once.
    ann.open(&mut hub);
    let step = ann.join(&mut hub, cid(1));
    assert_eq!(
        discoveries(&step, ann.conn),
        [vec![owner.clone(), ann.me.peer_id().clone()]]
    );
    // Changes within the interval: answered as usual, but no discovery to anyone yet.
    bob.open(&mut hub);
    let step = bob.join(&mut hub, cid(2));
    assert_eq!(kinds(&to(&step, bob.conn)), ["ack", "state"]);
    assert!(discoveries(&step, ann.conn).is_empty());
    cy.open(&mut hub);
    let step = cy.join(&mut hub, cid(3));
    assert!(step
        .sends
        .iter()
        .all(|(_, f)| !f.contains("peer:discovery")));
    let step = hub.closed(cy.conn);
    assert!(step.sends.is_empty());
    // Due one interval (1 s + 10 ms per subscriber, at most three) after the last announcement.
    let due = hub.poll_timeout().unwrap();
    let base = NOW + limits.discovery_interval_ms;
    assert!((base..=base + 3 * limits.discovery_ms_per_subscriber).contains(&due));
    let step = hub.handle_timeout(due - 1, || None);
    assert!(step.sends.is_empty());
    let step = hub.handle_timeout(due, || None);
    let now = vec![
        owner.clone(),
        ann.me.peer_id().clone(),
        bob.me.peer_id().clone(),
    ];
    let at_ann = discoveries(&step, ann.conn);
    assert_eq!(at_ann, [now]);
    assert_eq!(discoveries(&step, bob.conn), at_ann);
    assert_eq!(step.sends.len(), 2);
    // Announced once: nothing more is due until the next change.
    assert!(hub.poll_timeout().is_some_and(|at| at > due));
    assert!(hub.handle_timeout(due + 1, || None).sends.is_empty());
}
