//! Unit tests of the wire protocol: message shapes, sealing, and every way a frame is refused.

use std::collections::BTreeMap;

use super::*;
use crate::poll::{
    apply, view_for, Change, Command, CommandId, Event, Member, OptionId, Outcome, Poll, PollData,
    PollKind, Refusal, Revision, Role,
};
use crate::testing::{identity, poll_id, NOW};
use crate::{Identity, PeerToken};

fn command_id() -> CommandId {
    CommandId::from_random_bytes([0x22; 16])
}

fn vote_frame() -> Message {
    Message::Command(CommandFrame {
        poll_id: poll_id(),
        command_id: command_id(),
        command: Command::CastVote {
            option_ids: vec![OptionId(2)],
            answers: Default::default(),
        },
    })
}

fn small_poll(owner: &Identity) -> Poll {
    let draft = crate::testing::listed_lunch_draft();
    Poll::new(poll_id(), owner.peer_id().clone(), draft, NOW).unwrap()
}

/// One example of every message type, in the order of `COMMAND_TYPES` then `CONTROL_TYPES`.
fn examples() -> Vec<(Identity, Message)> {
    let owner = identity(1);
    let alice = identity(2);
    let poll = small_poll(&owner);
    let frame = |command| {
        Message::Command(CommandFrame {
            poll_id: poll_id(),
            command_id: command_id(),
            command,
        })
    };
    let a = |command| (alice.clone(), frame(command));
    let o = |command| (owner.clone(), frame(command));
    let c = |control| (owner.clone(), Message::Control(control));
    let (joined, _) = apply(
        &poll,
        alice.peer_id(),
        &Command::Join {
            display_name: "Alice".into(),
        },
        NOW,
    )
    .unwrap();
    vec![
        a(Command::Join {
            display_name: "Alice".into(),
        }),
        a(Command::CastVote {
            option_ids: vec![OptionId(2)],
            answers: Default::default(),
        }),
        a(Command::AddOption {
            text: "Tacos".into(),
        }),
        o(Command::RenameOption {
            option_id: OptionId(1),
            text: "Ramen".into(),
        }),
        o(Command::RemoveOption {
            option_id: OptionId(1),
        }),
        o(Command::SetRole {
            member: alice.peer_id().clone(),
            role: Role::Editor,
        }),
        a(Command::UpdateProfile {
            display_name: "Alice B.".into(),
        }),
        o(Command::Close),
        o(Command::Reopen),
        o(Command::EditPoll {
            title: Some("Lunch on Friday?".into()),
            description: None,
            deadline: Some(Some(1_700_086_400_000)),
        }),
        c(Control::State {
            poll: Box::new(view_for(&joined, alice.peer_id())),
        }),
        c(Control::Event {
            poll_id: poll_id(),
            event: Event {
                revision: Revision(2),
                change: Change::BallotCast {
                    voter: alice.peer_id().clone(),
                    option_ids: [OptionId(2)].into(),
                    ranking: Vec::new(),
                    answers: Default::default(),
                },
            },
        }),
        c(Control::Discovery {
            poll_id: poll_id(),
            peers: PeerInfo::list(&joined, [owner.peer_id(), alice.peer_id()]),
            connected: 2,
        }),
        c(Control::answer(
            poll_id(),
            command_id(),
            &Outcome::Acked {
                revision: Revision(2),
            },
        )),
        c(Control::answer(
            poll_id(),
            command_id(),
            &Outcome::Refused {
                refusal: Refusal::PollClosed,
            },
        )),
        (
            alice.clone(),
            Message::Control(Control::SyncRequest {
                poll_id: poll_id(),
                since_revision: Some(Revision(1)),
            }),
        ),
        (alice.clone(), Message::Control(Control::ListRequest)),
        c(Control::List {
            polls: vec![PollSummary::from(&joined)],
        }),
        (alice.clone(), Message::Control(Control::Heartbeat)),
        // §8: Bob's peer serving Olga's poll.
        c(Control::Delegation {
            poll_id: poll_id(),
            delegation: example_delegation().text().to_owned(),
        }),
        c(Control::Move {
            poll_id: poll_id(),
            delegation: example_delegation().text().to_owned(),
        }),
        c(Control::Records {
            poll_id: poll_id(),
            seq: 1,
            records: vec![crate::poll::ProcessedRecord {
                command_id: command_id(),
                author: alice.peer_id().clone(),
                outcome: Outcome::Acked {
                    revision: Revision(1),
                },
                frame: None,
            }],
        }),
        c(Control::Prepare {
            poll_id: poll_id(),
            delegation: example_delegation().text().to_owned(),
            chain: Vec::new(),
            poll_data: Box::new(joined.clone()),
            record_count: 1,
        }),
        (
            identity(3),
            Message::Control(Control::Prepared {
                poll_id: poll_id(),
                seq: 1,
            }),
        ),
        c(Control::Activate {
            poll_id: poll_id(),
            seq: 1,
        }),
        (
            identity(3),
            Message::Control(Control::Activated {
                poll_id: poll_id(),
                seq: 1,
            }),
        ),
        c(Control::Abort {
            poll_id: poll_id(),
            seq: 1,
        }),
        (
            owner.clone(),
            Message::Control(Control::SnapshotRequest { poll_id: poll_id() }),
        ),
        (
            identity(3),
            Message::Control(Control::Snapshot {
                poll_id: poll_id(),
                file: crate::snapshot::export_served(
                    &identity(3),
                    &joined,
                    &[],
                    &[example_delegation()],
                    NOW,
                )
                .unwrap(),
            }),
        ),
        (
            alice.clone(),
            Message::Control(Control::BindRequest { batches: false }),
        ),
        c(Control::Bind {
            hub_fingerprint: EXAMPLE_HUB_FINGERPRINT.into(),
            participant_fingerprint: EXAMPLE_PARTICIPANT_FINGERPRINT.into(),
        }),
    ]
}

