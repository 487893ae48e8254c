//! The messages of protocol version 1: a flat JSON object per message, told apart by `type`,
//! with camelCase fields.
//!
//! Two families share the `type` namespace: poll commands ([`CommandFrame`], participant →
//! owner, types from [`COMMAND_TYPES`]) and everything else ([`Control`], types from
//! [`CONTROL_TYPES`]). [`Message`] is either; [`open`](super::open) tells them apart by `type`.

use serde::{Deserialize, Serialize};

use super::ErrorCode;
use crate::poll::CommandFields;
use crate::poll::{
    Change, Command, CommandId, Event, Outcome, Poll, PollId, PollStatus, PollView,
    ProcessedRecord, Refusal, Revision, Role,
};
use crate::wire::{required, unknown, WireError};
use crate::PeerId;

/// The `type`s of [`CommandFrame`]s (the spec's names for participant → owner commands).
pub const COMMAND_TYPES: [&str; 10] = [
    "poll:join",
    "poll:vote",
    "poll:option:add",
    "poll:option:rename",
    "poll:option:remove",
    "poll:role:update",
    "user:profile",
    "poll:close",
    "poll:reopen",
    "poll:edit",
];

/// The `type`s of [`Control`] messages.
pub const CONTROL_TYPES: [&str; 21] = [
    "poll:state",
    "poll:event",
    "peer:discovery",
    "ack",
    "error",
    "sync:request",
    "poll:list:request",
    "poll:list",
    "heartbeat",
    "hub:delegation",
    "hub:move",
    "hub:records",
    "hub:prepare",
    "hub:prepared",
    "hub:activate",
    "hub:activated",
    "hub:abort",
    "snapshot:request",
    "snapshot",
    "channel:bind:request",
    "channel:bind",
];

/// Any message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Message {
    /// A poll command (participant → owner), signed by its author.
    Command(CommandFrame),
    /// Anything else.
    Control(Control),
}

/// A command for one poll, with the id that makes resends recognisable. Its author is the
/// envelope's signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "CommandFields")]
pub struct CommandFrame {
    /// The command (its `type` and fields sit at the top level of the message).
    #[serde(flatten)]
    pub command: Command,
    /// The poll the command is for.
    pub poll_id: PollId,
    /// Unique per command; resends reuse it.
    pub command_id: CommandId,
}

impl TryFrom<CommandFields> for CommandFrame {
    type Error = WireError;

    fn try_from(mut f: CommandFields) -> Result<Self, WireError> {
        let poll_id = required(f.poll_id.take(), "pollId")?;
        let command_id = required(f.command_id.take(), "commandId")?;
        Ok(Self {
            command: f.try_into()?,
            poll_id,
            command_id,
        })
    }
}

