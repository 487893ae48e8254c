//! Unit tests of the poll domain: every refusal, every permission rule, views and dedup.

use super::*;
use crate::{Identity, PeerId, PeerToken};

const NOW: u64 = 1_700_000_000_000;

fn peer(n: u8) -> PeerId {
    Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN]))
        .peer_id()
        .clone()
}

fn owner() -> PeerId {
    peer(1)
}
fn editor() -> PeerId {
    peer(2)
}
fn voter() -> PeerId {
    peer(3)
}
fn viewer() -> PeerId {
    peer(4)
}
fn stranger() -> PeerId {
    peer(5)
}

fn draft() -> PollDraft {
    PollDraft {
        title: " Lunch? ".into(),
        description: "Where shall we go?".into(),
        options: vec!["Pizza".into(), "Sushi".into(), "Tacos".into()],
        kind: PollKind::Single,
        deadline: None,
        settings: Settings::default(),
        owner_name: "Olga".into(),
    }
}

fn poll_with(draft: PollDraft) -> Poll {
    let mut poll = Poll::new(PollId::from_random_bytes([9; 16]), owner(), draft, NOW).unwrap();
    // Everyone joins as a voter, then the owner sets roles.
    for (who, name) in [(editor(), "Ed"), (voter(), "Vi"), (viewer(), "Wes")] {
        poll = ok(
            &poll,
            &who,
            Command::Join {
                display_name: name.into(),
            },
        );
    }
    poll = ok(
        &poll,
        &owner(),
        Command::SetRole {
            member: editor(),
            role: Role::Editor,
        },
    );
    ok(
        &poll,
        &owner(),
        Command::SetRole {
            member: viewer(),
            role: Role::Viewer,
        },
    )
}

fn poll() -> Poll {
    poll_with(draft())
}

fn with_settings(settings: Settings) -> Poll {
    poll_with(PollDraft {
        settings,
        ..draft()
    })
}

#[track_caller]
fn ok(poll: &Poll, author: &PeerId, command: Command) -> Poll {
    let (next, event) = apply(poll, author, &command, NOW).unwrap();
    assert_eq!(event.revision, poll.revision.next());
    assert_eq!(next.revision, event.revision);
    next
}

#[track_caller]
fn refused(poll: &Poll, author: &PeerId, command: Command) -> Refusal {
    apply(poll, author, &command, NOW).unwrap_err()
}

fn vote(ids: &[u32]) -> Command {
    Command::CastVote {
        option_ids: ids.iter().copied().map(OptionId).collect(),
        answers: Default::default(),
    }
}

fn add(text: &str) -> Command {
    Command::AddOption { text: text.into() }
}

fn set_role(member: PeerId, role: Role) -> Command {
    Command::SetRole { member, role }
}

fn edit_deadline(deadline: Option<u64>) -> Command {
    Command::EditPoll {
        title: None,
        description: None,
        deadline: Some(deadline),
    }
}

fn votes(poll: &Poll) -> Vec<u32> {
    tally(poll).iter().map(|t| t.votes).collect()
}

// ---- creation ----

#[test]
fn new_poll_is_clean_and_at_revision_zero() {
    let poll = Poll::new(PollId::from_random_bytes([9; 16]), owner(), draft(), NOW).unwrap();
    assert_eq!(poll.title, "Lunch?");
    assert_eq!(poll.revision, Revision(0));
    assert_eq!(poll.role_of(&owner()), Some(Role::Owner));
    let ids: Vec<_> = poll.options.iter().map(|o| o.id.0).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(poll.next_option_id, OptionId(4));
    assert_eq!(poll.created_at, NOW);
}

#[test]
fn new_poll_checks_every_limit() {
    let new = |d: PollDraft| Poll::new(PollId::from_random_bytes([9; 16]), owner(), d, NOW);
    let field = |field| Refusal::EmptyText { field };
    assert_eq!(
        new(PollDraft {
            title: " ".into(),
            ..draft()
        }),
        Err(field(Field::Title))
    );
    assert_eq!(
        new(PollDraft {
            owner_name: String::new(),
            ..draft()
        }),
        Err(field(Field::DisplayName))
    );
    assert_eq!(
        new(PollDraft {
            description: "x".repeat(2001),
            ..draft()
        }),
        Err(Refusal::TextTooLong {
            field: Field::Description,
            max: 2000
        })
    );
    assert_eq!(
        new(PollDraft {
            options: vec!["a".into(), " ".into()],
            ..draft()
        }),
        Err(field(Field::OptionText))
    );
    assert_eq!(
        new(PollDraft {
            options: vec!["Pizza".into(), " pizza ".into()],
            ..draft()
        }),
        Err(Refusal::DuplicateOption)
    );
    assert_eq!(
        new(PollDraft {
            options: (0..51).map(|i| i.to_string()).collect(),
            ..draft()
        }),
        Err(Refusal::TooManyOptions { max: 50 })
    );
    for max in [0, 51] {
        assert_eq!(
            new(PollDraft {
                kind: PollKind::Multiple { max },
                ..draft()
            }),
            Err(Refusal::InvalidMaxChoices { max })
        );
    }
    assert_eq!(
        new(PollDraft {
            deadline: Some(NOW),
            ..draft()
        }),
        Err(Refusal::DeadlineInPast)
    );
    assert!(new(PollDraft {
        deadline: Some(NOW + 1),
        ..draft()
    })
    .is_ok());
}