/// Example DTLS fingerprints (§2.7), in the normal form.
const EXAMPLE_HUB_FINGERPRINT: &str = "sha-256 6B:8B:1A:2F:0C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7";
const EXAMPLE_PARTICIPANT_FINGERPRINT: &str = "sha-256 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0";

#[test]
fn an_unsigned_frame_opens_only_as_bound_and_only_from_the_expected_peer() {
    let owner = identity(1);
    let message = Message::Control(Control::Heartbeat);
    let frame = crate::protocol::frame_unsigned(owner.peer_id(), &message).unwrap();
    assert!(!frame.contains("\"sig\""));
    // Where the channel is not bound, a frame without `sig` is refused (2.4 step 6).
    assert!(matches!(
        open(&frame, Some(owner.peer_id())),
        Err(ProtocolError::MissingField("sig"))
    ));
    assert_eq!(
        crate::protocol::open_bound(&frame, owner.peer_id()).unwrap(),
        (owner.peer_id().clone(), message.clone())
    );
    // Bound or not, the signer must be the peer at the other end.
    let intruder = crate::protocol::frame_unsigned(identity(3).peer_id(), &message).unwrap();
    assert!(matches!(
        crate::protocol::open_bound(&intruder, owner.peer_id()),
        Err(ProtocolError::SignerMismatch { .. })
    ));
    // A signature, when present on a bound channel, must still verify.
    let sealed = seal(&owner, &message).unwrap();
    assert!(crate::protocol::open_bound(&sealed, owner.peer_id()).is_ok());
    let mut envelope: serde_json::Value = serde_json::from_str(&sealed).unwrap();
    envelope["sig"] = owner.sign(b"another body").to_string().into();
    let forged = envelope.to_string();
    assert!(matches!(
        crate::protocol::open_bound(&forged, owner.peer_id()),
        Err(ProtocolError::BadSignature(_))
    ));
}

