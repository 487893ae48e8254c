//! Tests of [`super`] (the signaling session machine), beside it as the core's are.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::server::ServerConfig;
use crate::signal::{IceCandidate, Serialization};
use serde_json::{json, Value};

const URL: &str =
    "ws://127.0.0.1:9000/myapp/peerjs?key=peerjs&id=owner1&token=ymtj9oiu6&version=1.5.5";
const OPEN: &str = r#"{"type":"OPEN"}"#;

fn config() -> SessionConfig {
    SessionConfig::new(
        ServerConfig::new("127.0.0.1", 9000, "/myapp", "peerjs", false),
        PeerName::new("owner1"),
        "ymtj9oiu6",
    )
}

/// Drives a session with simulated time, like a shell would.
struct Sim {
    session: Session,
    now: u64,
}

impl Sim {
    fn new(config: SessionConfig) -> (Self, Vec<Output>) {
        let mut sim = Self {
            session: Session::new(config, 42, 1000),
            now: 1000,
        };
        let out = sim.drain();
        (sim, out)
    }

    /// A session that is open at t = 1000 (socket opened, OPEN received).
    fn open() -> Self {
        let (mut sim, _) = Self::new(config());
        sim.input(Input::SocketOpened);
        assert_eq!(sim.text(OPEN), vec![Output::Open]);
        sim
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.session.poll_output()).collect()
    }

    fn input(&mut self, input: Input) -> Vec<Output> {
        self.session.handle_input(input, self.now);
        self.drain()
    }

    fn text(&mut self, frame: &str) -> Vec<Output> {
        self.input(Input::SocketText(frame.to_owned()))
    }

    /// Advances the clock to `t`, firing every timer due on the way at its own instant.
    fn advance_to(&mut self, t: u64) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(due) = self.session.poll_timeout() {
            if due > t {
                break;
            }
            self.now = self.now.max(due);
            out.extend(self.input(Input::Tick));
        }
        self.now = t;
        out
    }

    fn advance_by(&mut self, ms: u64) -> Vec<Output> {
        self.advance_to(self.now + ms)
    }
}

fn sent(outputs: &[Output]) -> Vec<Value> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::SendText(t) => Some(serde_json::from_str(t).unwrap()),
            _ => None,
        })
        .collect()
}

fn types(outputs: &[Output]) -> Vec<String> {
    sent(outputs)
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_owned())
        .collect()
}

fn offer(id: &str) -> OfferPayload {
    OfferPayload::new(
        ConnectionId::new(id),
        "v=0",
        Serialization::Json,
        Some(json!({"v": 1})),
    )
}

fn connect(remote: &str, id: &str) -> Input {
    Input::Connect {
        remote: remote.into(),
        offer: offer(id),
    }
}

fn candidate(id: &str, line: &str) -> CandidatePayload {
    CandidatePayload {
        candidate: IceCandidate {
            candidate: line.into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: Some("u".into()),
        },
        connection_id: ConnectionId::new(id),
    }
}

fn relayed_candidate(src: &str, id: &str, line: &str) -> String {
    json!({"type": "CANDIDATE", "src": src, "dst": "owner1", "payload": {
        "candidate": {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0,
                      "usernameFragment": "u"},
        "type": "data", "connectionId": id}})
    .to_string()
}

fn relayed_answer(src: &str, id: &str) -> String {
    json!({"type": "ANSWER", "src": src, "dst": "owner1", "payload": {
        "sdp": {"sdp": "v=0 answer", "type": "answer"}, "type": "data", "connectionId": id}})
    .to_string()
}

fn relayed_offer(src: &str, id: &str) -> String {
    json!({"type": "OFFER", "src": src, "dst": "owner1", "payload": {
        "sdp": {"sdp": "v=0", "type": "offer"}, "type": "data", "connectionId": id,
        "label": id, "reliable": true, "serialization": "json"}})
    .to_string()
}

fn failed(id: &str, peer: &str, reason: ConnectFailReason) -> Output {
    Output::ConnectFailed {
        connection_id: ConnectionId::new(id),
        peer: peer.into(),
        reason,
    }
}

fn error_kinds(outputs: &[Output]) -> Vec<PeerErrorKind> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Error(e) => Some(e.kind.clone()),
            _ => None,
        })
        .collect()
}

