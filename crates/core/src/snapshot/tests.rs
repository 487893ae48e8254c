//! Tests of signed snapshots: a round trip through a real hub, and every kind of tampering
//! refused with the check that catches it.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::hub::{ConnId, Hub, Incoming, Limits};
use crate::poll::{CommandId, OptionId, PollDraft, PollKind, Settings};
use crate::protocol::{seal, Control, ErrorCode};
use crate::testing::{cid, identity, poll_id, NOW};

fn olga() -> Identity {
    identity(1)
}

fn draft(anonymous: bool) -> PollDraft {
    PollDraft {
        title: "Lunch?".into(),
        description: String::new(),
        options: vec!["Pizza".into(), "Sushi".into(), "Tacos".into()],
        kind: PollKind::Multiple { max: 2 },
        deadline: None,
        settings: Settings {
            anonymous,
            ..Settings::default()
        },
        owner_name: "Olga".into(),
    }
}

fn other_poll() -> PollId {
    PollId::from_random_bytes([0x12; 16])
}

fn vote(ids: &[u32]) -> Command {
    Command::CastVote {
        option_ids: ids.iter().copied().map(OptionId).collect(),
        answers: Default::default(),
    }
}

/// Participant `n` sends `command` for `poll` on its own connection (opened on first use).
fn send(hub: &mut Hub, n: u8, poll: PollId, id: CommandId, command: Command) -> String {
    let me = identity(n);
    let conn = ConnId(u64::from(n));
    hub.opened(conn, me.peer_id().as_str(), NOW);
    let frame = seal(
        &me,
        &Message::Command(CommandFrame {
            command,
            poll_id: poll,
            command_id: id,
        }),
    )
    .unwrap();
    let step = hub.receive(conn, Incoming::Text(&frame), NOW);
    let answers: Vec<_> = step
        .sends
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, f)| protocol::open(f, Some(olga().peer_id())).unwrap().1)
        .collect();
    assert!(
        answers
            .iter()
            .any(|m| matches!(m, Message::Control(Control::Ack { .. }))),
        "{answers:?}"
    );
    frame
}

fn join(hub: &mut Hub, n: u8, poll: PollId) {
    let id = CommandId::from_random_bytes([n.wrapping_add(0x80); 16]);
    let name = format!("guest {n}");
    send(hub, n, poll, id, Command::Join { display_name: name });
}

/// Olga's hub with two polls: in the first, Ann (2) and Bob (3) voted (Ann changed her mind) and
/// Olga voted herself; in the second, Ann voted for the same options as in the first.
fn hub() -> Hub {
    let mut hub = Hub::new(olga(), Limits::default());
    hub.create(poll_id(), draft(false), NOW).unwrap();
    hub.create(other_poll(), draft(false), NOW).unwrap();
    for n in [2, 3] {
        join(&mut hub, n, poll_id());
    }
    join(&mut hub, 2, other_poll());
    send(&mut hub, 2, poll_id(), cid(1), vote(&[1]));
    send(&mut hub, 3, poll_id(), cid(2), vote(&[1, 3]));
    send(&mut hub, 2, poll_id(), cid(3), vote(&[2, 3]));
    send(&mut hub, 2, other_poll(), cid(4), vote(&[2, 3]));
    hub.local(poll_id(), cid(5), &vote(&[3]), NOW);
    hub
}

/// The snapshot of the first poll of [`hub`] (made once).
fn file() -> &'static str {
    static FILE: OnceLock<String> = OnceLock::new();
    FILE.get_or_init(|| hub().snapshot(&poll_id(), NOW + 7).unwrap())
}

/// The file's outer object and its parsed body.
fn parts(file: &str) -> (Value, Value) {
    let outer: Value = serde_json::from_str(file).unwrap();
    let body = serde_json::from_str(outer["body"].as_str().unwrap()).unwrap();
    (outer, body)
}

/// `body` signed by `signer`, in a well-formed file.
fn signed_by(signer: &Identity, body: &Value) -> String {
    let body = serde_json::to_string(body).unwrap();
    json!({
        "format": FORMAT,
        "v": VERSION,
        "signer": signer.peer_id(),
        "sig": signer.sign(body.as_bytes()),
        "body": body,
    })
    .to_string()
}

