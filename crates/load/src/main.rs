//! `starpoll-load`: the commands the benchmark runner (`bench/run.mjs`, rows B9 and B10) calls.
//! Each prints one JSON object on standard output; progress goes to standard error.
//!
//! - `fanout`: N participants follow a poll on a hub (the real `starpoll-host`); one of them
//!   joins and votes `--votes` times; per vote, when each participant's view reached the new
//!   revision (frame arrived, frame applied), and the hub process's memory (`--watch-pid`).
//! - `drain`: one participant queues `--count` commands before it has any link to the hub,
//!   then connects; when each was answered, and whether any was lost or answered twice.
//! - `broadcast`: the baseline server, a raw str0m broadcaster (prints its peer ID, runs until
//!   SIGTERM or SIGINT).
//! - `raw-fanout` / `raw-drain`: the same two measurements against the broadcaster.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use peerjs_client::signal::PeerName;
use serde_json::json;
use starpoll_core::poll::{Command, CommandId, OptionId, PollId, Revision};
use starpoll_core::{PeerId, ServerConfig};
use starpoll_host::run::unix_ms;
use starpoll_load::followers::Followers;
use starpoll_load::identity::identity;
use starpoll_load::raw::{Broadcaster, RawClients};
use starpoll_load::stats::{check_drain, memory_kib, summary};
use starpoll_load::swarm::{Peers, Swarm, SwarmError};

#[derive(Parser)]
#[command(
    name = "starpoll-load",
    about = "Load clients for the host's scale benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Clone)]
struct Common {
    /// The PeerJS server (`ws://HOST:PORT/PATH`, `?key=` sets the key).
    #[arg(long, default_value = "ws://127.0.0.1:9000/")]
    peerjs: String,
    /// The address the nodes' UDP sockets bind to.
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Index of the first participant identity (identities are derived from their index).
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// UDP port of the first node; node `k` of this process listens on `port_base + k`
    /// (0: any free port).
    #[arg(long, default_value_t = 0)]
    port_base: u16,
}

impl Common {
    /// The PeerJS server `--peerjs` names.
    fn server(&self) -> Result<ServerConfig, LoadError> {
        Ok(ServerConfig::from_url(&self.peerjs)?)
    }

    /// Where node `k` of this process listens.
    fn addr(&self, k: usize) -> SocketAddr {
        let port = if self.port_base == 0 {
            0
        } else {
            self.port_base
                .saturating_add(u16::try_from(k).unwrap_or(u16::MAX))
        };
        SocketAddr::new(self.ip, port)
    }
}

#[derive(Args, Clone)]
struct Crowd {
    /// Participants.
    #[arg(long)]
    n: usize,
    /// Participants started together; the next wave starts when these are connected (or
    /// after `--wave-secs`).
    #[arg(long, default_value_t = 50)]
    wave: usize,
    /// Longest wait for one wave.
    #[arg(long, default_value_t = 60)]
    wave_secs: u64,
    /// Votes (fan-outs) to time.
    #[arg(long, default_value_t = 20)]
    votes: usize,
    /// Longest wait for one fan-out to reach everyone.
    #[arg(long, default_value_t = 15)]
    vote_secs: u64,
    /// A process whose memory (VmRSS, VmHWM) to report (the host, the broadcaster).
    #[arg(long)]
    watch_pid: Option<u32>,
}