// ---- rule 1: URL and registration ----

#[test]
fn socket_url_is_exactly_peerjs() {
    assert_eq!(config().socket_url(), URL);
    let secure = ServerConfig::new("0.peerjs.com", 443, "", "peerjs", true);
    assert_eq!(
        secure.socket_url(&"a b".into(), "t&k", "1.5.5"),
        "wss://0.peerjs.com:443/peerjs?key=peerjs&id=a%20b&token=t%26k&version=1.5.5"
    );
    assert_eq!(ServerConfig::new("h", 1, "/x/y/", "k", false).path, "/x/y/");
    assert_eq!(ServerConfig::new("h", 1, "x", "k", false).path, "/x/");
}

#[test]
fn registers_then_opens() {
    let (mut sim, out) = Sim::new(config());
    assert_eq!(out, vec![Output::OpenSocket { url: URL.into() }]);
    assert_eq!(sim.session.state(), SessionState::Connecting);
    assert!(sim.input(Input::SocketOpened).is_empty());
    assert_eq!(sim.session.state(), SessionState::Connecting);
    sim.now += 1;
    assert_eq!(sim.text(OPEN), vec![Output::Open]);
    assert_eq!(sim.session.state(), SessionState::Open);
    // A second OPEN changes nothing.
    assert!(sim.text(OPEN).is_empty());
}