fn ann() -> String {
    identity(2).peer_id().to_string()
}

/// The index of `voter`'s entry in the body's `ballots`.
fn entry_of(body: &Value, voter: &str) -> usize {
    body["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .position(|b| b["voter"] == voter)
        .unwrap()
}

#[track_caller]
fn refused(text: &str) -> SnapshotError {
    verify(text).unwrap_err()
}

#[test]
fn a_snapshot_round_trips_with_every_ballot_signed_the_owners_included() {
    let hub = hub();
    let file = file();
    assert!(file.starts_with(&format!(
        "{{\"format\":\"starpoll-snapshot\",\"v\":1,\"signer\":\"{}\",\"sig\":\"",
        olga().peer_id()
    )));
    let verified = verify(file).unwrap();
    let poll = hub.poll(&poll_id()).unwrap();
    assert_eq!(&verified.poll, poll);
    assert_eq!(verified.exported_at, NOW + 7);
    assert_eq!(verified.signatures, 3);
    assert_eq!(verified.tally, tally(poll));
    let votes: Vec<u32> = verified.tally.iter().map(|t| t.votes).collect();
    assert_eq!(votes, [1, 1, 3]);
    // The body holds the whole poll and one frame per ballot: Ann's latest vote, not her first.
    let (_, body) = parts(file);
    assert_eq!(body["exportedAt"], NOW + 7);
    assert_eq!(body["poll"], serde_json::to_value(poll).unwrap());
    assert_eq!(body["ballots"].as_array().unwrap().len(), 3);
    let ann_frame = body["ballots"][entry_of(&body, &ann())]["frame"]
        .as_str()
        .unwrap();
    let (_, message) = protocol::open(ann_frame, None).unwrap();
    assert!(
        matches!(message, Message::Command(CommandFrame { command_id, .. }) if command_id == cid(3))
    );
}

#[test]
fn an_older_vote_matching_the_ballot_is_used_when_it_is_the_latest_match() {
    // Ann votes 1, then 2, then 1 again: the frame is the third vote (same options as the first).
    let mut hub = Hub::new(olga(), Limits::default());
    hub.create(poll_id(), draft(false), NOW).unwrap();
    join(&mut hub, 2, poll_id());
    send(&mut hub, 2, poll_id(), cid(1), vote(&[1]));
    send(&mut hub, 2, poll_id(), cid(2), vote(&[2]));
    let latest = send(&mut hub, 2, poll_id(), cid(3), vote(&[1]));
    let (_, body) = parts(&hub.snapshot(&poll_id(), NOW).unwrap());
    assert_eq!(body["ballots"][0]["frame"], latest);
}

#[test]
fn a_poll_without_ballots_verifies_with_no_signatures() {
    let mut hub = Hub::new(olga(), Limits::default());
    hub.create(poll_id(), draft(false), NOW).unwrap();
    let verified = verify(&hub.snapshot(&poll_id(), NOW).unwrap()).unwrap();
    assert_eq!(verified.signatures, 0);
    assert!(verified.tally.iter().all(|t| t.votes == 0));
}

#[test]
fn an_anonymous_poll_exports_and_names_its_voters() {
    let mut hub = Hub::new(olga(), Limits::default());
    hub.create(poll_id(), draft(true), NOW).unwrap();
    join(&mut hub, 2, poll_id());
    send(&mut hub, 2, poll_id(), cid(1), vote(&[1]));
    let file = hub.snapshot(&poll_id(), NOW).unwrap();
    assert_eq!(verify(&file).unwrap().signatures, 1);
    let (_, body) = parts(&file);
    assert_eq!(body["ballots"][0]["voter"], ann());
}

#[test]
fn a_ballot_without_a_kept_frame_cannot_be_exported() {
    // Records stored by an older build carry no frames.
    let hub = hub();
    let poll = hub.poll(&poll_id()).unwrap();
    let mut reloaded = Hub::new(olga(), Limits::default());
    reloaded.restore(poll.clone(), []).unwrap();
    assert!(matches!(
        reloaded.snapshot(&poll_id(), NOW),
        Err(ExportError::UnsignedBallot { .. })
    ));
    // And only the owner can sign.
    assert!(matches!(
        export(&identity(2), poll, &[], NOW),
        Err(ExportError::NotOwner)
    ));
}

#[test]
fn changing_the_body_breaks_the_owners_signature() {
    let (mut outer, mut body) = parts(file());
    // Give Bob's ballot another option, without re-signing.
    let bob = identity(3).peer_id().to_string();
    body["poll"]["ballots"][&bob] = json!([2]);
    outer["body"] = Value::String(serde_json::to_string(&body).unwrap());
    assert!(matches!(
        refused(&outer.to_string()),
        SnapshotError::OwnerSignature(IdentityError::BadSignature)
    ));
    // Even one character of the exported time.
    let tampered = file().replace(
        &format!("\\\"exportedAt\\\":{}", NOW + 7),
        &format!("\\\"exportedAt\\\":{}", NOW + 8),
    );
    assert_ne!(tampered, file());
    assert!(matches!(
        refused(&tampered),
        SnapshotError::OwnerSignature(_)
    ));
}

#[test]
fn a_body_re_signed_by_someone_else_is_not_the_owners() {
    let (_, body) = parts(file());
    let mallory = identity(9);
    assert!(matches!(
        refused(&signed_by(&mallory, &body)),
        SnapshotError::OwnerMismatch { signer, owner }
            if signer == *mallory.peer_id() && owner == *olga().peer_id()
    ));
}

#[test]
fn a_ballot_the_voter_did_not_sign_is_refused_even_when_the_owner_signs_it() {
    let (_, mut body) = parts(file());
    // Ann signed [2, 3]; the owner claims [1, 3].
    body["poll"]["ballots"][ann()] = json!([1, 3]);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::BallotMismatch { voter } if voter.to_string() == ann()
    ));
}

