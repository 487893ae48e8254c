//! Property tests of the poll domain over random command sequences from several authors, driven
//! the way the owner drives it: through `ProcessedCommands`, with time as an input.

// Helpers outside `#[test]` functions fail the test by panicking, as tests do.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use proptest::prelude::*;
use starpoll_core::poll::{
    apply, due_to_close, tally, update_for, view_for, Answer, Change, Command, CommandId,
    NewcomerRole, OptionAdders, OptionId, Outcome, Poll, PollDraft, PollId, PollKind, PollView,
    Processed, ProcessedCommands, Refusal, ResultsVisibility, Role, Settings, Update,
};
use starpoll_core::{Identity, PeerId, PeerToken};

const START: u64 = 1_700_000_000_000;
/// Peers 0..AUTHORS send commands (0 is the owner); the last peer only watches.
const AUTHORS: usize = 6;

fn peers() -> &'static [PeerId] {
    static PEERS: OnceLock<Vec<PeerId>> = OnceLock::new();
    PEERS.get_or_init(|| {
        (0..=AUTHORS)
            .map(|n| {
                let n = u8::try_from(n).unwrap() + 40;
                Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN]))
                    .peer_id()
                    .clone()
            })
            .collect()
    })
}

fn owner() -> &'static PeerId {
    &peers()[0]
}

#[derive(Debug, Clone)]
enum Op {
    /// Peer `author` sends `command` with command id number `id`: mostly from the author's own
    /// small pool (so the author resends), sometimes from a pool all authors share.
    Send {
        author: usize,
        id: u64,
        command: Command,
    },
    /// Time passes.
    Wait(u64),
    /// The owner closes the poll if its deadline has come.
    CloseIfDue,
}

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "Pizza", " pizza ", "Sushi", "Tacos", "Curry", "Ramen", "", "  ", "a\nb", "Bo", "Élan",
    ])
    .prop_map(String::from)
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(vec![Role::Owner, Role::Editor, Role::Voter, Role::Viewer])
}

fn answer() -> impl Strategy<Value = Answer> {
    prop::sample::select(Answer::ALL.to_vec())
}

fn command() -> impl Strategy<Value = Command> {
    let offset = -5i64..60;
    let at = move |offset: i64| START.saturating_add_signed(offset * 10);
    prop_oneof![
        3 => text().prop_map(|display_name| Command::Join { display_name }),
        10 => prop::collection::vec(0u32..6, 0..4).prop_map(|ids| Command::CastVote {
            option_ids: ids.into_iter().map(OptionId).collect(),
            answers: Default::default(),
        }),
        // Answers per slot: refused unless the poll is a date/time poll.
        6 => (
            prop::collection::vec(0u32..6, 0..4),
            prop::collection::btree_map(0u32..6, answer(), 0..4),
        )
            .prop_map(|(ids, answers)| Command::CastVote {
                option_ids: ids.into_iter().map(OptionId).collect(),
                answers: answers.into_iter().map(|(id, a)| (OptionId(id), a)).collect(),
            }),
        4 => prop::collection::btree_map(0u32..6, answer(), 0..4).prop_map(|answers| {
            Command::CastVote {
                option_ids: Vec::new(),
                answers: answers.into_iter().map(|(id, a)| (OptionId(id), a)).collect(),
            }
        }),
        3 => text().prop_map(|text| Command::AddOption { text }),
        2 => (0u32..6, text()).prop_map(|(id, text)| Command::RenameOption {
            option_id: OptionId(id),
            text,
        }),
        2 => (0u32..6).prop_map(|id| Command::RemoveOption {
            option_id: OptionId(id),
        }),
        3 => (0..AUTHORS + 1, role()).prop_map(|(member, role)| Command::SetRole {
            member: peers()[member].clone(),
            role,
        }),
        1 => text().prop_map(|display_name| Command::UpdateProfile { display_name }),
        1 => Just(Command::Close),
        1 => Just(Command::Reopen),
        1 => (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(prop::option::of(offset.prop_map(at))),
        )
            .prop_map(|(title, description, deadline)| Command::EditPoll {
                title,
                description,
                deadline,
            }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..AUTHORS, 0u64..8, 0u8..10, command()).prop_map(|(author, n, shared, command)| {
            let own = u64::try_from(author).unwrap() * 100 + 100;
            let id = if shared == 0 { n } else { own + n };
            Op::Send { author, id, command }
        }),
        2 => (0u64..80).prop_map(Op::Wait),
        1 => Just(Op::CloseIfDue),
    ]
}