/// A poll needs a title and two different, non-empty options; the form shows each problem next
/// to its field, and the hub refuses the same drafts.
#[test]
fn a_draft_needs_two_different_options_and_says_where_it_is_wrong() {
    let new = |d: PollDraft| Poll::new(PollId::from_random_bytes([9; 16]), owner(), d, NOW);
    let options = |texts: &[&str]| PollDraft {
        options: texts.iter().map(|t| (*t).to_owned()).collect(),
        ..draft()
    };
    for few in [&[][..], &["Pizza"], &["Pizza", "  "], &["", "Pizza", ""]] {
        assert_eq!(
            new(options(few)),
            Err(Refusal::EmptyText {
                field: Field::OptionText
            }),
            "{few:?}"
        );
    }
    // Reported on the first blank row, or on the options as a whole without one.
    let problems = options(&["Pizza", "", ""]).problems(NOW);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, DraftField::Option(1));
    assert_eq!(
        options(&["Pizza"]).problems(NOW)[0].field,
        DraftField::Options
    );
    // The same option twice is one option: the second row says so, and two are still missing.
    let problems = options(&["Pizza", " pizza "]).problems(NOW);
    assert_eq!(
        problems.iter().map(|p| p.field).collect::<Vec<_>>(),
        [DraftField::Option(1)]
    );
    assert_eq!(problems[0].refusal, Refusal::DuplicateOption);
    // Blank rows between options are skipped, and ids stay consecutive.
    let poll = new(options(&["Pizza", "", "Sushi"])).unwrap();
    assert_eq!(
        poll.options
            .iter()
            .map(|o| (o.id, o.text.as_str()))
            .collect::<Vec<_>>(),
        [(OptionId(1), "Pizza"), (OptionId(2), "Sushi")]
    );
    // Every problem at once, in the form's order.
    let all = PollDraft {
        title: " ".into(),
        options: vec!["x".repeat(201), String::new()],
        deadline: Some(NOW),
        ..draft()
    }
    .problems(NOW);
    assert_eq!(
        all.iter().map(|p| p.field).collect::<Vec<_>>(),
        [
            DraftField::Title,
            DraftField::Option(0),
            DraftField::Option(1),
            DraftField::Deadline
        ]
    );
    assert_eq!(
        all[1].refusal,
        Refusal::TextTooLong {
            field: Field::OptionText,
            max: 200
        }
    );
}

// ---- membership ----

#[test]
fn join_adds_newcomers_with_the_default_role_and_is_idempotent() {
    let poll = poll();
    let joined = ok(
        &poll,
        &stranger(),
        Command::Join {
            display_name: " Sam ".into(),
        },
    );
    let member = &joined.members[&stranger()];
    assert_eq!(
        (member.role, member.display_name.as_str()),
        (Role::Voter, "Sam")
    );
    // Joining again changes nothing but the revision.
    let again = ok(
        &joined,
        &stranger(),
        Command::Join {
            display_name: "Other".into(),
        },
    );
    assert_eq!(again.members, joined.members);

    let viewers = with_settings(Settings {
        newcomer_role: NewcomerRole::Viewer,
        ..Settings::default()
    });
    let joined = ok(
        &viewers,
        &stranger(),
        Command::Join {
            display_name: "Sam".into(),
        },
    );
    assert_eq!(joined.role_of(&stranger()), Some(Role::Viewer));
}

#[test]
fn non_members_must_join_first() {
    let poll = poll();
    for command in [
        vote(&[1]),
        add("Curry"),
        Command::UpdateProfile {
            display_name: "x".into(),
        },
        Command::Close,
    ] {
        assert_eq!(refused(&poll, &stranger(), command), Refusal::NotAMember);
    }
}

#[test]
fn join_refuses_bad_names_and_a_full_poll() {
    let poll = poll();
    assert_eq!(
        refused(
            &poll,
            &stranger(),
            Command::Join {
                display_name: "x".repeat(41)
            }
        ),
        Refusal::TextTooLong {
            field: Field::DisplayName,
            max: 40
        }
    );
    let mut data = PollData::from(poll);
    for n in 0..(limits::MAX_MEMBERS - data.members.len()) {
        let mut seed = [0xa5; 32];
        seed[..8].copy_from_slice(&u64::try_from(n).unwrap().to_le_bytes());
        let member = Identity::from_seed(seed, PeerToken::from_random([1; PeerToken::LEN]));
        data.members.insert(
            member.peer_id().clone(),
            Member {
                role: Role::Voter,
                display_name: "m".into(),
            },
        );
    }
    assert_eq!(data.members.len(), limits::MAX_MEMBERS);
    let full = Poll::try_from(data).unwrap();
    assert_eq!(
        refused(
            &full,
            &stranger(),
            Command::Join {
                display_name: "Sam".into()
            }
        ),
        Refusal::TooManyMembers { max: 256 }
    );
}

