//! Tests of [`super`] (the signaling message codec), beside it as the core's are.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

// Frames copied from /work/shared/peerjs-transcript.md §4 (peer@1.0.2 + peerjs@1.5.5).
const OFFER_SDP: &str = "v=0\r\no=- 7020836999029313320 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:1oOB\r\na=ice-pwd:t5eASHHmrxl7yGGk+ovIcMqM\r\na=ice-options:trickle\r\na=fingerprint:sha-256 A9:DA:BC:11:66:C5:0D:13:32:19:40:68:FC:3D:C3:33:4D:B8:E8:F1:C0:14:88:4D:CC:7F:36:EA:B7:4C:B5:7A\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
const ANSWER_SDP: &str = "v=0\r\no=- 915049146040145659 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Y5mZ\r\na=ice-pwd:Jv7sh3rxo0vCV7JO1lM7h+49\r\na=ice-options:trickle\r\na=fingerprint:sha-256 B6:AE:85:AB:85:59:0B:E3:85:43:15:DC:EA:01:18:27:73:68:E6:09:C4:EE:61:2D:E5:C2:79:71:7F:09:CF:1E\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
const CANDIDATE_LINE: &str = "candidate:2977833400 1 udp 2122260223 127.0.0.1 36387 typ host generation 0 ufrag 1oOB network-id 1 network-cost 50";

const OPEN: &str = r#"{
  "type": "OPEN"
}"#;

const HEARTBEAT: &str = r#"{
  "type": "HEARTBEAT"
}"#;

const OFFER_SENT: &str = r#"{
  "type": "OFFER",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 7020836999029313320 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:1oOB\r\na=ice-pwd:t5eASHHmrxl7yGGk+ovIcMqM\r\na=ice-options:trickle\r\na=fingerprint:sha-256 A9:DA:BC:11:66:C5:0D:13:32:19:40:68:FC:3D:C3:33:4D:B8:E8:F1:C0:14:88:4D:CC:7F:36:EA:B7:4C:B5:7A\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "offer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a",
    "metadata": {
      "name": "Guest One",
      "v": 1
    },
    "label": "dc_q0tmbver2a",
    "reliable": true,
    "serialization": "json"
  },
  "dst": "owner1"
}"#;

const OFFER_RELAYED: &str = r#"{
  "type": "OFFER",
  "src": "guest1",
  "dst": "owner1",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 7020836999029313320 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:1oOB\r\na=ice-pwd:t5eASHHmrxl7yGGk+ovIcMqM\r\na=ice-options:trickle\r\na=fingerprint:sha-256 A9:DA:BC:11:66:C5:0D:13:32:19:40:68:FC:3D:C3:33:4D:B8:E8:F1:C0:14:88:4D:CC:7F:36:EA:B7:4C:B5:7A\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "offer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a",
    "metadata": {
      "name": "Guest One",
      "v": 1
    },
    "label": "dc_q0tmbver2a",
    "reliable": true,
    "serialization": "json"
  }
}"#;

const ANSWER_SENT: &str = r#"{
  "type": "ANSWER",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 915049146040145659 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Y5mZ\r\na=ice-pwd:Jv7sh3rxo0vCV7JO1lM7h+49\r\na=ice-options:trickle\r\na=fingerprint:sha-256 B6:AE:85:AB:85:59:0B:E3:85:43:15:DC:EA:01:18:27:73:68:E6:09:C4:EE:61:2D:E5:C2:79:71:7F:09:CF:1E\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "answer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  },
  "dst": "guest1"
}"#;

const ANSWER_RELAYED: &str = r#"{
  "type": "ANSWER",
  "src": "owner1",
  "dst": "guest1",
  "payload": {
    "sdp": {
      "sdp": "v=0\r\no=- 915049146040145659 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Y5mZ\r\na=ice-pwd:Jv7sh3rxo0vCV7JO1lM7h+49\r\na=ice-options:trickle\r\na=fingerprint:sha-256 B6:AE:85:AB:85:59:0B:E3:85:43:15:DC:EA:01:18:27:73:68:E6:09:C4:EE:61:2D:E5:C2:79:71:7F:09:CF:1E\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
      "type": "answer"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  }
}"#;

const CANDIDATE_SENT: &str = r#"{
  "type": "CANDIDATE",
  "payload": {
    "candidate": {
      "candidate": "candidate:2977833400 1 udp 2122260223 127.0.0.1 36387 typ host generation 0 ufrag 1oOB network-id 1 network-cost 50",
      "sdpMid": "0",
      "sdpMLineIndex": 0,
      "usernameFragment": "1oOB"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  },
  "dst": "owner1"
}"#;

