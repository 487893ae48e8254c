//! The five targets: what each feeds its decoder, and which invariants it checks beyond "no
//! panic, no oversized allocation, no hang".

use peerjs_client::binarypack::{pack, unpack, Value};
use peerjs_client::chunker::{Chunker, Reassembler};
use peerjs_client::signal::ServerMessage;
use starpoll_core::hub::{ConnId, Hub, Incoming, Limits};
use starpoll_core::poll::{
    Answer, Command, CommandId, OptionId, PollDraft, PollId, PollKind, Settings,
};
use starpoll_core::protocol::{open, open_from, seal, CommandFrame, Control, Message};
use starpoll_core::{Identity, PeerToken};

use crate::mutate::Rng;
use crate::Target;

/// Every target.
pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "binarypack",
            seeds: binarypack_seeds,
            run: binarypack,
            text: false,
        },
        Target {
            name: "chunker",
            seeds: chunker_seeds,
            run: chunker,
            text: false,
        },
        Target {
            name: "signal",
            seeds: signal_seeds,
            run: signal,
            text: true,
        },
        Target {
            name: "envelope",
            seeds: envelope_seeds,
            run: envelope,
            text: true,
        },
        Target {
            name: "hub",
            seeds: hub_seeds,
            run: hub,
            text: false,
        },
    ]
}

// ---- BinaryPack ----

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 8 } else { 10 }) {
        0 => Value::Nil,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::Int(rng.next() as i64 >> rng.below(64)),
        3 => Value::UInt(rng.next()),
        4 => Value::Float(f64::from_bits(rng.next())),
        5 | 6 => {
            let n = rng.below(40);
            Value::Str(String::from_utf8_lossy(&rng.bytes(n)).into_owned())
        }
        7 => {
            let n = rng.below(300);
            Value::Bin(rng.bytes(n))
        }
        8 => {
            let n = rng.below(5);
            Value::Array((0..n).map(|_| random_value(rng, depth + 1)).collect())
        }
        _ => {
            let n = rng.below(5);
            Value::Map(
                (0..n)
                    .map(|_| (random_value(rng, depth + 1), random_value(rng, depth + 1)))
                    .collect(),
            )
        }
    }
}

fn binarypack_seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = (0..200)
        .filter_map(|_| pack(&random_value(rng, 0)).ok())
        .collect();
    // Headers with big length fields and nothing behind them.
    for head in [0xdb, 0xdd, 0xdf, 0xd9, 0xda, 0xdc, 0xde] {
        seeds.push(vec![head, 0xff, 0xff, 0xff, 0xff]);
    }
    seeds
}

/// Decodes; a decoded value must re-encode, and re-encoding its decoding must be stable.
fn binarypack(input: &[u8]) -> Result<bool, String> {
    let Ok(value) = unpack(input) else {
        return Ok(false);
    };
    let packed = pack(&value).map_err(|e| format!("decoded value does not re-encode: {e}"))?;
    let again = unpack(&packed).map_err(|e| format!("re-encoding does not decode: {e}"))?;
    let repacked = pack(&again).map_err(|e| format!("second re-encoding failed: {e}"))?;
    if repacked != packed {
        return Err("re-encoding is not stable".into());
    }
    Ok(true)
}

// ---- chunk reassembly ----

/// Inputs are frames, each prefixed with its 2-byte big-endian length.
fn frames_of(input: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut rest = input;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let take = len.min(rest.len());
        frames.push(&rest[..take]);
        rest = &rest[take..];
    }
    frames
}

fn chunker_seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for size in [10usize, 20_000, 40_000, 70_000] {
        let mut chunker = Chunker::new();
        let Ok(frames) = chunker.frames(&Value::Bin(rng.bytes(size))) else {
            continue;
        };
        let mut input = Vec::new();
        for frame in frames {
            // Chunks of 16 KB are long; keep the seed small by trimming the payloads (the
            // reassembler then sees inconsistent sizes, which is the interesting part).
            let frame = &frame[..frame.len().min(600)];
            input.extend_from_slice(&(frame.len() as u16).to_be_bytes());
            input.extend_from_slice(frame);
        }
        seeds.push(input);
    }
    seeds
}