#[test]
fn members_update_their_own_profile_whatever_their_role() {
    let mut poll = poll();
    for who in [owner(), editor(), voter(), viewer()] {
        poll = ok(
            &poll,
            &who,
            Command::UpdateProfile {
                display_name: " New name ".into(),
            },
        );
        assert_eq!(poll.members[&who].display_name, "New name");
    }
    assert_eq!(
        refused(
            &poll,
            &voter(),
            Command::UpdateProfile {
                display_name: "a\u{0}b".into()
            }
        ),
        Refusal::InvalidCharacter {
            field: Field::DisplayName
        }
    );
}

// ---- voting ----

#[test]
fn owners_editors_and_voters_vote_viewers_do_not() {
    let mut poll = poll();
    for who in [owner(), editor(), voter()] {
        poll = ok(&poll, &who, vote(&[2]));
    }
    assert_eq!(votes(&poll), [0, 3, 0]);
    assert_eq!(
        refused(&poll, &viewer(), vote(&[2])),
        Refusal::NotPermitted {
            role: Role::Viewer,
            action: Action::Vote
        }
    );
}

#[test]
fn a_vote_replaces_the_ballot_and_an_empty_one_withdraws_it() {
    let poll = poll();
    let poll = ok(&poll, &voter(), vote(&[1]));
    let poll = ok(&poll, &voter(), vote(&[3]));
    assert_eq!(votes(&poll), [0, 0, 1]);
    // A repeated identical ballot is accepted and still bumps the revision.
    let again = ok(&poll, &voter(), vote(&[3]));
    assert_eq!(again.ballots, poll.ballots);
    assert_eq!(again.revision, poll.revision.next());
    let withdrawn = ok(&again, &voter(), vote(&[]));
    assert!(withdrawn.ballots.is_empty());
    assert_eq!(votes(&withdrawn), [0, 0, 0]);
}

#[test]
fn ballots_must_name_existing_distinct_options_within_the_maximum() {
    let poll = poll();
    assert_eq!(
        refused(&poll, &voter(), vote(&[4])),
        Refusal::UnknownOption {
            option: OptionId(4)
        }
    );
    assert_eq!(
        refused(&poll, &voter(), vote(&[1, 2])),
        Refusal::TooManyChoices { max: 1 }
    );
    let multi = poll_with(PollDraft {
        kind: PollKind::Multiple { max: 2 },
        ..draft()
    });
    let two = ok(&multi, &voter(), vote(&[1, 3]));
    assert_eq!(votes(&two), [1, 0, 1]);
    assert_eq!(
        refused(&multi, &voter(), vote(&[1, 2, 3])),
        Refusal::TooManyChoices { max: 2 }
    );
    assert_eq!(
        refused(&multi, &voter(), vote(&[1, 1])),
        Refusal::DuplicateChoice {
            option: OptionId(1)
        }
    );
}

#[test]
fn votes_are_refused_when_closed_or_at_the_deadline() {
    let closed = ok(&poll(), &owner(), Command::Close);
    assert_eq!(refused(&closed, &voter(), vote(&[1])), Refusal::PollClosed);
    assert_eq!(
        refused(&closed, &owner(), add("Curry")),
        Refusal::PollClosed
    );

    let timed = ok(&poll(), &owner(), edit_deadline(Some(NOW + 10)));
    assert!(apply(&timed, &voter(), &vote(&[1]), NOW + 9).is_ok());
    assert_eq!(
        apply(&timed, &voter(), &vote(&[1]), NOW + 10).unwrap_err(),
        Refusal::DeadlinePassed
    );
    assert_eq!(
        apply(&timed, &owner(), &add("Curry"), NOW + 10).unwrap_err(),
        Refusal::DeadlinePassed
    );
}

#[test]
fn the_owner_closes_a_poll_whose_deadline_has_come() {
    let timed = ok(&poll(), &owner(), edit_deadline(Some(NOW + 10)));
    assert!(!due_to_close(&timed, NOW + 9));
    assert!(due_to_close(&timed, NOW + 10));
    let (closed, _) = apply(&timed, &owner(), &Command::Close, NOW + 10).unwrap();
    assert!(!due_to_close(&closed, NOW + 11));
    // Reopening needs the deadline moved first.
    assert_eq!(
        apply(&closed, &owner(), &Command::Reopen, NOW + 11).unwrap_err(),
        Refusal::DeadlinePassed
    );
    let (moved, _) = apply(&closed, &owner(), &edit_deadline(None), NOW + 11).unwrap();
    assert!(apply(&moved, &owner(), &Command::Reopen, NOW + 11).is_ok());
}

// ---- options ----

#[test]
fn option_adders_follow_the_settings() {
    let cases = [
        (OptionAdders::Owner, [true, false, false, false]),
        (OptionAdders::Editors, [true, true, false, false]),
        (OptionAdders::Voters, [true, true, true, false]),
    ];
    for (adders, allowed) in cases {
        let poll = with_settings(Settings {
            option_adders: adders,
            ..Settings::default()
        });
        for (who, allowed) in [owner(), editor(), voter(), viewer()].iter().zip(allowed) {
            let result = apply(&poll, who, &add("Curry"), NOW);
            if allowed {
                let (next, event) = result.unwrap();
                let option = next.options.last().unwrap();
                assert_eq!(
                    (option.id, option.text.as_str(), &option.added_by),
                    (OptionId(4), "Curry", who)
                );
                assert_eq!(
                    event.change,
                    Change::OptionAdded {
                        option: option.clone()
                    }
                );
            } else {
                let role = poll.role_of(who).unwrap();
                assert_eq!(
                    result.unwrap_err(),
                    Refusal::NotPermitted {
                        role,
                        action: Action::AddOption
                    }
                );
            }
        }
    }
}