const CANDIDATE_RELAYED: &str = r#"{
  "type": "CANDIDATE",
  "src": "guest1",
  "dst": "owner1",
  "payload": {
    "candidate": {
      "candidate": "candidate:2977833400 1 udp 2122260223 127.0.0.1 36387 typ host generation 0 ufrag 1oOB network-id 1 network-cost 50",
      "sdpMid": "0",
      "sdpMLineIndex": 0,
      "usernameFragment": "1oOB"
    },
    "type": "data",
    "connectionId": "dc_q0tmbver2a"
  }
}"#;

const ID_TAKEN: &str = r#"{
  "type": "ID-TAKEN",
  "payload": {
    "msg": "ID is taken"
  }
}"#;

const EXPIRE: &str = r#"{
  "type": "EXPIRE",
  "src": "ghost",
  "dst": "guest1"
}"#;

const LEAVE: &str = r#"{
  "type": "LEAVE",
  "src": "rawbot",
  "dst": "guest1"
}"#;

const ERROR_BAD_KEY: &str = r#"{"type":"ERROR","payload":{"msg":"Invalid key provided"}}"#;
const ERROR_NO_ID: &str =
    r#"{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}"#;

// The one-line forms of the chronological transcript (§3).
const OFFER_GHOST_SENT: &str = r#"{"type":"OFFER","payload":{"sdp":{"sdp":"v=0…(see below)","type":"offer"},"type":"data","connectionId":"dc_lgkmfo13ona","metadata":{"from":"guest1"},"label":"dc_lgkmfo13ona","reliable":true,"serialization":"json"},"dst":"ghost"}"#;
const LEAVE_RAW_SENT: &str = r#"{"type":"LEAVE","dst":"guest1"}"#;

fn guest_offer() -> OfferPayload {
    OfferPayload::new(
        ConnectionId::new("dc_q0tmbver2a"),
        OFFER_SDP,
        Serialization::Json,
        Some(json!({"name": "Guest One", "v": 1})),
    )
}

fn guest_candidate() -> CandidatePayload {
    CandidatePayload {
        candidate: IceCandidate {
            candidate: CANDIDATE_LINE.into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: Some("1oOB".into()),
        },
        connection_id: ConnectionId::new("dc_q0tmbver2a"),
    }
}

fn as_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn parses_server_originated_frames() {
    assert_eq!(ServerMessage::parse(OPEN).unwrap(), ServerMessage::Open);
    assert_eq!(
        ServerMessage::parse(HEARTBEAT).unwrap(),
        ServerMessage::Heartbeat
    );
    assert_eq!(
        ServerMessage::parse(ID_TAKEN).unwrap(),
        ServerMessage::IdTaken {
            msg: "ID is taken".into()
        }
    );
    assert_eq!(
        ServerMessage::parse(ERROR_BAD_KEY).unwrap(),
        ServerMessage::Error {
            msg: "Invalid key provided".into()
        }
    );
    assert_eq!(
        ServerMessage::parse(ERROR_NO_ID).unwrap(),
        ServerMessage::Error {
            msg: "No id, token, or key supplied to websocket server".into()
        }
    );
    assert_eq!(
        ServerMessage::parse(EXPIRE).unwrap(),
        ServerMessage::Expire {
            src: "ghost".into()
        }
    );
    assert_eq!(
        ServerMessage::parse(LEAVE).unwrap(),
        ServerMessage::Leave {
            src: "rawbot".into()
        }
    );
}

#[test]
fn parses_relayed_offer() {
    assert_eq!(
        ServerMessage::parse(OFFER_RELAYED).unwrap(),
        ServerMessage::Offer {
            src: "guest1".into(),
            payload: guest_offer(),
        }
    );
}

#[test]
fn parses_relayed_answer_and_candidate() {
    assert_eq!(
        ServerMessage::parse(ANSWER_RELAYED).unwrap(),
        ServerMessage::Answer {
            src: "owner1".into(),
            payload: AnswerPayload {
                sdp: ANSWER_SDP.into(),
                connection_id: ConnectionId::new("dc_q0tmbver2a"),
            },
        }
    );
    assert_eq!(
        ServerMessage::parse(CANDIDATE_RELAYED).unwrap(),
        ServerMessage::Candidate {
            src: "guest1".into(),
            payload: guest_candidate(),
        }
    );
}