/// Every message that is not a poll command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all_fields = "camelCase",
    try_from = "ControlFields"
)]
pub enum Control {
    /// Owner → participant: the full poll as this participant may see it (on connect, on
    /// `sync:request`, and whenever an event cannot express the change).
    #[serde(rename = "poll:state")]
    State {
        /// The snapshot.
        poll: Box<PollView>,
    },
    /// Owner → participant: the next step of a poll (`revision` = the participant's + 1).
    #[serde(rename = "poll:event")]
    Event {
        /// The poll.
        poll_id: PollId,
        /// The step.
        #[serde(flatten)]
        event: Event,
    },
    /// Owner → participant: who is connected to the poll now.
    #[serde(rename = "peer:discovery")]
    Discovery {
        /// The poll.
        poll_id: PollId,
        /// The connected peers (the owner first), at most [`DISCOVERY_LISTED_MAX`] of them.
        peers: Vec<PeerInfo>,
        /// How many peers are connected, the owner included (more than `peers` lists when the
        /// list is cut; read as `peers.len()` when absent, as older hubs send it).
        connected: u64,
    },
    /// Owner → author: the command was applied (now, or earlier if this answers a resend).
    #[serde(rename = "ack")]
    Ack {
        /// The command.
        command_id: CommandId,
        /// The revision it produced.
        revision: Revision,
    },
    /// Owner → author: the command or frame was refused; roll back.
    #[serde(rename = "error")]
    Error {
        /// The refused command, when known.
        #[serde(default)]
        command_id: Option<CommandId>,
        /// The poll the error is about, when it is about one (an owner sends it whenever it
        /// knows the poll, so a participant that follows several polls over one connection can
        /// tell which one an `unknown-poll` is about). Omitted when not known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        poll_id: Option<PollId>,
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable reason.
        message: String,
    },
    /// Participant → owner: send me `poll:state` (if newer than `sinceRevision`, when given).
    #[serde(rename = "sync:request")]
    SyncRequest {
        /// The poll.
        poll_id: PollId,
        /// The revision the participant holds, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_revision: Option<Revision>,
    },
    /// Anyone → owner: list your polls.
    #[serde(rename = "poll:list:request")]
    ListRequest,
    /// Owner → anyone: the owner's polls.
    #[serde(rename = "poll:list")]
    List {
        /// One summary per poll.
        polls: Vec<PollSummary>,
    },
    /// Either way: I am still here.
    #[serde(rename = "heartbeat")]
    Heartbeat,
    /// Hub → participant: the current delegation of a poll (PROTOCOL.md §8.2): the sender's
    /// credential when it names the sender, a redirect when it names another hub.
    #[serde(rename = "hub:delegation")]
    Delegation {
        /// The poll.
        poll_id: PollId,
        /// The owner-signed delegation text ([`crate::delegation`]).
        delegation: String,
    },
    /// Owner → the hub serving the poll: move it under this new delegation (§8.4).
    #[serde(rename = "hub:move")]
    Move {
        /// The poll.
        poll_id: PollId,
        /// The new delegation, signed by the owner.
        delegation: String,
    },
    /// Old hub → target hub: some of the poll's command records, before `hub:prepare`.
    #[serde(rename = "hub:records")]
    Records {
        /// The poll.
        poll_id: PollId,
        /// The seq of the delegation being transferred.
        seq: u64,
        /// Command records (4.2), as the old hub stores them.
        records: Vec<ProcessedRecord>,
    },
    /// Old hub → target hub: the poll, its chain and the new delegation; prepare to serve it.
    #[serde(rename = "hub:prepare")]
    Prepare {
        /// The poll.
        poll_id: PollId,
        /// The new delegation (naming the target).
        delegation: String,
        /// The delegations the poll reached the old hub under, oldest first.
        chain: Vec<String>,
        /// The whole poll, as the old hub stores it.
        poll_data: Box<Poll>,
        /// How many records the `hub:records` before it carried.
        record_count: u64,
    },
    /// Target → old hub: the poll is durably prepared (not served).
    #[serde(rename = "hub:prepared")]
    Prepared {
        /// The poll.
        poll_id: PollId,
        /// The delegation's seq.
        seq: u64,
    },
    /// Old hub → target: the move is committed; serve the poll.
    #[serde(rename = "hub:activate")]
    Activate {
        /// The poll.
        poll_id: PollId,
        /// The delegation's seq.
        seq: u64,
    },
    /// Target → old hub: serving it.
    #[serde(rename = "hub:activated")]
    Activated {
        /// The poll.
        poll_id: PollId,
        /// The delegation's seq.
        seq: u64,
    },
    /// Old hub → target: the move was abandoned; forget the prepared copy.
    #[serde(rename = "hub:abort")]
    Abort {
        /// The poll.
        poll_id: PollId,
        /// The delegation's seq.
        seq: u64,
    },
    /// Owner → the hub serving its poll: send me the poll's signed snapshot file (§8.7).
    #[serde(rename = "snapshot:request")]
    SnapshotRequest {
        /// The poll.
        poll_id: PollId,
    },
    /// Hub → owner: the signed snapshot file (PROTOCOL.md §7, §8.9) of the poll.
    #[serde(rename = "snapshot")]
    Snapshot {
        /// The poll.
        poll_id: PollId,
        /// The file's text.
        file: String,
    },
    /// Participant → hub: bind this data connection (PROTOCOL.md §2.7), so the hub may send
    /// its later frames on it without a signature.
    #[serde(rename = "channel:bind:request")]
    BindRequest {
        /// The participant also takes several frames in one message once bound (§2.8).
        #[serde(default, skip_serializing_if = "is_false")]
        batches: bool,
    },
    /// Hub → participant: the DTLS certificate fingerprints of this data connection as the hub
    /// reads them from its SDP (§2.7). Always signed; frames after it on this connection may
    /// come without a signature once the participant found the same two fingerprints.
    #[serde(rename = "channel:bind")]
    Bind {
        /// The hub's own (local) fingerprint, `sha-256 AB:…`.
        hub_fingerprint: String,
        /// The participant's (the hub's remote) fingerprint.
        participant_fingerprint: String,
    },
}