/// A queue sent at once and waited for (`drain`, `raw-drain`).
#[derive(Args, Clone, Copy)]
struct Queue {
    /// Commands (`drain`: a join, then votes) or messages (`raw-drain`).
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Longest wait for the drain.
    #[arg(long, default_value_t = 120)]
    secs: u64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fan-out of votes to N participants of a poll on a hub.
    Fanout {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        crowd: Crowd,
        /// The hub's peer ID.
        #[arg(long)]
        hub: PeerId,
        /// The poll.
        #[arg(long)]
        poll: PollId,
    },
    /// A queue of commands made offline, then drained by the hub.
    Drain {
        #[command(flatten)]
        common: Common,
        /// The hub's peer ID.
        #[arg(long)]
        hub: PeerId,
        /// The poll.
        #[arg(long)]
        poll: PollId,
        #[command(flatten)]
        queue: Queue,
    },
    /// The baseline server: relays every message to every channel.
    Broadcast {
        #[command(flatten)]
        common: Common,
    },
    /// Fan-out of messages to N raw clients of the broadcaster.
    RawFanout {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        crowd: Crowd,
        /// The broadcaster's peer ID.
        #[arg(long)]
        hub: PeerId,
        /// Bytes per message (about a sealed `poll:event` frame).
        #[arg(long, default_value_t = 700)]
        size: usize,
    },
    /// `--count` messages sent at once to the broadcaster and echoed back.
    RawDrain {
        #[command(flatten)]
        common: Common,
        /// The broadcaster's peer ID.
        #[arg(long)]
        hub: PeerId,
        #[command(flatten)]
        queue: Queue,
        /// Bytes per message (about a sealed `poll:vote` frame).
        #[arg(long, default_value_t = 400)]
        size: usize,
    },
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("--peerjs: {0}")]
    Server(#[from] starpoll_core::ServerUrlError),
    #[error(transparent)]
    Swarm(#[from] SwarmError),
    #[error("could not start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("could not listen for signals: {0}")]
    Signals(#[source] std::io::Error),
    #[error("{0}")]
    Failed(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("starpoll-load: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Cmd) -> Result<serde_json::Value, LoadError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LoadError::Runtime)?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        match command {
            Cmd::Fanout {
                common,
                crowd,
                hub,
                poll,
            } => fanout(&common, &crowd, &hub, poll).await,
            Cmd::Drain {
                common,
                hub,
                poll,
                queue,
            } => drain(&common, &hub, poll, &queue).await,
            Cmd::Broadcast { common } => broadcast(&common).await,
            Cmd::RawFanout {
                common,
                crowd,
                hub,
                size,
            } => raw_fanout(&common, &crowd, &hub, size).await,
            Cmd::RawDrain {
                common,
                hub,
                queue,
                size,
            } => raw_drain(&common, &hub, &queue, size).await,
        }
    })
}

fn progress(what: &str) {
    eprintln!("[starpoll-load {}] {what}", unix_ms());
}

fn memory(pid: Option<u32>) -> serde_json::Value {
    let Some(pid) = pid else {
        return serde_json::Value::Null;
    };
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => {
            let (rss, hwm) = memory_kib(&status);
            json!({ "rssKiB": rss, "hwmKiB": hwm })
        }
        Err(error) => json!({ "error": error.to_string() }),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A command ID that differs per participant and command (randomness is an input: these only
/// need to be unique within the run and across runs of the same index, hence the time).
/// `n` goes in bytes 0–5 and the rest in bytes 9–15: bytes 6 and 8 carry the UUID version and
/// variant bits, which `from_random_bytes` overwrites (with `n` there, ids collided every 64).
fn command_id(participant: u64, n: u64, salt: u64) -> CommandId {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&n.to_le_bytes()[..6]);
    bytes[9..].copy_from_slice(&(participant ^ salt.rotate_left(17)).to_le_bytes()[..7]);
    CommandId::from_random_bytes(bytes)
}

fn vote(option: u32) -> Command {
    Command::CastVote {
        option_ids: vec![OptionId(option)],
        answers: Default::default(),
    }
}

/// A crowd after [`connect_crowd`]: how many got ready, how long it took, per wave.
struct Crowded {
    connected: usize,
    connect_ms: f64,
    waves: Vec<serde_json::Value>,
    memory_connected: serde_json::Value,
}

impl Crowded {
    /// The report fields every fan-out shares, with `kind` and the run's own `fields`.
    fn report(
        self,
        kind: &str,
        crowd: &Crowd,
        memory_after: serde_json::Value,
        fields: serde_json::Value,
    ) -> serde_json::Value {
        let mut report = json!({
            "kind": kind,
            "n": crowd.n,
            "connected": self.connected,
            "connectMs": self.connect_ms,
            "waves": self.waves,
            "memoryConnected": self.memory_connected,
            "memoryAfter": memory_after,
        });
        if let (Some(report), serde_json::Value::Object(fields)) = (report.as_object_mut(), fields)
        {
            report.extend(fields);
        }
        report
    }
}

/// Adds `crowd.n` nodes to `swarm` in waves of `crowd.wave` (`add` sets up node `index`'s
/// peer); the next wave starts once `ready` counts every node so far, or the wave's time is up
/// (then the crowd stops growing). Each wave is reported as `{upto, <ready_key>, ms}`.
async fn connect_crowd<P: Peers>(
    swarm: &mut Swarm,
    peers: &mut P,
    common: &Common,
    crowd: &Crowd,
    ready_key: &str,
    mut add: impl FnMut(&mut P, u64),
    ready: impl Fn(&P) -> usize,
) -> Result<Crowded, LoadError> {
    let server = common.server()?;
    let started = Instant::now();
    let mut waves = Vec::new();
    while swarm.len() < crowd.n {
        let wave_start = Instant::now();
        let upto = (swarm.len() + crowd.wave).min(crowd.n);
        while swarm.len() < upto {
            let index = common.first + swarm.len() as u64;
            swarm
                .add(&identity(index), &server, common.addr(swarm.len()), index)
                .await?;
            add(peers, index);
        }
        let all = swarm
            .run(
                peers,
                wave_start + Duration::from_secs(crowd.wave_secs),
                |p| ready(p) >= upto,
            )
            .await;
        let have = ready(peers);
        progress(&format!("{have}/{upto} {ready_key}"));
        waves.push(json!({ "upto": upto, ready_key: have, "ms": ms(wave_start.elapsed()) }));
        if !all {
            break;
        }
    }
    Ok(Crowded {
        connected: ready(peers),
        connect_ms: ms(started.elapsed()),
        waves,
        memory_connected: memory(crowd.watch_pid),
    })
}

/// A swarm of one node, participant `--first`, for a drain.
async fn lone_node(common: &Common) -> Result<Swarm, LoadError> {
    let mut swarm = Swarm::new();
    swarm
        .add(
            &identity(common.first),
            &common.server()?,
            common.addr(0),
            common.first,
        )
        .await?;
    Ok(swarm)
}

async fn fanout(
    common: &Common,
    crowd: &Crowd,
    hub: &PeerId,
    poll: PollId,
) -> Result<serde_json::Value, LoadError> {
    let mut swarm = Swarm::new();
    let mut peers = Followers::new();
    let in_time = |p: &Followers| {
        p.participants
            .iter()
            .filter(|p| p.revision().is_some())
            .count()
    };
    let crowded = connect_crowd(
        &mut swarm,
        &mut peers,
        common,
        crowd,
        "synced",
        |peers, index| peers.add(identity(index), hub, poll, index),
        in_time,
    )
    .await?;
    let connected = crowded.connected;
    if connected == 0 {
        return Err(LoadError::Failed("no participant got the poll".into()));
    }
    // Participant 0 joins (a vote needs a member), then votes, alternating two options.
    let salt = unix_ms();
    let mut sent = 0u64;
    let mut submit = |swarm: &mut Swarm, peers: &mut Followers, command: Command| {
        sent += 1;
        let id = command_id(common.first, sent, salt);
        let ok = swarm
            .node(0)
            .is_some_and(|node| peers.submit(0, node, id, command));
        (id, ok)
    };
    let (join, _) = submit(
        &mut swarm,
        &mut peers,
        Command::Join {
            display_name: "Load voter".into(),
        },
    );
    let answered = |p: &Followers, id: CommandId| {
        p.participants
            .first()
            .is_some_and(|v| v.answers.iter().any(|a| a.command_id == id))
    };
    swarm
        .run(
            &mut peers,
            Instant::now() + Duration::from_secs(crowd.vote_secs),
            |p| answered(p, join),
        )
        .await;
    let voter_joined = peers
        .participants
        .first()
        .is_some_and(|v| v.answers.iter().any(|a| a.command_id == join));
    progress(&format!("voter joined: {voter_joined}"));
    // A voter the hub never answered cannot vote: report the connection figures only.
    let votes = if voter_joined { crowd.votes } else { 0 };
    let mut per_vote_arrived = Vec::new();
    let mut per_vote_applied = Vec::new();
    let mut each_arrived = Vec::new();
    let mut each_applied = Vec::new();
    let mut sent_at_unix = Vec::new();
    let mut missed = 0usize;
    let mut timed_out = false;
    for v in 0..votes {
        // Settle: every participant has the voter's current revision.
        let base = peers
            .participants
            .first()
            .and_then(|p| p.revision())
            .unwrap_or(Revision(0));
        swarm
            .run(
                &mut peers,
                Instant::now() + Duration::from_secs(crowd.vote_secs),
                |p| {
                    p.participants
                        .iter()
                        .filter(|p| p.revision().is_some())
                        .all(|p| p.revision() >= Some(base))
                },
            )
            .await;
        let target = Revision(base.0 + 1);
        let option = 1 + u32::try_from(v % 2).unwrap_or(0);
        sent_at_unix.push(unix_ms());
        let t0 = Instant::now();
        let (_, ok) = submit(&mut swarm, &mut peers, vote(option));
        if !ok {
            return Err(LoadError::Failed(format!("vote {v} could not be staged")));
        }
        let everyone = connected;
        swarm
            .run(&mut peers, t0 + Duration::from_secs(crowd.vote_secs), |p| {
                p.participants
                    .iter()
                    .filter(|p| p.revision() >= Some(target))
                    .count()
                    >= everyone
            })
            .await;
        let mut last_arrived: f64 = 0.0;
        let mut last_applied: f64 = 0.0;
        for p in &peers.participants {
            match p.reached_at(target) {
                Some(r) => {
                    let a = ms(r.arrived.saturating_duration_since(t0));
                    let b = ms(r.applied.saturating_duration_since(t0));
                    each_arrived.push(a);
                    each_applied.push(b);
                    last_arrived = last_arrived.max(a);
                    last_applied = last_applied.max(b);
                }
                None => missed += 1,
            }
        }
        progress(&format!(
            "vote {v}: revision {} reached by {}/{everyone}, last applied at {last_applied:.1} ms",
            target.0,
            peers
                .participants
                .iter()
                .filter(|p| p.revision() >= Some(target))
                .count()
        ));
        let reached = peers
            .participants
            .iter()
            .filter(|p| p.revision() >= Some(target))
            .count();
        if reached == 0 {
            // Nobody got this vote in time (not even the voter's ack): the hub is not keeping up.
            break;
        }
        per_vote_arrived.push(last_arrived);
        per_vote_applied.push(last_applied);
        if reached < everyone {
            // Not everyone within --vote-secs: the figure is a lower bound; more votes would
            // only wait as long again.
            timed_out = true;
            break;
        }
    }
    let memory_after = memory(crowd.watch_pid);
    let still = in_time(&peers);
    swarm.shut_down().await;
    Ok(crowded.report(
        "fanout",
        crowd,
        memory_after,
        json!({
        "connectedAtEnd": still,
        "voterJoined": voter_joined,
        "timedOut": timed_out,
        "votes": per_vote_applied.len(),
        "missed": missed,
        "allArrived": summary(&per_vote_arrived),
        "allApplied": summary(&per_vote_applied),
        "eachArrived": summary(&each_arrived),
        "eachApplied": summary(&each_applied),
        "perVoteAllAppliedMs": per_vote_applied,
        "sentAtUnixMs": sent_at_unix,
        }),
    ))
}

async fn drain(
    common: &Common,
    hub: &PeerId,
    poll: PollId,
    queue: &Queue,
) -> Result<serde_json::Value, LoadError> {
    let Queue { count, secs } = *queue;
    let mut swarm = lone_node(common).await?;
    let mut peers = Followers::new();
    let index = common.first;
    peers.add(identity(index), hub, poll, index);
    // The queue is made before any link to the hub exists: the follower holds it (offline).
    let salt = unix_ms();
    let mut sent = Vec::with_capacity(count);
    let mut answers_expected = 0;
    for k in 0..count {
        let command = if k == 0 {
            Command::Join {
                display_name: "Drain".into(),
            }
        } else {
            vote(1 + u32::try_from(k % 2).unwrap_or(0))
        };
        let id = command_id(index, k as u64, salt);
        if let Some(node) = swarm.node(0) {
            if peers.submit(0, node, id, command) {
                sent.push(id);
                answers_expected += 1;
            }
        }
    }
    let queued_at = Instant::now();
    let done = swarm
        .run(&mut peers, queued_at + Duration::from_secs(secs), |p| {
            p.participants
                .first()
                .is_some_and(|p| p.answers.len() >= answers_expected)
        })
        .await;
    let participant = peers
        .participants
        .first()
        .ok_or_else(|| LoadError::Failed("no participant".into()))?;
    let opened = participant.opened_at;
    let last = participant.answers.last().map(|a| a.at);
    let first_answer = participant.answers.first().map(|a| a.at);
    let answers: Vec<(CommandId, Option<Revision>)> = participant
        .answers
        .iter()
        .map(|a| (a.command_id, a.revision))
        .collect();
    let check = check_drain(&sent, &answers);
    let drain_ms = match (opened, last) {
        (Some(opened), Some(last)) => Some(ms(last.saturating_duration_since(opened))),
        _ => None,
    };
    let first_ms = match (opened, first_answer) {
        (Some(opened), Some(first)) => Some(ms(first.saturating_duration_since(opened))),
        _ => None,
    };
    swarm.shut_down().await;
    Ok(json!({
        "kind": "drain",
        "commands": sent.len(),
        "complete": done,
        "answered": answers.len(),
        "drainMs": drain_ms,
        "firstAnswerMs": first_ms,
        "lost": check.lost,
        "duplicated": check.duplicated,
        "refused": check.refused,
        "consecutive": check.consecutive,
    }))
}

async fn broadcast(common: &Common) -> Result<serde_json::Value, LoadError> {
    use tokio::signal::unix::{signal, SignalKind};
    let me = identity(common.first);
    let mut swarm = lone_node(common).await?;
    let mut peers = Broadcaster::default();
    // The runner reads the ID from the first line, then waits for registration itself.
    println!("{}", me.peer_id());
    let mut term = signal(SignalKind::terminate()).map_err(LoadError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(LoadError::Signals)?;
    let forever = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    tokio::select! {
        _ = swarm.run(&mut peers, forever, |_| false) => {}
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    swarm.shut_down().await;
    Ok(json!({ "kind": "broadcast", "relayed": peers.relayed }))
}

/// A message of `size` bytes starting with `tag` and a space.
fn padded(tag: &str, size: usize) -> String {
    let mut text = format!("{tag} ");
    while text.len() < size {
        text.push('x');
    }
    text
}

async fn raw_fanout(
    common: &Common,
    crowd: &Crowd,
    target: &PeerId,
    size: usize,
) -> Result<serde_json::Value, LoadError> {
    let mut swarm = Swarm::new();
    let mut peers = RawClients::new(PeerName::new(target.as_str()));
    let crowded = connect_crowd(
        &mut swarm,
        &mut peers,
        common,
        crowd,
        "open",
        |peers, _| peers.add(),
        |p| p.clients.iter().filter(|c| c.open).count(),
    )
    .await?;
    let mut per_vote = Vec::new();
    let mut each = Vec::new();
    let mut missed = 0;
    for v in 0..crowd.votes {
        let tag = format!("fanout-{v}");
        let text = padded(&tag, size);
        let t0 = Instant::now();
        if let Some(node) = swarm.node(0) {
            peers.send(0, node, &text);
        }
        let has = |c: &starpoll_load::raw::RawClient| c.received.iter().any(|(t, _)| *t == text);
        swarm
            .run(&mut peers, t0 + Duration::from_secs(crowd.vote_secs), |p| {
                p.clients.iter().filter(|c| c.open).all(has)
            })
            .await;
        let mut last: f64 = 0.0;
        for c in &peers.clients {
            match c.received.iter().find(|(t, _)| *t == text) {
                Some((_, at)) => {
                    let x = ms(at.saturating_duration_since(t0));
                    each.push(x);
                    last = last.max(x);
                }
                None => missed += 1,
            }
        }
        per_vote.push(last);
        // A short pause, like the time between two votes of the starpoll run.
        swarm
            .run(
                &mut peers,
                Instant::now() + Duration::from_millis(20),
                |_| false,
            )
            .await;
    }
    let memory_after = memory(crowd.watch_pid);
    swarm.shut_down().await;
    Ok(crowded.report(
        "raw-fanout",
        crowd,
        memory_after,
        json!({
            "votes": crowd.votes,
            "missed": missed,
            "allArrived": summary(&per_vote),
            "eachArrived": summary(&each),
        }),
    ))
}

async fn raw_drain(
    common: &Common,
    target: &PeerId,
    queue: &Queue,
    size: usize,
) -> Result<serde_json::Value, LoadError> {
    let Queue { count, secs } = *queue;
    let mut swarm = lone_node(common).await?;
    let mut peers = RawClients::new(PeerName::new(target.as_str()));
    peers.add();
    let open = swarm
        .run(
            &mut peers,
            Instant::now() + Duration::from_secs(secs),
            |p| p.clients.iter().all(|c| c.open),
        )
        .await;
    if !open {
        return Err(LoadError::Failed("the raw client did not connect".into()));
    }
    let t0 = Instant::now();
    if let Some(node) = swarm.node(0) {
        for k in 0..count {
            peers.send(0, node, &padded(&format!("drain-{k}"), size));
        }
    }
    let done = swarm
        .run(&mut peers, t0 + Duration::from_secs(secs), |p| {
            p.clients.first().is_some_and(|c| c.received.len() >= count)
        })
        .await;
    let client = peers
        .clients
        .first()
        .ok_or_else(|| LoadError::Failed("no client".into()))?;
    let last = client
        .received
        .last()
        .map(|(_, at)| ms(at.saturating_duration_since(t0)));
    let received = client.received.len();
    swarm.shut_down().await;
    Ok(json!({
        "kind": "raw-drain",
        "messages": count,
        "complete": done,
        "received": received,
        "drainMs": last,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_ids_of_one_run_are_distinct() {
        let ids: std::collections::BTreeSet<CommandId> = (0..5000)
            .map(|n| command_id(3, n, 1_796_378_000_000))
            .collect();
        assert_eq!(ids.len(), 5000);
    }

    #[test]
    fn a_crowd_report_has_the_shared_fields_and_the_runs_own() {
        let crowd = Crowd {
            n: 3,
            wave: 50,
            wave_secs: 60,
            votes: 20,
            vote_secs: 15,
            watch_pid: None,
        };
        let crowded = Crowded {
            connected: 2,
            connect_ms: 12.5,
            waves: vec![json!({ "upto": 3, "open": 2, "ms": 12.5 })],
            memory_connected: serde_json::Value::Null,
        };
        let report = crowded.report(
            "raw-fanout",
            &crowd,
            json!({ "rssKiB": 1 }),
            json!({ "missed": 4 }),
        );
        assert_eq!(
            report,
            json!({
                "kind": "raw-fanout",
                "n": 3,
                "connected": 2,
                "connectMs": 12.5,
                "waves": [{ "upto": 3, "open": 2, "ms": 12.5 }],
                "memoryConnected": null,
                "memoryAfter": { "rssKiB": 1 },
                "missed": 4,
            })
        );
    }
}