#[test]
fn a_ballot_without_its_frame_is_refused() {
    let (_, mut body) = parts(file());
    let at = entry_of(&body, &ann());
    body["ballots"].as_array_mut().unwrap().remove(at);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::MissingBallotFrame { voter } if voter.to_string() == ann()
    ));
}

#[test]
fn a_ballot_with_two_frames_is_refused() {
    let (_, mut body) = parts(file());
    let entry = body["ballots"][entry_of(&body, &ann())].clone();
    body["ballots"].as_array_mut().unwrap().push(entry);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::DuplicateBallotFrame { .. }
    ));
}

#[test]
fn a_frame_from_another_poll_is_refused() {
    let hub = hub();
    let (_, other) = parts(&hub.snapshot(&other_poll(), NOW).unwrap());
    let (_, mut body) = parts(file());
    // Ann's vote in the other poll has the same options as her ballot here.
    let at = entry_of(&body, &ann());
    body["ballots"][at] = other["ballots"][entry_of(&other, &ann())].clone();
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::OtherPoll { got, .. } if got == other_poll()
    ));
}

#[test]
fn a_frame_signed_by_someone_else_is_refused() {
    let (_, mut body) = parts(file());
    // Mallory signs a vote for Ann's options in this poll; the owner files it as Ann's.
    let forged = seal(
        &identity(9),
        &Message::Command(CommandFrame {
            command: vote(&[2, 3]),
            poll_id: poll_id(),
            command_id: cid(3),
        }),
    )
    .unwrap();
    let at = entry_of(&body, &ann());
    body["ballots"][at]["frame"] = Value::String(forged);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::BallotFrame { source, .. }
            if matches!(*source, ProtocolError::SignerMismatch { .. })
    ));
    // A frame with its signature broken.
    let (_, mut body) = parts(file());
    let frame = body["ballots"][at]["frame"].as_str().unwrap().to_owned();
    let broken = frame.replace("[2,3]", "[3,2]");
    assert_ne!(broken, frame);
    body["ballots"][at]["frame"] = Value::String(broken);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::BallotFrame { source, .. }
            if matches!(*source, ProtocolError::BadSignature(_))
    ));
}