fn rename(id: u32, text: &str) -> Command {
    Command::RenameOption {
        option_id: OptionId(id),
        text: text.into(),
    }
}

fn remove(id: u32) -> Command {
    Command::RemoveOption {
        option_id: OptionId(id),
    }
}

#[test]
fn only_the_owner_renames_or_removes_options() {
    let poll = with_settings(Settings {
        option_adders: OptionAdders::Voters,
        ..Settings::default()
    });
    for who in [editor(), voter(), viewer()] {
        let role = poll.role_of(&who).unwrap();
        let not_permitted = Refusal::NotPermitted {
            role,
            action: Action::EditOptions,
        };
        assert_eq!(refused(&poll, &who, rename(0, "Ramen")), not_permitted);
        assert_eq!(refused(&poll, &who, remove(0)), not_permitted);
    }
    assert_eq!(refused(&poll, &stranger(), remove(0)), Refusal::NotAMember);
}

#[test]
fn an_option_without_votes_is_renamed_in_place() {
    let poll = poll();
    let (next, event) = apply(&poll, &owner(), &rename(2, "  Ramen "), NOW).unwrap();
    let texts: Vec<_> = next.options.iter().map(|o| o.text.as_str()).collect();
    assert_eq!(texts, ["Pizza", "Ramen", "Tacos"]);
    assert_eq!(next.options[1].id, OptionId(2));
    assert_eq!(
        event.change,
        Change::OptionRenamed {
            option_id: OptionId(2),
            text: "Ramen".into()
        }
    );
    // Renaming to its own text in another case is allowed; to another option's text is not.
    assert!(apply(&poll, &owner(), &rename(2, "SUSHI"), NOW).is_ok());
    assert_eq!(
        refused(&poll, &owner(), rename(2, "pizza")),
        Refusal::DuplicateOption
    );
    assert_eq!(
        refused(&poll, &owner(), rename(2, " ")),
        Refusal::EmptyText {
            field: Field::OptionText
        }
    );
    assert_eq!(
        refused(&poll, &owner(), rename(9, "Ramen")),
        Refusal::UnknownOption {
            option: OptionId(9)
        }
    );
}

#[test]
fn an_option_with_votes_cannot_change() {
    let poll = ok(&poll(), &voter(), vote(&[3]));
    for command in [rename(3, "Burritos"), remove(3)] {
        assert_eq!(
            refused(&poll, &owner(), command),
            Refusal::OptionHasVotes {
                option: OptionId(3)
            }
        );
    }
    // Once the vote is withdrawn the option is free again.
    let withdrawn = ok(&poll, &voter(), vote(&[]));
    assert!(apply(&withdrawn, &owner(), &remove(3), NOW).is_ok());
}

#[test]
fn removing_keeps_at_least_two_options_and_never_reuses_ids() {
    let poll = poll();
    let two = ok(&poll, &owner(), remove(1));
    let ids: Vec<_> = two.options.iter().map(|o| o.id.0).collect();
    assert_eq!(ids, [2, 3]);
    assert_eq!(
        refused(&two, &owner(), remove(2)),
        Refusal::TooFewOptions { min: 2 }
    );
    // A new option gets a fresh id, never the removed one's.
    let added = ok(&two, &owner(), add("Pizza"));
    assert_eq!(added.options.last().unwrap().id, OptionId(4));
    // A ballot naming the removed option is refused.
    assert_eq!(
        refused(&added, &voter(), vote(&[1])),
        Refusal::UnknownOption {
            option: OptionId(1)
        }
    );
}

#[test]
fn views_follow_renames_and_removals() {
    for viewer_id in [owner(), voter(), stranger()] {
        let before = poll();
        let mut view = view_for(&before, &viewer_id);
        let mut poll = before;
        for command in [rename(2, "Ramen"), remove(1), add("Curry")] {
            let (next, event) = apply(&poll, &owner(), &command, NOW).unwrap();
            view = view.apply(&event).unwrap();
            poll = next;
            assert_eq!(view, view_for(&poll, &viewer_id));
        }
    }
}

#[test]
fn option_text_is_checked_and_unique() {
    let poll = poll();
    assert_eq!(
        refused(&poll, &owner(), add("  ")),
        Refusal::EmptyText {
            field: Field::OptionText
        }
    );
    assert_eq!(
        refused(&poll, &owner(), add(&"x".repeat(201))),
        Refusal::TextTooLong {
            field: Field::OptionText,
            max: 200
        }
    );
    assert_eq!(
        refused(&poll, &owner(), add(" SUSHI ")),
        Refusal::DuplicateOption
    );
    let mut full = poll;
    for i in 4..=50 {
        full = ok(&full, &owner(), add(&format!("Option {i}")));
    }
    assert_eq!(
        refused(&full, &owner(), add("one more")),
        Refusal::TooManyOptions { max: 50 }
    );
}