#[test]
fn id_taken_stops_without_reconnecting() {
    let (mut sim, _) = Sim::new(config());
    sim.input(Input::SocketOpened);
    let out = sim.text(r#"{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}"#);
    assert_eq!(
        out,
        vec![
            Output::Error(PeerError::new(PeerErrorKind::UnavailableId, "ID is taken")),
            Output::CloseSocket,
        ]
    );
    assert_eq!(sim.session.state(), SessionState::Disconnected);
    assert!(sim.input(Input::SocketClosed).is_empty());
    assert_eq!(sim.session.poll_timeout(), None);
    assert!(sim.advance_by(3_600_000).is_empty());
    // Dials are refused while stopped.
    assert_eq!(
        sim.input(connect("guest1", "dc_a")),
        vec![failed("dc_a", "guest1", ConnectFailReason::Disconnected)]
    );
}

#[test]
fn server_error_reports_its_message_and_stops() {
    let (mut sim, _) = Sim::new(config());
    sim.input(Input::SocketOpened);
    let out = sim.text(r#"{"type":"ERROR","payload":{"msg":"Invalid key provided"}}"#);
    assert_eq!(
        out,
        vec![
            Output::Error(PeerError::new(
                PeerErrorKind::ServerError,
                "Invalid key provided"
            )),
            Output::CloseSocket,
        ]
    );
    assert!(sim.input(Input::SocketClosed).is_empty());
    assert!(sim.advance_by(3_600_000).is_empty());
    // The user may try again.
    assert_eq!(
        sim.input(Input::Reconnect),
        vec![Output::OpenSocket { url: URL.into() }]
    );
}

#[test]
fn invalid_id_is_refused_before_connecting() {
    let mut cfg = config();
    cfg.id = PeerName::new("bad.id");
    let (mut sim, out) = Sim::new(cfg);
    assert_eq!(error_kinds(&out), vec![PeerErrorKind::InvalidId]);
    assert!(!out.iter().any(|o| matches!(o, Output::OpenSocket { .. })));
    assert_eq!(sim.session.state(), SessionState::Disconnected);
    assert!(sim.advance_by(60_000).is_empty());
}

// ---- rule 2: silent re-attach ----

#[test]
fn silent_reattach_counts_as_open_after_the_grace() {
    let (mut sim, _) = Sim::new(config());
    sim.input(Input::SocketOpened);
    assert_eq!(sim.session.poll_timeout(), Some(1000 + 2000));
    assert!(sim.advance_to(2999).is_empty());
    assert_eq!(sim.advance_to(3000), vec![Output::Open]);
    assert_eq!(sim.session.state(), SessionState::Open);
    // A late OPEN is not a second Open event.
    assert!(sim.text(OPEN).is_empty());
}

#[test]
fn a_relayed_frame_during_the_grace_proves_registration() {
    let (mut sim, _) = Sim::new(config());
    sim.input(Input::SocketOpened);
    let out = sim.text(&relayed_offer("guest1", "dc_x"));
    assert_eq!(out[0], Output::Open);
    assert!(matches!(out[1], Output::IncomingOffer { .. }));
}

// ---- rule 3: heartbeats ----

#[test]
fn heartbeats_every_interval_and_on_visibility() {
    let mut sim = Sim::open(); // socket opened at 1000
    let mut beats = Vec::new();
    for _ in 0..3 {
        let out = sim.advance_to(sim.session.poll_timeout().unwrap());
        assert_eq!(types(&out), vec!["HEARTBEAT"]);
        beats.push(sim.now);
    }
    assert_eq!(beats, vec![6000, 11_000, 16_000]);
    sim.now = 18_000;
    assert_eq!(
        sim.input(Input::VisibilityVisible),
        vec![Output::SendText(r#"{"type":"HEARTBEAT"}"#.into())]
    );
    assert_eq!(sim.session.poll_timeout(), Some(23_000));
    assert!(sim.advance_to(22_999).is_empty());
    assert_eq!(types(&sim.advance_to(23_000)), vec!["HEARTBEAT"]);
}

#[test]
fn a_late_tick_sends_one_heartbeat_and_reschedules_from_then() {
    let mut sim = Sim::open();
    sim.now = 61_000; // background tab: the timer fired a minute late
    assert_eq!(types(&sim.input(Input::Tick)), vec!["HEARTBEAT"]);
    assert_eq!(sim.session.poll_timeout(), Some(66_000));
}

// ---- rule 4: outbox ----

#[test]
fn signaling_before_open_is_flushed_in_order_on_open() {
    let (mut sim, _) = Sim::new(config());
    assert!(sim.input(connect("guest1", "dc_a")).is_empty());
    assert!(sim
        .input(Input::SendCandidate {
            remote: "guest1".into(),
            candidate: candidate("dc_a", "c1"),
        })
        .is_empty());
    assert!(sim
        .input(Input::SendAnswer {
            remote: "guest2".into(),
            answer: AnswerPayload {
                sdp: "v=0".into(),
                connection_id: "dc_b".into(),
            },
        })
        .is_empty());
    assert!(sim
        .input(Input::SendLeave {
            remote: "guest3".into()
        })
        .is_empty());
    sim.input(Input::SocketOpened);
    assert!(sim
        .input(Input::SocketText(r#"{"type":"HEARTBEAT"}"#.into()))
        .is_empty());
    let out = sim.text(OPEN);
    assert_eq!(out[0], Output::Open);
    let frames = sent(&out);
    assert_eq!(types(&out), vec!["OFFER", "CANDIDATE", "ANSWER", "LEAVE"]);
    assert_eq!(frames[0]["dst"], "guest1");
    assert_eq!(frames[0]["payload"]["connectionId"], "dc_a");
    assert_eq!(frames[1]["payload"]["candidate"]["candidate"], "c1");
    assert_eq!(frames[2]["dst"], "guest2");
    assert_eq!(frames[3], json!({"type": "LEAVE", "dst": "guest3"}));
    // Once open, frames go straight out.
    let out = sim.input(Input::SendCandidate {
        remote: "guest1".into(),
        candidate: candidate("dc_a", "c2"),
    });
    assert_eq!(types(&out), vec!["CANDIDATE"]);
}

#[test]
fn outbox_is_bounded_and_a_dropped_offer_fails_its_dial() {
    let mut cfg = config();
    cfg.max_queued_outbound = 3;
    let (mut sim, _) = Sim::new(cfg);
    sim.input(connect("p1", "dc_1"));
    sim.input(connect("p2", "dc_2"));
    sim.input(connect("p3", "dc_3"));
    assert_eq!(
        sim.input(connect("p4", "dc_4")),
        vec![failed("dc_1", "p1", ConnectFailReason::QueueFull)]
    );
    assert_eq!(sim.session.outbox.len(), 3);
    sim.input(Input::SocketOpened);
    let frames = sent(&sim.text(OPEN));
    let dsts: Vec<&str> = frames.iter().map(|f| f["dst"].as_str().unwrap()).collect();
    assert_eq!(dsts, vec!["p2", "p3", "p4"]);
}

// ---- rule 5: holding early ANSWER/CANDIDATE ----

#[test]
fn candidates_before_their_offer_are_delivered_after_it() {
    let mut sim = Sim::open();
    assert!(sim
        .text(&relayed_candidate("guest1", "dc_x", "c1"))
        .is_empty());
    assert!(sim
        .text(&relayed_candidate("guest1", "dc_x", "c2"))
        .is_empty());
    assert!(sim
        .text(&relayed_candidate("guest1", "dc_other", "c9"))
        .is_empty());
    let out = sim.text(&relayed_offer("guest1", "dc_x"));
    assert_eq!(out.len(), 3);
    assert!(matches!(&out[0], Output::IncomingOffer { src, .. } if src.as_str() == "guest1"));
    assert_eq!(
        out[1],
        Output::RemoteCandidate {
            connection_id: "dc_x".into(),
            payload: candidate("dc_x", "c1"),
        }
    );
    assert_eq!(
        out[2],
        Output::RemoteCandidate {
            connection_id: "dc_x".into(),
            payload: candidate("dc_x", "c2"),
        }
    );
    // Registered now: later candidates go straight through; dc_other is still held.
    assert_eq!(
        sim.text(&relayed_candidate("guest1", "dc_x", "c3")).len(),
        1
    );
    assert_eq!(sim.session.held.len(), 1);
}

#[test]
fn an_answer_before_connect_is_delivered_on_connect() {
    let mut sim = Sim::open();
    assert!(sim.text(&relayed_answer("guest1", "dc_a")).is_empty());
    let out = sim.input(connect("guest1", "dc_a"));
    assert_eq!(types(&out), vec!["OFFER"]);
    assert_eq!(
        out[1],
        Output::RemoteAnswer {
            connection_id: "dc_a".into(),
            payload: AnswerPayload {
                sdp: "v=0 answer".into(),
                connection_id: "dc_a".into(),
            },
        }
    );
}

#[test]
fn signals_from_the_wrong_peer_are_dropped() {
    let mut sim = Sim::open();
    sim.input(connect("guest1", "dc_a"));
    assert!(sim.text(&relayed_answer("mallory", "dc_a")).is_empty());
    assert!(sim
        .text(&relayed_candidate("mallory", "dc_a", "c"))
        .is_empty());
    assert!(sim
        .text(&relayed_candidate("mallory", "dc_b", "c"))
        .is_empty());
    let out = sim.text(&relayed_offer("guest1", "dc_b"));
    assert_eq!(out.len(), 1, "mallory's held candidate is not guest1's");
}

#[test]
fn held_signals_are_bounded_in_count_and_age() {
    let mut sim = Sim::open();
    for i in 0..10_000 {
        sim.text(&relayed_candidate("flood", &format!("dc_{i}"), "c"));
    }
    assert_eq!(sim.session.held.len(), 64);
    // The oldest were evicted: dc_0 gets nothing, dc_9999 gets its candidate.
    assert_eq!(sim.text(&relayed_offer("flood", "dc_0")).len(), 1);
    assert_eq!(sim.text(&relayed_offer("flood", "dc_9999")).len(), 2);

    sim.text(&relayed_candidate("guest1", "dc_late", "c"));
    sim.advance_by(15_001);
    let out = sim.text(&relayed_offer("guest1", "dc_late"));
    assert_eq!(
        out.len(),
        1,
        "a candidate older than the max age is dropped"
    );
    assert!(sim.session.held.is_empty());
}

// ---- rule 6: EXPIRE and the connect timeout ----

#[test]
fn expire_fails_every_pending_dial_to_that_peer() {
    let mut sim = Sim::open();
    sim.input(connect("ghost", "dc_1"));
    sim.input(connect("guest1", "dc_2"));
    sim.input(connect("ghost", "dc_3"));
    sim.now += 5537;
    let out = sim.text(r#"{"type":"EXPIRE","src":"ghost","dst":"owner1"}"#);
    assert_eq!(
        out,
        vec![
            Output::Error(PeerError::new(
                PeerErrorKind::PeerUnavailable {
                    peer: "ghost".into()
                },
                "Could not connect to peer ghost"
            )),
            failed("dc_1", "ghost", ConnectFailReason::PeerUnavailable),
            failed("dc_3", "ghost", ConnectFailReason::PeerUnavailable),
        ]
    );
    // guest1's dial is unaffected and later times out on its own.
    let out = sim.advance_to(1000 + 10_000);
    assert!(out.contains(&failed("dc_2", "guest1", ConnectFailReason::Timeout)));
    assert!(sim.session.pending.is_empty());
}

#[test]
fn a_dial_that_never_opens_times_out() {
    let mut sim = Sim::open();
    sim.input(connect("frozen", "dc_1"));
    // An answer alone does not stop the timer: only an open channel does.
    assert_eq!(sim.text(&relayed_answer("frozen", "dc_1")).len(), 1);
    let out = sim.advance_to(1000 + 9_999);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::ConnectFailed { .. })));
    let out = sim.advance_to(1000 + 10_000);
    assert!(out.contains(&failed("dc_1", "frozen", ConnectFailReason::Timeout)));
    // Forgotten: a late answer is held, not delivered.
    assert!(sim.text(&relayed_answer("frozen", "dc_1")).is_empty());
}

#[test]
fn an_opened_dial_does_not_time_out() {
    let mut sim = Sim::open();
    sim.input(connect("guest1", "dc_1"));
    sim.now += 3000;
    sim.input(Input::ConnectionOpened("dc_1".into()));
    let out = sim.advance_by(60_000);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::ConnectFailed { .. })));
    // Still registered: its candidates flow.
    assert_eq!(sim.text(&relayed_candidate("guest1", "dc_1", "c")).len(), 1);
    sim.input(Input::ConnectionClosed("dc_1".into()));
    assert!(sim
        .text(&relayed_candidate("guest1", "dc_1", "c"))
        .is_empty());
}

#[test]
fn the_timeout_starts_when_the_offer_is_sent() {
    let (mut sim, _) = Sim::new(config());
    sim.input(connect("guest1", "dc_1"));
    // The server takes 20 s to come up; the dial waits instead of failing.
    sim.now = 21_000;
    sim.input(Input::SocketOpened);
    let out = sim.text(OPEN);
    assert_eq!(types(&out), vec!["OFFER"]);
    let out = sim.advance_to(21_000 + 9_999);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::ConnectFailed { .. })));
    let out = sim.advance_to(21_000 + 10_000);
    assert!(out.contains(&failed("dc_1", "guest1", ConnectFailReason::Timeout)));
}