impl Control {
    /// The answer to a command for `poll_id`, from its recorded outcome.
    pub fn answer(poll_id: PollId, command_id: CommandId, outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Acked { revision } => Self::Ack {
                command_id,
                revision: *revision,
            },
            Outcome::Refused { refusal } => Self::refusal(poll_id, Some(command_id), refusal),
        }
    }

    /// An `error` for a refused command for `poll_id`.
    pub fn refusal(poll_id: PollId, command_id: Option<CommandId>, refusal: &Refusal) -> Self {
        Self::Error {
            command_id,
            poll_id: Some(poll_id),
            code: ErrorCode::from(refusal),
            message: refusal.to_string(),
        }
    }

    /// An `unknown-poll` error about `poll_id` not tied to a command (the answer to a
    /// `sync:request`, or the news that the owner deleted it: `message`).
    pub fn poll_gone(poll_id: PollId, message: String) -> Self {
        Self::Error {
            command_id: None,
            poll_id: Some(poll_id),
            code: ErrorCode::UnknownPoll,
            message,
        }
    }

    /// A `poll-deleted` error about `poll_id`, which the owner deleted: the answer to a
    /// `sync:request` or a command for it (`command_id`), and the news sent to its subscribers
    /// when the owner deletes it.
    pub fn poll_deleted(poll_id: PollId, command_id: Option<CommandId>) -> Self {
        Self::Error {
            command_id,
            poll_id: Some(poll_id),
            code: ErrorCode::PollDeleted,
            message: format!("the owner deleted poll {poll_id}"),
        }
    }

    /// An `error` for a frame that could not be opened (its command id is unknown).
    pub fn protocol_error(error: &super::ProtocolError) -> Self {
        Self::Error {
            command_id: None,
            poll_id: None,
            code: ErrorCode::from(error),
            message: error.to_string(),
        }
    }

    /// An `error` for a command naming a poll the owner does not have.
    pub fn unknown_poll(command_id: CommandId, poll_id: PollId) -> Self {
        Self::Error {
            command_id: Some(command_id),
            poll_id: Some(poll_id),
            code: ErrorCode::UnknownPoll,
            message: format!("no poll {poll_id} here"),
        }
    }
}

/// A [`Control`] as JSON has it: `type` and every variant's fields (see [`crate::wire`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ControlFields {
    #[serde(rename = "type")]
    kind: String,
    poll: Option<Box<PollView>>,
    poll_id: Option<PollId>,
    revision: Option<Revision>,
    change: Option<Change>,
    peers: Option<Vec<PeerInfo>>,
    connected: Option<u64>,
    command_id: Option<CommandId>,
    code: Option<ErrorCode>,
    message: Option<String>,
    since_revision: Option<Revision>,
    polls: Option<Vec<PollSummary>>,
    delegation: Option<String>,
    seq: Option<u64>,
    records: Option<Vec<ProcessedRecord>>,
    chain: Option<Vec<String>>,
    poll_data: Option<Box<Poll>>,
    record_count: Option<u64>,
    file: Option<String>,
    hub_fingerprint: Option<String>,
    participant_fingerprint: Option<String>,
    batches: Option<bool>,
}

/// For `skip_serializing_if`: leave a `false` flag out.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

impl TryFrom<ControlFields> for Control {
    type Error = WireError;