#[test]
fn option_ids_are_never_reused() {
    let poll = ok(&poll(), &owner(), add("Curry"));
    let poll = ok(&poll, &owner(), add("Ramen"));
    let ids: Vec<u32> = poll.options.iter().map(|o| o.id.0).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert_eq!(poll.next_option_id, OptionId(6));
}

// ---- owner-only commands ----

#[test]
fn only_the_owner_sets_roles_closes_reopens_and_edits() {
    let poll = poll();
    let closed = ok(&poll, &owner(), Command::Close);
    let edit = Command::EditPoll {
        title: Some("New".into()),
        description: None,
        deadline: None,
    };
    for who in [editor(), voter(), viewer()] {
        let role = poll.role_of(&who).unwrap();
        let denied = |action| Refusal::NotPermitted { role, action };
        assert_eq!(
            refused(&poll, &who, set_role(voter(), Role::Editor)),
            denied(Action::SetRole)
        );
        assert_eq!(refused(&poll, &who, Command::Close), denied(Action::Close));
        assert_eq!(
            refused(&closed, &who, Command::Reopen),
            denied(Action::Reopen)
        );
        assert_eq!(refused(&poll, &who, edit.clone()), denied(Action::EditPoll));
    }
}

#[test]
fn role_changes_keep_one_owner_and_name_members() {
    let poll = poll();
    assert_eq!(
        refused(&poll, &owner(), set_role(owner(), Role::Viewer)),
        Refusal::CannotChangeOwnerRole
    );
    assert_eq!(
        refused(&poll, &owner(), set_role(voter(), Role::Owner)),
        Refusal::CannotMakeOwner
    );
    assert_eq!(
        refused(&poll, &owner(), set_role(stranger(), Role::Editor)),
        Refusal::UnknownMember { member: stranger() }
    );
    let promoted = ok(&poll, &owner(), set_role(viewer(), Role::Voter));
    assert!(apply(&promoted, &viewer(), &vote(&[1]), NOW).is_ok());
}

#[test]
fn a_demoted_members_ballot_stays_counted() {
    let poll = ok(&poll(), &voter(), vote(&[1]));
    let demoted = ok(&poll, &owner(), set_role(voter(), Role::Viewer));
    assert_eq!(votes(&demoted), [1, 0, 0]);
    assert_eq!(
        refused(&demoted, &voter(), vote(&[])),
        Refusal::NotPermitted {
            role: Role::Viewer,
            action: Action::Vote
        }
    );
}

#[test]
fn close_and_reopen_toggle_once() {
    let poll = poll();
    assert_eq!(
        refused(&poll, &owner(), Command::Reopen),
        Refusal::AlreadyOpen
    );
    let closed = ok(&poll, &owner(), Command::Close);
    assert_eq!(closed.status, PollStatus::Closed);
    assert_eq!(
        refused(&closed, &owner(), Command::Close),
        Refusal::AlreadyClosed
    );
    let reopened = ok(&closed, &owner(), Command::Reopen);
    assert_eq!(reopened.status, PollStatus::Open);
}

#[test]
fn edits_change_only_the_given_fields() {
    let poll = poll();
    let edited = ok(
        &poll,
        &owner(),
        Command::EditPoll {
            title: Some(" Dinner? ".into()),
            description: None,
            deadline: Some(Some(NOW + 1)),
        },
    );
    assert_eq!(edited.title, "Dinner?");
    assert_eq!(edited.description, poll.description);
    assert_eq!(edited.deadline, Some(NOW + 1));
    let (cleared, event) = apply(&edited, &owner(), &edit_deadline(None), NOW).unwrap();
    assert_eq!(cleared.deadline, None);
    assert_eq!(
        event.change,
        Change::Edited {
            title: "Dinner?".into(),
            description: poll.description.clone(),
            deadline: None
        }
    );
    assert_eq!(
        refused(
            &poll,
            &owner(),
            Command::EditPoll {
                title: Some(String::new()),
                description: None,
                deadline: None
            }
        ),
        Refusal::EmptyText {
            field: Field::Title
        }
    );
    assert_eq!(
        refused(&poll, &owner(), edit_deadline(Some(NOW))),
        Refusal::DeadlineInPast
    );
}

// ---- views ----

#[test]
fn results_follow_the_visibility_setting() {
    for (results, before_vote, after_vote, after_close) in [
        (ResultsVisibility::Always, true, true, true),
        (ResultsVisibility::AfterVoting, false, true, true),
        (ResultsVisibility::AfterClose, false, false, true),
    ] {
        let poll = with_settings(Settings {
            results,
            ..Settings::default()
        });
        assert!(view_for(&poll, &owner()).results.is_some(), "owner always");
        assert_eq!(view_for(&poll, &voter()).results.is_some(), before_vote);
        let voted = ok(&poll, &voter(), vote(&[2]));
        let view = view_for(&voted, &voter());
        assert_eq!(view.results.is_some(), after_vote);
        assert_eq!(view.my_ballot, [OptionId(2)].into());
        let closed = ok(&voted, &owner(), Command::Close);
        assert_eq!(view_for(&closed, &viewer()).results.is_some(), after_close);
    }
}