fn poll() -> impl Strategy<Value = Poll> {
    let settings = (
        prop::sample::select(vec![
            OptionAdders::Owner,
            OptionAdders::Editors,
            OptionAdders::Voters,
        ]),
        prop::sample::select(vec![
            ResultsVisibility::Always,
            ResultsVisibility::AfterVoting,
            ResultsVisibility::AfterClose,
        ]),
        prop::sample::select(vec![NewcomerRole::Voter, NewcomerRole::Viewer]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(option_adders, results, newcomer_role, anonymous, listed)| Settings {
                option_adders,
                results,
                newcomer_role,
                anonymous,
                listed,
            },
        );
    let kind = prop_oneof![
        Just(PollKind::Single),
        (1u32..4).prop_map(|max| PollKind::Multiple { max }),
        Just(PollKind::Schedule),
        Just(PollKind::Ranked),
    ];
    // A new poll has at least two options; more are added by the commands.
    let options = prop::sample::subsequence(vec!["Pizza", "Sushi", "Tacos"], 2..=3);
    let deadline = prop::option::of((1u64..400).prop_map(|d| START + d));
    (settings, kind, options, deadline).prop_map(|(settings, kind, options, deadline)| {
        let draft = PollDraft {
            title: "Lunch?".into(),
            description: String::new(),
            options: options.into_iter().map(String::from).collect(),
            kind,
            deadline,
            settings,
            owner_name: "Olga".into(),
        };
        Poll::new(
            PollId::from_random_bytes([7; 16]),
            owner().clone(),
            draft,
            START,
        )
        .unwrap()
    })
}

fn command_id(n: u64) -> CommandId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    CommandId::from_random_bytes(bytes)
}

/// Tallies recomputed independently from the ballots: choices, first preferences in a ranked
/// poll, yes answers in a date/time poll.
fn expected_tally(poll: &Poll) -> Vec<u32> {
    poll.options
        .iter()
        .map(|o| {
            let n = match poll.kind {
                PollKind::Ranked => poll
                    .rankings
                    .values()
                    .filter(|r| r.first() == Some(&o.id))
                    .count(),
                PollKind::Schedule => poll
                    .answers
                    .values()
                    .filter(|a| a.get(&o.id) == Some(&Answer::Yes))
                    .count(),
                _ => poll.ballots.values().filter(|b| b.contains(&o.id)).count(),
            };
            u32::try_from(n).unwrap()
        })
        .collect()
}

/// The owner and its participants, as the tests drive them.
struct World {
    poll: Poll,
    processed: ProcessedCommands,
    /// What each command id got the first time: (author, command, outcome).
    answered: BTreeMap<CommandId, (PeerId, Command, Outcome)>,
    /// Each peer's copy of the poll, kept current only through updates.
    views: Vec<PollView>,
    now: u64,
    /// The last command id made outside the random pools.
    owner_ids: u64,
}

impl World {
    fn new(poll: Poll) -> Self {
        let views = peers().iter().map(|p| view_for(&poll, p)).collect();
        Self {
            poll,
            processed: ProcessedCommands::new(),
            answered: BTreeMap::new(),
            views,
            now: START,
            owner_ids: 10_000,
        }
    }

    fn send(
        &mut self,
        author: &PeerId,
        id: CommandId,
        command: &Command,
    ) -> Result<(), TestCaseError> {
        let before = serde_json::to_string(&self.poll).unwrap();
        let processed = self
            .processed
            .process(&self.poll, author, id, command, self.now);
        prop_assert_eq!(serde_json::to_string(&self.poll).unwrap(), before.clone());
        match processed {
            Processed::Replayed { outcome } => {
                let (first_author, _, first) = &self.answered[&id];
                prop_assert_eq!(first_author, author);
                prop_assert_eq!(&outcome, first);
            }
            Processed::Refused { outcome } => {
                let Outcome::Refused { refusal } = &outcome else {
                    return Err(TestCaseError::fail("Refused without a refusal"));
                };
                if let Some((first_author, _, _)) = self.answered.get(&id) {
                    prop_assert_ne!(first_author, author);
                    prop_assert_eq!(refusal, &Refusal::CommandIdReused);
                } else {
                    // Applying directly refuses the same way and leaves the poll byte-identical.
                    let direct = apply(&self.poll, author, command, self.now).err();
                    prop_assert_eq!(direct.as_ref(), Some(refusal));
                    self.answered
                        .insert(id, (author.clone(), command.clone(), outcome));
                }
            }
            Processed::Applied {
                poll: next,
                event,
                outcome,
            } => {
                prop_assert!(!self.answered.contains_key(&id));
                prop_assert_eq!(next.revision, self.poll.revision.next());
                prop_assert_eq!(event.revision, next.revision);
                prop_assert_eq!(
                    &outcome,
                    &Outcome::Acked {
                        revision: next.revision
                    }
                );
                check_poll(&next)?;
                self.follow(&next, &event)?;
                self.answered
                    .insert(id, (author.clone(), command.clone(), outcome));
                self.poll = *next;
            }
        }
        Ok(())
    }