#[test]
fn a_signed_frame_that_is_not_a_vote_is_refused() {
    let (_, mut body) = parts(file());
    let join = seal(
        &identity(2),
        &Message::Command(CommandFrame {
            command: Command::Join {
                display_name: "Ann".into(),
            },
            poll_id: poll_id(),
            command_id: cid(9),
        }),
    )
    .unwrap();
    let at = entry_of(&body, &ann());
    body["ballots"][at]["frame"] = Value::String(join);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::NotAVote { .. }
    ));
    let heartbeat = seal(&identity(2), &Message::Control(Control::Heartbeat)).unwrap();
    body["ballots"][at]["frame"] = Value::String(heartbeat);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::NotAVote { .. }
    ));
}

#[test]
fn a_frame_for_someone_without_a_ballot_is_refused() {
    let (_, mut body) = parts(file());
    body["poll"]["ballots"]
        .as_object_mut()
        .unwrap()
        .remove(&ann());
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::UnexpectedFrame { voter } if voter.to_string() == ann()
    ));
}

#[test]
fn an_invalid_poll_is_refused() {
    let (_, mut body) = parts(file());
    // A ballot from someone who is not a member.
    body["poll"]["ballots"][identity(9).peer_id().to_string()] = json!([1]);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::InvalidPoll(_)
    ));
}

#[test]
fn a_body_of_another_format_or_version_is_refused() {
    let (_, mut body) = parts(file());
    body["v"] = json!(2);
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::HeaderMismatch { v: 2, .. }
    ));
    let (_, mut body) = parts(file());
    body.as_object_mut().unwrap().remove("poll");
    assert!(matches!(
        refused(&signed_by(&olga(), &body)),
        SnapshotError::BadBody(_)
    ));
}

#[test]
fn garbage_and_foreign_files_are_refused_by_shape() {
    for text in ["", "garbage", "[]", "{}", "{\"v\":1}", "null"] {
        assert!(matches!(refused(text), SnapshotError::BadJson(_)), "{text}");
    }
    let (mut outer, _) = parts(file());
    outer["format"] = json!("something-else");
    assert!(matches!(
        refused(&outer.to_string()),
        SnapshotError::UnknownFormat { got } if got == "something-else"
    ));
    let (mut outer, _) = parts(file());
    outer["v"] = json!(2);
    assert!(matches!(
        refused(&outer.to_string()),
        SnapshotError::UnsupportedVersion { got: 2 }
    ));
    for field in ["signer", "sig", "body"] {
        let (mut outer, _) = parts(file());
        outer.as_object_mut().unwrap().remove(field);
        assert!(
            matches!(refused(&outer.to_string()), SnapshotError::MissingField(f) if f == field)
        );
    }
    let (mut outer, _) = parts(file());
    outer["signer"] = json!("not-a-peer");
    assert!(matches!(
        refused(&outer.to_string()),
        SnapshotError::BadSigner(_)
    ));
    let (mut outer, _) = parts(file());
    outer["sig"] = json!("ABCD");
    assert!(matches!(
        refused(&outer.to_string()),
        SnapshotError::OwnerSignature(IdentityError::MalformedSignature)
    ));
    // A protocol frame is not a snapshot.
    let frame = seal(&olga(), &Message::Control(Control::Heartbeat)).unwrap();
    assert!(matches!(refused(&frame), SnapshotError::BadJson(_)));
    let error = Control::Error {
        command_id: None,
        poll_id: None,
        code: ErrorCode::Internal,
        message: String::new(),
    };
    let frame = seal(&olga(), &error.into()).unwrap();
    assert!(matches!(refused(&frame), SnapshotError::BadJson(_)));
}

#[test]
fn a_huge_input_is_refused_before_it_is_parsed() {
    let huge = format!("{} {}", file(), " ".repeat(MAX_SNAPSHOT_BYTES));
    assert!(matches!(
        refused(&huge),
        SnapshotError::TooLarge { limit: MAX_SNAPSHOT_BYTES, got } if got == huge.len()
    ));
}