#[test]
fn anonymous_polls_show_tallies_but_not_ballots() {
    let poll = with_settings(Settings {
        anonymous: true,
        ..Settings::default()
    });
    let voted = ok(&poll, &voter(), vote(&[2]));
    for who in [owner(), voter(), viewer(), stranger()] {
        let view = view_for(&voted, &who);
        let results = view.results.unwrap();
        assert_eq!(results.ballots, None);
        assert_eq!(results.tally[1].votes, 1);
    }
    assert_eq!(view_for(&voted, &voter()).my_ballot, [OptionId(2)].into());
    assert!(view_for(&voted, &editor()).my_ballot.is_empty());
}

#[test]
fn updates_hide_ballots_a_participant_may_not_see() {
    let poll = with_settings(Settings {
        results: ResultsVisibility::AfterClose,
        ..Settings::default()
    });
    let (after, event) = apply(&poll, &voter(), &vote(&[1]), NOW).unwrap();
    assert_eq!(
        update_for(&poll, &after, &event, &editor()),
        Update::Event(Event {
            revision: event.revision,
            change: Change::BallotHidden
        })
    );
    // The voter gets their own ballot back.
    assert_eq!(
        update_for(&poll, &after, &event, &voter()),
        Update::Event(event.clone())
    );
    // Closing reveals results: that needs a snapshot.
    let (closed, close) = apply(&after, &owner(), &Command::Close, NOW).unwrap();
    assert_eq!(
        update_for(&after, &closed, &close, &editor()),
        Update::Snapshot(Box::new(view_for(&closed, &editor())))
    );

    let anonymous = with_settings(Settings {
        anonymous: true,
        ..Settings::default()
    });
    let (after, event) = apply(&anonymous, &voter(), &vote(&[1]), NOW).unwrap();
    assert_eq!(
        update_for(&anonymous, &after, &event, &editor()),
        Update::Event(Event {
            revision: event.revision,
            change: Change::TallyChanged {
                tally: tally(&after)
            }
        })
    );
}

#[test]
fn views_refuse_events_out_of_order() {
    let poll = poll();
    let view = view_for(&poll, &voter());
    let (_, event) = apply(&poll, &voter(), &vote(&[1]), NOW).unwrap();
    let late = Event {
        revision: event.revision.next(),
        ..event.clone()
    };
    assert_eq!(
        view.apply(&late),
        Err(ViewError::Gap {
            expected: event.revision,
            got: late.revision
        })
    );
    assert!(view.apply(&event).is_ok());
}

// ---- dedup ----

#[test]
fn a_resent_command_gets_the_same_answer_and_is_not_applied_again() {
    let poll = poll();
    let mut processed = ProcessedCommands::new();
    let id = CommandId::from_random_bytes([1; 16]);
    let first = processed.process(&poll, &voter(), id, &vote(&[1]), NOW);
    let Processed::Applied {
        poll: after,
        outcome,
        ..
    } = first
    else {
        panic!("expected Applied, got {first:?}");
    };
    assert_eq!(
        outcome,
        Outcome::Acked {
            revision: after.revision
        }
    );
    // Replayed against the newer poll: same outcome, nothing applied.
    assert_eq!(
        processed.process(&after, &voter(), id, &vote(&[1]), NOW),
        Processed::Replayed {
            outcome: outcome.clone()
        }
    );
    // Another author reusing the id is refused, and the record is unchanged.
    assert_eq!(
        processed
            .process(&after, &editor(), id, &vote(&[2]), NOW)
            .outcome(),
        &Outcome::Refused {
            refusal: Refusal::CommandIdReused
        }
    );
    assert_eq!(processed.outcome(&id), Some(&outcome));

    // Refusals are remembered too.
    let bad = CommandId::from_random_bytes([2; 16]);
    let refusal = processed.process(&after, &viewer(), bad, &vote(&[1]), NOW);
    let promoted = ok(&after, &owner(), set_role(viewer(), Role::Voter));
    assert_eq!(
        processed.process(&promoted, &viewer(), bad, &vote(&[1]), NOW),
        Processed::Replayed {
            outcome: refusal.outcome().clone()
        }
    );
    assert_eq!(processed.len(), 2);

    // The record survives storage.
    let json = serde_json::to_string(&processed).unwrap();
    assert_eq!(
        serde_json::from_str::<ProcessedCommands>(&json).unwrap(),
        processed
    );
}

// ---- serialization ----

#[test]
fn polls_round_trip_and_corrupt_polls_are_refused() {
    let poll = ok(&poll(), &voter(), vote(&[2]));
    let json = serde_json::to_string(&poll).unwrap();
    assert_eq!(serde_json::from_str::<Poll>(&json).unwrap(), poll);
    assert!(json.contains("\"nextOptionId\":4"));

    let mut data = PollData::from(poll.clone());
    data.ballots
        .insert(stranger(), [OptionId(1)].into_iter().collect());
    assert!(Poll::try_from(data).is_err(), "ballot from a non-member");
    let mut data = PollData::from(poll.clone());
    data.members.get_mut(&voter()).unwrap().role = Role::Owner;
    assert!(Poll::try_from(data).is_err(), "second owner");
    let mut data = PollData::from(poll);
    data.title = " padded ".into();
    let json = serde_json::to_string(&data).unwrap();
    assert!(
        serde_json::from_str::<Poll>(&json).is_err(),
        "unclean title"
    );
}

