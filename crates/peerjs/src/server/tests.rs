//! Tests of [`super`] (the signaling server and ICE server definitions), beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn local_page_hosts_use_the_local_server() {
    assert_eq!(
        ServerConfig::default_for_page_host("127.0.0.1"),
        ServerConfig::local()
    );
    assert_eq!(
        ServerConfig::default_for_page_host("localhost"),
        ServerConfig::local()
    );
    assert_eq!(
        ServerConfig::default_for_page_host("polls.example.org"),
        ServerConfig::public_cloud()
    );
}

#[test]
fn parses_urls() {
    let c = ServerConfig::from_url("ws://127.0.0.1:9123/myapp").unwrap();
    assert_eq!(
        c,
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 9123,
            path: "/myapp/".into(),
            key: "peerjs".into(),
            secure: false
        }
    );
    let c = ServerConfig::from_url("wss://peer.example.org?key=abc").unwrap();
    assert_eq!(
        (c.port, c.path.as_str(), c.key.as_str(), c.secure),
        (443, "/", "abc", true)
    );
    assert_eq!(
        ServerConfig::from_url("ws://h:1/").unwrap().to_url(),
        "ws://h:1/"
    );
    assert_eq!(ServerConfig::local().to_url(), "ws://127.0.0.1:9000/");
}

#[test]
fn refuses_bad_urls() {
    assert_eq!(
        ServerConfig::from_url("http://x:1/"),
        Err(ServerUrlError::BadScheme)
    );
    assert_eq!(
        ServerConfig::from_url("ws://:1/"),
        Err(ServerUrlError::BadHost)
    );
    assert_eq!(
        ServerConfig::from_url("ws://a b:1/"),
        Err(ServerUrlError::BadHost)
    );
    assert_eq!(
        ServerConfig::from_url("ws://x:0/"),
        Err(ServerUrlError::BadPort)
    );
    assert_eq!(
        ServerConfig::from_url("ws://x:99999/"),
        Err(ServerUrlError::BadPort)
    );
    assert_eq!(
        ServerConfig::from_url("ws://x:y/"),
        Err(ServerUrlError::BadPort)
    );
}

#[test]
fn round_trips_through_url() {
    for url in ["ws://127.0.0.1:9000/", "wss://a.b:443/p/q/?key=k"] {
        let c = ServerConfig::from_url(url).unwrap();
        assert_eq!(ServerConfig::from_url(&c.to_url()).unwrap(), c);
    }
}

#[test]
fn new_normalises_the_path_and_builds_the_socket_url() {
    let server = ServerConfig::new("h", 1, "x", "k", false);
    assert_eq!(server.path, "/x/");
    assert_eq!(
        server.socket_url(&"id".into(), "t", "1.5.5"),
        "ws://h:1/x/peerjs?key=k&id=id&token=t&version=1.5.5"
    );
    assert_eq!(
        ServerConfig::from_url("ws://h:1/x?key=k").unwrap(),
        server.clone()
    );
    assert_eq!(ServerConfig::new("h", 1, "/x/", "k", false), server);
}

#[test]
fn ice_servers_are_checked_and_every_problem_is_listed() {
    let stun = IceServer::new(vec!["stun:s.org".into()], None, None).unwrap();
    assert_eq!(stun.urls(), ["stun:s.org"]);
    // Blank user names and empty credentials are none.
    let blank = IceServer::new(
        vec!["stun:s.org".into()],
        Some(" ".into()),
        Some(String::new()),
    );
    assert_eq!(blank.unwrap(), stun);
    assert_eq!(
        IceServer::new(Vec::new(), None, None),
        Err(vec![IceServerError::NoUrl])
    );
    assert_eq!(
        IceServer::new(
            vec!["http://x".into(), "turn:t.org".into(), "stun:a b".into()],
            None,
            None
        ),
        Err(vec![
            IceServerError::BadScheme("http://x".into()),
            IceServerError::BadHost("stun:a b".into()),
            IceServerError::UsernameMissing,
            IceServerError::CredentialMissing,
        ])
    );
    assert_eq!(
        IceServer::new(vec!["stun:s.org:0".into()], None, None),
        Err(vec![IceServerError::BadPort("stun:s.org:0".into())])
    );
    assert_eq!(
        IceServer::new(vec!["stun:s.org?transport=udp".into()], None, None),
        Err(vec![IceServerError::BadQuery(
            "stun:s.org?transport=udp".into()
        )])
    );
}

#[test]
fn stun_addresses_default_the_port_and_skip_turn() {
    let server = IceServer::new(
        vec![
            "stun:stun.example.org:19302".into(),
            "stun:10.0.0.1".into(),
            "STUN:[::1]".into(),
            "stun:[::1]:5000".into(),
            "turn:t.org".into(),
        ],
        Some("u".into()),
        Some("c".into()),
    )
    .unwrap();
    assert_eq!(
        server.stun_addresses().collect::<Vec<_>>(),
        [
            "stun.example.org:19302",
            "10.0.0.1:3478",
            "[::1]:3478",
            "[::1]:5000"
        ]
    );
}

#[test]
fn a_stored_ice_server_is_checked_when_read() {
    let turn = r#"{"urls":["turn:t.org"],"username":"u","credential":"c"}"#;
    let server: IceServer = serde_json::from_str(turn).unwrap();
    assert_eq!(serde_json::to_string(&server).unwrap(), turn);
    let e = serde_json::from_str::<IceServer>(r#"{"urls":["turn:t.org"]}"#).unwrap_err();
    assert!(e.to_string().contains("username"), "{e}");
}