// ---- rule 7: reconnecting ----

#[test]
fn an_unexpected_close_reconnects_with_backoff_and_the_same_url() {
    let mut sim = Sim::open();
    sim.now = 4000;
    let out = sim.input(Input::SocketClosed);
    assert_eq!(
        out,
        vec![
            Output::Disconnected,
            Output::Error(PeerError::new(
                PeerErrorKind::Network,
                "Lost connection to server."
            )),
        ]
    );
    assert_eq!(sim.session.state(), SessionState::Reconnecting);
    // A dial made now is queued, not lost.
    assert!(sim.input(connect("guest1", "dc_q")).is_empty());

    // The server is restarting: several attempts fail, each silently, each waiting longer.
    let mut ceiling = 500;
    for _ in 0..5 {
        let retry_at = sim.session.poll_timeout().unwrap();
        assert!(retry_at >= sim.now && retry_at <= sim.now + ceiling);
        let out = sim.advance_to(retry_at);
        assert_eq!(out, vec![Output::OpenSocket { url: URL.into() }]);
        assert!(sim.input(Input::SocketClosed).is_empty());
        ceiling *= 2;
    }
    assert_eq!(sim.session.backoff.attempt, 6);

    let retry_at = sim.session.poll_timeout().unwrap();
    assert_eq!(
        sim.advance_to(retry_at),
        vec![Output::OpenSocket { url: URL.into() }]
    );
    sim.input(Input::SocketOpened);
    let out = sim.text(OPEN);
    assert_eq!(out[0], Output::Open);
    assert_eq!(types(&out), vec!["OFFER"]);
    assert_eq!(
        sim.session.backoff.attempt, 0,
        "reset after a successful open"
    );

    // The next outage starts from the base delay again and is reported again.
    let out = sim.input(Input::SocketClosed);
    assert_eq!(out[0], Output::Disconnected);
    assert!(sim.session.poll_timeout().unwrap() <= sim.now + 500);
}