    fn try_from(f: ControlFields) -> Result<Self, WireError> {
        Ok(match f.kind.as_str() {
            "poll:state" => Self::State {
                poll: required(f.poll, "poll")?,
            },
            "poll:event" => Self::Event {
                poll_id: required(f.poll_id, "pollId")?,
                event: Event {
                    revision: required(f.revision, "revision")?,
                    change: required(f.change, "change")?,
                },
            },
            "peer:discovery" => {
                let peers: Vec<PeerInfo> = required(f.peers, "peers")?;
                Self::Discovery {
                    poll_id: required(f.poll_id, "pollId")?,
                    connected: f.connected.unwrap_or(peers.len() as u64),
                    peers,
                }
            }
            "ack" => Self::Ack {
                command_id: required(f.command_id, "commandId")?,
                revision: required(f.revision, "revision")?,
            },
            "error" => Self::Error {
                command_id: f.command_id,
                poll_id: f.poll_id,
                code: required(f.code, "code")?,
                message: required(f.message, "message")?,
            },
            "sync:request" => Self::SyncRequest {
                poll_id: required(f.poll_id, "pollId")?,
                since_revision: f.since_revision,
            },
            "poll:list:request" => Self::ListRequest,
            "poll:list" => Self::List {
                polls: required(f.polls, "polls")?,
            },
            "heartbeat" => Self::Heartbeat,
            "hub:delegation" => Self::Delegation {
                poll_id: required(f.poll_id, "pollId")?,
                delegation: required(f.delegation, "delegation")?,
            },
            "hub:move" => Self::Move {
                poll_id: required(f.poll_id, "pollId")?,
                delegation: required(f.delegation, "delegation")?,
            },
            "hub:records" => Self::Records {
                poll_id: required(f.poll_id, "pollId")?,
                seq: required(f.seq, "seq")?,
                records: required(f.records, "records")?,
            },
            "hub:prepare" => Self::Prepare {
                poll_id: required(f.poll_id, "pollId")?,
                delegation: required(f.delegation, "delegation")?,
                chain: required(f.chain, "chain")?,
                poll_data: required(f.poll_data, "pollData")?,
                record_count: required(f.record_count, "recordCount")?,
            },
            "hub:prepared" => Self::Prepared {
                poll_id: required(f.poll_id, "pollId")?,
                seq: required(f.seq, "seq")?,
            },
            "hub:activate" => Self::Activate {
                poll_id: required(f.poll_id, "pollId")?,
                seq: required(f.seq, "seq")?,
            },
            "hub:activated" => Self::Activated {
                poll_id: required(f.poll_id, "pollId")?,
                seq: required(f.seq, "seq")?,
            },
            "hub:abort" => Self::Abort {
                poll_id: required(f.poll_id, "pollId")?,
                seq: required(f.seq, "seq")?,
            },
            "snapshot:request" => Self::SnapshotRequest {
                poll_id: required(f.poll_id, "pollId")?,
            },
            "snapshot" => Self::Snapshot {
                poll_id: required(f.poll_id, "pollId")?,
                file: required(f.file, "file")?,
            },
            "channel:bind:request" => Self::BindRequest {
                batches: f.batches.unwrap_or(false),
            },
            "channel:bind" => Self::Bind {
                hub_fingerprint: required(f.hub_fingerprint, "hubFingerprint")?,
                participant_fingerprint: required(
                    f.participant_fingerprint,
                    "participantFingerprint",
                )?,
            },
            other => return Err(unknown("type", other)),
        })
    }
}

/// The most peers one `peer:discovery` lists (PROTOCOL.md §3.4). With `k` subscribers every
/// announcement is `k` frames, so an uncut list costs `O(k²)` bytes: at 500 subscribers 500
/// frames of ~40 KB, 20 MB that held a vote back for 3.5 s on the native host (B9). Cut at 50,
/// a frame stays under 5 KB; `connected` still gives the count.
pub const DISCOVERY_LISTED_MAX: usize = 50;

/// One connected peer, in `peer:discovery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    /// The peer.
    pub peer_id: PeerId,
    /// Display name, if a member.
    pub name: Option<String>,
    /// Role, if a member.
    pub role: Option<Role>,
}

impl PeerInfo {
    /// The discovery list for `poll` given the peers connected to the owner now.
    pub fn list<'a>(poll: &Poll, connected: impl IntoIterator<Item = &'a PeerId>) -> Vec<Self> {
        connected
            .into_iter()
            .map(|peer| {
                let member = poll.members.get(peer);
                Self {
                    peer_id: peer.clone(),
                    name: member.map(|m| m.display_name.clone()),
                    role: member.map(|m| m.role),
                }
            })
            .collect()
    }

    /// How many of the `connected` peers of a `peer:discovery` (whose list is `listed`) are
    /// participants: all of them but the poll's `owner`, when the owner is connected. A hub
    /// lists the owner first when it is (§3.4), so a cut list still shows it.
    pub fn participants_connected(owner: &PeerId, listed: &[Self], connected: u64) -> u64 {
        let owner_connected = listed.iter().any(|p| p.peer_id == *owner);
        connected.saturating_sub(u64::from(owner_connected))
    }
}

/// One poll in `poll:list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollSummary {
    /// The poll.
    pub poll_id: PollId,
    /// Its title.
    pub title: String,
    /// Open or closed.
    pub status: PollStatus,
    /// Deadline, Unix ms.
    pub deadline: Option<u64>,
    /// Creation time, Unix ms.
    pub created_at: u64,
    /// Current revision.
    pub revision: Revision,
}

impl From<&Poll> for PollSummary {
    fn from(poll: &Poll) -> Self {
        Self {
            poll_id: poll.id,
            title: poll.title.clone(),
            status: poll.status,
            deadline: poll.deadline,
            created_at: poll.created_at,
            revision: poll.revision,
        }
    }
}

impl From<CommandFrame> for Message {
    fn from(frame: CommandFrame) -> Self {
        Self::Command(frame)
    }
}

impl From<Control> for Message {
    fn from(control: Control) -> Self {
        Self::Control(control)
    }
}