#[test]
fn new_polls_are_unlisted_and_polls_stored_before_the_setting_read_as_listed() {
    assert!(!Settings::default().listed, "a new poll is unlisted");
    let poll = poll();
    assert!(!poll.settings.listed);
    // The setting is always written.
    let json = serde_json::to_string(&poll).unwrap();
    assert!(
        json.contains("\"anonymous\":false,\"listed\":false}"),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Poll>(&json).unwrap(), poll);
    // A poll written before the setting existed (no `listed`) stays in the owner's list.
    let old = json.replace(",\"listed\":false", "");
    assert!(!old.contains("listed"));
    let read = serde_json::from_str::<Poll>(&old).unwrap();
    assert!(read.settings.listed);
    assert_eq!(Settings::LISTED_WHEN_ABSENT, read.settings.listed);
    // The same holds for the settings alone, as in a `poll:state` view.
    let settings: Settings = serde_json::from_str(
        r#"{"optionAdders":"owner","results":"always","newcomerRole":"voter","anonymous":false}"#,
    )
    .unwrap();
    assert!(settings.listed);
}

#[test]
fn commands_use_the_spec_names_and_camel_case() {
    let json = |c: &Command| serde_json::to_string(c).unwrap();
    assert_eq!(
        json(&vote(&[1, 2])),
        r#"{"type":"poll:vote","optionIds":[1,2]}"#
    );
    assert_eq!(
        json(&Command::UpdateProfile {
            display_name: "A".into()
        }),
        r#"{"type":"user:profile","displayName":"A"}"#
    );
    assert_eq!(json(&Command::Close), r#"{"type":"poll:close"}"#);
    // Edit: absent = unchanged, null = cleared.
    let parse = |s: &str| serde_json::from_str::<Command>(s).unwrap();
    assert_eq!(
        parse(r#"{"type":"poll:edit","deadline":null}"#),
        edit_deadline(None)
    );
    assert_eq!(
        parse(r#"{"type":"poll:edit"}"#),
        Command::EditPoll {
            title: None,
            description: None,
            deadline: None
        }
    );
    assert_eq!(
        json(&edit_deadline(None)),
        r#"{"type":"poll:edit","deadline":null}"#
    );
}

#[test]
fn refusal_messages_are_human() {
    assert_eq!(
        Refusal::NotPermitted {
            role: Role::Viewer,
            action: Action::Vote
        }
        .to_string(),
        "a viewer may not vote"
    );
    assert!(Refusal::NotPermitted {
        role: Role::Editor,
        action: Action::Close
    }
    .to_string()
    .starts_with("an editor may not "));
    assert_eq!(
        Refusal::TooManyChoices { max: 2 }.to_string(),
        "choose at most 2 option(s)"
    );
    assert_eq!(
        Refusal::InvalidMaxChoices { max: 0 }.to_string(),
        "the number of choices allowed must be from 1 to 50, not 0"
    );
}

/// `value` survives JSON and its JSON names `tag` = `name`.
fn round_trips<T>(value: &T, tag: &str, name: &str)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_value(value).unwrap();
    assert_eq!(json[tag], name, "{json}");
    let back: T = serde_json::from_value(json).unwrap();
    assert_eq!(&back, value);
}

#[test]
fn every_tagged_variant_round_trips_through_json() {
    // The enums read through flat `…Fields` structs (crate::wire): each variant's name and
    // fields must come back as the derived serialization wrote them.
    use Refusal::*;
    let refusals = [
        (NotAMember, "notAMember"),
        (
            NotPermitted {
                role: Role::Viewer,
                action: Action::EditPoll,
            },
            "notPermitted",
        ),
        (PollClosed, "pollClosed"),
        (DeadlinePassed, "deadlinePassed"),
        (DeadlineInPast, "deadlineInPast"),
        (
            UnknownOption {
                option: OptionId(7),
            },
            "unknownOption",
        ),
        (
            DuplicateChoice {
                option: OptionId(1),
            },
            "duplicateChoice",
        ),
        (TooManyChoices { max: 2 }, "tooManyChoices"),
        (
            EmptyText {
                field: Field::Title,
            },
            "emptyText",
        ),
        (
            TextTooLong {
                field: Field::OptionText,
                max: 200,
            },
            "textTooLong",
        ),
        (
            InvalidCharacter {
                field: Field::DisplayName,
            },
            "invalidCharacter",
        ),
        (DuplicateOption, "duplicateOption"),
        (TooManyOptions { max: 50 }, "tooManyOptions"),
        (TooManyMembers { max: 256 }, "tooManyMembers"),
        (InvalidMaxChoices { max: 0 }, "invalidMaxChoices"),
        (UnknownMember { member: stranger() }, "unknownMember"),
        (CannotChangeOwnerRole, "cannotChangeOwnerRole"),
        (CannotMakeOwner, "cannotMakeOwner"),
        (AlreadyClosed, "alreadyClosed"),
        (AlreadyOpen, "alreadyOpen"),
        (CommandIdReused, "commandIdReused"),
    ];
    for (refusal, name) in &refusals {
        round_trips(refusal, "reason", name);
        round_trips(
            &Outcome::Refused {
                refusal: refusal.clone(),
            },
            "outcome",
            "refused",
        );
    }
    round_trips(
        &Outcome::Acked {
            revision: Revision(3),
        },
        "outcome",
        "acked",
    );
    round_trips(&PollKind::Single, "type", "single");
    round_trips(&PollKind::Multiple { max: 3 }, "type", "multiple");

    let changes = [
        (
            Change::Joined {
                member: voter(),
                role: Role::Voter,
                display_name: "Vic".into(),
            },
            "joined",
        ),
        (
            Change::BallotCast {
                voter: voter(),
                option_ids: [OptionId(0), OptionId(2)].into(),
                ranking: vec![],
                answers: Answers::new(),
            },
            "ballotCast",
        ),
        (
            Change::OptionAdded {
                option: PollOption {
                    id: OptionId(3),
                    text: "Curry".into(),
                    added_by: editor(),
                },
            },
            "optionAdded",
        ),
        (
            Change::OptionRenamed {
                option_id: OptionId(1),
                text: "Ramen".into(),
            },
            "optionRenamed",
        ),
        (
            Change::OptionRemoved {
                option_id: OptionId(2),
            },
            "optionRemoved",
        ),
        (
            Change::RoleSet {
                member: viewer(),
                role: Role::Editor,
            },
            "roleSet",
        ),
        (
            Change::ProfileUpdated {
                member: voter(),
                display_name: "V".into(),
            },
            "profileUpdated",
        ),
        (Change::Closed, "closed"),
        (Change::Reopened, "reopened"),
        (
            Change::Edited {
                title: "T".into(),
                description: String::new(),
                deadline: Some(NOW),
            },
            "edited",
        ),
        (
            Change::Edited {
                title: "T".into(),
                description: "D".into(),
                deadline: None,
            },
            "edited",
        ),
        (
            Change::TallyChanged {
                tally: vec![TallyEntry {
                    option_id: OptionId(0),
                    votes: 2,
                }],
            },
            "tallyChanged",
        ),
        (Change::BallotHidden, "ballotHidden"),
    ];
    for (change, name) in &changes {
        round_trips(change, "kind", name);
    }

    let commands = [
        (
            Command::Join {
                display_name: "Vic".into(),
            },
            "poll:join",
        ),
        (
            Command::CastVote {
                option_ids: vec![OptionId(1)],
                answers: Default::default(),
            },
            "poll:vote",
        ),
        (
            Command::AddOption {
                text: "Curry".into(),
            },
            "poll:option:add",
        ),
        (
            Command::RenameOption {
                option_id: OptionId(1),
                text: "Ramen".into(),
            },
            "poll:option:rename",
        ),
        (
            Command::RemoveOption {
                option_id: OptionId(2),
            },
            "poll:option:remove",
        ),
        (
            Command::SetRole {
                member: voter(),
                role: Role::Viewer,
            },
            "poll:role:update",
        ),
        (
            Command::UpdateProfile {
                display_name: "V".into(),
            },
            "user:profile",
        ),
        (Command::Close, "poll:close"),
        (Command::Reopen, "poll:reopen"),
        (
            Command::EditPoll {
                title: Some("T".into()),
                description: None,
                deadline: Some(None),
            },
            "poll:edit",
        ),
        (
            Command::EditPoll {
                title: None,
                description: Some("D".into()),
                deadline: Some(Some(NOW)),
            },
            "poll:edit",
        ),
        (
            Command::EditPoll {
                title: None,
                description: None,
                deadline: None,
            },
            "poll:edit",
        ),
    ];
    for (command, name) in &commands {
        round_trips(command, "type", name);
    }
}

#[test]
fn tagged_enums_refuse_unknown_tags_and_missing_fields() {
    for bad in [
        r#"{"reason":"noSuchReason"}"#,
        r#"{"reason":"tooManyChoices"}"#,
        r#"{"reason":"tooManyChoices","max":4294967296}"#,
        r#"{"max":2}"#,
    ] {
        assert!(serde_json::from_str::<Refusal>(bad).is_err(), "{bad}");
    }
    for bad in [r#"{"kind":"joined","role":"voter"}"#, r#"{"kind":"x"}"#] {
        assert!(serde_json::from_str::<Change>(bad).is_err(), "{bad}");
    }
    for bad in [r#"{"type":"poll:vote"}"#, r#"{"type":"poll:nope"}"#] {
        assert!(serde_json::from_str::<Command>(bad).is_err(), "{bad}");
    }
    // Unknown fields are ignored, as with the derived form.
    assert_eq!(
        serde_json::from_str::<Refusal>(r#"{"reason":"pollClosed","extra":[1]}"#).unwrap(),
        Refusal::PollClosed
    );
}

#[test]
fn tenths_round_half_up_and_print_one_decimal() {
    assert_eq!(tenths(2, 3), 667);
    assert_eq!(tenths(1, 16), 63); // 6.25 % rounds up
    assert_eq!(tenths(3, 3), 1_000);
    assert_eq!(tenths(5, 0), 0);
    assert_eq!(tenths_text(667), "66.7");
    assert_eq!(tenths_text(5), "0.5");
    assert_eq!(tenths_text(0), "0.0");
    assert_eq!(tenths_text(1_000), "100.0");
}