#[test]
fn reconnect_after_a_silent_reattach() {
    let mut sim = Sim::open();
    sim.input(Input::SocketClosed);
    let retry_at = sim.session.poll_timeout().unwrap();
    sim.advance_to(retry_at);
    sim.input(Input::SocketOpened);
    // The server still had our socket registered: no OPEN comes.
    let out = sim.advance_by(2000);
    assert_eq!(out, vec![Output::Open]);
}

#[test]
fn backoff_delays_stay_within_full_jitter_bounds_for_many_seeds() {
    for seed in 0..200 {
        let mut session = Session::new(config(), seed, 0);
        session.handle_input(Input::SocketOpened, 0);
        session.handle_input(Input::SocketText(OPEN.into()), 0);
        let mut now = 0;
        session.handle_input(Input::SocketClosed, now);
        for attempt in 0..12u32 {
            let retry_at = session.poll_timeout().unwrap();
            let ceiling = (500u64 << attempt).min(30_000);
            assert!(retry_at - now <= ceiling, "seed {seed} attempt {attempt}");
            now = retry_at;
            session.handle_input(Input::Tick, now);
            session.handle_input(Input::SocketClosed, now);
        }
    }
}

#[test]
fn a_socket_that_never_opens_is_abandoned_and_retried() {
    let (mut sim, _) = Sim::new(config());
    let out = sim.advance_to(1000 + 10_000);
    assert_eq!(
        out,
        vec![
            Output::CloseSocket,
            Output::Error(PeerError::new(
                PeerErrorKind::SocketError,
                "The signaling socket did not open in time."
            )),
        ]
    );
    let retry_at = sim.session.poll_timeout().unwrap();
    assert_eq!(
        sim.advance_to(retry_at),
        vec![Output::OpenSocket { url: URL.into() }]
    );
    // The outage was reported once: a failed retry is silent.
    assert!(sim.input(Input::SocketClosed).is_empty());
}