/// Feeds frames to a reassembler; its memory stays within its limits throughout.
fn chunker(input: &[u8]) -> Result<bool, String> {
    let mut reassembler = Reassembler::default();
    let limits = reassembler.limits();
    let mut decoded = false;
    for frame in frames_of(input) {
        decoded |= reassembler.receive(frame).is_ok();
        if reassembler.bytes_in_flight() > limits.max_bytes_in_flight {
            return Err(format!("{} bytes in flight", reassembler.bytes_in_flight()));
        }
        if reassembler.partial_messages() > limits.max_partial_messages {
            return Err(format!(
                "{} partial messages",
                reassembler.partial_messages()
            ));
        }
    }
    Ok(decoded)
}

// ---- signaling frames ----

const SERVER_FRAMES: &[&str] = &[
    r#"{"type":"OPEN"}"#,
    r#"{"type":"HEARTBEAT"}"#,
    r#"{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}"#,
    r#"{"type":"ERROR","payload":{"msg":"Invalid key provided"}}"#,
    r#"{"type":"EXPIRE","src":"ghost","dst":"guest1"}"#,
    r#"{"type":"LEAVE","src":"rawbot","dst":"guest1"}"#,
    r#"{"type":"OFFER","src":"guest1","dst":"owner1","payload":{"sdp":{"sdp":"v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 A9:DA\r\na=setup:actpass\r\n","type":"offer"},"type":"data","connectionId":"dc_q0tmbver2a","metadata":{"name":"Guest One","v":1},"label":"dc_q0tmbver2a","reliable":true,"serialization":"binary"}}"#,
    r#"{"type":"ANSWER","src":"owner1","dst":"guest1","payload":{"sdp":{"sdp":"v=0\r\n","type":"answer"},"type":"data","connectionId":"dc_q0tmbver2a"}}"#,
    r#"{"type":"CANDIDATE","src":"guest1","dst":"owner1","payload":{"candidate":{"candidate":"candidate:2977833400 1 udp 2122260223 127.0.0.1 36387 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"1oOB"},"type":"data","connectionId":"dc_q0tmbver2a"}}"#,
];

fn signal_seeds(_: &mut Rng) -> Vec<Vec<u8>> {
    SERVER_FRAMES
        .iter()
        .map(|f| f.as_bytes().to_vec())
        .collect()
}

fn signal(input: &[u8]) -> Result<bool, String> {
    Ok(ServerMessage::parse(&String::from_utf8_lossy(input)).is_ok())
}

// ---- the envelope ----

fn identity(n: u8) -> Identity {
    Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN]))
}

fn poll_id() -> PollId {
    PollId::from_random_bytes([0x11; 16])
}

fn command_id(rng: &mut Rng) -> CommandId {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&rng.bytes(16));
    CommandId::from_random_bytes(bytes)
}

/// A random message a participant could send.
fn participant_message(rng: &mut Rng) -> Message {
    let poll_id = poll_id();
    let command = match rng.below(12) {
        0 => Command::Join {
            display_name: format!("guest {}", rng.below(1000)),
        },
        // Option ids, or (refused in this multiple-choice poll) date/time answers per slot.
        1 => Command::CastVote {
            option_ids: (0..rng.below(4))
                .map(|_| OptionId(rng.below(5) as u32))
                .collect(),
            answers: (0..rng.below(3))
                .map(|_| {
                    let answer = Answer::ALL[rng.below(3)];
                    (OptionId(rng.below(5) as u32), answer)
                })
                .collect(),
        },
        2 => Command::UpdateProfile {
            display_name: format!("renamed {}", rng.below(1000)),
        },
        3 => Command::AddOption {
            text: format!("option {}", rng.below(1000)),
        },
        4 => Command::RenameOption {
            option_id: OptionId(rng.below(5) as u32),
            text: format!("option {}", rng.below(1000)),
        },
        5 => Command::RemoveOption {
            option_id: OptionId(rng.below(5) as u32),
        },
        6 => {
            return Message::Control(Control::SyncRequest {
                poll_id,
                since_revision: None,
            })
        }
        // Hub-to-hub messages from a participant (PROTOCOL.md §8): refused or ignored.
        7 => {
            return Message::Control(Control::Records {
                poll_id,
                seq: rng.below(3) as u64,
                records: Vec::new(),
            })
        }
        8 => {
            return Message::Control(Control::Prepared {
                poll_id,
                seq: rng.below(3) as u64,
            })
        }
        9 => {
            return Message::Control(Control::Activate {
                poll_id,
                seq: rng.below(3) as u64,
            })
        }
        10 => {
            return Message::Control(Control::Abort {
                poll_id,
                seq: rng.below(3) as u64,
            })
        }
        _ => return Message::Control(Control::Heartbeat),
    };
    Message::Command(CommandFrame {
        command,
        poll_id,
        command_id: command_id(rng),
    })
}