/// Olga's delegation of the example poll to Bob's peer (`seq` 1, from revision 1).
fn example_delegation() -> crate::delegation::SignedDelegation {
    crate::delegation::SignedDelegation::sign(
        &identity(1),
        poll_id(),
        identity(3).peer_id().clone(),
        1,
        Revision(1),
    )
    .unwrap()
}

#[test]
fn every_type_has_an_example_that_round_trips() {
    let examples = examples();
    let types: Vec<&str> = COMMAND_TYPES
        .iter()
        .chain(&CONTROL_TYPES)
        .copied()
        .collect();
    assert_eq!(examples.len(), types.len());
    for ((signer, message), expected_type) in examples.iter().zip(types) {
        let frame = seal(signer, message).unwrap();
        let (got_signer, opened) = open(&frame, Some(signer.peer_id())).unwrap();
        assert_eq!(&got_signer, signer.peer_id());
        assert_eq!(&opened, message);
        // The body is flat, camelCase, and names its type.
        let envelope: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(envelope["v"], 1);
        let body: serde_json::Value =
            serde_json::from_str(envelope["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["v"], 1);
        assert_eq!(body["type"], expected_type);
        if std::env::var_os("STARPOLL_PRINT_EXAMPLES").is_some() {
            println!("{frame}");
        }
    }
}

#[test]
fn a_sealed_vote_is_byte_stable() {
    // ed25519 signatures are deterministic, so this frame never changes unless the format does.
    let frame = seal(&identity(2), &vote_frame()).unwrap();
    let body = r#"{"v":1,"type":"poll:vote","optionIds":[2],"pollId":"11111111-1111-4111-9111-111111111111","commandId":"22222222-2222-4222-a222-222222222222"}"#;
    let expected = format!(
        r#"{{"v":1,"signer":"{}","sig":"{}","body":{}}}"#,
        identity(2).peer_id(),
        identity(2).sign(body.as_bytes()),
        serde_json::to_string(body).unwrap()
    );
    assert_eq!(frame, expected);
}

#[test]
fn a_hand_written_js_frame_opens() {
    // What a JS participant would send: its own key order and spacing, signed as written.
    let alice = identity(2);
    let body = r#"{ "type": "poll:vote", "v": 1, "optionIds": [2], "commandId": "22222222-2222-4222-a222-222222222222", "pollId": "11111111-1111-4111-9111-111111111111" }"#;
    let frame = format!(
        r#"{{"body":{},"sig":"{}","signer":"{}","v":1}}"#,
        serde_json::to_string(body).unwrap(),
        alice.sign(body.as_bytes()),
        alice.peer_id()
    );
    let (signer, message) = open_from(&frame, alice.peer_id()).unwrap();
    assert_eq!(&signer, alice.peer_id());
    assert_eq!(message, vote_frame());
}

/// Re-signs `body` as `signer`, so a test can vary the body and keep the signature valid.
fn frame_with_body(signer: &Identity, body: &str) -> String {
    format!(
        r#"{{"v":1,"signer":"{}","sig":"{}","body":{}}}"#,
        signer.peer_id(),
        signer.sign(body.as_bytes()),
        serde_json::to_string(body).unwrap()
    )
}

#[test]
fn a_tampered_body_is_refused() {
    let alice = identity(2);
    let frame = seal(&alice, &vote_frame()).unwrap();
    let tampered = frame.replace(r#"\"optionIds\":[2]"#, r#"\"optionIds\":[1]"#);
    assert_ne!(tampered, frame);
    assert!(matches!(
        open(&tampered, None),
        Err(ProtocolError::BadSignature(_))
    ));
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let alice = identity(2);
    let mallory = identity(3);
    // Claims to be Alice, signed by Mallory.
    let frame = seal(&mallory, &vote_frame())
        .unwrap()
        .replace(mallory.peer_id().as_str(), alice.peer_id().as_str());
    assert!(matches!(
        open(&frame, None),
        Err(ProtocolError::BadSignature(_))
    ));
    let garbled = seal(&alice, &vote_frame())
        .unwrap()
        .replacen("\"sig\":\"", "\"sig\":\"zz", 1);
    assert!(matches!(
        open(&garbled, None),
        Err(ProtocolError::BadSignature(_))
    ));
}

#[test]
fn a_frame_from_someone_else_on_this_connection_is_refused() {
    let alice = identity(2);
    let bob = identity(3);
    // Valid signature by Alice, but it arrives on Bob's connection (a captured frame).
    let frame = seal(&alice, &vote_frame()).unwrap();
    let error = open_from(&frame, bob.peer_id()).unwrap_err();
    assert!(matches!(
        &error,
        ProtocolError::SignerMismatch { expected, got }
            if expected == bob.peer_id() && got == alice.peer_id()
    ));
    assert_eq!(ErrorCode::from(&error), ErrorCode::SignerMismatch);
    assert!(check_sender(alice.peer_id(), alice.peer_id()).is_ok());
}

#[test]
fn other_versions_are_refused_with_a_typed_error() {
    let alice = identity(2);
    let frame = seal(&alice, &vote_frame())
        .unwrap()
        .replacen("{\"v\":1", "{\"v\":2", 1);
    assert!(matches!(
        open(&frame, None),
        Err(ProtocolError::UnsupportedVersion { got: 2 })
    ));
    // A future envelope with other fields still reports its version.
    assert!(matches!(
        open(r#"{"v":7,"payload":"?"}"#, None),
        Err(ProtocolError::UnsupportedVersion { got: 7 })
    ));
    // The signed body's version counts too.
    let body = r#"{"v":2,"type":"heartbeat"}"#;
    assert!(matches!(
        open(&frame_with_body(&alice, body), None),
        Err(ProtocolError::UnsupportedVersion { got: 2 })
    ));
}

#[test]
fn oversize_frames_are_refused_both_ways() {
    let text = format!(r#"{{"v":1,"pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    assert!(matches!(
        open(&text, None),
        Err(ProtocolError::TooLarge { limit: MAX_FRAME_BYTES, got }) if got == text.len()
    ));
    let huge = Message::Control(Control::Error {
        command_id: None,
        poll_id: None,
        code: ErrorCode::Internal,
        message: "x".repeat(MAX_FRAME_BYTES),
    });
    assert!(matches!(
        seal(&identity(1), &huge),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn garbage_unknown_types_and_bad_fields_are_typed_errors() {
    let alice = identity(2);
    for text in ["", "null", "[]", "{", "{\"v\":1}", "\u{0}", "{\"v\":\"1\"}"] {
        let error = open(text, None).unwrap_err();
        assert!(
            matches!(
                error,
                ProtocolError::BadJson(_) | ProtocolError::MissingField(_)
            ),
            "{text:?}: {error:?}"
        );
    }
    assert!(matches!(
        open(r#"{"v":1,"signer":"nope","sig":"","body":""}"#, None),
        Err(ProtocolError::BadSigner(_))
    ));
    let cases = [
        (r#"{"v":1,"type":"poll:delete"}"#, ErrorCode::UnknownType),
        (r#"{"v":1}"#, ErrorCode::BadJson),
        (r#"not json"#, ErrorCode::BadJson),
        (
            r#"{"v":1,"type":"poll:vote","pollId":"x","commandId":"y","optionIds":[1]}"#,
            ErrorCode::InvalidField,
        ),
        (
            r#"{"v":1,"type":"poll:vote","pollId":"11111111-1111-4111-9111-111111111111","commandId":"22222222-2222-4222-a222-222222222222","optionIds":["one"]}"#,
            ErrorCode::InvalidField,
        ),
        (
            r#"{"v":1,"type":"poll:role:update","pollId":"11111111-1111-4111-9111-111111111111","commandId":"22222222-2222-4222-a222-222222222222","member":"abc","role":"editor"}"#,
            ErrorCode::InvalidField,
        ),
        (r#"{"v":1,"type":"ack"}"#, ErrorCode::InvalidField),
    ];
    for (body, code) in cases {
        let error = open(&frame_with_body(&alice, body), None).unwrap_err();
        assert_eq!(ErrorCode::from(&error), code, "{body}: {error}");
        // Every protocol error becomes an `error` message that can itself be sent.
        let reply = Message::Control(Control::protocol_error(&error));
        assert!(seal(&identity(1), &reply).is_ok());
    }
}

#[test]
fn refusals_and_protocol_errors_have_stable_codes() {
    let code = |c: ErrorCode| serde_json::to_string(&c).unwrap();
    assert_eq!(
        code(ErrorCode::from(&Refusal::PollClosed)),
        "\"poll-closed\""
    );
    assert_eq!(
        code(ErrorCode::from(&Refusal::NotPermitted {
            role: Role::Viewer,
            action: crate::poll::Action::Vote
        })),
        "\"not-permitted\""
    );
    assert_eq!(
        code(ErrorCode::from(&Refusal::UnknownOption {
            option: OptionId(9)
        })),
        "\"unknown-option\""
    );
    assert_eq!(
        code(ErrorCode::from(&ProtocolError::UnsupportedVersion {
            got: 2
        })),
        "\"unsupported-version\""
    );
    assert_eq!(
        code(ErrorCode::CannotChangeOwnerRole),
        "\"cannot-change-owner-role\""
    );
}

/// A poll at every limit, with the longest texts in 4-byte characters and every member voting.
fn maximal_poll(owner: &Identity) -> Poll {
    let long = |n: usize, c: char| std::iter::repeat_n(c, n).collect::<String>();
    let mut data = PollData::from(small_poll(owner));
    data.title = long(crate::poll::limits::MAX_TITLE_CHARS, '😀');
    data.description = long(crate::poll::limits::MAX_DESCRIPTION_CHARS, '"');
    data.kind = PollKind::Multiple { max: 50 };
    data.options = (1..=50u32)
        .map(|i| crate::poll::PollOption {
            id: OptionId(i),
            text: format!("{i}{}", long(198, '😀')),
            added_by: owner.peer_id().clone(),
        })
        .collect();
    data.next_option_id = OptionId(51);
    let all: std::collections::BTreeSet<OptionId> = (1..=50).map(OptionId).collect();
    let mut members = BTreeMap::new();
    members.insert(
        owner.peer_id().clone(),
        Member {
            role: Role::Owner,
            display_name: long(40, '😀'),
        },
    );
    for n in 0..crate::poll::limits::MAX_MEMBERS - 1 {
        let mut seed = [0x77; 32];
        seed[..8].copy_from_slice(&u64::try_from(n).unwrap().to_le_bytes());
        let peer = Identity::from_seed(seed, PeerToken::from_random([1; PeerToken::LEN]));
        members.insert(
            peer.peer_id().clone(),
            Member {
                role: Role::Editor,
                display_name: long(40, '"'),
            },
        );
    }
    data.ballots = members.keys().map(|p| (p.clone(), all.clone())).collect();
    data.members = members;
    Poll::try_from(data).unwrap()
}

#[test]
fn a_snapshot_of_a_poll_at_every_limit_fits_in_a_frame() {
    let owner = identity(1);
    let poll = maximal_poll(&owner);
    let state = Message::Control(Control::State {
        poll: Box::new(view_for(&poll, owner.peer_id())),
    });
    let frame = seal(&owner, &state).unwrap();
    assert!(frame.len() <= MAX_FRAME_BYTES, "{}", frame.len());
    println!("maximal snapshot frame: {} bytes", frame.len());
    let (_, opened) = open(&frame, Some(owner.peer_id())).unwrap();
    assert_eq!(opened, state);
}

/// §2.4 steps 2 and 9: a frame and a body are JSON objects. The same fields as an array (in
/// field order, which serde's derive would otherwise accept) are `bad-json`, as is a repeated
/// key anywhere in the frame or the body.
#[test]
fn frames_and_bodies_must_be_objects_with_unique_keys() {
    let alice = identity(2);
    let body = seal(&alice, &vote_frame()).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (signer, sig, inner) = (&raw["signer"], &raw["sig"], &raw["body"]);
    // The valid frame opens; the same fields as an array do not.
    assert!(open(&body, None).is_ok());
    let as_array = format!("[1,{signer},{sig},{inner}]");
    let error = open(&as_array, None).unwrap_err();
    assert_eq!(ErrorCode::from(&error), ErrorCode::BadJson, "{error}");
    // A signed body that is an array.
    let array_body = r#"[1,"poll:vote",[1],"11111111-1111-4111-9111-111111111111","22222222-2222-4222-a222-222222222222"]"#;
    let error = open(&frame_with_body(&alice, array_body), None).unwrap_err();
    assert_eq!(ErrorCode::from(&error), ErrorCode::BadJson, "{error}");
    // A repeated key, in the frame and in the body.
    let repeated_frame = body.replacen(r#""v":1,"#, r#""v":1,"v":1,"#, 1);
    let error = open(&repeated_frame, None).unwrap_err();
    assert_eq!(ErrorCode::from(&error), ErrorCode::BadJson, "{error}");
    for repeated in [
        r#"{"v":1,"type":"poll:vote","type":"poll:vote","optionIds":[1],"pollId":"11111111-1111-4111-9111-111111111111","commandId":"22222222-2222-4222-a222-222222222222"}"#,
        r#"{"v":1,"type":"poll:vote","optionIds":[1],"optionIds":[2],"pollId":"11111111-1111-4111-9111-111111111111","commandId":"22222222-2222-4222-a222-222222222222"}"#,
        r#"{"v":1,"type":"sync:request","pollId":"11111111-1111-4111-9111-111111111111","pollId":"11111111-1111-4111-9111-111111111111"}"#,
    ] {
        let error = open(&frame_with_body(&alice, repeated), None).unwrap_err();
        assert_eq!(
            ErrorCode::from(&error),
            ErrorCode::BadJson,
            "{repeated}: {error}"
        );
    }
}

/// Nesting deeper than serde_json's recursion limit (128) is `bad-json`, never a stack overflow.
#[test]
fn deep_nesting_is_bad_json() {
    let alice = identity(2);
    let deep = format!(
        r#"{{"v":1,"type":"poll:vote","optionIds":{}1{},"pollId":"11111111-1111-4111-9111-111111111111","commandId":"22222222-2222-4222-a222-222222222222"}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let error = open(&frame_with_body(&alice, &deep), None).unwrap_err();
    assert_eq!(ErrorCode::from(&error), ErrorCode::BadJson, "{error}");
    let deep_frame = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let error = open(&deep_frame, None).unwrap_err();
    assert_eq!(ErrorCode::from(&error), ErrorCode::BadJson, "{error}");
}

/// The depth PROTOCOL.md §2.4 states: a body nesting 127 levels (the outer object included)
/// is read; 128 levels are `bad-json`.
#[test]
fn a_body_may_nest_127_levels_and_no_more() {
    let alice = identity(2);
    let nested = |levels: usize| {
        // The body object is level 1; each `[` adds one.
        let inner = levels - 1;
        format!(
            r#"{{"v":1,"type":"heartbeat","x":{}0{}}}"#,
            "[".repeat(inner),
            "]".repeat(inner)
        )
    };
    assert!(open(&frame_with_body(&alice, &nested(127)), None).is_ok());
    let error = open(&frame_with_body(&alice, &nested(128)), None).unwrap_err();
    assert_eq!(ErrorCode::from(&error), ErrorCode::BadJson, "{error}");
}

/// §3.4: `connected` is read as the list's length when a hub leaves it out (hubs before it
/// existed), and kept when the list is cut.
#[test]
fn discovery_without_connected_counts_its_list() {
    let owner = identity(1);
    let peer = owner.peer_id();
    let body = |extra: &str| {
        format!(
            r#"{{"v":1,"type":"peer:discovery","pollId":"11111111-1111-4111-9111-111111111111","peers":[{{"peerId":"{peer}","name":"Olga","role":"owner"}}]{extra}}}"#
        )
    };
    for (extra, connected) in [("", 1), (r#","connected":300"#, 300)] {
        let (_, message) = open(&frame_with_body(&owner, &body(extra)), Some(peer)).unwrap();
        let Message::Control(Control::Discovery {
            peers,
            connected: got,
            ..
        }) = message
        else {
            panic!("not a discovery: {message:?}");
        };
        assert_eq!(peers.len(), 1);
        assert_eq!(got, connected);
    }
}

#[test]
fn a_signature_is_taken_out_only_from_the_expected_signer_and_when_a_plain_check_agrees() {
    let alice = identity(2);
    let bob = identity(3);
    let frame = seal(&alice, &vote_frame()).unwrap();
    let job = SignatureJob::of(&frame, alice.peer_id()).unwrap();
    assert_eq!(job.signer(), alice.peer_id());
    let key = ed25519_dalek::VerifyingKey::from_bytes(&alice.peer_id().public_key()).unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&job.signature());
    assert!(key.verify_strict(job.message(), &signature).is_ok());
    assert_eq!(SignatureJob::of(&frame, bob.peer_id()), None);
    assert_eq!(SignatureJob::of("not json", alice.peer_id()), None);
    let unsigned = frame_unsigned(alice.peer_id(), &vote_frame()).unwrap();
    assert_eq!(SignatureJob::of(&unsigned, alice.peer_id()), None);
    // R the identity point: a plain check could accept what strict refuses, so it stays home.
    let sig = frame.split(r#""sig":""#).nth(1).unwrap()[..128].to_string();
    let small_r = format!("01{}{}", "0".repeat(62), &sig[64..]);
    let odd = frame.replace(&sig, &small_r);
    assert_eq!(SignatureJob::of(&odd, alice.peer_id()), None);
}

#[test]
fn a_checked_token_skips_the_check_for_its_own_frame_only() {
    let alice = identity(2);
    let frame = seal(&alice, &vote_frame()).unwrap();
    let token = SignatureJob::of(&frame, alice.peer_id()).unwrap().passed();
    assert_eq!(
        open_from_checked(&frame, alice.peer_id(), &token).unwrap(),
        open_from(&frame, alice.peer_id()).unwrap()
    );
    // Another body under the same signature: with the first frame's token it is checked, and
    // refused.
    let tampered = frame.replace(r#"\"optionIds\":[2]"#, r#"\"optionIds\":[1]"#);
    assert_ne!(tampered, frame);
    assert!(matches!(
        open_from_checked(&tampered, alice.peer_id(), &token),
        Err(ProtocolError::BadSignature(_))
    ));
    // Its own token (a driver vouching for a check it did not do) is taken at its word: the
    // token is all that skips the check.
    let lie = SignatureJob::of(&tampered, alice.peer_id())
        .unwrap()
        .passed();
    assert!(open_from_checked(&tampered, alice.peer_id(), &lie).is_ok());
    // Every other check still runs: the token does not make a frame from someone else pass.
    let bob = identity(3);
    assert!(matches!(
        open_from_checked(&frame, bob.peer_id(), &token),
        Err(ProtocolError::SignerMismatch { .. })
    ));
}