#[test]
fn outgoing_frames_match_the_transcript_field_for_field() {
    let offer = ClientMessage::Offer {
        dst: "owner1".into(),
        payload: guest_offer(),
    };
    assert_eq!(as_value(&offer.to_json().unwrap()), as_value(OFFER_SENT));

    let answer = ClientMessage::Answer {
        dst: "guest1".into(),
        payload: AnswerPayload {
            sdp: ANSWER_SDP.into(),
            connection_id: ConnectionId::new("dc_q0tmbver2a"),
        },
    };
    assert_eq!(as_value(&answer.to_json().unwrap()), as_value(ANSWER_SENT));

    let candidate = ClientMessage::Candidate {
        dst: "owner1".into(),
        payload: guest_candidate(),
    };
    assert_eq!(
        as_value(&candidate.to_json().unwrap()),
        as_value(CANDIDATE_SENT)
    );

    assert_eq!(
        as_value(&ClientMessage::Heartbeat.to_json().unwrap()),
        as_value(HEARTBEAT)
    );
    let leave = ClientMessage::Leave {
        dst: "guest1".into(),
    };
    assert_eq!(
        as_value(&leave.to_json().unwrap()),
        as_value(LEAVE_RAW_SENT)
    );

    let ghost = ClientMessage::Offer {
        dst: "ghost".into(),
        payload: OfferPayload::new(
            ConnectionId::new("dc_lgkmfo13ona"),
            "v=0…(see below)",
            Serialization::Json,
            Some(json!({"from": "guest1"})),
        ),
    };
    assert_eq!(
        as_value(&ghost.to_json().unwrap()),
        as_value(OFFER_GHOST_SENT)
    );
}

#[test]
fn relayed_offer_is_the_sent_offer_plus_src() {
    // What a peer receives re-serializes to what the dialer sent.
    let ServerMessage::Offer { src, payload } = ServerMessage::parse(OFFER_RELAYED).unwrap() else {
        panic!("not an offer");
    };
    assert_eq!(src.as_str(), "guest1");
    let resent = ClientMessage::Offer {
        dst: "owner1".into(),
        payload,
    };
    assert_eq!(as_value(&resent.to_json().unwrap()), as_value(OFFER_SENT));
}

#[test]
fn client_frames_never_carry_src() {
    let offer = as_value(
        &ClientMessage::Offer {
            dst: "owner1".into(),
            payload: guest_offer(),
        }
        .to_json()
        .unwrap(),
    );
    assert!(offer.get("src").is_none());
}

#[test]
fn absent_or_null_metadata_is_omitted_and_defaults_apply() {
    let frame = json!({
        "type": "OFFER", "src": "a", "dst": "b",
        "payload": {
            "sdp": {"sdp": "x", "type": "offer"}, "type": "data",
            "connectionId": "dc_1", "label": "dc_1", "metadata": null,
            "browser": "chrome"
        }
    });
    let ServerMessage::Offer { payload, .. } = ServerMessage::parse(&frame.to_string()).unwrap()
    else {
        panic!("not an offer");
    };
    assert_eq!(payload.metadata, None);
    assert!(!payload.reliable, "PeerJS's default is unreliable");
    assert_eq!(payload.serialization, Serialization::Binary);
    let sent = as_value(
        &ClientMessage::Offer {
            dst: "a".into(),
            payload,
        }
        .to_json()
        .unwrap(),
    );
    assert!(sent["payload"].get("metadata").is_none());
}

#[test]
fn serialization_names() {
    for (name, expected) in [
        ("json", Serialization::Json),
        ("raw", Serialization::Raw),
        ("binary", Serialization::Binary),
        ("binary-utf8", Serialization::Binary),
    ] {
        assert_eq!(name.parse::<Serialization>().unwrap(), expected);
    }
    assert_eq!(
        "msgpack".parse::<Serialization>(),
        Err(UnknownSerialization("msgpack".into()))
    );
    assert_eq!(Serialization::Binary.to_string(), "binary");
}