fn envelope_seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..100)
        .filter_map(|_| seal(&identity(2), &participant_message(rng)).ok())
        .map(String::into_bytes)
        .collect()
}

fn envelope(input: &[u8]) -> Result<bool, String> {
    let text = String::from_utf8_lossy(input);
    Ok(open(&text, None).is_ok())
}

// ---- the hub ----

/// A script for a hub with one poll: a sequence of actions, each one kind byte, a connection
/// byte and a 2-byte length followed by its payload.
///
/// Kinds: 0 open, 1 close, 2 a raw frame (the payload as text), 3 a body sealed by the
/// connection's peer (the payload as the body text), 4 a valid message picked by the payload's
/// first bytes, 5 time passes (payload's first two bytes × 16 ms), 6 not text, 7 too large.
fn hub_seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for _ in 0..40 {
        let mut script = Vec::new();
        let conn = rng.below(3) as u8;
        push_action(&mut script, 0, conn, &[]);
        for _ in 0..1 + rng.below(6) {
            match rng.below(4) {
                0 => {
                    let body = match participant_message(rng) {
                        Message::Command(frame) => {
                            serde_json::to_string(&Message::Command(frame)).unwrap_or_default()
                        }
                        Message::Control(control) => {
                            serde_json::to_string(&Message::Control(control)).unwrap_or_default()
                        }
                    };
                    // The body as sent: with `v` first.
                    let body = format!("{{\"v\":1,{}", body.trim_start_matches('{'));
                    push_action(&mut script, 3, conn, body.as_bytes());
                }
                1 => {
                    let frame =
                        seal(&identity(conn + 2), &participant_message(rng)).unwrap_or_default();
                    push_action(&mut script, 2, conn, frame.as_bytes());
                }
                2 => push_action(&mut script, 5, conn, &rng.bytes(2)),
                _ => push_action(&mut script, 4, conn, &rng.bytes(4)),
            }
        }
        seeds.push(script);
    }
    seeds
}