#[test]
fn visibility_retries_at_once_while_waiting() {
    let mut sim = Sim::open();
    sim.input(Input::SocketClosed);
    for _ in 0..5 {
        let at = sim.session.poll_timeout().unwrap();
        sim.advance_to(at);
        sim.input(Input::SocketClosed);
    }
    assert_eq!(
        sim.input(Input::VisibilityVisible),
        vec![Output::OpenSocket { url: URL.into() }]
    );
}

#[test]
fn disconnect_stops_reconnecting_until_asked() {
    let mut sim = Sim::open();
    sim.input(connect("guest1", "dc_sent"));
    let out = sim.input(Input::Disconnect);
    assert_eq!(out, vec![Output::CloseSocket, Output::Disconnected]);
    assert!(sim.input(Input::SocketClosed).is_empty());
    let out = sim.advance_by(3_600_000);
    assert!(!out.iter().any(|o| matches!(o, Output::OpenSocket { .. })));
    assert_eq!(sim.session.state(), SessionState::Disconnected);
    assert_eq!(
        sim.input(Input::Reconnect),
        vec![Output::OpenSocket { url: URL.into() }]
    );
    sim.input(Input::SocketOpened);
    assert_eq!(sim.text(OPEN), vec![Output::Open]);
}

#[test]
fn disconnect_while_reconnecting_fails_queued_dials() {
    let mut sim = Sim::open();
    sim.input(Input::SocketClosed);
    sim.input(connect("guest1", "dc_q"));
    let out = sim.input(Input::Disconnect);
    assert_eq!(
        out,
        vec![failed("dc_q", "guest1", ConnectFailReason::Disconnected)]
    );
    assert!(sim.advance_by(3_600_000).is_empty());
}