#[test]
fn unknown_serialization_is_a_typed_error() {
    let frame = OFFER_RELAYED.replace("\"json\"", "\"cbor\"");
    match ServerMessage::parse(&frame) {
        Err(SignalError::UnknownSerialization(UnknownSerialization(name))) => {
            assert_eq!(name, "cbor")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn media_payloads_are_refused() {
    let offer = json!({
        "type": "OFFER", "src": "a", "dst": "b",
        "payload": {"sdp": {"sdp": "x", "type": "offer"}, "type": "media",
                    "connectionId": "mc_1", "metadata": null}
    });
    assert!(matches!(
        ServerMessage::parse(&offer.to_string()),
        Err(SignalError::MediaUnsupported)
    ));
    let candidate = CANDIDATE_RELAYED.replace("\"data\"", "\"media\"");
    assert!(matches!(
        ServerMessage::parse(&candidate),
        Err(SignalError::MediaUnsupported)
    ));
}

#[test]
fn malformed_frames_give_typed_errors() {
    assert!(matches!(
        ServerMessage::parse("{not json"),
        Err(SignalError::Json(_))
    ));
    assert!(matches!(
        ServerMessage::parse(""),
        Err(SignalError::Json(_))
    ));
    assert!(matches!(
        ServerMessage::parse("[1,2]"),
        Err(SignalError::NotAnObject)
    ));
    assert!(matches!(
        ServerMessage::parse("{}"),
        Err(SignalError::MissingField { field: "type" })
    ));
    assert!(matches!(
        ServerMessage::parse(r#"{"type":7}"#),
        Err(SignalError::InvalidField { field: "type", .. })
    ));
    match ServerMessage::parse(r#"{"type":"WHATEVER","src":"x"}"#) {
        Err(SignalError::UnknownType { kind }) => assert_eq!(kind, "WHATEVER"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        ServerMessage::parse(r#"{"type":"EXPIRE"}"#),
        Err(SignalError::MissingField { field: "src" })
    ));
    assert!(matches!(
        ServerMessage::parse(r#"{"type":"LEAVE","src":["x"]}"#),
        Err(SignalError::InvalidField { field: "src", .. })
    ));
    assert!(matches!(
        ServerMessage::parse(r#"{"type":"OFFER","src":"x"}"#),
        Err(SignalError::MissingField { field: "payload" })
    ));
    assert!(matches!(
        ServerMessage::parse(r#"{"type":"ANSWER","src":"x","payload":{"type":"data"}}"#),
        Err(SignalError::InvalidField {
            field: "payload",
            ..
        })
    ));
    // An ANSWER whose SDP claims to be an offer is not an answer.
    let wrong_sdp = ANSWER_RELAYED.replace("\"answer\"", "\"offer\"");
    assert!(matches!(
        ServerMessage::parse(&wrong_sdp),
        Err(SignalError::InvalidField {
            field: "payload",
            ..
        })
    ));
    assert!(matches!(
        ServerMessage::parse(r#"{"type":"ERROR","payload":{"msg":3}}"#),
        Err(SignalError::InvalidField {
            field: "payload.msg",
            ..
        })
    ));
}

#[test]
fn errors_keep_their_source() {
    use std::error::Error as _;
    let err = ServerMessage::parse("{oops").unwrap_err();
    assert!(err.source().is_some());
    let err = ServerMessage::parse(r#"{"type":"LEAVE","src":1}"#).unwrap_err();
    assert!(err.source().is_some());
}

#[test]
fn terse_server_errors_still_parse() {
    assert_eq!(
        ServerMessage::parse(r#"{"type":"ERROR"}"#).unwrap(),
        ServerMessage::Error { msg: String::new() }
    );
}

#[test]
fn connection_ids_from_random_bytes() {
    assert_eq!(ConnectionId::from_random_bytes([0; 8]).as_str(), "dc_0");
    assert_eq!(
        ConnectionId::from_random_bytes([0, 0, 0, 0, 0, 0, 0, 36]).as_str(),
        "dc_10"
    );
    assert_eq!(
        ConnectionId::from_random_bytes([0xff; 8]).as_str(),
        "dc_3w5e11264sgsf"
    );
    let a = ConnectionId::from_random_bytes([1, 2, 3, 4, 5, 6, 7, 8]);
    let b = ConnectionId::from_random_bytes([8, 7, 6, 5, 4, 3, 2, 1]);
    assert_ne!(a, b);
    assert!(a.as_str().starts_with("dc_"));
    assert!(a.as_str()[3..]
        .bytes()
        .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
}

#[test]
fn peerjs_id_rule() {
    for ok in ["owner1", "a", "a-b", "a b_c", "A9z"] {
        assert!(PeerName::new(ok).is_valid_for_peerjs(), "{ok}");
    }
    for bad in ["", "-a", "a-", "a--b", "a__b", "a.b", "ä", "a b "] {
        assert!(!PeerName::new(bad).is_valid_for_peerjs(), "{bad:?}");
    }
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(text in ".{0,200}") {
        let _ = ServerMessage::parse(&text);
    }

    #[test]
    fn offers_round_trip(sdp in ".{0,50}", id in "[a-z0-9]{1,12}", reliable: bool,
                         ser in 0u8..3, name in "[A-Za-z0-9]{1,10}") {
        let serialization = [Serialization::Json, Serialization::Raw, Serialization::Binary]
            [usize::from(ser)];
        let payload = OfferPayload {
            sdp, connection_id: ConnectionId::new(format!("dc_{id}")),
            label: id, reliable, serialization, metadata: Some(json!({"n": name})),
        };
        let sent = ClientMessage::Offer { dst: "me".into(), payload: payload.clone() };
        let mut relayed = as_value(&sent.to_json().unwrap());
        relayed["src"] = json!(name);
        let parsed = ServerMessage::parse(&relayed.to_string()).unwrap();
        proptest::prop_assert_eq!(parsed, ServerMessage::Offer { src: PeerName::new(name), payload });
    }
}