    /// Every participant applies its update and must end with exactly its view of `next`.
    fn follow(
        &mut self,
        next: &Poll,
        event: &starpoll_core::poll::Event,
    ) -> Result<(), TestCaseError> {
        for (peer, view) in peers().iter().zip(&mut self.views) {
            let expected = view_for(next, peer);
            match update_for(&self.poll, next, event, peer) {
                Update::Event(sent) => {
                    if let Change::BallotCast { voter, .. } = &sent.change {
                        let sees_ballots = expected
                            .results
                            .as_ref()
                            .is_some_and(|r| r.ballots.is_some());
                        prop_assert!(voter == peer || sees_ballots, "ballot leaked to {peer}");
                    }
                    *view = view
                        .apply(&sent)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                Update::Snapshot(snapshot) => *view = *snapshot,
            }
            prop_assert_eq!(&*view, &expected);
        }
        Ok(())
    }
}

/// Invariants of a poll, checked independently of the crate's own check.
fn check_poll(poll: &Poll) -> Result<(), TestCaseError> {
    // The crate's validating deserializer accepts it and it round-trips byte for byte.
    let json = serde_json::to_string(poll).unwrap();
    let back: Poll = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    // Tallies equal the ballots, in option order.
    let counted: Vec<u32> = tally(poll).iter().map(|t| t.votes).collect();
    prop_assert_eq!(counted, expected_tally(poll));
    let order: Vec<OptionId> = tally(poll).iter().map(|t| t.option_id).collect();
    let options: Vec<OptionId> = poll.options.iter().map(|o| o.id).collect();
    prop_assert_eq!(order, options);
    // Ballots respect the kind and name existing options.
    let existing: BTreeSet<OptionId> = poll.options.iter().map(|o| o.id).collect();
    for (voter, ballot) in &poll.ballots {
        prop_assert!(!ballot.is_empty());
        prop_assert!(ballot.len() <= poll.kind.max_choices() as usize);
        prop_assert!(ballot.is_subset(&existing));
        prop_assert!(poll.members.contains_key(voter));
        // The ranking or the answers are the ballot's full form.
        match poll.kind {
            PollKind::Ranked => {
                let ranking = &poll.rankings[voter];
                prop_assert_eq!(ranking.len(), ballot.len());
                prop_assert_eq!(&ranking.iter().copied().collect::<BTreeSet<_>>(), ballot);
            }
            PollKind::Schedule => {
                let answered: BTreeSet<OptionId> = poll.answers[voter].keys().copied().collect();
                prop_assert_eq!(&answered, ballot);
            }
            _ => {}
        }
    }
    let details = poll.rankings.len() + poll.answers.len();
    let detailed = matches!(poll.kind, PollKind::Ranked | PollKind::Schedule);
    prop_assert_eq!(details, if detailed { poll.ballots.len() } else { 0 });
    // Exactly one owner.
    let owners: Vec<&PeerId> = poll
        .members
        .iter()
        .filter(|(_, m)| m.role == Role::Owner)
        .map(|(p, _)| p)
        .collect();
    prop_assert_eq!(owners, vec![owner()]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_command_sequences_keep_every_invariant(
        poll in poll(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let mut world = World::new(poll);
        // Most peers join first (with fresh ids); the last author starts as a stranger.
        for (n, author) in peers()[1..AUTHORS - 1].iter().enumerate() {
            let join = Command::Join { display_name: format!("Peer {n}") };
            world.owner_ids += 1;
            world.send(author, command_id(world.owner_ids), &join)?;
        }
        for op in ops {
            match op {
                Op::Send { author, id, command } => {
                    let author = peers()[author].clone();
                    world.send(&author, command_id(id), &command)?;
                }
                Op::Wait(ms) => world.now += ms,
                Op::CloseIfDue => {
                    if due_to_close(&world.poll, world.now) {
                        world.owner_ids += 1;
                        let id = command_id(world.owner_ids);
                        world.send(&owner().clone(), id, &Command::Close)?;
                        prop_assert!(!due_to_close(&world.poll, world.now));
                    }
                }
            }
        }

        // Replaying every answered command, in any order, changes nothing and gets the same
        // answer, even if the resent body differs.
        let revision = world.poll.revision;
        let json = serde_json::to_string(&world.poll).unwrap();
        let answered = std::mem::take(&mut world.answered);
        for (id, (author, command, outcome)) in answered.iter().rev() {
            let replay = world.processed.process(&world.poll, author, *id, command, world.now);
            prop_assert_eq!(replay, Processed::Replayed { outcome: outcome.clone() });
            let other = Command::Close;
            let replay = world.processed.process(&world.poll, author, *id, &other, world.now);
            prop_assert_eq!(replay.outcome(), outcome);
        }
        prop_assert_eq!(world.poll.revision, revision);
        prop_assert_eq!(serde_json::to_string(&world.poll).unwrap(), json);

        // The revision counts exactly the accepted commands.
        let acked = answered
            .values()
            .filter(|(_, _, o)| matches!(o, Outcome::Acked { .. }))
            .count();
        prop_assert_eq!(world.poll.revision.0, u64::try_from(acked).unwrap());
    }
}