#[test]
fn destroy_fails_dials_and_then_ignores_everything() {
    let mut sim = Sim::open();
    sim.input(connect("guest1", "dc_1"));
    let out = sim.input(Input::Destroy);
    assert_eq!(
        out,
        vec![
            Output::CloseSocket,
            Output::Disconnected,
            failed("dc_1", "guest1", ConnectFailReason::Destroyed),
        ]
    );
    assert_eq!(sim.session.state(), SessionState::Destroyed);
    assert_eq!(sim.session.poll_timeout(), None);
    for input in [
        Input::SocketOpened,
        Input::SocketText(OPEN.into()),
        Input::SocketClosed,
        Input::Tick,
        Input::VisibilityVisible,
        connect("guest1", "dc_2"),
        Input::Reconnect,
        Input::Disconnect,
        Input::Destroy,
    ] {
        assert!(sim.input(input).is_empty());
    }
}

// ---- rule 8: malformed frames ----

#[test]
fn malformed_frames_are_reported_and_the_session_carries_on() {
    let mut sim = Sim::open();
    let media = json!({"type": "OFFER", "src": "guest1", "dst": "owner1", "payload": {
        "sdp": {"sdp": "v=0", "type": "offer"}, "type": "media", "connectionId": "mc_1"}});
    for frame in [
        "{not json".to_owned(),
        r#"{"type":"SURPRISE"}"#.to_owned(),
        media.to_string(),
        r#"{"type":"OFFER","src":"guest1"}"#.to_owned(),
    ] {
        let out = sim.text(&frame);
        assert_eq!(
            error_kinds(&out),
            vec![PeerErrorKind::InvalidMessage],
            "{frame}"
        );
        assert_eq!(out.len(), 1);
    }
    let out = sim.text(r#"{"type":"SURPRISE"}"#);
    let Output::Error(e) = &out[0] else {
        panic!("not an error")
    };
    assert!(matches!(
        &e.source,
        Some(SignalError::UnknownType { kind }) if kind == "SURPRISE"
    ));
    assert_eq!(sim.session.state(), SessionState::Open);
    let out = sim.text(&relayed_offer("guest1", "dc_ok"));
    assert!(matches!(out[..], [Output::IncomingOffer { .. }]));
}

// ---- rule 9: LEAVE ----

#[test]
fn leave_closes_every_connection_to_the_peer() {
    let mut sim = Sim::open();
    sim.text(&relayed_offer("rawbot", "dc_in"));
    sim.input(connect("rawbot", "dc_out"));
    sim.input(connect("guest1", "dc_keep"));
    let out = sim.text(r#"{"type":"LEAVE","src":"rawbot","dst":"owner1"}"#);
    assert_eq!(
        out,
        vec![Output::CloseConnectionsTo {
            peer: "rawbot".into()
        }]
    );
    assert!(sim
        .text(&relayed_candidate("rawbot", "dc_in", "c"))
        .is_empty());
    assert_eq!(
        sim.text(&relayed_candidate("guest1", "dc_keep", "c")).len(),
        1
    );
    // rawbot's dial was forgotten; only guest1's can time out.
    let out = sim.advance_by(10_000);
    let failures: Vec<&Output> = out
        .iter()
        .filter(|o| matches!(o, Output::ConnectFailed { .. }))
        .collect();
    assert_eq!(
        failures,
        vec![&failed("dc_keep", "guest1", ConnectFailReason::Timeout)]
    );
}

// ---- misc ----

#[test]
fn connection_ids_come_from_the_seeded_generator() {
    let mut a = Session::new(config(), 7, 0);
    let mut b = Session::new(config(), 7, 0);
    let ids: Vec<ConnectionId> = (0..3).map(|_| a.new_connection_id()).collect();
    assert_eq!(
        ids,
        (0..3).map(|_| b.new_connection_id()).collect::<Vec<_>>()
    );
    assert_ne!(ids[0], ids[1]);
    assert!(ids[0].as_str().starts_with("dc_"));
}

#[test]
fn errors_expose_peerjs_names_and_sources() {
    use std::error::Error as _;
    let mut sim = Sim::open();
    let out = sim.text("nope");
    let Output::Error(e) = &out[0] else {
        panic!("not an error")
    };
    assert_eq!(e.kind.as_str(), "invalid-message");
    assert!(e.source().is_some());
    assert_eq!(PeerErrorKind::UnavailableId.to_string(), "unavailable-id");
    assert_eq!(
        PeerErrorKind::PeerUnavailable { peer: "x".into() }.as_str(),
        "peer-unavailable"
    );
}

fn arb_input() -> impl proptest::strategy::Strategy<Value = Input> {
    use proptest::prelude::*;
    let frames = prop_oneof![
        Just(OPEN.to_owned()),
        Just(r#"{"type":"ID-TAKEN","payload":{"msg":"taken"}}"#.to_owned()),
        Just(r#"{"type":"ERROR","payload":{"msg":"x"}}"#.to_owned()),
        Just(r#"{"type":"EXPIRE","src":"p1","dst":"owner1"}"#.to_owned()),
        Just(r#"{"type":"LEAVE","src":"p2","dst":"owner1"}"#.to_owned()),
        (0u8..4, 0u8..4).prop_map(|(p, c)| relayed_offer(&format!("p{p}"), &format!("dc_{c}"))),
        (0u8..4, 0u8..4).prop_map(|(p, c)| relayed_answer(&format!("p{p}"), &format!("dc_{c}"))),
        (0u8..4, 0u8..4).prop_map(|(p, c)| relayed_candidate(
            &format!("p{p}"),
            &format!("dc_{c}"),
            "c"
        )),
        ".{0,20}",
    ];
    prop_oneof![
        Just(Input::SocketOpened),
        Just(Input::SocketClosed),
        frames.prop_map(Input::SocketText),
        Just(Input::Tick),
        Just(Input::VisibilityVisible),
        (0u8..4, 0u8..4).prop_map(|(p, c)| connect(&format!("p{p}"), &format!("dc_{c}"))),
        (0u8..4).prop_map(|c| Input::SendCandidate {
            remote: "p1".into(),
            candidate: candidate(&format!("dc_{c}"), "c"),
        }),
        (0u8..4).prop_map(|c| Input::ConnectionOpened(ConnectionId::new(format!("dc_{c}")))),
        (0u8..4).prop_map(|c| Input::ConnectionClosed(ConnectionId::new(format!("dc_{c}")))),
        Just(Input::Reconnect),
        Just(Input::Disconnect),
        Just(Input::Destroy),
    ]
}

/// What a shell observes; checks the output invariants as they are drained.
#[derive(Default)]
struct Observer {
    open: bool,
    socket: bool,
    destroyed: bool,
}

impl Observer {
    fn drain(&mut self, session: &mut Session) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::{prop_assert, prop_assert_eq};
        while let Some(out) = session.poll_output() {
            prop_assert!(!self.destroyed, "output after destroy: {:?}", out);
            match out {
                Output::Open => {
                    prop_assert!(!self.open, "Open twice");
                    self.open = true;
                }
                Output::Disconnected => {
                    prop_assert!(self.open, "Disconnected without Open");
                    self.open = false;
                }
                Output::OpenSocket { url } => {
                    prop_assert!(!self.socket, "two sockets");
                    prop_assert_eq!(url, URL);
                    self.socket = true;
                }
                Output::CloseSocket => self.socket = false,
                _ => {}
            }
        }
        prop_assert!(session.outbox.len() <= 8);
        prop_assert!(session.held.len() <= 4);
        Ok(())
    }
}

proptest::proptest! {
    #[test]
    fn invariants_hold_for_any_input_sequence(
        steps in proptest::collection::vec((arb_input(), 0u64..20_000), 0..80)
    ) {
        let mut cfg = config();
        cfg.max_queued_outbound = 8;
        cfg.max_buffered_signals = 4;
        let mut session = Session::new(cfg, 1, 0);
        let mut seen = Observer::default();
        let mut now = 0;
        seen.drain(&mut session)?;
        for (input, dt) in steps {
            now += dt;
            // A shell reports socket events only for the socket it was asked to open.
            let socket_event = matches!(
                input,
                Input::SocketOpened | Input::SocketClosed | Input::SocketText(_)
            );
            if socket_event && !seen.socket {
                continue;
            }
            if matches!(input, Input::SocketClosed) {
                seen.socket = false;
            }
            let is_destroy = matches!(input, Input::Destroy);
            session.handle_input(input, now);
            seen.drain(&mut session)?;
            seen.destroyed |= is_destroy;
            if let Some(t) = session.poll_timeout() {
                proptest::prop_assert!(!seen.destroyed);
                if t <= now {
                    session.handle_input(Input::Tick, now);
                    seen.drain(&mut session)?;
                }
            }
        }
    }
}