/// A poll at every limit (longest texts, 256 members, every member choosing all 50 options)
/// exports under the size limit and verifies.
#[test]
fn a_poll_at_every_limit_fits_in_a_snapshot() {
    use crate::poll::limits::{MAX_DESCRIPTION_CHARS, MAX_MEMBERS, MAX_TITLE_CHARS};
    use crate::poll::{Member, PollOption, Revision, Role};
    use crate::PeerToken;

    let long = |n: usize, c: char| std::iter::repeat_n(c, n).collect::<String>();
    let owner = olga();
    let mut data =
        PollData::from(Poll::new(poll_id(), owner.peer_id().clone(), draft(false), NOW).unwrap());
    data.title = long(MAX_TITLE_CHARS, '😀');
    data.description = long(MAX_DESCRIPTION_CHARS, '"');
    data.kind = PollKind::Multiple { max: 50 };
    data.options = (1..=50u32)
        .map(|i| PollOption {
            id: OptionId(i),
            text: format!("{i}{}", long(198, '😀')),
            added_by: owner.peer_id().clone(),
        })
        .collect();
    data.next_option_id = OptionId(51);
    let all: Vec<OptionId> = (1..=50).map(OptionId).collect();
    let mut voters = vec![owner.clone()];
    for n in 0..MAX_MEMBERS - 1 {
        let mut seed = [0x77; 32];
        seed[..8].copy_from_slice(&u64::try_from(n).unwrap().to_le_bytes());
        voters.push(Identity::from_seed(
            seed,
            PeerToken::from_random([1; PeerToken::LEN]),
        ));
    }
    let mut records = Vec::new();
    for (i, voter) in voters.iter().enumerate() {
        let role = if i == 0 { Role::Owner } else { Role::Editor };
        let name = long(40, '"');
        data.members.insert(
            voter.peer_id().clone(),
            Member {
                role,
                display_name: name,
            },
        );
        data.ballots
            .insert(voter.peer_id().clone(), all.iter().copied().collect());
        let mut bytes = [0x55; 16];
        bytes[..8].copy_from_slice(&u64::try_from(i).unwrap().to_le_bytes());
        let command_id = CommandId::from_random_bytes(bytes);
        let frame = seal(
            voter,
            &Message::Command(CommandFrame {
                command: Command::CastVote {
                    option_ids: all.clone(),
                    answers: Default::default(),
                },
                poll_id: poll_id(),
                command_id,
            }),
        )
        .unwrap();
        records.push(ProcessedRecord {
            command_id,
            author: voter.peer_id().clone(),
            outcome: Outcome::Acked {
                revision: Revision(u64::try_from(i).unwrap() + 1),
            },
            frame: Some(frame),
        });
    }
    let poll = Poll::try_from(data).unwrap();
    let file = export(&owner, &poll, &records, NOW).unwrap();
    assert!(file.len() <= MAX_SNAPSHOT_BYTES, "{}", file.len());
    println!("maximal snapshot file: {} bytes", file.len());
    let verified = verify(&file).unwrap();
    assert_eq!(verified.signatures, MAX_MEMBERS);
    assert!(verified.tally.iter().all(|t| t.votes == 256));
}

/// The example of PROTOCOL.md §7: Olga's poll "Lunch?" (single choice), Alice voting Sushi with
/// the §2.2 test vector frame, Olga voting Pizza. Deterministic (ed25519 signatures are).
fn documented_example() -> String {
    let mut hub = Hub::new(olga(), Limits::default());
    let draft = crate::testing::listed_lunch_draft();
    hub.create(poll_id(), draft, NOW).unwrap();
    let alice = CommandId::from_random_bytes([0x44; 16]);
    send(
        &mut hub,
        2,
        poll_id(),
        alice,
        Command::Join {
            display_name: "Alice".into(),
        },
    );
    send(&mut hub, 2, poll_id(), cid(0x22), vote(&[2]));
    hub.local(poll_id(), cid(0x33), &vote(&[1]), NOW + 60_000);
    hub.snapshot(&poll_id(), NOW + 100_000).unwrap()
}