fn push_action(script: &mut Vec<u8>, kind: u8, conn: u8, payload: &[u8]) {
    script.push(kind);
    script.push(conn);
    script.extend_from_slice(&(payload.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    script.extend_from_slice(&payload[..payload.len().min(usize::from(u16::MAX))]);
}

const NOW: u64 = 1_700_000_000_000;

/// Sealed participant messages, made once per run (signing is most of a hub execution's cost):
/// `POOL_SIZE` per connection.
const POOL_SIZE: usize = 256;

thread_local! {
    static POOL: Vec<Vec<String>> = {
        let mut rng = Rng::new(7);
        (0..3u8)
            .map(|conn| {
                (0..POOL_SIZE)
                    .map(|_| seal(&identity(conn + 2), &participant_message(&mut rng)).unwrap_or_default())
                    .collect()
            })
            .collect()
    };
    /// Frames the hub sent that already opened under the owner's key (checked once each).
    static OPENED: std::cell::RefCell<std::collections::HashSet<String>> =
        std::cell::RefCell::new(std::collections::HashSet::new());
}

fn pooled_frame(conn: u8, pick: u64) -> String {
    POOL.with(|pool| pool[usize::from(conn)][(pick % POOL_SIZE as u64) as usize].clone())
}

/// A frame the hub sent must open under the owner's key.
fn check_sent(frame: &str, owner: &Identity) -> Result<(), String> {
    if OPENED.with(|opened| opened.borrow().contains(frame)) {
        return Ok(());
    }
    open_from(frame, owner.peer_id())
        .map_err(|e| format!("the hub sent a frame that does not open: {e}"))?;
    OPENED.with(|opened| {
        let mut opened = opened.borrow_mut();
        if opened.len() > 50_000 {
            opened.clear();
        }
        opened.insert(frame.to_owned());
    });
    Ok(())
}

/// Runs a script against a hub: every frame the hub sends opens under the owner's key, and the
/// poll's ballots only ever name its options.
fn hub(input: &[u8]) -> Result<bool, String> {
    let owner = identity(1);
    let mut hub = Hub::new(owner.clone(), Limits::default());
    let draft = PollDraft {
        title: "Lunch?".into(),
        description: String::new(),
        options: vec!["Pizza".into(), "Sushi".into(), "Tacos".into()],
        kind: PollKind::Multiple { max: 2 },
        deadline: Some(NOW + 60_000),
        settings: Settings::default(),
        owner_name: "Olga".into(),
    };
    hub.create(poll_id(), draft, NOW)
        .map_err(|e| format!("the fixture poll was refused: {e}"))?;
    let mut now = NOW;
    let mut rest = input;
    let mut rng = Rng::new(input.len() as u64);
    let mut accepted = false;
    let mut ids = 0u8;
    while rest.len() >= 4 {
        let (kind, conn) = (rest[0] % 8, rest[1] % 3);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let payload = &rest[4..4 + len.min(rest.len() - 4)];
        rest = &rest[4 + payload.len()..];
        let id = ConnId(u64::from(conn));
        let peer = identity(conn + 2);
        let step = match kind {
            0 => hub.opened(id, peer.peer_id().as_str(), now),
            1 => hub.closed(id),
            2 => hub.receive(id, Incoming::Text(&String::from_utf8_lossy(payload)), now),
            3 => {
                let body = String::from_utf8_lossy(payload);
                let frame = format!(
                    r#"{{"v":1,"signer":"{}","sig":"{}","body":{}}}"#,
                    peer.peer_id(),
                    peer.sign(body.as_bytes()),
                    serde_json::to_string(&body).unwrap_or_default()
                );
                hub.receive(id, Incoming::Text(&frame), now)
            }
            4 => {
                let pick = payload.iter().fold(rng.next(), |h, b| {
                    h.wrapping_mul(31).wrapping_add(u64::from(*b))
                });
                let frame = pooled_frame(conn, pick);
                hub.receive(id, Incoming::Text(&frame), now)
            }
            5 => {
                let ms = payload
                    .get(..2)
                    .map_or(0, |b| u64::from(u16::from_be_bytes([b[0], b[1]])) * 16);
                now += ms;
                hub.handle_timeout(now, || {
                    ids = ids.wrapping_add(1);
                    Some(CommandId::from_random_bytes([ids; 16]))
                })
            }
            6 => hub.receive(id, Incoming::NotText, now),
            _ => hub.receive(id, Incoming::TooLarge, now),
        };
        for (_, frame) in &step.sends {
            check_sent(frame, &owner)?;
        }
        accepted |= !step.writes.is_empty();
        if let Some(poll) = hub.poll(&poll_id()) {
            let options: Vec<OptionId> = poll.options.iter().map(|o| o.id).collect();
            for (voter, ballot) in &poll.ballots {
                if let Some(bad) = ballot.iter().find(|o| !options.contains(o)) {
                    return Err(format!("{voter} holds a ballot for option {bad:?}"));
                }
                if !poll.members.contains_key(voter) {
                    return Err(format!("{voter} voted without being a member"));
                }
            }
        }
    }
    Ok(accepted)
}