#[test]
fn the_documented_example_is_exact_and_verifies() {
    let example = documented_example();
    if std::env::var_os("STARPOLL_PRINT_EXAMPLES").is_some() {
        println!("{example}");
    }
    let doc = include_str!("../../../../PROTOCOL.md");
    assert!(
        doc.contains(&example),
        "PROTOCOL.md §7 should show the example snapshot exactly"
    );
    let verified = verify(&example).unwrap();
    assert_eq!(verified.signatures, 2);
    // Alice's frame is the §2.2 test vector.
    let (_, body) = parts(&example);
    let frame = body["ballots"][entry_of(&body, &ann())]["frame"]
        .as_str()
        .unwrap();
    assert!(doc.contains(&format!("\n{frame}\n")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any votes by anyone, changed any number of times: the export verifies, and its tally is
    /// the hub's.
    #[test]
    fn every_export_verifies(
        votes in proptest::collection::vec((1u8..5, proptest::sample::subsequence(vec![1u32, 2, 3], 0..=2)), 0..24)
    ) {
        let mut hub = Hub::new(olga(), Limits::default());
        hub.create(poll_id(), draft(false), NOW).unwrap();
        for n in 2..5 {
            join(&mut hub, n, poll_id());
        }
        for (i, (who, options)) in votes.into_iter().enumerate() {
            let id = CommandId::from_random_bytes([u8::try_from(i).unwrap(); 16]);
            if who == 1 {
                hub.local(poll_id(), id, &vote(&options), NOW);
            } else {
                send(&mut hub, who, poll_id(), id, vote(&options));
            }
        }
        let poll = hub.poll(&poll_id()).unwrap();
        let verified = verify(&hub.snapshot(&poll_id(), NOW).unwrap()).unwrap();
        prop_assert_eq!(verified.signatures, poll.ballots.len());
        prop_assert_eq!(verified.tally, tally(poll));
    }

    /// Changing any one character of a file makes it refused (and never panics).
    #[test]
    fn any_one_character_changed_is_refused(at in 0usize..100_000, to in any::<char>()) {
        let chars: Vec<char> = file().chars().collect();
        let at = at % chars.len();
        prop_assume!(chars[at] != to);
        let mut changed = chars;
        changed[at] = to;
        let text: String = changed.into_iter().collect();
        prop_assert!(verify(&text).is_err());
    }

    /// Arbitrary text never panics the verifier.
    #[test]
    fn arbitrary_text_is_refused(text in ".{0,300}") {
        prop_assert!(verify(&text).is_err());
    }
}

/// A file (or its signed body) written as an array in field order, or with a repeated key, is
/// refused like a frame would be: only one reading of a signed file exists.
#[test]
fn a_file_or_body_in_array_form_or_with_a_repeated_key_is_refused() {
    let (outer, body) = parts(file());
    let as_array = json!([
        outer["format"],
        outer["v"],
        outer["signer"],
        outer["sig"],
        outer["body"]
    ])
    .to_string();
    assert!(matches!(refused(&as_array), SnapshotError::BadJson(_)));
    let repeated = file().replacen('{', "{\"v\":1,", 1);
    assert!(matches!(refused(&repeated), SnapshotError::BadJson(_)));
    // A signed body with a repeated key.
    let text = body.to_string();
    let doubled = text.replacen('{', "{\"v\":1,", 1);
    let file = format!(
        r#"{{"format":{},"v":1,"signer":"{}","sig":"{}","body":{}}}"#,
        outer["format"],
        olga().peer_id(),
        olga().sign(doubled.as_bytes()),
        serde_json::to_string(&doubled).unwrap()
    );
    assert!(
        matches!(refused(&file), SnapshotError::BadBody(_)),
        "{:?}",
        refused(&file)
    );
}

/// Olga's delegation of the first poll to peer `hub`.
fn delegation(seq: u64, hub: u8, from: u64) -> SignedDelegation {
    SignedDelegation::sign(
        &olga(),
        poll_id(),
        identity(hub).peer_id().clone(),
        seq,
        Revision(from),
    )
    .unwrap()
}

/// The first poll of [`hub`] as a host (peer 4) serving it under `chain` would export it.
fn served_file(chain: &[SignedDelegation], signer: &Identity) -> String {
    let hub = hub();
    let poll = hub.poll(&poll_id()).unwrap().clone();
    // The records that moved with the poll: one applied vote per ballot, with its frame.
    let records: Vec<ProcessedRecord> = {
        let file = hub.snapshot(&poll_id(), NOW).unwrap();
        let (_, body) = parts(&file);
        body["ballots"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, b)| ProcessedRecord {
                command_id: cid(0x40 + i as u8),
                author: b["voter"].as_str().unwrap().parse().unwrap(),
                outcome: Outcome::Acked {
                    revision: Revision(1 + i as u64),
                },
                frame: Some(b["frame"].as_str().unwrap().to_owned()),
            })
            .collect()
    };
    export_served(signer, &poll, &records, chain, NOW).unwrap()
}

fn with_delegations(file: &str, signer: &Identity, texts: &[&str]) -> String {
    let (_, mut body) = parts(file);
    body["delegations"] = json!(texts);
    signed_by(signer, &body)
}

#[test]
fn a_delegated_polls_snapshot_is_signed_by_its_hub_and_names_who_served_it() {
    let chain = [
        delegation(1, 4, 0),
        delegation(2, 5, 1),
        delegation(3, 4, 2),
    ];
    let served = served_file(&chain, &identity(4));
    let verified = verify(&served).unwrap();
    let id = |n: u8| identity(n).peer_id().clone();
    assert_eq!(verified.served_by, [id(1), id(4), id(5), id(4)]);
    assert_eq!(verified.signatures, 3);
    // An own poll never moved: served by its owner alone, and no `delegations` in the file.
    assert_eq!(verify(file()).unwrap().served_by, [id(1)]);
    assert!(!file().contains("delegations"));
    // Only the hub the chain ends at may export it.
    assert!(matches!(
        export_served(
            &identity(5),
            hub().poll(&poll_id()).unwrap(),
            &[],
            &chain,
            NOW
        ),
        Err(ExportError::NotOwner)
    ));
}

#[test]
fn a_delegated_snapshot_with_a_broken_chain_is_refused() {
    let host = identity(4);
    let file = served_file(&[delegation(1, 4, 0)], &host);
    let (d1, d2) = (delegation(1, 4, 0), delegation(2, 5, 0));
    // No chain: the host is not the owner.
    let none = with_delegations(&file, &host, &[]);
    assert!(matches!(
        refused(&none),
        SnapshotError::OwnerMismatch { .. }
    ));
    // A chain ending at another hub.
    let elsewhere = with_delegations(&file, &host, &[d1.text(), d2.text()]);
    assert!(matches!(
        refused(&elsewhere),
        SnapshotError::NotServedBy { .. }
    ));
    // Out of order.
    let d3 = delegation(3, 4, 0);
    let swapped = with_delegations(&file, &host, &[d3.text(), d2.text()]);
    assert!(matches!(
        refused(&swapped),
        SnapshotError::DelegationChain(_)
    ));
    // A delegation of another poll, or one signed by the host itself.
    let other = SignedDelegation::sign(
        &olga(),
        other_poll(),
        host.peer_id().clone(),
        1,
        Revision(0),
    )
    .unwrap();
    let of_other = with_delegations(&file, &host, &[other.text()]);
    assert!(matches!(
        refused(&of_other),
        SnapshotError::DelegationChain(_)
    ));
    let self_signed = crate::protocol::seal_body(
        &host,
        &format!(
            r#"{{"v":1,"type":"poll:delegation","pollId":"{}","owner":"{}","hub":"{}","seq":1,"fromRevision":0}}"#,
            poll_id(),
            host.peer_id(),
            host.peer_id()
        ),
    )
    .unwrap();
    let forged = with_delegations(&file, &host, &[&self_signed]);
    assert!(matches!(
        refused(&forged),
        SnapshotError::DelegationChain(_)
    ));
    // A delegation from a revision the poll never reached.
    let ahead = delegation(1, 4, 999);
    let future = with_delegations(&file, &host, &[ahead.text()]);
    assert!(matches!(
        refused(&future),
        SnapshotError::NotServedBy { .. }
    ));
    // Ballots are still checked against their voters' keys.
    let (_, mut body) = parts(&file);
    let i = entry_of(&body, &ann());
    body["ballots"][i]["frame"] = body["ballots"][(i + 1) % 3]["frame"].clone();
    let swapped_ballot = signed_by(&host, &body);
    assert!(matches!(
        refused(&swapped_ballot),
        SnapshotError::BallotFrame { .. } | SnapshotError::BallotMismatch { .. }
    ));
}
